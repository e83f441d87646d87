"""Two independent instances of the service on one database and one Redis (SPEC §9).

Two gunicorn instances (each with its own workers, on its own port) serve one database
(a scratch PostgreSQL database when TEST_DATABASE_URL is set; a shared SQLite file too)
and share their sign-in rate limit through Redis; two outbox workers send the mail.
Conflicting bookings sent through both instances at once book each slot once (the losers
get 409), five wrong passwords spread over both instances exhaust one shared limit, and
every invite of the winners is sent once.
"""

from __future__ import annotations

import http.client
import json
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import text

from scheduler.cli import alembic_config
from scheduler.db import make_engine, make_sessionmaker
from tests.e2e.gunicorn import HOST, Served, serve
from tests.e2e.test_concurrent_booking import (
    BACKENDS,
    CLIENTS,
    GROUPS,
    REQUEST_TIMEOUT,
    Clinic,
    Post,
    Reply,
    _headers,
    _read,
    block_body,
    contender_start,
    group_of,
    overlaps,
    seed_clinic,
)
from tests.e2e.test_outbox_workers import worker
from tests.mailbox import Mailbox, running_mailbox
from tests.support import scratch_postgresql_database

REDIS_URL = "redis://127.0.0.1:6379/0"
LOGIN_LIMIT = 5


@pytest.fixture(scope="module", params=BACKENDS)
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('instances-db') / 'scheduler.sqlite3'}"
    else:
        yield from scratch_postgresql_database("instances")


@pytest.fixture(scope="module")
def clinic(database_url: str) -> Clinic:
    """Migrated, seeded, and every patient given an address (so bookings queue invites)."""
    command.upgrade(alembic_config(database_url), "head")
    engine = make_engine(database_url)
    try:
        with make_sessionmaker(engine)() as session:
            clinic = seed_clinic(session, datetime.now(UTC))
            session.execute(text("UPDATE patients SET email = 'patient' || id || '@mail.example'"))
            session.commit()
    finally:
        engine.dispose()
    return clinic


@pytest.fixture(scope="module")
def instances(
    database_url: str, clinic: Clinic, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Served, Served]]:
    shared = {
        "SCHEDULER_RATELIMIT_STORAGE_URI": REDIS_URL,
        # A prefix of this run's own, so that no earlier run's counters count here.
        "SCHEDULER_RATELIMIT_KEY_PREFIX": f"scheduler-test-{uuid.uuid4().hex}",
        "SCHEDULER_LOGIN_RATE_LIMIT": f"{LOGIN_LIMIT} per minute",
    }
    with ExitStack() as stack:
        first, second = (
            stack.enter_context(
                serve(database_url, tmp_path_factory.mktemp(f"instance-{n}"), env=shared)
            )
            for n in (1, 2)
        )
        yield first, second


def send_together(sends: list[tuple[Served, str, Post]]) -> list[Reply]:
    """Each POST from its own thread and connection, released together by one barrier."""
    barrier = threading.Barrier(len(sends))
    outcomes: list[Reply | Exception | None] = [None] * len(sends)

    def send(index: int, served: Served, path: str, post: Post) -> None:
        connection = http.client.HTTPConnection(HOST, served.port, timeout=REQUEST_TIMEOUT)
        try:
            connection.connect()
            barrier.wait(timeout=REQUEST_TIMEOUT)
            connection.request("POST", path, body=post.body, headers=_headers(post))
            outcomes[index] = _read(connection.getresponse())
        except Exception as error:  # kept, reported below
            outcomes[index] = error
            barrier.abort()
        finally:
            connection.close()

    threads = [
        threading.Thread(target=send, args=(index, *item)) for index, item in enumerate(sends)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    failures = [outcome for outcome in outcomes if not isinstance(outcome, Reply)]
    assert not failures, failures
    return [outcome for outcome in outcomes if isinstance(outcome, Reply)]


def sign_in(served: Served, password: str) -> int:
    connection = http.client.HTTPConnection(HOST, served.port, timeout=REQUEST_TIMEOUT)
    try:
        body = json.dumps({"email": "scheduler0@e2e.example.org", "password": password})
        connection.request(
            "POST", "/api/v1/auth/tokens", body=body, headers={"Content-Type": "application/json"}
        )
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def test_conflicting_bookings_through_two_instances_book_each_slot_once_and_mail_once(
    clinic: Clinic,
    instances: tuple[Served, Served],
    database_url: str,
    tmp_path: Path,
) -> None:
    contenders = clinic.pathway_ids[:CLIENTS]
    sends = [
        (
            instances[index % 2],
            "/api/v1/appointments",
            Post(
                clinic.tokens[index % len(clinic.tokens)],
                block_body(pathway_id, contender_start(clinic.day, index), clinic.room_id),
            ),
        )
        for index, pathway_id in enumerate(contenders)
    ]

    replies = send_together(sends)

    statuses = Counter(reply.status for reply in replies)
    explain = f"{statuses} {[(r.status, r.body) for r in replies if r.status not in (201, 409)]}"
    assert set(statuses) <= {201, 409}, explain
    won = [index for index, reply in enumerate(replies) if reply.status == 201]
    assert sorted(group_of(index) for index in won) == list(range(GROUPS)), explain
    engine = make_engine(database_url)
    try:
        assert overlaps(engine) == ([], [])
    finally:
        engine.dispose()

    with running_mailbox() as mailbox:
        send_mail(database_url, mailbox, tmp_path)
        invited = Counter(tuple(recipients) for recipients in mailbox.recipients)
    winners = {
        f"patient{reply.body['patient_id']}@mail.example"
        for reply in replies
        if reply.status == 201
    }
    assert {address for (address,) in invited} == winners
    assert set(invited.values()) == {1}


def send_mail(database_url: str, mailbox: Mailbox, directory: Path) -> None:
    """Two outbox workers at once, each until nothing is due."""
    workers = [worker(database_url, mailbox, directory) for _ in range(2)]
    for process in workers:
        try:
            output, _ = process.communicate(timeout=120)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        assert process.returncode == 0, output.decode()


def test_the_sign_in_limit_is_shared_by_both_instances(
    instances: tuple[Served, Served],
) -> None:
    first, second = instances
    answers = [sign_in(instances[n % 2], "wrong-password-here") for n in range(LOGIN_LIMIT)]
    assert answers == [401] * LOGIN_LIMIT
    # The limit is spent across both: the next attempt is refused by either instance.
    assert sign_in(first, "wrong-password-here") == 429
    assert sign_in(second, "concurrency-test-pass") == 429
