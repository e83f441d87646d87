"""The scheduler board through the Flask client: queues, search, pathway page, booking."""

from __future__ import annotations

import re

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from scheduler.scheduling.models import Appointment, Hold
from tests.api.conftest import Clinic
from tests.api.test_full_pathway import book, conservative_care, refer, state_of
from tests.support import Api, Browser, flashes, local, refusal, text_of

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
    assert booked.headers["Location"] == f"/board/pathways/{pathway}"
    assert appointments(db) == 1
    assert db.get(Hold, hold_id) is None
    assert state_of(api, pathway) == "block_scheduled"
    again = browser.post(confirm_path, {"kind": "diagnostic_block"})
    assert again.status_code == 422
    assert "Hold id: No such hold for this pathway and kind; it may have expired." in refusal(again)
    assert appointments(db) == 1


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


def test_reschedule_moves_the_appointment_and_a_stale_form_changes_nothing(
    api: Api, browser: Browser, people: dict[str, str], clinic: Clinic, db: Session
) -> None:
    pathway = refer(api, clinic)["id"]
    booked = book(api, clinic, pathway, "diagnostic_block", local("2026-03-03", 9))
    browser.sign_in(people["scheduler"])

    shown = text_of(browser.get(f"/board/pathways/{pathway}"))
    etag = re.search(r'name="etag" value="([0-9a-f]+)"', shown).group(1)  # type: ignore[union-attr]
    assert (
        f'"{etag}"' == api.call("GET", f"/appointments/{booked['id']}", "scheduler").headers["ETag"]
    )

    stale = browser.post(
        f"/board/appointments/{booked['id']}/reschedule",
        {"etag": "0" * 40, "start": "2026-03-03T11:00"},
    )
    assert stale.status_code == 412
    assert "The appointment changed since this page was opened; look again." in refusal(stale)
    assert db.get(Appointment, booked["id"]).start_at == local("2026-03-03", 9)  # type: ignore[union-attr]

    moved = browser.post(
        f"/board/appointments/{booked['id']}/reschedule",
        {"etag": etag, "start": "2026-03-03T11:00"},
    )
    assert "Moved." in " ".join(flashes(browser.get(moved.headers["Location"])))
    db.expire_all()
    assert db.get(Appointment, booked["id"]).start_at == local("2026-03-03", 11)  # type: ignore[union-attr]


def test_a_refused_move_says_why_in_the_services_words(
    api: Api, browser: Browser, people: dict[str, str], clinic: Clinic
) -> None:
    pathway = refer(api, clinic)["id"]
    booked = book(api, clinic, pathway, "diagnostic_block", local("2026-03-03", 9))
    browser.sign_in(people["scheduler"])

    page = text_of(browser.get(f"/board/pathways/{pathway}"))
    etag = re.search(r'name="etag" value="([0-9a-f]+)"', page).group(1)  # type: ignore[union-attr]

    refused = browser.post(
        f"/board/appointments/{booked['id']}/reschedule",
        {"etag": etag, "start": "2026-03-03T23:00"},
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

    without = browser.post(f"/board/appointments/{booked['id']}/cancel", {"reason": "  "})
    assert without.status_code == 422
    assert "Reason: Length must be between 1 and 500." in refusal(without)
    assert state_of(api, pathway) == "block_scheduled"

    browser.post(f"/board/appointments/{booked['id']}/cancel", {"reason": "Patient asked"})
    assert state_of(api, pathway) == "referred"


def test_the_board_is_for_the_desk_only(browser: Browser, people: dict[str, str]) -> None:
    for role in ("nurse", "clinician", "patient"):
        browser.sign_in(people[role])
        assert browser.get("/board/").status_code == 403, role
        browser.post("/signout")
