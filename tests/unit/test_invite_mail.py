"""The e-mail that carries an invite (iMIP, RFC 6047), built with stdlib email."""

from __future__ import annotations

import dataclasses
import email
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from typing import Any

import pytest

from scheduler.invites.ics import Clinic, Invite, Preparation, build_invite
from scheduler.invites.mail import build_message
from scheduler.vocabulary import AppointmentKind, MessageKind

CLINIC = Clinic(
    name="Riverside Spine & Pain Center",
    email="desk@riverside.example",
    address="12 River Rd, Springfield",
    phone="+1 555 0100",
)
NOW = datetime(2026, 2, 20, 15, 0, 7, tzinfo=UTC)
INVITE = Invite(
    uid="appointment-42@scheduler.example",
    sequence=3,
    kind=AppointmentKind.PROCEDURE,
    start=datetime(2026, 3, 10, 13, 0, tzinfo=UTC),  # 9:00 AM EDT
    end=datetime(2026, 3, 10, 14, 30, tzinfo=UTC),
    timezone="America/New_York",
    room="Room 2",
    patient_name="Lena Fischer",
    patient_email="patient@example.org",
    cancelled=False,
    preparation=Preparation(
        arrival_minutes_before=30,
        sedation=True,
        clear_fluids_hours=2,
        light_meal_hours=6,
        heavy_meal_hours=8,
    ),
)
MESSAGE_ID = "<outbox-17@scheduler.example>"
CLINICAL_WORDS = ("procedure", "neurotomy", "block", "ablation", "facet", "diagnostic", "follow")


def invite(**changes: Any) -> Invite:
    return dataclasses.replace(INVITE, **changes)


def message(message_kind: MessageKind = MessageKind.REQUEST, **changes: Any) -> EmailMessage:
    cancelled = message_kind is MessageKind.CANCEL
    return build_message(
        invite(cancelled=cancelled, **changes),
        CLINIC,
        message_kind,
        message_id=MESSAGE_ID,
        now=NOW,
    )


def content_types(part: EmailMessage) -> list[str]:
    return [sub.get_content_type() for sub in part.walk()]


def body(message: EmailMessage, subtype: str) -> str:
    part = message.get_body(preferencelist=(subtype,))
    assert part is not None
    content: str = part.get_content()
    return content


@pytest.mark.parametrize(
    ("kind", "method"), [(MessageKind.REQUEST, "REQUEST"), (MessageKind.CANCEL, "CANCEL")]
)
def test_invite_message_is_mixed_alternative_with_calendar_and_attachment(
    kind: MessageKind, method: str
) -> None:
    built = message(kind)
    assert content_types(built) == [
        "multipart/mixed",
        "multipart/alternative",
        "text/plain",
        "text/html",
        "text/calendar",
        "application/ics",
    ]
    alternative, attachment = built.iter_parts()
    calendar = list(alternative.iter_parts())[2]
    assert calendar.get_param("method") == method
    assert calendar.get_content_charset() == "utf-8"
    assert calendar.get_content_disposition() is None
    assert attachment.get_content_disposition() == "attachment"
    assert attachment.get_filename() == "invite.ics"


@pytest.mark.parametrize("kind", [MessageKind.REQUEST, MessageKind.CANCEL])
def test_calendar_part_and_attachment_are_exactly_the_invite(kind: MessageKind) -> None:
    cancelled = kind is MessageKind.CANCEL
    alarms = (timedelta(hours=5),)
    built = build_message(
        invite(cancelled=cancelled), CLINIC, kind, message_id=MESSAGE_ID, now=NOW, alarms=alarms
    )
    expected = build_invite(invite(cancelled=cancelled), CLINIC, now=NOW, alarms=alarms)
    calendar, attachment = [
        part
        for part in built.walk()
        if part.get_content_type() in {"text/calendar", "application/ics"}
    ]
    assert calendar.get_payload(decode=True) == expected
    assert attachment.get_payload(decode=True) == expected


def test_calendar_survives_the_trip_through_bytes_with_its_crlfs() -> None:
    built = message()
    received = email.message_from_bytes(built.as_bytes(), policy=policy.default)
    assert isinstance(received, EmailMessage)
    (calendar,) = [part for part in received.walk() if part.get_content_type() == "text/calendar"]
    assert calendar.get_param("method") == "REQUEST"
    assert calendar.get_payload(decode=True) == build_invite(INVITE, CLINIC, now=NOW)


def test_headers_name_the_clinic_the_patient_the_id_and_the_date() -> None:
    built = message()
    (sender,) = built["From"].addresses
    assert (sender.display_name, sender.addr_spec) == (CLINIC.name, CLINIC.email)
    (recipient,) = built["To"].addresses
    assert recipient.addr_spec == "patient@example.org"
    assert recipient.display_name == ""
    assert built["Message-ID"] == MESSAGE_ID
    assert parsedate_to_datetime(built["Date"]) == NOW


def test_non_ascii_clinic_name_survives_in_from() -> None:
    clinic = dataclasses.replace(CLINIC, name="Clínica São João — Zürich")
    built = build_message(INVITE, clinic, MessageKind.REQUEST, message_id=MESSAGE_ID, now=NOW)
    received = email.message_from_bytes(built.as_bytes(), policy=policy.default)
    assert received["From"].addresses[0].display_name == "Clínica São João — Zürich"


@pytest.mark.parametrize(
    ("kind", "subject"),
    [
        (
            MessageKind.REQUEST,
            "Your appointment at Riverside Spine & Pain Center on Tuesday, March 10, 2026",
        ),
        (
            MessageKind.CANCEL,
            "Cancelled: your appointment at Riverside Spine & Pain Center"
            " on Tuesday, March 10, 2026",
        ),
        (
            MessageKind.REMINDER,
            "Reminder: your appointment at Riverside Spine & Pain Center"
            " on Tuesday, March 10, 2026",
        ),
    ],
)
def test_subject_names_the_clinic_and_the_local_date(kind: MessageKind, subject: str) -> None:
    assert message(kind)["Subject"] == subject


@pytest.mark.parametrize("kind", list(MessageKind))
@pytest.mark.parametrize("appointment", list(AppointmentKind))
def test_subject_is_neutral_for_every_kind(kind: MessageKind, appointment: AppointmentKind) -> None:
    subject = message(kind, kind=appointment)["Subject"].lower()
    assert [word for word in CLINICAL_WORDS if word in subject] == []


def test_reminder_is_text_and_html_only() -> None:
    built = message(MessageKind.REMINDER)
    assert content_types(built) == ["multipart/alternative", "text/plain", "text/html"]


@pytest.mark.parametrize("subtype", ["plain", "html"])
def test_reminder_says_when_and_how_to_prepare(subtype: str) -> None:
    text = body(message(MessageKind.REMINDER), subtype)
    assert "This is a reminder of your appointment at Riverside Spine &" in text
    assert "Tuesday, March 10, 2026 at 9:00 AM EDT" in text
    assert "Please arrive by 8:30 AM EDT" in text
    assert "Do not drive for 24 hours" in text


@pytest.mark.parametrize("subtype", ["plain", "html"])
def test_request_body_carries_the_preparation(subtype: str) -> None:
    text = body(message(MessageKind.REQUEST, kind=AppointmentKind.FOLLOW_UP), subtype)
    assert "The attached invitation adds it to your calendar" in text
    assert "Tuesday, March 10, 2026 at 9:00 AM EDT" in text
    assert "physical therapy" in text


@pytest.mark.parametrize("subtype", ["plain", "html"])
def test_cancel_body_says_it_was_cancelled_and_how_to_rebook(subtype: str) -> None:
    text = body(message(MessageKind.CANCEL), subtype)
    assert "has been cancelled" in text
    assert "please call us on +1 555 0100" in text
    assert "Please arrive" not in text


def test_html_body_escapes_what_it_is_given() -> None:
    clinic = dataclasses.replace(CLINIC, name="<b>Smith & Jones</b>", address='1 "Main" <St>')
    built = build_message(INVITE, clinic, MessageKind.REQUEST, message_id=MESSAGE_ID, now=NOW)
    html = body(built, "html")
    assert "<b>" not in html
    assert "&lt;b&gt;Smith &amp; Jones&lt;/b&gt;" in html
    assert "1 &#34;Main&#34; &lt;St&gt;" in html
    assert "<b>Smith & Jones</b>" in body(built, "plain")


def test_message_to_a_patient_without_address_is_refused() -> None:
    with pytest.raises(ValueError, match="no patient e-mail address"):
        build_message(
            invite(patient_email=None),
            CLINIC,
            MessageKind.REQUEST,
            message_id=MESSAGE_ID,
            now=NOW,
        )


@pytest.mark.parametrize(
    ("kind", "cancelled"),
    [
        (MessageKind.CANCEL, False),
        (MessageKind.REQUEST, True),
        (MessageKind.REMINDER, True),
    ],
)
def test_message_contradicting_the_invite_is_refused(kind: MessageKind, cancelled: bool) -> None:
    with pytest.raises(ValueError, match="cancelled"):
        build_message(invite(cancelled=cancelled), CLINIC, kind, message_id=MESSAGE_ID, now=NOW)


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        build_message(
            INVITE,
            CLINIC,
            MessageKind.REMINDER,
            message_id=MESSAGE_ID,
            now=NOW.replace(tzinfo=None),
        )
