"""FHIR Appointment read and search, and IHE ITI Scheduling's ``$find``, ``$hold`` and
``$book`` over the v1 services (SPEC §8).

Every body is checked by the strict helper of tests/fhir_support.py. The clinic and
clock are those of test_slots_and_holds (Monday 2 March 2026, 14:00 in New York).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from scheduler.fhir import proposals
from scheduler.fhir.resources import HOLD_EXPIRY_EXTENSION, SERVICE_SYSTEM
from scheduler.outbox.models import OutboxMessage
from scheduler.pathways.models import PathwayEvent
from scheduler.scheduling.models import Allocation, Appointment, Hold
from tests.api.conftest import Clinic
from tests.api.test_booking import other_pathway
from tests.api.test_full_pathway import (
    CHECK_IN_OK,
    book,
    refer,
    search_slots,
    state_of,
)
from tests.api.test_slots_and_holds import make_eligible
from tests.fhir_support import parsed
from tests.support import Api, FrozenClock, local

BASE = "http://127.0.0.1:5000/fhir/R4"  # PUBLIC_BASE_URL + /fhir/R4


def fhir(api: Api, method: str, path: str, as_: str = "scheduler", **kwargs: Any) -> Any:
    headers = {"Authorization": f"Bearer {api.tokens[as_]}", **kwargs.pop("headers", {})}
    return api.client.open("/fhir/R4" + path, method=method, headers=headers, **kwargs)


def operation(api: Api, name: str, *params: dict[str, Any], as_: str = "scheduler") -> Any:
    body = {"resourceType": "Parameters", "parameter": list(params)}
    return fhir(
        api,
        "POST",
        f"/Appointment/${name}",
        as_,
        json=body,
        headers={"Content-Type": "application/fhir+json"},
    )


def at(name: str, moment: datetime) -> dict[str, Any]:
    return {"name": name, "valueDateTime": moment.isoformat()}


def ref(name: str, reference: str) -> dict[str, Any]:
    return {"name": name, "valueReference": {"reference": reference}}


def find(api: Api, clinic: Clinic, *extra: dict[str, Any], **kw: Any) -> Any:
    start = kw.pop("start", local("2026-03-03", 7))
    end = kw.pop("end", local("2026-03-04", 0))
    return operation(
        api,
        "find",
        at("start", start),
        at("end", end),
        *(() if kw.pop("no_patient", False) else (ref("patient", f"Patient/{clinic.patient_id}"),)),
        *extra,
        **kw,
    )


def appointments_in(bundle: Any) -> list[Any]:
    return [e.resource for e in bundle.entry or [] if e.resource.__resource_type__ == "Appointment"]


def participant(appointment: Any, kind: str) -> list[str]:
    return [
        p.actor.reference or p.actor.identifier.value
        for p in appointment.participant
        if (p.actor.type or (p.actor.reference or "").split("/")[0]) == kind
    ]


def writes(db: Session) -> tuple[int, ...]:
    """What any operation may have written: holds, allocations, appointments, events, mail."""
    db.expire_all()
    return tuple(
        db.scalar(select(func.count()).select_from(model)) or 0
        for model in (Hold, Allocation, Appointment, PathwayEvent, OutboxMessage)
    )


def outcome(response: Any, status: int, code: str) -> Any:
    parsed_outcome = parsed(response, status)
    assert parsed_outcome.__resource_type__ == "OperationOutcome"
    assert parsed_outcome.issue[0].code == code, response.get_json()
    return parsed_outcome


# ---------------------------------------------------------------------------------------
# $find


def test_find_proposes_what_the_slot_search_offers_and_writes_nothing(
    api: Api, clinic: Clinic, db: Session
) -> None:
    pathway = refer(api, clinic)["id"]
    before = writes(db)
    offered = search_slots(api, pathway, "diagnostic_block", after=local("2026-03-03", 7), limit=3)

    bundle = parsed(find(api, clinic, {"name": "_count", "valueInteger": 3}))

    assert bundle.type == "searchset"
    found = appointments_in(bundle)
    assert [a.start.isoformat() for a in found] == [
        datetime.fromisoformat(slot["start"]).isoformat() for slot in offered
    ]
    first = found[0]
    assert first.status == "proposed"
    assert first.id.startswith(proposals.PROPOSED)
    assert (first.serviceType[0].coding[0].system, first.serviceType[0].coding[0].code) == (
        SERVICE_SYSTEM,
        "diagnostic-block",
    )
    assert participant(first, "Patient") == [f"Patient/{clinic.patient_id}"]
    assert participant(first, "Practitioner") == [f"Practitioner/{offered[0]['clinician_id']}"]
    assert participant(first, "Location") == [f"Location/room-{offered[0]['room_id']}"]
    assert first.minutesDuration == 30
    assert writes(db) == before


def test_find_for_a_procedure_proposes_the_equipment_and_bay(
    api: Api, clinic: Clinic, clock: FrozenClock
) -> None:
    pathway = refer(api, clinic)["id"]
    make_eligible(api, clinic, clock, (pathway, "clinician"))

    response = find(
        api,
        clinic,
        {"name": "service-type", "valueString": f"{SERVICE_SYSTEM}|procedure-rfa"},
        {"name": "_count", "valueInteger": 1},
        start=local("2026-03-24", 7),
        end=local("2026-03-25", 0),
    )

    [proposal] = appointments_in(parsed(response))
    assert proposal.start == local("2026-03-24", 7)
    assert proposal.serviceType[0].coding[0].code == "procedure-rfa"
    assert sorted(int(unit) for unit in participant(proposal, "Device")) == sorted(
        [clinic.equipment_ids["endoscope_tower"], clinic.equipment_ids["rf_generator"]]
    )
    bays = [
        p.actor.identifier.value
        for p in proposal.participant
        if p.actor.type == "Location" and p.actor.identifier
    ]
    assert bays == [str(clinic.recovery_bay_id)]


def test_find_of_a_procedure_before_eligibility_names_the_unmet_rules(
    api: Api, clinic: Clinic, db: Session
) -> None:
    refer(api, clinic)
    before = writes(db)

    response = find(api, clinic, {"name": "service-type", "valueCode": "procedure-rfa"})

    refused = outcome(response, 422, "business-rule")
    codes = {c.code for c in refused.issue[0].details.coding}
    assert codes == {"conservative_care", "diagnostic_blocks"}
    assert writes(db) == before


# ---------------------------------------------------------------------------------------
# $hold and $book


def first_proposal(api: Api, clinic: Clinic, **kw: Any) -> Any:
    return appointments_in(parsed(find(api, clinic, {"name": "_count", "valueInteger": 1}, **kw)))[
        0
    ]


def test_hold_then_book_books_the_proposed_slot_once(
    api: Api, clinic: Clinic, db: Session, clock: FrozenClock
) -> None:
    pathway = refer(api, clinic)["id"]
    proposal = first_proposal(api, clinic)

    held = parsed(
        operation(api, "hold", ref("appointment-reference", f"Appointment/{proposal.id}"))
    )

    [pending] = appointments_in(held)
    assert pending.status == "pending"
    assert pending.start == proposal.start
    [expiry] = pending.extension
    assert expiry.url == HOLD_EXPIRY_EXTENSION
    assert expiry.valueInstant == clock.now + timedelta(minutes=10)
    notes = [e.resource for e in held.entry if e.search.mode == "outcome"]
    assert notes[0].issue[0].severity == "information"
    # Held: the slot is no longer offered (to this patient or anyone).
    assert first_proposal(api, clinic).start > proposal.start
    # The pending appointment reads back.
    assert parsed(fhir(api, "GET", f"/Appointment/{pending.id}")).status == "pending"

    booked = parsed(
        operation(api, "book", ref("appointment-reference", f"{BASE}/Appointment/{pending.id}"))
    )

    [appointment] = appointments_in(booked)
    assert appointment.status == "booked"
    assert appointment.start == proposal.start
    assert state_of(api, pathway) == "block_scheduled"
    before = writes(db)

    again = operation(api, "book", ref("appointment-reference", f"Appointment/{pending.id}"))

    refused = outcome(again, 409, "conflict")
    assert f"Appointment/{appointment.id}" in refused.issue[0].diagnostics
    assert writes(db) == before
    assert db.scalar(select(func.count()).select_from(Appointment)) == 1


def test_book_takes_a_proposal_directly_and_a_second_booking_is_refused(
    api: Api, clinic: Clinic, db: Session
) -> None:
    refer(api, clinic)
    proposal = first_proposal(api, clinic)
    reference = ref("appointment-reference", f"Appointment/{proposal.id}")

    [appointment] = appointments_in(parsed(operation(api, "book", reference)))
    before = writes(db)
    again = operation(api, "book", reference)

    assert appointment.status == "booked"
    assert appointment.start == proposal.start
    assert again.status_code == 409
    parsed(again, 409)
    assert writes(db) == before


def test_a_proposal_taken_meanwhile_is_a_409_outcome_naming_what_is_taken(
    api: Api, clinic: Clinic, db: Session
) -> None:
    refer(api, clinic)
    proposal = first_proposal(api, clinic)
    read = parsed(fhir(api, "GET", f"/Appointment/{proposal.id}"))
    assert (read.status, read.start) == ("proposed", proposal.start)
    theirs = other_pathway(api, clinic, db)
    book(api, clinic, theirs, "diagnostic_block", proposal.start)
    before = writes(db)

    response = operation(api, "book", ref("appointment-reference", f"Appointment/{proposal.id}"))

    refused = outcome(response, 409, "conflict")
    assert {c.code for c in refused.issue[0].details.coding} == {"clinician", "room"}
    assert writes(db) == before


def test_reschedule_is_find_with_the_appointment_then_book_it_moves_in_place(
    api: Api, clinic: Clinic, db: Session
) -> None:
    pathway = refer(api, clinic)["id"]
    booked = book(api, clinic, pathway, "diagnostic_block", local("2026-03-03", 9))

    bundle = parsed(
        find(
            api,
            clinic,
            ref("reschedule", f"Appointment/{booked['id']}"),
            {"name": "_count", "valueInteger": 2},
            start=local("2026-03-03", 9),
        )
    )
    later = appointments_in(bundle)[1]  # 09:15 overlaps the old time: a move may take it
    assert later.start == local("2026-03-03", 9, 15)
    moved = parsed(operation(api, "book", ref("appointment-reference", f"Appointment/{later.id}")))

    [appointment] = appointments_in(moved)
    assert appointment.id == str(booked["id"])
    assert appointment.start == local("2026-03-03", 9, 15)
    record = db.get(Appointment, booked["id"])
    assert record is not None
    db.refresh(record)
    assert record.version == 2


def test_book_with_status_cancelled_cancels_with_the_reason(
    api: Api, clinic: Clinic, db: Session
) -> None:
    pathway = refer(api, clinic)["id"]
    booked = book(api, clinic, pathway, "diagnostic_block", local("2026-03-03", 9))
    cancel = {
        "name": "appointment",
        "resource": {
            "resourceType": "Appointment",
            "id": str(booked["id"]),
            "status": "cancelled",
            "cancelationReason": {"text": "Patient unwell"},
            "participant": [
                {"actor": {"reference": f"Patient/{clinic.patient_id}"}, "status": "declined"}
            ],
        },
    }

    [appointment] = appointments_in(parsed(operation(api, "book", cancel)))

    assert appointment.status == "cancelled"
    assert appointment.cancelationReason.text == "Patient unwell"
    assert state_of(api, pathway) == "referred"


def cancelling(ident: str, patient_id: int) -> dict[str, Any]:
    return {
        "name": "appointment",
        "resource": {
            "resourceType": "Appointment",
            "id": ident,
            "status": "cancelled",
            "cancelationReason": {"text": "Wrong patient"},
            "participant": [
                {"actor": {"reference": f"Patient/{patient_id}"}, "status": "declined"}
            ],
        },
    }


def test_a_cancel_naming_another_patient_is_refused_and_cancels_nothing(
    api: Api, clinic: Clinic, db: Session
) -> None:
    pathway = refer(api, clinic)["id"]
    proposal = first_proposal(api, clinic)
    [pending] = appointments_in(
        parsed(operation(api, "hold", ref("appointment-reference", f"Appointment/{proposal.id}")))
    )
    held = writes(db)

    # The hold is let go, then the check refuses: the whole request rolls back.
    outcome(operation(api, "book", cancelling(pending.id, clinic.other_patient_id)), 422, "invalid")

    assert writes(db) == held
    api.call("DELETE", f"/holds/{pending.id.rpartition('-')[2]}", "scheduler")
    booked = book(api, clinic, pathway, "diagnostic_block", local("2026-03-03", 9))
    before = writes(db)

    refused = operation(api, "book", cancelling(str(booked["id"]), clinic.other_patient_id))

    outcome(refused, 422, "invalid")
    assert writes(db) == before
    assert parsed(fhir(api, "GET", f"/Appointment/{booked['id']}")).status == "booked"


def test_a_hold_is_let_go_by_booking_it_cancelled(api: Api, clinic: Clinic, db: Session) -> None:
    refer(api, clinic)
    proposal = first_proposal(api, clinic)
    [pending] = appointments_in(
        parsed(operation(api, "hold", ref("appointment-reference", f"Appointment/{proposal.id}")))
    )
    cancel = {
        "name": "appointment",
        "resource": {
            "resourceType": "Appointment",
            "id": pending.id,
            "status": "cancelled",
            "participant": [
                {"actor": {"reference": f"Patient/{clinic.patient_id}"}, "status": "declined"}
            ],
        },
    }

    [released] = appointments_in(parsed(operation(api, "book", cancel)))

    assert released.status == "cancelled"
    assert db.scalar(select(func.count()).select_from(Hold)) == 0
    assert first_proposal(api, clinic).start == proposal.start


# ---------------------------------------------------------------------------------------
# Bad input: an OperationOutcome, and nothing written


def parameters_body(*params: Any) -> dict[str, Any]:
    return {"resourceType": "Parameters", "parameter": list(params)}


def dt(name: str, text: str) -> dict[str, str]:
    return {"name": name, "valueDateTime": text}


DAY = [dt("start", "2026-03-03T07:00:00Z"), dt("end", "2026-03-04T08:00:00Z")]
BAD_FIND = {
    "a value of the wrong type": [dt("start", "tomorrow")],
    "an unknown parameter": [{"name": "colour", "valueString": "blue"}],
    "a date without an offset": [dt("start", "2026-03-03T07:00:00"), DAY[1]],
    "a date alone": [dt("start", "2026-03-03"), dt("end", "2026-03-04")],
    "no start": DAY[1:],
    "a parameter twice": [*DAY, dt("start", "2026-03-03T08:00:00Z")],
    "an end before the start": [dt("start", "2026-03-05T07:00:00Z"), DAY[1]],
    "a year-long window": [DAY[0], dt("end", "2027-03-03T08:00:00Z")],
    "an unknown service type": [*DAY, {"name": "service-type", "valueString": "massage"}],
    "a practitioner that is no reference": [
        *DAY,
        {"name": "practitioner", "valueReference": {"reference": "Patient/1"}},
    ],
    "a count out of range": [*DAY, {"name": "_count", "valueInteger": 500}],
}


@pytest.mark.parametrize("case", list(BAD_FIND))
def test_find_refuses_bad_parameters_with_an_outcome(
    api: Api, clinic: Clinic, db: Session, case: str
) -> None:
    refer(api, clinic)
    patient = {"name": "patient", "valueReference": {"reference": f"Patient/{clinic.patient_id}"}}
    before = writes(db)

    response = fhir(
        api, "POST", "/Appointment/$find", json=parameters_body(*BAD_FIND[case], patient)
    )

    outcome(response, 422, "invalid")
    assert writes(db) == before


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        ({"resourceType": "Patient", "id": "1"}, "application/fhir+json", 422),
        ({"resourceType": "Parameters", "parameter": "start"}, "application/fhir+json", 422),
        ([1, 2], "application/json", 422),
        ("{not json", "application/fhir+json", 400),
        ("start=now", "application/x-www-form-urlencoded", 415),
    ],
)
def test_operations_refuse_what_is_not_a_parameters_resource(
    api: Api, clinic: Clinic, db: Session, body: Any, content_type: str, status: int
) -> None:
    before = writes(db)
    for name in ("find", "hold", "book"):
        data = body if isinstance(body, str) else None
        response = fhir(
            api,
            "POST",
            f"/Appointment/${name}",
            data=data,
            json=None if data is not None else body,
            headers={"Content-Type": content_type},
        )

        parsed(response, status)
    assert writes(db) == before


def test_hold_refuses_an_expired_an_altered_and_a_foreign_proposal(
    api: Api, clinic: Clinic, db: Session, clock: FrozenClock
) -> None:
    refer(api, clinic)
    proposal = first_proposal(api, clinic)
    body, _, mac = proposal.id.rpartition("-")
    altered = body.replace(".b.", ".f.") + "-" + mac
    before = writes(db)

    for reference in (
        f"Appointment/{altered}",
        "https://elsewhere.example/fhir/Appointment/123",
        f"Patient/{clinic.patient_id}",
        "Appointment/prop-1.b.2.u.3.4.0.5-abc",
        "Appointment/hold-1-deadbeef",
    ):
        response = operation(api, "hold", ref("appointment-reference", reference))
        outcome(response, 422, "invalid")
    clock.advance(minutes=31)
    expired = operation(api, "hold", ref("appointment-reference", f"Appointment/{proposal.id}"))

    assert "expired" in outcome(expired, 422, "invalid").issue[0].diagnostics
    assert writes(db) == before


def test_a_hold_of_someone_else_is_not_booked(api: Api, clinic: Clinic, db: Session) -> None:
    refer(api, clinic)
    proposal = first_proposal(api, clinic)
    [pending] = appointments_in(
        parsed(operation(api, "hold", ref("appointment-reference", f"Appointment/{proposal.id}")))
    )
    before = writes(db)

    response = operation(
        api, "book", ref("appointment-reference", f"Appointment/{pending.id}"), as_="admin"
    )

    outcome(response, 422, "invalid")
    assert writes(db) == before


def test_find_refuses_another_patients_appointment_and_patient_tokens(
    api: Api, clinic: Clinic, db: Session
) -> None:
    pathway = refer(api, clinic)["id"]
    booked = book(api, clinic, pathway, "diagnostic_block", local("2026-03-03", 9))
    before = writes(db)

    theirs = find(api, clinic, ref("reschedule", f"Appointment/{booked['id']}"), no_patient=True)
    other = operation(
        api,
        "find",
        at("start", local("2026-03-03", 7)),
        at("end", local("2026-03-04", 0)),
        ref("patient", f"Patient/{clinic.other_patient_id}"),
        ref("reschedule", f"Appointment/{booked['id']}"),
    )
    as_patient = find(api, clinic, as_="patient")

    assert theirs.status_code == 200  # the appointment's own patient
    outcome(other, 422, "invalid")
    outcome(as_patient, 403, "forbidden")
    assert writes(db) == before


# ---------------------------------------------------------------------------------------
# Read and search


def test_appointments_are_read_and_searched_by_patient_actor_date_status_and_service(
    api: Api, clinic: Clinic
) -> None:
    pathway = refer(api, clinic)["id"]
    first = book(api, clinic, pathway, "diagnostic_block", local("2026-03-03", 9))
    api.ok("POST", f"/appointments/{first['id']}/cancel", "scheduler", json={"reason": "Ill"})
    second = book(api, clinic, pathway, "diagnostic_block", local("2026-03-04", 16, 30))

    read = parsed(fhir(api, "GET", f"/Appointment/{second['id']}"))
    assert (read.status, read.start) == ("booked", local("2026-03-04", 16, 30))

    def ids(query: str, as_: str = "scheduler") -> list[str]:
        bundle = parsed(fhir(api, "GET", f"/Appointment?{query}", as_))
        return [a.id for a in appointments_in(bundle)]

    both = [str(first["id"]), str(second["id"])]
    assert ids(f"patient=Patient/{clinic.patient_id}") == both
    assert ids(f"patient={clinic.other_patient_id}") == []
    assert ids(f"actor=Practitioner/{clinic.clinician_id}") == both
    assert ids(f"actor=Location/room-{clinic.room_id}") == both
    assert ids(f"actor=Location/site-{clinic.site_id}&status=cancelled") == both[:1]
    assert ids("status=booked,noshow") == both[1:]
    assert ids("status=pending") == []
    # A day is the site's day: 16:30 on the 4th in New York is the 4th, though UTC says 5th.
    assert ids("date=2026-03-04") == both[1:]
    assert ids("date=ge2026-03-03&date=lt2026-03-04") == both[:1]
    assert ids("date=gt2026-03-04T21:00:00Z") == both[1:]
    assert ids(f"service-type={SERVICE_SYSTEM}|diagnostic-block") == both
    assert ids("service-type=follow-up") == []
    assert ids("service-type=http://other.example|diagnostic-block") == []
    # A patient sees their own only.
    assert ids("", as_="patient") == both
    assert ids("", as_="other_patient") == []
    assert fhir(api, "GET", f"/Appointment/{first['id']}", "other_patient").status_code == 403


def test_appointment_search_pages_with_next_links(api: Api, clinic: Clinic) -> None:
    pathway = refer(api, clinic)["id"]
    made = []
    for hour in (9, 10, 11):
        booked = book(api, clinic, pathway, "diagnostic_block", local("2026-03-03", hour))
        api.ok("POST", f"/appointments/{booked['id']}/cancel", "scheduler", json={"reason": "x"})
        made.append(str(booked["id"]))

    first = parsed(fhir(api, "GET", "/Appointment?date=2026-03-03&_count=2"))
    links = {link.relation: link.url for link in first.link}
    second = parsed(fhir(api, "GET", links["next"].removeprefix(BASE)))

    assert [a.id for a in appointments_in(first)] == made[:2]
    assert [a.id for a in appointments_in(second)] == made[2:]
    assert "date=2026-03-03" in links["next"]
    assert "next" not in {link.relation for link in second.link}


@pytest.mark.parametrize(
    "query",
    [
        "date=2026-13-01",
        "date=2026-03-03T09:00:00",
        "date=about2026-03-03",
        "status=sleeping",
        "service-type=massage",
        "patient=Practitioner/1",
        "actor=Device/3",
        "patient=1&patient=2",
        "colour=blue",
    ],
)
def test_appointment_search_refuses_bad_values(api: Api, clinic: Clinic, query: str) -> None:
    outcome(fhir(api, "GET", f"/Appointment?{query}"), 400, "invalid")


def test_a_checked_in_procedure_is_arrived_then_fulfilled(
    api: Api, clinic: Clinic, clock: FrozenClock
) -> None:
    pathway = refer(api, clinic)["id"]
    make_eligible(api, clinic, clock, (pathway, "clinician"))
    procedure = book(api, clinic, pathway, "procedure", local("2026-03-24", 8, 30), method="rfa")
    clock.set(local("2026-03-24", 7, 45))
    api.ok("POST", f"/appointments/{procedure['id']}/check-in", "nurse", json=CHECK_IN_OK)

    arrived = parsed(fhir(api, "GET", f"/Appointment/{procedure['id']}"))
    found = parsed(fhir(api, "GET", "/Appointment?status=arrived"))
    not_booked = parsed(fhir(api, "GET", "/Appointment?status=booked"))

    assert arrived.status == "arrived"
    assert [a.id for a in appointments_in(found)] == [str(procedure["id"])]
    assert str(procedure["id"]) not in [a.id for a in appointments_in(not_booked)]


def test_the_openapi_document_describes_the_v1_api_only(api: Api) -> None:
    spec = api.client.get("/api/v1/openapi.json").get_json()

    assert spec["paths"]
    assert not [path for path in spec["paths"] if "fhir" in path.lower()]
    assert "/api/v1/appointments" in spec["paths"]
