"""Sign-in, tokens, problem+json for protocol errors, no patient data in logs."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from scheduler.auth.models import ApiToken
from scheduler.patients.models import Patient
from scheduler.vocabulary import Role
from tests.api.conftest import Clinic
from tests.support import PASSWORD, Api, FrozenClock, make_user


def problem(response: object) -> dict[str, object]:
    assert response.content_type == "application/problem+json"  # type: ignore[attr-defined]
    body: dict[str, object] = response.get_json()  # type: ignore[attr-defined]
    assert {"type", "title", "status", "detail"} <= set(body)
    assert body["status"] == response.status_code  # type: ignore[attr-defined]
    return body


def test_sign_in_issues_a_token_stored_only_as_a_hash(
    client: FlaskClient, db: Session, api: Api
) -> None:
    user = make_user(db, Role.SCHEDULER, email="desk@clinic.example")
    db.commit()
    response = client.post(
        "/api/v1/auth/tokens", json={"email": "Desk@Clinic.example ", "password": PASSWORD}
    )
    assert response.status_code == 201
    token = response.get_json()["token"]
    assert len(token) >= 43  # 32 random bytes, base64url
    stored = db.scalars(select(ApiToken.token_hash).where(ApiToken.user_id == user.id)).all()
    assert token not in stored
    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.get_json()["email"] == "desk@clinic.example"
    assert "password" not in me.get_json()


@pytest.mark.parametrize(
    ("email", "password"),
    [("desk@clinic.example", "wrong password!"), ("nobody@clinic.example", PASSWORD)],
)
def test_wrong_email_or_password_get_the_same_401(
    client: FlaskClient, db: Session, email: str, password: str
) -> None:
    make_user(db, Role.SCHEDULER, email="desk@clinic.example")
    db.commit()
    response = client.post("/api/v1/auth/tokens", json={"email": email, "password": password})
    assert response.status_code == 401
    assert problem(response)["detail"] == "Wrong e-mail or password."


def test_sign_out_revokes_the_token(api: Api) -> None:
    assert api.get("/auth/me", "nurse").status_code == 200
    assert api.call("DELETE", "/auth/tokens", "nurse").status_code == 204
    response = api.get("/auth/me", "nurse")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_expired_token_is_refused(api: Api, clock: FrozenClock) -> None:
    clock.advance(days=366)
    assert api.get("/auth/me", "nurse").status_code == 401


def test_sign_in_is_rate_limited(client: FlaskClient) -> None:
    statuses = [
        client.post(
            "/api/v1/auth/tokens", json={"email": "x@clinic.example", "password": "nope"}
        ).status_code
        for _ in range(11)
    ]
    assert statuses[:10] == [401] * 10
    assert statuses[10] == 429


def test_routing_errors_are_problem_json(api: Api, client: FlaskClient) -> None:
    missing = client.get("/api/v1/no-such-thing")
    assert missing.status_code == 404
    problem(missing)
    wrong_method = api.call("DELETE", "/patients")
    assert wrong_method.status_code == 405
    problem(wrong_method)
    assert "GET" in wrong_method.headers["Allow"]
    not_found = api.get("/pathways/999999", "scheduler")
    assert not_found.status_code == 404
    assert problem(not_found)["type"] == "/api/v1/problems/not-found"


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/patients?q=Fam%00ily", "q"),
        ("/policies?name=medicare%00", "name"),
        ("/appointments?kind=procedure%1b", "kind"),
    ],
)
def test_control_characters_in_a_query_string_are_a_422(api: Api, path: str, field: str) -> None:
    response = api.get(path, "scheduler")
    assert response.status_code == 422
    assert field in problem(response)["errors"]  # type: ignore[operator]


def test_ids_in_a_query_string_are_read_as_numbers(api: Api, clinic: Clinic) -> None:
    response = api.get(f"/rooms?site_id={clinic.site_id}", "scheduler")
    assert response.status_code == 200
    assert response.get_json()
    assert {room["site_id"] for room in response.get_json()} == {clinic.site_id}
    assert api.get("/rooms?site_id=one", "scheduler").status_code == 422
    assert api.get("/rooms?site_id=0", "scheduler").status_code == 422


def test_body_errors_are_problem_json(api: Api, db: Session) -> None:
    malformed = api.call(
        "POST", "/sites", data="{not json", headers={"Content-Type": "application/json"}
    )
    assert malformed.status_code == 400
    assert problem(malformed)["type"] == "/api/v1/problems/malformed-json"
    form = api.call("POST", "/sites", data="name=x", content_type="text/plain")
    assert form.status_code == 415
    problem(form)
    huge = api.call("POST", "/sites", json={"name": "x" * 300_000})
    assert huge.status_code == 413
    problem(huge)


def test_openapi_document_lists_every_endpoint_of_the_permission_table(
    client: FlaskClient,
) -> None:
    from scheduler.auth.permissions import PERMISSIONS

    spec = client.get("/api/v1/openapi.json").get_json()
    documented = {
        f"{method.upper()} {path.removeprefix('/api/v1')}"
        for path, item in spec["paths"].items()
        for method in item
        if method in {"get", "post", "put", "patch", "delete"}
    }
    assert documented == set(PERMISSIONS)
    docs = client.get("/api/v1/docs")
    assert docs.status_code == 200
    assert b"/pathways/{pathway_id}/eligibility" in docs.data


def test_no_patient_data_in_logs(
    api: Api, clinic: Clinic, db: Session, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    api.ok(
        "POST",
        "/patients",
        "scheduler",
        json={
            "mrn": "SECRET-MRN-77",
            "given_name": "Zebedee",
            "family_name": "Quixote",
            "birth_date": "1951-07-04",
        },
    )
    duplicate = api.post(
        "/patients",
        {
            "mrn": "SECRET-MRN-77",
            "given_name": "Zebedee",
            "family_name": "Quixote",
            "birth_date": "1951-07-04",
        },
        "scheduler",
    )
    assert duplicate.status_code == 409
    api.get("/patients?q=Quixote", "scheduler")
    patient = db.scalar(select(Patient).where(Patient.mrn == "SECRET-MRN-77"))
    assert patient is not None
    assert repr(patient).count("Quixote") == 0
    for secret in ("SECRET-MRN-77", "Zebedee", "Quixote", "1951-07-04"):
        assert secret not in caplog.text
        assert secret not in duplicate.get_data(as_text=True)


def test_token_ttl_comes_from_configuration(client: FlaskClient, db: Session) -> None:
    make_user(db, Role.NURSE, email="nurse@clinic.example")
    db.commit()
    body = client.post(
        "/api/v1/auth/tokens", json={"email": "nurse@clinic.example", "password": PASSWORD}
    ).get_json()
    token = db.scalar(select(ApiToken).order_by(ApiToken.id.desc()))
    assert token is not None
    assert token.expires_at - token.created_at == timedelta(hours=12)
    assert body["expires_at"] == token.expires_at.isoformat()
