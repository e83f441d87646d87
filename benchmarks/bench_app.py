"""The product app as gunicorn serves it, plus one baseline route for the booking benchmark.

``POST /bench/baseline`` does the least a write request can do: one insert into an
indexed table, in one transaction, through the same app, server and database as a
booking. It lives here, never in the product; ``benchmarks/scheduling.py`` creates its
table (``bench_baseline``) and serves this module with gunicorn.
"""

from __future__ import annotations

import secrets
from typing import Any

from flask import Blueprint, Flask
from sqlalchemy import text

from scheduler import create_app
from scheduler.context import now, session
from scheduler.heap import freeze_startup_heap

blp = Blueprint("bench", __name__, url_prefix="/bench")

INSERT_BASELINE = text(
    "INSERT INTO bench_baseline (key, created_at) VALUES (:key, :created_at) RETURNING id"
)


@blp.post("/baseline")
def baseline() -> tuple[dict[str, Any], int]:
    current = session()
    ident = current.execute(
        INSERT_BASELINE, {"key": secrets.token_hex(16), "created_at": now()}
    ).scalar_one()
    current.commit()
    return {"id": ident}, 201


@blp.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


def build_app() -> Flask:
    app = create_app()
    app.register_blueprint(blp)
    return app


app = build_app()
freeze_startup_heap()  # as wsgi.py does
