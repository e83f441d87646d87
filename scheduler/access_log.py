"""gunicorn's logs in the service's format (``logger_class`` in ``gunicorn.conf.py``).

Both of gunicorn's logs are JSON lines like the app's (``scheduler.logs``): the error log
through the same formatter and scrubbing (gunicorn writes request URIs into its error
messages; no query string or token survives), and one access line a request with the
request id, route template and actor the app left in the WSGI environ, the path with
feed and invite-link tokens replaced, never the query string.

Errors gunicorn answers itself, before the app sees the request (a header over its limit:
431, a malformed request line: 400), are problem+json like every other error.
"""

from __future__ import annotations

import json
from datetime import timedelta
from http import HTTPStatus
from typing import Any

from gunicorn import util
from gunicorn.glogging import Logger

from scheduler.logs import (
    ENVIRON_ACTOR,
    ENVIRON_REQUEST_ID,
    ENVIRON_ROUTE,
    JsonLines,
    Scrubbed,
)
from scheduler.redaction import loggable_path


class RedactingLogger(Logger):  # type: ignore[misc]  # gunicorn ships no type hints
    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                handler.setFormatter(JsonLines())
                handler.addFilter(Scrubbed())

    def access(self, resp: Any, req: Any, environ: dict[str, Any], request_time: timedelta) -> None:
        if not self.access_log_enabled:
            return
        self.access_log.info("request", extra=self.fields(resp, environ, request_time))

    @staticmethod
    def fields(resp: Any, environ: dict[str, Any], request_time: timedelta) -> dict[str, Any]:
        code = str(resp.status or "").split(" ", 1)[0]
        status = int(code) if code.isdigit() else None
        return {
            "request_id": environ.get(ENVIRON_REQUEST_ID),
            "method": environ.get("REQUEST_METHOD"),
            "route": environ.get(ENVIRON_ROUTE),
            "path": loggable_path(environ.get("PATH_INFO") or ""),
            "status": status,
            "duration_ms": round(request_time.total_seconds() * 1000, 1),
            "bytes": getattr(resp, "sent", None),
            "actor_id": environ.get(ENVIRON_ACTOR),
        }


PROBLEM = (
    "HTTP/1.1 {status} {reason}\r\n"
    "Connection: close\r\n"
    "Content-Type: application/problem+json\r\n"
    "Content-Length: {length}\r\n"
    "\r\n"
)


def write_problem(sock: Any, status_int: int, reason: str, mesg: str) -> None:
    """gunicorn's own error answer as problem+json (it would send an HTML page). The
    message, which may quote the request, is not echoed."""
    phrase = reason if reason else HTTPStatus(status_int).phrase
    body = json.dumps(
        {
            "type": "about:blank",
            "title": phrase,
            "status": status_int,
            "detail": f"The request was refused before reaching the service: {phrase}.",
        }
    ).encode()
    head = PROBLEM.format(status=status_int, reason=phrase, length=len(body)).encode("latin1")
    util.write_nonblock(sock, head + body)


def answer_errors_as_problems() -> None:
    """Make gunicorn's error answers problem+json (called from gunicorn.conf.py)."""
    util.write_error = write_problem
