"""Values at the edges of their types, and input a clinic would expect refused (SPEC §7).

Each case was a 500 or a silent acceptance when the service was probed from outside: a
page number at the end of a 64-bit integer, dates in year 1 or 9999, a lone UTF-16
surrogate, text made only of invisible characters, a body in another charset, and
working hours replaced so that booked patients fall outside them.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy.orm import Session

from scheduler.auth.permissions import PERMISSIONS
from tests.api.conftest import Clinic
from tests.api.test_bad_input import Snapshot, assert_nothing_written, assert_problem
from tests.api.test_full_pathway import book, refer
from tests.support import Api, local

HUGE = 2**63 - 1

# Every list of the API (the paginated ones), as the permission table names them.
LISTS = [
    "/users",
    "/sites",
    "/rooms",
    "/equipment",
    "/recovery-bays",
    "/clinicians",
    "/patients",
    "/pathways",
    "/policies",
    "/appointments",
    "/outbox",
]


def test_the_lists_here_are_every_list_of_the_permission_table() -> None:
    listed = {key.split(" ", 1)[1] for key in PERMISSIONS if key.startswith("GET ")}
    assert set(LISTS) <= listed


@pytest.mark.parametrize("path", LISTS)
@pytest.mark.parametrize("page", [HUGE, 2**31, 1000])
def test_a_page_past_the_end_is_empty_at_any_number(api: Api, path: str, page: int) -> None:
    response = api.get(path, query_string={"page": page, "page_size": 200})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json() == []
    assert "total" in json.loads(response.headers["X-Pagination"])


@pytest.mark.parametrize("path", ["/patients", "/appointments"])
@pytest.mark.parametrize("page", [0, -1, -HUGE, "x", "1e3"])
def test_a_page_number_that_is_not_a_page_is_refused(api: Api, path: str, page: Any) -> None:
    response = api.get(path, query_string={"page": page})
    assert_problem(response, 422, "invalid-input")


@pytest.mark.parametrize("day", ["0001-01-01", "1899-12-31", "3000-01-01", "9999-12-31"])
def test_a_date_at_the_end_of_the_calendar_is_refused(api: Api, clinic: Clinic, day: str) -> None:
    pathway = refer(api, clinic)
    daily = api.get(f"/clinicians/{clinic.clinician_id}/daily-list", query_string={"date": day})
    assert "date" in assert_problem(daily, 422, "invalid-input")["errors"]
    eligibility = api.get(f"/pathways/{pathway['id']}/eligibility", query_string={"on": day})
    assert "on" in assert_problem(eligibility, 422, "invalid-input")["errors"]


@pytest.mark.parametrize("day", ["1900-01-01", "2999-12-31"])
def test_the_first_and_last_dates_are_answered(api: Api, clinic: Clinic, day: str) -> None:
    daily = api.get(f"/clinicians/{clinic.clinician_id}/daily-list", query_string={"date": day})
    assert daily.status_code == 200, daily.get_data(as_text=True)
    assert daily.get_json()["cases"] == []


# Bodies with one spoiled text or date, and the field the refusal must name.
def _patient(**spoiled: Any) -> dict[str, Any]:
    return {
        "mrn": "EDGE-1",
        "given_name": "Ada",
        "family_name": "Edge",
        "birth_date": "1960-05-01",
        **spoiled,
    }


SURROGATE = '"\\ud800"'  # a lone high surrogate as JSON writes it
INVISIBLE = ["\u200b", "\ufeff", "\uffff", "\u200b\u200b \ufeff", "\u2028"]


def _raw(body: dict[str, Any], field: str) -> bytes:
    """``body`` as JSON text, with ``field``'s value a lone surrogate."""
    placeholder = "SURROGATE-PLACEHOLDER"
    text = json.dumps({**body, field: placeholder})
    return text.replace(f'"{placeholder}"', SURROGATE).encode()


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/patients", _patient(), "given_name"),
        ("/patients", _patient(), "mrn"),
        ("/clinicians", {"given_name": "Ada", "family_name": "Surgeon"}, "family_name"),
        ("/sites", {"name": "Edge", "timezone": "UTC", "address": "1 Way"}, "address"),
    ],
)
def test_a_lone_surrogate_in_any_text_is_refused(
    api: Api, db: Session, path: str, body: dict[str, Any], field: str
) -> None:
    before = Snapshot.of(db)
    response = api.call(
        "POST", path, "admin", data=_raw(body, field), content_type="application/json"
    )
    problem = assert_problem(response, 422, "invalid-input")
    assert field in problem["errors"]
    assert_nothing_written(db, before)


def test_a_lone_surrogate_in_a_cancel_reason_is_refused(
    api: Api, clinic: Clinic, db: Session
) -> None:
    pathway = refer(api, clinic)
    appointment = book(api, clinic, pathway["id"], "diagnostic_block", local("2026-03-03", 9))
    before = Snapshot.of(db)
    response = api.call(
        "POST",
        f"/appointments/{appointment['id']}/cancel",
        "scheduler",
        data=_raw({}, "reason"),
        content_type="application/json",
    )
    assert "reason" in assert_problem(response, 422, "invalid-input")["errors"]
    assert_nothing_written(db, before)


@pytest.mark.parametrize("name", INVISIBLE)
def test_a_name_of_invisible_characters_is_refused(api: Api, db: Session, name: str) -> None:
    before = Snapshot.of(db)
    response = api.post("/patients", _patient(family_name=name))
    errors = assert_problem(response, 422, "invalid-input")["errors"]
    assert "Must contain visible characters." in errors["family_name"]
    assert_nothing_written(db, before)


def test_a_name_with_a_joiner_inside_visible_letters_is_kept(api: Api) -> None:
    created = api.ok("POST", "/patients", json=_patient(family_name="Ka\u200dr\u00e9n"))
    assert created["family_name"] == "Ka\u200dr\u00e9n"


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/patients", _patient(birth_date="0001-01-01"), "birth_date"),
        ("/patients", _patient(birth_date="1899-12-31"), "birth_date"),
    ],
)
def test_a_date_before_1900_is_refused(
    api: Api, db: Session, path: str, body: dict[str, Any], field: str
) -> None:
    before = Snapshot.of(db)
    problem = assert_problem(api.post(path, body), 422, "invalid-input")
    assert problem["errors"][field] == ["Use a date between 1900 and 2999."]
    assert_nothing_written(db, before)


@pytest.mark.parametrize(
    ("step", "body", "field"),
    [
        ("", {"pain_onset_date": "0001-01-01"}, "pain_onset_date"),
        (
            "/conservative-treatments",
            {"kind": "medication", "start_date": "0001-01-01"},
            "start_date",
        ),
        ("/coverage-acknowledgments", {"kind": "abn", "signed_on": "0001-01-01"}, "signed_on"),
    ],
)
def test_pathway_dates_in_year_one_are_refused(
    api: Api, clinic: Clinic, db: Session, step: str, body: dict[str, Any], field: str
) -> None:
    if step:
        pathway_id = refer(api, clinic)["id"]
        before = Snapshot.of(db)
        response = api.post(f"/pathways/{pathway_id}{step}", body, "scheduler")
    else:
        before = Snapshot.of(db)
        response = api.post(
            "/pathways",
            {
                "patient_id": clinic.patient_id,
                "clinician_id": clinic.clinician_id,
                "site_id": clinic.site_id,
                "indication": "facet_joint_syndrome",
                "region": "lumbar",
                "side": "right",
                "levels": ["L4-L5"],
                **body,
            },
            "scheduler",
        )
    assert field in assert_problem(response, 422, "invalid-input")["errors"]
    assert_nothing_written(db, before)


@pytest.mark.parametrize("charset", ["utf-16", "latin-1", "UTF-32"])
def test_a_body_in_another_charset_is_refused(api: Api, db: Session, charset: str) -> None:
    before = Snapshot.of(db)
    response = api.call(
        "POST",
        "/patients",
        "admin",
        data=json.dumps(_patient()).encode(),
        content_type=f"application/json; charset={charset}",
    )
    assert_problem(response, 415, None)
    assert_nothing_written(db, before)


@pytest.mark.parametrize("charset", ["utf-8", "UTF-8", "utf8"])
def test_a_body_that_says_utf8_is_accepted(api: Api, charset: str) -> None:
    response = api.call(
        "POST",
        "/patients",
        "admin",
        data=json.dumps(_patient()).encode(),
        content_type=f"application/json; charset={charset}",
    )
    assert response.status_code == 201, response.get_data(as_text=True)


# ---------------------------------------------------------------------------------------
# Working hours that would strand booked patients


def _tuesday(clinic: Clinic, start: str, end: str) -> list[dict[str, Any]]:
    return [{"site_id": clinic.site_id, "weekday": "tuesday", "start": start, "end": end}]


def test_removing_every_hour_under_a_booking_is_refused_naming_it(
    api: Api, clinic: Clinic, db: Session
) -> None:
    pathway = refer(api, clinic)
    booked = book(api, clinic, pathway["id"], "diagnostic_block", local("2026-03-03", 9))
    before = Snapshot.of(db)
    response = api.call("PUT", f"/clinicians/{clinic.clinician_id}/working-hours", json=[])
    problem = assert_problem(response, 409, "bookings-stranded")
    assert problem["appointment_ids"] == [booked["id"]]
    assert_nothing_written(db, before)
    # Hours that still cover it (Tuesday 09:00, site time) are fine; so is [] once it is gone.
    api.ok(
        "PUT",
        f"/clinicians/{clinic.clinician_id}/working-hours",
        json=_tuesday(clinic, "08:00", "12:00"),
    )
    shorter = api.call(
        "PUT",
        f"/clinicians/{clinic.clinician_id}/working-hours",
        json=_tuesday(clinic, "09:15", "12:00"),
    )
    assert assert_problem(shorter, 409, "bookings-stranded")["appointment_ids"] == [booked["id"]]
    api.ok("POST", f"/appointments/{booked['id']}/cancel", "scheduler", json={"reason": "Moved"})
    assert api.ok("PUT", f"/clinicians/{clinic.clinician_id}/working-hours", json=[]) == []


def test_hours_without_bookings_can_be_cleared(api: Api, clinic: Clinic) -> None:
    path = f"/clinicians/{clinic.other_clinician_id}/working-hours"
    assert api.ok("PUT", path, json=[]) == []
    assert api.ok("GET", path) == []
