"""Slot search (SPEC §4): the earliest feasible starts for a pathway's next step; and, for
the FHIR face (SPEC §8), each clinician's schedule at a site and its free slots, the
resources' availability by the same function, for no patient in particular."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from scheduler.access import Actor
from scheduler.clinicians.models import Clinician, WorkingHours
from scheduler.clock import local_date
from scheduler.facilities.models import Site
from scheduler.pathways import gates
from scheduler.pathways import services as pathways
from scheduler.pathways.models import Pathway
from scheduler.scheduling import calendars, checks, slots
from scheduler.vocabulary import AppointmentKind, Method


def search_slots(
    session: Session,
    actor: Actor,
    now: datetime,
    pathway_id: int,
    *,
    kind: AppointmentKind,
    after: datetime | None = None,
    limit: int = 10,
    days: int = 30,
    method: Method | None = None,
    clinician_id: int | None = None,
    appointment_id: int | None = None,
) -> tuple[list[slots.Slot], str]:
    """The earliest ``limit`` feasible slots in ``days`` days from ``after`` (SPEC §4),
    and the site's zone they are shown in.

    The policy's gate is judged once per site-local day; a search in which no day
    passes answers with the first day's unmet rules. With ``appointment_id``, the slots
    that booked appointment could move to (judged as if it were not booked).
    """
    # The site comes in the same read (it decides the notice, the zone and the calendars).
    pathway = pathways.get_pathway(
        session, actor, pathway_id, load=(joinedload(Pathway.site, innerjoin=True),)
    )
    site = checks.site_of(session, pathway)
    earliest = max(after or now, checks.earliest_start(site, now))
    until = earliest + timedelta(days=days)
    first_day = local_date(earliest, site.timezone)
    if appointment_id is None:
        method = checks.method_for(pathway, kind, method)
        checks.require_bookable(session, pathway, kind, first_day, method)
        clinician_id = checks.clinician_for(session, pathway, clinician_id)
    else:
        moving = checks.get_appointment(session, actor, appointment_id)
        checks.require_movable(moving, pathway, kind, method=method, clinician_id=clinician_id)
        method, clinician_id = moving.method, moving.clinician_id
    want = checks.Wanted(pathway, site, kind, method)
    window = slots.Interval(earliest, calendars.horizon(until))
    found = checks.calendars_for(
        session, now, want, clinician_id, window, ignore_appointment=appointment_id
    )
    calendars.require_resources_exist(found, kind)
    candidate_days = [first_day + timedelta(days=n) for n in range(days + 1)]
    verdicts = gates.booking_verdicts(
        session, pathway, kind, candidate_days, method, ignore=appointment_id
    )
    allowed = {day for day, verdict in verdicts.items() if verdict.passed}
    if not allowed:
        verdicts[first_day].require()
    offered = slots.find_slots(
        found, earliest=earliest, until=until, limit=limit, allowed_day=allowed.__contains__
    )
    return list(offered), site.timezone


# Every service a schedule can offer: a block, a procedure by each method, a follow-up.
SERVICES: Final[tuple[tuple[AppointmentKind, Method | None], ...]] = (
    (AppointmentKind.DIAGNOSTIC_BLOCK, None),
    *((AppointmentKind.PROCEDURE, method) for method in Method),
    (AppointmentKind.FOLLOW_UP, None),
)


@dataclass(frozen=True)
class Schedule:
    """A clinician's working time at one site, and the services the site can host."""

    clinician: Clinician
    site: Site
    services: tuple[tuple[AppointmentKind, Method | None], ...]


def schedules(
    session: Session, *, clinician_id: int | None = None, site_id: int | None = None
) -> list[Schedule]:
    """One schedule per clinician and site where the clinician has working hours, by
    clinician then site; what each site can host is judged once per site."""
    worked = select(WorkingHours.clinician_id, WorkingHours.site_id).distinct().subquery()
    statement = (
        select(Clinician, Site)
        .join(worked, worked.c.clinician_id == Clinician.id)
        .join(Site, Site.id == worked.c.site_id)
        .order_by(Clinician.id, Site.id)
    )
    if clinician_id is not None:
        statement = statement.where(Clinician.id == clinician_id)
    if site_id is not None:
        statement = statement.where(Site.id == site_id)
    pairs = [(clinician, site) for clinician, site in session.execute(statement)]
    sites = {site.id: site for _clinician, site in pairs}
    offered = {ident: services_at(session, site) for ident, site in sites.items()}
    return [Schedule(clinician, site, offered[site.id]) for clinician, site in pairs]


def services_at(session: Session, site: Site) -> tuple[tuple[AppointmentKind, Method | None], ...]:
    """The services the site has the rooms, equipment and bays for (as the calendars see
    them: a procedure by a method whose equipment the site lacks is not offered)."""
    return calendars.services_hosted(session, site, SERVICES)


def free_slots(
    session: Session,
    now: datetime,
    *,
    clinician_id: int,
    site_id: int,
    kind: AppointmentKind,
    method: Method | None,
    after: datetime,
    until: datetime,
    limit: int,
) -> list[slots.Slot]:
    """The first ``limit`` free starts of ``kind`` with the clinician at the site in
    [``after``, ``until``): the availability function over the clinician's, rooms',
    equipment's and bays' calendars and the site's notice, as a pathway's search sees
    them, but with no pathway, no policy gate and no patient's own appointments."""
    site = session.get_one(Site, site_id)
    earliest = max(after, checks.earliest_start(site, now))
    if earliest >= until:
        return []
    found = calendars.load_calendars(
        session,
        now,
        site=site,
        kind=kind,
        method=method,
        clinician_ids=[clinician_id],
        patient_id=None,
        window=slots.Interval(earliest, calendars.horizon(until)),
    )
    return list(slots.find_slots(found, earliest=earliest, until=until, limit=limit))
