"""Operations: ``/healthz`` and ``/readyz`` for orchestrators and load balancers, and
``/metrics`` for Prometheus (SPEC §9).

``/healthz``: the process answers (no database). ``/readyz``: the database answers and is
migrated to the revision this code expects; otherwise 503, so that a load balancer sends
no traffic to an instance that would fail. Both are unauthenticated, tiny, and say
nothing about patients.
"""

from __future__ import annotations

import hmac

from flask import Blueprint, Response, current_app, jsonify, request

from scheduler import metrics
from scheduler.api import problem, unavailable
from scheduler.auth.guard import bearer_token
from scheduler.cli import migration_heads
from scheduler.context import now, session
from scheduler.db import schema_revisions
from scheduler.hl7v2.services import backlog as siu_backlog
from scheduler.outbox.services import backlog
from scheduler.waitlist.board import backlog as waitlist_backlog

blp = Blueprint("health", __name__)
HEADS = migration_heads()


@blp.get("/healthz")
def healthz() -> Response:
    return jsonify(status="ok")


@blp.get("/readyz")
def readyz() -> Response:
    found = schema_revisions(session())
    if found != HEADS:
        detail = "The database is not migrated to this version: run `flask db upgrade`."
        return unavailable(detail, "not-migrated", title="Not ready")
    return jsonify(status="ready", revision=",".join(sorted(found)))


LOCAL_ADDRESSES = frozenset({"127.0.0.1", "::1"})


@blp.get("/metrics")
def prometheus_metrics() -> Response:
    """Prometheus text; with METRICS_TOKEN set, for its bearer only, else from this machine."""
    expected = current_app.config["METRICS_TOKEN"]
    if expected:
        sent = bearer_token() or ""
        if not hmac.compare_digest(sent.encode(), expected.encode()):
            headers = {"WWW-Authenticate": "Bearer"}
            return problem(401, "Send the metrics token as a bearer token.", headers=headers)
    elif request.remote_addr not in LOCAL_ADDRESSES:
        return problem(403, "Metrics are served to this machine only (or set METRICS_TOKEN).")
    return metrics.exposition(
        backlog(session(), now()), siu_backlog(session()), waitlist_backlog(session()), now()
    )
