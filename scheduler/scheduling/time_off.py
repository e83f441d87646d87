"""Time off: a clinician away, and the booked appointments that then need a new time."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from scheduler.access import Actor
from scheduler.clinicians.models import TimeOff
from scheduler.clinicians.services import get_clinician
from scheduler.db import saved
from scheduler.scheduling.models import Appointment
from scheduler.vocabulary import AppointmentStatus


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


def add_time_off(
    session: Session,
    actor: Actor,
    now: datetime,
    clinician_id: int,
    *,
    start: datetime,
    end: datetime,
    reason: str | None = None,
) -> tuple[TimeOff, list[int]]:
    """Record time off; returns it with the booked appointments it now overlaps."""
    get_clinician(session, clinician_id)
    time_off = TimeOff(clinician_id=clinician_id, start_at=start, end_at=end, reason=reason)
    return saved(session, time_off), booked_during(session, clinician_id, start, end)
