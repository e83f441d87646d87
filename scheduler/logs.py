"""Logs: one JSON object a line, with the request they belong to (SPEC §9).

Every line is JSON (control characters escaped, so a path with ``%0a`` or ``%00`` in it
cannot forge or break a line) with ``time``, ``level``, ``logger`` and ``message``; lines
written during a request add ``request_id``, ``route`` (the template, never the path
with its ids or query) and ``actor_id``. The request id comes from ``X-Request-ID`` when
it is a plain token, or is made, and is returned in the same header. Messages pass
through :func:`scheduler.redaction.scrubbed`: no query string, no feed or link token.
gunicorn's own logs use the same format (``scheduler.access_log``).
"""

from __future__ import annotations

import logging
import re
import sys
import uuid
from typing import Any

from flask import Flask, Response, g, has_request_context, request
from pythonjsonlogger.json import JsonFormatter

from scheduler.redaction import scrubbed

REQUEST_ID_HEADER = "X-Request-ID"
_PLAIN_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}\Z")
# Where a request leaves what its access-log line needs (gunicorn reads the WSGI environ).
ENVIRON_REQUEST_ID = "scheduler.request_id"
ENVIRON_ROUTE = "scheduler.route"
ENVIRON_ACTOR = "scheduler.actor_id"


class JsonLines(JsonFormatter):
    """``{"time", "level", "logger", "message", ...extra fields}``, one line each."""

    def __init__(self) -> None:
        super().__init__(
            "%(levelname)s %(name)s %(message)s",
            rename_fields={"levelname": "level", "name": "logger"},
            timestamp="time",
        )


class Scrubbed(logging.Filter):
    """Rewrites each message without query strings or secret tokens."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = scrubbed(record.getMessage())
        record.args = None
        return True


class RequestFields(logging.Filter):
    """Adds the current request's id, route template and actor to a line."""

    def filter(self, record: logging.LogRecord) -> bool:
        if has_request_context():
            record.request_id = g.get("request_id")
            record.route = request.url_rule.rule if request.url_rule else None
            actor = g.get("actor")
            record.actor_id = actor.user_id if actor is not None else None
        return True


def json_handler(stream: Any = None) -> logging.Handler:
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonLines())
    handler.addFilter(Scrubbed())
    handler.addFilter(RequestFields())
    return handler


def configure_logging(level: str) -> None:
    """JSON lines on standard error for the ``scheduler`` loggers (once per process)."""
    logger = logging.getLogger("scheduler")
    logger.setLevel(level)
    if not any(isinstance(h.formatter, JsonLines) for h in logger.handlers):
        logger.addHandler(json_handler())


def request_id_of(header: str | None) -> str:
    """The caller's request id when it is a plain token; a new one otherwise."""
    if header and _PLAIN_ID.match(header):
        return header
    return uuid.uuid4().hex


def _begin() -> None:
    g.request_id = request_id_of(request.headers.get(REQUEST_ID_HEADER))
    request.environ[ENVIRON_REQUEST_ID] = g.request_id


def _end(response: Response) -> Response:
    response.headers[REQUEST_ID_HEADER] = g.get("request_id") or request_id_of(None)
    if request.url_rule is not None:
        request.environ[ENVIRON_ROUTE] = request.url_rule.rule
    actor = g.get("actor")
    if actor is not None:
        request.environ[ENVIRON_ACTOR] = actor.user_id
    return response


def init_app(app: Flask) -> None:
    configure_logging(app.config["LOG_LEVEL"])
    app.before_request(_begin)
    app.after_request(_end)
