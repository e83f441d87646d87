"""Booking at explicit times: overlaps, working hours, cancel/no-show, reschedule, daily list."""

from __future__ import annotations

from datetime import date, time
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from scheduler.clinicians.models import WorkingHours
from scheduler.errors import NotFound
from scheduler.pathways.models import PathwayEvent
from scheduler.scheduling.daily_list import Case, daily_list
from scheduler.scheduling.models import Appointment
from tests.api.conftest import Clinic
from tests.api.test_full_pathway import (
    CHECK_IN_OK,
    block,
    block_result,
    book,
    conservative_care,
    refer,
    refer_sacroiliac,
    state_of,
)
from tests.conftest import QueryCounter
from tests.factories import PatientFactory, RoomFactory
from tests.support import Api, FrozenClock, local


def block_body(clinic: Clinic, pathway_id: int, start: Any, **extra: Any) -> dict[str, Any]:
    return {
        "pathway_id": pathway_id,
        "kind": "diagnostic_block",
        "start": start.isoformat(),
        "room_id": clinic.room_id,
        **extra,
    }


def appointment_count(db: Session) -> int:
    return db.scalar(select(func.count()).select_from(Appointment)) or 0


def other_pathway(api: Api, clinic: Clinic, db: Session, **overrides: Any) -> int:
    patient = PatientFactory()
    db.commit()
    pathway_id: int = refer(api, clinic, patient_id=patient.id, **overrides)["id"]
    return pathway_id


@pytest.mark.parametrize(
    ("same_clinician", "same_room", "resource"),
    [(True, False, "clinician"), (False, True, "room")],
)
def test_overlapping_booking_is_refused_with_409_naming_the_resource(
    api: Api,
    clinic: Clinic,
    db: Session,
    same_clinician: bool,
    same_room: bool,
    resource: str,
) -> None:
    first = refer(api, clinic)["id"]
    book(api, clinic, first, "diagnostic_block", local("2026-03-03", 9))
    clinician = clinic.clinician_id if same_clinician else clinic.other_clinician_id
    second = other_pathway(api, clinic, db, clinician_id=clinician)
    room = clinic.room_id if same_room else _second_room(db, clinic)
    before = appointment_count(db)

    response = api.post(
        "/appointments",
        block_body(clinic, second, local("2026-03-03", 9, 15), room_id=room),
        "scheduler",
    )

    assert response.status_code == 409
    assert response.get_json()["resources"] == [resource]
    assert response.content_type == "application/problem+json"
    assert appointment_count(db) == before
    assert state_of(api, second) == "referred"


def _second_room(db: Session, clinic: Clinic) -> int:
    room = RoomFactory(site_id=clinic.site_id)
    db.commit()
    return int(room.id)


def test_patient_cannot_be_in_two_places_at_once(api: Api, clinic: Clinic, db: Session) -> None:
    first = refer(api, clinic)["id"]
    book(api, clinic, first, "diagnostic_block", local("2026-03-03", 9))
    # A second pathway of the same patient (other side) with the other clinician and room.
    second = refer(api, clinic, side="left", clinician_id=clinic.other_clinician_id)["id"]
    response = api.post(
        "/appointments",
        block_body(clinic, second, local("2026-03-03", 9, 10), room_id=_second_room(db, clinic)),
        "scheduler",
    )
    assert response.status_code == 409
    assert response.get_json()["resources"] == ["patient"]


def test_back_to_back_bookings_do_not_overlap(api: Api, clinic: Clinic, db: Session) -> None:
    first = refer(api, clinic)["id"]
    book(api, clinic, first, "diagnostic_block", local("2026-03-03", 9))
    second = other_pathway(api, clinic, db)
    booked = book(api, clinic, second, "diagnostic_block", local("2026-03-03", 9, 30))
    assert booked["start_local"] == "2026-03-03T09:30:00-05:00"


@pytest.mark.parametrize(
    ("start", "field_message"),
    [
        (local("2026-03-03", 6, 30), "does not work"),  # before 07:00
        (local("2026-03-03", 16, 45), "does not work"),  # would end after 17:00
        (local("2026-03-02", 9), "future"),  # earlier today
    ],
)
def test_booking_outside_working_hours_or_in_the_past_is_422(
    api: Api, clinic: Clinic, db: Session, start: Any, field_message: str
) -> None:
    pathway = refer(api, clinic)["id"]
    response = api.post("/appointments", block_body(clinic, pathway, start), "scheduler")
    assert response.status_code == 422
    assert field_message in " ".join(response.get_json()["errors"]["start"])
    assert appointment_count(db) == 0


def test_working_hours_are_site_wall_clock_across_dst(
    api: Api, clinic: Clinic, db: Session
) -> None:
    """07:00 New York is 12:00 UTC in winter and 11:00 UTC in summer; both book."""
    db.query(WorkingHours).filter_by(clinician_id=clinic.clinician_id).update(
        {"start_time": time(7), "end_time": time(8)}
    )
    db.commit()
    winter = refer(api, clinic)["id"]
    assert book(api, clinic, winter, "diagnostic_block", local("2026-03-06", 7))["start"] == (
        "2026-03-06T12:00:00+00:00"
    )
    summer = other_pathway(api, clinic, db)
    assert book(api, clinic, summer, "diagnostic_block", local("2026-03-09", 7))["start"] == (
        "2026-03-09T11:00:00+00:00"
    )


def test_time_off_blocks_booking(api: Api, clinic: Clinic, db: Session) -> None:
    api.ok(
        "POST",
        f"/clinicians/{clinic.clinician_id}/time-off",
        "scheduler",
        json={
            "start": local("2026-03-03", 0).isoformat(),
            "end": local("2026-03-04", 0).isoformat(),
            "reason": "Conference",
        },
    )
    pathway = refer(api, clinic)["id"]
    response = api.post(
        "/appointments", block_body(clinic, pathway, local("2026-03-03", 9)), "scheduler"
    )
    assert response.status_code == 422
    assert "time off" in response.get_json()["errors"]["start"][0]


def test_block_needs_a_fluoroscopy_room(api: Api, clinic: Clinic, db: Session) -> None:
    pathway = refer(api, clinic)["id"]
    response = api.post(
        "/appointments",
        block_body(clinic, pathway, local("2026-03-03", 9), room_id=clinic.consult_room_id),
        "scheduler",
    )
    assert response.status_code == 422
    assert "fluoroscopy" in response.get_json()["errors"]["room_id"][0]


def test_a_room_of_another_site_is_refused_by_name_and_nothing_is_booked(
    api: Api, clinic: Clinic, db: Session
) -> None:
    pathway = refer(api, clinic)["id"]
    elsewhere = RoomFactory()  # a fluoroscopy room, at a site of its own
    db.commit()
    response = api.post(
        "/appointments",
        block_body(clinic, pathway, local("2026-03-03", 9), room_id=elsewhere.id),
        "scheduler",
    )
    assert response.status_code == 422
    assert response.get_json()["errors"]["room_id"] == ["The room is not at the pathway's site."]
    assert appointment_count(db) == 0


def test_cancel_returns_pathway_to_state_before_booking_and_frees_the_slot(
    api: Api, clinic: Clinic, db: Session
) -> None:
    pathway = refer(api, clinic)["id"]
    appointment = book(api, clinic, pathway, "diagnostic_block", local("2026-03-03", 9))
    assert state_of(api, pathway) == "block_scheduled"

    cancelled = api.ok(
        "POST",
        f"/appointments/{appointment['id']}/cancel",
        "scheduler",
        json={"reason": "Patient has a cold"},
    )

    assert cancelled["status"] == "cancelled"
    assert cancelled["version"] == 2
    assert state_of(api, pathway) == "referred"
    again = book(api, clinic, pathway, "diagnostic_block", local("2026-03-03", 9))
    assert again["status"] == "booked"
    twice = api.post(f"/appointments/{appointment['id']}/cancel", {"reason": "x"}, "scheduler")
    assert twice.status_code == 409


def test_no_show_only_after_the_start_and_returns_pathway(
    api: Api, clinic: Clinic, clock: FrozenClock
) -> None:
    pathway = refer(api, clinic)["id"]
    appointment = book(api, clinic, pathway, "diagnostic_block", local("2026-03-03", 9))
    early = api.post(f"/appointments/{appointment['id']}/no-show", {}, "nurse")
    assert early.status_code == 422
    clock.set(local("2026-03-03", 9, 20))
    api.ok("POST", f"/appointments/{appointment['id']}/no-show", "nurse", json={})
    assert state_of(api, pathway) == "referred"
    events = api.ok("GET", f"/pathways/{pathway}/events", "scheduler")
    assert [(e["trigger"], e["from"], e["to"]) for e in events][-1] == (
        "no_show",
        "block_scheduled",
        "referred",
    )


def test_illegal_booking_is_409_and_writes_nothing(api: Api, clinic: Clinic, db: Session) -> None:
    pathway = refer(api, clinic)["id"]
    events_before = db.scalar(select(func.count()).select_from(PathwayEvent))
    response = api.post(
        "/appointments",
        {
            "pathway_id": pathway,
            "kind": "follow_up",
            "start": local("2026-03-03", 9).isoformat(),
            "room_id": clinic.room_id,
        },
        "scheduler",
    )
    assert response.status_code == 409
    assert response.get_json()["type"].endswith("/illegal-transition")
    assert db.scalar(select(func.count()).select_from(PathwayEvent)) == events_before
    assert appointment_count(db) == 0


def test_reschedule_needs_if_match_and_refuses_stale_etag(api: Api, clinic: Clinic) -> None:
    pathway = refer(api, clinic)["id"]
    appointment = book(api, clinic, pathway, "diagnostic_block", local("2026-03-03", 9))
    path = f"/appointments/{appointment['id']}"
    move = {"start": local("2026-03-04", 10).isoformat()}

    assert api.call("PATCH", path, "scheduler", json=move).status_code == 428
    etag = api.get(path, "scheduler").headers["ETag"]
    stale = api.call("PATCH", path, "scheduler", json=move, headers={"If-Match": '"stale"'})
    assert stale.status_code == 412

    moved = api.call("PATCH", path, "scheduler", json=move, headers={"If-Match": etag})
    assert moved.status_code == 200, moved.get_json()
    body = moved.get_json()
    assert body["id"] == appointment["id"]
    assert body["version"] == 2
    assert body["start_local"] == "2026-03-04T10:00:00-05:00"
    again = api.call("PATCH", path, "scheduler", json=move, headers={"If-Match": etag})
    assert again.status_code == 412
    assert state_of(api, pathway) == "block_scheduled"


def test_writers_lock_only_their_own_pathway_and_appointment_rows(
    api: Api, clinic: Clinic, backend: str, count_queries: QueryCounter
) -> None:
    """On PostgreSQL a booking locks its pathway row and a move its appointment row; the
    policy and site rows those relationships join in are shared by every booking, and
    locking them too would queue unrelated bookings behind each other."""
    pathway = refer(api, clinic)["id"]
    count_queries.statements.clear()
    appointment = book(api, clinic, pathway, "diagnostic_block", local("2026-03-03", 9))
    path = f"/appointments/{appointment['id']}"
    etag = api.get(path, "scheduler").headers["ETag"]
    api.ok(
        "PATCH",
        path,
        "scheduler",
        json={"start": local("2026-03-03", 10).isoformat()},
        headers={"If-Match": etag},
    )

    locks = [
        " ".join(statement.split()).partition(" FOR UPDATE")[2]
        for statement in count_queries.statements
        if "FOR UPDATE" in statement
    ]
    if backend == "postgresql":
        assert set(locks) == {" OF pathways", " OF appointments"}, locks
    else:  # SQLite has no row locks: writers queue on BEGIN IMMEDIATE instead.
        assert locks == []


def test_daily_list_is_in_site_time_with_a_fixed_number_of_queries(
    api: Api, clinic: Clinic, db: Session, count_queries: QueryCounter
) -> None:
    day = "2026-03-10"
    pathway = refer(api, clinic)["id"]
    book(api, clinic, pathway, "diagnostic_block", local(day, 16, 30))  # 21:30 UTC
    path = f"/clinicians/{clinic.clinician_id}/daily-list?date={day}"

    count_queries.statements.clear()
    one = api.ok("GET", path, "clinician")
    queries_for_one = count_queries.count

    for hour in (8, 10, 12, 14):
        book(api, clinic, other_pathway(api, clinic, db), "diagnostic_block", local(day, hour))
    count_queries.statements.clear()
    five = api.ok("GET", path, "clinician")

    assert count_queries.count == queries_for_one
    assert len(one["cases"]) == 1
    assert [case["start_local"][11:16] for case in five["cases"]] == [
        "08:00",
        "10:00",
        "12:00",
        "14:00",
        "16:30",
    ]
    case = five["cases"][-1]
    assert case["timezone"] == "America/New_York"
    assert case["patient"]["id"] == clinic.patient_id
    assert case["room"]["id"] == clinic.room_id
    # The next UTC day's early hours belong to this local day, and nothing else does.
    other_day = api.ok(
        "GET", f"/clinicians/{clinic.clinician_id}/daily-list?date=2026-03-11", "clinician"
    )
    assert other_day["cases"] == []


def test_daily_list_shows_equipment_bay_and_readiness_of_a_procedure(
    api: Api, clinic: Clinic, clock: FrozenClock
) -> None:
    pid = refer(api, clinic)["id"]
    conservative_care(api, pid)
    block(api, clinic, clock, pid, "2026-03-03", post=1)
    block(api, clinic, clock, pid, "2026-03-17", post=0)
    procedure = book(api, clinic, pid, "procedure", local("2026-03-24", 9))
    path = f"/clinicians/{clinic.clinician_id}/daily-list?date=2026-03-24"

    (before,) = api.ok("GET", path, "nurse")["cases"]
    clock.set(local("2026-03-24", 8, 15))
    api.ok("POST", f"/appointments/{procedure['id']}/check-in", "nurse", json=CHECK_IN_OK)
    (after,) = api.ok("GET", path, "nurse")["cases"]

    assert {unit["kind"] for unit in before["equipment"]} == {"endoscope_tower", "rf_generator"}
    assert {unit["id"] for unit in before["equipment"]} == {
        clinic.equipment_ids["endoscope_tower"],
        clinic.equipment_ids["rf_generator"],
    }
    assert before["recovery_bay"]["id"] == clinic.recovery_bay_id
    assert before["readiness"]["summary"] == "amber"
    assert before["readiness"]["eligibility"] is True
    assert before["readiness"]["coverage"] is True
    assert before["readiness"]["consent"] is None
    assert after["readiness"] == {
        "summary": "green",
        "eligibility": True,
        "consent": True,
        "escort": True,
        "fasting": True,
        "anticoagulation": True,
        "coverage": True,
        "rebook": None,
    }


def test_daily_list_reads_a_day_in_three_statements_whatever_its_number_of_cases(
    api: Api, clinic: Clinic, clock: FrozenClock, db: Session, count_queries: QueryCounter
) -> None:
    pid = refer(api, clinic)["id"]
    conservative_care(api, pid)
    block(api, clinic, clock, pid, "2026-03-03", post=1)
    block(api, clinic, clock, pid, "2026-03-17", post=0)
    procedure = book(api, clinic, pid, "procedure", local("2026-03-24", 9))
    clock.set(local("2026-03-24", 8, 15))
    api.ok("POST", f"/appointments/{procedure['id']}/check-in", "nurse", json=CHECK_IN_OK)

    def read(day: date, clinician_id: int = clinic.clinician_id) -> tuple[int, list[Case]]:
        db.expunge_all()  # nothing from earlier reads in the session
        count_queries.statements.clear()
        cases = daily_list(db, clinician_id, day)
        return count_queries.count, cases

    one = read(date(2026, 3, 24))
    for hour in (12, 13, 14, 15, 16):
        other = other_pathway(api, clinic, db)
        book(api, clinic, other, "diagnostic_block", local("2026-03-24", hour))
    many = read(date(2026, 3, 24))

    assert (one[0], len(one[1])) == (3, 1)
    assert (many[0], len(many[1])) == (3, 6)
    case = many[1][0]
    assert {unit.id for unit in case.equipment} == {
        clinic.equipment_ids["endoscope_tower"],
        clinic.equipment_ids["rf_generator"],
    }
    assert case.recovery_bay is not None
    assert case.recovery_bay.id == clinic.recovery_bay_id
    assert case.readiness["summary"] == "green"
    assert [c.equipment for c in many[1][1:]] == [[]] * 5
    assert read(date(2026, 3, 25)) == (2, [])  # the cases, then whether the clinician exists
    with pytest.raises(NotFound):
        read(date(2026, 3, 24), clinician_id=999_999)


def test_a_clinicians_own_duration_sets_the_length_of_their_appointments(
    api: Api, clinic: Clinic
) -> None:
    path = f"/clinicians/{clinic.clinician_id}/durations"
    defaults = {row["kind"]: row for row in api.ok("GET", path, "scheduler")}
    own = api.ok("PUT", path, "admin", json=[{"kind": "diagnostic_block", "minutes": 45}])

    pathway = refer(api, clinic)["id"]
    booked = book(api, clinic, pathway, "diagnostic_block", local("2026-03-03", 9))

    assert defaults["diagnostic_block"] == {
        "kind": "diagnostic_block",
        "minutes": 30,
        "default": True,
    }
    assert {row["kind"]: (row["minutes"], row["default"]) for row in own} == {
        "diagnostic_block": (45, False),
        "procedure": (90, True),
        "follow_up": (20, True),
    }
    assert booked["end_local"].startswith("2026-03-03T09:45")


def reads_of(statements: list[str]) -> list[str]:
    """The tables each SELECT reads first (its first FROM), in order."""
    return [
        " ".join(statement.split()).partition(" FROM ")[2].split(" ")[0]
        for statement in statements
        if statement.lstrip().upper().startswith("SELECT")
    ]


def test_a_booking_reads_in_five_statements_whatever_its_kind(
    api: Api, clinic: Clinic, clock: FrozenClock, count_queries: QueryCounter
) -> None:
    """The token, the pathway (locked), the gate's history (the patient's sessions in the
    region, the pathway's conservative care and coverage acknowledgments: one UNION ALL),
    the calendars' facts (rooms, equipment, bays, hours, lengths, time off: one UNION ALL)
    and the allocations. A procedure needs equipment and recovery bays too, in the same
    reads."""
    pathway = refer_sacroiliac(api, clinic)["id"]
    conservative_care(api, pathway, "medication")
    count_queries.statements.clear()
    appointment = book(api, clinic, pathway, "diagnostic_block", local("2026-03-03", 9))
    for_a_block = reads_of(count_queries.statements)
    block_writes = [s.split()[0] for s in count_queries.statements if not s.startswith("SELECT")]
    block_result(api, clock, appointment, post=4)
    count_queries.statements.clear()
    book(api, clinic, pathway, "procedure", local("2026-03-10", 9))
    for_a_procedure = reads_of(count_queries.statements)

    expected = [
        "users",
        "pathways",
        "appointments",
        "working_hours",
        "allocations",
    ]
    assert for_a_block == expected
    assert for_a_procedure == expected
    assert "DELETE" not in block_writes  # no hold sweep on the way (holds placing do it)
