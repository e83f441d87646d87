"""``flask outbox catch``: the local SMTP server for trying the worker out keeps each
message and its invite in a folder."""

from __future__ import annotations

import smtplib
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import icalendar

from scheduler.invites.ics import Clinic, Invite, Preparation
from scheduler.invites.mail import build_message
from scheduler.outbox.catcher import serve
from scheduler.vocabulary import AppointmentKind, MessageKind
from tests.mailbox import free_port


def test_the_catcher_saves_each_message_and_its_invite(tmp_path: Path) -> None:
    start = datetime(2026, 3, 6, 14, tzinfo=UTC)
    invite = Invite(
        uid="catcher-1",
        sequence=1,
        kind=AppointmentKind.FOLLOW_UP,
        start=start,
        end=start + timedelta(minutes=20),
        timezone="America/New_York",
        room="Consult room A",
        patient_name="Lena Fischer",
        patient_email="patient@mail.example",
        cancelled=False,
        preparation=Preparation(15, False, 2, 6, 8),
    )
    clinic = Clinic(
        "Riverside Spine & Pain Center", "appointments@riverside.example", "1 Way", None
    )
    messages = [
        build_message(invite, clinic, kind, message_id=f"<{kind}@riverside.example>", now=start)
        for kind in (MessageKind.REQUEST, MessageKind.REMINDER)
    ]
    port, stop = free_port(), threading.Event()
    server = threading.Thread(target=serve, args=(tmp_path / "mail", "127.0.0.1", port, stop))
    server.start()
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                client = smtplib.SMTP("127.0.0.1", port, timeout=5)
                break
            except OSError:
                assert time.monotonic() < deadline, "the catcher did not start"
                time.sleep(0.05)
        with client:
            for message in messages:
                client.send_message(message)
    finally:
        stop.set()
        server.join(timeout=10)

    saved = sorted(path.name for path in (tmp_path / "mail").iterdir())
    assert saved == ["1.eml", "1.ics", "2.eml"]  # the reminder carries no invite
    calendar = icalendar.Calendar.from_ical((tmp_path / "mail" / "1.ics").read_bytes())
    assert calendar.walk("VEVENT")[0]["UID"] == "catcher-1"
