"""Each request has an id (the caller's X-Request-ID, or a new one), returned and logged."""

from __future__ import annotations

import io
import json
import logging

import pytest

from scheduler.logs import json_handler
from tests.support import Api


@pytest.mark.parametrize("sent", ["abc-123", "0f8e4c2a.retry:2", "A" * 128])
def test_a_plain_request_id_is_returned_as_sent(api: Api, sent: str) -> None:
    response = api.get("/patients", headers={"X-Request-ID": sent})
    assert response.headers["X-Request-ID"] == sent


@pytest.mark.parametrize("sent", [None, "", "two words", "x" * 129, "<script>", "a\\tb"])
def test_a_missing_or_unplain_request_id_is_replaced_by_a_new_one(
    api: Api, sent: str | None
) -> None:
    headers = {"X-Request-ID": sent} if sent is not None else {}
    first = api.get("/patients", headers=headers).headers["X-Request-ID"]
    second = api.get("/patients", headers=headers).headers["X-Request-ID"]
    assert first != sent
    assert len(first) == 32
    assert first != second


def test_errors_carry_the_request_id_too(api: Api) -> None:
    response = api.get("/patients/999999", headers={"X-Request-ID": "lost-1"})
    assert response.status_code == 404
    assert response.headers["X-Request-ID"] == "lost-1"


def test_a_line_logged_during_a_request_names_its_id_route_and_actor(
    api: Api, database_away: None
) -> None:
    stream = io.StringIO()
    handler = json_handler(stream)
    logger = logging.getLogger("scheduler")
    logger.addHandler(handler)
    try:
        response = api.get("/patients/7", headers={"X-Request-ID": "away-1"})
    finally:
        logger.removeHandler(handler)
    assert response.status_code == 503
    (line,) = stream.getvalue().splitlines()
    record = json.loads(line)
    assert record["request_id"] == "away-1"
    assert record["route"] == "/api/v1/patients/<int:patient_id>"
    assert record["actor_id"] is None
    assert record["level"] == "WARNING"
