"""The daily list's timeline bars, date picker and printed header, and the block-result
form only once the block has started (issue 18, points 11 and 12)."""

from __future__ import annotations

import re

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from scheduler.clinical.models import BlockResult
from tests.api.conftest import Clinic
from tests.api.test_full_pathway import book, conservative_care, refer
from tests.api.test_nurse_pages import scheduled_procedure
from tests.support import Api, Browser, FrozenClock, local, text_of

DAY = "2026-03-03"


def two_cases(api: Api, clinic: Clinic) -> tuple[dict[str, object], dict[str, object]]:
    early = book(api, clinic, refer(api, clinic)["id"], "diagnostic_block", local(DAY, 9, 30))
    late = book(
        api,
        clinic,
        refer(api, clinic, patient_id=clinic.other_patient_id)["id"],
        "diagnostic_block",
        local(DAY, 11),
    )
    return early, late


def test_each_timeline_bar_names_its_case_and_opens_it(
    api: Api, browser: Browser, people: dict[str, str], clinic: Clinic
) -> None:
    early, late = two_cases(api, clinic)
    browser.sign_in(people["clinician"])

    html = text_of(browser.get(f"/clinicians/{clinic.clinician_id}/days/{DAY}"))
    bars = re.findall(r'<a class="bar" href="([^"]+)" aria-label="([^"]+)">', html)
    labels = re.findall(r'<text class="bar-label"[^>]*>([^<]+)</text>', html)

    assert [href for href, _ in bars] == [f"/cases/{early['id']}", f"/cases/{late['id']}"]
    assert re.fullmatch("09:30\N{EN DASH}10:00 [^,]+, block, .+", bars[0][1])
    assert re.fullmatch("11:00\N{EN DASH}11:30 [^,]+, block, .+", bars[1][1])
    assert labels[0].startswith("09:30 ")
    assert labels[0].endswith(" · block")


def test_a_procedure_opened_from_the_list_leads_back_to_the_list(
    api: Api, browser: Browser, people: dict[str, str], clinic: Clinic, clock: FrozenClock
) -> None:
    procedure = scheduled_procedure(api, clinic, clock)
    browser.sign_in(people["clinician"])

    html = text_of(browser.get(f"/clinicians/{clinic.clinician_id}/days/2026-03-10"))

    assert f'<a class="bar" href="/nurse/appointments/{procedure["id"]}?from=list"' in html
    assert f'<a href="/nurse/appointments/{procedure["id"]}?from=list">' in html


def test_the_date_picker_goes_to_the_chosen_day_and_refuses_a_bad_date_in_words(
    browser: Browser, people: dict[str, str], clinic: Clinic
) -> None:
    browser.sign_in(people["scheduler"])
    page = text_of(browser.get(f"/clinicians/{clinic.clinician_id}/days/{DAY}"))

    picked = browser.get(f"/clinicians/{clinic.clinician_id}/days?day=2026-04-01")
    bad = browser.get(f"/clinicians/{clinic.clinician_id}/days?day=first+of+April")

    assert f'action="/clinicians/{clinic.clinician_id}/days"' in page
    assert f'<input type="date" id="pick-day" name="day" value="{DAY}" required>' in page
    assert '<label for="pick-day">Go to day</label>' in page
    assert picked.status_code == 302
    assert picked.headers["Location"] == f"/clinicians/{clinic.clinician_id}/days/2026-04-01"
    assert bad.status_code == 400
    assert "Choose a date, such as 2026-03-10, then Go." in text_of(bad)


def test_the_printed_list_repeats_clinician_date_site_and_printed_time_in_its_header(
    api: Api, browser: Browser, people: dict[str, str], clinic: Clinic, clock: FrozenClock
) -> None:
    two_cases(api, clinic)
    clock.set(local(DAY, 7, 5))
    browser.sign_in(people["clinician"])

    html = text_of(browser.get(f"/clinicians/{clinic.clinician_id}/days/{DAY}"))
    head = re.search(r"<thead>\s*<tr class=\"print-head\">(.*?)</tr>", html, re.S)
    stylesheet = browser.get("/static/app.css")
    css = text_of(stylesheet)
    stylesheet.close()

    assert head is not None
    assert "Tuesday 03 March 2026" in head.group(1)
    assert "Printed 03 Mar 2026 07:05" in head.group(1)
    assert "times in America/New_York" in head.group(1)
    site = re.search(r'<p class="zone">([^<]+) · Times in', html)
    assert site is not None
    assert site.group(1) in head.group(1)
    # The side stands out, on paper too.
    assert '<strong class="side side-right">RIGHT</strong>' in html
    assert ".cases thead { display: table-header-group; }" in css


def test_the_block_result_form_appears_only_once_the_block_has_started(
    api: Api,
    browser: Browser,
    people: dict[str, str],
    clinic: Clinic,
    clock: FrozenClock,
    db: Session,
) -> None:
    pathway = refer(api, clinic)["id"]
    conservative_care(api, pathway)
    block = book(api, clinic, pathway, "diagnostic_block", local(DAY, 9))
    clock.set(local(DAY, 8, 50))
    browser.sign_in(people["clinician"])

    before = text_of(browser.get(f"/cases/{block['id']}"))
    early = browser.post(
        f"/cases/{block['id']}/block-result",
        {"pre_block_pain": "8", "post_block_pain": "1", "relief_duration_hours": "6"},
    )
    clock.set(local(DAY, 9, 1))
    after = text_of(browser.get(f"/cases/{block['id']}"))

    assert "The result can be recorded once the block has started." in before
    assert "Record block result" not in before
    assert early.status_code == 422  # the API's rule, on the page too
    assert db.scalar(select(func.count()).select_from(BlockResult)) == 0
    assert "Record block result" in after
    assert "once the block has started" not in after
