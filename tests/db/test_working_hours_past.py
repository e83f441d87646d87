"""Replacing a clinician's weekly hours keeps the ones it ends, with the span they held
(the room-use report measures each day against them); nothing that books reads them."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from scheduler.access import SYSTEM
from scheduler.clinicians.models import PastWorkingHours, WorkingHours
from scheduler.clinicians.services import replace_working_hours
from tests.factories import ClinicianFactory, SiteFactory

FIRST = datetime(2026, 10, 1, 14, tzinfo=UTC)


@pytest.fixture
def clinician_and_site(db: Session) -> tuple[int, int]:
    """A clinician (with no hours yet) and a site."""
    return ClinicianFactory().id, SiteFactory().id


def interval(site_id: int, weekday: int, start: int, end: int) -> dict[str, object]:
    return {"site_id": site_id, "weekday": weekday, "start": time(start), "end": time(end)}


def current(db: Session, clinician_id: int) -> list[tuple[int, time, datetime | None]]:
    rows = db.scalars(
        select(WorkingHours)
        .where(WorkingHours.clinician_id == clinician_id)
        .order_by(WorkingHours.weekday)
    )
    return [(row.weekday, row.start_time, row.since_at) for row in rows]


def past(db: Session, clinician_id: int) -> list[tuple[int, time, datetime | None, datetime]]:
    rows = db.scalars(
        select(PastWorkingHours)
        .where(PastWorkingHours.clinician_id == clinician_id)
        .order_by(PastWorkingHours.valid_until, PastWorkingHours.weekday)
    )
    return [(row.weekday, row.start_time, row.valid_from, row.valid_until) for row in rows]


def test_first_hours_hold_as_if_always_and_each_replacement_is_dated(
    db: Session, clinician_and_site: tuple[int, int]
) -> None:
    clinician_id, site_id = clinician_and_site
    second, third = FIRST + timedelta(days=7), FIRST + timedelta(days=9)

    replace_working_hours(db, SYSTEM, FIRST, clinician_id, [interval(site_id, 0, 8, 16)])
    assert current(db, clinician_id) == [(0, time(8), None)]
    assert past(db, clinician_id) == []

    replace_working_hours(
        db,
        SYSTEM,
        second,
        clinician_id,
        [interval(site_id, 0, 12, 18), interval(site_id, 1, 12, 18)],
    )
    replace_working_hours(db, SYSTEM, third, clinician_id, [interval(site_id, 2, 7, 19)])

    assert current(db, clinician_id) == [(2, time(7), third)]
    assert past(db, clinician_id) == [
        (0, time(8), None, second),
        (0, time(12), second, third),
        (1, time(12), second, third),
    ]


def test_hours_replaced_at_the_moment_they_were_set_held_for_no_time(
    db: Session, clinician_and_site: tuple[int, int]
) -> None:
    clinician_id, site_id = clinician_and_site
    replace_working_hours(db, SYSTEM, FIRST, clinician_id, [interval(site_id, 0, 8, 16)])
    later = FIRST + timedelta(days=1)
    replace_working_hours(db, SYSTEM, later, clinician_id, [interval(site_id, 0, 9, 16)])

    replace_working_hours(db, SYSTEM, later, clinician_id, [interval(site_id, 0, 10, 16)])

    assert past(db, clinician_id) == [(0, time(8), None, later)]
    assert current(db, clinician_id) == [(0, time(10), later)]


def test_hours_given_after_a_clinician_had_none_for_a_while_are_dated(
    db: Session, clinician_and_site: tuple[int, int]
) -> None:
    """Cleared on the 2nd, given again on the 5th: the days between had none."""
    clinician_id, site_id = clinician_and_site
    cleared, again = FIRST + timedelta(days=1), FIRST + timedelta(days=4)
    replace_working_hours(db, SYSTEM, FIRST, clinician_id, [interval(site_id, 0, 8, 16)])
    replace_working_hours(db, SYSTEM, cleared, clinician_id, [])

    replace_working_hours(db, SYSTEM, again, clinician_id, [interval(site_id, 0, 8, 16)])

    assert past(db, clinician_id) == [(0, time(8), None, cleared)]
    assert current(db, clinician_id) == [(0, time(8), again)]
