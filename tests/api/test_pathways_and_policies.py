"""Referral, pathway cancellation, eligibility, coverage, and publishing policy versions."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from sqlalchemy.orm import Session

from scheduler.policies.services import builtin_document
from tests.api.conftest import Clinic
from tests.api.test_bad_input import arrange
from tests.api.test_full_pathway import (
    ALDRETE_OK,
    PADSS_OK,
    book,
    conservative_care,
    refer,
    state_of,
)
from tests.support import Api, FrozenClock, local


def test_referral_validates_levels_against_region(api: Api, clinic: Clinic) -> None:
    response = api.post(
        "/pathways",
        {
            "patient_id": clinic.patient_id,
            "clinician_id": clinic.clinician_id,
            "site_id": clinic.site_id,
            "indication": "facet_joint_syndrome",
            "region": "lumbar",
            "side": "left",
            "levels": ["C5-C6", "L2-L4"],
            "pain_onset_date": "2025-01-01",
        },
        "scheduler",
    )
    assert response.status_code == 422
    messages = response.get_json()["errors"]["levels"]
    assert any("not in the lumbar region" in m for m in messages)
    assert any("adjacent" in m for m in messages)


def test_si_indication_needs_the_sacroiliac_region(api: Api, clinic: Clinic) -> None:
    response = api.post(
        "/pathways",
        {
            "patient_id": clinic.patient_id,
            "clinician_id": clinic.clinician_id,
            "site_id": clinic.site_id,
            "indication": "sacroiliac_joint_dysfunction",
            "region": "lumbar",
            "side": "left",
            "levels": ["L4-L5"],
            "pain_onset_date": "2025-01-01",
        },
        "scheduler",
    )
    assert response.status_code == 422
    assert "region" in response.get_json()["errors"]


def test_cancelling_a_pathway_cancels_its_booked_appointment(api: Api, clinic: Clinic) -> None:
    pathway = refer(api, clinic)["id"]
    appointment = book(api, clinic, pathway, "diagnostic_block", local("2026-03-03", 9))
    cancelled = api.ok(
        "POST", f"/pathways/{pathway}/cancel", "scheduler", json={"reason": "Moved away"}
    )
    assert cancelled["state"] == "cancelled"
    assert cancelled["allowed_triggers"] == []
    again = api.ok("GET", f"/appointments/{appointment['id']}", "scheduler")
    assert again["status"] == "cancelled"
    assert again["cancel_reason"] == "Moved away"
    events = api.ok("GET", f"/pathways/{pathway}/events", "scheduler")
    assert events[-1]["trigger"] == "cancel_pathway"
    assert events[-1]["reason"] == "Moved away"
    refused = api.post(f"/pathways/{pathway}/cancel", {"reason": "again"}, "scheduler")
    assert refused.status_code == 409


def test_eligibility_lists_every_rule_with_its_source(api: Api, clinic: Clinic) -> None:
    pathway = refer(api, clinic, pain_onset_date="2026-01-15")["id"]
    body = api.ok("GET", f"/pathways/{pathway}/eligibility", "clinician")
    assert body["eligible"] is False
    assert body["on"] == "2026-03-02"
    rules = {rule["id"]: rule for rule in body["rules"]}
    assert rules["pain_duration"]["passed"] is False
    assert "46 days" in rules["pain_duration"]["message"]
    assert rules["conservative_care"]["passed"] is False
    assert rules["diagnostic_blocks"]["passed"] is False
    assert rules["indication_target"]["passed"] is True
    assert all(rule["source"] for rule in body["rules"])


def test_non_thermal_method_needs_a_coverage_acknowledgment(
    api: Api, clinic: Clinic, clock: FrozenClock
) -> None:
    pathway = refer(api, clinic, method="laser")["id"]
    path = f"/pathways/{pathway}/eligibility"
    coverage = {r["id"]: r for r in api.ok("GET", path, "scheduler")["rules"]}["coverage"]
    assert coverage["passed"] is False
    api.ok(
        "POST",
        f"/pathways/{pathway}/coverage-acknowledgments",
        "scheduler",
        json={"kind": "abn", "signed_on": "2026-03-01"},
    )
    coverage = {r["id"]: r for r in api.ok("GET", path, "scheduler")["rules"]}["coverage"]
    assert coverage["passed"] is True
    future = api.post(
        f"/pathways/{pathway}/coverage-acknowledgments",
        {"kind": "self_pay", "signed_on": "2026-04-01"},
        "scheduler",
    )
    assert future.status_code == 422


def test_conservative_treatments_are_listed_in_order(api: Api, clinic: Clinic) -> None:
    pathway = refer(api, clinic)["id"]
    path = f"/pathways/{pathway}/conservative-treatments"
    for start in ("2025-12-01", "2025-10-01"):
        api.ok("POST", path, "scheduler", json={"kind": "medication", "start_date": start})
    listed = api.ok("GET", path, "scheduler")
    assert [t["start_date"] for t in listed] == ["2025-10-01", "2025-12-01"]
    assert listed[0]["outcome"] is None


def test_admin_publishes_a_new_version_and_pinned_pathways_keep_theirs(
    api: Api, clinic: Clinic
) -> None:
    pinned = refer(api, clinic)["id"]
    document = copy.deepcopy(builtin_document("medicare_facet"))
    document["pain_duration"]["min_days"] = 180
    published = api.ok(
        "POST",
        "/policies",
        "admin",
        json={"name": "medicare_facet", "title": "Stricter pain duration", "parameters": document},
    )
    assert published["version"] == 2
    assert api.ok("GET", "/policies/medicare_facet/1", "scheduler")["parameters"] == (
        builtin_document("medicare_facet")
    )
    fresh = refer(api, clinic, side="left")
    assert fresh["policy"]["version"] == 2
    assert api.ok("GET", f"/pathways/{pinned}", "scheduler")["policy"]["version"] == 1
    names = [(p["name"], p["version"]) for p in api.ok("GET", "/policies", "scheduler")]
    assert ("medicare_facet", 2) in names


def _broken(change: Any) -> dict[str, Any]:
    document = copy.deepcopy(builtin_document("medicare_facet"))
    change(document)
    return document


@pytest.mark.parametrize(
    ("document", "field"),
    [
        (
            _broken(lambda d: d["diagnostic_blocks"].update(required=0)),
            "diagnostic_blocks.required",
        ),
        (_broken(lambda d: d["follow_up"].update(max_days=10)), "follow_up.max_days"),
        (_broken(lambda d: d.pop("discharge")), "discharge"),
        (_broken(lambda d: d.update(extra=1)), "extra"),
        (_broken(lambda d: d["coverage"].update(not_covered_methods=["x"])), "coverage"),
        (_broken(lambda d: d["sources"].pop("coverage")), "sources"),
        ("not an object", ""),
    ],
)
def test_bad_policy_document_is_422_naming_the_field(
    api: Api, clinic: Clinic, document: Any, field: str
) -> None:
    response = api.post(
        "/policies", {"name": "medicare_facet", "title": "Broken", "parameters": document}
    )
    assert response.status_code == 422
    errors = response.get_json()["errors"]
    assert any(key.startswith(f"parameters.{field}".rstrip(".")) for key in errors), errors
    assert api.ok("GET", "/policies?name=medicare_facet", "admin")[-1]["version"] == 1


def test_block_result_before_the_block_is_refused(
    api: Api, clinic: Clinic, clock: FrozenClock
) -> None:
    pathway = refer(api, clinic)["id"]
    appointment = book(api, clinic, pathway, "diagnostic_block", local("2026-03-03", 9))
    body = {"pre_block_pain": 8, "post_block_pain": 2, "relief_duration_hours": 4}
    early = api.post(f"/appointments/{appointment['id']}/block-result", body, "clinician")
    assert early.status_code == 422
    assert state_of(api, pathway) == "block_scheduled"


def test_negative_block_makes_the_pathway_ineligible_and_a_new_block_can_follow(
    api: Api, clinic: Clinic, clock: FrozenClock
) -> None:
    pathway = refer(api, clinic)["id"]
    appointment = book(api, clinic, pathway, "diagnostic_block", local("2026-03-03", 9))
    clock.set(local("2026-03-03", 10))
    result = api.ok(
        "POST",
        f"/appointments/{appointment['id']}/block-result",
        "clinician",
        json={"pre_block_pain": 8, "post_block_pain": 5, "relief_duration_hours": 1},
    )
    assert result["outcome"] == "negative"
    assert state_of(api, pathway) == "ineligible"
    book(api, clinic, pathway, "diagnostic_block", local("2026-03-20", 9))
    assert state_of(api, pathway) == "block_scheduled"


def test_discharge_refused_until_padss_and_escort(
    api: Api, clinic: Clinic, clock: FrozenClock
) -> None:
    pathway = refer(api, clinic, policy="single_block_50")["id"]
    conservative_care(api, pathway, "medication")
    block = book(api, clinic, pathway, "diagnostic_block", local("2026-03-03", 9))
    clock.set(local("2026-03-03", 10))
    api.ok(
        "POST",
        f"/appointments/{block['id']}/block-result",
        "clinician",
        json={"pre_block_pain": 8, "post_block_pain": 2, "relief_duration_hours": 4},
    )
    procedure = book(api, clinic, pathway, "procedure", local("2026-03-05", 9))["id"]
    clock.set(local("2026-03-05", 8))
    incomplete = api.post(
        f"/appointments/{procedure}/check-in",
        {"consent_signed": False, "fasting_confirmed": True, "anticoagulation_reviewed": True},
        "nurse",
    )
    assert incomplete.status_code == 422
    assert set(incomplete.get_json()["unmet"]) == {"check_in.consent", "check_in.escort"}
    api.ok(
        "POST",
        f"/appointments/{procedure}/check-in",
        "nurse",
        json={
            "consent_signed": True,
            "escort_name": "Pat",
            "escort_phone": "+1 555 0100",
            "fasting_confirmed": True,
            "anticoagulation_reviewed": True,
        },
    )
    api.ok("POST", f"/appointments/{procedure}/start", "clinician", json={})
    api.ok(
        "POST", f"/appointments/{procedure}/finish", "clinician", json={"levels_treated": ["L4-L5"]}
    )
    scores = f"/appointments/{procedure}/recovery-scores"
    api.ok("POST", scores, "nurse", json={"scale": "aldrete", "items": ALDRETE_OK})
    low_padss = {**PADSS_OK, "pain": 0, "nausea_vomiting": 1}
    api.ok("POST", scores, "nurse", json={"scale": "padss", "items": low_padss})
    refused = api.post(f"/appointments/{procedure}/discharge", {"escort_present": False}, "nurse")
    assert refused.status_code == 422
    assert set(refused.get_json()["unmet"]) == {"discharge.padss", "discharge.escort"}
    assert state_of(api, pathway) == "in_recovery"
    admitted = api.ok(
        "POST", f"/appointments/{procedure}/admit", "nurse", json={"reason": "Pain control"}
    )
    assert admitted["outcome"] == "admitted"
    assert state_of(api, pathway) == "admitted"
    assert len(api.ok("GET", scores, "nurse")) == 2


@pytest.mark.parametrize(("relief", "passes_later"), [(75, True), (30, False)])
def test_a_repeat_neurotomy_is_judged_on_the_last_one_and_the_relief_it_gave(
    api: Api, clinic: Clinic, clock: FrozenClock, db: Session, relief: int, passes_later: bool
) -> None:
    """medicare_facet: a repeat on the same region and side needs >= 182 days since the
    last neurotomy (on 2026-03-24 here), and that one must have given >= 50% relief."""
    first = arrange(api, clinic, clock, db, "follow_up_started")
    api.ok(
        "POST",
        f"/appointments/{first.appointment_id}/follow-up-outcome",
        "clinician",
        json={
            "pain_score": 3,
            "percent_relief": relief,
            "odi": 20,
            "complications": [],
            "physical_therapy_referred": False,
        },
    )
    again = refer(api, clinic)["id"]  # the same patient, region, side and levels

    def repeat_rule() -> dict[str, Any]:
        body = api.ok("GET", f"/pathways/{again}/eligibility", "scheduler")
        rule: dict[str, Any] = {r["id"]: r for r in body["rules"]}["repeat_neurotomy"]
        return rule

    soon = repeat_rule()
    clock.set(local("2026-09-23", 9))  # 183 days after the first neurotomy
    later = repeat_rule()

    assert soon["passed"] is False
    assert later["passed"] is passes_later
    assert f"{relief}" in later["message"]
