"""No request can produce a 500, and every answer is the one the OpenAPI document promises.

Schemathesis reads the OpenAPI document and sends each operation inputs generated from
its documented parameters and bodies, to the app under gunicorn: valid ones, and ones
that break the schema on purpose (wrong types, missing fields, values at the edges of
their types, any Unicode), first the systematic edge cases of its coverage phase, then
``FUZZ_EXAMPLES`` random ones per operation. The database (scratch PostgreSQL when
TEST_DATABASE_URL is set, else SQLite) holds the demo clinic, a pathway in every state,
so the small ids the generator likes name real records and requests get past their 404s.
Each case is sent as an admin and as a scheduler, with bearer tokens.

The run is reproducible: a fixed seed (``FUZZ_SEED``) and Hypothesis derandomized. The
suite runs a small budget; ``make fuzz`` a larger one (``make fuzz FUZZ_EXAMPLES=500``).
A failure prints the request as a curl command; the server's log is in the test's temp
dir (gunicorn.log).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.request import urlopen

import pytest
import schemathesis
from alembic import command
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
)
from sqlalchemy import select
from sqlalchemy.orm import Session

from scheduler import create_app
from scheduler.auth.models import User
from scheduler.auth.services import issue_token
from scheduler.cli import alembic_config
from scheduler.db import make_engine, make_sessionmaker
from scheduler.demo import DOMAIN, seed_demo
from scheduler.vocabulary import Role
from tests.e2e.gunicorn import serve
from tests.support import scratch_postgresql_database

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
BACKEND = "postgresql" if TEST_DATABASE_URL else "sqlite"
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "5"))
SEED = int(os.environ.get("FUZZ_SEED", "20260302"))
ROLES = (Role.ADMIN, Role.SCHEDULER)
TOKEN_TTL = timedelta(hours=12)
OPENAPI_PATH = "/api/v1/openapi.json"
REVOKES_ITS_TOKEN = ("DELETE", "/api/v1/auth/tokens")

# What every answer must satisfy:
# - not_a_server_error: no 5xx (SPEC §7);
# - response_schema_conformance: the body matches the schema documented for its status;
# - content_type_conformance: the media type is one documented for that status
#   (application/json; application/problem+json for errors; text/calendar);
# - response_headers_conformance: documented headers (ETag, X-Pagination) are as documented;
# - negative_data_rejection: input that breaks the schema is refused with a 4xx, never
#   accepted silently (SPEC §7: bad input gets a clear 4xx and changes nothing).
# status_code_conformance is left out: every operation documents a `default` problem
# response (401, 403, 404 ... share one shape), so the check could never fail.
# positive_data_acceptance is left out too: valid input is refused for reasons no schema
# can say (404 for an id that does not exist, 409 for a taken slot, 422 for unmet rules).
CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    content_type_conformance,
    response_headers_conformance,
    negative_data_rejection,
]


def openapi_document() -> dict[str, Any]:
    """The document the app serves, read when tests are collected (schemathesis makes one
    test per operation of it); :func:`served` checks that gunicorn serves the same one."""
    app = create_app({"DATABASE_URL": "sqlite://", "SECRET_KEY": "fuzz-collection"})
    document: dict[str, Any] = app.test_client().get(OPENAPI_PATH).get_json()
    return document


DOCUMENT = openapi_document()
schema = schemathesis.openapi.from_dict(
    DOCUMENT,
    config=schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "generation": {"mode": "all", "max-examples": EXAMPLES, "database": "none"},
            # Each operation on its own; sequences of calls (stateful) are not run.
            "phases": {"stateful": {"enabled": False}},
        }
    ),
)


@dataclass(frozen=True)
class Served:
    base_url: str
    database_url: str
    tokens: dict[Role, str]


@pytest.fixture(scope="module", params=[BACKEND])
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    if request.param == "postgresql":
        yield from scratch_postgresql_database("fuzz")
    else:
        yield f"sqlite:///{tmp_path_factory.mktemp('fuzz-db') / 'scheduler.sqlite3'}"


def user_token(session: Session, role: Role, now: datetime) -> str:
    """A new bearer token of the demo clinic's login for ``role``."""
    user = session.scalars(select(User).where(User.email == f"{role}@{DOMAIN}")).one()
    return issue_token(session, user, now, TOKEN_TTL)[0]


def seeded_tokens(database_url: str) -> dict[Role, str]:
    """The database migrated and the demo clinic seeded; a bearer token per role."""
    command.upgrade(alembic_config(database_url), "head")
    engine = make_engine(database_url)
    now = datetime.now(UTC)
    try:
        with make_sessionmaker(engine)() as session:
            seed_demo(session, now)
            tokens = {role: user_token(session, role, now) for role in ROLES}
            session.commit()
    finally:
        engine.dispose()
    return tokens


def fresh_token(database_url: str, role: Role) -> str:
    """A token of its own for a case that revokes the token it is sent with."""
    engine = make_engine(database_url)
    try:
        with make_sessionmaker(engine)() as session:
            token = user_token(session, role, datetime.now(UTC))
            session.commit()
    finally:
        engine.dispose()
    return token


@pytest.fixture(scope="module")
def served(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tokens = seeded_tokens(database_url)
    with serve(database_url, tmp_path_factory.mktemp("fuzz-gunicorn")) as server:
        with urlopen(server.base_url + OPENAPI_PATH) as response:  # noqa: S310 (our server)
            assert json.load(response) == DOCUMENT
        yield Served(server.base_url, database_url, tokens)


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_no_request_gets_a_server_error_or_an_undocumented_answer(
    case: schemathesis.Case, served: Served
) -> None:
    revokes_its_token = (case.method, case.path) == REVOKES_ITS_TOKEN
    for role in ROLES:
        token = fresh_token(served.database_url, role) if revokes_its_token else served.tokens[role]
        case.call_and_validate(
            base_url=served.base_url,
            headers={"Authorization": f"Bearer {token}"},
            checks=CHECKS,
        )
