"""Application factory."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from flask import Flask, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

import config
from scheduler import context
from scheduler.api import Api, register_converters, register_error_handlers
from scheduler.auth.guard import guard_api_request
from scheduler.clock import system_clock
from scheduler.context import LIMITER_EXTENSION
from scheduler.db import Database, begin_write, session

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app: configuration, database, API blueprints, CLI commands."""
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_mapping(config.load())
    if test_config:
        app.config.from_mapping(test_config)
    app.json.sort_keys = False  # type: ignore[attr-defined]
    logging.getLogger("scheduler").setLevel(app.config["LOG_LEVEL"])

    Database.init_app(app)
    app.extensions[context.CLOCK_EXTENSION] = app.config.get("CLOCK", system_clock)
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    # Per app, so that counters never leak between app instances (tests, workers).
    app.extensions[LIMITER_EXTENSION] = Limiter(get_remote_address, app=app)
    register_converters(app)
    api = Api(app)
    register_error_handlers(app)
    app.before_request(_writes_begin_immediately)
    app.before_request(guard_api_request)
    _register_blueprints(app, api)

    from scheduler.cli import register_commands

    register_commands(app)
    return app


def _writes_begin_immediately() -> None:
    """A request that may write holds SQLite's write lock from its first statement."""
    if request.method in WRITE_METHODS:
        begin_write(session())


def _register_blueprints(app: Flask, api: Api) -> None:
    from scheduler.auth.routes import blp as auth_blp
    from scheduler.clinicians.routes import blp as clinicians_blp
    from scheduler.docs import blp as docs_blp
    from scheduler.facilities.routes import blp as facilities_blp
    from scheduler.pathways.routes import blp as pathways_blp
    from scheduler.patients.routes import blp as patients_blp
    from scheduler.policies.routes import blp as policies_blp
    from scheduler.scheduling.routes import blp as scheduling_blp

    for blp in (
        auth_blp,
        facilities_blp,
        clinicians_blp,
        patients_blp,
        pathways_blp,
        policies_blp,
        scheduling_blp,
    ):
        api.register_blueprint(blp, url_prefix="/api/v1")
    app.register_blueprint(docs_blp)
