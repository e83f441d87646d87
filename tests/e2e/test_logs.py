"""The logs under gunicorn: JSON lines that nobody can forge, with nothing secret in them.

A path with an encoded line feed or NUL cannot add or break a line; no query string (a
patient search) and no feed token reaches either log; every line is JSON with the
request's id, which the response returns; gunicorn's own refusals (a 10 kB header) are
problem+json like the app's.
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from pathlib import Path
from time import monotonic, sleep
from typing import Any

import pytest
from alembic import command

from scheduler.cli import alembic_config
from tests.e2e.gunicorn import HOST, Served, serve

TIMEOUT = 20.0


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    directory = tmp_path_factory.mktemp("logs")
    url = f"sqlite:///{directory / 'scheduler.sqlite3'}"
    command.upgrade(alembic_config(url), "head")
    with serve(url, directory, workers=1) as served:
        yield served


def call(served: Served, path: str, headers: dict[str, str] | None = None) -> Any:
    connection = http.client.HTTPConnection(HOST, served.port, timeout=TIMEOUT)
    try:
        connection.putrequest("GET", path, skip_accept_encoding=True)
        for name, value in (headers or {}).items():
            connection.putheader(name, value)
        connection.endheaders()
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def lines_after(log: Path, count: int, until: str) -> list[str]:
    """The log's lines past the first ``count``, once one of them contains ``until``."""
    deadline = monotonic() + TIMEOUT
    while True:
        lines = log.read_bytes().decode("utf-8").splitlines()[count:]
        if any(until in line for line in lines) or monotonic() > deadline:
            return lines
        sleep(0.05)


def line_count(log: Path) -> int:
    return len(log.read_bytes().decode("utf-8").splitlines())


def test_every_line_is_json_and_an_encoded_newline_or_nul_forges_nothing(
    server: Served,
) -> None:
    before = line_count(server.log)
    for path in ("/api/v1/patients/%0aFORGED", "/api/v1/patients/%00x", "/api/v1/x%0d%0aFAKE"):
        status, _headers, _body = call(server, path)
        assert status == 404
    status, headers, _body = call(server, "/healthz", {"X-Request-ID": "probe-1"})
    lines = lines_after(server.log, before, "probe-1")
    assert lines, server.log_tail()
    records = [json.loads(line) for line in lines]  # fails on any line that is not JSON
    assert not any(line.startswith("FORGED") or line.startswith("FAKE") for line in lines)
    assert "\x00" not in server.log.read_bytes().decode("utf-8")
    paths = {record.get("path") for record in records}
    assert {"/api/v1/patients/\nFORGED", "/api/v1/patients/\x00x"} <= paths
    assert headers["X-Request-ID"] == "probe-1"


def test_access_lines_carry_request_id_route_and_status_but_no_query(server: Served) -> None:
    before = line_count(server.log)
    status, headers, _body = call(server, "/api/v1/patients?q=Ada+Lovelace&page=2")
    assert status == 401
    request_id = headers["X-Request-ID"]
    lines = lines_after(server.log, before, request_id)
    (record,) = [json.loads(line) for line in lines if request_id in line]
    assert record["route"] == "/api/v1/patients"
    assert record["path"] == "/api/v1/patients"
    assert record["status"] == 401
    assert record["method"] == "GET"
    assert isinstance(record["duration_ms"], float)
    assert {"time", "level", "logger", "message"} <= record.keys()
    assert "Ada" not in server.log.read_text()
    assert "Lovelace" not in server.log.read_text()


def test_a_header_over_the_limit_is_a_431_problem_not_an_html_page(server: Served) -> None:
    before = line_count(server.log)
    status, headers, body = call(server, "/healthz?q=Secret", {"X-Padding": "a" * 10_000})
    assert status == 431
    assert headers["Content-Type"] == "application/problem+json"
    problem = json.loads(body)
    assert problem["status"] == 431
    assert problem["title"] == "Request Header Fields Too Large"
    lines = lines_after(server.log, before, "Invalid request")
    assert lines, server.log_tail()
    for line in lines:
        json.loads(line)
    assert "Secret" not in server.log.read_text()
