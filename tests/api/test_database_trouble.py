"""A database that is away or busy is nobody's fault: 503 or a retry, never a 500 (SPEC §7).

The errors are real: a PostgreSQL port that refuses connections, an SQLite file that
cannot be opened, an SQLite write lock held by another connection, and a PostgreSQL
deadlock made by two transactions taking two locks in opposite order.
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from scheduler import health
from scheduler.api import RETRY_AFTER_SECONDS, WRITE_ATTEMPTS
from scheduler.context import Database
from scheduler.db import is_database_away, is_transient_conflict, make_engine, make_sessionmaker
from scheduler.patients import services as patients
from scheduler.patients.models import Patient
from scheduler.web.signin import TOKEN_KEY
from tests.api.conftest import unreachable_url
from tests.api.test_bad_input import assert_problem
from tests.support import Api

PATIENT = {"mrn": "AWAY-1", "given_name": "Ada", "family_name": "Away", "birth_date": "1960-01-01"}


def assert_unavailable(response: Any) -> None:
    assert_problem(response, 503, "database-unavailable")
    assert response.headers["Retry-After"] == str(RETRY_AFTER_SECONDS)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/patients", None),
        ("GET", "/patients/1", None),
        ("POST", "/patients", PATIENT),
        ("GET", "/auth/me", None),
    ],
)
def test_a_database_that_is_away_gives_503_with_retry_after(
    api: Api, database_away: None, method: str, path: str, body: Any
) -> None:
    assert_unavailable(api.call(method, path, json=body))


def test_signing_in_while_the_database_is_away_is_503(api: Api, database_away: None) -> None:
    response = api.post("/auth/tokens", {"email": "a@b.example", "password": "x" * 12}, as_=None)
    assert_unavailable(response)


def test_a_page_while_the_database_is_away_is_an_html_503(api: Api, database_away: None) -> None:
    response = api.client.get("/signin")
    # The sign-in form needs no database; a page behind sign-in does.
    assert response.status_code == 200
    with api.client.session_transaction() as cookie:
        cookie[TOKEN_KEY] = api.tokens["scheduler"]
    page = api.client.get("/board/")
    assert page.status_code == 503
    assert page.mimetype == "text/html"
    assert "Briefly unavailable" in page.get_data(as_text=True)
    assert page.headers["Retry-After"] == str(RETRY_AFTER_SECONDS)


def test_the_outage_is_one_log_line_without_a_stack_trace(
    api: Api, database_away: None, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        assert_unavailable(api.get("/patients", query_string={"q": "Secret Name"}))
    lines = [r.getMessage() for r in caplog.records if r.name.startswith("scheduler")]
    assert len(lines) == 1, lines
    assert lines[0].startswith("database unavailable")
    assert "Traceback" not in caplog.text
    assert "Secret" not in caplog.text
    assert all(r.levelno < logging.ERROR for r in caplog.records)


def test_the_service_answers_again_once_the_database_is_back(
    api: Api, app: Flask, backend: str, tmp_path: Path
) -> None:
    database = Database.of(app)
    working = database.sessionmaker
    engine = create_engine(unreachable_url(backend, tmp_path))
    database.sessionmaker = make_sessionmaker(engine)
    assert_unavailable(api.get("/patients"))
    database.sessionmaker = working
    engine.dispose()
    assert api.get("/patients").status_code == 200


# ---------------------------------------------------------------------------------------
# Contention the database itself reports


def real_deadlock(url: str) -> DBAPIError:
    """The error PostgreSQL raises in one of two transactions that lock in opposite order."""
    engine = create_engine(url)
    first, second = (secrets.randbelow(2**62) for _ in range(2))
    both_hold_one = threading.Barrier(2, timeout=10)
    caught: list[DBAPIError] = []

    def lock(one: int, other: int) -> None:
        with engine.connect() as connection, connection.begin():
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": one})
            both_hold_one.wait()
            try:
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": other})
            except DBAPIError as error:
                caught.append(error)

    threads = [
        threading.Thread(target=lock, args=(first, second)),
        threading.Thread(target=lock, args=(second, first)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    engine.dispose()
    assert len(caught) == 1, caught
    return caught[0]


def failing_first(
    monkeypatch: pytest.MonkeyPatch, error: Exception, times: int
) -> Callable[[], int]:
    """register_patient raises ``error`` on its first ``times`` calls; returns the count."""
    original = patients.register_patient
    calls = 0

    def flaky(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls <= times:
            raise error
        return original(*args, **kwargs)

    monkeypatch.setattr(patients, "register_patient", flaky)
    return lambda: calls


def stored_patients(db: Session) -> int:
    return db.scalar(select(func.count()).select_from(Patient).where(Patient.mrn == "AWAY-1")) or 0


def test_a_database_contention_is_retried_or_answered_without_a_500(
    api: Api,
    app: Flask,
    backend: str,
    database_url: str,
    db: Session,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if backend == "postgresql":
        # A deadlock: the write runs again; only when every attempt deadlocks is it 409.
        deadlock = real_deadlock(database_url)
        assert is_transient_conflict(deadlock)
        assert not is_database_away(deadlock)
        calls = failing_first(monkeypatch, deadlock, WRITE_ATTEMPTS - 1)
        assert api.post("/patients", PATIENT).status_code == 201
        assert calls() == WRITE_ATTEMPTS
        assert stored_patients(db) == 1
        monkeypatch.undo()
        calls = failing_first(monkeypatch, deadlock, WRITE_ATTEMPTS)
        again = api.post("/patients", {**PATIENT, "mrn": "AWAY-2"})
        assert_problem(again, 409, "concurrent-change")
        assert calls() == WRITE_ATTEMPTS
        return
    # SQLite: the test's own open transaction has written (the fixtures' users and tokens),
    # so it holds the write lock; a request on another connection outwaits its busy
    # timeout: 503, try again later.
    waiting = make_engine(f"{database_url}?timeout=0.05")
    database = Database.of(app)
    working = database.sessionmaker
    database.sessionmaker = make_sessionmaker(waiting)
    try:
        assert_unavailable(api.post("/patients", PATIENT))
    finally:
        database.sessionmaker = working
        waiting.dispose()
    assert stored_patients(db) == 0


def test_a_connection_lost_mid_request_is_503_and_the_next_request_is_served(
    client: FlaskClient,
    app: Flask,
    backend: str,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The database drops the request's connection while it works (a restart, a failover):
    the answer is 503 problem+json, not a 500 (nor gunicorn's HTML page when the rollback
    in teardown fails too), and the next request gets a working connection."""
    engine = make_engine(database_url)  # a real pool, not the test's own connection
    database = Database.of(app)
    working = database.sessionmaker
    database.sessionmaker = make_sessionmaker(engine)
    revisions = health.schema_revisions

    def connection_lost(session: Session) -> frozenset[str]:
        if backend == "postgresql":
            session.execute(text("SELECT pg_terminate_backend(pg_backend_pid())"))
        else:
            session.connection().connection.dbapi_connection.close()  # type: ignore[union-attr]
        return revisions(session)

    monkeypatch.setattr(health, "schema_revisions", connection_lost)
    try:
        assert_unavailable(client.get("/readyz"))
        monkeypatch.undo()
        assert client.get("/readyz").status_code == 200
    finally:
        database.sessionmaker = working
        engine.dispose()
