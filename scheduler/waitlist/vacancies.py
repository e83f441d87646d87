"""Recording capacity as it appears (SPEC §10): the change that frees it writes a vacancy
row in its own transaction; the backfill (``waitlist.services``) offers it afterwards.

Below the services that free capacity (scheduling, the clinicians' hours), reading only
models, so each of them can call it without knowing about offers.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Final, Protocol

from sqlalchemy.orm import Session

from scheduler.access import Actor
from scheduler.vocabulary import VacancySource, VacancyStatus
from scheduler.waitlist.models import Vacancy

# New working hours open this many days ahead to the waitlist.
HOURS_SCAN_DAYS: Final = 14


class Freed(Protocol):
    """What a vacancy needs of the appointment whose time came free."""

    id: int
    site_id: int
    clinician_id: int
    room_id: int
    start_at: datetime
    end_at: datetime


def freed(
    session: Session,
    actor: Actor,
    now: datetime,
    appointment: Freed,
    source: VacancySource,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
) -> None:
    """The appointment's time (or the given old time of a moved one) came free; nothing is
    recorded for a time already begun."""
    start, end = start or appointment.start_at, end or appointment.end_at
    if start <= now:
        return
    session.add(
        Vacancy(
            source=source,
            status=VacancyStatus.OPEN,
            site_id=appointment.site_id,
            clinician_id=appointment.clinician_id,
            room_id=appointment.room_id,
            start_at=start,
            end_at=end,
            freed_appointment_id=appointment.id,
            created_by_id=actor.user_id,
            created_at=now,
        )
    )


def hours_opened(
    session: Session,
    actor: Actor,
    now: datetime,
    clinician_id: int,
    site_ids: Iterable[int],
    *,
    days: int,
) -> None:
    """New working hours: the clinician's next ``days`` days at each site may hold time
    that waitlisted pathways can take."""
    session.add_all(
        Vacancy(
            source=VacancySource.HOURS,
            status=VacancyStatus.OPEN,
            site_id=site_id,
            clinician_id=clinician_id,
            room_id=None,
            start_at=now,
            end_at=now + timedelta(days=days),
            created_by_id=actor.user_id,
            created_at=now,
        )
        for site_id in sorted(set(site_ids))
    )
