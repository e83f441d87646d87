"""What the waitlist board and monitoring read (SPEC §10): offers in flight, the backlog,
the listed entries with who and where, and the day's vacancies with what came of them.

Read-only: every writer (joining, leaving, offering, answering, expiring) is in
``services``, which keeps their lock order in one place. Staff pages show these rows, so
names and MRNs may be in them; the backlog is counts only (health and metrics read it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import exists, func, or_, select
from sqlalchemy.orm import Session

from scheduler.clinicians.models import Clinician
from scheduler.clock import local_date
from scheduler.db import found
from scheduler.facilities.models import Room, Site
from scheduler.facilities.services import get_site, sites_by_name
from scheduler.pathways.models import Pathway
from scheduler.patients.models import Patient
from scheduler.scheduling.models import Appointment
from scheduler.vocabulary import OfferStatus, VacancyStatus
from scheduler.waitlist.models import Offer, Vacancy, WaitlistEntry
from scheduler.waitlist.services import list_statement


@dataclass(frozen=True)
class InFlight:
    """An open offer as the board shows it: to whom, where and with whom."""

    offer: Offer
    patient: Patient
    site: Site
    clinician: Clinician
    room: Room


def in_flight(session: Session, site_id: int | None = None) -> list[InFlight]:
    """Open offers, soonest expiry first (the board's countdowns); one statement."""
    statement = (
        select(Offer, Patient, Site, Clinician, Room)
        .join(Vacancy, Vacancy.id == Offer.vacancy_id)
        .join(Pathway, Pathway.id == Offer.pathway_id)
        .join(Patient, Patient.id == Pathway.patient_id)
        .join(Site, Site.id == Vacancy.site_id)
        .join(Clinician, Clinician.id == Offer.clinician_id)
        .join(Room, Room.id == Offer.room_id)
        .where(Offer.status == OfferStatus.OPEN)
        .order_by(Offer.expires_at, Offer.id)
    )
    if site_id is not None:
        statement = statement.where(Vacancy.site_id == site_id)
    return [InFlight(*row) for row in session.execute(statement)]


@dataclass(frozen=True)
class Backlog:
    """What the waitlist holds, for monitoring (one statement)."""

    entries: int  # pathways waiting on the list
    offers_open: int  # offers in flight
    vacancies_waiting: int  # open vacancies no offer is out for: the worker's work
    oldest_waiting: datetime | None  # since when the longest-waiting of those waits


def backlog(session: Session) -> Backlog:
    in_flight = exists().where(Offer.vacancy_id == Vacancy.id, Offer.status == OfferStatus.OPEN)
    waiting = (Vacancy.status == VacancyStatus.OPEN) & ~in_flight
    row = session.execute(
        select(
            select(func.count()).select_from(WaitlistEntry).scalar_subquery(),
            select(func.count())
            .select_from(Offer)
            .where(Offer.status == OfferStatus.OPEN)
            .scalar_subquery(),
            select(func.count()).select_from(Vacancy).where(waiting).scalar_subquery(),
            select(func.min(Vacancy.created_at)).where(waiting).scalar_subquery(),
        )
    ).one()
    return Backlog(
        entries=row[0], offers_open=row[1], vacancies_waiting=row[2], oldest_waiting=row[3]
    )


@dataclass(frozen=True)
class Listed:
    """A waitlist entry with its patient, its pathway's site (whose clock counts the days
    waited) and its pathway's clinician."""

    entry: WaitlistEntry
    patient: Patient
    site: Site
    clinician: Clinician

    def waiting_days(self, now: datetime) -> int:
        """Whole site-local days on the list."""
        zone = self.site.timezone
        return (local_date(now, zone) - local_date(self.entry.created_at, zone)).days


def listed(session: Session, filters: dict[str, Any]) -> list[Listed]:
    """The waitlist in offer order (``list_statement``'s filters), with who and where; one
    statement."""
    statement = (
        list_statement(filters)
        .join(Patient, Patient.id == Pathway.patient_id)
        .join(Site, Site.id == Pathway.site_id)
        .join(Clinician, Clinician.id == Pathway.clinician_id)
        .add_columns(Patient, Site, Clinician)
    )
    return [Listed(*row) for row in session.execute(statement)]


def listed_entry(session: Session, entry_id: int) -> Listed:
    """One entry as :func:`listed` gives it (404 when it is gone)."""
    statement = (
        select(WaitlistEntry, Patient, Site, Clinician)
        .join(Pathway, Pathway.id == WaitlistEntry.pathway_id)
        .join(Patient, Patient.id == Pathway.patient_id)
        .join(Site, Site.id == Pathway.site_id)
        .join(Clinician, Clinician.id == Pathway.clinician_id)
        .where(WaitlistEntry.id == entry_id)
    )
    row = session.execute(statement).first()
    return Listed(*found(row, "waitlist entry", entry_id))


def entry_of_pathway(session: Session, pathway_id: int) -> WaitlistEntry | None:
    """The pathway's waitlist entry, if it is on the list."""
    return session.scalar(select(WaitlistEntry).where(WaitlistEntry.pathway_id == pathway_id))


@dataclass(frozen=True)
class Outcome:
    """A vacancy freed today and what came of it."""

    vacancy: Vacancy
    site: Site
    clinician: Clinician
    room: Room | None  # None: any room of the site (new hours)
    offers: dict[OfferStatus, int]  # offers made of it, by status
    # The time the appointment an accepted offer booked takes (None: not filled).
    booked_start: datetime | None
    booked_end: datetime | None

    @property
    def offers_made(self) -> int:
        return sum(self.offers.values())

    @property
    def recovered_minutes(self) -> int:
        """The booked minutes of the appointment that filled it (0 when not filled)."""
        if self.booked_start is None or self.booked_end is None:
            return 0
        return int((self.booked_end - self.booked_start) / timedelta(minutes=1))


def day_outcomes(session: Session, now: datetime, site_id: int | None = None) -> list[Outcome]:
    """The vacancies freed today (each site's own calendar day; one site's or every
    site's), newest first, with their offers by status and what filled them.

    Three statements at most: the sites, the vacancies with their names and the booking
    that filled them, and the offers counted by vacancy and status.
    """
    sites = [get_site(session, site_id)] if site_id is not None else sites_by_name(session)
    days = []
    for site in sites:
        zone = ZoneInfo(site.timezone)
        start = datetime.combine(local_date(now, site.timezone), time.min, zone)
        days.append(
            (Vacancy.site_id == site.id)
            & (Vacancy.created_at >= start)
            & (Vacancy.created_at < start + timedelta(days=1))
        )
    if not days:
        return []
    rows = session.execute(
        select(Vacancy, Site, Clinician, Room, Appointment.start_at, Appointment.end_at)
        .join(Site, Site.id == Vacancy.site_id)
        .join(Clinician, Clinician.id == Vacancy.clinician_id)
        .outerjoin(Room, Room.id == Vacancy.room_id)
        .outerjoin(Appointment, Appointment.id == Vacancy.filled_appointment_id)
        .where(or_(*days))
        .order_by(Vacancy.created_at.desc(), Vacancy.id.desc())
    ).all()
    counts: dict[int, dict[OfferStatus, int]] = {row[0].id: {} for row in rows}
    if counts:
        for vacancy_id, status, count in session.execute(
            select(Offer.vacancy_id, Offer.status, func.count())
            .where(Offer.vacancy_id.in_(counts))
            .group_by(Offer.vacancy_id, Offer.status)
        ):
            counts[vacancy_id][status] = count
    return [
        Outcome(vacancy, site, clinician, room, counts[vacancy.id], start, end)
        for vacancy, site, clinician, room, start, end in rows
    ]
