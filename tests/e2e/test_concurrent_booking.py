"""No double booking under real concurrency: gunicorn workers, many clients at once.

The app runs as it does in production (``gunicorn wsgi:app -c gunicorn.conf.py``, several
sync worker processes, each with its own connection pool) on a migrated database: a
temporary SQLite file always, and a scratch PostgreSQL database beside
TEST_DATABASE_URL's when that is set. Threads released by one barrier send their
bookings together, so the requests really race inside different processes; afterwards
the answers and the tables must both say that every resource is booked once at a time.
"""

from __future__ import annotations

import http.client
import json
import os
import threading
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from time import monotonic, sleep
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from alembic import command
from sqlalchemy import Engine, Executable, func, select, text
from sqlalchemy.orm import Session

from scheduler.access import SYSTEM
from scheduler.auth.services import actor_for, create_user, issue_token
from scheduler.cli import alembic_config
from scheduler.clinicians import services as clinicians
from scheduler.db import make_engine, make_sessionmaker
from scheduler.facilities import services as facilities
from scheduler.feeds import services as feeds
from scheduler.pathways import services as pathways
from scheduler.pathways.models import Pathway, PathwayEvent
from scheduler.pathways.referral import Referral
from scheduler.pathways.states import PathwayState, Trigger
from scheduler.patients.services import register_patient
from scheduler.scheduling.calendars import DURATIONS
from scheduler.scheduling.models import Allocation, Appointment, IdempotencyKey
from scheduler.vocabulary import AppointmentKind, Indication, Region, Role, RoomKind, Side
from tests.e2e.gunicorn import HOST, serve
from tests.support import scratch_postgresql_database

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if TEST_DATABASE_URL else [])

WORKERS = 4
START_TIMEOUT = 30.0
REQUEST_TIMEOUT = 60.0

ZONE = "America/New_York"
DAYS_AHEAD = 3
SCHEDULERS = 4
CLIENTS = 32
IDEMPOTENT_CLIENTS = 16
# The contenders' blocks fall into groups an hour apart. Inside a group the starts are
# 0, 10 and 20 minutes after the group's hour, so any two blocks of a group overlap
# (30-minute blocks) and no block reaches the next group: exactly one per group fits.
GROUPS = 4
FIRST_START = time(9)
GROUP_SPACING = timedelta(hours=1)
OFFSETS = (timedelta(0), timedelta(minutes=10), timedelta(minutes=20))
BLOCK = DURATIONS[AppointmentKind.DIAGNOSTIC_BLOCK]
assert max(OFFSETS) < BLOCK
assert max(OFFSETS) + BLOCK <= GROUP_SPACING

# Pairs of active allocations of one resource whose [start_at, end_at) intervals overlap.
OVERLAPPING_ALLOCATIONS = text(
    "SELECT a.id, b.id, a.resource_kind, a.resource_id FROM allocations a "
    "JOIN allocations b ON b.resource_kind = a.resource_kind "
    "AND b.resource_id = a.resource_id AND b.id > a.id "
    "WHERE a.active AND b.active AND a.start_at < b.end_at AND b.start_at < a.end_at"
)
# Pairs of booked appointments sharing a room or a clinician at the same time.
OVERLAPPING_APPOINTMENTS = text(
    "SELECT a.id, b.id FROM appointments a "
    "JOIN appointments b ON b.id > a.id "
    "AND (b.room_id = a.room_id OR b.clinician_id = a.clinician_id) "
    "WHERE a.status = 'booked' AND b.status = 'booked' "
    "AND a.start_at < b.end_at AND b.start_at < a.end_at"
)


# ---------------------------------------------------------------------------------------
# The database: migrated, then a small clinic seeded through the services


@dataclass(frozen=True)
class Clinic:
    room_id: int
    clinician_id: int
    # One referred pathway (of its own patient) per contender, and one more.
    pathway_ids: tuple[int, ...]
    # Bearer tokens of scheduler users.
    tokens: tuple[str, ...]
    # The site-local day the contenders book, DAYS_AHEAD days from today.
    day: date


def seed_clinic(session: Session, now: datetime) -> Clinic:
    """One site, two fluoroscopy rooms, one clinician working every day from 07:00 to 18:00."""
    site = facilities.create_site(
        session,
        SYSTEM,
        now,
        name="Concurrency Spine Center",
        timezone=ZONE,
        address="1 Test Road",
        phone=None,
        min_notice_minutes=5,
    )
    rooms = [
        facilities.create_room(
            session,
            SYSTEM,
            now,
            site_id=site.id,
            name=f"Fluoroscopy room {n}",
            kind=RoomKind.PROCEDURE,
            fluoroscopy=True,
        )
        for n in (1, 2)
    ]
    surgeon = clinicians.create_clinician(
        session,
        SYSTEM,
        now,
        given_name="Sam",
        family_name="Surgeon",
        email="surgeon@e2e.example.org",
    )
    clinicians.set_working_hours(
        session,
        SYSTEM,
        now,
        surgeon.id,
        [
            {"site_id": site.id, "weekday": day, "start": time(7), "end": time(18)}
            for day in range(7)
        ],
    )
    users = [
        create_user(
            session,
            SYSTEM,
            now,
            email=f"scheduler{n}@e2e.example.org",
            password="concurrency-test-pass",
            role=Role.SCHEDULER,
        )
        for n in range(SCHEDULERS)
    ]
    tokens = tuple(issue_token(session, user, now, timedelta(hours=1))[0] for user in users)
    desk = actor_for(users[0])
    today = now.astimezone(ZoneInfo(ZONE)).date()
    pathway_ids = []
    for n in range(CLIENTS + 1):
        patient = register_patient(
            session,
            SYSTEM,
            now,
            mrn=f"E2E-{n:04d}",
            given_name=f"Patient {n}",
            family_name="Concurrent",
            birth_date=date(1950, 1, 1) + timedelta(days=97 * n),
            email=None,
            phone=None,
        )
        pathway = pathways.create_pathway(
            session,
            desk,
            now,
            Referral(
                patient_id=patient.id,
                clinician_id=surgeon.id,
                site_id=site.id,
                indication=Indication.FACET_JOINT_SYNDROME,
                region=Region.LUMBAR,
                side=Side.RIGHT,
                levels=["L4-L5"],
                pain_onset_date=today - timedelta(days=365),
            ),
        )
        pathway_ids.append(pathway.id)
    return Clinic(
        room_id=rooms[0].id,
        clinician_id=surgeon.id,
        pathway_ids=tuple(pathway_ids),
        tokens=tokens,
        day=today + timedelta(days=DAYS_AHEAD),
    )


@pytest.fixture(scope="module", params=BACKENDS)
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('e2e-db') / 'scheduler.sqlite3'}"
    else:
        yield from scratch_postgresql_database("e2e")


@pytest.fixture(scope="module")
def clinic(database_url: str) -> Clinic:
    """The database migrated by Alembic, then seeded and committed."""
    command.upgrade(alembic_config(database_url), "head")
    engine = make_engine(database_url)
    try:
        with make_sessionmaker(engine)() as session:
            clinic = seed_clinic(session, datetime.now(UTC))
            session.commit()
    finally:
        engine.dispose()
    return clinic


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """For looking at the tables after a test's requests (see :func:`rows`)."""
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


# ---------------------------------------------------------------------------------------
# The server and its clients


@dataclass(frozen=True)
class Reply:
    status: int
    content_type: str
    body: Any  # the JSON document, or the text of a body that is not JSON


@dataclass(frozen=True)
class Post:
    token: str
    body: bytes
    idempotency_key: str | None = None


def _read(response: http.client.HTTPResponse) -> Reply:
    raw = response.read()
    try:
        body = json.loads(raw)
    except ValueError:
        body = raw.decode(errors="replace")
    content_type = (response.getheader("Content-Type") or "").partition(";")[0].strip()
    return Reply(response.status, content_type, body)


def _headers(post: Post) -> dict[str, str]:
    headers = {
        "Authorization": f"Bearer {post.token}",
        "Content-Type": "application/json",
        "Accept": "application/json",
    }
    if post.idempotency_key is not None:
        headers["Idempotency-Key"] = post.idempotency_key
    return headers


@dataclass(frozen=True)
class Server:
    port: int
    log: Path

    def get(self, path: str) -> Reply:
        connection = http.client.HTTPConnection(HOST, self.port, timeout=REQUEST_TIMEOUT)
        try:
            connection.request("GET", path)
            return _read(connection.getresponse())
        finally:
            connection.close()

    def post_together(self, path: str, posts: Sequence[Post]) -> list[Reply]:
        """Send every post from its own thread, all released at once by one barrier.

        Each thread connects first, so that the requests leave together; a thread's
        failure is kept and reported here rather than lost with the thread.
        """
        barrier = threading.Barrier(len(posts))
        outcomes: list[Reply | Exception | None] = [None] * len(posts)

        def send(index: int, post: Post) -> None:
            connection = http.client.HTTPConnection(HOST, self.port, timeout=REQUEST_TIMEOUT)
            try:
                connection.connect()
                barrier.wait(timeout=REQUEST_TIMEOUT)
                connection.request("POST", path, body=post.body, headers=_headers(post))
                outcomes[index] = _read(connection.getresponse())
            except Exception as error:
                outcomes[index] = error
                barrier.abort()  # the others stop waiting for this one
            finally:
                connection.close()

        threads = [
            threading.Thread(target=send, args=(index, post), name=f"client-{index}")
            for index, post in enumerate(posts)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        failures = [outcome for outcome in outcomes if not isinstance(outcome, Reply)]
        assert not failures, f"clients failed: {failures!r}\n{self.log_tail()}"
        return [outcome for outcome in outcomes if isinstance(outcome, Reply)]

    def log_tail(self, lines: int = 80) -> str:
        content = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "gunicorn log (tail):\n" + "\n".join(content.splitlines()[-lines:])


@pytest.fixture(scope="module")
def server(
    database_url: str, clinic: Clinic, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """gunicorn with the project's settings, its files (log, heartbeats) in a temp dir."""
    with serve(database_url, tmp_path_factory.mktemp("gunicorn"), workers=WORKERS) as served:
        yield Server(port=served.port, log=served.log)


# ---------------------------------------------------------------------------------------
# Helpers of the tests


def at(day: date, clock: time) -> datetime:
    return datetime.combine(day, clock, ZoneInfo(ZONE))


def group_of(index: int) -> int:
    return index % GROUPS


def contender_start(day: date, index: int) -> datetime:
    """Client ``index``'s start: its group's hour plus 0, 10 or 20 minutes."""
    offset = OFFSETS[(index // GROUPS) % len(OFFSETS)]
    return at(day, FIRST_START) + group_of(index) * GROUP_SPACING + offset


def block_body(pathway_id: int, start: datetime, room_id: int) -> bytes:
    body = {
        "pathway_id": pathway_id,
        "kind": AppointmentKind.DIAGNOSTIC_BLOCK.value,
        "start": start.isoformat(),
        "room_id": room_id,
    }
    return json.dumps(body).encode()


def rows(engine: Engine, statement: Executable) -> list[tuple[Any, ...]]:
    """Every row of ``statement``, with its cursor closed even when reading fails.

    A statement left unfinished keeps its read lock on the SQLite file, and the server's
    writers would then time out (500) in every later test of the module.
    """
    with engine.connect() as connection, connection.execute(statement) as result:
        return [tuple(row) for row in result]


def overlaps(engine: Engine) -> tuple[list[Any], list[Any]]:
    """Overlapping active allocations of one resource, and overlapping booked appointments."""
    return rows(engine, OVERLAPPING_ALLOCATIONS), rows(engine, OVERLAPPING_APPOINTMENTS)


def summary(replies: Sequence[Reply]) -> str:
    lines = [f"{index}: {reply.status} {reply.body!r}" for index, reply in enumerate(replies)]
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------
# Tests


def test_concurrent_bookings_of_overlapping_blocks_book_each_slot_once(
    clinic: Clinic, server: Server, engine: Engine
) -> None:
    contenders = clinic.pathway_ids[:CLIENTS]
    starts = [contender_start(clinic.day, index) for index in range(CLIENTS)]
    posts = [
        Post(clinic.tokens[index % SCHEDULERS], block_body(pathway_id, start, clinic.room_id))
        for index, (pathway_id, start) in enumerate(zip(contenders, starts, strict=True))
    ]

    replies = server.post_together("/api/v1/appointments", posts)

    statuses = Counter(reply.status for reply in replies)
    explain = f"{statuses}\n{summary(replies)}\n{server.log_tail()}"
    assert set(statuses) <= {201, 409}, explain
    for reply in replies:
        if reply.status == 409:
            assert reply.content_type == "application/problem+json", explain
            assert reply.body["type"].endswith("/slot-taken"), explain
            assert set(reply.body["resources"]) <= {"clinician", "room"}, explain
    won = {index: reply.body for index, reply in enumerate(replies) if reply.status == 201}
    assert len(won) == GROUPS, explain
    assert sorted(group_of(index) for index in won) == list(range(GROUPS)), explain
    for index, appointment in won.items():
        assert appointment["pathway_id"] == contenders[index]
        assert appointment["room_id"] == clinic.room_id
        assert appointment["clinician_id"] == clinic.clinician_id
        assert datetime.fromisoformat(appointment["start"]) == starts[index]

    winners = {contenders[index]: appointment["id"] for index, appointment in won.items()}
    assert overlaps(engine) == ([], [])
    booked = rows(
        engine,
        select(Appointment.pathway_id, Appointment.id).where(
            Appointment.pathway_id.in_(contenders)
        ),
    )
    allocated = Counter(
        rows(
            engine,
            select(Allocation.appointment_id, Allocation.resource_kind).where(
                Allocation.active.is_(True),
                Allocation.start_at >= at(clinic.day, time()),
                Allocation.start_at < at(clinic.day + timedelta(days=1), time()),
            ),
        )
    )
    states = dict(rows(engine, select(Pathway.id, Pathway.state).where(Pathway.id.in_(contenders))))
    assert dict(booked) == winners
    assert len(booked) == len(winners)  # no pathway booked twice
    # Each winner holds its clinician, room and patient once; nothing else holds that day.
    assert {appointment_id for appointment_id, _kind in allocated} == set(winners.values())
    assert set(allocated.values()) == {1}
    assert len(allocated) == 3 * GROUPS
    assert states == {
        pathway_id: PathwayState.BLOCK_SCHEDULED if pathway_id in winners else PathwayState.REFERRED
        for pathway_id in contenders
    }


def test_same_idempotency_key_sent_at_once_books_exactly_once(
    clinic: Clinic, server: Server, engine: Engine
) -> None:
    pathway_id = clinic.pathway_ids[CLIENTS]
    start = at(clinic.day + timedelta(days=1), FIRST_START)
    post = Post(clinic.tokens[0], block_body(pathway_id, start, clinic.room_id), str(uuid.uuid4()))

    replies = server.post_together("/api/v1/appointments", [post] * IDEMPOTENT_CLIENTS)

    explain = f"{summary(replies)}\n{server.log_tail()}"
    assert [reply.status for reply in replies] == [201] * IDEMPOTENT_CLIENTS, explain
    assert len({json.dumps(reply.body, sort_keys=True) for reply in replies}) == 1, explain
    appointment_id = replies[0].body["id"]
    assert overlaps(engine) == ([], [])
    assert rows(engine, select(Appointment.id).where(Appointment.pathway_id == pathway_id)) == [
        (appointment_id,)
    ]
    stored_keys = select(func.count()).where(IdempotencyKey.key == post.idempotency_key)
    assert rows(engine, stored_keys) == [(1,)]
    booking_events = select(func.count()).where(
        PathwayEvent.pathway_id == pathway_id, PathwayEvent.trigger == Trigger.BOOK_BLOCK
    )
    assert rows(engine, booking_events) == [(1,)]


def test_the_access_log_shows_no_feed_or_invite_link_token(
    server: Server, database_url: str, clinic: Clinic
) -> None:
    """Feed and invite-link paths carry their secret: the log line shows it redacted."""
    engine = make_engine(database_url)
    try:
        with make_sessionmaker(engine)() as session:
            feed_token = feeds.issue_token(session, SYSTEM, datetime.now(UTC), clinic.clinician_id)
            session.commit()
    finally:
        engine.dispose()
    link_token = "c2lnbmVkLWxpbmstdG9rZW4.not-a-valid-signature"

    feed = server.get(f"/feeds/{feed_token}.ics")
    link = server.get(f"/i/{link_token}.ics?download=1")

    assert (feed.status, feed.content_type) == (200, "text/calendar")
    assert link.status == 404
    deadline = monotonic() + START_TIMEOUT  # the worker writes its line after the response
    while "/i/<redacted>.ics" not in server.log.read_text() and monotonic() < deadline:
        sleep(0.05)
    log = server.log.read_text()
    lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    served = {(line.get("path"), line.get("status")) for line in lines}
    assert {("/feeds/<redacted>.ics", 200), ("/i/<redacted>.ics", 404)} <= served
    assert feed_token not in log
    assert link_token not in log
    assert "download=1" not in log
