"""HL7 v2 SIU messages to the EHR (SPEC §8): what each change queues, in its own
transaction, and what the worker does with the receivers' answers.

The worker's MLLP exchange is replaced here by a scripted receiver (answers AA, AE, AR,
garbage or a refused connection, in order); tests/e2e/test_siu_over_mllp.py sends to a
real MLLP listener. The clock stands still unless a test moves it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.parser import parse_message
from sqlalchemy import select
from sqlalchemy.orm import Session

from scheduler import create_app
from scheduler.access import Actor
from scheduler.context import HL7_EXTENSION, Database
from scheduler.hl7v2.models import DeliveryStatus, SiuDelivery, SiuMessage
from scheduler.hl7v2.services import reporting_to
from scheduler.hl7v2.worker import PassResult, deliver_due, retry_delay
from scheduler.patients.models import Patient
from scheduler.scheduling.booking import book_appointment
from scheduler.settings import Hl7Receiver, Hl7Settings, hl7_settings
from scheduler.vocabulary import AppointmentKind, Role
from tests.api.conftest import Clinic
from tests.api.test_full_pathway import CHECK_IN_OK, book, refer
from tests.api.test_nurse_pages import CHECK_IN_FORM, case_path, scheduled_procedure
from tests.api.test_rebooking import away, booked_block
from tests.conftest import QueryCounter
from tests.support import Api, Browser, FrozenClock, local

RECEIVERS = "ehr=127.0.0.1:2575/EHR/MAIN,portal=127.0.0.1:2576"


def settings_with(app: Flask, **overrides: Any) -> Hl7Settings:
    """The app's HL7 settings with ``overrides``, in force for the next requests."""
    settings = hl7_settings({**app.config, "HL7_RECEIVERS": RECEIVERS, **overrides})
    app.extensions[HL7_EXTENSION] = settings
    return settings


@pytest.fixture
def settings(app: Flask) -> Hl7Settings:
    return settings_with(app, HL7_MAX_ATTEMPTS=4)


def queued(db: Session, appointment_id: int | None = None) -> list[tuple[str, str, str]]:
    """(event, receiver, status) of each delivery, oldest first."""
    statement = select(SiuDelivery).order_by(SiuDelivery.id)
    if appointment_id is not None:
        statement = statement.where(SiuDelivery.appointment_id == appointment_id)
    db.expire_all()
    return [(d.message.event.value, d.receiver, d.status.value) for d in db.scalars(statement)]


def events(db: Session, appointment_id: int) -> list[str]:
    """The events of an appointment's messages, oldest first."""
    db.expire_all()
    return [
        m.event.value
        for m in db.scalars(
            select(SiuMessage)
            .where(SiuMessage.appointment_id == appointment_id)
            .order_by(SiuMessage.id)
        )
    ]


def last_message(db: Session, appointment_id: int) -> Any:
    """The appointment's latest message, read back and validated by hl7apy."""
    db.expire_all()
    body = db.scalars(
        select(SiuMessage.body)
        .where(SiuMessage.appointment_id == appointment_id)
        .order_by(SiuMessage.id.desc())
    ).first()
    assert body is not None
    message = parse_message(body, validation_level=VALIDATION_LEVEL.STRICT)
    message.validate()
    return message


def filler_status(db: Session, appointment_id: int) -> str:
    value: str = last_message(db, appointment_id).sch.sch_25.ce_1.value
    return value


# ---------------------------------------------------------------------------------------
# What each change queues


def test_a_booking_queues_one_s12_for_each_receiver_naming_the_patient(
    api: Api, clinic: Clinic, db: Session, settings: Hl7Settings
) -> None:
    pathway = refer(api, clinic)["id"]

    appointment = book(api, clinic, pathway, "diagnostic_block", local("2026-03-03", 9))

    assert queued(db) == [("S12", "ehr", "pending"), ("S12", "portal", "pending")]
    message = last_message(db, appointment["id"])
    patient = db.get(Patient, clinic.patient_id)
    assert patient is not None
    pid = message.siu_s12_patient.pid
    assert pid.pid_3.cx_1.value == patient.mrn
    assert pid.pid_5.xpn_1.value == patient.family_name
    assert message.sch.sch_2.ei_1.value == str(appointment["id"])
    assert message.sch.sch_11.tq_4.value == "20260303090000-0500"
    assert message.sch.sch_25.ce_1.value == "Booked"
    resources = message.siu_s12_resources
    assert resources.siu_s12_personnel_resource.aip.aip_3.xcn_1.value == str(clinic.clinician_id)
    assert resources.siu_s12_location_resource.ail.ail_3.pl_1.value == str(clinic.site_id)


def test_move_cancel_and_rebook_queue_s13_s15_then_a_new_s12_each_saying_what_was_true(
    api: Api, clinic: Clinic, db: Session, settings: Hl7Settings
) -> None:
    pathway = refer(api, clinic)["id"]
    first = book(api, clinic, pathway, "diagnostic_block", local("2026-03-03", 9))
    path = f"/appointments/{first['id']}"
    etag = api.get(path, "scheduler").headers["ETag"]
    api.ok(
        "PATCH",
        path,
        "scheduler",
        json={"start": local("2026-03-04", 10).isoformat()},
        headers={"If-Match": etag},
    )
    moved = last_message(db, first["id"])
    api.ok("POST", f"{path}/cancel", "scheduler", json={"reason": "Patient unwell"})
    again = book(api, clinic, pathway, "diagnostic_block", local("2026-03-05", 11))

    assert events(db, first["id"]) == ["S12", "S13", "S15"]
    assert events(db, again["id"]) == ["S12"]
    assert moved.sch.sch_11.tq_4.value == "20260304100000-0500"  # the S13: the new time
    assert filler_status(db, first["id"]) == "Cancelled"
    assert filler_status(db, again["id"]) == "Booked"


def test_a_no_show_queues_an_s26(
    api: Api, clinic: Clinic, db: Session, clock: FrozenClock, settings: Hl7Settings
) -> None:
    pathway = refer(api, clinic)["id"]
    appointment = book(api, clinic, pathway, "diagnostic_block", local("2026-03-03", 9))
    clock.set(local("2026-03-03", 10))

    api.ok("POST", f"/appointments/{appointment['id']}/no-show", "scheduler", json={})

    assert events(db, appointment["id"]) == ["S12", "S26"]
    assert filler_status(db, appointment["id"]) == "Noshow"


def test_cancelling_a_pathway_queues_an_s15_for_its_booked_appointment(
    api: Api, clinic: Clinic, db: Session, settings: Hl7Settings
) -> None:
    pathway = refer(api, clinic)["id"]
    appointment = book(api, clinic, pathway, "diagnostic_block", local("2026-03-03", 9))

    api.ok("POST", f"/pathways/{pathway}/cancel", "scheduler", json={"reason": "Moved away"})

    assert events(db, appointment["id"]) == ["S12", "S15"]


def test_marking_a_booking_for_a_new_time_queues_an_s14_pending_once(
    api: Api, clinic: Clinic, db: Session, settings: Hl7Settings
) -> None:
    appointment = booked_block(api, clinic)

    away(api, clinic)

    assert events(db, appointment["id"]) == ["S12", "S14"]
    assert filler_status(db, appointment["id"]) == "Pending"


def test_check_in_and_a_recorded_result_queue_s14_started_and_complete(
    api: Api, clinic: Clinic, db: Session, clock: FrozenClock, settings: Hl7Settings
) -> None:
    procedure = scheduled_procedure(api, clinic, clock)  # its block's result is recorded
    block = db.scalars(
        select(SiuMessage.appointment_id).where(SiuMessage.appointment_id != procedure["id"])
    ).first()
    assert block is not None

    api.ok("POST", f"/appointments/{procedure['id']}/check-in", "nurse", json=CHECK_IN_OK)

    assert events(db, block) == ["S12", "S14"]
    assert filler_status(db, block) == "Complete"
    assert events(db, procedure["id"]) == ["S12", "S14"]
    assert filler_status(db, procedure["id"]) == "Started"


def test_a_check_in_through_the_nurses_page_is_reported_too(
    api: Api,
    browser: Browser,
    people: dict[str, str],
    clinic: Clinic,
    clock: FrozenClock,
    db: Session,
    settings: Hl7Settings,
) -> None:
    procedure = scheduled_procedure(api, clinic, clock)
    browser.sign_in(people["nurse"])

    done = browser.post(case_path(procedure, "check-in"), CHECK_IN_FORM)

    assert done.status_code == 302
    assert events(db, procedure["id"]) == ["S12", "S14"]
    assert filler_status(db, procedure["id"]) == "Started"


def test_without_receivers_a_booking_writes_nothing_and_sends_no_statement_for_it(
    api: Api, clinic: Clinic, db: Session, count_queries: QueryCounter
) -> None:
    pathway = refer(api, clinic)["id"]
    count_queries.statements.clear()

    book(api, clinic, pathway, "diagnostic_block", local("2026-03-03", 9))

    assert not [s for s in count_queries.statements if "siu_" in s]
    assert queued(db) == []


def test_a_booking_rolled_back_leaves_no_message(
    api: Api, clinic: Clinic, db: Session, settings: Hl7Settings
) -> None:
    """The message is written in the booking's transaction: undone with it."""
    pathway = refer(api, clinic)["id"]
    db.info.update(reporting_to(settings))
    booking = db.begin_nested()
    book_appointment(
        db,
        Actor(user_id=None, role=Role.SCHEDULER),
        local("2026-03-02", 14),
        pathway_id=pathway,
        kind=AppointmentKind.DIAGNOSTIC_BLOCK,
        start=local("2026-03-03", 9),
        room_id=clinic.room_id,
        reminder_before=timedelta(hours=48),
    )
    db.flush()
    assert len(queued(db)) == 2

    booking.rollback()

    assert queued(db) == []


# ---------------------------------------------------------------------------------------
# The worker


@dataclass
class Receivers:
    """Scripted MLLP receivers: each call answers with the next item of its receiver's
    script ("AA" when it is empty): an ACK code, "garbage", or an error to raise."""

    scripts: dict[str, list[str | OSError]] = field(default_factory=dict)
    received: list[tuple[str, Any]] = field(default_factory=list)

    def __call__(self, receiver: Hl7Receiver, text: str, _timeout: float) -> str:
        message = parse_message(text, validation_level=VALIDATION_LEVEL.STRICT)
        self.received.append((receiver.name, message))
        script = self.scripts.get(receiver.name, [])
        answer = script.pop(0) if script else "AA"
        if isinstance(answer, OSError):
            raise answer
        if answer == "garbage":
            return "HTTP/1.1 400 Bad Request"
        control = message.msh.msh_10.value
        return (
            f"MSH|^~\\&|EHR|MAIN|SCHEDULER|CLINIC|20260302190001||ACK^S12^ACK|a-{control}|P|2.5.1"
            f"\rMSA|{answer}|{control}\rERR|||207^Unknown patient Lovelace^HL70357|E"
        )

    def sent(self, name: str) -> list[tuple[str, str]]:
        """(event, appointment id) of what ``name`` received, in order."""
        return [
            (m.msh.msh_9.msg_2.value, m.sch.sch_2.ei_1.value)
            for receiver, m in self.received
            if receiver == name
        ]


@pytest.fixture
def deliver(app: Flask, settings: Hl7Settings, clock: FrozenClock) -> Callable[..., PassResult]:
    def run(receivers: Receivers) -> PassResult:
        return deliver_due(Database.of(app).sessionmaker, settings, clock, receivers)

    return run


def test_the_worker_sends_each_receiver_its_copy_addressed_to_it_and_records_the_aa(
    api: Api, clinic: Clinic, db: Session, deliver: Callable[..., PassResult]
) -> None:
    pathway = refer(api, clinic)["id"]
    appointment = book(api, clinic, pathway, "diagnostic_block", local("2026-03-03", 9))
    receivers = Receivers()

    result = deliver(receivers)

    assert result == PassResult(sent=2)
    addressed = {name: (m.msh.msh_5.value, m.msh.msh_6.value) for name, m in receivers.received}
    assert addressed == {"ehr": ("EHR", "MAIN"), "portal": ("", "")}
    assert receivers.sent("ehr") == [("S12", str(appointment["id"]))]
    db.expire_all()
    rows = db.scalars(select(SiuDelivery)).all()
    assert {(d.status, d.ack_code, d.attempts) for d in rows} == {(DeliveryStatus.SENT, "AA", 1)}
    assert deliver(receivers) == PassResult()  # nothing twice


def test_a_later_message_waits_until_the_earlier_one_of_its_appointment_is_through(
    api: Api,
    clinic: Clinic,
    db: Session,
    clock: FrozenClock,
    deliver: Callable[..., PassResult],
) -> None:
    pathway = refer(api, clinic)["id"]
    first = book(api, clinic, pathway, "diagnostic_block", local("2026-03-03", 9))
    api.ok("POST", f"/appointments/{first['id']}/cancel", "scheduler", json={"reason": "Unwell"})
    other = booked_block(api, clinic, 11, side="left")
    receivers = Receivers({"ehr": [ConnectionRefusedError(111, "refused")]})

    result = deliver(receivers)

    # The EHR refused the S12: its S15 waits; the other booking goes through.
    assert receivers.sent("ehr") == [("S12", str(first["id"])), ("S12", str(other["id"]))]
    assert receivers.sent("portal") == [
        ("S12", str(first["id"])),
        ("S15", str(first["id"])),
        ("S12", str(other["id"])),
    ]
    assert result == PassResult(sent=4, retried=1)
    assert queued(db, first["id"]) == [
        ("S12", "ehr", "pending"),
        ("S12", "portal", "sent"),
        ("S15", "ehr", "pending"),
        ("S15", "portal", "sent"),
    ]

    clock.advance(seconds=30)
    assert deliver(receivers) == PassResult(sent=2)
    assert receivers.sent("ehr")[2:] == [("S12", str(first["id"])), ("S15", str(first["id"]))]


def test_ae_and_ar_are_rejected_with_the_code_only_and_do_not_hold_back_later_messages(
    api: Api, clinic: Clinic, db: Session, deliver: Callable[..., PassResult]
) -> None:
    pathway = refer(api, clinic)["id"]
    appointment = book(api, clinic, pathway, "diagnostic_block", local("2026-03-03", 9))
    api.ok("POST", f"/appointments/{appointment['id']}/cancel", "scheduler", json={"reason": "x"})
    receivers = Receivers({"ehr": ["AE"], "portal": ["AR"]})

    result = deliver(receivers)

    assert result == PassResult(sent=2, rejected=2)
    assert queued(db) == [
        ("S12", "ehr", "rejected"),
        ("S12", "portal", "rejected"),
        ("S15", "ehr", "sent"),
        ("S15", "portal", "sent"),
    ]
    rejected = api.ok("GET", "/hl7/deliveries", query_string={"status": "rejected"})
    assert [(d["receiver"], d["ack_code"], d["last_error"]) for d in rejected] == [
        ("portal", "AR", "AR 207"),
        ("ehr", "AE", "AE 207"),  # the code, never the receiver's words about the patient
    ]
    assert {d["event"] for d in rejected} == {"S12"}


def test_no_ack_in_time_is_retried_with_capped_backoff_and_the_same_control_id_then_dead(
    api: Api,
    clinic: Clinic,
    db: Session,
    clock: FrozenClock,
    deliver: Callable[..., PassResult],
) -> None:
    pathway = refer(api, clinic)["id"]
    book(api, clinic, pathway, "diagnostic_block", local("2026-03-03", 9))
    start = clock.now
    down = [TimeoutError("no ACK in time"), "garbage", TimeoutError("no ACK in time"), "garbage"]
    receivers = Receivers({"ehr": down})
    waits = []
    for _ in range(4):
        deliver(receivers)
        db.expire_all()
        delivery = db.scalars(select(SiuDelivery).where(SiuDelivery.receiver == "ehr")).one()
        waits.append(delivery.next_attempt_at - clock.now)
        clock.set(delivery.next_attempt_at)

    assert waits[:3] == [timedelta(seconds=30), timedelta(seconds=60), timedelta(seconds=120)]
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.DEAD, 4)
    assert delivery.last_error == "UnreadableAck: not an HL7 ACK"
    controls = {m.msh.msh_10.value for name, m in receivers.received if name == "ehr"}
    assert len(controls) == 1
    assert clock.now - start == timedelta(seconds=210)


def test_the_backoff_is_capped(app: Flask) -> None:
    settings = settings_with(app, HL7_RETRY_BASE_SECONDS=30, HL7_RETRY_MAX_SECONDS=100)

    assert [retry_delay(settings, n).total_seconds() for n in (1, 2, 3, 4, 10)] == [
        30,
        60,
        100,
        100,
        100,
    ]


def test_a_receiver_no_longer_configured_keeps_its_deliveries_pending_untouched(
    app: Flask,
    api: Api,
    clinic: Clinic,
    db: Session,
    clock: FrozenClock,
    settings: Hl7Settings,
) -> None:
    pathway = refer(api, clinic)["id"]
    book(api, clinic, pathway, "diagnostic_block", local("2026-03-03", 9))
    only_ehr = settings_with(app, HL7_RECEIVERS="ehr=127.0.0.1:2575")
    receivers = Receivers()

    deliver_due(Database.of(app).sessionmaker, only_ehr, clock, receivers)

    assert queued(db) == [("S12", "ehr", "sent"), ("S12", "portal", "pending")]


# ---------------------------------------------------------------------------------------
# The admins' list


def test_admins_list_deliveries_by_status_and_requeue_the_ones_given_up(
    api: Api, clinic: Clinic, db: Session, deliver: Callable[..., PassResult]
) -> None:
    pathway = refer(api, clinic)["id"]
    appointment = book(api, clinic, pathway, "diagnostic_block", local("2026-03-03", 9))
    deliver(Receivers({"ehr": ["AR"]}))
    rejected = api.ok("GET", "/hl7/deliveries", query_string={"status": "rejected"})
    assert [(d["receiver"], d["event"], d["appointment_id"]) for d in rejected] == [
        ("ehr", "S12", appointment["id"])
    ]
    assert "body" not in rejected[0]

    again = api.ok("POST", f"/hl7/deliveries/{rejected[0]['id']}/requeue")

    assert (again["status"], again["attempts"], again["ack_code"]) == ("pending", 0, None)
    assert again["control_id"] == rejected[0]["control_id"]
    assert deliver(Receivers()) == PassResult(sent=1)
    by_receiver = api.ok("GET", "/hl7/deliveries", query_string={"receiver": "portal"})
    assert [d["status"] for d in by_receiver] == ["sent"]


def test_the_list_reads_a_page_in_the_same_statements_however_many_deliveries(
    api: Api, clinic: Clinic, settings: Hl7Settings, count_queries: QueryCounter
) -> None:
    def listed() -> int:
        count_queries.statements.clear()
        api.ok("GET", "/hl7/deliveries")
        return count_queries.count

    pathway = refer(api, clinic)["id"]
    book(api, clinic, pathway, "diagnostic_block", local("2026-03-03", 9))
    few = listed()
    for hour in (11, 13, 15):
        booked_block(api, clinic, hour, side="left" if hour == 11 else "bilateral")

    assert listed() == few  # the message of each delivery comes in the same statement


def test_only_a_rejected_or_dead_delivery_can_be_requeued(
    api: Api, clinic: Clinic, settings: Hl7Settings
) -> None:
    pathway = refer(api, clinic)["id"]
    book(api, clinic, pathway, "diagnostic_block", local("2026-03-03", 9))
    pending = api.ok("GET", "/hl7/deliveries")[0]

    refused = api.post(f"/hl7/deliveries/{pending['id']}/requeue")
    missing = api.post("/hl7/deliveries/999999/requeue")

    assert refused.status_code == 409
    assert "Only rejected or dead" in refused.get_json()["detail"]
    assert missing.status_code == 404


@pytest.mark.parametrize("role", ["scheduler", "nurse", "clinician", "patient"])
def test_the_list_is_for_admins_only(api: Api, role: str) -> None:
    assert api.get("/hl7/deliveries", role).status_code == 403
    assert api.post("/hl7/deliveries/1/requeue", as_=role).status_code == 403


@pytest.mark.parametrize("query", [{"status": "lost"}, {"appointment_id": "x"}, {"receiver": ""}])
def test_a_bad_filter_is_a_422(api: Api, query: dict[str, str]) -> None:
    assert api.get("/hl7/deliveries", query_string=query).status_code == 422


def test_the_siu_backlog_is_in_the_metrics(
    api: Api, clinic: Clinic, client: Any, deliver: Callable[..., PassResult]
) -> None:
    pathway = refer(api, clinic)["id"]
    book(api, clinic, pathway, "diagnostic_block", local("2026-03-03", 9))
    pending = client.get("/metrics").get_data(as_text=True)
    deliver(Receivers({"ehr": ["AR"]}))
    after = client.get("/metrics").get_data(as_text=True)

    assert 'scheduler_siu_deliveries{state="pending"} 2.0' in pending
    assert 'scheduler_siu_deliveries{state="pending"} 0.0' in after
    assert 'scheduler_siu_deliveries{state="rejected"} 1.0' in after


def test_the_worker_command_without_receivers_says_what_to_set(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["hl7", "run", "--once"])

    assert result.exit_code == 1
    assert "set SCHEDULER_HL7_RECEIVERS first" in result.output


def test_a_bad_receiver_setting_stops_the_app_at_start(app: Flask) -> None:
    with pytest.raises(ValueError, match="HL7_RECEIVERS must be name=host:port"):
        create_app({**app.config, "HL7_RECEIVERS": "ehr"})
