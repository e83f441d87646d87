"""Application factory."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

import config
from scheduler import context, logs, metrics
from scheduler.api import Api, register_converters, register_error_handlers
from scheduler.auth.guard import guard_api_request
from scheduler.clock import system_clock
from scheduler.context import LIMITER_EXTENSION, Database, session
from scheduler.db import begin_write
from scheduler.settings import check_settings, hl7_settings
from scheduler.web import security as web_security

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app: configuration, database, API blueprints, CLI commands."""
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_mapping(config.load())
    if test_config:
        app.config.from_mapping(test_config)
    app.json.sort_keys = False  # type: ignore[attr-defined]
    if not app.config["SECRET_KEY"]:
        app.config["SECRET_KEY"] = _instance_secret_key(config.INSTANCE_DIR / "secret_key")
    check_settings(app.config)
    logs.init_app(app)
    metrics.init_app(app)

    Database.init_app(app)
    app.extensions[context.CLOCK_EXTENSION] = app.config.get("CLOCK", system_clock)
    app.extensions[context.HL7_EXTENSION] = hl7_settings(app.config)
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    # Per app, so that counters never leak between app instances (tests, workers).
    app.extensions[LIMITER_EXTENSION] = Limiter(get_remote_address, app=app)
    register_converters(app)
    api = Api(app)
    register_error_handlers(app)
    app.before_request(_writes_begin_immediately)
    app.before_request(guard_api_request)
    _register_blueprints(app, api)
    app.permanent_session_lifetime = timedelta(hours=app.config["TOKEN_TTL_HOURS"])
    web_security.init_app(app)
    from scheduler.fhir.routes import init_app as fhir_errors

    fhir_errors(app)  # after the pages': every error under /fhir/R4 is an OperationOutcome

    from scheduler.cli import register_commands

    register_commands(app)
    return app


def _instance_secret_key(path: Path) -> str:
    """This install's own random key, made once (readable by its owner only) and kept.

    Written whole to a private file and linked into place, so workers starting at once
    all read the same complete key.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        draft = path.with_name(f".{path.name}.{os.getpid()}")
        descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(secrets.token_hex(32))
        try:
            os.link(draft, path)
        except FileExistsError:
            pass  # another process was first; use its key
        finally:
            draft.unlink()
    return path.read_text().strip()


def _writes_begin_immediately() -> None:
    """A request that may write holds SQLite's write lock from its first statement."""
    if request.method in WRITE_METHODS:
        begin_write(session())


def _register_blueprints(app: Flask, api: Api) -> None:
    from scheduler.auth.routes import blp as auth_blp
    from scheduler.clinical.routes import blp as clinical_blp
    from scheduler.clinicians.routes import blp as clinicians_blp
    from scheduler.docs import blp as docs_blp
    from scheduler.facilities.routes import blp as facilities_blp
    from scheduler.feeds.routes import blp as feeds_blp
    from scheduler.feeds.routes import public as feeds_public
    from scheduler.hl7v2.routes import blp as hl7_blp
    from scheduler.invites.routes import blp as invites_blp
    from scheduler.invites.routes import links as invite_links
    from scheduler.outbox.routes import blp as outbox_blp
    from scheduler.pathways.routes import blp as pathways_blp
    from scheduler.patients.routes import blp as patients_blp
    from scheduler.policies.routes import blp as policies_blp
    from scheduler.reports.routes import blp as reports_blp
    from scheduler.scheduling.routes import blp as scheduling_blp
    from scheduler.waitlist.routes import blp as waitlist_blp

    for blp in (
        auth_blp,
        facilities_blp,
        clinicians_blp,
        patients_blp,
        pathways_blp,
        policies_blp,
        scheduling_blp,
        clinical_blp,
        invites_blp,
        feeds_blp,
        outbox_blp,
        hl7_blp,
        waitlist_blp,
        reports_blp,
    ):
        api.register_blueprint(blp, url_prefix="/api/v1")
    # The FHIR blueprint of fhir.routes, with the routes of fhir.appointments and fhir.operations.
    from scheduler.fhir.operations import blp as fhir_blp
    from scheduler.health import blp as health_blp
    from scheduler.web.pages import blp as web_blp

    for plain in (health_blp, docs_blp, invite_links, feeds_public, web_blp, fhir_blp):
        app.register_blueprint(plain)
