"""Refusals on pages in plain words: what happened and what to do next, never the API's
trigger and state names or field ids (the API keeps its slugs and details)."""

from __future__ import annotations

from tests.api.conftest import Clinic
from tests.api.test_full_pathway import book, refer
from tests.support import Api, Browser, local, refusal


def test_a_second_block_on_the_board_says_one_is_booked_and_what_to_do(
    api: Api, browser: Browser, people: dict[str, str], clinic: Clinic
) -> None:
    pathway = refer(api, clinic)["id"]
    book(api, clinic, pathway, "diagnostic_block", local("2026-03-03", 9))
    form = {
        "kind": "diagnostic_block",
        "start": local("2026-03-04", 9).isoformat(),
        "room_id": str(clinic.room_id),
    }
    body = {**form, "pathway_id": pathway, "room_id": clinic.room_id}
    browser.sign_in(people["scheduler"])

    answer = api.post("/holds", body, "scheduler")
    page = browser.post(f"/board/pathways/{pathway}/holds", form)

    assert answer.status_code == page.status_code == 409
    assert answer.get_json()["detail"] == (
        "'book_block' is not possible while the pathway is 'block_scheduled'."
    )
    shown = " ".join(refusal(page))
    assert "Cannot book a diagnostic block now." in shown
    assert "A block is already booked for this pathway: record its result" in shown
    assert "block_scheduled" not in shown
    assert "book_block" not in shown
