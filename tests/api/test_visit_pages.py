"""The clinician's visit page: a block's result and a follow-up's outcome through forms."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from scheduler.clinical.models import BlockResult, FollowUpOutcome
from tests.api.conftest import Clinic
from tests.api.test_full_pathway import (
    ALDRETE_OK,
    PADSS_OK,
    book,
    book_first_slot,
    conservative_care,
    refer,
    state_of,
)
from tests.api.test_nurse_pages import in_recovery, score
from tests.support import Api, Browser, FrozenClock, local, text_of


def booked_block(api: Api, clinic: Clinic, clock: FrozenClock) -> dict[str, Any]:
    pathway = refer(api, clinic)["id"]
    conservative_care(api, pathway)
    block: dict[str, Any] = book(api, clinic, pathway, "diagnostic_block", local("2026-03-03", 9))
    clock.set(local("2026-03-03", 10))
    return block


def test_the_treating_clinician_records_a_block_result_and_the_policy_decides(
    api: Api, browser: Browser, people: dict[str, str], clinic: Clinic, clock: FrozenClock
) -> None:
    block = booked_block(api, clinic, clock)
    browser.sign_in(people["clinician"])
    form = text_of(browser.get(f"/cases/{block['id']}"))
    assert "Record block result" in form
    # The patient banner: who this is, born when, which MRN, which side.
    assert '<section class="patient-banner" aria-label="Patient">' in form
    assert "<dt>Born</dt>" in form
    assert '<strong class="side side-right">RIGHT</strong>' in form

    done = browser.post(
        f"/cases/{block['id']}/block-result",
        {"pre_block_pain": "8", "post_block_pain": "1", "relief_duration_hours": "6"},
    )
    page = text_of(browser.get(done.headers["Location"]))

    assert state_of(api, block["pathway_id"]) == "referred"  # one more block needed
    assert "Block result recorded: the pathway is now referred." in page
    assert "87.5% for 6.0 hours" in page
    assert "Record block result" not in page


def test_a_wrong_block_result_is_explained_and_records_nothing(
    api: Api,
    browser: Browser,
    people: dict[str, str],
    clinic: Clinic,
    clock: FrozenClock,
    db: Session,
) -> None:
    block = booked_block(api, clinic, clock)
    browser.sign_in(people["clinician"])

    refused = browser.post(
        f"/cases/{block['id']}/block-result",
        {"pre_block_pain": "0", "post_block_pain": "11", "relief_duration_hours": "six"},
    )

    assert refused.status_code == 422
    assert "Nothing was recorded" in text_of(refused)
    page = text_of(refused)
    assert "Pre block pain: Enter a number from 1 to 10." in page
    assert "Relief duration hours: Enter a number, in digits." in page
    assert 'value="six" aria-invalid="true"' in page  # what was typed stays, marked
    assert db.scalar(select(func.count()).select_from(BlockResult)) == 0
    assert state_of(api, block["pathway_id"]) == "block_scheduled"


def test_only_the_treating_clinician_gets_the_form(
    api: Api,
    browser: Browser,
    people: dict[str, str],
    clinic: Clinic,
    clock: FrozenClock,
) -> None:
    block = booked_block(api, clinic, clock)
    browser.sign_in(people["nurse"])
    assert "Record block result" not in text_of(browser.get(f"/cases/{block['id']}"))
    refused = browser.post(
        f"/cases/{block['id']}/block-result",
        {"pre_block_pain": "8", "post_block_pain": "1", "relief_duration_hours": "6"},
    )
    assert refused.status_code == 403
    browser.post("/signout")
    browser.sign_in(people["patient"])
    assert browser.get(f"/cases/{block['id']}").status_code == 403


def test_the_follow_up_outcome_completes_the_pathway(
    api: Api,
    browser: Browser,
    people: dict[str, str],
    clinic: Clinic,
    clock: FrozenClock,
    db: Session,
) -> None:
    procedure = in_recovery(api, clinic, clock)
    score(api, procedure, "aldrete", ALDRETE_OK)
    score(api, procedure, "padss", PADSS_OK)
    api.ok(
        "POST",
        f"/appointments/{procedure['id']}/discharge",
        "nurse",
        json={"escort_present": True, "written_instructions_given": True},
    )
    follow_up = book_first_slot(api, procedure["pathway_id"], "follow_up")
    clock.set(local(follow_up["start_local"][:10], 18))
    browser.sign_in(people["clinician"])
    assert "Record outcome" in text_of(browser.get(f"/cases/{follow_up['id']}"))

    done = browser.client.post(
        f"/cases/{follow_up['id']}/follow-up-outcome",
        data={
            "csrf_token": browser.csrf,
            "pain_score": "2",
            "percent_relief": "75",
            "odi": "",
            "complications": ["numbness_weakness"],
            "physical_therapy_referred": "yes",
        },
    )

    assert done.status_code == 302
    assert state_of(api, procedure["pathway_id"]) == "completed"
    outcome = db.scalars(select(FollowUpOutcome)).one()
    assert (outcome.percent_relief, outcome.odi, outcome.complications) == (
        75,
        None,
        ["numbness_weakness"],
    )
    assert outcome.physical_therapy_referred is True
    assert "Numbness weakness" in text_of(browser.get(f"/cases/{follow_up['id']}"))
