"""The pages through the Flask client: sign-in, CSRF, headers, access, daily list, patient."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from scheduler.auth.models import ApiToken
from scheduler.clinicians.models import Clinician
from tests.api.conftest import Clinic
from tests.api.test_full_pathway import book, refer
from tests.factories import PatientFactory
from tests.support import PASSWORD, Api, Browser, local, text_of

DAY = "2026-03-03"


# ---------------------------------------------------------------------------------------
# Signing in


HOMES = [
    ("clinician", "/clinicians/{clinician}/today"),
    ("scheduler", "/board/"),
    ("nurse", "/nurse/"),
    ("admin", "/board/"),
    ("patient", "/me"),
]


@pytest.mark.parametrize(("role", "home"), HOMES)
def test_each_role_lands_on_its_home_page_with_a_safe_session_cookie(
    browser: Browser, people: dict[str, str], clinic: Clinic, role: str, home: str
) -> None:
    signed_in = browser.sign_in(people[role])

    assert signed_in.status_code == 302
    cookie = signed_in.headers["Set-Cookie"]
    assert cookie.startswith("scheduler_session=")
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert signed_in.headers["Location"] == home.format(clinician=clinic.clinician_id)
    landing = browser.get(signed_in.headers["Location"])
    assert landing.status_code == (302 if role == "clinician" else 200)  # today -> its date


@pytest.mark.parametrize(("role", "home"), HOMES)
def test_the_start_page_and_a_second_sign_in_lead_each_role_home(
    browser: Browser, people: dict[str, str], clinic: Clinic, role: str, home: str
) -> None:
    browser.sign_in(people[role])

    start = browser.get("/")
    again = browser.get("/signin")

    expected = home.format(clinician=clinic.clinician_id)
    assert (start.status_code, start.headers["Location"]) == (302, expected)
    assert (again.status_code, again.headers["Location"]) == (302, expected)


def test_the_session_cookie_is_secure_when_configured(
    app: Flask, browser: Browser, people: dict[str, str]
) -> None:
    app.config["SESSION_COOKIE_SECURE"] = True
    assert "Secure" in browser.sign_in(people["nurse"]).headers["Set-Cookie"]


def test_a_page_asks_for_sign_in_and_returns_to_it_afterwards(
    browser: Browser, people: dict[str, str], clinic: Clinic
) -> None:
    page = f"/clinicians/{clinic.clinician_id}/days/{DAY}"
    asked = browser.get(page)
    assert asked.status_code == 302
    assert asked.headers["Location"] == f"/signin?next={page}"

    browser.get(asked.headers["Location"])
    signed_in = browser.post(
        "/signin", {"email": people["nurse"], "password": PASSWORD, "next": page}
    )

    assert signed_in.headers["Location"] == page


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "javascript:x"])
def test_sign_in_never_sends_the_user_to_another_site(
    browser: Browser, people: dict[str, str], target: str
) -> None:
    browser.get("/signin")
    signed_in = browser.post(
        "/signin", {"email": people["nurse"], "password": PASSWORD, "next": target}
    )
    assert signed_in.headers["Location"] == "/nurse/"  # the nurse's home, nowhere else


def test_a_wrong_password_says_so_and_signs_nobody_in(
    browser: Browser, people: dict[str, str], db: Session
) -> None:
    tokens = db.scalar(select(func.count()).select_from(ApiToken))

    refused = browser.sign_in(people["nurse"], "wrong password")

    assert refused.status_code == 401
    assert "Wrong e-mail or password." in text_of(refused)
    assert db.scalar(select(func.count()).select_from(ApiToken)) == tokens
    assert browser.get("/clinicians").status_code == 302


def test_failed_sign_ins_are_rate_limited(
    app: Flask, browser: Browser, people: dict[str, str]
) -> None:
    app.config["LOGIN_RATE_LIMIT"] = "3 per minute"
    statuses = [browser.sign_in(people["nurse"], "wrong").status_code for _ in range(4)]

    assert statuses == [401, 401, 401, 429]
    assert "Too many sign-in attempts" in text_of(browser.sign_in(people["nurse"]))


def test_signing_out_ends_the_session_even_for_a_copied_cookie(
    browser: Browser, people: dict[str, str], client: FlaskClient, db: Session
) -> None:
    browser.sign_in(people["nurse"])
    copied = client.get_cookie("scheduler_session")
    assert copied is not None
    assert browser.get("/clinicians").status_code == 200

    signed_out = browser.post("/signout")

    assert signed_out.headers["Location"] == "/signin"
    assert db.scalars(select(ApiToken.revoked_at).where(ApiToken.revoked_at.is_not(None))).one()
    client.set_cookie("scheduler_session", copied.value)
    assert browser.get("/clinicians").status_code == 302


# ---------------------------------------------------------------------------------------
# CSRF, headers, error pages


def test_a_form_post_without_its_csrf_token_is_refused_and_changes_nothing(
    browser: Browser, people: dict[str, str], clinic: Clinic, db: Session
) -> None:
    browser.sign_in(people["clinician"])

    refused = browser.post(f"/clinicians/{clinic.clinician_id}/feed", csrf=False)
    signout = browser.post("/signout", csrf=False)

    assert refused.status_code == 400
    assert "The form had expired or was not sent from this site." in text_of(refused)
    assert signout.status_code == 400
    assert db.get(Clinician, clinic.clinician_id).feed_token_hash is None  # type: ignore[union-attr]
    assert db.scalar(select(ApiToken.id).where(ApiToken.revoked_at.is_not(None))) is None


def test_a_sign_in_without_a_csrf_token_is_refused(
    browser: Browser, people: dict[str, str]
) -> None:
    refused = browser.post("/signin", {"email": people["nurse"], "password": PASSWORD}, csrf=False)

    assert refused.status_code == 400
    assert browser.get("/clinicians").status_code == 302  # still signed out


@pytest.mark.parametrize("path", ["/signin", "/api/v1/openapi.json", "/api/v1/docs", "/nowhere"])
def test_security_headers_are_on_every_response(client: FlaskClient, path: str) -> None:
    response = client.get(path)

    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"


def test_pages_have_no_inline_script_or_style(
    browser: Browser, people: dict[str, str], clinic: Clinic
) -> None:
    browser.sign_in(people["clinician"])
    for path in (
        "/signin",
        f"/clinicians/{clinic.clinician_id}/days/{DAY}",
        "/clinicians",
        "/api/v1/docs",
    ):
        html = text_of(browser.get(path))
        assert "<style" not in html
        assert " style=" not in html
        assert re.search(r"<script(?![^>]*\bsrc=)", html) is None, path


def test_unknown_pages_get_a_friendly_404_and_the_api_keeps_problem_json(
    client: FlaskClient,
) -> None:
    page = client.get("/no/such/page")
    api = client.get("/api/v1/no/such/thing")

    assert (page.status_code, page.mimetype) == (404, "text/html")
    assert "Page not found" in text_of(page)
    assert (api.status_code, api.mimetype) == (404, "application/problem+json")


def test_an_unexpected_error_shows_a_friendly_500_without_a_trace(
    browser: Browser, people: dict[str, str], clinic: Clinic, monkeypatch: pytest.MonkeyPatch
) -> None:
    from scheduler.web import pages

    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("secret detail")

    monkeypatch.setattr(pages, "cases_of_day", broken)
    browser.sign_in(people["nurse"])

    response = browser.get(f"/clinicians/{clinic.clinician_id}/days/{DAY}")

    assert (response.status_code, response.mimetype) == (500, "text/html")
    assert "Something went wrong on our side" in text_of(response)
    assert "secret detail" not in text_of(response)
    assert "Traceback" not in text_of(response)


# ---------------------------------------------------------------------------------------
# Daily list


def test_the_daily_list_shows_the_days_cases_in_time_order_with_their_details(
    api: Api, browser: Browser, people: dict[str, str], clinic: Clinic, db: Session
) -> None:
    second = PatientFactory(given_name="Zoe", family_name="Adams", mrn="MRN-ZA-1")
    db.commit()
    late = refer(api, clinic, patient_id=second.id)["id"]
    early = refer(api, clinic)["id"]
    book(api, clinic, late, "diagnostic_block", local(DAY, 11))
    book(api, clinic, early, "diagnostic_block", local(DAY, 9, 30))
    browser.sign_in(people["scheduler"])

    response = browser.get(f"/clinicians/{clinic.clinician_id}/days/{DAY}")
    html = text_of(response)
    table = html[html.index("<table") :]

    assert response.status_code == 200
    assert "Times in America/New_York" in html
    assert table.index("09:30") < table.index("11:00") < table.index("MRN-ZA-1")
    assert "Adams, Zoe" in html
    assert "Diagnostic block" in html
    assert "Facet joint syndrome" in html
    assert "L4-L5" in html
    assert "2 cases in time order" in html
    assert f'href="/clinicians/{clinic.clinician_id}/days/2026-03-02"' in html
    assert f'href="/clinicians/{clinic.clinician_id}/days/2026-03-04"' in html


def test_the_daily_list_is_for_staff_only(
    browser: Browser, people: dict[str, str], clinic: Clinic
) -> None:
    browser.sign_in(people["patient"])
    response = browser.get(f"/clinicians/{clinic.clinician_id}/days/{DAY}")
    assert (response.status_code, response.mimetype) == (403, "text/html")
    assert "Not yours to see" in text_of(response)


@pytest.mark.parametrize(
    "path", ["/clinicians/999999/days/2026-03-03", "/clinicians/{c}/days/2026-13-40"]
)
def test_a_missing_clinician_or_impossible_day_is_a_404_page(
    browser: Browser, people: dict[str, str], clinic: Clinic, path: str
) -> None:
    browser.sign_in(people["nurse"])
    response = browser.get(path.format(c=clinic.clinician_id))
    assert (response.status_code, response.mimetype) == (404, "text/html")


def test_a_clinician_makes_a_feed_address_that_works_and_only_for_their_own_list(
    browser: Browser, people: dict[str, str], clinic: Clinic, client: FlaskClient
) -> None:
    browser.sign_in(people["clinician"])
    assert "Subscribe in your calendar app" in text_of(
        browser.get(f"/clinicians/{clinic.clinician_id}/days/{DAY}")
    )

    made = browser.post(f"/clinicians/{clinic.clinician_id}/feed")
    url = re.search(r'id="feed-url"[^>]*value="([^"]+)"', text_of(made))
    someone_elses = browser.post(f"/clinicians/{clinic.other_clinician_id}/feed")

    assert made.status_code == 200
    assert url is not None
    feed_path = "/feeds/" + url.group(1).rsplit("/feeds/", 1)[1]
    assert client.get(feed_path).status_code == 200
    assert someone_elses.status_code == 403
    assert "Subscribe in your calendar app" not in text_of(
        browser.get(f"/clinicians/{clinic.other_clinician_id}/days/{DAY}")
    )


# ---------------------------------------------------------------------------------------
# The patient's page


def test_a_patient_sees_their_own_appointment_with_preparation_and_its_invite(
    api: Api, browser: Browser, people: dict[str, str], clinic: Clinic
) -> None:
    pathway = refer(api, clinic)["id"]
    appointment = book(api, clinic, pathway, "diagnostic_block", local(DAY, 9, 30))
    browser.sign_in(people["patient"])

    listing = text_of(browser.get("/me"))
    detail = browser.get(f"/me/appointments/{appointment['id']}")
    invite = browser.get(f"/me/appointments/{appointment['id']}/invite.ics")

    assert "Tuesday 03 March 2026</strong></a>:" in listing
    assert "appointment at 09:30 (New York time)" in listing
    assert detail.status_code == 200
    assert "How to prepare" in text_of(detail)
    assert "/i/" in text_of(detail)
    assert (invite.status_code, invite.mimetype) == (200, "text/calendar")
    assert b"BEGIN:VEVENT" in invite.data


def test_a_patient_cannot_open_another_patients_appointment(
    api: Api, browser: Browser, people: dict[str, str], clinic: Clinic
) -> None:
    pathway = refer(api, clinic)["id"]
    appointment = book(api, clinic, pathway, "diagnostic_block", local(DAY, 9, 30))
    browser.sign_in(people["other_patient"])

    assert "Nothing booked" in text_of(browser.get("/me"))
    for path in (
        f"/me/appointments/{appointment['id']}",
        f"/me/appointments/{appointment['id']}/invite.ics",
    ):
        response = browser.get(path)
        assert (response.status_code, response.mimetype) == (403, "text/html")
        assert "Tuesday" not in text_of(response)
