"""Secret tokens in paths never reach a log line."""

from __future__ import annotations

import io
import json
import logging
from datetime import timedelta
from types import SimpleNamespace

import pytest

from scheduler.access_log import RedactingLogger
from scheduler.logs import ENVIRON_REQUEST_ID, ENVIRON_ROUTE, json_handler
from scheduler.redaction import loggable_path, scrubbed


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
        ("/offers/MTI.abc-DEF_9", "/offers/<redacted>"),
        ("/offers/", "/offers/"),
        ("/offers/a/b", "/offers/a/b"),
    ],
)
def test_loggable_path_replaces_only_the_token_of_feed_and_link_paths(
    path: str, shown: str
) -> None:
    assert loggable_path(path) == shown


def test_the_access_line_names_the_path_with_its_token_replaced_and_no_query() -> None:
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": "/feeds/s3cret.ics?x=Ada",
        "PATH_INFO": "/feeds/s3cret.ics",
        "QUERY_STRING": "x=Ada",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        ENVIRON_REQUEST_ID: "req-1",
        ENVIRON_ROUTE: "/feeds/<token>.ics",
    }
    response = SimpleNamespace(status="200 OK", sent=12, headers=[])

    fields = RedactingLogger.fields(response, environ, timedelta(milliseconds=3))

    assert fields == {
        "request_id": "req-1",
        "method": "GET",
        "route": "/feeds/<token>.ics",
        "path": "/feeds/<redacted>.ics",
        "status": 200,
        "duration_ms": 3.0,
        "bytes": 12,
        "actor_id": None,
    }


@pytest.mark.parametrize(
    ("message", "shown"),
    [
        (
            "Error handling request GET /api/v1/patients?q=Ada",
            "Error handling request GET /api/v1/patients",
        ),
        ("Invalid Request Line 'GET /x?q=Ada HTTP/1.1'", "Invalid Request Line 'GET /x HTTP/1.1'"),
        ("GET /feeds/s3cret.ics?d=1 failed", "GET /feeds/<redacted>.ics failed"),
        ("http://h/i/tok.en.ics", "http://h/i/<redacted>.ics"),
        ("POST /offers/MTI.abc?answer=accept HTTP/1.1", "POST /offers/<redacted> HTTP/1.1"),
        ("Is the database up? It was not.", "Is the database up? It was not."),
        ("Worker timeout (pid:12)", "Worker timeout (pid:12)"),
    ],
)
def test_log_messages_lose_query_strings_and_tokens(message: str, shown: str) -> None:
    assert scrubbed(message) == shown


def test_a_json_line_escapes_control_characters_and_scrubs_the_message() -> None:
    stream = io.StringIO()
    logger = logging.getLogger("scheduler.tests.json_line")
    logger.propagate = False
    handler = json_handler(stream)
    logger.addHandler(handler)
    try:
        logger.warning("bad path %s", "/p/\nFORGED\x00?q=Ada")
    finally:
        logger.removeHandler(handler)
    (line,) = stream.getvalue().splitlines()
    record = json.loads(line)
    assert record["message"] == "bad path /p/\nFORGED\x00"
    assert record["level"] == "WARNING"
    assert record["logger"] == "scheduler.tests.json_line"
    assert "time" in record
