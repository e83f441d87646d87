"""Moving a booked appointment as the desk books one: search, hold, confirm (SPEC §4).

The appointment keeps its time until the move is confirmed with the hold; the search
and the hold judge the new time as if the appointment were not booked (so a small shift
that overlaps the old time is offered and held), and the event carries both times.
The clinic and clock are those of test_slots_and_holds.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from scheduler.pathways.models import PathwayEvent
from scheduler.scheduling.models import Allocation, Hold
from tests.api.conftest import Clinic
from tests.api.test_booking import other_pathway
from tests.api.test_full_pathway import book, refer, search_slots
from tests.api.test_slots_and_holds import book_hold, event_count, hold, wall_clock
from tests.support import Api, local


def booked_block(api: Api, clinic: Clinic, hour: int = 9) -> tuple[int, dict[str, Any]]:
    pathway = refer(api, clinic)["id"]
    return pathway, book(api, clinic, pathway, "diagnostic_block", local("2026-03-03", hour))


def move_with(api: Api, appointment_id: int, hold_id: str, etag: str | None = None) -> Any:
    path = f"/appointments/{appointment_id}"
    return api.call(
        "PATCH",
        path,
        "scheduler",
        json={"hold_id": hold_id},
        headers={"If-Match": etag or api.get(path, "scheduler").headers["ETag"]},
    )


def test_a_move_search_offers_times_overlapping_the_old_one(api: Api, clinic: Clinic) -> None:
    pathway, appointment = booked_block(api, clinic)
    after = local("2026-03-03", 9)

    plain = api.get(
        f"/pathways/{pathway}/slots?kind=diagnostic_block&after={after.isoformat()}".replace(
            "+", "%2B"
        ),
        "scheduler",
    )
    moving = search_slots(
        api, pathway, "diagnostic_block", after=after, limit=3, appointment_id=appointment["id"]
    )

    # Booking another block is not possible while one is booked; moving it is.
    assert plain.status_code == 409, plain.get_json()
    assert wall_clock(moving) == ["09:00", "09:15", "09:30"]


def test_a_move_hold_keeps_the_old_time_until_confirmed_then_the_event_has_both(
    api: Api, clinic: Clinic, db: Session
) -> None:
    pathway, appointment = booked_block(api, clinic)
    theirs = other_pathway(api, clinic, db)
    new_start = local("2026-03-03", 9, 15)

    held = hold(api, pathway, new_start.isoformat(), appointment_id=appointment["id"])

    assert held.status_code == 201, held.get_json()
    assert held.get_json()["appointment_id"] == appointment["id"]
    still = api.ok("GET", f"/appointments/{appointment['id']}", "scheduler")
    assert still["start"] == appointment["start"]
    # Neither the old time nor the held one is offered to anyone else meanwhile.
    offered = search_slots(api, theirs, "diagnostic_block", after=local("2026-03-03", 9), limit=1)
    assert wall_clock(offered) == ["09:45"]

    moved = move_with(api, appointment["id"], held.get_json()["hold_id"])

    assert moved.status_code == 200, moved.get_json()
    assert moved.get_json()["start_local"] == new_start.isoformat()
    assert db.scalar(select(Hold)) is None
    rows = db.scalars(select(Allocation).where(Allocation.appointment_id == appointment["id"]))
    assert {row.start_at for row in rows} == {new_start}
    event = db.scalars(select(PathwayEvent).order_by(PathwayEvent.id.desc())).first()
    assert event is not None
    assert event.data["from"] == appointment["start"]
    assert datetime.fromisoformat(event.data["to"]) == new_start
    assert db.scalar(select(Allocation).where(Allocation.hold_id.is_not(None))) is None


def test_a_move_hold_is_refused_for_booking_and_a_booking_hold_for_a_move(
    api: Api, clinic: Clinic, db: Session
) -> None:
    pathway, appointment = booked_block(api, clinic)
    theirs = other_pathway(api, clinic, db)
    move_hold = hold(
        api, pathway, local("2026-03-04", 9).isoformat(), appointment_id=appointment["id"]
    ).get_json()["hold_id"]
    booking_hold = hold(api, theirs, local("2026-03-05", 9).isoformat()).get_json()["hold_id"]
    events = event_count(db)

    as_booking = book_hold(api, pathway, move_hold)
    as_move = move_with(api, appointment["id"], booking_hold)

    assert as_booking.status_code in (409, 422), as_booking.get_json()
    assert as_move.status_code == 422, as_move.get_json()
    assert "hold_id" in as_move.get_json()["errors"]
    assert event_count(db) == events
    assert api.ok("GET", f"/appointments/{appointment['id']}", "scheduler")["version"] == 1


def test_a_move_hold_for_another_pathways_appointment_or_kind_is_422(
    api: Api, clinic: Clinic, db: Session
) -> None:
    _pathway, appointment = booked_block(api, clinic)
    theirs = other_pathway(api, clinic, db)
    start = local("2026-03-04", 9).isoformat()

    foreign = hold(api, theirs, start, appointment_id=appointment["id"])
    wrong_kind = hold(
        api, appointment["pathway_id"], start, kind="follow_up", appointment_id=appointment["id"]
    )
    missing = hold(api, theirs, start, appointment_id=999999)

    assert foreign.status_code == 422, foreign.get_json()
    assert "appointment_id" in foreign.get_json()["errors"]
    assert wrong_kind.status_code == 422, wrong_kind.get_json()
    assert missing.status_code == 404, missing.get_json()
    assert db.scalar(select(Hold)) is None


def test_a_cancelled_appointment_cannot_be_moved_with_its_hold(
    api: Api, clinic: Clinic, db: Session
) -> None:
    pathway, appointment = booked_block(api, clinic)
    held = hold(
        api, pathway, local("2026-03-04", 9).isoformat(), appointment_id=appointment["id"]
    ).get_json()
    etag = api.get(f"/appointments/{appointment['id']}", "scheduler").headers["ETag"]
    api.ok("POST", f"/appointments/{appointment['id']}/cancel", "scheduler", json={"reason": "x"})

    moved = move_with(api, appointment["id"], held["hold_id"], etag)

    assert moved.status_code in (409, 412), moved.get_json()
    assert api.ok("GET", f"/appointments/{appointment['id']}", "scheduler")["status"] == (
        "cancelled"
    )
