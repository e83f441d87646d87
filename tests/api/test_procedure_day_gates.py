"""Each procedure-day gate judges the latest record, never an earlier pass (SPEC §3).

A later, lower recovery score undoes an earlier pass: discharge needs the latest PADSS
and the latest modified Aldrete at their thresholds, and phase I ends again only when
the Aldrete is back up. Fasting passed at check-in against the booked start is judged
again when the procedure actually starts. The daily list's readiness flags after
check-in are the check-in rules' verdicts, never a reading of their own.
"""

from __future__ import annotations

import copy
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from scheduler.clinical.models import DischargeRecord
from scheduler.policies.services import builtin_document
from tests.api.conftest import Clinic
from tests.api.test_bad_input import arrange
from tests.api.test_full_pathway import (
    ALDRETE_OK,
    CHECK_IN_OK,
    PADSS_OK,
    conservative_care,
    state_of,
)
from tests.support import Api, FrozenClock, local

PADSS_10 = dict.fromkeys(PADSS_OK, 2)
ALDRETE_7 = {**ALDRETE_OK, "activity": 1, "consciousness": 1}
DISCHARGE_OK = {"escort_present": True, "written_instructions_given": True}


def score(api: Api, appointment_id: int, scale: str, items: dict[str, int]) -> Any:
    return api.ok(
        "POST",
        f"/appointments/{appointment_id}/recovery-scores",
        "nurse",
        json={"scale": scale, "items": items},
    )


def discharges(db: Session) -> int:
    return db.scalar(select(func.count()).select_from(DischargeRecord)) or 0


def test_discharge_refused_when_a_later_aldrete_falls_to_7_after_padss_10(
    api: Api, clinic: Clinic, clock: FrozenClock, db: Session
) -> None:
    world = arrange(api, clinic, clock, db, "recovered")
    appointment_id = world.appointment_id
    score(api, appointment_id, "padss", PADSS_10)
    clock.advance(minutes=10)
    fallen = score(api, appointment_id, "aldrete", ALDRETE_7)

    refused = api.post(f"/appointments/{appointment_id}/discharge", DISCHARGE_OK, "nurse")

    assert fallen["total"] == 7
    assert (fallen["phase_one_complete"], fallen["ready_for_discharge"]) == (False, False)
    assert refused.status_code == 422
    assert refused.headers["Content-Type"] == "application/problem+json"
    problem = refused.get_json()
    assert problem["unmet"] == ["discharge.aldrete"]
    assert "Aldrete 7 of 10; discharge needs at least 9." in problem["detail"]
    assert state_of(api, world.pathway_id) == "in_recovery"
    assert discharges(db) == 0


def test_scores_are_ready_for_discharge_only_while_the_latest_of_both_pass(
    api: Api, clinic: Clinic, clock: FrozenClock, db: Session
) -> None:
    world = arrange(api, clinic, clock, db, "recovered")
    appointment_id = world.appointment_id

    padss = score(api, appointment_id, "padss", PADSS_10)
    fallen = score(api, appointment_id, "aldrete", ALDRETE_7)
    back = score(api, appointment_id, "aldrete", ALDRETE_OK)

    assert padss["ready_for_discharge"] is True
    assert fallen["ready_for_discharge"] is False
    assert back["ready_for_discharge"] is True


def test_padss_refused_when_a_later_aldrete_undoes_phase_one(
    api: Api, clinic: Clinic, clock: FrozenClock, db: Session
) -> None:
    """End of phase I: PADSS starts only while the latest Aldrete is at the threshold."""
    world = arrange(api, clinic, clock, db, "recovered")
    appointment_id = world.appointment_id
    clock.advance(minutes=5)
    score(api, appointment_id, "aldrete", ALDRETE_7)

    refused = api.post(
        f"/appointments/{appointment_id}/recovery-scores",
        {"scale": "padss", "items": PADSS_10},
        "nurse",
    )

    assert refused.status_code == 422
    assert refused.get_json()["unmet"] == ["recovery.aldrete"]
    assert "Aldrete 7 of 10; phase I ends at 9." in refused.get_json()["detail"]
    assert len(api.ok("GET", f"/appointments/{appointment_id}/recovery-scores", "nurse")) == 3


def test_discharge_succeeds_once_the_aldrete_is_back_at_9(
    api: Api, clinic: Clinic, clock: FrozenClock, db: Session
) -> None:
    world = arrange(api, clinic, clock, db, "recovered")
    appointment_id = world.appointment_id
    score(api, appointment_id, "aldrete", ALDRETE_7)
    clock.advance(minutes=15)
    score(api, appointment_id, "aldrete", ALDRETE_OK)

    discharged = api.ok(
        "POST", f"/appointments/{appointment_id}/discharge", "nurse", json=DISCHARGE_OK
    )

    assert discharged["outcome"] == "discharged"
    assert state_of(api, world.pathway_id) == "discharged"
    assert discharges(db) == 1


def test_a_procedure_started_before_its_booked_time_must_still_be_fasted(
    api: Api, clinic: Clinic, clock: FrozenClock, db: Session
) -> None:
    """Booked 08:30; a light meal at 02:00 passes check-in (6.5 h) but not a start at
    07:50 (5 h 50 min); at 08:00 the 6 h are complete."""
    world = arrange(api, clinic, clock, db, "procedure_scheduled")
    path = f"/appointments/{world.appointment_id}"
    meal = {**CHECK_IN_OK, "last_light_meal_at": local("2026-03-24", 2).isoformat()}
    api.ok("POST", f"{path}/check-in", "nurse", json=meal)

    clock.set(local("2026-03-24", 7, 50))
    early = api.post(f"{path}/start", {}, "clinician")
    state_after_refusal = state_of(api, world.pathway_id)
    clock.set(local("2026-03-24", 8))
    started = api.post(f"{path}/start", {}, "clinician")

    assert early.status_code == 422
    assert early.get_json()["unmet"] == ["check_in.fasting"]
    assert early.get_json()["detail"] == (
        "Cannot start the procedure now: Fasting is too short: "
        "a light meal less than 6 h before the procedure."
    )
    assert state_after_refusal == "checked_in"
    assert started.status_code == 201
    assert state_of(api, world.pathway_id) == "in_procedure"


def test_readiness_after_check_in_is_the_verdict_of_the_policys_check_in_rules(
    api: Api, clinic: Clinic, clock: FrozenClock, db: Session
) -> None:
    """A policy that requires neither consent nor an escort checks a patient in without
    them; the daily list must not then call the case not ready for lacking them."""
    document = copy.deepcopy(builtin_document("medicare_facet"))
    document["check_in"]["consent_required"] = False
    document["check_in"]["escort_required_with_sedation"] = False
    api.ok(
        "POST",
        "/policies",
        "admin",
        json={"name": "medicare_facet", "title": "No consent, no escort", "parameters": document},
    )
    world = arrange(api, clinic, clock, db, "procedure_scheduled")
    api.ok(
        "POST",
        f"/appointments/{world.appointment_id}/check-in",
        "nurse",
        json={
            "consent_signed": False,
            "fasting_confirmed": True,
            "anticoagulation_reviewed": True,
            "anticoagulation_status": "not_anticoagulated",
        },
    )

    (case,) = api.ok(
        "GET", f"/clinicians/{clinic.clinician_id}/daily-list?date=2026-03-24", "nurse"
    )["cases"]

    assert case["readiness"] == {
        "summary": "green",
        "eligibility": True,
        "consent": True,
        "escort": True,
        "fasting": True,
        "anticoagulation": True,
        "coverage": True,
        "rebook": None,
    }


def test_check_in_refused_when_care_recorded_since_booking_undoes_eligibility(
    api: Api, clinic: Clinic, clock: FrozenClock, db: Session
) -> None:
    """Booked while eligible; a course of medication that resolved the pain is recorded
    afterwards: on the procedure's day the booking rules are judged again, and check-in
    names the rule it no longer meets (with any check-in rule that fails too)."""
    world = arrange(api, clinic, clock, db, "procedure_scheduled")
    conservative_care(
        api,
        world.pathway_id,
        kind="medication",
        start_date="2026-01-05",
        end_date="2026-02-20",
        outcome="resolved",
    )
    unfasted = {**CHECK_IN_OK, "fasting_confirmed": False}

    refused = api.post(f"/appointments/{world.appointment_id}/check-in", unfasted, "nurse")

    problem = refused.get_json()
    assert refused.status_code == 422, problem
    assert problem["type"].endswith("/prerequisites-unmet")
    assert problem["unmet"] == ["conservative_care", "check_in.fasting"]
    assert problem["detail"].startswith("Cannot check the patient in:")
    assert state_of(api, world.pathway_id) == "procedure_scheduled"
