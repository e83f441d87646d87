"""Request-scoped helpers for routes: the acting user, the clock, the session.

Routes are the only place that reads Flask's request context; they hand these values
to services as plain arguments.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app, g
from flask_limiter import Limiter

from scheduler.auth.access import Actor
from scheduler.clock import Clock
from scheduler.db import session
from scheduler.errors import Unauthorized

CLOCK_EXTENSION = "scheduler.clock"
LIMITER_EXTENSION = "scheduler.limiter"

__all__ = ["actor", "limiter", "now", "reminder_before", "session"]


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
