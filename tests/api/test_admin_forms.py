"""Admin forms: a refused policy keeps the document as typed, a new login has no default
role and is linked to a patient found by search, a version shows what changed since the
one before, and a site's settings are changed as PATCH /sites/{id} changes them."""

from __future__ import annotations

import html
import json
import re

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from scheduler.auth.models import User
from scheduler.facilities.models import Site
from scheduler.policies.models import PolicyRecord
from scheduler.vocabulary import Role
from tests.api.conftest import Clinic
from tests.api.test_admin_pages import admin, post, refused
from tests.support import Api, Browser, flashes, refusal


def textarea(page: str, name: str) -> str:
    found = re.search(rf'name="{name}"[^>]*>(.*?)</textarea>', page, re.S)
    assert found, page
    return html.unescape(found.group(1))


def diff_row(change: str, marked: str, clear_fluids: str) -> str:
    """A row of the diff table for the changed clear-fluids line, as a pattern."""
    text = rf"\s*&#34;clear_fluids&#34;: {clear_fluids},"
    row = rf'<tr class="diff-{change}"><td>{re.escape(marked)}</td>'
    return row + rf"<td>\d+</td><td><code>{text}</code>"


def a_policy(browser: Browser) -> tuple[str, int, str]:
    """A policy's name, its newest version and that version's document as the page shows it."""
    listed = browser.get("/admin/policies").get_data(as_text=True)
    name, version = re.search(r'href="/admin/policies/([a-z_0-9]+)/(\d+)"', listed).groups()  # type: ignore[union-attr]
    shown = browser.get(f"/admin/policies/{name}/{version}").get_data(as_text=True)
    return name, int(version), textarea(shown, "parameters")


def test_a_refused_policy_keeps_the_document_as_typed_with_the_reasons_on_top(
    browser: Browser, people: dict[str, str], db: Session
) -> None:
    name, _version, document = a_policy(admin(browser, people))
    invalid = document.replace('"clear_fluids": 2', '"clear_fluids": -2', 1)
    assert invalid != document
    versions = db.scalar(select(func.count()).select_from(PolicyRecord))

    for typed in (invalid, document[:-40]):  # a rule broken; JSON cut short
        page = refused(
            browser, "/admin/forms/policy", {"name": name, "title": "Next", "parameters": typed}
        )
        body = page.get_data(as_text=True)

        assert textarea(body, "parameters") == typed
        assert body.index('class="problem"') < body.index('name="parameters"')
    assert "Parameters check in fasting hours clear fluids: Enter a number from 0 to 24." in (
        refusal(
            refused(
                browser, "/admin/forms/policy", {"name": name, "title": "T", "parameters": invalid}
            )
        )
    )
    assert db.scalar(select(func.count()).select_from(PolicyRecord)) == versions


def test_a_version_shows_its_changes_from_the_one_before_marked_in_words(
    browser: Browser, people: dict[str, str]
) -> None:
    name, version, document = a_policy(admin(browser, people))
    changed = json.loads(document)
    changed["check_in"]["fasting_hours"]["clear_fluids"] = 3
    post(
        browser,
        "/admin/forms/policy",
        {"name": name, "title": "Next", "parameters": json.dumps(changed)},
    )

    first = browser.get(f"/admin/policies/{name}/{version}").get_data(as_text=True)
    page = browser.get(f"/admin/policies/{name}/{version + 1}").get_data(as_text=True)

    assert f"Changes from version {version}" in page
    assert re.search(diff_row("removed", "\N{MINUS SIGN} removed", "2"), page)
    assert re.search(diff_row("added", "+ added", "3"), page)
    assert page.count('class="diff-added"') == 1
    assert "Change 1 of 1" in page
    assert ("Changes from version" in first) == (version > 1)


def test_a_new_login_has_no_default_role(browser: Browser, people: dict[str, str]) -> None:
    page = admin(browser, people).get("/admin/users").get_data(as_text=True)
    roles = page[page.index('name="role"') : page.index("</select>", page.index('name="role"'))]

    assert '<option value="">Choose a role</option>' in roles
    assert " selected" not in roles
    assert 'name="patient_id" type="number"' not in page

    missing = refused(
        browser,
        "/admin/forms/user",
        {"email": "n@b.example", "password": "a long enough password", "role": ""},
    )
    assert "Role: Required: fill it in." in refusal(missing)


def test_a_patient_login_is_linked_to_a_patient_found_by_name_mrn_or_birth_date(
    api: Api, browser: Browser, people: dict[str, str], clinic: Clinic, db: Session
) -> None:
    patient = api.ok(
        "POST",
        "/patients",
        json={
            "mrn": "LINK-20417",
            "given_name": "David",
            "family_name": "Schmidt",
            "birth_date": "1960-01-31",
        },
    )
    admin(browser, people)

    by_name = browser.get(
        "/admin/users",
        query_string={"patient": f"{patient['family_name']}, {patient['given_name']}"},
    ).get_data(as_text=True)
    by_mrn = browser.get("/admin/users", query_string={"patient": patient["mrn"][-3:]})
    nobody = browser.get("/admin/users", query_string={"patient": "zzzznobody"})
    by_birth = browser.get("/admin/users", query_string={"patient": "Schmidt 31.01.1960"})
    radio = f'name="patient_id" type="radio" value="{patient["id"]}"'

    assert radio in by_name
    assert f"MRN {patient['mrn']} · born {patient['birth_date']}" in by_name
    assert radio in by_mrn.get_data(as_text=True)
    assert radio in by_birth.get_data(as_text=True)
    assert "No patient matches" in nobody.get_data(as_text=True)

    unlinked = refused(
        browser,
        "/admin/forms/user",
        {"email": "p@b.example", "password": "a long enough password", "role": "patient"},
    )
    assert "Patient: Choose a patient for a patient login, and none for any other role." in (
        refusal(unlinked)
    )
    linked = post(
        browser,
        "/admin/forms/user",
        {
            "email": "p@b.example",
            "password": "a long enough password",
            "role": "patient",
            "patient_id": str(patient["id"]),
        },
    )
    assert flashes(linked) == ["Add a user: saved."]
    user = db.scalars(select(User).where(User.email == "p@b.example")).one()
    assert (user.role, user.patient_id) == (Role.PATIENT, patient["id"])
    # The users table names the record a login is linked to, not its internal id.
    listed = browser.get("/admin/users").get_data(as_text=True)
    assert "Patient: Schmidt, David (MRN LINK-20417)" in listed


def test_a_refused_login_offers_the_chosen_patient_again(
    browser: Browser, people: dict[str, str], clinic: Clinic
) -> None:
    page = refused(
        admin(browser, people),
        "/admin/forms/user",
        {
            "email": "q@b.example",
            "password": "short",
            "role": "patient",
            "patient_id": str(clinic.patient_id),
        },
    ).get_data(as_text=True)

    assert f'type="radio" value="{clinic.patient_id}" checked' in page


def test_a_site_is_changed_through_the_patch_schema_and_a_blank_name_clears_it(
    api: Api, browser: Browser, people: dict[str, str], clinic: Clinic, db: Session
) -> None:
    site = api.ok("GET", f"/sites/{clinic.site_id}")
    form = {
        "name": site["name"],
        "display_name": "Riverside Clinic",
        "address": "2 New Road",
        "phone": "",
        "turnover_minutes": "20",
        "recovery_minutes": str(site["recovery_minutes"]),
        "min_notice_minutes": str(site["min_notice_minutes"]),
    }
    overview = admin(browser, people).get("/admin/facilities").get_data(as_text=True)

    changed = post(browser, f"/admin/sites/{clinic.site_id}", form)
    bad = refused(browser, f"/admin/sites/{clinic.site_id}", {**form, "turnover_minutes": "100000"})
    cleared = post(browser, f"/admin/sites/{clinic.site_id}", {**form, "display_name": ""})

    assert f'action="/admin/sites/{clinic.site_id}"' in overview
    assert flashes(changed) == ["Site saved."]
    assert "Patients see: Riverside Clinic" in changed.get_data(as_text=True)
    assert refusal(bad)[1].startswith("Turnover minutes: Enter a number from 0 to ")
    assert 'value="100000"' in bad.get_data(as_text=True)
    assert flashes(cleared) == ["Site saved."]
    db.expire_all()
    saved = db.get_one(Site, clinic.site_id)
    assert (saved.display_name, saved.address, saved.phone, saved.turnover_minutes) == (
        None,
        "2 New Road",
        None,
        20,
    )
    assert browser.post("/admin/sites/999999", form).status_code == 404
