"""The nurse at the recovery bay: the observation time field, "same as last", the next
step after saving, refusals at the top, the way back, and the nurse's day states
(issue 18, points 6 and 9)."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from scheduler.clinical.models import RecoveryScore
from tests.api.conftest import Clinic
from tests.api.test_full_pathway import ALDRETE_OK, PADSS_OK
from tests.api.test_nurse_pages import (
    PROCEDURE_DAY,
    case_path,
    count,
    form_of,
    in_recovery,
    scheduled_procedure,
    score,
)
from tests.support import Api, Browser, FrozenClock, local, refusal, text_of

ALDRETE_8 = {**ALDRETE_OK, "activity": 1}


# ---------------------------------------------------------------------------------------
# The page: the time field, "same as last", the next step, refusals at the top


def test_the_score_form_offers_the_observation_time_defaulting_to_now_on_the_sites_clock(
    api: Api, browser: Browser, people: dict[str, str], clinic: Clinic, clock: FrozenClock
) -> None:
    appointment = in_recovery(api, clinic, clock)
    browser.sign_in(people["nurse"])

    html = text_of(browser.get(case_path(appointment)))

    assert (
        '<input id="aldrete-observed_at" name="observed_at" type="datetime-local" '
        'max="2026-03-10T10:45" value="2026-03-10T10:45">'
    ) in html


def test_a_score_observed_in_the_future_is_refused_on_the_page_at_the_top_linked_to_the_field(
    api: Api,
    browser: Browser,
    people: dict[str, str],
    clinic: Clinic,
    clock: FrozenClock,
    db: Session,
) -> None:
    appointment = in_recovery(api, clinic, clock)
    browser.sign_in(people["nurse"])

    refused = browser.post(
        case_path(appointment, "recovery-scores"),
        {**form_of(ALDRETE_OK, "aldrete"), "observed_at": "2026-03-10T11:15"},
    )
    html = text_of(refused)

    assert refused.status_code == 422
    assert html.index('<div class="problem" role="alert"') < html.index('id="check-in"')
    assert (
        '<li><a href="#aldrete-observed_at">Observed at: The observation time is in the future'
        in html
    )
    assert 'aria-describedby="aldrete-observed_at-error"' in html
    assert 'value="2026-03-10T11:15"' in html  # what was typed is kept
    assert '<a href="#score-aldrete">Go to the form to correct it</a>' in html
    assert count(db, RecoveryScore) == 0


def test_a_score_observed_earlier_is_stored_with_that_time_from_the_sites_wall_clock(
    api: Api,
    browser: Browser,
    people: dict[str, str],
    clinic: Clinic,
    clock: FrozenClock,
    db: Session,
) -> None:
    appointment = in_recovery(api, clinic, clock)
    browser.sign_in(people["nurse"])

    saved = browser.post(
        case_path(appointment, "recovery-scores"),
        {**form_of(ALDRETE_OK, "aldrete"), "observed_at": "2026-03-10T10:38"},
    )

    assert saved.status_code == 302
    stored = db.scalars(select(RecoveryScore)).one()
    assert stored.observed_at == local(PROCEDURE_DAY, 10, 38)
    assert stored.recorded_at == local(PROCEDURE_DAY, 10, 45)


def test_saving_a_step_goes_on_to_the_next_step_of_the_page(
    api: Api, browser: Browser, people: dict[str, str], clinic: Clinic, clock: FrozenClock
) -> None:
    appointment = in_recovery(api, clinic, clock)
    browser.sign_in(people["nurse"])
    path = case_path(appointment, "recovery-scores")

    low = browser.post(path, form_of(ALDRETE_8, "aldrete"))
    phase_one = browser.post(path, form_of(ALDRETE_OK, "aldrete"))
    ready = browser.post(path, form_of(PADSS_OK, "padss"))
    discharged = browser.post(
        case_path(appointment, "discharge"),
        {"escort_present": "yes", "written_instructions_given": "yes"},
    )
    page = text_of(browser.get(case_path(appointment)))

    assert low.headers["Location"] == case_path(appointment) + "#score-aldrete"  # score again
    assert phase_one.headers["Location"] == case_path(appointment) + "#score-padss"
    assert ready.headers["Location"] == case_path(appointment) + "#discharge"
    assert discharged.headers["Location"] == case_path(appointment) + "#discharge"
    for anchor in ('id="check-in"', 'id="procedure"', 'id="recovery"', 'id="discharge"'):
        assert anchor in page


def test_same_as_last_repeats_the_latest_score_observed_now(
    api: Api,
    browser: Browser,
    people: dict[str, str],
    clinic: Clinic,
    clock: FrozenClock,
    db: Session,
) -> None:
    appointment = in_recovery(api, clinic, clock)
    score(api, appointment, "aldrete", ALDRETE_8)
    clock.advance(minutes=15)
    browser.sign_in(people["nurse"])
    page = text_of(browser.get(case_path(appointment)))

    repeated = browser.post(
        case_path(appointment, "recovery-scores"),
        {"scale": "aldrete", "same_as_last": "yes", "observed_at": "2026-03-10T11:00"},
    )

    assert "Same as last (8 of 10)" in page
    assert 'name="same_as_last" value="yes" formnovalidate' in page
    assert repeated.status_code == 302
    scores = db.scalars(select(RecoveryScore).order_by(RecoveryScore.id)).all()
    assert [(s.total, s.items) for s in scores] == [(8, ALDRETE_8), (8, ALDRETE_8)]
    assert scores[1].observed_at == local(PROCEDURE_DAY, 11)


def test_same_as_last_without_an_earlier_score_is_refused_in_plain_words(
    api: Api,
    browser: Browser,
    people: dict[str, str],
    clinic: Clinic,
    clock: FrozenClock,
    db: Session,
) -> None:
    appointment = in_recovery(api, clinic, clock)
    browser.sign_in(people["nurse"])

    page = text_of(browser.get(case_path(appointment)))
    refused = browser.post(
        case_path(appointment, "recovery-scores"), {"scale": "aldrete", "same_as_last": "yes"}
    )

    assert "Same as last" not in page
    assert refused.status_code == 422
    assert refusal(refused) == [
        "Nothing was recorded:",
        "There is no earlier Modified Aldrete score to repeat: choose a score for each item.",
    ]
    assert count(db, RecoveryScore) == 0


def test_a_refused_discharge_is_shown_at_the_top_of_the_page(
    api: Api, browser: Browser, people: dict[str, str], clinic: Clinic, clock: FrozenClock
) -> None:
    appointment = in_recovery(api, clinic, clock)
    score(api, appointment, "aldrete", ALDRETE_OK)
    browser.sign_in(people["nurse"])

    html = text_of(browser.post(case_path(appointment, "discharge"), {}))

    box = html.index('<div class="problem" role="alert"')
    assert box < html.index('id="check-in"')
    assert html.count('class="problem"') == 1
    assert "Cannot discharge the patient:" in html[box:]
    assert '<a href="#discharge">Go to the form to correct it</a>' in html


def test_the_case_page_keeps_the_patient_banner_with_birth_date_mrn_side_and_bay(
    api: Api, browser: Browser, people: dict[str, str], clinic: Clinic, clock: FrozenClock
) -> None:
    appointment = in_recovery(api, clinic, clock)
    browser.sign_in(people["nurse"])

    html = text_of(browser.get(case_path(appointment)))
    banner = re.search(r'<div class="patient-banner"[^>]*>(.*?)</div>', html, re.S)

    assert banner is not None
    text = re.sub(r"<[^>]+>", "", banner.group(1))
    assert "Born " in text
    assert "MRN " in text
    assert appointment["side"].upper() in text
    assert "Bay: " in text
    assert "none booked" not in text


# ---------------------------------------------------------------------------------------
# The way back, and the nurse's day


def test_the_way_back_follows_the_list_the_case_was_opened_from_or_the_role(
    api: Api, browser: Browser, people: dict[str, str], clinic: Clinic, clock: FrozenClock
) -> None:
    appointment = scheduled_procedure(api, clinic, clock)
    daily_list = f"/clinicians/{clinic.clinician_id}/days/{PROCEDURE_DAY}"
    nurse_day = f"/nurse/?site_id={clinic.site_id}&amp;date={PROCEDURE_DAY}"

    browser.sign_in(people["clinician"])
    surgeon = text_of(browser.get(case_path(appointment)))
    surgeon_from_nurse_day = text_of(browser.get(case_path(appointment) + "?from=nurse"))
    list_page = text_of(browser.get(daily_list))
    browser.post("/signout")
    browser.sign_in(people["nurse"])
    nurse = text_of(browser.get(case_path(appointment)))
    nurse_from_list = text_of(browser.get(case_path(appointment) + "?from=list"))

    assert f'<a class="back" href="{daily_list}">← Daily list</a>' in surgeon
    assert f'<a class="back" href="{nurse_day}">← Nurse day</a>' in surgeon_from_nurse_day
    assert f'href="{case_path(appointment)}?from=list"' in list_page
    assert f'<a class="back" href="{nurse_day}">← Nurse day</a>' in nurse
    assert f'<a class="back" href="{daily_list}">← Daily list</a>' in nurse_from_list
    assert f'action="{case_path(appointment, "check-in")}?from=list"' in nurse_from_list


def test_the_nurse_day_shows_a_discharged_patient_as_discharged_with_bay_and_recovery_time(
    api: Api, browser: Browser, people: dict[str, str], clinic: Clinic, clock: FrozenClock
) -> None:
    appointment = in_recovery(api, clinic, clock)  # finished 10:30, now 10:45
    score(api, appointment, "aldrete", ALDRETE_OK)
    score(api, appointment, "padss", PADSS_OK)
    browser.sign_in(people["nurse"])
    recovering = text_of(browser.get(f"/nurse/?date={PROCEDURE_DAY}"))
    clock.set(local(PROCEDURE_DAY, 11, 50))
    api.ok(
        "POST",
        f"/appointments/{appointment['id']}/discharge",
        "nurse",
        json={"escort_present": True, "written_instructions_given": True},
    )

    html = text_of(browser.get(f"/nurse/?date={PROCEDURE_DAY}"))
    row = html[html.index("<tbody") :]

    assert "In recovery</span>" in recovering
    assert "In recovery 0 h 15 min" in recovering
    assert "Discharged</span>" in row
    assert "at 11:50" in row
    assert "Recovery took 1 h 20 min" in row
    assert "Bay: " in row
    assert "none booked" not in row
    assert "Ready</span>" not in row
