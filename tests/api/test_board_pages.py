"""The scheduler board through the Flask client: queues, search, pathway page, booking."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from scheduler.scheduling.models import Appointment, Hold
from tests.api.conftest import Clinic
from tests.api.test_full_pathway import book, conservative_care, refer, state_of
from tests.api.test_slots_and_holds import make_eligible
from tests.support import (
    NEW_YORK,
    Api,
    Browser,
    FrozenClock,
    flashes,
    local,
    refusal,
    text_of,
)

HOLD_FORM = re.compile(
    r'name="kind" value="(?P<kind>[^"]+)">\s*'
    r'<input type="hidden" name="start" value="(?P<start>[^"]+)">\s*'
    r'<input type="hidden" name="room_id" value="(?P<room_id>\d+)">'
)


def appointments(db: Session) -> int:
    return db.scalar(select(func.count()).select_from(Appointment)) or 0


def first_slot(browser: Browser, pathway_id: int, kind: str = "diagnostic_block") -> dict[str, str]:
    page = browser.get(f"/board/pathways/{pathway_id}/slots?kind={kind}&after=2026-03-03")
    found = HOLD_FORM.search(text_of(page))
    assert found is not None, text_of(page)
    return found.groupdict()


def test_a_referred_pathway_waits_in_the_block_queue_and_a_cancelled_one_in_rebook(
    api: Api, browser: Browser, people: dict[str, str], clinic: Clinic
) -> None:
    waiting = refer(api, clinic)["id"]
    cancelled = refer(api, clinic, side="left")["id"]
    booked = book(api, clinic, cancelled, "diagnostic_block", local("2026-03-03", 9))
    api.ok("POST", f"/appointments/{booked['id']}/cancel", "scheduler", json={"reason": "ill"})
    browser.sign_in(people["scheduler"])

    html = text_of(browser.get("/board/"))

    block_queue = html[html.index("Needs a diagnostic block") :]
    rebook_queue = html[html.index("Cancelled or no-show") : html.index("Needs a diagnostic block")]
    assert f"/board/pathways/{waiting}" in block_queue
    assert f"/board/pathways/{cancelled}" in rebook_queue
    assert f"/board/pathways/{cancelled}" not in block_queue
    # The side stands out in the lists as on every page of the pathway.
    assert '<strong class="side side-left">LEFT</strong>' in rebook_queue
    assert '<strong class="side side-right">RIGHT</strong>' in block_queue


def test_patient_search_finds_by_mrn_and_links_their_pathways(
    api: Api, browser: Browser, people: dict[str, str], clinic: Clinic, db: Session
) -> None:
    pathway = refer(api, clinic)["id"]
    mrn = api.ok("GET", f"/patients/{clinic.patient_id}", "scheduler")["mrn"]
    browser.sign_in(people["scheduler"])

    found = text_of(browser.get(f"/board/patients?q={mrn}"))
    nothing = text_of(browser.get("/board/patients?q=zzzznobody"))

    assert "1 found" in found
    assert f"/board/pathways/{pathway}" in found
    assert "No patient matches" in nothing


def test_the_pathway_page_shows_each_eligibility_rule_in_words_and_the_timeline(
    api: Api, browser: Browser, people: dict[str, str], clinic: Clinic
) -> None:
    pathway = refer(api, clinic)["id"]
    browser.sign_in(people["scheduler"])

    html = text_of(browser.get(f"/board/pathways/{pathway}"))

    assert "Procedure eligibility today: not yet" in html
    assert "positive diagnostic blocks of the 2 needed" in html
    assert "Create → <strong>referred</strong>" in html


def test_a_premature_procedure_search_shows_the_unmet_rules_not_a_code(
    api: Api, browser: Browser, people: dict[str, str], clinic: Clinic
) -> None:
    pathway = refer(api, clinic)["id"]
    browser.sign_in(people["scheduler"])

    response = browser.get(f"/board/pathways/{pathway}/slots?kind=procedure")

    assert response.status_code == 422
    assert refusal(response)[0] == "Cannot book the procedure:"
    assert "positive diagnostic blocks of the 2 needed" in text_of(response)
    assert "unmet" not in text_of(response)


def test_search_hold_confirm_books_the_held_slot_and_queues_nothing_twice(
    api: Api, browser: Browser, people: dict[str, str], clinic: Clinic, db: Session
) -> None:
    pathway = refer(api, clinic)["id"]
    browser.sign_in(people["scheduler"])
    slot = first_slot(browser, pathway)

    held = browser.post(f"/board/pathways/{pathway}/holds", slot)
    confirm = browser.get(held.headers["Location"])
    hold_id = held.headers["Location"].rsplit("/", 1)[1]

    assert "Confirm booking" in text_of(confirm)
    assert 'data-countdown="600"' in text_of(confirm)
    assert appointments(db) == 0
    confirm_path = f"/board/pathways/{pathway}/holds/{hold_id}/book"
    booked = browser.post(confirm_path, {"kind": "diagnostic_block"})
    appointment_id = db.scalar(select(Appointment.id))
    assert booked.headers["Location"] == f"/board/pathways/{pathway}#appointment-{appointment_id}"
    assert appointments(db) == 1
    assert db.get(Hold, hold_id) is None
    assert state_of(api, pathway) == "block_scheduled"
    # A second click, or Back and Confirm again: the booking it made, never a failure.
    again = browser.post(confirm_path, {"kind": "diagnostic_block"})
    back = browser.get(held.headers["Location"])
    for answer in (again, back):
        assert answer.status_code == 302
        assert answer.headers["Location"] == booked.headers["Location"]
    assert "Already booked: the appointment is marked below." in flashes(browser.get("/board/"))
    assert appointments(db) == 1
    assert confirm.headers["Cache-Control"] == "no-store"


def test_a_hold_that_expired_unused_says_so_and_books_nothing(
    api: Api, browser: Browser, people: dict[str, str], clinic: Clinic, db: Session
) -> None:
    pathway = refer(api, clinic)["id"]
    browser.sign_in(people["scheduler"])
    hold_id = (
        browser.post(f"/board/pathways/{pathway}/holds", first_slot(browser, pathway))
        .headers["Location"]
        .rsplit("/", 1)[1]
    )
    browser.post(f"/board/pathways/{pathway}/holds/{hold_id}/release")

    confirm = browser.post(
        f"/board/pathways/{pathway}/holds/{hold_id}/book", {"kind": "diagnostic_block"}
    )
    shown = browser.get(f"/board/pathways/{pathway}/holds/{hold_id}")

    assert confirm.status_code == 422
    assert "Hold: No such hold for this pathway and kind; it may have expired." in refusal(confirm)
    assert shown.headers["Location"] == f"/board/pathways/{pathway}"
    assert appointments(db) == 0


def test_letting_a_hold_go_frees_the_slot(
    api: Api, browser: Browser, people: dict[str, str], clinic: Clinic, db: Session
) -> None:
    pathway = refer(api, clinic)["id"]
    browser.sign_in(people["scheduler"])
    slot = first_slot(browser, pathway)
    hold_id = (
        browser.post(f"/board/pathways/{pathway}/holds", slot).headers["Location"].rsplit("/", 1)[1]
    )

    browser.post(f"/board/pathways/{pathway}/holds/{hold_id}/release")

    assert db.get(Hold, hold_id) is None
    assert first_slot(browser, pathway)["start"] == slot["start"]


def test_holding_without_the_csrf_token_is_refused(
    api: Api, browser: Browser, people: dict[str, str], clinic: Clinic, db: Session
) -> None:
    pathway = refer(api, clinic)["id"]
    browser.sign_in(people["scheduler"])
    slot = first_slot(browser, pathway)

    refused = browser.post(f"/board/pathways/{pathway}/holds", slot, csrf=False)

    assert refused.status_code == 400
    assert db.scalar(select(func.count()).select_from(Hold)) == 0


MOVE_FORM = re.compile(
    HOLD_FORM.pattern
    + r'\s*<input type="hidden" name="appointment_id" value="(?P<appointment_id>\d+)">'
)


def test_move_is_search_hold_confirm_and_the_old_time_stands_until_confirmed(
    api: Api, browser: Browser, people: dict[str, str], clinic: Clinic, db: Session
) -> None:
    pathway = refer(api, clinic)["id"]
    booked = book(api, clinic, pathway, "diagnostic_block", local("2026-03-03", 9))
    browser.sign_in(people["scheduler"])
    page = text_of(browser.get(f"/board/pathways/{pathway}"))
    assert f"/board/pathways/{pathway}/slots?kind=diagnostic_block&amp;move={booked['id']}" in page

    search = text_of(
        browser.get(
            f"/board/pathways/{pathway}/slots?kind=diagnostic_block&move={booked['id']}"
            "&after=2026-03-04&part=afternoon"
        )
    )
    found = MOVE_FORM.search(search)
    assert found is not None, search
    assert "Now booked for <strong>Tue 03 Mar 2026, 09:00</strong>" in search
    held = browser.post(f"/board/pathways/{pathway}/holds", found.groupdict())
    confirm = text_of(browser.get(held.headers["Location"]))
    assert "Confirm the move" in confirm
    assert "Tuesday 03 March 2026, 09:00" in confirm  # the time it replaces
    assert "Wednesday 04 March 2026, 12:00" in confirm  # the first afternoon slot
    db.expire_all()
    assert db.get(Appointment, booked["id"]).start_at == local("2026-03-03", 9)  # type: ignore[union-attr]

    hold_id = held.headers["Location"].rsplit("/", 1)[1]
    moved = browser.post(
        f"/board/pathways/{pathway}/holds/{hold_id}/move", {"appointment_id": str(booked["id"])}
    )
    shown = browser.get(moved.headers["Location"])
    again = browser.post(
        f"/board/pathways/{pathway}/holds/{hold_id}/move", {"appointment_id": str(booked["id"])}
    )

    assert "Moved from Tue 03 Mar 2026, 09:00 to Wed 04 Mar 2026, 12:00." in " ".join(
        flashes(shown)
    )
    assert "from Tue 03 Mar 09:00 to Wed 04 Mar 12:00" in text_of(shown)  # the timeline
    assert again.headers["Location"] == moved.headers["Location"]
    assert "Already moved: the appointment is marked below." in flashes(browser.get("/board/"))
    db.expire_all()
    assert db.get(Appointment, booked["id"]).start_at == local("2026-03-04", 12)  # type: ignore[union-attr]
    assert db.get(Appointment, booked["id"]).version == 2  # type: ignore[union-attr]


def test_a_refused_move_says_why_in_the_services_words(
    api: Api, browser: Browser, people: dict[str, str], clinic: Clinic
) -> None:
    pathway = refer(api, clinic)["id"]
    booked = book(api, clinic, pathway, "diagnostic_block", local("2026-03-03", 9))
    browser.sign_in(people["scheduler"])

    refused = browser.post(
        f"/board/pathways/{pathway}/holds",
        {
            "kind": "diagnostic_block",
            "start": local("2026-03-03", 23).isoformat(),
            "appointment_id": str(booked["id"]),
        },
    )

    assert refused.status_code == 422
    assert "Start: The clinician does not work at this site at that time." in refusal(refused)


def test_cancel_needs_a_reason_and_then_frees_the_pathway(
    api: Api, browser: Browser, people: dict[str, str], clinic: Clinic
) -> None:
    pathway = refer(api, clinic)["id"]
    conservative_care(api, pathway)
    booked = book(api, clinic, pathway, "diagnostic_block", local("2026-03-03", 9))
    browser.sign_in(people["scheduler"])

    asked = text_of(browser.get(f"/board/appointments/{booked['id']}/cancel"))
    assert "Cancel the diagnostic block of Tuesday 03 March 2026, 09:00?" in asked
    assert 'value="Patient unwell"' in asked
    assert 'value="Other"' in asked

    path = f"/board/appointments/{booked['id']}/cancel"
    for form in ({"reason": "  "}, {"choice": "Other", "reason": ""}, {"choice": "Forged"}):
        without = browser.post(path, form)
        assert without.status_code == 422
        assert "Reason: Length must be between 1 and 500." in refusal(without)
        assert state_of(api, pathway) == "block_scheduled"

    browser.post(path, {"choice": "Patient unwell", "reason": "flu"})
    assert state_of(api, pathway) == "referred"
    cancelled = api.ok("GET", f"/appointments/{booked['id']}", "scheduler")
    assert cancelled["cancel_reason"] == "Patient unwell: flu"


def test_the_board_is_for_the_desk_only(browser: Browser, people: dict[str, str]) -> None:
    for role in ("nurse", "clinician", "patient"):
        browser.sign_in(people[role])
        assert browser.get("/board/").status_code == 403, role
        browser.post("/signout")


DAY_HEADING = re.compile(r'<h2 id="day-(\d{4}-\d\d-\d\d)">')
SLOT_TIME = re.compile(r'<span class="slot-time">(\d\d:\d\d)\u2013')


def test_slot_search_shows_a_week_by_day_with_paging_and_a_part_of_day_filter(
    api: Api, browser: Browser, people: dict[str, str], clinic: Clinic
) -> None:
    pathway = refer(api, clinic)["id"]
    browser.sign_in(people["scheduler"])
    path = f"/board/pathways/{pathway}/slots?kind=diagnostic_block"

    week = text_of(browser.get(path + "&after=2026-03-03"))
    mornings = text_of(browser.get(path + "&after=2026-03-03&part=morning"))
    afternoons = text_of(browser.get(path + "&after=2026-03-03&part=afternoon"))
    later = text_of(browser.get(path + "&after=2026-03-10"))

    days = DAY_HEADING.findall(week)
    assert days == [f"2026-03-{d:02d}" for d in range(3, 10)]
    assert DAY_HEADING.findall(later)[0] == "2026-03-10"
    # Every free start of the week (07:00-16:30 for 30-minute blocks), not the first dozen.
    assert len(SLOT_TIME.findall(week)) == 7 * 39
    assert {int(t[:2]) for t in SLOT_TIME.findall(mornings)} == set(range(7, 12))
    assert {int(t[:2]) for t in SLOT_TIME.findall(afternoons)} == set(range(12, 17))
    assert "after=2026-03-10" in week  # the later week
    assert "after=2026-03-02" in week  # the earlier one, from today at the earliest
    assert "← Earlier week" not in text_of(browser.get(path))  # this week starts today


def test_an_empty_week_points_to_the_next_free_day(
    api: Api, browser: Browser, people: dict[str, str], clinic: Clinic, db: Session
) -> None:
    pathway = refer(api, clinic)["id"]
    api.ok(
        "POST",
        f"/clinicians/{clinic.clinician_id}/time-off",
        "admin",
        json={
            "start": local("2026-03-03", 0).isoformat(),
            "end": local("2026-03-12", 0).isoformat(),
            "reason": "Congress",
        },
    )
    browser.sign_in(people["scheduler"])

    page = text_of(
        browser.get(f"/board/pathways/{pathway}/slots?kind=diagnostic_block&after=2026-03-03")
    )

    assert "No free slot this week." in page
    assert "The next is on" in page
    assert "after=2026-03-12" in page
    assert "Thursday 12 March 2026" in page


def test_the_confirm_page_names_patient_side_equipment_bay_and_arrival(
    api: Api, browser: Browser, people: dict[str, str], clinic: Clinic, clock: FrozenClock
) -> None:
    pathway = refer(api, clinic, side="left")["id"]
    make_eligible(api, clinic, clock, (pathway, "clinician"))
    browser.sign_in(people["scheduler"])
    search = text_of(
        browser.get(f"/board/pathways/{pathway}/slots?kind=procedure&after=2026-03-23")
    )
    found = HOLD_FORM.search(search)
    assert found is not None, search
    # Each slot names its room, each unit of equipment the method needs, and its bay.
    assert re.search(r'slot-where">Procedure room \d+ · Unit \d+ · Unit \d+ · Bay \d+<', search)

    held = browser.post(f"/board/pathways/{pathway}/holds", found.groupdict())
    confirm = text_of(browser.get(held.headers["Location"]))

    start = datetime.fromisoformat(found["start"]).astimezone(NEW_YORK)
    arrive = (start - timedelta(minutes=60)).strftime("%H:%M")  # the policy's check_in
    for shown in (
        '<strong class="side side-left">LEFT</strong>',
        f"<dt>Patient arrives</dt><dd>{arrive}</dd>",
        "<dt>Born</dt>",
        "<dt>MRN</dt>",
        "<dt>Policy</dt>",
    ):
        assert shown in confirm, shown
    assert re.search(r"<dt>Equipment</dt><dd>Unit \d+, Unit \d+</dd>", confirm)
    assert re.search(r"<dt>Recovery bay</dt><dd>Bay \d+</dd>", confirm)
