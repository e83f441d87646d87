"""Clinicians, their weekly hours and their time off."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from itertools import pairwise
from typing import Any, Final
from zoneinfo import ZoneInfo

from sqlalchemy import Select, delete, exists, insert, literal, or_, select
from sqlalchemy.orm import Session

from scheduler.access import Actor
from scheduler.clinicians.models import (
    Clinician,
    ClinicianDuration,
    PastWorkingHours,
    TimeOff,
    WorkingHours,
)
from scheduler.db import found, saved
from scheduler.errors import BookingsStranded, InvalidInput, StrandedBooking
from scheduler.facilities.models import Site
from scheduler.hl7v2 import services as hl7
from scheduler.hl7v2.messages import SiuEvent
from scheduler.patients.models import Patient
from scheduler.scheduling.models import Appointment
from scheduler.scheduling.slots import WeeklyHours, within_hours
from scheduler.vocabulary import DEFAULT_MINUTES, AppointmentKind, AppointmentStatus
from scheduler.waitlist import vacancies


def get_clinician(session: Session, clinician_id: int) -> Clinician:
    return found(session.get(Clinician, clinician_id), "clinician", clinician_id)


def create_clinician(
    session: Session,
    actor: Actor,
    now: datetime,
    *,
    given_name: str,
    family_name: str,
    email: str | None = None,
) -> Clinician:
    return saved(session, Clinician(given_name=given_name, family_name=family_name, email=email))


# Why an appointment left outside new weekly hours needs a new time (the Rebook queue).
OUTSIDE_NEW_HOURS: Final = "outside new working hours"


def set_working_hours(
    session: Session,
    actor: Actor,
    now: datetime,
    clinician_id: int,
    intervals: Iterable[Mapping[str, Any]],
) -> list[WorkingHours]:
    """Replace the clinician's weekly hours, refusing any that would strand a booking."""
    hours, _stranded = replace_working_hours(session, actor, now, clinician_id, intervals)
    return hours


def replace_working_hours(
    session: Session,
    actor: Actor,
    now: datetime,
    clinician_id: int,
    intervals: Iterable[Mapping[str, Any]],
    *,
    confirm_stranded: bool = False,
) -> tuple[list[WorkingHours], list[StrandedBooking]]:
    """Replace the clinician's weekly hours; intervals of one weekday must not overlap.

    Hours that leave booked appointments still to come outside them are refused
    (:class:`BookingsStranded`, naming them) unless ``confirm_stranded``: then they are
    saved and those appointments marked for rebooking (returned with the hours). The new
    hours hold from ``now``, and the replaced ones are kept with the span they held; a
    clinician's first hours hold as if always (the days before they were entered are
    measured against them).
    """
    get_clinician(session, clinician_id)
    # Errors name each interval by its position in the request, not in weekday order.
    sent = list(enumerate(intervals))
    ordered = sorted(sent, key=lambda pair: (pair[1]["weekday"], pair[1]["start"]))
    site_ids = {interval["site_id"] for _, interval in sent}
    known = set(session.scalars(select(Site.id).where(Site.id.in_(site_ids))))
    errors: dict[str, list[str]] = {}
    for index, interval in sent:
        if interval["site_id"] not in known:
            errors[f"{index}.site_id"] = [f"No site with id {interval['site_id']}."]
    for (_, previous), (index, interval) in pairwise(ordered):
        if previous["weekday"] == interval["weekday"] and interval["start"] < previous["end"]:
            errors[f"{index}.start"] = ["Overlaps another interval of the same weekday."]
    if errors:
        raise InvalidInput(errors)
    stranded = strand(
        session,
        now,
        _outside_hours(session, clinician_id, now, [i for _, i in ordered]),
        change="the new working hours",
        reason=OUTSIDE_NEW_HOURS,
        confirmed=confirm_stranded,
    )
    had_hours = session.scalar(
        select(
            exists().where(WorkingHours.clinician_id == clinician_id)
            | exists().where(PastWorkingHours.clinician_id == clinician_id)
        )
    )
    _keep_past(session, clinician_id, now)
    session.execute(delete(WorkingHours).where(WorkingHours.clinician_id == clinician_id))
    hours = [
        WorkingHours(
            clinician_id=clinician_id,
            site_id=i["site_id"],
            weekday=i["weekday"],
            start_time=i["start"],
            end_time=i["end"],
            since_at=now if had_hours else None,
        )
        for _, i in ordered
    ]
    session.add_all(hours)
    vacancies.hours_opened(
        session, actor, now, clinician_id, site_ids, days=vacancies.HOURS_SCAN_DAYS
    )
    session.flush()
    return hours, stranded


def _keep_past(session: Session, clinician_id: int, now: datetime) -> None:
    """The clinician's hours, about to be replaced, copied with the span they held (from
    when they were set until ``now``) for the reports; hours set at this same moment held
    for no time and are not kept. One statement."""
    columns = ("clinician_id", "site_id", "weekday", "start_time", "end_time")
    ending = PastWorkingHours.__table__.c.valid_until.type
    held = select(
        *(getattr(WorkingHours, name) for name in columns),
        WorkingHours.since_at,
        literal(now, ending),
    ).where(
        WorkingHours.clinician_id == clinician_id,
        or_(WorkingHours.since_at.is_(None), WorkingHours.since_at < now),
    )
    session.execute(
        insert(PastWorkingHours).from_select([*columns, "valid_from", "valid_until"], held)
    )


def _with_patients(
    session: Session, appointment_ids: Sequence[int]
) -> list[tuple[Appointment, Patient]]:
    """The appointments with their patients, in time order (one query)."""
    if not appointment_ids:
        return []
    rows = session.execute(
        select(Appointment, Patient)
        .join(Patient, Patient.id == Appointment.patient_id)
        .where(Appointment.id.in_(appointment_ids))
        .order_by(Appointment.start_at, Appointment.id)
    )
    return [(appointment, patient) for appointment, patient in rows]


def _stranded(appointment: Appointment, patient: Patient) -> StrandedBooking:
    """A booking as a change that strands it names it."""
    return StrandedBooking(
        appointment_id=appointment.id,
        start=appointment.start_at,
        timezone=appointment.timezone,
        kind=appointment.kind.value,
        patient_name=f"{patient.family_name}, {patient.given_name}",
        patient_mrn=patient.mrn,
        patient_birth_date=patient.birth_date,
    )


def strand(
    session: Session,
    now: datetime,
    appointment_ids: Sequence[int],
    *,
    change: str,
    reason: str,
    confirmed: bool,
) -> list[StrandedBooking]:
    """Booked appointments a change of the clinician's availability leaves without them:
    refused (naming them) unless the change is ``confirmed``; then each is marked as
    needing a new time, with ``reason``, so that the desk's Rebook queue and every list
    show it until it is moved or taken off (and the EHR gets an S14 saying Pending).
    Waiting counts from the first mark."""
    rows = _with_patients(session, appointment_ids)
    stranded = [_stranded(appointment, patient) for appointment, patient in rows]
    if not stranded:
        return []
    if not confirmed:
        raise BookingsStranded(stranded, change)
    for appointment, _patient in rows:
        newly = appointment.rebook_reason != reason
        appointment.rebook_reason = reason
        appointment.rebook_since = appointment.rebook_since or now
        if newly:  # the EHR sees it Pending until it is moved (S13) or taken off
            hl7.report(session, appointment, SiuEvent.MODIFIED, now)
    session.flush()
    return stranded


def _outside_hours(
    session: Session, clinician_id: int, now: datetime, intervals: list[Mapping[str, Any]]
) -> list[int]:
    """The clinician's booked appointments still to start that ``intervals`` would leave
    outside working hours (at their site, on its wall clock), in time order."""
    upcoming = session.execute(
        select(Appointment.id, Appointment.site_id, Appointment.start_at, Appointment.end_at)
        .add_columns(Site.timezone)
        .join(Site, Site.id == Appointment.site_id)
        .where(
            Appointment.clinician_id == clinician_id,
            Appointment.status == AppointmentStatus.BOOKED,
            Appointment.start_at > now,
        )
        .order_by(Appointment.start_at)
    )
    hours: dict[int, list[WeeklyHours]] = {}
    for i in intervals:
        hours.setdefault(i["site_id"], []).append(WeeklyHours(i["weekday"], i["start"], i["end"]))
    return [
        appointment_id
        for appointment_id, site_id, start, end, zone in upcoming
        if not within_hours(hours.get(site_id, ()), start, end, ZoneInfo(zone))
    ]


def working_hours(session: Session, clinician_id: int) -> list[WorkingHours]:
    get_clinician(session, clinician_id)
    return list(
        session.scalars(
            select(WorkingHours)
            .where(WorkingHours.clinician_id == clinician_id)
            .order_by(WorkingHours.weekday, WorkingHours.start_time)
        )
    )


def list_statement() -> Select[Clinician]:
    return select(Clinician).order_by(Clinician.family_name, Clinician.given_name, Clinician.id)


def list_clinicians(session: Session) -> list[Clinician]:
    return list(session.scalars(list_statement()))


def time_off_statement(
    clinician_id: int, *, ending_after: datetime | None = None
) -> Select[TimeOff]:
    """The clinician's time off, latest first (or, from ``ending_after``, soonest first)."""
    statement = select(TimeOff).where(TimeOff.clinician_id == clinician_id)
    if ending_after is None:
        return statement.order_by(TimeOff.start_at.desc())
    return statement.where(TimeOff.end_at > ending_after).order_by(TimeOff.start_at)


def time_off_ahead(session: Session, clinician_id: int, now: datetime) -> list[TimeOff]:
    """Time off not yet over, soonest first."""
    return list(session.scalars(time_off_statement(clinician_id, ending_after=now)))


def durations(session: Session, clinician_id: int) -> list[dict[str, Any]]:
    """Each appointment kind's length for this clinician: their own, or the default."""
    get_clinician(session, clinician_id)
    own = dict(
        session.execute(
            select(ClinicianDuration.kind, ClinicianDuration.minutes).where(
                ClinicianDuration.clinician_id == clinician_id
            )
        ).all()
    )
    return [
        {
            "kind": kind,
            "minutes": own.get(kind, DEFAULT_MINUTES[kind]),
            "default": kind not in own,
        }
        for kind in AppointmentKind
    ]


def set_durations(
    session: Session,
    actor: Actor,
    now: datetime,
    clinician_id: int,
    overrides: Iterable[Mapping[str, Any]],
) -> None:
    get_clinician(session, clinician_id)
    rows = list(overrides)
    kinds = [row["kind"] for row in rows]
    repeated = {kind for kind in kinds if kinds.count(kind) > 1}
    if repeated:
        raise InvalidInput(
            {
                f"{index}.kind": ["Each kind at most once."]
                for index, kind in enumerate(kinds)
                if kind in repeated
            }
        )
    session.execute(delete(ClinicianDuration).where(ClinicianDuration.clinician_id == clinician_id))
    session.add_all(
        ClinicianDuration(clinician_id=clinician_id, kind=row["kind"], minutes=row["minutes"])
        for row in rows
    )
    session.flush()


def home_zone(session: Session, clinician_id: int) -> str:
    """The zone of the site the clinician works at (the first site when none is set):
    the clock their pages show when no appointment names a site."""
    zone = session.scalar(
        select(Site.timezone)
        .join(WorkingHours, WorkingHours.site_id == Site.id)
        .where(WorkingHours.clinician_id == clinician_id)
        .order_by(WorkingHours.id)
        .limit(1)
    ) or session.scalar(select(Site.timezone).order_by(Site.id).limit(1))
    return zone or "UTC"
