"""Time off and working hours that would strand booked patients (issue: nobody left
without a new time): refused naming them unless confirmed; confirmed, each booking is
marked for rebooking until it is moved or taken off, sits in the board's Rebook queue
with its reason, and shows red on the daily list."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy.orm import Session

from scheduler.clinicians.models import TimeOff, WorkingHours
from tests.api.conftest import Clinic
from tests.api.test_admin_pages import admin, post, refused
from tests.api.test_bad_input import Snapshot, assert_nothing_written, assert_problem
from tests.api.test_full_pathway import book, refer
from tests.api.test_nurse_pages import PROCEDURE_DAY, scheduled_procedure
from tests.support import FROZEN_NOW, Api, Browser, FrozenClock, flashes, local, text_of

DAY = "2026-03-03"
AWAY = "Dr Doe away 3 Mar"  # the clinic's clinician, a whole day of time off


def time_off(clinic: Clinic, **extra: Any) -> dict[str, Any]:
    return {
        "start": local(DAY, 0).isoformat(),
        "end": local("2026-03-04", 0).isoformat(),
        "reason": "Conference",
        **extra,
    }


def booked_block(api: Api, clinic: Clinic, hour: int = 9, **referral: Any) -> dict[str, Any]:
    pathway = refer(api, clinic, **referral)["id"]
    appointment: dict[str, Any] = book(api, clinic, pathway, "diagnostic_block", local(DAY, hour))
    return appointment


def away(api: Api, clinic: Clinic) -> dict[str, Any]:
    """Time off over the clinic's day, confirmed."""
    path = f"/clinicians/{clinic.clinician_id}/time-off"
    confirmed: dict[str, Any] = api.ok(
        "POST", path, "scheduler", json=time_off(clinic, confirm_stranded=True)
    )
    return confirmed


def appointment(api: Api, appointment_id: int) -> dict[str, Any]:
    found: dict[str, Any] = api.ok("GET", f"/appointments/{appointment_id}", "scheduler")
    return found


def test_time_off_over_bookings_is_refused_naming_the_patients_and_nothing_is_written(
    api: Api, clinic: Clinic, db: Session
) -> None:
    later = booked_block(api, clinic, 11)
    earlier = booked_block(api, clinic, 9, side="left")
    patient = api.ok("GET", f"/patients/{clinic.patient_id}", "scheduler")
    before = Snapshot.of(db)

    response = api.post(
        f"/clinicians/{clinic.clinician_id}/time-off", time_off(clinic), "scheduler"
    )

    problem = assert_problem(response, 409, "bookings-stranded")
    assert problem["appointment_ids"] == [earlier["id"], later["id"]]
    assert problem["stranded"][0] == {
        "appointment_id": earlier["id"],
        "start": earlier["start"],
        "kind": "diagnostic_block",
        "patient_name": f"{patient['family_name']}, {patient['given_name']}",
    }
    assert "confirm_stranded" in problem["detail"]
    assert patient["family_name"] not in problem["detail"]
    assert_nothing_written(db, before)
    assert db.query(TimeOff).count() == 0


def test_confirmed_time_off_marks_the_bookings_and_lists_them(
    api: Api, clinic: Clinic, clock: FrozenClock
) -> None:
    booked = booked_block(api, clinic)

    saved = away(api, clinic)

    assert saved["conflicting_appointment_ids"] == [booked["id"]]
    assert [s["appointment_id"] for s in saved["stranded"]] == [booked["id"]]
    marked = appointment(api, booked["id"])
    assert marked["rebook_reason"] == AWAY
    assert datetime.fromisoformat(marked["rebook_since"]) == FROZEN_NOW
    assert marked["status"] == "booked"


def test_time_off_over_no_booking_needs_no_confirmation(api: Api, clinic: Clinic) -> None:
    saved = api.ok(
        "POST", f"/clinicians/{clinic.clinician_id}/time-off", "scheduler", json=time_off(clinic)
    )

    assert (saved["conflicting_appointment_ids"], saved["stranded"]) == ([], [])


def test_confirmed_working_hours_save_and_mark_the_bookings_left_outside(
    api: Api, clinic: Clinic, db: Session
) -> None:
    booked = booked_block(api, clinic)
    path = f"/clinicians/{clinic.clinician_id}/working-hours"
    before = Snapshot.of(db)
    assert_problem(api.call("PUT", path, json=[]), 409, "bookings-stranded")
    assert_nothing_written(db, before)

    response = api.call("PUT", path, json=[], query_string={"confirm_stranded": "true"})

    assert response.status_code == 200, response.get_json()
    assert response.get_json() == []
    assert response.headers["Stranded-Appointments"] == str(booked["id"])
    assert db.query(WorkingHours).filter_by(clinician_id=clinic.clinician_id).count() == 0
    assert appointment(api, booked["id"])["rebook_reason"] == "outside new working hours"


def test_hours_that_strand_nobody_answer_without_the_header(api: Api, clinic: Clinic) -> None:
    path = f"/clinicians/{clinic.other_clinician_id}/working-hours"
    response = api.call("PUT", path, json=[], query_string={"confirm_stranded": "true"})

    assert response.status_code == 200
    assert "Stranded-Appointments" not in response.headers


def test_moving_the_appointment_clears_the_mark(api: Api, clinic: Clinic) -> None:
    booked = booked_block(api, clinic)
    away(api, clinic)
    etag = api.get(f"/appointments/{booked['id']}", "scheduler").headers["ETag"]

    moved = api.ok(
        "PATCH",
        f"/appointments/{booked['id']}",
        "scheduler",
        json={"start": local("2026-03-04", 9).isoformat()},
        headers={"If-Match": etag},
    )

    assert (moved["rebook_reason"], moved["rebook_since"]) == (None, None)


def test_cancelling_the_appointment_clears_the_mark(api: Api, clinic: Clinic) -> None:
    booked = booked_block(api, clinic)
    away(api, clinic)

    cancelled = api.ok(
        "POST", f"/appointments/{booked['id']}/cancel", "scheduler", json={"reason": "Elsewhere"}
    )

    assert (cancelled["rebook_reason"], cancelled["rebook_since"]) == (None, None)


def test_a_marked_case_is_red_with_its_reason_on_the_daily_list_not_ready(
    api: Api, browser: Browser, people: dict[str, str], clinic: Clinic
) -> None:
    booked_block(api, clinic)
    away(api, clinic)

    listed = api.ok(
        "GET",
        f"/clinicians/{clinic.clinician_id}/daily-list",
        "scheduler",
        query_string={"date": DAY},
    )
    browser.sign_in(people["scheduler"])
    html = text_of(browser.get(f"/clinicians/{clinic.clinician_id}/days/{DAY}"))

    assert listed["cases"][0]["readiness"]["summary"] == "red"
    assert listed["cases"][0]["readiness"]["rebook"] == AWAY
    assert f'<span class="rag rag-red">Needs rebooking: {AWAY}</span>' in html
    assert ">Ready<" not in html


def test_the_pathway_page_flags_a_booking_that_needs_rebooking(
    api: Api, browser: Browser, people: dict[str, str], clinic: Clinic
) -> None:
    booked = booked_block(api, clinic)
    away(api, clinic)
    browser.sign_in(people["scheduler"])

    html = text_of(browser.get(f"/board/pathways/{booked['pathway_id']}"))

    assert f"Needs rebooking: {AWAY}" in html


def test_the_nurse_day_and_the_procedure_day_flag_a_procedure_that_needs_rebooking(
    api: Api, browser: Browser, people: dict[str, str], clinic: Clinic, clock: FrozenClock
) -> None:
    procedure = scheduled_procedure(api, clinic, clock)
    api.ok(
        "POST",
        f"/clinicians/{clinic.clinician_id}/time-off",
        "scheduler",
        json={
            "start": local(PROCEDURE_DAY, 8).isoformat(),
            "end": local(PROCEDURE_DAY, 12).isoformat(),
            "confirm_stranded": True,
        },
    )
    browser.sign_in(people["nurse"])

    day = text_of(browser.get(f"/nurse/?date={PROCEDURE_DAY}"))
    case = text_of(browser.get(f"/nurse/appointments/{procedure['id']}"))

    flag = "Needs rebooking: Dr Doe away 10 Mar 08:00\N{EN DASH}12:00"
    assert flag in day
    assert flag in case
    assert ">Ready<" not in day


def test_the_rebook_queue_lists_marked_and_cancelled_pathways_with_reason_and_wait(
    api: Api, browser: Browser, people: dict[str, str], clinic: Clinic, clock: FrozenClock
) -> None:
    marked = booked_block(api, clinic)
    cancelled = booked_block(api, clinic, 11, side="left")
    # 21:30 on 2 March in New York is already 3 March in UTC: the queue says 02 Mar.
    clock.set(local("2026-03-02", 21, 30).astimezone(UTC))
    api.ok("POST", f"/appointments/{cancelled['id']}/cancel", "scheduler", json={"reason": "Flu"})
    away(api, clinic)
    clock.advance(days=12)
    browser.sign_in(people["scheduler"])

    html = text_of(browser.get("/board/"))

    rebook = html[html.index("Cancelled or no-show") : html.index("Needs a diagnostic block")]
    cancelled_item = rebook[rebook.index(f"/board/pathways/{cancelled['pathway_id']}") :]
    marked_item = rebook[rebook.index(f"/board/pathways/{marked['pathway_id']}") :]
    assert "since 02 Mar · waiting 12 days" in cancelled_item
    assert '<span class="queue-reason">Flu</span>' in cancelled_item
    assert '<span class="queue-reason">Dr Doe away 3 Mar</span>' in marked_item
    assert "Needs a diagnostic block" not in rebook


# ---------------------------------------------------------------------------------------
# The admin's clinician page: confirm, naming the patients, or go back


def test_time_off_over_bookings_on_the_admin_page_asks_to_confirm_naming_the_patients(
    api: Api, browser: Browser, people: dict[str, str], clinic: Clinic, db: Session
) -> None:
    booked = booked_block(api, clinic)
    patient = api.ok("GET", f"/patients/{clinic.patient_id}", "scheduler")
    admin(browser, people)
    path = f"/admin/clinicians/{clinic.clinician_id}/forms/time_off"
    typed = {"start": f"{DAY}T00:00", "end": "2026-03-04T00:00", "reason": "Conference"}
    before = Snapshot.of(db)

    asked = refused(browser, path, typed, 409)

    html = text_of(asked)
    row = html[html.index("<tbody>") :]
    assert f"{patient['family_name']}, {patient['given_name']}" in row
    assert patient["mrn"] in row
    assert date.fromisoformat(patient["birth_date"]).strftime("%d %b %Y") in row
    assert "Diagnostic block" in row
    assert "Tue 03 Mar 2026, 09:00" in row
    assert "Save and send them to the Rebook queue" in html
    assert "1 booked appointment would fall in " in html
    assert "time off." in html
    back = f'href="/admin/clinicians/{clinic.clinician_id}?start=2026-03-03T00%3A00&amp;end='
    assert back in html  # "Go back" keeps what was typed
    assert_nothing_written(db, before)

    saved = post(browser, path, typed | {"confirm_stranded": "true"})

    assert flashes(saved)[0].startswith("1 booked appointment(s) now need a new time")
    assert appointment(api, booked["id"])["rebook_reason"] == AWAY
    assert db.query(TimeOff).count() == 1


def test_going_back_from_the_confirmation_keeps_what_was_typed(
    browser: Browser, people: dict[str, str], clinic: Clinic
) -> None:
    admin(browser, people)

    page = browser.get(
        f"/admin/clinicians/{clinic.clinician_id}"
        "?start=2026-03-03T00%3A00&end=2026-03-04T00%3A00&reason=Conference"
    )

    html = text_of(page)
    assert 'value="2026-03-03T00:00"' in html
    assert 'value="Conference"' in html


def test_weekly_hours_over_bookings_ask_to_confirm_then_save_and_mark(
    api: Api, browser: Browser, people: dict[str, str], clinic: Clinic, db: Session
) -> None:
    booked = booked_block(api, clinic)
    admin(browser, people)
    path = f"/admin/clinicians/{clinic.clinician_id}/hours"
    typed = {"site_id": str(clinic.site_id), "start-0": "08:00", "end-0": "12:00"}

    asked = refused(browser, path, typed, 409)

    html = text_of(asked)
    assert "Weekly hours for" in html
    assert "would fall outside " in html
    assert "new hours." in html
    assert "Tue 03 Mar 2026, 09:00" in html
    assert 'name="start-0" value="08:00"' in html  # sent again with the confirmation
    assert "start-0=08%3A00" in html  # and kept by "Go back"
    assert db.query(WorkingHours).filter_by(clinician_id=clinic.clinician_id).count() == 7

    saved = post(browser, path, typed | {"confirm_stranded": "true"})

    assert flashes(saved)[0].startswith("Weekly hours saved. 1 booked appointment(s)")
    assert appointment(api, booked["id"])["rebook_reason"] == "outside new working hours"
    assert db.query(WorkingHours).filter_by(clinician_id=clinic.clinician_id).count() == 1
