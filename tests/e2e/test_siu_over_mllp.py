"""SIU messages reach a real MLLP listener in order, and survive it going away (SPEC §8);
the MLLP exchange against receivers that are slow, down or answer garbage.

The listener is the ``hl7`` package's asyncio MLLP server on 127.0.0.1, in a thread of
the test process; it parses what it receives with ``hl7`` and answers each message with
``create_ack``. The database is migrated for real (a temporary SQLite file, and a
scratch PostgreSQL database when TEST_DATABASE_URL is set). The worker runs as
``flask hl7 run --once`` in a subprocess, and in-process once its clock must stand an
hour later (after a retry's backoff).

The story, written through the services with the receiver configured: a block booked
(S12), moved (S13) and cancelled (S15), then rebooked (S12) and the patient not coming
(S26). The times are in the past, so that every message is due for a worker on the
real clock.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from alembic import command
from hl7.mllp import start_hl7_server
from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.parser import parse_message
from sqlalchemy import select
from sqlalchemy.orm import Session

import config
from scheduler.cli import alembic_config
from scheduler.db import make_engine, make_sessionmaker
from scheduler.hl7v2.messages import AckCode, UnreadableAck, read_ack
from scheduler.hl7v2.models import DeliveryStatus, SiuDelivery
from scheduler.hl7v2.services import reporting_to
from scheduler.hl7v2.worker import PassResult, deliver_due, exchange
from scheduler.pathways import services as pathways
from scheduler.pathways.referral import Referral
from scheduler.patients.services import register_patient
from scheduler.scheduling import booking, cancellation
from scheduler.settings import Hl7Receiver, Hl7Settings, hl7_settings
from scheduler.vocabulary import AppointmentKind, Indication, Region, Side
from tests.api.conftest import free_port
from tests.e2e.seeding import DESK, one_room_clinic
from tests.support import scratch_postgresql_database

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if TEST_DATABASE_URL else [])
PROJECT_ROOT = Path(__file__).resolve().parents[2]
ZONE = ZoneInfo("America/New_York")
MRN = "SIU-0001"


# ---------------------------------------------------------------------------------------
# The listener


@dataclass
class Listener:
    """An MLLP receiver: what it received (parsed by ``hl7``), and the control ids it
    acknowledged. ``answers`` is how many more messages it acknowledges before it goes
    down (closing connections unanswered, as a receiver that is shutting down)."""

    port: int
    received: list[Any] = field(default_factory=list)
    acknowledged: list[str] = field(default_factory=list)
    answers: int | None = None
    loop: asyncio.AbstractEventLoop = field(default_factory=asyncio.new_event_loop)
    server: asyncio.Server | None = None

    async def _handle(self, reader: Any, writer: Any) -> None:
        try:
            while True:
                if self.answers == 0:
                    return  # down: the connection closes without an answer
                message = await reader.readmessage()
                self.received.append(message)
                writer.writemessage(message.create_ack("AA"))
                await writer.drain()
                self.acknowledged.append(message["MSH.F10"])
                if self.answers is not None:
                    self.answers -= 1
        except asyncio.IncompleteReadError:
            pass  # the worker closed its connection after reading the ACK
        finally:
            writer.close()

    def start(self) -> None:
        async def serve() -> asyncio.Server:
            return await start_hl7_server(self._handle, "127.0.0.1", self.port)

        self.server = self._run(serve())

    def stop(self) -> None:
        async def close() -> None:
            assert self.server is not None
            self.server.close()
            await self.server.wait_closed()

        self._run(close())

    def _run(self, coroutine: Any) -> Any:
        future: Future[Any] = asyncio.run_coroutine_threadsafe(coroutine, self.loop)
        return future.result(timeout=30)

    def events(self) -> list[tuple[str, str]]:
        """(trigger event, appointment id) of each message received, in order."""
        return [(m["MSH.F9.R1.C2"], m["SCH.F2.R1.C1"]) for m in self.received]


@pytest.fixture
def listener() -> Iterator[Listener]:
    listener = Listener(free_port())
    thread = threading.Thread(target=listener.loop.run_forever, daemon=True)
    thread.start()
    listener.start()
    try:
        yield listener
    finally:
        listener.stop()
        listener.loop.call_soon_threadsafe(listener.loop.stop)
        thread.join(timeout=30)
        listener.loop.close()


# ---------------------------------------------------------------------------------------
# The database and the story


def settings_for(port: int) -> Hl7Settings:
    defaults = {name: getattr(config.Defaults, name) for name in dir(config.Defaults)}
    return hl7_settings({**defaults, "HL7_RECEIVERS": f"ehr=127.0.0.1:{port}/EHR/MAIN"})


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'scheduler.sqlite3'}"
        command.upgrade(alembic_config(url), "head")
        yield url
    else:
        for url in scratch_postgresql_database("siu"):
            command.upgrade(alembic_config(url), "head")
            yield url


@dataclass(frozen=True)
class Clinic:
    site_id: int
    room_id: int
    surgeon_id: int


def clinic(session: Session, now: datetime) -> Clinic:
    site, room, surgeon = one_room_clinic(
        session, now, name="Riverside", zone=str(ZONE), address="1 River Rd"
    )
    return Clinic(site.id, room.id, surgeon.id)


def story(session: Session, where: Clinic, n: int) -> tuple[int, int]:
    """Patient ``n``'s day, ``n + 1`` days ago: a block booked, moved and cancelled, then
    rebooked and the patient not coming. The two appointments' ids."""
    day = datetime.now(UTC).astimezone(ZONE).date() - timedelta(days=n + 1)
    at = lambda hour: datetime.combine(day, time(hour), ZONE)  # noqa: E731
    now = at(9) - timedelta(days=2)
    patient = register_patient(
        session,
        DESK,
        now,
        mrn=f"{MRN}-{n}",
        given_name="Ada",
        family_name="Lovelace",
        birth_date=date(1961, 12, 10),
        email=None,
        phone=None,
    )
    pathway = pathways.create_pathway(
        session,
        DESK,
        now,
        Referral(
            patient_id=patient.id,
            clinician_id=where.surgeon_id,
            site_id=where.site_id,
            indication=Indication.FACET_JOINT_SYNDROME,
            region=Region.LUMBAR,
            side=Side.RIGHT,
            levels=["L4-L5"],
            pain_onset_date=day - timedelta(days=365),
        ),
    )

    def book(start: datetime, now: datetime) -> int:
        return booking.book_appointment(
            session,
            DESK,
            now,
            pathway_id=pathway.id,
            kind=AppointmentKind.DIAGNOSTIC_BLOCK,
            start=start,
            room_id=where.room_id,
            reminder_before=timedelta(hours=48),
        ).id

    first = book(at(9), now)
    booking.reschedule_appointment(
        session,
        DESK,
        now + timedelta(minutes=1),
        first,
        start=at(10),
        reminder_before=timedelta(hours=48),
    )
    cancellation.cancel_appointment(session, DESK, now + timedelta(minutes=2), first, "Unwell")
    second = book(at(11), now + timedelta(minutes=3))
    cancellation.record_no_show(session, DESK, at(12), second, None)
    return first, second


def write_stories(url: str, settings: Hl7Settings, patients: int = 1) -> list[tuple[int, int]]:
    engine = make_engine(url)
    try:
        with make_sessionmaker(engine)(info=reporting_to(settings)) as session:
            where = clinic(session, datetime.now(UTC) - timedelta(days=patients + 3))
            ids = [story(session, where, n) for n in range(patients)]
            session.commit()
    finally:
        engine.dispose()
    return ids


def deliveries(url: str) -> list[tuple[str, int]]:
    """(status, attempts) of each delivery, oldest first."""
    engine = make_engine(url)
    try:
        with make_sessionmaker(engine)() as session:
            rows = session.scalars(select(SiuDelivery).order_by(SiuDelivery.id)).all()
            return [(row.status.value, row.attempts) for row in rows]
    finally:
        engine.dispose()


def worker_once(url: str, port: int, directory: Path) -> str:
    output, returncode = finished(start_worker(url, port, directory))
    assert returncode == 0, output
    return output


def start_worker(url: str, port: int, directory: Path) -> subprocess.Popen[bytes]:
    environment = {
        **os.environ,
        "SCHEDULER_DATABASE_URL": url,
        "SCHEDULER_SECRET_KEY": "e2e-secret",
        "SCHEDULER_HL7_RECEIVERS": f"ehr=127.0.0.1:{port}/EHR/MAIN",
        "SCHEDULER_HL7_ACK_TIMEOUT_SECONDS": "10",
        "PYTHONDONTWRITEBYTECODE": "1",
        "TMPDIR": str(directory),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "hl7", "run", "--once"],
        cwd=PROJECT_ROOT,
        env=environment,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def finished(process: subprocess.Popen[bytes]) -> tuple[str, int]:
    """The worker's output and exit code; killed (by its pid) if it hangs."""
    try:
        output, _ = process.communicate(timeout=300)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return output.decode(), process.returncode


# ---------------------------------------------------------------------------------------
# The tests


def test_a_moved_cancelled_and_rebooked_booking_reaches_the_ehr_as_s12_s13_s15_s12_s26(
    database_url: str, listener: Listener, tmp_path: Path
) -> None:
    [(first, second)] = write_stories(database_url, settings_for(listener.port))

    output = worker_once(database_url, listener.port, tmp_path)

    assert "Sent 5, rejected 0, retrying 0, dead 0." in output
    assert listener.events() == [
        ("S12", str(first)),
        ("S13", str(first)),
        ("S15", str(first)),
        ("S12", str(second)),
        ("S26", str(second)),
    ]
    for received in listener.received:  # each one valid HL7 v2.5.1 SIU for hl7apy too
        message = parse_message(str(received), validation_level=VALIDATION_LEVEL.STRICT)
        message.validate()
        assert message.msh.msh_5.value == "EHR"
        assert message.siu_s12_patient.pid.pid_3.cx_1.value == f"{MRN}-0"
    statuses = [m["SCH.F25.R1.C1"] for m in listener.received]  # as hl7 parsed them
    assert statuses == ["Booked", "Booked", "Cancelled", "Booked", "Noshow"]
    assert deliveries(database_url) == [("sent", 1)] * 5
    assert worker_once(database_url, listener.port, tmp_path).startswith("Sent 0,")


def test_a_listener_gone_mid_stream_loses_nothing_and_repeats_nothing_acknowledged(
    database_url: str, listener: Listener, tmp_path: Path
) -> None:
    settings = settings_for(listener.port)
    [(first, second)] = write_stories(database_url, settings)
    listener.answers = 2  # then it goes down

    output = worker_once(database_url, listener.port, tmp_path)
    listener.stop()

    # S12 and S13 went through; the S15 found no one, the rebooked S12 neither, and the
    # S26 waits behind that S12 (in order per appointment).
    assert "Sent 2, rejected 0, retrying 2, dead 0." in output
    assert deliveries(database_url) == [
        ("sent", 1),
        ("sent", 1),
        ("pending", 1),
        ("pending", 1),
        ("pending", 0),
    ]

    listener.answers = None
    listener.start()  # back, on the same port
    engine = make_engine(database_url)
    later = datetime.now(UTC) + timedelta(hours=1)  # past every backoff
    try:
        result = deliver_due(make_sessionmaker(engine), settings, lambda: later)
    finally:
        engine.dispose()

    assert result == PassResult(sent=3)
    assert listener.events() == [
        ("S12", str(first)),
        ("S13", str(first)),
        ("S15", str(first)),
        ("S12", str(second)),
        ("S26", str(second)),
    ]
    assert len(set(listener.acknowledged)) == len(listener.acknowledged) == 5
    assert [status for status, _ in deliveries(database_url)] == [DeliveryStatus.SENT.value] * 5


PATIENTS = 20


def test_two_workers_at_once_send_each_message_once_and_each_appointment_in_order(
    database_url: str, listener: Listener, tmp_path: Path
) -> None:
    """On PostgreSQL they share the queue (FOR UPDATE SKIP LOCKED); on SQLite they take
    turns. Either way a message is acknowledged once, and no appointment's messages
    arrive out of order."""
    stories = write_stories(database_url, settings_for(listener.port), PATIENTS)

    workers = [start_worker(database_url, listener.port, tmp_path) for _ in range(2)]
    outputs = [finished(worker) for worker in workers]

    assert [code for _, code in outputs] == [0, 0], outputs
    sent = [int(output.split("Sent ", 1)[1].split(",", 1)[0]) for output, _ in outputs]
    print(f"sent per worker: {sent}")  # shown with pytest -s
    assert sum(sent) == 5 * PATIENTS
    assert len(set(listener.acknowledged)) == len(listener.acknowledged) == 5 * PATIENTS
    received = listener.events()
    for first, second in stories:
        assert [e for e, a in received if a == str(first)] == ["S12", "S13", "S15"]
        assert [e for e, a in received if a == str(second)] == ["S12", "S26"]


# ---------------------------------------------------------------------------------------
# The MLLP exchange against receivers that misbehave (a plain socket on 127.0.0.1)


@contextmanager
def receiver_answering(answer: bytes | None) -> Iterator[Hl7Receiver]:
    """A one-connection receiver that reads the message, then sends ``answer`` (None:
    nothing, until the test is over) and keeps the connection open."""
    server = socket.create_server(("127.0.0.1", 0))
    done = threading.Event()

    def serve() -> None:
        connection, _ = server.accept()
        with connection:
            connection.recv(65536)
            if answer is not None:
                connection.sendall(answer)
            done.wait(30)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield Hl7Receiver("ehr", "127.0.0.1", server.getsockname()[1])
    finally:
        done.set()
        thread.join(timeout=30)
        server.close()


FRAMED_ACK = b"\x0bMSH|^~\\&|EHR|MAIN|||20260302||ACK|1|P|2.5.1\rMSA|AA|c1\x1c\r"


def test_exchange_returns_the_framed_answer() -> None:
    with receiver_answering(FRAMED_ACK) as receiver:
        answer = exchange(receiver, "MSH|^~\\&|SCHEDULER", timeout=10)

    assert read_ack(answer, "c1") is AckCode.ACCEPTED


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (None, TimeoutError),  # slow: no answer within the timeout
        (b"HTTP/1.1 400 Bad Request\r\n\r\n\x1c\r", UnreadableAck),  # not MLLP
        (b"\x0b" + b"x" * 70_000, UnreadableAck),  # never ends
    ],
)
def test_exchange_gives_up_on_a_slow_or_garbled_receiver(
    answer: bytes | None, error: type[Exception]
) -> None:
    with receiver_answering(answer) as receiver, pytest.raises(error):
        exchange(receiver, "MSH|^~\\&|SCHEDULER", timeout=1)


def test_exchange_with_a_receiver_that_is_down_is_a_refused_connection() -> None:
    with pytest.raises(ConnectionRefusedError):
        exchange(Hl7Receiver("ehr", "127.0.0.1", free_port()), "MSH|^~\\&|X", timeout=5)
