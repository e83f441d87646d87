"""Time off: a clinician away, and the booked appointments that then need a new time."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from scheduler.access import Actor
from scheduler.clinicians.models import Clinician, TimeOff
from scheduler.clinicians.services import get_clinician, home_zone, strand
from scheduler.db import saved
from scheduler.errors import StrandedBooking
from scheduler.scheduling.models import Appointment
from scheduler.vocabulary import AppointmentStatus

DASH = "\u2013"  # an en dash, as ranges are written


def booked_during(session: Session, clinician_id: int, start: datetime, end: datetime) -> list[int]:
    """The clinician's booked appointments overlapping [start, end), in time order."""
    return list(
        session.scalars(
            select(Appointment.id)
            .where(
                Appointment.clinician_id == clinician_id,
                Appointment.status == AppointmentStatus.BOOKED,
                Appointment.start_at < end,
                Appointment.end_at > start,
            )
            .order_by(Appointment.start_at)
        )
    )


def away_text(clinician: Clinician, start: datetime, end: datetime, zone: ZoneInfo) -> str:
    """Why a booking in this time off needs a new time, as the desk reads it: "Dr Okafor
    away 3-5 Dec", "Dr Okafor away 3 Dec 09:00-13:00" (the clinician's wall clock; the
    ranges with an en dash)."""
    first = start.astimezone(zone)
    until = end.astimezone(zone)
    last = (end - timedelta(microseconds=1)).astimezone(zone)  # the end is not part of it
    whole_days = first.time() == until.time() == datetime.min.time()
    if first.date() == last.date():
        when = f"{first.day} {first:%b}"
        if not whole_days:
            when += f" {first:%H:%M}{DASH}{until:%H:%M}"
    elif (first.year, first.month) == (last.year, last.month):
        when = f"{first.day}{DASH}{last.day} {last:%b}"
    else:
        when = f"{first.day} {first:%b} {DASH} {last.day} {last:%b}"
    return f"Dr {clinician.family_name} away {when}"


def add_time_off(
    session: Session,
    actor: Actor,
    now: datetime,
    clinician_id: int,
    *,
    start: datetime,
    end: datetime,
    reason: str | None = None,
    confirm_stranded: bool = False,
) -> tuple[TimeOff, list[StrandedBooking]]:
    """Record time off. Over booked appointments it is refused (naming them) unless
    ``confirm_stranded``: then they are marked for rebooking and returned with it."""
    clinician = get_clinician(session, clinician_id)
    zone = ZoneInfo(home_zone(session, clinician_id))
    stranded = strand(
        session,
        now,
        booked_during(session, clinician_id, start, end),
        change="this time off",
        reason=away_text(clinician, start, end, zone),
        confirmed=confirm_stranded,
    )
    time_off = TimeOff(clinician_id=clinician_id, start_at=start, end_at=end, reason=reason)
    return saved(session, time_off), stranded
