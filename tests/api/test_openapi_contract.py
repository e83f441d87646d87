"""The OpenAPI document says what the API answers: media types, headers, problem members,
which bodies are required (SPEC §6).

Each case was a difference between the document and the answers found by fuzzing the
API from its document (tests/e2e/test_fuzz.py).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from scheduler.api import PROBLEM_JSON, handle_domain_error
from scheduler.auth.permissions import PERMISSIONS
from scheduler.errors import (
    BookingsStranded,
    DomainError,
    IllegalTransition,
    InvalidInput,
    PrerequisitesUnmet,
    SlotTaken,
    StrandedBooking,
    UnmetRule,
)
from scheduler.vocabulary import Role
from tests.support import Api

MISSING_ID = 999_999
OPERATIONS = ("get", "post", "put", "patch", "delete")


@pytest.fixture
def document(client: FlaskClient) -> dict[str, Any]:
    document: dict[str, Any] = client.get("/api/v1/openapi.json").get_json()
    return document


def resolved(document: dict[str, Any], item: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in item:
        *_, kind, name = item["$ref"].split("/")
        item = document["components"][kind][name]
    return item


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in OPERATIONS
    ]


def test_every_error_response_is_documented_as_problem_json(document: dict[str, Any]) -> None:
    for method, path, operation in operations(document):
        for status, response in operation["responses"].items():
            content = resolved(document, response).get("content", {})
            if status == "default" or int(status) >= 400:
                assert set(content) <= {PROBLEM_JSON}, (method, path, status)


def test_an_error_leaves_as_the_documented_problem_json(api: Api, document: dict[str, Any]) -> None:
    response = api.get(f"/pathways/{MISSING_ID}")

    assert response.status_code == 404
    assert response.mimetype == PROBLEM_JSON
    default = document["paths"]["/api/v1/pathways/{pathway_id}"]["get"]["responses"]["default"]
    assert set(resolved(document, default)["content"]) == {PROBLEM_JSON}


def test_the_pagination_header_is_documented_as_the_json_it_carries(
    api: Api, document: dict[str, Any]
) -> None:
    response = api.get("/patients", query_string={"page_size": 1})

    metadata = json.loads(response.headers["X-Pagination"])
    header = document["paths"]["/api/v1/patients"]["get"]["responses"]["200"]["headers"]
    content = header["X-Pagination"]["content"]
    assert "schema" not in header["X-Pagination"]  # a schema alone means "k,v,k,v" text
    assert set(content) == {"application/json"}
    documented = resolved(document, content["application/json"]["schema"])["properties"]
    assert set(metadata) <= set(documented)


@pytest.mark.parametrize(
    "error",
    [
        IllegalTransition("referred", "start_procedure"),
        SlotTaken(["clinician", "room"]),
        BookingsStranded(
            [
                StrandedBooking(
                    5,
                    datetime(2026, 3, 3, 14, tzinfo=UTC),
                    "America/New_York",
                    "diagnostic_block",
                    "Doe, Jane",
                    "MRN1",
                    date(1960, 1, 2),
                )
            ],
            "the new working hours",
        ),
        InvalidInput.field("start", "Not a valid datetime."),
        PrerequisitesUnmet("book", [UnmetRule("two_positive_blocks", "Two blocks first.")]),
    ],
    ids=lambda error: error.slug,
)
def test_every_member_of_a_problem_is_documented(
    app: Flask, document: dict[str, Any], error: DomainError
) -> None:
    with app.test_request_context("/api/v1/appointments"):
        body = handle_domain_error(error).get_json()

    problem = document["components"]["schemas"]["Problem"]
    assert set(body) <= set(problem["properties"])
    assert problem.get("additionalProperties") is False


def test_a_body_is_documented_required_exactly_when_an_empty_body_is_refused(
    api: Api, document: dict[str, Any]
) -> None:
    checked = 0
    for method, path, operation in operations(document):
        if "requestBody" not in operation:
            continue
        route = path.removeprefix("/api/v1")
        url = re.sub(r"\{[a-z_]+\}", str(MISSING_ID), route)
        role = min(PERMISSIONS[f"{method} {route}"] - {Role.PATIENT}, default=None)
        response = api.call(method, url, role.value if role is not None else None)
        refused = response.status_code == 422
        assert operation["requestBody"]["required"] == refused, (method, path, response.json)
        checked += 1
    assert checked > 20
