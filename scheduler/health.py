"""Health for orchestrators and load balancers: ``/healthz`` and ``/readyz`` (SPEC §9).

``/healthz``: the process answers (no database). ``/readyz``: the database answers and is
migrated to the revision this code expects; otherwise 503, so that a load balancer sends
no traffic to an instance that would fail. Both are unauthenticated, tiny, and say
nothing about patients.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from scheduler.api import RETRY_AFTER_SECONDS, problem
from scheduler.cli import migration_heads
from scheduler.context import session
from scheduler.db import schema_revisions

blp = Blueprint("health", __name__)
HEADS = migration_heads()


@blp.get("/healthz")
def healthz() -> Response:
    return jsonify(status="ok")


@blp.get("/readyz")
def readyz() -> Response:
    found = schema_revisions(session())
    if found != HEADS:
        return problem(
            503,
            "The database is not migrated to this version: run `flask db upgrade`.",
            slug="not-migrated",
            title="Not ready",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    return jsonify(status="ready", revision=",".join(sorted(found)))
