"""Where invites come from (signed in, and the patient's link) and clinicians' feeds (SPEC §5).

The clock stands at Monday 2026-03-02 14:00 New York time.
"""

from __future__ import annotations

from typing import Any

import icalendar
import pytest
import vobject
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from scheduler.clinicians.models import Clinician
from scheduler.facilities.models import Site
from scheduler.patients.models import Patient
from tests.api.conftest import Clinic
from tests.api.test_full_pathway import book, refer
from tests.api.test_outbox import cancel, move
from tests.support import Api, Browser, FrozenClock, local


def parsed(body: bytes) -> icalendar.Calendar:
    calendar = icalendar.Calendar.from_ical(body)
    vobject.readOne(body.decode())  # an independent reader must accept it too
    return calendar


def booked_block(api: Api, clinic: Clinic, day: str = "2026-03-06") -> dict[str, Any]:
    pathway = refer(api, clinic)["id"]
    appointment: dict[str, Any] = book(api, clinic, pathway, "diagnostic_block", local(day, 9))
    return appointment


def public_path(url: str) -> str:
    return url.removeprefix("http://127.0.0.1:5000")


# ---------------------------------------------------------------------------------------
# GET /appointments/{id}/invite.ics


@pytest.mark.parametrize("role", ["scheduler", "nurse", "clinician", "admin", "patient"])
def test_staff_and_the_patient_download_the_invite(api: Api, clinic: Clinic, role: str) -> None:
    appointment = booked_block(api, clinic)

    response = api.get(f"/appointments/{appointment['id']}/invite.ics", role)

    assert response.status_code == 200
    assert response.mimetype == "text/calendar"
    assert "attachment" in response.headers["Content-Disposition"]
    calendar = parsed(response.data)
    assert calendar["METHOD"] == "REQUEST"
    event = calendar.walk("VEVENT")[0]
    assert event.decoded("DTSTART") == local("2026-03-06", 9)
    site = api.ok("GET", f"/sites/{clinic.site_id}")
    assert event["SUMMARY"] == f"Appointment at {site['name']}"


def test_the_invites_attendee_is_the_patient_by_name_and_address(
    api: Api, clinic: Clinic, db: Session
) -> None:
    patient = db.get_one(Patient, clinic.patient_id)
    appointment = booked_block(api, clinic)

    event = parsed(api.get(f"/appointments/{appointment['id']}/invite.ics").data).walk("VEVENT")[0]

    assert str(event["ATTENDEE"]) == f"mailto:{patient.email}"
    assert event["ATTENDEE"].params["CN"] == f"{patient.given_name} {patient.family_name}"
    assert patient.family_name not in str(event["SUMMARY"])


def test_another_patient_cannot_download_the_invite(api: Api, clinic: Clinic) -> None:
    appointment = booked_block(api, clinic)
    response = api.get(f"/appointments/{appointment['id']}/invite.ics", "other_patient")
    missing = api.get("/appointments/999999/invite.ics", "other_patient")
    assert response.status_code == missing.status_code == 403
    assert api.get(f"/appointments/{appointment['id']}/invite.ics", None).status_code == 401


def test_a_cancelled_appointments_invite_is_the_cancellation(api: Api, clinic: Clinic) -> None:
    appointment = booked_block(api, clinic)
    first = parsed(api.get(f"/appointments/{appointment['id']}/invite.ics").data)
    cancel(api, appointment["id"])

    calendar = parsed(api.get(f"/appointments/{appointment['id']}/invite.ics").data)

    event = calendar.walk("VEVENT")[0]
    assert calendar["METHOD"] == "CANCEL"
    assert event["STATUS"] == "CANCELLED"
    assert event["UID"] == first.walk("VEVENT")[0]["UID"]
    assert int(event["SEQUENCE"]) > int(first.walk("VEVENT")[0]["SEQUENCE"])


def test_a_moved_appointment_keeps_its_uid_and_raises_its_sequence(
    api: Api, clinic: Clinic
) -> None:
    appointment = booked_block(api, clinic)
    before = parsed(api.get(f"/appointments/{appointment['id']}/invite.ics").data)
    move(api, appointment["id"], local("2026-03-10", 9))

    after = parsed(api.get(f"/appointments/{appointment['id']}/invite.ics").data)

    old, new = before.walk("VEVENT")[0], after.walk("VEVENT")[0]
    assert new["UID"] == old["UID"]
    assert (int(old["SEQUENCE"]), int(new["SEQUENCE"])) == (1, 2)
    assert new.decoded("DTSTART") == local("2026-03-10", 9)  # EDT now


# ---------------------------------------------------------------------------------------
# The site's patient-facing name (SPEC §5)


def test_a_site_is_created_with_a_display_name_which_defaults_to_none(api: Api) -> None:
    body = {"timezone": "America/Chicago", "address": "1 North Road, Springfield"}
    named = api.ok(
        "POST",
        "/sites",
        "admin",
        json={**body, "name": "North Spine & Pain Center", "display_name": " North Clinic "},
    )
    plain = api.ok("POST", "/sites", "admin", json={**body, "name": "North Two"})

    assert named["display_name"] == "North Clinic"
    assert api.ok("GET", f"/sites/{named['id']}")["display_name"] == "North Clinic"
    assert plain["display_name"] is None
    assert api.ok("GET", f"/sites/{plain['id']}")["display_name"] is None


def shown_as(db: Session, clinic: Clinic, display_name: str | None) -> Site:
    site = db.get_one(Site, clinic.site_id)
    site.name = "Riverside Spine & Pain Center"
    site.display_name = display_name
    db.flush()
    return site


def test_the_invite_names_the_site_by_its_display_name_only(
    api: Api, clinic: Clinic, db: Session
) -> None:
    shown_as(db, clinic, "Riverside Clinic")
    appointment = booked_block(api, clinic)

    response = api.get(f"/appointments/{appointment['id']}/invite.ics", "patient")

    event = parsed(response.data).walk("VEVENT")[0]
    assert str(event["SUMMARY"]) == "Appointment at Riverside Clinic"
    assert str(event["LOCATION"]).startswith("Riverside Clinic, ")
    assert event["ORGANIZER"].params["CN"] == "Riverside Clinic"
    alarms = event.walk("VALARM")
    assert alarms
    assert all(str(alarm["DESCRIPTION"]) == "Appointment at Riverside Clinic" for alarm in alarms)
    assert b"Spine" not in response.data.replace(b"\r\n ", b"")


def test_a_site_without_a_display_name_is_shown_by_its_name(
    api: Api, clinic: Clinic, db: Session
) -> None:
    shown_as(db, clinic, None)
    appointment = booked_block(api, clinic)

    response = api.get(f"/appointments/{appointment['id']}/invite.ics", "patient")

    event = parsed(response.data).walk("VEVENT")[0]
    assert str(event["SUMMARY"]) == "Appointment at Riverside Spine & Pain Center"


def test_an_admin_sets_and_clears_an_existing_site_s_display_name(
    api: Api, clinic: Clinic, db: Session
) -> None:
    shown_as(db, clinic, None)
    appointment = booked_block(api, clinic)
    path = f"/sites/{clinic.site_id}"

    changed = api.ok("PATCH", path, json={"display_name": "Riverside Clinic"})
    assert changed["display_name"] == "Riverside Clinic"
    invite = api.get(f"/appointments/{appointment['id']}/invite.ics", "patient")
    assert str(parsed(invite.data).walk("VEVENT")[0]["SUMMARY"]) == (
        "Appointment at Riverside Clinic"
    )

    cleared = api.ok("PATCH", path, json={"display_name": None})
    assert cleared["display_name"] is None
    assert cleared["name"] == changed["name"]  # nothing else changed
    assert cleared["timezone"] == changed["timezone"]


def test_a_site_cannot_take_another_site_s_name(api: Api, clinic: Clinic) -> None:
    other = api.ok(
        "POST",
        "/sites",
        json={"name": "North clinic", "timezone": "America/Chicago", "address": "1 North Road"},
    )
    response = api.call("PATCH", f"/sites/{clinic.site_id}", json={"name": "North clinic"})
    assert response.status_code == 409
    assert api.ok("GET", f"/sites/{other['id']}")["name"] == "North clinic"


def test_the_patients_page_names_the_site_by_its_display_name(
    api: Api, browser: Browser, people: dict[str, str], clinic: Clinic, db: Session
) -> None:
    shown_as(db, clinic, "Riverside Clinic")
    booked_block(api, clinic)
    browser.sign_in(people["patient"])

    page = browser.get("/me").get_data(as_text=True)

    assert "Riverside Clinic" in page
    assert "Spine" not in page


def test_the_clinicians_feed_keeps_the_sites_own_name(
    api: Api, client: FlaskClient, clinic: Clinic, db: Session
) -> None:
    """Staff-facing: the clinician knows which site the case is at."""
    shown_as(db, clinic, "Riverside Clinic")
    booked_block(api, clinic)
    issued = api.ok("POST", f"/clinicians/{clinic.clinician_id}/feed-token", "clinician")

    event = parsed(client.get(feed_path(issued)).data).walk("VEVENT")[0]

    assert str(event["LOCATION"]).endswith(", Riverside Spine & Pain Center")
    assert event["ORGANIZER"].params["CN"] == "Riverside Spine & Pain Center"


# ---------------------------------------------------------------------------------------
# The patient's signed link


def test_the_invite_link_works_without_login_until_the_appointment_is_over(
    api: Api, client: FlaskClient, clinic: Clinic, clock: FrozenClock
) -> None:
    appointment = booked_block(api, clinic)
    link = api.ok("GET", f"/appointments/{appointment['id']}/invite-link", "patient")
    path = public_path(link["url"])

    response = client.get(path)

    assert path.startswith("/i/")
    assert path.endswith(".ics")
    assert response.status_code == 200
    assert parsed(response.data).walk("VEVENT")[0]["UID"]
    assert link["expires_at"] == "2026-03-07T02:30:00+00:00"  # twelve hours after its end
    clock.set(local("2026-03-06", 21, 29))
    assert client.get(path).status_code == 200
    clock.set(local("2026-03-06", 21, 30))  # twelve hours after its end
    assert client.get(path).status_code == 404


@pytest.mark.parametrize("change", ["moved", "cancelled"])
def test_the_invite_link_stops_working_when_the_appointment_changes(
    api: Api, client: FlaskClient, clinic: Clinic, change: str
) -> None:
    appointment = booked_block(api, clinic)
    url = api.ok("GET", f"/appointments/{appointment['id']}/invite-link", "scheduler")["url"]
    if change == "moved":
        move(api, appointment["id"], local("2026-03-10", 9))
    else:
        cancel(api, appointment["id"])

    assert client.get(public_path(url)).status_code == 404
    if change == "moved":
        fresh = api.ok("GET", f"/appointments/{appointment['id']}/invite-link", "patient")
        assert client.get(public_path(fresh["url"])).status_code == 200


def test_no_invite_link_is_handed_out_for_a_cancelled_appointment(api: Api, clinic: Clinic) -> None:
    appointment = booked_block(api, clinic)
    cancel(api, appointment["id"])

    response = api.get(f"/appointments/{appointment['id']}/invite-link", "patient")

    assert response.status_code == 409
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["type"].endswith("/invite-link-unavailable")
    assert body["status"] == 409
    assert body["detail"] == (
        f"Appointment {appointment['id']} is cancelled: an invite link would not work."
    )


def test_no_invite_link_is_handed_out_once_the_appointment_is_over(
    api: Api, clinic: Clinic, clock: FrozenClock
) -> None:
    appointment = booked_block(api, clinic)
    clock.set(local("2026-03-06", 21, 29))
    assert api.get(f"/appointments/{appointment['id']}/invite-link").status_code == 200
    clock.set(local("2026-03-06", 21, 30))  # twelve hours after its end: the link expired

    response = api.get(f"/appointments/{appointment['id']}/invite-link")

    assert response.status_code == 409
    assert response.get_json()["detail"].endswith(" is over: an invite link would not work.")


def test_the_invite_link_endpoint_documents_its_409(client: FlaskClient) -> None:
    spec = client.get("/api/v1/openapi.json").get_json()
    operation = spec["paths"]["/api/v1/appointments/{appointment_id}/invite-link"]["get"]
    assert "invite-link-unavailable" in operation["responses"]["409"]["description"]
    assert "409" in operation["description"]


@pytest.mark.parametrize(
    "token",
    ["nonsense", "WzEsMV0.forged", "W1siYSJdLDFd.x", "x" * 400, "%00"],
)
def test_a_forged_or_garbled_link_is_404(client: FlaskClient, token: str) -> None:
    assert client.get(f"/i/{token}.ics").status_code == 404


def test_another_patients_invite_link_is_not_handed_out(api: Api, clinic: Clinic) -> None:
    appointment = booked_block(api, clinic)
    response = api.get(f"/appointments/{appointment['id']}/invite-link", "other_patient")
    assert response.status_code == 403


# ---------------------------------------------------------------------------------------
# Clinicians' feeds


def feed_path(response: Any) -> str:
    return public_path(response["url"])


def test_a_clinician_subscribes_to_their_cases_with_initials_only(
    api: Api, client: FlaskClient, clinic: Clinic, db: Session
) -> None:
    booked_block(api, clinic, "2026-03-06")
    booked_block(api, clinic, "2026-03-09")
    patient = db.get(Patient, clinic.patient_id)
    assert patient is not None

    issued = api.ok("POST", f"/clinicians/{clinic.clinician_id}/feed-token", "clinician")
    response = client.get(feed_path(issued))

    assert issued["webcal_url"] == issued["url"].replace("http://", "webcal://")
    assert response.status_code == 200
    assert response.mimetype == "text/calendar"
    calendar = parsed(response.data)
    assert calendar["METHOD"] == "PUBLISH"
    assert "X-WR-CALNAME" in calendar
    assert "REFRESH-INTERVAL" in calendar
    events = calendar.walk("VEVENT")
    assert [event.decoded("DTSTART") for event in events] == [
        local("2026-03-06", 9),
        local("2026-03-09", 9),
    ]
    initials = f"{patient.given_name[0]}.{patient.family_name[0]}."
    assert all(initials in str(event["SUMMARY"]) for event in events)
    site = api.ok("GET", f"/sites/{clinic.site_id}")
    organizer = client.application.config["MAIL_FROM"]
    for event in events:  # RFC 5546 §3.2.1: every published event names its organizer
        assert str(event["ORGANIZER"]) == f"mailto:{organizer}"
        assert event["ORGANIZER"].params["CN"] == site["name"]
    assert patient.family_name.encode() not in response.data
    assert patient.mrn.encode() not in response.data
    stored = db.scalar(select(Clinician.feed_token_hash).where(Clinician.id == clinic.clinician_id))
    token = feed_path(issued).removeprefix("/feeds/").removesuffix(".ics")
    assert stored is not None
    assert token not in stored  # only the digest is kept


def test_the_feed_spans_30_days_back_and_90_ahead_without_cancelled_cases(
    api: Api, client: FlaskClient, clinic: Clinic, clock: FrozenClock
) -> None:
    booked_block(api, clinic, "2026-03-06")
    dropped = booked_block(api, clinic, "2026-03-09")
    cancel(api, dropped["id"])
    booked_block(api, clinic, "2026-06-05")  # 95 days ahead
    issued = api.ok("POST", f"/clinicians/{clinic.clinician_id}/feed-token", "admin")

    def starts() -> list[Any]:
        calendar = parsed(client.get(feed_path(issued)).data)
        return [event.decoded("DTSTART") for event in calendar.walk("VEVENT")]

    assert starts() == [local("2026-03-06", 9)]
    clock.set(local("2026-04-05", 8))  # 30 days after the first case, less an hour
    assert starts() == [local("2026-03-06", 9), local("2026-06-05", 9)]
    clock.set(local("2026-04-05", 11))  # 30 days after it, and an hour
    assert starts() == [local("2026-06-05", 9)]


def test_a_case_cancelled_after_it_was_published_leaves_the_feed(
    api: Api, client: FlaskClient, clinic: Clinic
) -> None:
    """A PUBLISH feed is the whole truth on each refresh: calendars drop what is gone."""
    booked_block(api, clinic, "2026-03-06")
    dropped = booked_block(api, clinic, "2026-03-09")
    issued = api.ok("POST", f"/clinicians/{clinic.clinician_id}/feed-token", "clinician")

    def published() -> list[icalendar.Event]:
        events: list[icalendar.Event] = parsed(client.get(feed_path(issued)).data).walk("VEVENT")
        return events

    before = [str(event["UID"]) for event in published()]
    cancel(api, dropped["id"])
    after = published()

    assert len(before) == 2
    assert [str(event["UID"]) for event in after] == before[:1]
    assert [str(event["STATUS"]) for event in after] == ["CONFIRMED"]


@pytest.mark.parametrize(
    ("detail", "shows_kind", "shows_name", "shows_initials"),
    [
        ("neutral", False, False, False),
        ("none", True, False, False),
        ("initials", True, False, True),
        ("full", True, True, False),
    ],
)
def test_the_feed_shows_as_much_of_the_patient_as_the_setting_allows(
    api: Api,
    client: FlaskClient,
    clinic: Clinic,
    db: Session,
    detail: str,
    shows_kind: bool,
    shows_name: bool,
    shows_initials: bool,
) -> None:
    client.application.config["FEED_PATIENT_DETAIL"] = detail
    booked_block(api, clinic)
    patient = db.get(Patient, clinic.patient_id)
    assert patient is not None
    issued = api.ok("POST", f"/clinicians/{clinic.clinician_id}/feed-token", "clinician")

    summary = str(parsed(client.get(feed_path(issued)).data).walk("VEVENT")[0]["SUMMARY"])

    assert ("Diagnostic block" in summary) is shows_kind
    assert (patient.family_name in summary) is shows_name
    assert (f"{patient.given_name[0]}.{patient.family_name[0]}." in summary) is shows_initials
    if detail == "neutral":
        assert summary == "Clinic appointment"


def test_a_new_token_revokes_the_old_and_delete_revokes_with_no_hint(
    api: Api, client: FlaskClient, clinic: Clinic
) -> None:
    first = api.ok("POST", f"/clinicians/{clinic.clinician_id}/feed-token", "clinician")
    second = api.ok("POST", f"/clinicians/{clinic.clinician_id}/feed-token", "clinician")

    replaced = client.get(feed_path(first))
    assert client.get(feed_path(second)).status_code == 200
    deleted = api.call("DELETE", f"/clinicians/{clinic.clinician_id}/feed-token", "clinician")
    revoked = client.get(feed_path(second))
    unknown = client.get("/feeds/" + "A" * 43 + ".ics")

    assert deleted.status_code == 204
    assert replaced.status_code == revoked.status_code == unknown.status_code == 404
    assert replaced.data == revoked.data == unknown.data


def test_only_the_clinician_or_an_admin_manages_a_feed(api: Api, clinic: Clinic) -> None:
    path = f"/clinicians/{clinic.clinician_id}/feed-token"
    assert api.post(path, None, "other_clinician").status_code == 403
    assert api.call("DELETE", path, "other_clinician").status_code == 403
    assert api.post(path, None, "scheduler").status_code == 403
    assert api.post(path, None, "patient").status_code == 403
    assert api.post("/clinicians/999999/feed-token", None, "admin").status_code == 404
    assert api.post(path, None, "admin").status_code == 201


def test_the_feed_token_lives_as_long_as_it_is_not_replaced(
    api: Api, client: FlaskClient, clinic: Clinic, clock: FrozenClock
) -> None:
    issued = api.ok("POST", f"/clinicians/{clinic.clinician_id}/feed-token", "clinician")
    clock.advance(days=400)
    assert client.get(feed_path(issued)).status_code == 200
