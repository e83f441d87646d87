"""Admin pages through the Flask client: every form goes through the API's schema and service."""

from __future__ import annotations

import html
import re

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from scheduler.auth.models import User
from scheduler.clinicians.models import TimeOff, WorkingHours
from scheduler.facilities.models import Room, Site
from scheduler.policies.models import PolicyRecord
from tests.api.conftest import Clinic
from tests.support import Browser, flashes, refusal


def count(db: Session, model: type) -> int:
    return db.scalar(select(func.count()).select_from(model)) or 0


def admin(browser: Browser, people: dict[str, str]) -> Browser:
    browser.sign_in(people["admin"])
    return browser


def post(browser: Browser, path: str, data: dict[str, str]) -> TestResponse:
    response = browser.post(path, data)
    assert response.status_code == 302, response.get_data(as_text=True)
    return browser.get(response.headers["Location"])


def refused(browser: Browser, path: str, data: dict[str, str], status: int = 422) -> TestResponse:
    """A form the API's schema or service refuses: the page again, with the reason."""
    response = browser.post(path, data)
    assert response.status_code == status, response.get_data(as_text=True)
    return response


def test_a_room_is_added_through_the_apis_schema_and_service(
    browser: Browser, people: dict[str, str], clinic: Clinic, db: Session
) -> None:
    page = post(
        admin(browser, people),
        "/admin/forms/room",
        {
            "site_id": str(clinic.site_id),
            "name": "Room 9",
            "kind": "procedure",
            "fluoroscopy": "true",
        },
    )

    assert flashes(page) == ["Add a room: saved."]
    room = db.scalars(select(Room).where(Room.name == "Room 9")).one()
    assert (room.site_id, room.fluoroscopy) == (clinic.site_id, True)
    assert "Room 9 (procedure, fluoroscopy)" in page.get_data(as_text=True)


def test_a_site_is_added_with_the_name_its_patients_see(
    browser: Browser, people: dict[str, str], db: Session
) -> None:
    page = post(
        admin(browser, people),
        "/admin/forms/site",
        {
            "name": "North Spine & Pain Center",
            "display_name": "North Clinic",
            "timezone": "America/Chicago",
            "address": "1 North Road",
        },
    )

    assert flashes(page) == ["Add a site: saved."]
    site = db.scalars(select(Site).where(Site.name == "North Spine & Pain Center")).one()
    assert site.display_name == "North Clinic"
    assert "Patients see: North Clinic" in page.get_data(as_text=True)


def test_bad_input_is_explained_by_field_and_saves_nothing(
    browser: Browser, people: dict[str, str], db: Session
) -> None:
    sites = count(db, Site)

    page = refused(
        admin(browser, people),
        "/admin/forms/site",
        {
            "name": "North",
            "timezone": "Mars/Olympus",
            "address": "1 Road",
            "turnover_minutes": "-5",
        },
    )

    assert "Timezone: Unknown time zone." in refusal(page)
    assert any(message.startswith("Turnover minutes:") for message in refusal(page))
    assert 'value="North"' in page.get_data(as_text=True)  # what was typed, to correct
    assert count(db, Site) == sites


def test_weekly_hours_replace_the_old_ones_and_a_backwards_day_is_refused(
    browser: Browser, people: dict[str, str], clinic: Clinic, db: Session
) -> None:
    admin(browser, people)
    path = f"/admin/clinicians/{clinic.clinician_id}/hours"
    site = str(clinic.site_id)

    backwards = refused(browser, path, {"site_id": site, "start-1": "10:00", "end-1": "09:00"})
    assert refusal(backwards)[1:] == ["Tuesday end: Must be after start."]
    assert count(db, WorkingHours) == 14  # the clinic's two clinicians, every day

    saved = post(browser, path, {"site_id": site, "start-0": "08:00", "end-0": "12:30"})
    assert flashes(saved) == ["Weekly hours saved."]
    hours = db.scalars(
        select(WorkingHours).where(WorkingHours.clinician_id == clinic.clinician_id)
    ).all()
    assert [(h.weekday, h.start_time.isoformat(), h.end_time.isoformat()) for h in hours] == [
        (0, "08:00:00", "12:30:00")
    ]


def test_time_off_is_entered_in_the_sites_wall_clock(
    browser: Browser, people: dict[str, str], clinic: Clinic, db: Session
) -> None:
    page = post(
        admin(browser, people),
        f"/admin/clinicians/{clinic.clinician_id}/forms/time_off",
        {"start": "2026-07-01T08:00", "end": "2026-07-01T12:00", "reason": "Course"},
    )

    assert flashes(page) == ["Add time off: saved."]
    off = db.scalars(select(TimeOff)).one()
    assert off.start_at.isoformat() == "2026-07-01T12:00:00+00:00"  # 08:00 in New York (EDT)


def test_a_new_user_gets_a_login_and_a_short_password_is_refused(
    browser: Browser, people: dict[str, str], db: Session
) -> None:
    admin(browser, people)
    short = refused(
        browser, "/admin/forms/user", {"email": "a@b.example", "password": "short", "role": "nurse"}
    )
    assert "Password: Use at least 10 characters." in refusal(short)
    assert 'value="short"' not in short.get_data(as_text=True)  # a password is never echoed
    assert db.scalar(select(User.id).where(User.email == "a@b.example")) is None

    made = post(
        browser,
        "/admin/forms/user",
        {"email": "a@b.example", "password": "a long enough password", "role": "nurse"},
    )
    assert flashes(made) == ["Add a user: saved."]
    assert (
        Browser(browser.client).sign_in("a@b.example", "a long enough password").status_code == 302
    )


def test_a_policy_is_read_and_republished_as_the_next_version_only_when_valid(
    browser: Browser, people: dict[str, str], db: Session
) -> None:
    admin(browser, people)
    listed = browser.get("/admin/policies").get_data(as_text=True)
    name, version = re.search(r'href="/admin/policies/([a-z_0-9]+)/(\d+)"', listed).groups()  # type: ignore[union-attr]
    shown = browser.get(f"/admin/policies/{name}/{version}").get_data(as_text=True)
    document = html.unescape(
        re.search(r'name="parameters"[^>]*>(.*?)</textarea>', shown, re.S).group(1)  # type: ignore[union-attr]
    )
    versions = count(db, PolicyRecord)

    broken = refused(
        browser, "/admin/forms/policy", {"name": name, "title": "T", "parameters": "{"}
    )
    assert refusal(broken)[1].startswith("Parameters: Not valid JSON")
    assert count(db, PolicyRecord) == versions

    published = post(
        browser, "/admin/forms/policy", {"name": name, "title": "Next", "parameters": document}
    )
    assert flashes(published) == ["Publish a new version: saved."]
    assert (
        db.scalar(select(func.max(PolicyRecord.version)).where(PolicyRecord.name == name))
        == int(version) + 1
    )


def test_admin_pages_are_for_admins_only(browser: Browser, people: dict[str, str]) -> None:
    for role in ("scheduler", "nurse", "clinician", "patient"):
        browser.sign_in(people[role])
        assert browser.get("/admin/").status_code == 403, role
        assert browser.post("/admin/forms/room", {"name": "x"}).status_code == 403, role
        browser.post("/signout")
