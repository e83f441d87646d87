"""Secret tokens in paths never reach a log line."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest
from gunicorn.config import Config

from scheduler.access_log import RedactingLogger
from scheduler.redaction import loggable_path


@pytest.mark.parametrize(
    ("path", "shown"),
    [
        ("/feeds/AbC-123_xyz.ics", "/feeds/<redacted>.ics"),
        ("/i/eyJhIjoxfQ.Zm9v.YmFy.ics", "/i/<redacted>.ics"),
        ("/api/v1/appointments/7/invite.ics", "/api/v1/appointments/7/invite.ics"),
        ("/api/v1/clinicians/3/feed-token", "/api/v1/clinicians/3/feed-token"),
        ("/feeds/", "/feeds/"),
        ("/feeds/a/b.ics", "/feeds/a/b.ics"),
        ("/i/token", "/i/token"),
    ],
)
def test_loggable_path_replaces_only_the_token_of_feed_and_link_paths(
    path: str, shown: str
) -> None:
    assert loggable_path(path) == shown


def test_the_access_logger_redacts_the_path_request_line_and_query() -> None:
    logger = RedactingLogger(Config())
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": "/feeds/s3cret.ics?x=Ada",
        "PATH_INFO": "/feeds/s3cret.ics",
        "QUERY_STRING": "x=Ada",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
    }
    response = SimpleNamespace(status="200 OK", sent=12, headers=[])
    request = SimpleNamespace(headers=[])

    atoms = logger.atoms(response, request, environ, timedelta(milliseconds=3))

    assert atoms["U"] == "/feeds/<redacted>.ics"
    assert atoms["r"] == "GET /feeds/<redacted>.ics HTTP/1.1"
    assert atoms["q"] == "-"
    assert atoms["{raw_uri}e"] == atoms["{path_info}e"] == "/feeds/<redacted>.ics"
    assert "s3cret" not in repr(sorted(atoms.items(), key=str))
    assert "Ada" not in repr(sorted(atoms.items(), key=str))
