"""Fixtures: every db/api test runs on SQLite and, with TEST_DATABASE_URL, on PostgreSQL.

The schema comes from the migrations (``alembic upgrade head``), never from
``create_all``. Each test gets one connection with an outer transaction; the app's
sessions join it through savepoints, so a route's commit is real to the code under test
and everything is rolled back afterwards.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from flask import Flask
from flask.testing import FlaskClient
from hypothesis.configuration import set_hypothesis_home_dir
from sqlalchemy import Connection, Engine, event, text
from sqlalchemy.orm import Session

from scheduler import create_app
from scheduler.cli import alembic_config
from scheduler.context import Database
from scheduler.db import make_engine, make_sessionmaker
from tests import factories
from tests.support import FrozenClock

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if TEST_DATABASE_URL else [])


def migrate(engine: Engine, revision: str = "head") -> None:
    with engine.begin() as connection:
        config = alembic_config(str(engine.url))
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def reset_postgresql(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))


HYPOTHESIS_HOME = pytest.StashKey[Path]()


def pytest_configure(config: pytest.Config) -> None:
    """Hypothesis keeps caches (Unicode tables, source constants, from collection on) in
    ./.hypothesis unless told otherwise: a temp dir, removed at the end."""
    config.stash[HYPOTHESIS_HOME] = Path(tempfile.mkdtemp(prefix="hypothesis-"))
    set_hypothesis_home_dir(config.stash[HYPOTHESIS_HOME])


def pytest_unconfigure(config: pytest.Config) -> None:
    shutil.rmtree(config.stash[HYPOTHESIS_HOME], ignore_errors=True)


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture(scope="session")
def database_url(backend: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
    assert TEST_DATABASE_URL
    return TEST_DATABASE_URL


@pytest.fixture(scope="session")
def engine(database_url: str, backend: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    if backend == "postgresql":
        reset_postgresql(engine)
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def connection(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as connection:
        outer = connection.begin()
        yield connection
        outer.rollback()


@pytest.fixture
def db(connection: Connection) -> Iterator[Session]:
    """A session for arranging and checking data, inside the test's transaction."""
    session = make_sessionmaker(connection, join_transaction_mode="create_savepoint")()
    factories.bind(session)
    yield session
    session.close()


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
def app(database_url: str, connection: Connection, clock: FrozenClock) -> Iterator[Flask]:
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": database_url,
            "CLOCK": clock,
            "RATELIMIT_STORAGE_URI": "memory://",
            "SECRET_KEY": "test-secret-key",
        }
    )
    database = Database.of(app)
    database.sessionmaker = make_sessionmaker(connection, join_transaction_mode="create_savepoint")
    yield app
    database.engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@dataclass
class QueryCounter:
    statements: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.statements)


@pytest.fixture
def count_queries(connection: Connection) -> Iterator[QueryCounter]:
    """Counts statements sent on the test's connection (savepoints excluded)."""
    counter = QueryCounter()

    def before(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK")):
            counter.statements.append(statement)

    event.listen(connection, "before_cursor_execute", before)
    yield counter
    event.remove(connection, "before_cursor_execute", before)


# -- a summary line of how many tests ran on each database ---------------------------

_ran_on: Counter[str] = Counter()


def _backend_of(nodeid: str) -> str | None:
    for name in BACKENDS:
        if f"[{name}" in nodeid or f"-{name}]" in nodeid or f"-{name}-" in nodeid:
            return name
    return None


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "call" and report.passed:
        _ran_on[_backend_of(report.nodeid) or "none"] += 1


def pytest_terminal_summary(terminalreporter: Any) -> None:
    parts = [f"{_ran_on[name]} passed on {name}" for name in BACKENDS]
    if not TEST_DATABASE_URL:
        parts.append("PostgreSQL not tested (set TEST_DATABASE_URL)")
    parts.append(f"{_ran_on['none']} passed without a database")
    terminalreporter.write_line("databases: " + ", ".join(parts))
