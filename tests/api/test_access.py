"""Who may do what: tokens, roles, and the row-level rules (SPEC §1, §6, §7).

Patients see only their own records and learn nothing about other ids (a missing
record gets the same 403 as someone else's); clinicians write only on their own cases;
each role reaches only the endpoints the permission table gives it.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from scheduler.auth.permissions import PERMISSIONS, endpoint_key
from tests.api.conftest import Clinic
from tests.api.test_bad_input import (
    ENDPOINTS,
    MISSING_ID,
    Snapshot,
    arrange,
    assert_nothing_written,
    assert_problem,
    call,
)
from tests.api.test_full_pathway import book, refer
from tests.support import FROZEN_NOW, Api, FrozenClock, local


def two_patients(api: Api, clinic: Clinic) -> dict[str, dict[str, int]]:
    """A pathway and a booked block for each of the clinic's two patients."""
    ids = {}
    for name, patient_id, hour in (
        ("patient", clinic.patient_id, 9),
        ("other_patient", clinic.other_patient_id, 10),
    ):
        pathway = refer(api, clinic, patient_id=patient_id)["id"]
        appointment = book(api, clinic, pathway, "diagnostic_block", local("2026-03-03", hour))
        ids[name] = {"patient": patient_id, "pathway": pathway, "appointment": appointment["id"]}
    return ids


# ---------------------------------------------------------------------------------------
# Patients: their own records only, and no existence leak


def test_patient_sees_their_own_patient_record_pathway_and_appointment(
    api: Api, clinic: Clinic
) -> None:
    own = two_patients(api, clinic)["patient"]

    assert api.ok("GET", f"/patients/{own['patient']}", "patient")["id"] == own["patient"]
    pathway = api.ok("GET", f"/pathways/{own['pathway']}", "patient")
    assert pathway["patient_id"] == own["patient"]
    appointment = api.ok("GET", f"/appointments/{own['appointment']}", "patient")
    assert appointment["patient_id"] == own["patient"]


@pytest.mark.parametrize("resource", ["patients", "pathways", "appointments"])
def test_patient_gets_the_same_403_for_someone_elses_record_as_for_a_missing_one(
    api: Api, clinic: Clinic, resource: str
) -> None:
    other = two_patients(api, clinic)["other_patient"]
    ident = other[resource.removesuffix("s")]

    theirs = api.get(f"/{resource}/{ident}", "patient")
    missing = api.get(f"/{resource}/{MISSING_ID}", "patient")

    problem = assert_problem(theirs, 403, "forbidden")
    assert assert_problem(missing, 403, "forbidden") == problem
    assert str(ident) not in problem["detail"]
    # Staff are told the truth.
    assert api.get(f"/{resource}/{ident}", "scheduler").status_code == 200
    assert_problem(api.get(f"/{resource}/{MISSING_ID}", "scheduler"), 404, "not-found")


@pytest.mark.parametrize("resource", ["pathways", "appointments"])
def test_patient_lists_only_their_own_pathways_and_appointments(
    api: Api, clinic: Clinic, resource: str
) -> None:
    ids = two_patients(api, clinic)
    key = resource.removesuffix("s")

    listed = api.get(f"/{resource}", "patient")

    assert listed.status_code == 200
    assert [row["id"] for row in listed.get_json()] == [ids["patient"][key]]
    assert json.loads(listed.headers["X-Pagination"])["total"] == 1
    everyone = api.ok("GET", f"/{resource}", "scheduler")
    assert {row["id"] for row in everyone} == {ids["patient"][key], ids["other_patient"][key]}


@pytest.mark.parametrize("resource", ["pathways", "appointments"])
def test_patient_filtering_on_another_patient_lists_nothing(
    api: Api, clinic: Clinic, resource: str
) -> None:
    other = two_patients(api, clinic)["other_patient"]

    filtered = api.get(f"/{resource}?patient_id={other['patient']}", "patient")

    assert filtered.status_code == 200, filtered.get_json()
    assert filtered.get_json() == []
    assert json.loads(filtered.headers["X-Pagination"])["total"] == 0


def test_patient_cannot_list_patients(api: Api, clinic: Clinic) -> None:
    assert_problem(api.get("/patients", "patient"), 403, "forbidden")
    assert_problem(api.get("/patients?q=Family", "patient"), 403, "forbidden")


# ---------------------------------------------------------------------------------------
# Clinicians write only on their own cases


@pytest.mark.parametrize(
    "endpoint",
    [
        "POST /appointments/{appointment_id}/block-result",
        "POST /appointments/{appointment_id}/check-in",
        "POST /appointments/{appointment_id}/start",
        "POST /appointments/{appointment_id}/finish",
        "POST /appointments/{appointment_id}/recovery-scores",
        "POST /appointments/{appointment_id}/discharge",
        "POST /appointments/{appointment_id}/admit",
        "POST /appointments/{appointment_id}/follow-up-outcome",
        "POST /appointments/{appointment_id}/no-show",
        "POST /pathways/{pathway_id}/conservative-treatments",
    ],
)
def test_clinician_cannot_record_on_another_clinicians_case(
    api: Api, clinic: Clinic, clock: FrozenClock, db: Session, endpoint: str
) -> None:
    spec = ENDPOINTS[endpoint]
    world = arrange(api, clinic, clock, db, spec.stage)
    body = spec.valid(world)
    before = Snapshot.of(db)

    refused = call(api, endpoint, world, as_="other_clinician", body=body)

    assert_problem(refused, 403, "forbidden")
    assert_nothing_written(db, before)
    # The treating clinician may.
    allowed = call(api, endpoint, world, as_="clinician", body=body)
    assert allowed.status_code < 300, (allowed.status_code, allowed.get_json())


# ---------------------------------------------------------------------------------------
# Roles


@pytest.mark.parametrize(
    ("endpoint", "role"),
    [
        ("POST /appointments", "nurse"),
        ("POST /appointments", "clinician"),
        ("POST /appointments", "patient"),
        ("POST /policies", "scheduler"),
        ("POST /pathways", "patient"),
        ("POST /users", "scheduler"),
        ("PATCH /appointments/{appointment_id}", "nurse"),
        ("POST /appointments/{appointment_id}/block-result", "nurse"),
        ("POST /appointments/{appointment_id}/check-in", "scheduler"),
    ],
)
def test_role_outside_the_permission_table_is_refused_with_403(
    api: Api, clinic: Clinic, clock: FrozenClock, db: Session, endpoint: str, role: str
) -> None:
    spec = ENDPOINTS[endpoint]
    world = arrange(api, clinic, clock, db, spec.stage)
    before = Snapshot.of(db)

    response = call(
        api, endpoint, world, as_=role, body=spec.valid(world), headers={"If-Match": "*"}
    )

    assert_problem(response, 403, "forbidden")
    assert_nothing_written(db, before)


def test_staff_endpoints_are_refused_to_patients(api: Api, clinic: Clinic) -> None:
    pathway = two_patients(api, clinic)["patient"]["pathway"]
    for path in (
        f"/pathways/{pathway}/events",
        f"/pathways/{pathway}/eligibility",
        "/clinicians",
        f"/clinicians/{clinic.clinician_id}/daily-list?date=2026-03-03",
    ):
        assert_problem(api.get(path, "patient"), 403, "forbidden")


# ---------------------------------------------------------------------------------------
# Tokens


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer garbage", "Bearer ", "Basic YWRtaW46YWRtaW4=", "garbage"],
)
def test_missing_or_invalid_token_is_401_with_a_bearer_challenge(
    api: Api, clinic: Clinic, db: Session, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization is not None else {}
    before = Snapshot.of(db)
    for method, path in (("GET", "/pathways"), ("POST", "/patients"), ("GET", "/auth/me")):
        response = api.call(
            method, path, None, json={} if method == "POST" else None, headers=headers
        )
        assert_problem(response, 401, "unauthorized")
        assert response.headers["WWW-Authenticate"] == "Bearer"
    assert_nothing_written(db, before)


def test_revoked_token_is_401(api: Api, clinic: Clinic) -> None:
    assert api.call("DELETE", "/auth/tokens", "nurse").status_code == 204
    response = api.get("/auth/me", "nurse")
    assert_problem(response, 401, "unauthorized")
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_expired_token_is_401(api: Api, clinic: Clinic, clock: FrozenClock) -> None:
    clock.set(FROZEN_NOW + timedelta(days=366))
    assert_problem(api.get("/auth/me", "admin"), 401, "unauthorized")


# ---------------------------------------------------------------------------------------
# The permission table and the URL map


def test_permission_table_names_exactly_the_endpoints_of_the_url_map(app: Flask) -> None:
    routed: set[str] = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/"):
            continue
        if rule.endpoint.startswith(("api-docs.", "docs.")):
            continue
        routed |= {
            endpoint_key(method, rule.rule)
            for method in rule.methods or ()
            if method not in {"HEAD", "OPTIONS"}
        }
    assert routed == set(PERMISSIONS)
