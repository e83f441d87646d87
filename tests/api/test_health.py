"""``/healthz`` and ``/readyz`` (SPEC §9): unauthenticated, tiny, and honest about the database."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine

from scheduler.cli import migration_heads
from scheduler.context import Database
from scheduler.db import make_sessionmaker
from tests.api.test_bad_input import assert_problem


def test_healthz_answers_without_a_token_or_a_database(
    client: FlaskClient,
    database_away: None,
) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_readyz_names_the_revision_when_migrated(client: FlaskClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    (head,) = migration_heads()
    assert response.get_json() == {"status": "ready", "revision": head}


def test_readyz_is_503_while_the_database_is_away(
    client: FlaskClient,
    database_away: None,
) -> None:
    response = client.get("/readyz")
    assert_problem(response, 503, "database-unavailable")
    assert response.headers["Retry-After"]


def test_readyz_is_503_on_a_database_that_is_not_migrated(
    app: Flask, client: FlaskClient, tmp_path: Path
) -> None:
    database = Database.of(app)
    working = database.sessionmaker
    empty = create_engine(f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    database.sessionmaker = make_sessionmaker(empty)
    try:
        response = client.get("/readyz")
    finally:
        database.sessionmaker = working
        empty.dispose()
    problem = assert_problem(response, 503, "not-migrated")
    assert "flask db upgrade" in problem["detail"]
