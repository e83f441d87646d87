"""The nurse's day and procedure-day pages through the Flask client (SPEC §1 step 4)."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from scheduler.clinical.models import CheckIn, DischargeRecord, ProcedureRecord, RecoveryScore
from scheduler.policies.services import builtin_document
from scheduler.vocabulary import RecoveryScale
from tests.api.conftest import Clinic
from tests.api.test_full_pathway import (
    ALDRETE_OK,
    CHECK_IN_OK,
    PADSS_OK,
    block_result,
    book,
    conservative_care,
    refer,
    state_of,
)
from tests.conftest import QueryCounter
from tests.factories import RecoveryBayFactory
from tests.support import Api, Browser, FrozenClock, local, text_of

PROCEDURE_DAY = "2026-03-10"

# The check-in form as a browser sends it: ticked boxes "yes", untouched fields empty,
# times as the site's wall clock (datetime-local).
CHECK_IN_FORM = {
    "consent_signed": "yes",
    "escort_name": "Sam Escort",
    "escort_phone": "+1 555 0123",
    "fasting_confirmed": "yes",
    "last_clear_fluids_at": "",
    "last_light_meal_at": "2026-03-10T01:30",
    "last_heavy_meal_at": "",
    "anticoagulation_reviewed": "yes",
    "anticoagulation_status": "not_anticoagulated",
}


def scheduled_procedure(
    api: Api,
    clinic: Clinic,
    clock: FrozenClock,
    hour: int = 9,
) -> dict[str, Any]:
    """A pathway made eligible by one positive block (single_block_50), its procedure
    booked at ``hour`` on PROCEDURE_DAY, and the clock at 07:45 that morning."""
    pathway = refer(api, clinic, policy="single_block_50")["id"]
    conservative_care(api, pathway, "medication")
    block_result(
        api, clock, book(api, clinic, pathway, "diagnostic_block", local("2026-03-03", 9)), post=4
    )
    appointment: dict[str, Any] = book(
        api, clinic, pathway, "procedure", local(PROCEDURE_DAY, hour)
    )
    clock.set(local(PROCEDURE_DAY, 7, 45))
    return appointment


def in_recovery(api: Api, clinic: Clinic, clock: FrozenClock) -> dict[str, Any]:
    """A procedure checked in, done and finished through the API: recovery has begun."""
    appointment = scheduled_procedure(api, clinic, clock)
    path = f"/appointments/{appointment['id']}"
    api.ok("POST", f"{path}/check-in", "nurse", json=CHECK_IN_OK)
    clock.set(local(PROCEDURE_DAY, 9, 5))
    api.ok("POST", f"{path}/start", "clinician", json={})
    clock.set(local(PROCEDURE_DAY, 10, 30))
    api.ok(
        "POST",
        f"{path}/finish",
        "clinician",
        json={"levels_treated": ["L4-L5"], "complications": []},
    )
    clock.set(local(PROCEDURE_DAY, 10, 45))
    return appointment


def score(api: Api, appointment: dict[str, Any], scale: str, items: dict[str, int]) -> None:
    api.ok(
        "POST",
        f"/appointments/{appointment['id']}/recovery-scores",
        "nurse",
        json={"scale": scale, "items": items},
    )


def form_of(items: dict[str, int], scale: str) -> dict[str, str]:
    return {"scale": scale, **{name: str(value) for name, value in items.items()}}


def case_path(appointment: dict[str, Any], action: str = "") -> str:
    return f"/nurse/appointments/{appointment['id']}" + (f"/{action}" if action else "")


def count(db: Session, model: type[Any]) -> int:
    return db.scalar(select(func.count()).select_from(model)) or 0


# ---------------------------------------------------------------------------------------
# The day


def test_the_nurse_day_lists_every_clinicians_procedure_patients_by_arrival_time(
    api: Api,
    browser: Browser,
    people: dict[str, str],
    clinic: Clinic,
    clock: FrozenClock,
    db: Session,
    count_queries: QueryCounter,
) -> None:
    RecoveryBayFactory(site_id=clinic.site_id)
    db.commit()
    # Booked first, starts first, but its policy asks for arrival only 60 min before.
    late_arrival = scheduled_procedure(api, clinic, clock, hour=9)
    browser.sign_in(people["nurse"])
    count_queries.statements.clear()
    assert "1 procedure patient" in text_of(browser.get(f"/nurse/?date={PROCEDURE_DAY}"))
    queries_for_one_clinician = count_queries.count
    browser.post("/signout")
    clock.set(local("2026-03-02", 14))
    document = copy.deepcopy(builtin_document("single_block_50"))
    document["check_in"]["arrival_minutes_before"] = 240
    api.ok(
        "POST",
        "/policies",
        "admin",
        json={"name": "single_block_50", "title": "Early arrival", "parameters": document},
    )
    other = refer(
        api,
        clinic,
        policy="single_block_50",
        patient_id=clinic.other_patient_id,
        clinician_id=clinic.other_clinician_id,
    )["id"]
    conservative_care(api, other, "medication")
    other_block = book(api, clinic, other, "diagnostic_block", local("2026-03-04", 9))
    block_result(api, clock, other_block, post=4, as_="other_clinician")
    early_arrival = book(api, clinic, other, "procedure", local(PROCEDURE_DAY, 11))
    clock.set(local(PROCEDURE_DAY, 6))
    browser.sign_in(people["nurse"])

    response = browser.get("/nurse/")
    html = text_of(response)
    table = html[html.index("<table") :]

    assert response.status_code == 200
    assert "Tuesday 10 March 2026" in html
    assert "Times in America/New_York" in html
    assert '<a href="/nurse/">Nurse day</a>' in html
    assert "2 procedure patients by arrival time" in html
    assert table.index("07:00") < table.index("08:00")  # arrival: 11:00 - 4 h, 09:00 - 1 h
    assert table.index(case_path(early_arrival)) < table.index(case_path(late_arrival))
    assert "11:00\N{EN DASH}12:30" in table
    assert "09:00\N{EN DASH}10:30" in table
    assert re.search(r"MRN [^<]+ · \d+ y", table)
    assert "Procedure scheduled" in table
    count_queries.statements.clear()
    browser.get(f"/nurse/?date={PROCEDURE_DAY}")
    assert count_queries.count == queries_for_one_clinician  # not a list per clinician
    assert "To check" in table


def test_the_nurse_day_is_today_in_the_sites_zone_and_other_days_on_request(
    browser: Browser, people: dict[str, str], clock: FrozenClock
) -> None:
    clock.set(local("2026-03-09", 23, 30))  # already the 10th in UTC
    browser.sign_in(people["nurse"])

    today = text_of(browser.get("/nurse/"))
    asked = text_of(browser.get("/nurse/?date=2026-03-12"))
    impossible = browser.get("/nurse/?date=2026-02-30")

    assert "Monday 09 March 2026" in today
    assert "No procedure patients on this day." in today
    assert "Thursday 12 March 2026" in asked
    assert (impossible.status_code, impossible.mimetype) == (400, "text/html")


# ---------------------------------------------------------------------------------------
# Check-in


def test_check_in_through_the_form_moves_the_pathway_to_checked_in(
    api: Api,
    browser: Browser,
    people: dict[str, str],
    clinic: Clinic,
    clock: FrozenClock,
    db: Session,
) -> None:
    appointment = scheduled_procedure(api, clinic, clock)
    browser.sign_in(people["nurse"])
    assert 'name="consent_signed"' in text_of(browser.get(case_path(appointment)))

    done = browser.post(case_path(appointment, "check-in"), CHECK_IN_FORM)
    page = text_of(browser.get(done.headers["Location"]))

    assert (done.status_code, done.headers["Location"]) == (
        302,
        case_path(appointment) + "#procedure",
    )
    assert state_of(api, appointment["pathway_id"]) == "checked_in"
    assert "Checked in: every check-in rule of the policy is met." in page
    assert "Sam Escort · +1 555 0123" in page
    assert 'name="consent_signed"' not in page
    record = db.scalars(select(CheckIn)).one()
    assert record.last_light_meal_at == local(PROCEDURE_DAY, 1, 30)  # site wall clock
    assert record.last_clear_fluids_at is None


def test_a_check_in_without_consent_is_refused_with_the_policys_message_and_changes_nothing(
    api: Api,
    browser: Browser,
    people: dict[str, str],
    clinic: Clinic,
    clock: FrozenClock,
    db: Session,
) -> None:
    appointment = scheduled_procedure(api, clinic, clock)
    browser.sign_in(people["nurse"])
    browser.get(case_path(appointment))

    refused = browser.post(
        case_path(appointment, "check-in"),
        {k: v for k, v in CHECK_IN_FORM.items() if k != "consent_signed"},
    )
    html = text_of(refused)

    assert refused.status_code == 422
    assert "Cannot check the patient in:" in html
    assert "<li>Consent is not signed.</li>" in html
    assert 'value="Sam Escort"' in html  # what was typed is kept
    assert state_of(api, appointment["pathway_id"]) == "procedure_scheduled"
    assert count(db, CheckIn) == 0


def test_a_check_in_with_a_malformed_phone_shows_the_schemas_message_beside_the_field(
    api: Api, browser: Browser, people: dict[str, str], clinic: Clinic, clock: FrozenClock
) -> None:
    appointment = scheduled_procedure(api, clinic, clock)
    browser.sign_in(people["nurse"])

    refused = browser.post(
        case_path(appointment, "check-in"), {**CHECK_IN_FORM, "escort_phone": "call Sam"}
    )
    html = text_of(refused)

    assert refused.status_code == 422
    assert 'aria-invalid="true" aria-describedby="check_in-escort_phone-error"' in html
    assert (
        '<span class="field-error" id="check_in-escort_phone-error">'
        "Use digits, spaces and + ( ) - . only.</span>"
    ) in html
    assert state_of(api, appointment["pathway_id"]) == "procedure_scheduled"


def test_a_check_in_twice_is_a_409_that_names_the_pathways_state(
    api: Api,
    browser: Browser,
    people: dict[str, str],
    clinic: Clinic,
    clock: FrozenClock,
    db: Session,
) -> None:
    appointment = scheduled_procedure(api, clinic, clock)
    browser.sign_in(people["nurse"])
    browser.post(case_path(appointment, "check-in"), CHECK_IN_FORM)

    again = browser.post(case_path(appointment, "check-in"), CHECK_IN_FORM)

    assert again.status_code == 409
    assert "Cannot check the patient in now." in text_of(again)
    assert "The patient is already checked in: the surgeon starts the procedure next." in (
        text_of(again)
    )
    assert count(db, CheckIn) == 1


def test_a_form_post_without_its_csrf_token_is_refused_and_checks_nobody_in(
    api: Api,
    browser: Browser,
    people: dict[str, str],
    clinic: Clinic,
    clock: FrozenClock,
    db: Session,
) -> None:
    appointment = scheduled_procedure(api, clinic, clock)
    browser.sign_in(people["nurse"])

    refused = browser.post(case_path(appointment, "check-in"), CHECK_IN_FORM, csrf=False)

    assert refused.status_code == 400
    assert "The form had expired or was not sent from this site." in text_of(refused)
    assert state_of(api, appointment["pathway_id"]) == "procedure_scheduled"
    assert count(db, CheckIn) == 0


# ---------------------------------------------------------------------------------------
# Recovery, discharge, admission


def test_recovery_scores_recorded_through_the_forms_show_their_totals(
    api: Api,
    browser: Browser,
    people: dict[str, str],
    clinic: Clinic,
    clock: FrozenClock,
    db: Session,
) -> None:
    appointment = in_recovery(api, clinic, clock)
    browser.sign_in(people["nurse"])
    before = text_of(browser.get(case_path(appointment)))

    aldrete = browser.post(
        case_path(appointment, "recovery-scores"), form_of(ALDRETE_OK, "aldrete")
    )
    clock.advance(minutes=30)
    padss = browser.post(case_path(appointment, "recovery-scores"), form_of(PADSS_OK, "padss"))
    page = text_of(browser.get(case_path(appointment)))

    assert 'src="/static/recovery.js"' in before
    assert "Phase I: <strong>not complete</strong>" in before
    assert (aldrete.status_code, padss.status_code) == (302, 302)
    assert "PADSS score recorded." in page
    assert "<dt>Latest Modified Aldrete</dt><dd><strong>9 of 10</strong> at 10:45</dd>" in page
    assert "<dt>Latest PADSS</dt><dd><strong>9 of 10</strong> at 11:15</dd>" in page
    assert "Phase I: <strong>complete</strong>" in page
    assert "Scores for discharge: <strong>met</strong></li>" in page
    assert sorted(db.scalars(select(RecoveryScore.total))) == [9, 9]


@pytest.mark.parametrize(
    ("form", "message"),
    [
        pytest.param(
            form_of(PADSS_OK, "padss"),
            "No Aldrete score recorded yet (phase I ends at 9 of 10).",
            id="padss-before-phase-one",
        ),
        pytest.param(
            form_of({k: v for k, v in ALDRETE_OK.items() if k != "circulation"}, "aldrete"),
            "Score every item: circulation has no score.",
            id="item-missing",
        ),
        pytest.param(
            {**form_of(ALDRETE_OK, "aldrete"), "activity": "3"},
            "Activity: Enter a number from 0 to 2.",
            id="score-out-of-range",
        ),
    ],
)
def test_a_refused_score_shows_why_above_its_form_and_records_nothing(
    api: Api,
    browser: Browser,
    people: dict[str, str],
    clinic: Clinic,
    clock: FrozenClock,
    db: Session,
    form: dict[str, str],
    message: str,
) -> None:
    appointment = in_recovery(api, clinic, clock)
    browser.sign_in(people["nurse"])

    refused = browser.post(case_path(appointment, "recovery-scores"), form)

    assert refused.status_code == 422
    assert f"<li>{message}</li>" in text_of(refused)
    assert count(db, RecoveryScore) == 0


def test_discharge_is_refused_with_the_services_reasons_until_the_criteria_are_met(
    api: Api,
    browser: Browser,
    people: dict[str, str],
    clinic: Clinic,
    clock: FrozenClock,
    db: Session,
) -> None:
    appointment = in_recovery(api, clinic, clock)
    score(api, appointment, "aldrete", ALDRETE_OK)
    score(api, appointment, "padss", {**PADSS_OK, "pain": 0, "activity": 1})  # 7
    browser.sign_in(people["nurse"])

    refused = browser.post(case_path(appointment, "discharge"), {})
    score(api, appointment, "padss", PADSS_OK)
    discharged = browser.post(
        case_path(appointment, "discharge"),
        {"escort_present": "yes", "written_instructions_given": "yes"},
    )
    page = text_of(browser.get(case_path(appointment)))

    html = text_of(refused)
    assert refused.status_code == 422
    assert "Cannot discharge the patient:" in html
    assert "<li>PADSS 7 of 10; discharge needs at least 9.</li>" in html
    assert "<li>A responsible adult escort must be present to take the patient home.</li>" in html
    assert "<li>Written discharge instructions have not been given.</li>" in html
    assert discharged.status_code == 302
    assert state_of(api, appointment["pathway_id"]) == "discharged"
    assert "Discharged home at 10:45" in page
    assert db.scalars(select(DischargeRecord.outcome)).one().value == "discharged"


def test_discharge_after_padss_10_is_refused_on_the_page_when_a_later_aldrete_is_7(
    api: Api,
    browser: Browser,
    people: dict[str, str],
    clinic: Clinic,
    clock: FrozenClock,
    db: Session,
) -> None:
    appointment = in_recovery(api, clinic, clock)
    score(api, appointment, "aldrete", ALDRETE_OK)
    clock.advance(minutes=30)
    score(api, appointment, "padss", dict.fromkeys(PADSS_OK, 2))  # 10
    clock.advance(minutes=10)
    score(api, appointment, "aldrete", {**ALDRETE_OK, "activity": 1, "consciousness": 1})  # 7
    browser.sign_in(people["nurse"])

    refused = browser.post(
        case_path(appointment, "discharge"),
        {"escort_present": "yes", "written_instructions_given": "yes"},
    )

    html = text_of(refused)
    assert refused.status_code == 422
    assert "Cannot discharge the patient:" in html
    assert "<li>Aldrete 7 of 10; discharge needs at least 9.</li>" in html
    assert "PADSS 10" not in html
    assert "Phase I: <strong>not complete</strong>" in html
    assert (
        "Scores for discharge: <strong>not met</strong> "
        "(Aldrete 7 of 10; discharge needs at least 9.)</li>"
    ) in html
    assert state_of(api, appointment["pathway_id"]) == "in_recovery"
    assert count(db, DischargeRecord) == 0


def test_admission_through_the_form_needs_and_records_a_reason(
    api: Api, browser: Browser, people: dict[str, str], clinic: Clinic, clock: FrozenClock
) -> None:
    appointment = in_recovery(api, clinic, clock)
    browser.sign_in(people["clinician"])

    blank = browser.post(case_path(appointment, "admit"), {"reason": "  "})
    admitted = browser.post(case_path(appointment, "admit"), {"reason": "Persistent numbness"})
    page = text_of(browser.get(case_path(appointment)))

    assert blank.status_code == 422
    assert "Required: fill it in." in text_of(blank)
    assert admitted.status_code == 302
    assert state_of(api, appointment["pathway_id"]) == "admitted"
    assert "Admitted at 10:45: Persistent numbness" in page


# ---------------------------------------------------------------------------------------
# Who may use the pages


@pytest.mark.parametrize("role", ["patient", "scheduler"])
def test_patients_and_schedulers_cannot_open_or_use_the_nurse_pages(
    api: Api,
    browser: Browser,
    people: dict[str, str],
    clinic: Clinic,
    clock: FrozenClock,
    db: Session,
    role: str,
) -> None:
    appointment = scheduled_procedure(api, clinic, clock)
    browser.sign_in(people[role])

    responses = [
        browser.get("/nurse/"),
        browser.get(case_path(appointment)),
        browser.post(case_path(appointment, "check-in"), CHECK_IN_FORM),
    ]

    assert [(r.status_code, r.mimetype) for r in responses] == [(403, "text/html")] * 3
    assert all("Not yours to see" in text_of(r) for r in responses)
    assert "Nurse day" not in text_of(responses[0])
    assert count(db, CheckIn) == 0


def test_an_admin_sees_the_procedure_day_but_records_nothing_as_in_the_api(
    api: Api, browser: Browser, people: dict[str, str], clinic: Clinic, clock: FrozenClock
) -> None:
    appointment = scheduled_procedure(api, clinic, clock)
    browser.sign_in(people["admin"])

    page = browser.get(case_path(appointment))
    refused = browser.post(case_path(appointment, "check-in"), CHECK_IN_FORM)

    assert page.status_code == 200
    assert "Not checked in." in text_of(page)
    assert 'name="consent_signed"' not in text_of(page)
    assert refused.status_code == 403
    assert state_of(api, appointment["pathway_id"]) == "procedure_scheduled"


def test_nurse_pages_label_every_field_and_have_no_inline_script_or_style(
    api: Api, browser: Browser, people: dict[str, str], clinic: Clinic, clock: FrozenClock
) -> None:
    scheduled = scheduled_procedure(api, clinic, clock)
    browser.sign_in(people["nurse"])
    pages = [text_of(browser.get("/nurse/")), text_of(browser.get(case_path(scheduled)))]
    browser.post(case_path(scheduled, "check-in"), CHECK_IN_FORM)
    api.ok("POST", f"/appointments/{scheduled['id']}/start", "clinician", json={})
    api.ok(
        "POST",
        f"/appointments/{scheduled['id']}/finish",
        "clinician",
        json={"levels_treated": ["L4-L5"], "complications": []},
    )
    pages.append(text_of(browser.get(case_path(scheduled))))

    fields = 0
    for html in pages:
        assert "<style" not in html
        assert " style=" not in html
        assert re.search(r"<script(?![^>]*\bsrc=)", html) is None
        for tag in re.finditer(r"<(input|select|textarea)\b[^>]*>", html):
            if 'type="hidden"' in tag.group(0):
                continue
            ident = re.search(r'id="([^"]+)"', tag.group(0))
            assert ident is not None, tag.group(0)
            assert f'<label for="{ident.group(1)}">' in html, ident.group(1)
            fields += 1
        assert html.count('name="csrf_token"') == html.count("<form")
    # check-in; per score form its time and 5 items of 3; closing
    assert fields == 9 + len(RecoveryScale) * (1 + 5 * 3) + 2 + 1


def test_the_treating_clinician_starts_and_finishes_the_procedure_on_the_page(
    api: Api,
    browser: Browser,
    people: dict[str, str],
    clinic: Clinic,
    clock: FrozenClock,
    db: Session,
) -> None:
    appointment = scheduled_procedure(api, clinic, clock)
    api.ok("POST", f"/appointments/{appointment['id']}/check-in", "nurse", json=CHECK_IN_OK)
    clock.set(local(PROCEDURE_DAY, 9, 5))
    browser.sign_in(people["nurse"])
    assert "Start procedure" not in text_of(browser.get(case_path(appointment)))  # clinician's step
    browser.post("/signout")
    browser.sign_in(people["clinician"])
    assert "Start procedure" in text_of(browser.get(case_path(appointment)))

    started = browser.post(case_path(appointment, "start"), {"method": ""})
    assert started.status_code == 302
    assert state_of(api, appointment["pathway_id"]) == "in_procedure"
    clock.set(local(PROCEDURE_DAY, 10, 30))
    refused = browser.post(case_path(appointment, "finish"), {})
    assert refused.status_code == 422
    assert "Nothing was recorded" in text_of(refused)
    assert state_of(api, appointment["pathway_id"]) == "in_procedure"

    finished = browser.client.post(
        case_path(appointment, "finish"),
        data={
            "csrf_token": browser.csrf,
            "levels_treated": ["L4-L5"],
            "complications": ["temporary_pain"],
        },
    )
    assert finished.status_code == 302
    assert state_of(api, appointment["pathway_id"]) == "in_recovery"
    record = db.scalars(select(ProcedureRecord)).one()
    assert (record.levels_treated, record.complications) == (["L4-L5"], ["temporary_pain"])
    assert "Temporary pain" in text_of(browser.get(case_path(appointment)))
