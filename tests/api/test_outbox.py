"""The transactional outbox: what booking, moving and cancelling queue, and what the worker
delivers to a real SMTP server (aiosmtpd on 127.0.0.1), SPEC §5.

The clock stands at Monday 2026-03-02 14:00 New York time; blocks are booked for the
next day and later, so each booking queues an invite now and a reminder 48 hours before.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from email.message import EmailMessage
from typing import Any

import icalendar
import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from scheduler.context import Database
from scheduler.facilities.models import Site
from scheduler.outbox.models import OutboxMessage
from scheduler.outbox.worker import PassResult, deliver_due
from scheduler.patients.models import Patient
from scheduler.settings import DeliverySettings, delivery_settings
from tests.api.conftest import Clinic
from tests.api.test_full_pathway import book, refer
from tests.mailbox import Mailbox, running_mailbox
from tests.support import FROZEN_NOW, Api, FrozenClock, local


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    with running_mailbox() as mailbox:
        yield mailbox


@pytest.fixture
def settings(app: Flask, mailbox: Mailbox) -> DeliverySettings:
    return delivery_settings({**app.config, "MAIL_HOST": mailbox.host, "MAIL_PORT": mailbox.port})


def deliver(app: Flask, settings: DeliverySettings, clock: FrozenClock) -> PassResult:
    return deliver_due(Database.of(app).sessionmaker, settings, clock)


def messages(db: Session, appointment_id: int | None = None) -> list[tuple[str, str, int]]:
    """(kind, status, appointment version) of each outbox row, oldest first."""
    statement = select(OutboxMessage).order_by(OutboxMessage.id)
    if appointment_id is not None:
        statement = statement.where(OutboxMessage.appointment_id == appointment_id)
    db.expire_all()
    return [(m.kind.value, m.status.value, m.appointment_version) for m in db.scalars(statement)]


def calendar_of(message: EmailMessage) -> icalendar.Calendar:
    part = next(p for p in message.walk() if p.get_content_type() == "text/calendar")
    return icalendar.Calendar.from_ical(part.get_payload(decode=True))


def move(api: Api, appointment_id: int, start: Any) -> Any:
    path = f"/appointments/{appointment_id}"
    etag = api.get(path, "scheduler").headers["ETag"]
    return api.ok(
        "PATCH",
        path,
        "scheduler",
        json={"start": start.isoformat()},
        headers={"If-Match": etag},
    )


def cancel(api: Api, appointment_id: int) -> Any:
    return api.ok(
        "POST", f"/appointments/{appointment_id}/cancel", "scheduler", json={"reason": "x"}
    )


# ---------------------------------------------------------------------------------------
# What is queued, in the same transaction


def test_a_booking_queues_the_invite_now_and_a_reminder_48_hours_before(
    api: Api, clinic: Clinic, db: Session
) -> None:
    pathway = refer(api, clinic)["id"]
    appointment = book(api, clinic, pathway, "diagnostic_block", local("2026-03-06", 9))

    rows = db.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()

    assert [(m.kind.value, m.status.value, m.appointment_version) for m in rows] == [
        ("request", "pending", 1),
        ("reminder", "pending", 1),
    ]
    assert rows[0].deliver_after == FROZEN_NOW
    assert rows[1].deliver_after == local("2026-03-04", 9)
    assert {m.appointment_id for m in rows} == {appointment["id"]}
    assert len({m.message_key for m in rows}) == 2


def test_no_reminder_when_the_appointment_is_sooner_than_the_reminder_time(
    api: Api, clinic: Clinic, db: Session
) -> None:
    pathway = refer(api, clinic)["id"]
    book(api, clinic, pathway, "diagnostic_block", local("2026-03-03", 9))
    assert messages(db) == [("request", "pending", 1)]


def test_a_refused_booking_queues_nothing(api: Api, clinic: Clinic, db: Session) -> None:
    pathway = refer(api, clinic)["id"]
    book(api, clinic, pathway, "diagnostic_block", local("2026-03-06", 9))
    other = refer(api, clinic, patient_id=clinic.other_patient_id)["id"]
    taken = api.post(
        "/appointments",
        {
            "pathway_id": other,
            "kind": "diagnostic_block",
            "start": local("2026-03-06", 9).isoformat(),
            "room_id": clinic.room_id,
        },
        "scheduler",
    )
    assert taken.status_code == 409
    assert len(messages(db)) == 2


def test_a_patient_without_an_address_gets_no_message(
    api: Api, clinic: Clinic, db: Session
) -> None:
    patient = db.get(Patient, clinic.patient_id)
    assert patient is not None
    patient.email = None
    db.commit()
    pathway = refer(api, clinic)["id"]
    book(api, clinic, pathway, "diagnostic_block", local("2026-03-06", 9))
    assert messages(db) == []


def test_a_move_supersedes_what_was_pending_and_queues_the_new_version(
    api: Api, clinic: Clinic, db: Session
) -> None:
    pathway = refer(api, clinic)["id"]
    appointment = book(api, clinic, pathway, "diagnostic_block", local("2026-03-06", 9))

    moved = move(api, appointment["id"], local("2026-03-09", 10))

    assert moved["version"] == 2
    assert messages(db) == [
        ("request", "superseded", 1),
        ("reminder", "superseded", 1),
        ("request", "pending", 2),
        ("reminder", "pending", 2),
    ]


@pytest.mark.parametrize("via_pathway", [False, True], ids=["appointment", "pathway"])
def test_a_cancellation_withdraws_the_reminder_and_queues_the_cancel(
    api: Api, clinic: Clinic, db: Session, via_pathway: bool
) -> None:
    pathway = refer(api, clinic)["id"]
    appointment = book(api, clinic, pathway, "diagnostic_block", local("2026-03-06", 9))

    if via_pathway:
        api.ok("POST", f"/pathways/{pathway}/cancel", "scheduler", json={"reason": "Moved"})
    else:
        cancel(api, appointment["id"])

    assert messages(db) == [
        ("request", "superseded", 1),
        ("reminder", "superseded", 1),
        ("cancel", "pending", 2),
    ]


def test_cancelling_a_pathway_frees_its_appointments_resources(
    api: Api, clinic: Clinic, db: Session
) -> None:
    pathway = refer(api, clinic)["id"]
    book(api, clinic, pathway, "diagnostic_block", local("2026-03-06", 9))
    api.ok("POST", f"/pathways/{pathway}/cancel", "scheduler", json={"reason": "Moved"})

    other = refer(api, clinic, patient_id=clinic.other_patient_id)["id"]
    rebooked = book(api, clinic, other, "diagnostic_block", local("2026-03-06", 9))

    assert rebooked["start_local"] == "2026-03-06T09:00:00-05:00"


# ---------------------------------------------------------------------------------------
# Delivery to a real SMTP server


def test_a_booking_delivers_exactly_one_invite_with_every_part(
    api: Api,
    app: Flask,
    clinic: Clinic,
    clock: FrozenClock,
    db: Session,
    mailbox: Mailbox,
    settings: DeliverySettings,
) -> None:
    pathway = refer(api, clinic)["id"]
    appointment = book(api, clinic, pathway, "diagnostic_block", local("2026-03-06", 9))
    patient = db.get(Patient, clinic.patient_id)
    assert patient is not None

    first = deliver(app, settings, clock)
    second = deliver(app, settings, clock)

    assert (first.sent, second.handled) == (1, 0)
    assert len(mailbox.messages) == 1
    message = mailbox.messages[0]
    assert mailbox.recipients == [[patient.email]]
    assert message["To"] == patient.email
    assert settings.sender in message["From"]
    assert message["Message-ID"].endswith("@clinic.example>")
    assert message.get_content_type() == "multipart/mixed"
    types = [part.get_content_type() for part in message.walk()]
    assert types[:5] == [
        "multipart/mixed",
        "multipart/alternative",
        "text/plain",
        "text/html",
        "text/calendar",
    ]
    assert any(part.get_filename() == "invite.ics" for part in message.walk())
    calendar_part = next(p for p in message.walk() if p.get_content_type() == "text/calendar")
    assert calendar_part.get_param("method") == "REQUEST"
    event = calendar_of(message).walk("VEVENT")[0]
    assert event.decoded("DTSTART") == local("2026-03-06", 9)
    assert int(event["SEQUENCE"]) == appointment["version"]
    assert messages(db) == [("request", "sent", 1), ("reminder", "pending", 1)]
    text = next(p for p in message.walk() if p.get_content_type() == "text/plain")
    link = re.search(r"http://127\.0\.0\.1:5000(/i/\S+\.ics)", text.get_content())
    assert link is not None
    assert app.test_client().get(link.group(1)).status_code == 200


def test_the_e_mail_names_the_site_by_its_display_name_only(
    api: Api,
    app: Flask,
    clinic: Clinic,
    clock: FrozenClock,
    db: Session,
    mailbox: Mailbox,
    settings: DeliverySettings,
) -> None:
    """Subjects show in notifications: a name like "... Spine & Pain Center" says why."""
    site = db.get_one(Site, clinic.site_id)
    site.name, site.display_name = "Riverside Spine & Pain Center", "Riverside Clinic"
    db.flush()
    pathway = refer(api, clinic)["id"]
    appointment = book(api, clinic, pathway, "diagnostic_block", local("2026-03-06", 9))
    deliver(app, settings, clock)
    cancel(api, appointment["id"])
    deliver(app, settings, clock)

    invite, cancellation = mailbox.messages
    assert invite["Subject"] == "Your appointment at Riverside Clinic on Friday, March 6, 2026"
    assert "Cancelled: your appointment at Riverside Clinic on" in cancellation["Subject"]
    for message in (invite, cancellation):
        assert message["From"].addresses[0].display_name == "Riverside Clinic"
        for part in message.walk():
            if part.get_content_maintype() == "text":
                content = part.get_content()
                text = content if isinstance(content, str) else content.decode()
                assert "Spine" not in text.replace("\r\n ", "")
    body = next(p for p in invite.walk() if p.get_content_type() == "text/plain")
    assert "your appointment at Riverside Clinic." in body.get_content()


def test_the_reminder_goes_out_when_due_and_carries_no_calendar(
    api: Api,
    app: Flask,
    clinic: Clinic,
    clock: FrozenClock,
    db: Session,
    mailbox: Mailbox,
    settings: DeliverySettings,
) -> None:
    pathway = refer(api, clinic)["id"]
    book(api, clinic, pathway, "diagnostic_block", local("2026-03-06", 9))
    deliver(app, settings, clock)

    clock.set(local("2026-03-04", 8, 59))
    assert deliver(app, settings, clock).handled == 0
    clock.set(local("2026-03-04", 9))
    assert deliver(app, settings, clock).sent == 1

    reminder = mailbox.messages[-1]
    assert "Reminder" in reminder["Subject"]
    assert "text/calendar" not in [part.get_content_type() for part in reminder.walk()]


def test_smtp_down_is_retried_with_backoff_then_delivered_once(
    api: Api,
    app: Flask,
    clinic: Clinic,
    clock: FrozenClock,
    db: Session,
    mailbox: Mailbox,
    settings: DeliverySettings,
) -> None:
    pathway = refer(api, clinic)["id"]
    book(api, clinic, pathway, "diagnostic_block", local("2026-03-06", 9))

    with mailbox.down():
        first = deliver(app, settings, clock)
        clock.advance(seconds=60)
        second = deliver(app, settings, clock)
    rows = db.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    db.expire_all()
    request = rows[0]

    assert (first.retried, second.retried) == (1, 1)
    assert request.attempts == 2
    assert request.last_error == "ConnectionRefusedError 111"
    assert request.deliver_after == clock() + timedelta(seconds=120)  # 60 s, then 120 s

    clock.advance(seconds=119)
    assert deliver(app, settings, clock).handled == 0  # not yet due
    clock.advance(seconds=1)
    assert deliver(app, settings, clock).sent == 1
    assert deliver(app, settings, clock).handled == 0
    assert len(mailbox.messages) == 1
    assert messages(db)[0] == ("request", "sent", 1)


def test_after_the_last_attempt_a_message_is_dead_and_an_admin_requeues_it(
    api: Api,
    app: Flask,
    clinic: Clinic,
    clock: FrozenClock,
    db: Session,
    mailbox: Mailbox,
    settings: DeliverySettings,
) -> None:
    pathway = refer(api, clinic)["id"]
    book(api, clinic, pathway, "diagnostic_block", local("2026-03-06", 9))
    twice = replace(settings, max_attempts=2)

    with mailbox.down():
        deliver(app, twice, clock)
        clock.advance(hours=1)
        assert deliver(app, twice, clock).dead == 1

    dead = api.ok("GET", "/outbox?status=dead", "admin")
    assert [(m["kind"], m["attempts"], m["last_error"]) for m in dead] == [
        ("request", 2, "ConnectionRefusedError 111")
    ]
    assert set(dead[0]) == {
        "id",
        "appointment_id",
        "offer_id",
        "appointment_version",
        "kind",
        "status",
        "attempts",
        "deliver_after",
        "last_error",
        "created_at",
        "sent_at",
    }  # nothing about the patient
    assert api.get("/outbox", "scheduler").status_code == 403
    pending = api.ok("GET", "/outbox?status=pending", "admin")
    refused = api.post(f"/outbox/{pending[0]['id']}/requeue", None, "admin")
    assert refused.status_code == 409

    requeued = api.ok("POST", f"/outbox/{dead[0]['id']}/requeue", "admin")
    assert (requeued["status"], requeued["attempts"]) == ("pending", 0)
    assert deliver(app, twice, clock).sent == 1
    assert len(mailbox.messages) == 1
    assert api.post("/outbox/999999/requeue", None, "admin").status_code == 404


def test_reschedule_then_cancel_leaves_the_cancel_as_the_patients_last_message(
    api: Api,
    app: Flask,
    clinic: Clinic,
    clock: FrozenClock,
    db: Session,
    mailbox: Mailbox,
    settings: DeliverySettings,
) -> None:
    pathway = refer(api, clinic)["id"]
    appointment = book(api, clinic, pathway, "diagnostic_block", local("2026-03-06", 9))
    deliver(app, settings, clock)
    move(api, appointment["id"], local("2026-03-09", 10))
    cancel(api, appointment["id"])

    result = deliver(app, settings, clock)
    clock.set(local("2026-03-07", 10))  # when the moved appointment's reminder was due
    later = deliver(app, settings, clock)

    assert (result.sent, later.handled) == (1, 0)
    first, last = mailbox.messages
    assert calendar_of(first)["METHOD"] == "REQUEST"
    assert calendar_of(last)["METHOD"] == "CANCEL"
    event = calendar_of(last).walk("VEVENT")[0]
    assert event["STATUS"] == "CANCELLED"
    assert event["UID"] == calendar_of(first).walk("VEVENT")[0]["UID"]
    assert int(event["SEQUENCE"]) == 3
    assert [kind for kind, status, _ in messages(db) if status == "sent"] == ["request", "cancel"]


def test_no_reminder_is_ever_sent_for_a_cancelled_appointment(
    api: Api,
    app: Flask,
    clinic: Clinic,
    clock: FrozenClock,
    db: Session,
    mailbox: Mailbox,
    settings: DeliverySettings,
) -> None:
    pathway = refer(api, clinic)["id"]
    appointment = book(api, clinic, pathway, "diagnostic_block", local("2026-03-06", 9))
    deliver(app, settings, clock)
    cancel(api, appointment["id"])
    deliver(app, settings, clock)

    clock.set(local("2026-03-05", 9))
    assert deliver(app, settings, clock).handled == 0

    subjects = [message["Subject"] for message in mailbox.messages]
    assert len(subjects) == 2
    assert not any("Reminder" in subject for subject in subjects)


def test_a_message_for_an_appointment_that_moved_on_is_superseded_not_sent(
    api: Api,
    app: Flask,
    clinic: Clinic,
    clock: FrozenClock,
    db: Session,
    mailbox: Mailbox,
    settings: DeliverySettings,
) -> None:
    """A requeued dead invite whose appointment changed since is never sent."""
    pathway = refer(api, clinic)["id"]
    appointment = book(api, clinic, pathway, "diagnostic_block", local("2026-03-06", 9))
    with mailbox.down():
        deliver(app, replace(settings, max_attempts=1), clock)
    move(api, appointment["id"], local("2026-03-09", 10))
    dead = api.ok("GET", "/outbox?status=dead", "admin")
    api.ok("POST", f"/outbox/{dead[0]['id']}/requeue", "admin")

    result = deliver(app, settings, clock)

    assert (result.sent, result.superseded) == (1, 1)
    assert len(mailbox.messages) == 1
    event = calendar_of(mailbox.messages[0]).walk("VEVENT")[0]
    assert int(event["SEQUENCE"]) == 2
