"""Prerequisite rules (SPEC §3) evaluated with the real builtin policy documents.

Every boundary is a pair: the value that just fails and the one that just passes. The
snapshot helper starts from a case that is eligible under both builtin policies, so a
failing case fails only the rule under test.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from scheduler.errors import PrerequisitesUnmet
from scheduler.policies import rules as policy_module
from scheduler.policies.booking_rules import (
    Block,
    BlockOutcome,
    Neurotomy,
    PathwaySnapshot,
    Treatment,
    block_outcome,
)
from scheduler.policies.document import parse_policy
from scheduler.policies.evaluation import Evaluation, Gate, RuleResult
from scheduler.policies.parameters import Policy
from scheduler.policies.procedure_day_rules import (
    CheckInSnapshot,
    FollowUpSnapshot,
    RecoverySnapshot,
)
from scheduler.policies.rules import eligibility, evaluate
from scheduler.vocabulary import (
    AcknowledgmentKind,
    AnticoagulationStatus,
    Indication,
    Method,
    Region,
    Side,
    TargetNerve,
    TreatmentKind,
    TreatmentOutcome,
)

BUILTIN = Path(policy_module.__file__).parent / "builtin"
MEDICARE = "medicare_facet"
SINGLE = "single_block_50"

ON = date(2025, 6, 2)
LEVELS = ("L4-L5",)
ABN = frozenset({AcknowledgmentKind.ABN})
# The SPEC's procedure-booking rules, by id (SPEC §3 table, first ten rows less one:
# block sessions are a gate of booking a block).
BOOK_PROCEDURE_RULES = {
    "indication_target",
    "pain_duration",
    "conservative_care",
    "diagnostic_blocks",
    "block_interval",
    "levels_per_session",
    "neurotomy_sessions",
    "repeat_neurotomy",
    "coverage",
}


@cache
def document(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((BUILTIN / f"{name}.json").read_text())
    return data


@cache
def policy(name: str) -> Policy:
    return parse_policy(name, 1, document(name))


def block(days_before: int, relief: float | None = 90, **changes: Any) -> Block:
    fields: dict[str, Any] = {
        "on": ON - timedelta(days=days_before),
        "side": Side.RIGHT,
        "levels": LEVELS,
        "relief_percent": relief,
    }
    fields.update(changes)
    return Block(**fields)


def treatment(
    days: int, outcome: TreatmentOutcome | None = TreatmentOutcome.NO_RELIEF, ends_before: int = 30
) -> Treatment:
    """A course of physical therapy covering ``days`` days (both ends counted)."""
    end = ON - timedelta(days=ends_before)
    return Treatment(TreatmentKind.PHYSICAL_THERAPY, end - timedelta(days=days - 1), end, outcome)


def neurotomy(
    days_before: int, relief: float | None = 80, side: Side = Side.RIGHT, **changes: Any
) -> Neurotomy:
    fields: dict[str, Any] = {
        "on": ON - timedelta(days=days_before),
        "region": Region.LUMBAR,
        "side": side,
        "relief_percent": relief,
    }
    fields.update(changes)
    return Neurotomy(**fields)


def case(**changes: Any) -> PathwaySnapshot:
    """An eligible lumbar facet case, right L4-L5, RFA; blocks follow side and levels."""
    fields: dict[str, Any] = {
        "on": ON,
        "indication": Indication.FACET_JOINT_SYNDROME,
        "region": Region.LUMBAR,
        "side": Side.RIGHT,
        "levels": LEVELS,
        "target_nerve": TargetNerve.MEDIAL_BRANCH,
        "method": Method.RFA,
        "pain_onset": ON - timedelta(days=200),
        "treatments": (treatment(60),),
    }
    fields.update(changes)
    if "blocks" not in changes:
        fields["blocks"] = (
            block(40, 90, side=fields["side"], levels=fields["levels"]),
            block(20, 85, side=fields["side"], levels=fields["levels"]),
        )
    return PathwaySnapshot(**fields)


def si_case(**changes: Any) -> PathwaySnapshot:
    fields: dict[str, Any] = {
        "indication": Indication.SACROILIAC_JOINT_DYSFUNCTION,
        "region": Region.SACROILIAC,
        "target_nerve": TargetNerve.LATERAL_BRANCH,
        "levels": ("S1",),
    }
    fields.update(changes)
    return case(**fields)


def unmet_ids(evaluation: Evaluation) -> set[str]:
    return {result.id for result in evaluation.unmet}


def assert_only(evaluation: Evaluation, rule_id: str, passes: bool) -> None:
    """Passing: every rule holds. Failing: exactly ``rule_id`` fails (nothing else)."""
    assert unmet_ids(evaluation) == (set() if passes else {rule_id})
    assert evaluation.passed is passes


def result(evaluation: Evaluation, rule_id: str) -> RuleResult:
    (found,) = [r for r in evaluation.results if r.id == rule_id]
    return found


# ---------------------------------------------------------------------------------------
# The builtin documents and the baseline case


@pytest.mark.parametrize("name", [MEDICARE, SINGLE])
def test_baseline_case_is_eligible_under_both_builtin_policies(name: str) -> None:
    evaluation = eligibility(policy(name), case())
    assert evaluation.passed, [r.message for r in evaluation.unmet]


@pytest.mark.parametrize(
    ("name", "required", "relief", "si_covered"),
    [(MEDICARE, 2, 80, False), (SINGLE, 1, 50, True)],
)
def test_builtin_policies_carry_the_spec_defaults(
    name: str, required: int, relief: float, si_covered: bool
) -> None:
    p = policy(name).parameters
    assert p.diagnostic_blocks.required == required
    assert p.diagnostic_blocks.min_relief_percent == relief
    assert p.diagnostic_blocks.min_interval_days == 14
    assert p.diagnostic_blocks.max_sessions_per_region == 4
    assert p.pain_duration.min_days == 90
    assert p.conservative_care.min_days == 28
    assert p.levels.max_per_session == 2
    assert p.neurotomy.max_sessions_per_region == 2
    assert p.neurotomy.repeat_min_days == 182
    assert p.neurotomy.repeat_min_prior_relief_percent == 50
    assert (Indication.SACROILIAC_JOINT_DYSFUNCTION not in p.coverage.not_covered_indications) is (
        si_covered
    )
    assert p.coverage.not_covered_methods == {Method.LASER, Method.MECHANICAL}
    assert (p.follow_up.min_days, p.follow_up.max_days) == (14, 28)
    assert (p.recovery.min_aldrete, p.discharge.min_padss) == (9, 9)


# ---------------------------------------------------------------------------------------
# Booking the procedure: boundary pairs


@pytest.mark.parametrize("name", [MEDICARE, SINGLE])
@pytest.mark.parametrize(("gap", "passes"), [(13, False), (14, True)])
def test_blocks_13_days_apart_fail_interval_14_pass(name: str, gap: int, passes: bool) -> None:
    snapshot = case(blocks=(block(20 + gap, 90), block(20, 85)))
    evaluation = eligibility(policy(name), snapshot)
    assert_only(evaluation, "block_interval", passes)
    if not passes:
        assert "13 days apart" in result(evaluation, "block_interval").message


@pytest.mark.parametrize(("relief", "passes"), [(79, False), (80, True)])
def test_second_block_79_percent_fails_medicare_80_passes(relief: float, passes: bool) -> None:
    snapshot = case(blocks=(block(40, 80), block(20, relief)))
    assert_only(eligibility(policy(MEDICARE), snapshot), "diagnostic_blocks", passes)


@pytest.mark.parametrize(("relief", "passes"), [(79, False), (80, True)])
def test_first_block_79_percent_leaves_one_positive_medicare_80_makes_two(
    relief: float, passes: bool
) -> None:
    snapshot = case(blocks=(block(40, relief), block(20, 90)))
    assert_only(eligibility(policy(MEDICARE), snapshot), "diagnostic_blocks", passes)


@pytest.mark.parametrize(("relief", "passes"), [(49, False), (50, True)])
def test_single_block_49_percent_fails_single_block_50_passes(relief: float, passes: bool) -> None:
    snapshot = case(blocks=(block(20, relief),))
    assert_only(eligibility(policy(SINGLE), snapshot), "diagnostic_blocks", passes)


def test_one_positive_block_is_not_enough_for_medicare() -> None:
    evaluation = eligibility(policy(MEDICARE), case(blocks=(block(20, 95),)))
    assert_only(evaluation, "diagnostic_blocks", passes=False)
    assert (
        "1 positive diagnostic block of the 2 needed"
        in result(evaluation, "diagnostic_blocks").message
    )


@pytest.mark.parametrize("name", [MEDICARE, SINGLE])
@pytest.mark.parametrize(("days", "passes"), [(89, False), (90, True)])
def test_pain_onset_89_days_ago_fails_90_passes(name: str, days: int, passes: bool) -> None:
    snapshot = case(pain_onset=ON - timedelta(days=days))
    evaluation = eligibility(policy(name), snapshot)
    assert_only(evaluation, "pain_duration", passes)
    if not passes:
        met_from = (ON + timedelta(days=1)).isoformat()
        assert met_from in result(evaluation, "pain_duration").message


@pytest.mark.parametrize("name", [MEDICARE, SINGLE])
@pytest.mark.parametrize(
    ("treatments", "passes"),
    [
        ((treatment(27),), False),
        ((treatment(28),), True),
        # Two courses that overlap by 10 days count once: 14 + 14 - 10 = 18.
        ((treatment(14, ends_before=30), treatment(14, ends_before=34)), False),
        # Two separate 14-day courses add up to 28.
        ((treatment(14, ends_before=30), treatment(14, ends_before=100)), True),
        # An ongoing course counts up to the booking date: 28 days, both ends counted.
        ((Treatment(TreatmentKind.MEDICATION, ON - timedelta(days=27), None, None),), True),
        ((Treatment(TreatmentKind.MEDICATION, ON - timedelta(days=26), None, None),), False),
        # Care after the booking date does not count.
        ((treatment(28, ends_before=-40),), False),
        ((), False),
    ],
)
def test_conservative_care_27_documented_days_fail_28_pass(
    name: str, treatments: tuple[Treatment, ...], passes: bool
) -> None:
    evaluation = eligibility(policy(name), case(treatments=treatments))
    assert_only(evaluation, "conservative_care", passes)


@pytest.mark.parametrize(
    ("outcome", "passes"),
    [
        (TreatmentOutcome.RESOLVED, False),
        (TreatmentOutcome.PARTIAL_RELIEF, True),
        (TreatmentOutcome.NO_RELIEF, True),
        (TreatmentOutcome.WORSENED, True),
        (TreatmentOutcome.NOT_TOLERATED, True),
        (None, True),
    ],
)
def test_conservative_care_resolved_outcome_fails_other_outcomes_pass(
    outcome: TreatmentOutcome | None, passes: bool
) -> None:
    snapshot = case(treatments=(treatment(90, outcome=outcome),))
    assert_only(eligibility(policy(MEDICARE), snapshot), "conservative_care", passes)


@pytest.mark.parametrize("name", [MEDICARE, SINGLE])
@pytest.mark.parametrize(
    ("levels", "passes"),
    [(("L2-L3", "L3-L4", "L4-L5"), False), (("L3-L4", "L4-L5"), True)],
)
def test_three_levels_fail_two_levels_pass(
    name: str, levels: tuple[str, ...], passes: bool
) -> None:
    evaluation = eligibility(policy(name), case(levels=levels))
    assert_only(evaluation, "levels_per_session", passes)


@pytest.mark.parametrize("name", [MEDICARE, SINGLE])
@pytest.mark.parametrize(
    ("others", "passes"),
    [
        ((neurotomy(181),), False),
        ((neurotomy(182),), True),
        # A neurotomy booked later on the same side is as close as one done before.
        ((neurotomy(-181),), False),
        # Bilateral touches the right side too.
        ((neurotomy(181, side=Side.BILATERAL),), False),
        # The other side, or another region, does not count.
        ((neurotomy(30, side=Side.LEFT),), True),
        ((neurotomy(30, region=Region.CERVICAL),), True),
    ],
)
def test_repeat_neurotomy_181_days_after_the_last_fails_182_pass(
    name: str, others: tuple[Neurotomy, ...], passes: bool
) -> None:
    evaluation = eligibility(policy(name), case(other_neurotomies=others))
    assert_only(evaluation, "repeat_neurotomy", passes)


@pytest.mark.parametrize("name", [MEDICARE, SINGLE])
@pytest.mark.parametrize(("relief", "passes"), [(None, False), (49, False), (50, True)])
def test_repeat_neurotomy_after_49_percent_prior_relief_fails_50_passes(
    name: str, relief: float | None, passes: bool
) -> None:
    snapshot = case(other_neurotomies=(neurotomy(200, relief=relief),))
    assert_only(eligibility(policy(name), snapshot), "repeat_neurotomy", passes)


@pytest.mark.parametrize("name", [MEDICARE, SINGLE])
@pytest.mark.parametrize(
    ("days_before", "passes"),
    [
        ((200, 100), False),
        ((100,), True),
        # One of the two is more than 12 months ago: this is the 2nd in any window.
        ((365, 100), True),
        ((364, 100), False),
        # A session booked later in the year counts as well.
        ((200, -100), False),
    ],
)
def test_third_neurotomy_in_12_months_refused_second_allowed(
    name: str, days_before: tuple[int, ...], passes: bool
) -> None:
    # On the left side, so that the repeat rule (same side) stays out of the picture.
    others = tuple(neurotomy(d, side=Side.LEFT) for d in days_before)
    # Another region does not count.
    others += (neurotomy(50, side=Side.LEFT, region=Region.THORACIC),)
    evaluation = eligibility(policy(name), case(other_neurotomies=others))
    assert_only(evaluation, "neurotomy_sessions", passes)


@pytest.mark.parametrize(
    ("days_before", "passes"),
    [
        # Both others are booked later in the year: [ON, ON+365) holds three sessions.
        ((-30, -60), False),
        ((-30,), True),
        # One done 300 days ago, two booked: the window starting today holds three.
        ((300, -100, -200), False),
    ],
)
def test_third_neurotomy_refused_when_the_others_are_booked_later_in_the_year(
    days_before: tuple[int, ...], passes: bool
) -> None:
    """SPEC §3 "<= 2 per rolling 12 months": sessions booked after this one count too."""
    others = tuple(neurotomy(d, side=Side.LEFT) for d in days_before)
    evaluation = eligibility(policy(MEDICARE), case(other_neurotomies=others))
    assert_only(evaluation, "neurotomy_sessions", passes)


def block_booking(other_sessions: tuple[int, ...]) -> PathwaySnapshot:
    """A block being booked today (no result yet) with other sessions N days before."""
    return case(
        blocks=(block(0, None),),
        other_block_sessions=tuple(ON - timedelta(days=d) for d in other_sessions),
    )


@pytest.mark.parametrize("name", [MEDICARE, SINGLE])
@pytest.mark.parametrize(
    ("other_sessions", "passes"),
    [
        ((300, 200, 100, 30), False),
        ((200, 100, 30), True),
        ((365, 200, 100, 30), True),
        ((364, 200, 100, 30), False),
    ],
)
def test_fifth_block_session_in_12_months_refused_fourth_allowed(
    name: str, other_sessions: tuple[int, ...], passes: bool
) -> None:
    evaluation = evaluate(policy(name), Gate.BOOK_BLOCK, block_booking(other_sessions))
    assert_only(evaluation, "block_sessions", passes)


@pytest.mark.parametrize(
    ("other_sessions", "passes"),
    [((-30, -60, -90, -120), False), ((-30, -60, -90), True)],
)
def test_fifth_block_session_refused_when_the_others_are_booked_later_in_the_year(
    other_sessions: tuple[int, ...], passes: bool
) -> None:
    """SPEC §3 "<= 4 per rolling 12 months": sessions booked after this one count too."""
    evaluation = evaluate(policy(MEDICARE), Gate.BOOK_BLOCK, block_booking(other_sessions))
    assert_only(evaluation, "block_sessions", passes)


@pytest.mark.parametrize(("gap", "passes"), [(13, False), (14, True)])
def test_booking_a_block_13_days_after_the_last_fails_interval_14_pass(
    gap: int, passes: bool
) -> None:
    snapshot = case(blocks=(block(gap, 90), block(0, None)))
    evaluation = evaluate(policy(MEDICARE), Gate.BOOK_BLOCK, snapshot)
    assert_only(evaluation, "block_interval", passes)


@pytest.mark.parametrize(
    ("name", "acknowledgments", "passes"),
    [
        (MEDICARE, frozenset(), False),
        (MEDICARE, frozenset({AcknowledgmentKind.ABN}), True),
        (MEDICARE, frozenset({AcknowledgmentKind.SELF_PAY}), True),
        (SINGLE, frozenset(), True),
    ],
)
def test_si_ablation_without_acknowledgment_fails_medicare_coverage_passes_single_block(
    name: str, acknowledgments: frozenset[AcknowledgmentKind], passes: bool
) -> None:
    evaluation = eligibility(policy(name), si_case(acknowledgments=acknowledgments))
    assert_only(evaluation, "coverage", passes)
    assert result(evaluation, "coverage").source == document(name)["sources"]["coverage"]


@pytest.mark.parametrize("name", [MEDICARE, SINGLE])
@pytest.mark.parametrize(
    ("method", "acknowledgments", "passes"),
    [
        (Method.LASER, frozenset(), False),
        (Method.MECHANICAL, frozenset(), False),
        (Method.LASER, frozenset({AcknowledgmentKind.SELF_PAY}), True),
        (Method.MECHANICAL, frozenset({AcknowledgmentKind.ABN}), True),
        (Method.RFA, frozenset(), True),
    ],
)
def test_laser_or_mechanical_without_acknowledgment_fails_coverage_rfa_passes(
    name: str, method: Method, acknowledgments: frozenset[AcknowledgmentKind], passes: bool
) -> None:
    snapshot = case(method=method, acknowledgments=acknowledgments)
    assert_only(eligibility(policy(name), snapshot), "coverage", passes)
    start = evaluate(policy(name), Gate.START_PROCEDURE, snapshot)
    assert_only(start, "coverage", passes)


@pytest.mark.parametrize("name", [MEDICARE, SINGLE])
@pytest.mark.parametrize(
    ("snapshot", "passes"),
    [
        (case(target_nerve=TargetNerve.LATERAL_BRANCH), False),
        (si_case(target_nerve=TargetNerve.MEDIAL_BRANCH, acknowledgments=ABN), False),
        # Facet neurotomy is not a procedure of the sacroiliac region.
        (case(region=Region.SACROILIAC), False),
        (case(region=Region.CERVICAL, levels=("C5-C6",)), True),
        (si_case(acknowledgments=ABN), True),
    ],
)
def test_indication_and_target_nerve_mismatch_fails(
    name: str, snapshot: PathwaySnapshot, passes: bool
) -> None:
    assert_only(eligibility(policy(name), snapshot), "indication_target", passes)
    book_block = evaluate(policy(name), Gate.BOOK_BLOCK, snapshot)
    assert ("indication_target" in unmet_ids(book_block)) is not passes


@pytest.mark.parametrize(
    "blocks",
    [
        (block(40, 90, side=Side.LEFT), block(20, 85, side=Side.LEFT)),
        (block(40, 90, side=Side.BILATERAL), block(20, 85, side=Side.BILATERAL)),
        (block(40, 90, levels=("L3-L4",)), block(20, 85, levels=("L3-L4",))),
        (block(40, 90, levels=("L4-L5", "L5-S1")), block(20, 85, levels=("L4-L5", "L5-S1"))),
        (block(40, 90), block(20, 85, side=Side.LEFT)),
    ],
)
def test_blocks_on_another_side_or_levels_do_not_count(blocks: tuple[Block, ...]) -> None:
    evaluation = eligibility(policy(MEDICARE), case(blocks=blocks))
    assert_only(evaluation, "diagnostic_blocks", passes=False)
    assert "not at the planned side and levels" in result(evaluation, "diagnostic_blocks").message


def test_blocks_at_the_planned_levels_count_in_any_order() -> None:
    levels = ("L3-L4", "L4-L5")
    blocks = (block(40, 90, levels=levels[::-1]), block(20, 85, levels=levels))
    assert eligibility(policy(MEDICARE), case(levels=levels, blocks=blocks)).passed


def test_negative_block_restarts_the_count() -> None:
    blocks = (block(80, 95), block(60, 40), block(20, 90))
    evaluation = eligibility(policy(MEDICARE), case(blocks=blocks))
    assert_only(evaluation, "diagnostic_blocks", passes=False)


# ---------------------------------------------------------------------------------------
# eligibility() and require()


@pytest.mark.parametrize("name", [MEDICARE, SINGLE])
def test_eligibility_returns_every_procedure_rule_with_its_source(name: str) -> None:
    snapshot = case(pain_onset=ON - timedelta(days=10), levels=("L1-L2", "L2-L3", "L3-L4"))
    evaluation = eligibility(policy(name), snapshot)
    assert evaluation.gate is Gate.BOOK_PROCEDURE
    ids = [r.id for r in evaluation.results]
    assert len(ids) == len(set(ids))
    assert set(ids) == BOOK_PROCEDURE_RULES
    sources = document(name)["sources"]
    for rule in evaluation.results:
        assert isinstance(rule.passed, bool)
        assert rule.message.strip()
        assert rule.source == sources[rule.id]
    assert unmet_ids(evaluation) == {"pain_duration", "levels_per_session"}


def test_require_raises_prerequisites_unmet_listing_the_unmet_ids() -> None:
    snapshot = case(pain_onset=ON - timedelta(days=10), method=Method.LASER)
    evaluation = eligibility(policy(MEDICARE), snapshot)
    with pytest.raises(PrerequisitesUnmet) as caught:
        evaluation.require()
    extensions = caught.value.extensions()
    assert sorted(extensions["unmet"]) == ["coverage", "pain_duration"]
    assert {r["id"] for r in extensions["rules"]} == {"coverage", "pain_duration"}
    assert caught.value.status == 422
    assert "book the procedure" in caught.value.detail


def test_require_passes_silently_when_every_rule_holds() -> None:
    evaluation = eligibility(policy(MEDICARE), case())
    assert evaluation.require() is None
    assert evaluation.unmet == ()


# ---------------------------------------------------------------------------------------
# block_outcome


@pytest.mark.parametrize(
    ("name", "blocks", "expected"),
    [
        (MEDICARE, (block(0, 85),), BlockOutcome.POSITIVE_MORE_NEEDED),
        (MEDICARE, (block(14, 85), block(0, 80)), BlockOutcome.POSITIVE),
        (MEDICARE, (block(0, 79),), BlockOutcome.NEGATIVE),
        (MEDICARE, (block(14, 90), block(0, 79)), BlockOutcome.NEGATIVE),
        # A negative block restarts the count: one positive since then.
        (MEDICARE, (block(28, 90), block(14, 20), block(0, 90)), BlockOutcome.POSITIVE_MORE_NEEDED),
        # A positive block at another side does not count towards the two.
        (
            MEDICARE,
            (block(14, 90, side=Side.LEFT), block(0, 90)),
            BlockOutcome.POSITIVE_MORE_NEEDED,
        ),
        (SINGLE, (block(0, 50),), BlockOutcome.POSITIVE),
        (SINGLE, (block(0, 49),), BlockOutcome.NEGATIVE),
    ],
)
def test_block_outcome_after_the_latest_result(
    name: str, blocks: tuple[Block, ...], expected: BlockOutcome
) -> None:
    assert block_outcome(policy(name), case(blocks=blocks)) is expected


# ---------------------------------------------------------------------------------------
# Procedure day

START = datetime(2025, 6, 2, 9, 0, tzinfo=UTC)


def check_in(**changes: Any) -> CheckInSnapshot:
    """A lumbar case under sedation, ready for check-in."""
    fields: dict[str, Any] = {
        "region": Region.LUMBAR,
        "sedation": True,
        "procedure_start": START,
        "consent_signed": True,
        "escort_name": "Escort",
        "escort_phone": "+1 555 0100",
        "fasting_confirmed": True,
        "last_clear_fluids_at": START - timedelta(hours=3),
        "last_light_meal_at": START - timedelta(hours=7),
        "last_heavy_meal_at": START - timedelta(hours=10),
        "anticoagulation_reviewed": True,
        "anticoagulation_status": AnticoagulationStatus.NOT_ANTICOAGULATED,
    }
    fields.update(changes)
    return CheckInSnapshot(**fields)


@pytest.mark.parametrize("name", [MEDICARE, SINGLE])
def test_ready_check_in_passes_with_each_rule_citing_its_source(name: str) -> None:
    evaluation = evaluate(policy(name), Gate.CHECK_IN, check_in())
    assert evaluation.gate is Gate.CHECK_IN
    assert evaluation.passed
    assert [r.id for r in evaluation.results] == [
        "check_in.consent",
        "check_in.escort",
        "check_in.fasting",
        "check_in.anticoagulation",
    ]
    for rule in evaluation.results:
        assert rule.source == document(name)["sources"][rule.id]


@pytest.mark.parametrize(
    ("changes", "passes"),
    [({"consent_signed": False}, False), ({"consent_signed": True}, True)],
)
def test_check_in_without_signed_consent_fails(changes: dict[str, Any], passes: bool) -> None:
    assert_only(
        evaluate(policy(MEDICARE), Gate.CHECK_IN, check_in(**changes)), "check_in.consent", passes
    )


@pytest.mark.parametrize(
    ("changes", "passes"),
    [
        ({"escort_name": None}, False),
        ({"escort_phone": None}, False),
        ({"escort_name": ""}, False),
        ({"escort_name": None, "escort_phone": None}, False),
        ({}, True),
        ({"sedation": False, "escort_name": None, "escort_phone": None}, True),
    ],
)
def test_check_in_with_sedation_needs_a_named_escort_with_a_phone(
    changes: dict[str, Any], passes: bool
) -> None:
    evaluation = evaluate(policy(MEDICARE), Gate.CHECK_IN, check_in(**changes))
    assert_only(evaluation, "check_in.escort", passes)


@pytest.mark.parametrize(
    ("field", "hours"),
    [("last_clear_fluids_at", 2), ("last_light_meal_at", 6), ("last_heavy_meal_at", 8)],
)
@pytest.mark.parametrize(
    ("minutes_over", "passes"), [(-1, False), (0, True)], ids=["one_minute_short", "enough"]
)
def test_fasting_hours_2_6_8_before_procedure_start(
    field: str, hours: int, minutes_over: int, passes: bool
) -> None:
    snapshot = check_in(**{field: START - timedelta(hours=hours, minutes=minutes_over)})
    evaluation = evaluate(policy(MEDICARE), Gate.CHECK_IN, snapshot)
    assert_only(evaluation, "check_in.fasting", passes)
    if not passes:
        assert f"less than {hours} h" in result(evaluation, "check_in.fasting").message


@pytest.mark.parametrize(
    ("changes", "passes"),
    [
        ({"fasting_confirmed": False}, False),
        ({"fasting_confirmed": False, "sedation": False, "escort_name": None}, True),
        # Light meal 7 h before: fine for a light meal, too short if it was heavy.
        ({"last_heavy_meal_at": START - timedelta(hours=7)}, False),
        (
            {"last_clear_fluids_at": None, "last_light_meal_at": None, "last_heavy_meal_at": None},
            True,
        ),
    ],
)
def test_fasting_must_be_confirmed_under_sedation(changes: dict[str, Any], passes: bool) -> None:
    evaluation = evaluate(policy(MEDICARE), Gate.CHECK_IN, check_in(**changes))
    assert_only(evaluation, "check_in.fasting", passes)


@pytest.mark.parametrize(
    ("region", "reviewed", "status", "passes"),
    [
        (Region.CERVICAL, True, AnticoagulationStatus.CONTINUED, False),
        (Region.CERVICAL, True, AnticoagulationStatus.HELD, True),
        (Region.CERVICAL, True, AnticoagulationStatus.CLEARED, True),
        (Region.CERVICAL, True, AnticoagulationStatus.NOT_ANTICOAGULATED, True),
        (Region.CERVICAL, False, AnticoagulationStatus.HELD, False),
        (Region.LUMBAR, True, AnticoagulationStatus.CONTINUED, True),
        (Region.LUMBAR, False, AnticoagulationStatus.NOT_ANTICOAGULATED, False),
    ],
)
def test_cervical_anticoagulation_must_be_held_or_cleared(
    region: Region, reviewed: bool, status: AnticoagulationStatus, passes: bool
) -> None:
    snapshot = check_in(
        region=region, anticoagulation_reviewed=reviewed, anticoagulation_status=status
    )
    evaluation = evaluate(policy(MEDICARE), Gate.CHECK_IN, snapshot)
    assert_only(evaluation, "check_in.anticoagulation", passes)


@pytest.mark.parametrize("name", [MEDICARE, SINGLE])
@pytest.mark.parametrize(("aldrete", "passes"), [(None, False), (8, False), (9, True), (10, True)])
def test_phase_one_ends_at_aldrete_9_not_8(name: str, aldrete: int | None, passes: bool) -> None:
    evaluation = evaluate(
        policy(name), Gate.END_PHASE_ONE, RecoverySnapshot(latest_aldrete=aldrete)
    )
    assert evaluation.gate is Gate.END_PHASE_ONE
    assert_only(evaluation, "recovery.aldrete", passes)
    assert (
        result(evaluation, "recovery.aldrete").source
        == document(name)["sources"]["recovery.aldrete"]
    )


def recovery(**changes: Any) -> RecoverySnapshot:
    fields: dict[str, Any] = {
        "latest_aldrete": 10,
        "latest_padss": 10,
        "escort_present": True,
        "written_instructions_given": True,
    }
    fields.update(changes)
    return RecoverySnapshot(**fields)


@pytest.mark.parametrize(
    ("changes", "failing"),
    [
        ({"latest_padss": None}, "discharge.padss"),
        ({"latest_padss": 8}, "discharge.padss"),
        ({"latest_padss": 9}, None),
        ({"latest_aldrete": None}, "discharge.aldrete"),
        ({"latest_aldrete": 8}, "discharge.aldrete"),
        ({"latest_aldrete": 9}, None),
        ({"escort_present": False}, "discharge.escort"),
        ({"written_instructions_given": False}, "discharge.instructions"),
        ({}, None),
    ],
)
def test_discharge_needs_padss_9_aldrete_still_9_escort_and_written_instructions(
    changes: dict[str, Any], failing: str | None
) -> None:
    evaluation = evaluate(policy(MEDICARE), Gate.DISCHARGE, recovery(**changes))
    assert evaluation.gate is Gate.DISCHARGE
    assert {r.id for r in evaluation.results} == {
        "discharge.padss",
        "discharge.aldrete",
        "discharge.escort",
        "discharge.instructions",
    }
    assert unmet_ids(evaluation) == ({failing} if failing else set())


@pytest.mark.parametrize("name", [MEDICARE, SINGLE])
def test_discharge_refused_when_the_latest_aldrete_fell_below_the_phase_one_threshold(
    name: str,
) -> None:
    """SPEC §3: a later, lower Aldrete undoes the earlier pass, whatever PADSS says."""
    evaluation = evaluate(policy(name), Gate.DISCHARGE, recovery(latest_aldrete=7))

    refused = result(evaluation, "discharge.aldrete")
    assert unmet_ids(evaluation) == {"discharge.aldrete"}
    assert refused.message == "Aldrete 7 of 10; discharge needs at least 9."
    assert refused.source == document(name)["sources"]["discharge.aldrete"]


def waiving(section: str, item: str) -> Policy:
    """The medicare policy with one yes/no item of a procedure-day section not required."""
    parameters = policy(MEDICARE).parameters
    waived = replace(getattr(parameters, section), **{item: False})
    return replace(policy(MEDICARE), parameters=replace(parameters, **{section: waived}))


@pytest.mark.parametrize(
    ("gate", "snapshot", "rule_id", "section", "item"),
    [
        (
            Gate.CHECK_IN,
            check_in(consent_signed=False),
            "check_in.consent",
            "check_in",
            "consent_required",
        ),
        (
            Gate.DISCHARGE,
            recovery(escort_present=False),
            "discharge.escort",
            "discharge",
            "escort_required",
        ),
        (
            Gate.DISCHARGE,
            recovery(written_instructions_given=False),
            "discharge.instructions",
            "discharge",
            "written_instructions_required",
        ),
    ],
)
def test_an_item_the_policy_does_not_require_passes_saying_so(
    gate: Gate, snapshot: Any, rule_id: str, section: str, item: str
) -> None:
    required = result(evaluate(policy(MEDICARE), gate, snapshot), rule_id)
    assert not required.passed
    waived = result(evaluate(waiving(section, item), gate, snapshot), rule_id)
    assert waived.passed
    assert waived.message.startswith("The policy does not require")


@pytest.mark.parametrize("name", [MEDICARE, SINGLE])
@pytest.mark.parametrize(
    ("days", "passes"), [(13, False), (14, True), (21, True), (28, True), (29, False)]
)
def test_follow_up_window_14_to_28_days_after_the_procedure(
    name: str, days: int, passes: bool
) -> None:
    snapshot = FollowUpSnapshot(procedure_on=ON, follow_up_on=ON + timedelta(days=days))
    evaluation = evaluate(policy(name), Gate.BOOK_FOLLOW_UP, snapshot)
    assert evaluation.gate is Gate.BOOK_FOLLOW_UP
    assert_only(evaluation, "follow_up.window", passes)
    if not passes:
        window = (
            f"{(ON + timedelta(days=14)).isoformat()} to {(ON + timedelta(days=28)).isoformat()}"
        )
        assert window in result(evaluation, "follow_up.window").message
