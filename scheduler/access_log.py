"""gunicorn's access log without secrets (``logger_class`` in ``gunicorn.conf.py``).

The log format names the path only (never the query string, which may hold a patient's
name); this logger also replaces the tokens of feed and invite-link paths, so that a log
line cannot be replayed to read a calendar.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from gunicorn.glogging import Logger

from scheduler.redaction import loggable_path


class RedactingLogger(Logger):  # type: ignore[misc]  # gunicorn ships no type hints
    def atoms(
        self, resp: Any, req: Any, environ: dict[str, Any], request_time: timedelta
    ) -> dict[str, Any]:
        atoms: dict[str, Any] = super().atoms(resp, req, environ, request_time)
        path = loggable_path(environ.get("PATH_INFO") or "")
        atoms["U"] = path
        atoms["r"] = f"{environ.get('REQUEST_METHOD')} {path} {environ.get('SERVER_PROTOCOL')}"
        for name in ("{raw_uri}e", "{path_info}e", "{request_uri}e"):
            if name in atoms:
                atoms[name] = path
        atoms["q"] = atoms["{query_string}e"] = "-"
        return atoms
