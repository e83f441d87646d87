"""Request-scoped helpers for the faces: the acting user, the clock, the database session.

Routes and pages are the only code that reads Flask's request context; they hand these
values to services as plain arguments. Inside a request, :func:`session` gives one
session per application context; the route commits once, and teardown closes the
session, which rolls back anything uncommitted.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TypeVar

from flask import Flask, current_app, g
from flask_limiter import Limiter
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from scheduler.access import Actor
from scheduler.clock import Clock
from scheduler.db import make_engine, make_sessionmaker
from scheduler.errors import Unauthorized
from scheduler.hl7v2.services import reporting_to
from scheduler.settings import Hl7Settings

T = TypeVar("T")
log = logging.getLogger(__name__)

CLOCK_EXTENSION = "scheduler.clock"
HL7_EXTENSION = "scheduler.hl7"
LIMITER_EXTENSION = "scheduler.limiter"

__all__ = ["actor", "committed", "hl7_settings", "limiter", "now", "reminder_before", "session"]


def actor() -> Actor:
    current: Actor | None = g.get("actor")
    if current is None:
        raise Unauthorized("Sign in first.")
    return current


def now() -> datetime:
    clock: Clock = current_app.extensions[CLOCK_EXTENSION]
    return clock()


def reminder_before() -> timedelta:
    """How long before an appointment its reminder e-mail goes out (REMINDER_HOURS_BEFORE)."""
    return timedelta(hours=current_app.config["REMINDER_HOURS_BEFORE"])


def limiter() -> Limiter:
    current: Limiter = current_app.extensions[LIMITER_EXTENSION]
    return current


class Database:
    """One app's engine and session factory (tests rebind the factory to a connection)."""

    EXTENSION = "scheduler.db"

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.sessionmaker = make_sessionmaker(engine)

    @classmethod
    def init_app(cls, app: Flask) -> Database:
        database = cls(make_engine(app.config["DATABASE_URL"], echo=app.config["SQL_ECHO"]))
        app.extensions[cls.EXTENSION] = database
        app.teardown_appcontext(_close_session)
        return database

    @classmethod
    def of(cls, app: Flask) -> Database:
        database: Database = app.extensions[cls.EXTENSION]
        return database


def hl7_settings() -> Hl7Settings:
    """Where SIU messages go (HL7_RECEIVERS) and who we are to the receivers."""
    settings: Hl7Settings = current_app.extensions[HL7_EXTENSION]
    return settings


def session() -> Session:
    """The session of the current application context, created on first use; its changes
    are reported to the configured HL7 receivers (``hl7v2.services.reporting_to``)."""
    if "db_session" not in g:
        g.db_session = Database.of(current_app).sessionmaker(info=reporting_to(hl7_settings()))
    current: Session = g.db_session
    return current


def committed(result: T) -> T:
    """Commit the request's one transaction and answer with ``result`` (a route's last step)."""
    session().commit()
    return result


def _close_session(_exc: BaseException | None) -> None:
    """Close the request's session (rolling back anything uncommitted). When the
    connection is already gone, the rollback fails too: drop the connection instead, so
    the answer the request already has (503) still goes out."""
    current: Session | None = g.pop("db_session", None)
    if current is None:
        return
    try:
        current.close()
    except DBAPIError:
        log.warning("database connection dropped while closing a session")
        current.invalidate()
