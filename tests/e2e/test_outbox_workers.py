"""Two outbox workers at once never send the same message (``flask outbox run --once``).

The workers are real processes on a migrated database (a temporary SQLite file, and a
scratch PostgreSQL database when TEST_DATABASE_URL is set), sending to a real SMTP
server (aiosmtpd on 127.0.0.1). On PostgreSQL they share the queue with
``FOR UPDATE SKIP LOCKED``; on SQLite they take turns.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from alembic import command
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from scheduler.cli import alembic_config
from scheduler.db import make_engine, make_sessionmaker
from scheduler.outbox.models import OutboxMessage, OutboxStatus
from scheduler.pathways import services as pathways
from scheduler.pathways.referral import Referral
from scheduler.patients.services import register_patient
from scheduler.scheduling import booking
from scheduler.vocabulary import AppointmentKind, Indication, Region, Side
from tests.e2e.seeding import DESK, one_room_clinic
from tests.mailbox import Mailbox, running_mailbox
from tests.support import scratch_postgresql_database

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if TEST_DATABASE_URL else [])
PROJECT_ROOT = Path(__file__).resolve().parents[2]
ZONE = "America/New_York"
BOOKINGS = 120
SLOTS_PER_DAY = 20  # 30-minute blocks from 07:00 to 17:00


def seed(session: Session, now: datetime) -> None:
    """BOOKINGS diagnostic blocks from tomorrow on, each patient with an address."""
    site, room, surgeon = one_room_clinic(
        session, now, name="Outbox Spine Center", zone=ZONE, address="1 Mail Road"
    )
    zone = ZoneInfo(ZONE)
    first_day = now.astimezone(zone).date() + timedelta(days=1)
    for n in range(BOOKINGS):
        patient = register_patient(
            session,
            DESK,
            now,
            mrn=f"OUT-{n:04d}",
            given_name=f"Patient {n}",
            family_name="Outbox",
            birth_date=date(1950, 1, 1) + timedelta(days=97 * n),
            email=f"patient{n}@mail.example",
            phone=None,
        )
        pathway = pathways.create_pathway(
            session,
            DESK,
            now,
            Referral(
                patient_id=patient.id,
                clinician_id=surgeon.id,
                site_id=site.id,
                indication=Indication.FACET_JOINT_SYNDROME,
                region=Region.LUMBAR,
                side=Side.RIGHT,
                levels=["L4-L5"],
                pain_onset_date=first_day - timedelta(days=365),
            ),
        )
        day, slot = divmod(n, SLOTS_PER_DAY)
        start = datetime.combine(first_day + timedelta(days=day), time(7), zone) + slot * (
            timedelta(minutes=30)
        )
        booking.book_appointment(
            session,
            DESK,
            now,
            pathway_id=pathway.id,
            kind=AppointmentKind.DIAGNOSTIC_BLOCK,
            start=start,
            room_id=room.id,
            reminder_before=timedelta(days=30),  # reminders not due during the test
        )


def prepare(url: str) -> str:
    """Migrate with Alembic, then seed and commit."""
    command.upgrade(alembic_config(url), "head")
    engine = make_engine(url)
    try:
        with make_sessionmaker(engine)() as session:
            seed(session, datetime.now(UTC))
            session.commit()
    finally:
        engine.dispose()
    return url


@pytest.fixture(params=BACKENDS)
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    if request.param == "sqlite":
        yield prepare(f"sqlite:///{tmp_path_factory.mktemp('outbox-db') / 'scheduler.sqlite3'}")
    else:
        for url in scratch_postgresql_database("outbox"):
            yield prepare(url)


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    with running_mailbox() as mailbox:
        yield mailbox


def worker(database_url: str, mailbox: Mailbox, directory: Path) -> subprocess.Popen[bytes]:
    environment = {
        **os.environ,
        "SCHEDULER_DATABASE_URL": database_url,
        "SCHEDULER_SECRET_KEY": "e2e-secret",
        "SCHEDULER_MAIL_HOST": mailbox.host,
        "SCHEDULER_MAIL_PORT": str(mailbox.port),
        "SCHEDULER_MAIL_FROM": "appointments@outbox.example",
        "PYTHONDONTWRITEBYTECODE": "1",
        "TMPDIR": str(directory),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "outbox", "run", "--once"],
        cwd=PROJECT_ROOT,
        env=environment,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def test_two_workers_at_once_send_every_message_exactly_once(
    database_url: str, mailbox: Mailbox, tmp_path: Path
) -> None:
    workers = [worker(database_url, mailbox, tmp_path) for _ in range(2)]
    outputs = []
    for process in workers:
        try:
            output, _ = process.communicate(timeout=300)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        assert process.returncode == 0, output.decode()
        outputs.append(output.decode())

    sent = [int(re.search(r"Sent (\d+),", output).group(1)) for output in outputs]  # type: ignore[union-attr]
    ids = Counter(message["Message-ID"] for message in mailbox.messages)
    recipients = Counter(tuple(r) for r in mailbox.recipients)
    engine = make_engine(database_url)
    try:
        with make_sessionmaker(engine)() as session:
            rows = session.execute(
                select(OutboxMessage.status, func.count())
                .where(OutboxMessage.kind == "request")
                .group_by(OutboxMessage.status)
            ).all()
        statuses = {row[0]: row[1] for row in rows}
    finally:
        engine.dispose()

    print(f"sent per worker: {sent}")  # shown with pytest -s
    assert sum(sent) == BOOKINGS, outputs
    assert len(mailbox.messages) == BOOKINGS
    assert max(ids.values()) == 1  # no Message-ID twice
    assert max(recipients.values()) == 1  # no patient twice
    assert statuses == {OutboxStatus.SENT: BOOKINGS}
