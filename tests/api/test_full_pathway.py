"""The whole pathway through the API, as a clinic walks it (SPEC §1-§3)."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from typing import Any

from tests.api.conftest import Clinic
from tests.support import Api, FrozenClock, local

ALDRETE_OK = {
    "activity": 2,
    "respiration": 2,
    "circulation": 2,
    "consciousness": 2,
    "oxygen_saturation": 1,
}
PADSS_OK = {
    "vital_signs": 2,
    "activity": 2,
    "nausea_vomiting": 2,
    "pain": 1,
    "surgical_bleeding": 2,
}


CHECK_IN_OK = {
    "consent_signed": True,
    "escort_name": "Sam Escort",
    "escort_phone": "+1 555 0123",
    "fasting_confirmed": True,
    "anticoagulation_reviewed": True,
    "anticoagulation_status": "not_anticoagulated",
}


def refer(api: Api, clinic: Clinic, **overrides: Any) -> dict[str, Any]:
    body = {
        "patient_id": clinic.patient_id,
        "clinician_id": clinic.clinician_id,
        "site_id": clinic.site_id,
        "indication": "facet_joint_syndrome",
        "region": "lumbar",
        "side": "right",
        "levels": ["L4-L5"],
        "pain_onset_date": "2025-10-01",
        **overrides,
    }
    pathway: dict[str, Any] = api.ok("POST", "/pathways", "scheduler", json=body)
    return pathway


def refer_sacroiliac(api: Api, clinic: Clinic) -> dict[str, Any]:
    """A sacroiliac joint pathway under the one-block policy (50% relief)."""
    return refer(
        api,
        clinic,
        policy="single_block_50",
        indication="sacroiliac_joint_dysfunction",
        region="sacroiliac",
        levels=["S1"],
    )


def book(api: Api, clinic: Clinic, pathway_id: int, kind: str, start: Any, **extra: Any) -> Any:
    return api.ok(
        "POST",
        "/appointments",
        "scheduler",
        json={
            "pathway_id": pathway_id,
            "kind": kind,
            "start": start.isoformat(),
            "room_id": clinic.room_id,
            **extra,
        },
    )


def conservative_care(
    api: Api, pathway_id: int, kind: str = "physical_therapy", **treatment: Any
) -> Any:
    """Six weeks of conservative care, months before the blocks."""
    body = {"kind": kind, "start_date": "2025-11-01", "end_date": "2025-12-15", **treatment}
    return api.ok("POST", f"/pathways/{pathway_id}/conservative-treatments", "scheduler", json=body)


def state_of(api: Api, pathway_id: int) -> str:
    state: str = api.ok("GET", f"/pathways/{pathway_id}", "scheduler")["state"]
    return state


def block_result(
    api: Api, clock: FrozenClock, appointment: dict[str, Any], post: int, as_: str = "clinician"
) -> Any:
    """The block's result (pain 8 before, ``post`` after), recorded an hour after its start."""
    clock.set(datetime.fromisoformat(appointment["start"]) + timedelta(hours=1))
    return api.ok(
        "POST",
        f"/appointments/{appointment['id']}/block-result",
        as_,
        json={"pre_block_pain": 8, "post_block_pain": post, "relief_duration_hours": 6},
    )


def block(
    api: Api, clinic: Clinic, clock: FrozenClock, pathway_id: int, day: str, post: int
) -> Any:
    appointment = book(api, clinic, pathway_id, "diagnostic_block", local(day, 9))
    return block_result(api, clock, appointment, post)


def search_slots(
    api: Api, pathway_id: int, kind: str, as_: str = "scheduler", **query: Any
) -> list[dict[str, Any]]:
    """``GET /pathways/{id}/slots``; datetimes in ``query`` are sent as RFC 3339."""
    params = {
        "kind": kind,
        **{k: v.isoformat() if isinstance(v, datetime) else v for k, v in query.items()},
    }
    found: list[dict[str, Any]] = api.ok(
        "GET", f"/pathways/{pathway_id}/slots", as_, query_string=params
    )
    return found


def book_first_slot(api: Api, pathway_id: int, kind: str, **query: Any) -> dict[str, Any]:
    """Book as a scheduler does: search, hold the first slot offered, book with the hold.

    The hold and the appointment must be exactly the slot that was offered.
    """
    slot, *_later = search_slots(api, pathway_id, kind, **query)
    method = {"method": query["method"]} if "method" in query else {}
    held = api.ok(
        "POST",
        "/holds",
        "scheduler",
        json={
            "pathway_id": pathway_id,
            "kind": kind,
            "start": slot["start"],
            "room_id": slot["room_id"],
            "clinician_id": slot["clinician_id"],
            **method,
        },
    )
    assert {k: held[k] for k in slot} == slot
    appointment: dict[str, Any] = api.ok(
        "POST",
        "/appointments",
        "scheduler",
        json={"pathway_id": pathway_id, "kind": kind, "hold_id": held["hold_id"]},
    )
    booked = {k: appointment[k] for k in slot if k in appointment}
    assert booked == {k: slot[k] for k in booked}, (booked, slot)
    assert set(booked) >= {"start", "end", "room_id", "equipment_ids", "recovery_bay_id"}
    return appointment


def test_full_medicare_pathway_from_referral_to_completed(
    api: Api, clinic: Clinic, clock: FrozenClock
) -> None:
    pathway = refer(api, clinic)
    pid = pathway["id"]
    assert pathway["state"] == "referred"
    assert pathway["policy"]["name"] == "medicare_facet"
    assert pathway["target_nerve"] == "medial_branch"

    conservative_care(api, pid, outcome="no_relief")
    # Booking the procedure now is refused with the unmet rules.
    early = api.post(
        "/appointments",
        {
            "pathway_id": pid,
            "kind": "procedure",
            "start": local("2026-03-10", 9).isoformat(),
            "room_id": clinic.room_id,
        },
        "scheduler",
    )
    assert early.status_code == 422
    assert "diagnostic_blocks" in early.get_json()["unmet"]

    first_block = book_first_slot(api, pid, "diagnostic_block", after=local("2026-03-03", 9))
    assert first_block["start_local"] == "2026-03-03T09:00:00-05:00"
    assert first_block["room_id"] == clinic.room_id  # blocks need fluoroscopy
    first = block_result(api, clock, first_block, post=1)
    assert first["outcome"] == "positive_more_needed"
    assert first["pathway_state"] == "referred"

    # A second block 13 days later is refused; 14 days later it books.
    too_soon = api.post(
        "/appointments",
        {
            "pathway_id": pid,
            "kind": "diagnostic_block",
            "start": local("2026-03-16", 9).isoformat(),
            "room_id": clinic.room_id,
        },
        "scheduler",
    )
    assert too_soon.status_code == 422
    assert too_soon.get_json()["unmet"] == ["block_interval"]

    # Slot search offers nothing before then: its first slot is 14 days on, after DST.
    second_block = book_first_slot(api, pid, "diagnostic_block")
    assert second_block["start_local"] == "2026-03-17T07:00:00-04:00"
    second = block_result(api, clock, second_block, post=0)
    assert second["outcome"] == "positive"
    assert state_of(api, pid) == "eligible"

    eligibility = api.ok("GET", f"/pathways/{pid}/eligibility?on=2026-03-24", "scheduler")
    assert eligibility["eligible"] is True
    assert all(rule["passed"] for rule in eligibility["rules"])
    assert {rule["id"] for rule in eligibility["rules"]} >= {
        "pain_duration",
        "conservative_care",
        "diagnostic_blocks",
        "block_interval",
        "coverage",
    }

    procedure = book_first_slot(
        api, pid, "procedure", after=local("2026-03-24", 8, 30), method="rfa"
    )
    assert procedure["start_local"] == "2026-03-24T08:30:00-04:00"  # after the DST change
    assert procedure["end_local"] == "2026-03-24T10:00:00-04:00"
    assert procedure["timezone"] == "America/New_York"
    assert procedure["method"] == "rfa"
    assert sorted(procedure["equipment_ids"]) == sorted(
        [clinic.equipment_ids["endoscope_tower"], clinic.equipment_ids["rf_generator"]]
    )
    assert procedure["recovery_bay_id"] == clinic.recovery_bay_id
    appointment = procedure["id"]

    clock.set(local("2026-03-24", 7, 45))
    checked_in = api.ok(
        "POST",
        f"/appointments/{appointment}/check-in",
        "nurse",
        json=CHECK_IN_OK,
    )
    assert all(rule["passed"] for rule in checked_in["rules"])
    too_soon = api.post(
        f"/appointments/{appointment}/recovery-scores",
        {"scale": "aldrete", "items": ALDRETE_OK},
        "nurse",
    )
    assert too_soon.status_code == 409
    assert too_soon.get_json()["trigger"] == "record_recovery_score"  # the step refused
    clock.set(local("2026-03-24", 8, 35))
    api.ok("POST", f"/appointments/{appointment}/start", "clinician", json={})
    clock.set(local("2026-03-24", 10))
    api.ok(
        "POST",
        f"/appointments/{appointment}/finish",
        "clinician",
        json={"levels_treated": ["L4-L5"], "complications": ["temporary_pain"]},
    )
    assert state_of(api, pid) == "in_recovery"

    # PADSS before phase I has ended is refused.
    early_padss = api.post(
        f"/appointments/{appointment}/recovery-scores",
        {"scale": "padss", "items": PADSS_OK},
        "nurse",
    )
    assert early_padss.status_code == 422
    assert early_padss.get_json()["unmet"] == ["recovery.aldrete"]

    clock.set(local("2026-03-24", 10, 15))
    aldrete = api.ok(
        "POST",
        f"/appointments/{appointment}/recovery-scores",
        "nurse",
        json={"scale": "aldrete", "items": ALDRETE_OK},
    )
    assert aldrete["total"] == 9
    assert aldrete["phase_one_complete"] is True
    clock.set(local("2026-03-24", 10, 45))
    padss = api.ok(
        "POST",
        f"/appointments/{appointment}/recovery-scores",
        "nurse",
        json={"scale": "padss", "items": PADSS_OK},
    )
    assert padss["ready_for_discharge"] is True
    clock.set(local("2026-03-24", 11))
    api.ok(
        "POST",
        f"/appointments/{appointment}/discharge",
        "nurse",
        json={"escort_present": True, "written_instructions_given": True},
    )
    assert state_of(api, pid) == "discharged"

    # The first follow-up offered opens the policy's window, 14 days after the procedure.
    follow_up = book_first_slot(api, pid, "follow_up")
    assert follow_up["start_local"] == "2026-04-07T07:00:00-04:00"
    assert follow_up["room_id"] == clinic.consult_room_id
    clock.set(local("2026-04-07", 7, 30))
    api.ok(
        "POST",
        f"/appointments/{follow_up['id']}/follow-up-outcome",
        "clinician",
        json={
            "pain_score": 2,
            "percent_relief": 75,
            "odi": 20,
            "complications": [],
            "physical_therapy_referred": True,
        },
    )
    assert state_of(api, pid) == "completed"

    events = api.ok("GET", f"/pathways/{pid}/events", "scheduler")
    assert [e["trigger"] for e in events] == [
        "create",
        "book_block",
        "block_positive_more_needed",
        "book_block",
        "block_positive",
        "book_procedure",
        "check_in",
        "start_procedure",
        "finish_procedure",
        "discharge",
        "book_follow_up",
        "record_follow_up_outcome",
    ]
    assert [e["to"] for e in events][-1] == "completed"
    assert all(e["from"] == prev["to"] for prev, e in itertools.pairwise(events))


def test_single_block_policy_needs_one_block_of_50_percent_and_covers_si(
    api: Api, clinic: Clinic, clock: FrozenClock
) -> None:
    pathway = refer_sacroiliac(api, clinic)
    pid = pathway["id"]
    assert pathway["target_nerve"] == "lateral_branch"
    conservative_care(api, pid, "medication")
    result = block(api, clinic, clock, pid, "2026-03-03", post=4)  # 50% relief
    assert result["relief_percent"] == 50
    assert result["outcome"] == "positive"
    eligibility = api.ok("GET", f"/pathways/{pid}/eligibility", "scheduler")
    assert eligibility["eligible"] is True, eligibility["rules"]
    procedure = book(api, clinic, pid, "procedure", local("2026-03-10", 9))
    assert procedure["method"] == "rfa"
    assert state_of(api, pid) == "procedure_scheduled"
