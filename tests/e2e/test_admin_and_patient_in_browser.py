"""Admin and patient pages in a real browser (issue 18, points 8 and 13): a refused policy
keeps the document as typed, the next version shows its changes, a patient login is
linked to a patient found by search, and the patient's page says when to arrive, with
the clinic's phone to tap and web calendar links. Each page is checked with axe."""

from __future__ import annotations

import re
from pathlib import Path

from tests.e2e.gunicorn import Served
from tests.e2e.test_pages_in_browser import (
    browser,
    demo,
    screenshots,
    shoot,
    sign_in,
)

# The browser, the served demo clinic and the screenshot folder are the fixtures of the
# pages' browser tests, imported so that pytest finds them here by name.
__all__ = ["browser", "demo", "screenshots"]

WHEN = re.compile(r"Arrive at (\d\d:\d\d), appointment at (\d\d:\d\d) \(New York time\)")


def test_a_refused_policy_keeps_the_typed_document_and_the_next_version_shows_its_diff(
    demo: tuple[Served, str],
    browser: object,
    screenshots: Path,
) -> None:
    served, _url = demo
    page = sign_in(browser, served, "admin")
    page.goto(f"{served.base_url}/admin/policies")  # type: ignore[attr-defined]
    page.get_by_role("link").filter(has_text="medicare").first.click()  # type: ignore[attr-defined]
    policy_url = page.url  # type: ignore[attr-defined]
    document = page.get_by_label("Parameters (JSON)").input_value()  # type: ignore[attr-defined]
    broken = document.replace('"clear_fluids": 2', '"clear_fluids": -2', 1)
    assert broken != document

    page.get_by_label("Parameters (JSON)").fill(broken)  # type: ignore[attr-defined]
    page.get_by_role("button", name="Save").click()  # type: ignore[attr-defined]
    page.wait_for_load_state()  # type: ignore[attr-defined]

    alert = page.get_by_role("alert")  # type: ignore[attr-defined]
    assert "Enter a number from 0 to 24." in alert.inner_text()
    assert page.get_by_label("Parameters (JSON)").input_value() == broken  # type: ignore[attr-defined]
    above = page.evaluate(  # type: ignore[attr-defined]
        "() => document.querySelector('.problem').getBoundingClientRect().top"
        " < document.querySelector('textarea').getBoundingClientRect().top"
    )
    assert above
    shoot(page, screenshots, "admin-policy-refused")

    page.get_by_label("Parameters (JSON)").fill(broken.replace("-2", "3", 1))  # type: ignore[attr-defined]
    page.get_by_role("button", name="Save").click()  # type: ignore[attr-defined]
    page.wait_for_load_state()  # type: ignore[attr-defined]
    assert page.get_by_text("Publish a new version: saved.").is_visible()  # type: ignore[attr-defined]
    name, version = policy_url.rsplit("/", 2)[-2:]
    page.goto(f"{served.base_url}/admin/policies/{name}/{int(version) + 1}")  # type: ignore[attr-defined]

    assert page.get_by_role("heading", name=f"Changes from version {version}").is_visible()  # type: ignore[attr-defined]
    added = page.locator("tr.diff-added")  # type: ignore[attr-defined]
    removed = page.locator("tr.diff-removed")  # type: ignore[attr-defined]
    assert added.count() == removed.count() == 1
    assert re.fullmatch(r'\+ added\s+\d+\s+"clear_fluids": 3,', added.inner_text().strip())
    assert re.fullmatch(
        r'\N{MINUS SIGN} removed\s+\d+\s+"clear_fluids": 2,', removed.inner_text().strip()
    )
    shoot(page, screenshots, "admin-policy-diff")


def test_the_admin_links_a_new_patient_login_to_a_patient_found_by_name(
    demo: tuple[Served, str],
    browser: object,
    screenshots: Path,
) -> None:
    served, _url = demo
    page = sign_in(browser, served, "admin")
    page.goto(f"{served.base_url}/admin/users")  # type: ignore[attr-defined]
    role = page.get_by_label("Role", exact=True)  # type: ignore[attr-defined]
    assert role.input_value() == ""

    page.get_by_label("Name, MRN or date of birth").fill("Schmidt, David")  # type: ignore[attr-defined]
    page.get_by_role("button", name="Find").click()  # type: ignore[attr-defined]
    page.wait_for_load_state()  # type: ignore[attr-defined]
    assert page.get_by_text("1 found").is_visible()  # type: ignore[attr-defined]
    shoot(page, screenshots, "admin-users-patient-search")

    page.get_by_label(re.compile(r"^Schmidt, David · MRN DEMO-")).check()  # type: ignore[attr-defined]
    page.get_by_label("E-mail").fill("david.login@demo.example.org")  # type: ignore[attr-defined]
    page.get_by_label(re.compile("^Password")).fill("a long enough password")  # type: ignore[attr-defined]
    page.get_by_label("Role", exact=True).select_option("patient")  # type: ignore[attr-defined]
    page.get_by_role("button", name="Save").click()  # type: ignore[attr-defined]
    page.wait_for_load_state()  # type: ignore[attr-defined]

    assert page.get_by_text("Add a user: saved.").is_visible()  # type: ignore[attr-defined]
    row = page.locator("tr", has_text="david.login@demo.example.org")  # type: ignore[attr-defined]
    assert "patient" in row.inner_text()


def test_the_patient_sees_when_to_arrive_a_phone_to_tap_and_web_calendar_links(
    demo: tuple[Served, str],
    browser: object,
    screenshots: Path,
) -> None:
    served, _url = demo
    page = sign_in(browser, served, "patient")
    listing = page.locator("main").inner_text()  # type: ignore[attr-defined]
    arrive, start = WHEN.search(listing).groups()  # type: ignore[union-attr]
    assert arrive < start  # zero-padded HH:MM on one day: text order is time order
    assert "America/New_York" not in listing
    assert ".ics" not in listing
    shoot(page, screenshots, "patient-arrival")

    page.locator("ul.visits a[href^='/me/appointments/']").first.click()  # type: ignore[attr-defined]
    page.wait_for_load_state()  # type: ignore[attr-defined]

    phone = page.locator("dd a[href^='tel:']")  # type: ignore[attr-defined]
    assert re.fullmatch(r"tel:\+?\d+", phone.get_attribute("href"))
    google = page.get_by_role("link", name="Add to Google Calendar")  # type: ignore[attr-defined]
    assert google.get_attribute("href").startswith(
        "https://calendar.google.com/calendar/render?action=TEMPLATE"
    )
    outlook = page.get_by_role("link", name="Add to Outlook.com")  # type: ignore[attr-defined]
    assert outlook.get_attribute("href").startswith("https://outlook.live.com/calendar/")
    assert page.get_by_text("Arrive at", exact=True).is_visible()  # type: ignore[attr-defined]
    assert page.get_by_text(re.compile("If you take blood thinners")).is_visible()  # type: ignore[attr-defined]
    shoot(page, screenshots, "patient-appointment-calendars")
