"""Slot search, holds, idempotent booking and recovery bays through the API (SPEC §4, §6).

The clinic has one fluoroscopy room, one unit of each kind of equipment and one recovery
bay; both clinicians work 07:00-17:00 New York time every day. The clock stands at
Monday 2026-03-02 14:00 EST, and the site wants 60 minutes' notice.
"""

from __future__ import annotations

from datetime import time, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from scheduler.clinicians.models import WorkingHours
from scheduler.pathways.models import PathwayEvent
from scheduler.scheduling.models import Hold
from scheduler.vocabulary import EquipmentKind
from tests.api.conftest import Clinic
from tests.api.test_bad_input import arrange
from tests.api.test_booking import appointment_count, other_pathway, reads_of
from tests.api.test_full_pathway import (
    block,
    block_result,
    book,
    conservative_care,
    refer,
    search_slots,
    state_of,
)
from tests.conftest import QueryCounter
from tests.factories import EquipmentFactory, RecoveryBayFactory, RoomFactory
from tests.support import FROZEN_NOW, Api, FrozenClock, local

HOLD_TTL = timedelta(seconds=600)
KEY = "Idempotency-Key"


def wall_clock(found: list[dict[str, Any]]) -> list[str]:
    """The offered starts as site-local "HH:MM"."""
    return [slot["start_local"][11:16] for slot in found]


def hold(
    api: Api, pathway_id: int, start: str, kind: str = "diagnostic_block", **extra: Any
) -> Any:
    return api.post(
        "/holds", {"pathway_id": pathway_id, "kind": kind, "start": start, **extra}, "scheduler"
    )


def book_hold(
    api: Api, pathway_id: int, hold_id: str, kind: str = "diagnostic_block", as_: str = "scheduler"
) -> Any:
    return api.post(
        "/appointments", {"pathway_id": pathway_id, "kind": kind, "hold_id": hold_id}, as_
    )


def make_eligible(api: Api, clinic: Clinic, clock: FrozenClock, *cases: tuple[int, str]) -> None:
    """Conservative care and two positive blocks, 14 days apart, for each (pathway, login
    of its clinician); the blocks are at 09:00, 10:00, ... so they share the one room."""
    for pathway_id, _login in cases:
        conservative_care(api, pathway_id)
    for day in ("2026-03-03", "2026-03-17"):
        booked = [
            book(api, clinic, pathway_id, "diagnostic_block", local(day, 9 + n))
            for n, (pathway_id, _login) in enumerate(cases)
        ]
        for appointment, (_pathway_id, login) in zip(booked, cases, strict=True):
            block_result(api, clock, appointment, post=0, as_=login)
    for pathway_id, _login in cases:
        assert state_of(api, pathway_id) == "eligible"


def event_count(db: Session) -> int:
    return db.scalar(select(func.count()).select_from(PathwayEvent)) or 0


# ---------------------------------------------------------------------------------------
# Search


def test_search_returns_the_earliest_slots_on_quarter_hours_within_working_hours(
    api: Api, clinic: Clinic, clock: FrozenClock
) -> None:
    clock.set(FROZEN_NOW + timedelta(minutes=7))  # 14:07; with an hour's notice, 15:07
    pathway = refer(api, clinic)["id"]

    found = search_slots(api, pathway, "diagnostic_block", limit=10)

    assert [slot["start_local"][:16] for slot in found] == [
        "2026-03-02T15:15",
        "2026-03-02T15:30",
        "2026-03-02T15:45",
        "2026-03-02T16:00",
        "2026-03-02T16:15",
        "2026-03-02T16:30",  # the last one that ends by 17:00
        "2026-03-03T07:00",
        "2026-03-03T07:15",
        "2026-03-03T07:30",
        "2026-03-03T07:45",
    ]
    assert found[0] == {
        "start": "2026-03-02T20:15:00+00:00",
        "end": "2026-03-02T20:45:00+00:00",
        "start_local": "2026-03-02T15:15:00-05:00",
        "end_local": "2026-03-02T15:45:00-05:00",
        "timezone": "America/New_York",
        "clinician_id": clinic.clinician_id,
        "room_id": clinic.room_id,
        "equipment_ids": [],
        "recovery_bay_id": None,
    }
    assert wall_clock(search_slots(api, pathway, "diagnostic_block", limit=2)) == [
        "15:15",
        "15:30",
    ]
    other = search_slots(
        api, pathway, "diagnostic_block", limit=1, clinician_id=clinic.other_clinician_id
    )
    assert other[0]["clinician_id"] == clinic.other_clinician_id


def test_search_across_the_dst_change_keeps_the_site_wall_clock(
    api: Api, clinic: Clinic, db: Session
) -> None:
    """New York springs forward on 2026-03-08: 08:00 is 13:00 UTC before, 12:00 UTC after."""
    db.query(WorkingHours).filter_by(clinician_id=clinic.clinician_id).update(
        {"start_time": time(8), "end_time": time(8, 30)}
    )
    db.commit()
    pathway = refer(api, clinic)["id"]

    found = search_slots(api, pathway, "diagnostic_block", after=local("2026-03-06", 0), limit=4)

    assert [(slot["start_local"], slot["start"]) for slot in found] == [
        ("2026-03-06T08:00:00-05:00", "2026-03-06T13:00:00+00:00"),
        ("2026-03-07T08:00:00-05:00", "2026-03-07T13:00:00+00:00"),
        ("2026-03-08T08:00:00-04:00", "2026-03-08T12:00:00+00:00"),
        ("2026-03-09T08:00:00-04:00", "2026-03-09T12:00:00+00:00"),
    ]
    assert {slot["end_local"][11:] for slot in found} == {"08:30:00-05:00", "08:30:00-04:00"}


def _busy_clinician(api: Api, clinic: Clinic, db: Session) -> None:
    """Another patient of the same clinician, in another room."""
    room = RoomFactory(site_id=clinic.site_id)
    db.commit()
    other = other_pathway(api, clinic, db)
    book(api, clinic, other, "diagnostic_block", local("2026-03-03", 9), room_id=room.id)


def _busy_room(api: Api, clinic: Clinic, db: Session) -> None:
    """Another patient of the other clinician, in the only fluoroscopy room."""
    other = other_pathway(api, clinic, db, clinician_id=clinic.other_clinician_id)
    book(api, clinic, other, "diagnostic_block", local("2026-03-03", 9))


def _busy_patient(api: Api, clinic: Clinic, db: Session) -> None:
    """The same patient, on another pathway, with the other clinician in another room."""
    room = RoomFactory(site_id=clinic.site_id)
    db.commit()
    other = refer(api, clinic, side="left", clinician_id=clinic.other_clinician_id)["id"]
    book(api, clinic, other, "diagnostic_block", local("2026-03-03", 9), room_id=room.id)


def _time_off(api: Api, clinic: Clinic, db: Session) -> None:
    api.ok(
        "POST",
        f"/clinicians/{clinic.clinician_id}/time-off",
        "scheduler",
        json={
            "start": local("2026-03-03", 9).isoformat(),
            "end": local("2026-03-03", 10).isoformat(),
            "reason": "Teaching",
        },
    )


@pytest.mark.parametrize(
    ("arrange", "expected"),
    [
        (_busy_clinician, ["09:30", "09:45", "10:00"]),
        (_busy_room, ["09:30", "09:45", "10:00"]),
        (_busy_patient, ["09:30", "09:45", "10:00"]),
        (_time_off, ["10:00", "10:15", "10:30"]),
    ],
    ids=["clinician", "room", "patient", "time_off"],
)
def test_search_skips_busy_intervals_and_time_off(
    api: Api, clinic: Clinic, db: Session, arrange: Any, expected: list[str]
) -> None:
    pathway = refer(api, clinic)["id"]
    after = local("2026-03-03", 9)
    assert wall_clock(search_slots(api, pathway, "diagnostic_block", after=after, limit=3)) == [
        "09:00",
        "09:15",
        "09:30",
    ]

    arrange(api, clinic, db)

    found = search_slots(api, pathway, "diagnostic_block", after=after, limit=3)
    assert wall_clock(found) == expected
    assert all(slot["start_local"].startswith("2026-03-03") for slot in found)


def test_second_block_search_starts_at_the_policys_block_interval(
    api: Api, clinic: Clinic, clock: FrozenClock
) -> None:
    """medicare_facet: blocks at least 14 days apart (Medicare LCD)."""
    pathway = refer(api, clinic)["id"]
    block(api, clinic, clock, pathway, "2026-03-03", post=1)  # 90%: one more needed

    found = search_slots(api, pathway, "diagnostic_block", limit=3)
    within_ten_days = api.get(
        f"/pathways/{pathway}/slots",
        "scheduler",
        query_string={"kind": "diagnostic_block", "days": 10},
    )

    assert [slot["start_local"] for slot in found] == [
        "2026-03-17T07:00:00-04:00",
        "2026-03-17T07:15:00-04:00",
        "2026-03-17T07:30:00-04:00",
    ]
    assert within_ten_days.status_code == 422
    assert within_ten_days.get_json()["unmet"] == ["block_interval"]


def test_procedure_search_while_referred_is_422_with_the_unmet_rules(
    api: Api, clinic: Clinic, db: Session
) -> None:
    pathway = refer(api, clinic)["id"]
    events = event_count(db)

    response = api.get(
        f"/pathways/{pathway}/slots", "scheduler", query_string={"kind": "procedure"}
    )

    assert response.status_code == 422
    problem = response.get_json()
    assert problem["type"].endswith("/prerequisites-unmet")
    assert set(problem["unmet"]) == {"conservative_care", "diagnostic_blocks"}
    assert {rule["id"] for rule in problem["rules"]} == set(problem["unmet"])
    assert event_count(db) == events
    assert state_of(api, pathway) == "referred"


@pytest.mark.parametrize(
    ("method", "kinds"),
    [
        ("rfa", [EquipmentKind.ENDOSCOPE_TOWER, EquipmentKind.RF_GENERATOR]),
        ("laser", [EquipmentKind.ENDOSCOPE_TOWER, EquipmentKind.LASER_UNIT]),
    ],
)
def test_a_procedure_slot_names_one_unit_of_each_kind_the_method_needs_and_a_bay(
    api: Api, clinic: Clinic, clock: FrozenClock, method: str, kinds: list[EquipmentKind]
) -> None:
    pathway = refer(api, clinic)["id"]
    make_eligible(api, clinic, clock, (pathway, "clinician"))
    api.ok(
        "POST",
        f"/pathways/{pathway}/coverage-acknowledgments",
        "scheduler",
        json={"kind": "abn", "signed_on": "2026-03-17"},  # laser is not covered
    )

    found = search_slots(
        api, pathway, "procedure", method=method, after=local("2026-03-24", 7), limit=2
    )

    assert [(slot["start_local"], slot["end_local"]) for slot in found] == [
        ("2026-03-24T07:00:00-04:00", "2026-03-24T08:30:00-04:00"),
        ("2026-03-24T07:15:00-04:00", "2026-03-24T08:45:00-04:00"),
    ]
    for slot in found:
        assert sorted(slot["equipment_ids"]) == sorted(clinic.equipment_ids[k] for k in kinds)
        assert slot["recovery_bay_id"] == clinic.recovery_bay_id
        assert slot["room_id"] == clinic.room_id


def test_laser_search_without_a_coverage_acknowledgment_is_422(
    api: Api, clinic: Clinic, clock: FrozenClock
) -> None:
    pathway = refer(api, clinic)["id"]
    make_eligible(api, clinic, clock, (pathway, "clinician"))
    response = api.get(
        f"/pathways/{pathway}/slots",
        "scheduler",
        query_string={"kind": "procedure", "method": "laser"},
    )
    assert response.status_code == 422
    assert response.get_json()["unmet"] == ["coverage"]
    assert search_slots(api, pathway, "procedure", limit=1)  # rfa is covered


def test_a_slot_needing_the_only_rf_generator_in_use_is_not_offered_nor_bookable(
    api: Api, clinic: Clinic, clock: FrozenClock, db: Session
) -> None:
    """Two rooms, two endoscope towers and two bays, but a single RF generator."""
    second_room = RoomFactory(site_id=clinic.site_id).id
    second_tower = EquipmentFactory(site_id=clinic.site_id, kind=EquipmentKind.ENDOSCOPE_TOWER).id
    second_bay = RecoveryBayFactory(site_id=clinic.site_id).id
    db.commit()
    mine = refer(api, clinic)["id"]
    theirs = refer(
        api, clinic, patient_id=clinic.other_patient_id, clinician_id=clinic.other_clinician_id
    )["id"]
    make_eligible(api, clinic, clock, (mine, "clinician"), (theirs, "other_clinician"))
    other = book(
        api, clinic, theirs, "procedure", local("2026-03-24", 9), room_id=second_room, method="rfa"
    )
    assert other["equipment_ids"] == [
        clinic.equipment_ids["endoscope_tower"],
        clinic.equipment_ids["rf_generator"],
    ]
    before = appointment_count(db)

    found = search_slots(api, mine, "procedure", after=local("2026-03-24", 7), limit=3)
    explicit = api.post(
        "/appointments",
        {
            "pathway_id": mine,
            "kind": "procedure",
            "start": local("2026-03-24", 9).isoformat(),
            "room_id": clinic.room_id,
        },
        "scheduler",
    )

    # The generator is busy 09:00-10:45 (90 minutes and 15 of turnover).
    assert wall_clock(found) == ["07:00", "07:15", "10:45"]
    late = found[-1]
    assert late["room_id"] == clinic.room_id
    assert late["equipment_ids"] == [
        clinic.equipment_ids["endoscope_tower"],
        clinic.equipment_ids["rf_generator"],
    ]
    assert late["recovery_bay_id"] == second_bay  # the first bay is busy until 12:30
    assert explicit.status_code == 409
    assert explicit.get_json()["resources"] == ["rf_generator"]
    assert appointment_count(db) == before
    assert state_of(api, mine) == "eligible"
    assert second_tower not in other["equipment_ids"]


def test_a_slot_offered_by_search_books_and_is_offered_again_after_a_cancel(
    api: Api, clinic: Clinic, db: Session
) -> None:
    pathway = refer(api, clinic)["id"]
    other = other_pathway(api, clinic, db)
    slot, *_ = search_slots(api, pathway, "diagnostic_block", limit=1)

    booked = api.post(
        "/appointments",
        {"pathway_id": pathway, "kind": "diagnostic_block", "start": slot["start"]},
        "scheduler",
    )

    assert booked.status_code == 201, booked.get_json()
    appointment = booked.get_json()
    assert {k: appointment[k] for k in slot} == slot
    assert search_slots(api, other, "diagnostic_block", limit=1)[0]["start"] != slot["start"]

    api.ok("POST", f"/appointments/{appointment['id']}/cancel", "scheduler", json={"reason": "x"})

    assert search_slots(api, pathway, "diagnostic_block", limit=1) == [slot]
    assert search_slots(api, other, "diagnostic_block", limit=1) == [slot]


# ---------------------------------------------------------------------------------------
# Holds


# The morning the holds' tests search from.
AFTER = local("2026-03-03", 9)


def first_slot_held(
    api: Api, clinic: Clinic, db: Session
) -> tuple[int, int, list[dict[str, Any]], dict[str, Any]]:
    """My pathway holds the first block slot from AFTER; another patient's waits. Mine,
    theirs, the slots my search offered, and the hold."""
    mine = refer(api, clinic)["id"]
    theirs = other_pathway(api, clinic, db)
    offered = search_slots(api, mine, "diagnostic_block", after=AFTER)
    held: dict[str, Any] = hold(api, mine, offered[0]["start"]).get_json()
    return mine, theirs, offered, held


def test_a_hold_reserves_the_slot_for_ten_minutes(api: Api, clinic: Clinic) -> None:
    pathway = refer(api, clinic)["id"]
    slot, *_ = search_slots(api, pathway, "diagnostic_block", after=local("2026-03-03", 9))

    response = hold(api, pathway, slot["start"])

    assert response.status_code == 201, response.get_json()
    held = response.get_json()
    assert len(held["hold_id"]) == 32
    assert held["expires_at"] == (FROZEN_NOW + HOLD_TTL).isoformat()
    assert held["pathway_id"] == pathway
    assert held["kind"] == "diagnostic_block"
    assert {k: held[k] for k in slot} == slot


def test_a_held_slot_is_not_offered_to_another_patient_nor_bookable_over(
    api: Api, clinic: Clinic, db: Session
) -> None:
    mine = refer(api, clinic)["id"]
    theirs = other_pathway(api, clinic, db)
    after = local("2026-03-03", 9)
    slot, *_ = search_slots(api, mine, "diagnostic_block", after=after)
    assert hold(api, mine, slot["start"]).status_code == 201

    offered = search_slots(api, theirs, "diagnostic_block", after=after, limit=2)
    over = api.post(
        "/appointments",
        {"pathway_id": theirs, "kind": "diagnostic_block", "start": slot["start"]},
        "scheduler",
    )
    second_hold = hold(api, theirs, slot["start"])

    assert wall_clock(offered) == ["09:30", "09:45"]
    assert over.status_code == 409
    assert over.get_json()["resources"] == ["clinician", "room"]
    assert second_hold.status_code == 409
    assert appointment_count(db) == 0
    assert state_of(api, theirs) == "referred"


def test_booking_with_a_hold_consumes_it(api: Api, clinic: Clinic, db: Session) -> None:
    mine, theirs, (slot, *_), held = first_slot_held(api, clinic, db)

    booked = book_hold(api, mine, held["hold_id"])
    again = book_hold(api, mine, held["hold_id"])

    assert booked.status_code == 201, booked.get_json()
    appointment = booked.get_json()
    assert (appointment["start"], appointment["room_id"]) == (slot["start"], slot["room_id"])
    assert state_of(api, mine) == "block_scheduled"
    assert again.status_code == 422
    assert "hold_id" in again.get_json()["errors"]
    assert appointment_count(db) == 1
    # The hold left nothing behind: once the appointment is cancelled the slot is free.
    api.ok("POST", f"/appointments/{appointment['id']}/cancel", "scheduler", json={"reason": "x"})
    assert search_slots(api, theirs, "diagnostic_block", after=AFTER, limit=1) == [slot]


def test_an_expired_hold_costs_nothing(
    api: Api, clinic: Clinic, clock: FrozenClock, db: Session
) -> None:
    mine, theirs, (slot, *_), held = first_slot_held(api, clinic, db)

    clock.set(FROZEN_NOW + HOLD_TTL - timedelta(seconds=1))
    assert wall_clock(search_slots(api, theirs, "diagnostic_block", after=AFTER, limit=1)) == [
        "09:30"
    ]
    clock.set(FROZEN_NOW + HOLD_TTL + timedelta(seconds=1))
    assert search_slots(api, theirs, "diagnostic_block", after=AFTER, limit=1) == [slot]
    booked = api.post(
        "/appointments",
        {"pathway_id": theirs, "kind": "diagnostic_block", "start": slot["start"]},
        "scheduler",
    )
    late = book_hold(api, mine, held["hold_id"])

    assert booked.status_code == 201, booked.get_json()
    assert late.status_code == 422
    assert "hold_id" in late.get_json()["errors"]
    assert appointment_count(db) == 1
    assert state_of(api, mine) == "referred"
    # The booking released the lapsed hold in its way (PostgreSQL would refuse its rows).
    assert db.scalar(select(func.count()).select_from(Hold)) == 0


def test_a_lapsed_hold_nobody_booked_over_cannot_be_booked_and_the_next_hold_sweeps_it(
    api: Api, clinic: Clinic, clock: FrozenClock, db: Session
) -> None:
    mine, theirs, (_first, later, *_), held = first_slot_held(api, clinic, db)
    clock.set(FROZEN_NOW + HOLD_TTL + timedelta(seconds=1))

    late = book_hold(api, mine, held["hold_id"])
    still_there = db.scalar(select(func.count()).select_from(Hold))
    elsewhere = hold(api, theirs, later["start"])

    assert late.status_code == 422
    assert "it may have expired" in late.get_json()["errors"]["hold_id"][0]
    assert appointment_count(db) == 0
    assert still_there == 1  # a booking releases only a lapsed hold in its way
    assert elsewhere.status_code == 201
    db.expire_all()
    assert db.scalars(select(Hold.id)).all() == [elsewhere.get_json()["hold_id"]]


def test_deleting_a_hold_frees_the_slot(api: Api, clinic: Clinic, db: Session) -> None:
    mine, theirs, (slot, *_), held = first_slot_held(api, clinic, db)
    path = f"/holds/{held['hold_id']}"

    assert api.call("DELETE", path, "nurse").status_code == 403
    assert api.call("DELETE", path, "admin").status_code == 404  # someone else's hold
    assert search_slots(api, theirs, "diagnostic_block", after=AFTER, limit=1) != [slot]
    deleted = api.call("DELETE", path, "scheduler")

    assert deleted.status_code == 204
    assert search_slots(api, theirs, "diagnostic_block", after=AFTER, limit=1) == [slot]
    assert api.call("DELETE", path, "scheduler").status_code == 404
    assert book_hold(api, mine, held["hold_id"]).status_code == 422


def test_a_hold_is_refused_for_another_pathway_kind_or_user(
    api: Api, clinic: Clinic, db: Session
) -> None:
    mine = refer(api, clinic)["id"]
    theirs = other_pathway(api, clinic, db)
    slot, *_ = search_slots(api, mine, "diagnostic_block", after=local("2026-03-03", 9))
    held = hold(api, mine, slot["start"]).get_json()["hold_id"]

    refused = [
        book_hold(api, theirs, held),
        book_hold(api, mine, held, kind="procedure"),
        book_hold(api, mine, held, as_="admin"),
    ]

    assert [r.status_code for r in refused] == [422, 422, 422]
    assert all("hold_id" in r.get_json()["errors"] for r in refused)
    assert appointment_count(db) == 0
    # The refusals did not use the hold up.
    assert book_hold(api, mine, held).status_code == 201


# ---------------------------------------------------------------------------------------
# Idempotency-Key


def test_a_retried_booking_returns_the_first_response_and_books_once(
    api: Api, clinic: Clinic, db: Session
) -> None:
    pathway = refer(api, clinic)["id"]
    body = {
        "pathway_id": pathway,
        "kind": "diagnostic_block",
        "start": local("2026-03-03", 9).isoformat(),
    }
    events = event_count(db)

    first = api.post("/appointments", body, "scheduler", headers={KEY: "booking-1"})
    retry = api.post("/appointments", body, "scheduler", headers={KEY: "booking-1"})

    assert first.status_code == retry.status_code == 201
    assert retry.get_json() == first.get_json()
    assert appointment_count(db) == 1
    assert event_count(db) == events + 1
    assert state_of(api, pathway) == "block_scheduled"


def test_the_same_idempotency_key_with_another_body_is_422(
    api: Api, clinic: Clinic, db: Session
) -> None:
    pathway = refer(api, clinic)["id"]
    body = {
        "pathway_id": pathway,
        "kind": "diagnostic_block",
        "start": local("2026-03-03", 9).isoformat(),
    }
    api.ok("POST", "/appointments", "scheduler", json=body, headers={KEY: "booking-1"})

    moved = {**body, "start": local("2026-03-03", 10).isoformat()}
    response = api.post("/appointments", moved, "scheduler", headers={KEY: "booking-1"})

    assert response.status_code == 422
    assert list(response.get_json()["errors"]) == [KEY]
    assert appointment_count(db) == 1


def test_different_users_may_use_the_same_idempotency_key(
    api: Api, clinic: Clinic, db: Session
) -> None:
    mine = refer(api, clinic)["id"]
    theirs = other_pathway(api, clinic, db)

    responses = [
        api.post(
            "/appointments",
            {
                "pathway_id": pathway,
                "kind": "diagnostic_block",
                "start": local("2026-03-03", hour).isoformat(),
            },
            user,
            headers={KEY: "same-key"},
        )
        for pathway, hour, user in ((mine, 9, "scheduler"), (theirs, 10, "admin"))
    ]

    assert [r.status_code for r in responses] == [201, 201]
    assert [r.get_json()["pathway_id"] for r in responses] == [mine, theirs]
    assert appointment_count(db) == 2


def test_a_refused_booking_does_not_use_up_its_idempotency_key(
    api: Api, clinic: Clinic, db: Session
) -> None:
    mine = refer(api, clinic)["id"]
    theirs = other_pathway(api, clinic, db)
    start = local("2026-03-03", 9).isoformat()
    held = hold(api, theirs, start).get_json()["hold_id"]
    body = {"pathway_id": mine, "kind": "diagnostic_block", "start": start}

    taken = api.post("/appointments", body, "scheduler", headers={KEY: "retry-me"})
    api.call("DELETE", f"/holds/{held}", "scheduler")
    retried = api.post("/appointments", body, "scheduler", headers={KEY: "retry-me"})

    assert taken.status_code == 409
    assert retried.status_code == 201, retried.get_json()
    assert appointment_count(db) == 1


@pytest.mark.parametrize("key", ["", "k" * 256, "clé"])
def test_an_unusable_idempotency_key_is_422(
    api: Api, clinic: Clinic, db: Session, key: str
) -> None:
    pathway = refer(api, clinic)["id"]
    body = {
        "pathway_id": pathway,
        "kind": "diagnostic_block",
        "start": local("2026-03-03", 9).isoformat(),
    }
    response = api.post("/appointments", body, "scheduler", headers={KEY: key})
    assert response.status_code == 422
    assert list(response.get_json()["errors"]) == [KEY]
    assert appointment_count(db) == 0


# ---------------------------------------------------------------------------------------
# Rescheduling re-checks the pathway's windows
#
# A pathway has one booked appointment at a time (each step waits for the result of the
# one before, SPEC §2), so the steps before a moved appointment are done: the move is
# checked against them.


def _refused_move(api: Api, db: Session, appointment_id: int, start: Any) -> Any:
    """PATCH the appointment to ``start``; assert the refusal changed nothing."""
    path = f"/appointments/{appointment_id}"
    before = api.get(path, "scheduler")
    events = event_count(db)
    response = api.call(
        "PATCH",
        path,
        "scheduler",
        json={"start": start.isoformat()},
        headers={"If-Match": before.headers["ETag"]},
    )
    after = api.get(path, "scheduler")
    assert after.get_json() == before.get_json()
    assert after.headers["ETag"] == before.headers["ETag"]
    assert event_count(db) == events
    return response


def test_moving_the_second_block_closer_to_the_first_is_refused_and_changes_nothing(
    api: Api, clinic: Clinic, clock: FrozenClock, db: Session
) -> None:
    pathway = refer(api, clinic)["id"]
    block(api, clinic, clock, pathway, "2026-03-03", post=1)
    second = book(api, clinic, pathway, "diagnostic_block", local("2026-03-17", 9))

    response = _refused_move(api, db, second["id"], local("2026-03-10", 9))

    assert response.status_code == 422, response.get_json()
    problem = response.get_json()
    assert problem["type"].endswith("/prerequisites-unmet")
    assert problem["unmet"] == ["block_interval"]
    moved = api.call(
        "PATCH",
        f"/appointments/{second['id']}",
        "scheduler",
        json={"start": local("2026-03-18", 9).isoformat()},
        headers={"If-Match": api.get(f"/appointments/{second['id']}", "scheduler").headers["ETag"]},
    )
    assert moved.status_code == 200, moved.get_json()
    assert moved.get_json()["start_local"] == "2026-03-18T09:00:00-04:00"


def test_moving_a_follow_up_out_of_its_window_is_refused_and_changes_nothing(
    api: Api, clinic: Clinic, clock: FrozenClock, db: Session
) -> None:
    """The procedure was on 2026-03-24; medicare_facet's window is 14-28 days after it."""
    follow_up = arrange(api, clinic, clock, db, "follow_up_scheduled").appointment_id

    late = _refused_move(api, db, follow_up, local("2026-04-22", 9))
    early = _refused_move(api, db, follow_up, local("2026-04-06", 9))

    for response in (late, early):
        assert response.status_code == 422, response.get_json()
        assert response.get_json()["unmet"] == ["follow_up.window"]


# ---------------------------------------------------------------------------------------
# Recovery bays


def test_admin_adds_recovery_bays_staff_list_them_patients_cannot(api: Api, clinic: Clinic) -> None:
    created = api.post("/recovery-bays", {"site_id": clinic.site_id, "name": "Bay 2"}, "admin")
    by_scheduler = api.post(
        "/recovery-bays", {"site_id": clinic.site_id, "name": "Bay 3"}, "scheduler"
    )

    assert created.status_code == 201, created.get_json()
    bay = created.get_json()
    assert bay == {"id": bay["id"], "site_id": clinic.site_id, "name": "Bay 2"}
    assert by_scheduler.status_code == 403
    for role in ("scheduler", "nurse", "clinician"):
        listed = api.ok("GET", f"/recovery-bays?site_id={clinic.site_id}", role)
        assert [b["id"] for b in listed] == [clinic.recovery_bay_id, bay["id"]]
    assert api.get("/recovery-bays", "patient").status_code == 403
    assert api.get("/recovery-bays", None).status_code == 401


def test_a_search_reads_in_five_statements_whatever_its_horizon(
    api: Api, clinic: Clinic, count_queries: QueryCounter
) -> None:
    """The token, the pathway with its site, the calendars' facts and allocations, and the
    gate's history (once for all days)."""
    pathway = refer(api, clinic)["id"]
    expected = [
        "users",
        "pathways",
        "working_hours",
        "allocations",
        "appointments",
    ]
    for days in (1, 30, 90):
        count_queries.statements.clear()
        found = search_slots(api, pathway, "diagnostic_block", days=days, limit=50)
        assert found
        assert reads_of(count_queries.statements) == expected, days
        assert len(count_queries.statements) == len(expected)
