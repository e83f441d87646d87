"""Prerequisite rules as policy (SPEC §3): versioned parameters, evaluated on snapshots.

A policy is data: every threshold, list and source text comes from its document
(:mod:`scheduler.pathways.policy_document` parses one). The rules below are the fixed
vocabulary a document parameterises; each returns a :class:`RuleResult` with the rule's
id, whether it passed, a message a scheduler can act on, and the source the policy
cites. Rules read only a frozen snapshot, so evaluation is repeatable and testable
without a database.

Each rule belongs to the gate of one step of the pathway (booking a block, booking the
procedure, check-in, end of recovery phase I, discharge, booking the follow-up);
``evaluate(policy, gate, snapshot)`` runs that gate's rules in order.
Pure module: no Flask, no SQLAlchemy.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Final

from scheduler.errors import PrerequisitesUnmet, UnmetRule
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

# ---------------------------------------------------------------------------------------
# Parameters (one dataclass per section of the policy document)


@dataclass(frozen=True)
class IndicationTarget:
    target_nerve: TargetNerve
    regions: frozenset[Region]


@dataclass(frozen=True)
class PainDurationParams:
    min_days: int


@dataclass(frozen=True)
class ConservativeCareParams:
    min_days: int
    success_outcomes: frozenset[TreatmentOutcome]


@dataclass(frozen=True)
class DiagnosticBlockParams:
    required: int
    min_relief_percent: float
    min_interval_days: int
    max_sessions_per_region: int
    window_days: int


@dataclass(frozen=True)
class LevelParams:
    max_per_session: int


@dataclass(frozen=True)
class NeurotomyParams:
    max_sessions_per_region: int
    window_days: int
    repeat_min_days: int
    repeat_min_prior_relief_percent: float


@dataclass(frozen=True)
class CoverageParams:
    not_covered_indications: frozenset[Indication]
    not_covered_methods: frozenset[Method]
    acknowledgment_kinds: frozenset[AcknowledgmentKind]


@dataclass(frozen=True)
class FastingHours:
    clear_fluids: int
    light_meal: int
    heavy_meal: int


@dataclass(frozen=True)
class CheckInParams:
    consent_required: bool
    escort_required_with_sedation: bool
    fasting_hours: FastingHours
    anticoagulation_review_required: bool
    anticoagulation_hold_regions: frozenset[Region]
    arrival_minutes_before: int


@dataclass(frozen=True)
class RecoveryParams:
    min_aldrete: int


@dataclass(frozen=True)
class DischargeParams:
    min_padss: int
    escort_required: bool
    written_instructions_required: bool


@dataclass(frozen=True)
class FollowUpParams:
    min_days: int
    max_days: int


@dataclass(frozen=True)
class PolicyParameters:
    indications: Mapping[Indication, IndicationTarget]
    pain_duration: PainDurationParams
    conservative_care: ConservativeCareParams
    diagnostic_blocks: DiagnosticBlockParams
    levels: LevelParams
    neurotomy: NeurotomyParams
    coverage: CoverageParams
    check_in: CheckInParams
    recovery: RecoveryParams
    discharge: DischargeParams
    follow_up: FollowUpParams
    sources: Mapping[str, str]


@dataclass(frozen=True)
class Policy:
    name: str
    version: int
    parameters: PolicyParameters


# ---------------------------------------------------------------------------------------
# Snapshots: what the rules may look at, frozen at evaluation time


@dataclass(frozen=True)
class Treatment:
    kind: TreatmentKind
    start: date
    end: date | None
    outcome: TreatmentOutcome | None


@dataclass(frozen=True)
class Block:
    """A diagnostic block of this pathway; ``relief_percent`` is None until resulted."""

    on: date
    side: Side
    levels: tuple[str, ...]
    relief_percent: float | None = None


@dataclass(frozen=True)
class Neurotomy:
    """Another neurotomy session of the same patient (done or booked)."""

    on: date
    region: Region
    side: Side
    relief_percent: float | None = None


@dataclass(frozen=True)
class PathwaySnapshot:
    """A pathway as the booking gates see it, for a step on date ``on`` (site-local)."""

    on: date
    indication: Indication
    region: Region
    side: Side
    levels: tuple[str, ...]
    target_nerve: TargetNerve
    method: Method
    pain_onset: date
    treatments: tuple[Treatment, ...] = ()
    blocks: tuple[Block, ...] = ()
    other_block_sessions: tuple[date, ...] = ()
    other_neurotomies: tuple[Neurotomy, ...] = ()
    acknowledgments: frozenset[AcknowledgmentKind] = frozenset()


@dataclass(frozen=True)
class CheckInSnapshot:
    region: Region
    sedation: bool
    procedure_start: datetime
    consent_signed: bool
    escort_name: str | None
    escort_phone: str | None
    fasting_confirmed: bool
    last_clear_fluids_at: datetime | None
    last_light_meal_at: datetime | None
    last_heavy_meal_at: datetime | None
    anticoagulation_reviewed: bool
    anticoagulation_status: AnticoagulationStatus | None


@dataclass(frozen=True)
class RecoverySnapshot:
    latest_aldrete: int | None
    latest_padss: int | None = None
    escort_present: bool = False
    written_instructions_given: bool = False


@dataclass(frozen=True)
class FollowUpSnapshot:
    procedure_on: date
    follow_up_on: date


# ---------------------------------------------------------------------------------------
# Results


@dataclass(frozen=True)
class RuleResult:
    id: str
    passed: bool
    message: str
    source: str


@dataclass(frozen=True)
class Evaluation:
    gate: Gate
    results: tuple[RuleResult, ...]

    @property
    def passed(self) -> bool:
        return all(result.passed for result in self.results)

    @property
    def unmet(self) -> tuple[RuleResult, ...]:
        return tuple(result for result in self.results if not result.passed)

    def require(self) -> None:
        """Raise PrerequisitesUnmet (422 with ``unmet``) unless every rule passed."""
        if not self.passed:
            raise PrerequisitesUnmet(
                GATE_ACTIONS[self.gate], [UnmetRule(r.id, r.message) for r in self.unmet]
            )


class Gate(StrEnum):
    BOOK_BLOCK = "book_block"
    BOOK_PROCEDURE = "book_procedure"
    CHECK_IN = "check_in"
    END_PHASE_ONE = "end_phase_one"
    DISCHARGE = "discharge"
    BOOK_FOLLOW_UP = "book_follow_up"
    START_PROCEDURE = "start_procedure"


GATE_ACTIONS: Final = {
    Gate.BOOK_BLOCK: "book the diagnostic block",
    Gate.BOOK_PROCEDURE: "book the procedure",
    Gate.CHECK_IN: "check the patient in",
    Gate.END_PHASE_ONE: "end recovery phase I",
    Gate.DISCHARGE: "discharge the patient",
    Gate.BOOK_FOLLOW_UP: "book the follow-up",
    Gate.START_PROCEDURE: "start the procedure with this method",
}

# ---------------------------------------------------------------------------------------
# Helpers


def relief_percent(pre_pain: float, post_pain: float) -> float:
    """Percent pain relief from a 0-10 score before and after (negative if worse)."""
    if pre_pain <= 0:
        raise ValueError("pre-block pain must be above 0 to compute relief")
    return round((pre_pain - post_pain) / pre_pain * 100, 1)


def _fmt(value: float) -> str:
    return f"{value:g}"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


def max_in_rolling_window(dates: Iterable[date], on: date, window_days: int) -> int:
    """Most sessions in any ``window_days``-long window that contains ``on`` (counted).

    "N per rolling 12 months" must hold for every window a new session falls in, not
    only the one ending on its date (a booked session later in the year counts too).
    """
    others = sorted(dates)
    earliest = on - timedelta(days=window_days - 1)
    # The busiest window either starts at an earlier session it keeps, or at ``on``
    # itself and reaches as far as it can into sessions booked later.
    starts = {earliest, on} | {d for d in others if earliest <= d <= on}
    best = 0
    for start in starts:
        end = start + timedelta(days=window_days)
        best = max(best, 1 + sum(1 for d in others if start <= d < end))
    return best


def is_positive(block: Block, params: DiagnosticBlockParams) -> bool:
    return block.relief_percent is not None and block.relief_percent >= params.min_relief_percent


def current_run(blocks: Iterable[Block], params: DiagnosticBlockParams) -> list[Block]:
    """The blocks since the last negative one: a negative block restarts the count."""
    run: list[Block] = []
    for block in blocks:
        run.append(block)
        if block.relief_percent is not None and not is_positive(block, params):
            run = []
    return run


# ---------------------------------------------------------------------------------------
# Rules

Rule = Callable[[PolicyParameters, PathwaySnapshot], tuple[bool, str]]


def indication_target(p: PolicyParameters, s: PathwaySnapshot) -> tuple[bool, str]:
    target = p.indications.get(s.indication)
    if target is None:
        return False, f"This policy does not cover {s.indication.value.replace('_', ' ')}."
    problems = []
    if s.target_nerve is not target.target_nerve:
        problems.append(
            f"{s.indication.value.replace('_', ' ')} is treated at the "
            f"{target.target_nerve.value.replace('_', ' ')} nerves, not the "
            f"{s.target_nerve.value.replace('_', ' ')} nerves"
        )
    if s.region not in target.regions:
        regions = ", ".join(sorted(r.value for r in target.regions))
        problems.append(f"the {s.region.value} region is not one of {regions}")
    if problems:
        return False, "Indication and target do not match: " + "; ".join(problems) + "."
    return True, (
        f"{s.indication.value.replace('_', ' ').capitalize()} -> "
        f"{target.target_nerve.value.replace('_', ' ')} nerves in the {s.region.value} region."
    )


def pain_duration(p: PolicyParameters, s: PathwaySnapshot) -> tuple[bool, str]:
    need = p.pain_duration.min_days
    days = (s.on - s.pain_onset).days
    if days >= need:
        return True, f"Pain for {days} days by {s.on.isoformat()} (at least {need} needed)."
    met_from = s.pain_onset + timedelta(days=need)
    return False, (
        f"Pain for {days} days by {s.on.isoformat()}; the policy needs at least {need} "
        f"(met from {met_from.isoformat()})."
    )


def _documented_days(treatments: Iterable[Treatment], on: date) -> int:
    """Days covered by conservative care up to ``on``, overlapping courses counted once."""
    spans = sorted((t.start, min(t.end or on, on)) for t in treatments if t.start <= on)
    total = 0
    current_start: date | None = None
    current_end: date | None = None
    for start, end in spans:
        if current_end is not None and start <= current_end + timedelta(days=1):
            current_end = max(current_end, end)
            continue
        if current_start is not None and current_end is not None:
            total += (current_end - current_start).days + 1
        current_start, current_end = start, end
    if current_start is not None and current_end is not None:
        total += (current_end - current_start).days + 1
    return total


def conservative_care(p: PolicyParameters, s: PathwaySnapshot) -> tuple[bool, str]:
    params = p.conservative_care
    resolved = [t for t in s.treatments if t.outcome in params.success_outcomes]
    if resolved:
        kinds = ", ".join(sorted({t.kind.value.replace("_", " ") for t in resolved}))
        return False, (
            f"Conservative care ({kinds}) is recorded as resolving the pain; "
            "the policy needs failed conservative care."
        )
    days = _documented_days(s.treatments, s.on)
    if days >= params.min_days:
        return True, f"{days} days of conservative care documented (at least {params.min_days})."
    return False, (
        f"{days} days of conservative care documented; the policy needs at least {params.min_days}."
    )


def _matching_positive(p: PolicyParameters, s: PathwaySnapshot) -> tuple[list[Block], list[str]]:
    """Positive blocks of the current run that match the plan, and why others do not."""
    params = p.diagnostic_blocks
    counted: list[Block] = []
    notes: list[str] = []
    for block in current_run((b for b in s.blocks if b.relief_percent is not None), params):
        if not is_positive(block, params):
            continue
        if block.side is not s.side or set(block.levels) != set(s.levels):
            notes.append(
                f"the block on {block.on.isoformat()} was not at the planned side and levels"
            )
            continue
        counted.append(block)
    return counted, notes


def diagnostic_blocks(p: PolicyParameters, s: PathwaySnapshot) -> tuple[bool, str]:
    params = p.diagnostic_blocks
    resulted = [(b, b.relief_percent) for b in s.blocks if b.relief_percent is not None]
    last, last_relief = resulted[-1] if resulted else (None, None)
    if last is not None and last_relief is not None and not is_positive(last, params):
        return False, (
            f"The last diagnostic block ({last.on.isoformat()}) gave "
            f"{_fmt(last_relief)}% relief; the policy needs at least "
            f"{_fmt(params.min_relief_percent)}%."
        )
    counted, notes = _matching_positive(p, s)
    have, need = len(counted), params.required
    suffix = (" (" + "; ".join(notes) + ")") if notes else ""
    if have >= need:
        reliefs = ", ".join(f"{_fmt(b.relief_percent or 0)}%" for b in counted[-need:])
        return True, f"{_plural(have, 'positive diagnostic block')} ({reliefs}){suffix}."
    return False, (
        f"{_plural(have, 'positive diagnostic block')} of the {need} needed, each with at "
        f"least {_fmt(params.min_relief_percent)}% relief at the planned side and levels"
        f"{suffix}."
    )


def block_interval(p: PolicyParameters, s: PathwaySnapshot) -> tuple[bool, str]:
    """Consecutive blocks of the current run are at least the minimum interval apart.

    At procedure booking the run is the counted positive blocks; at block booking the
    snapshot's blocks end with the one being booked (relief None).
    """
    need = p.diagnostic_blocks.min_interval_days
    run = current_run(s.blocks, p.diagnostic_blocks)
    for earlier, later in itertools.pairwise(run):
        gap = (later.on - earlier.on).days
        if gap < need:
            return False, (
                f"Diagnostic blocks on {earlier.on.isoformat()} and {later.on.isoformat()} "
                f"are {gap} days apart; the policy needs at least {need} "
                f"(earliest {(earlier.on + timedelta(days=need)).isoformat()})."
            )
    if len(run) < 2:
        return True, "No second block to space yet."
    return True, f"Diagnostic blocks are at least {need} days apart."


def block_sessions(p: PolicyParameters, s: PathwaySnapshot) -> tuple[bool, str]:
    params = p.diagnostic_blocks
    count = max_in_rolling_window(s.other_block_sessions, s.on, params.window_days)
    if count <= params.max_sessions_per_region:
        return True, (
            f"Block session {count} of at most {params.max_sessions_per_region} in the "
            f"{s.region.value} region within {params.window_days} days."
        )
    return False, (
        f"This would be diagnostic block session {count} in the {s.region.value} region "
        f"within {params.window_days} days; the policy allows "
        f"{params.max_sessions_per_region}."
    )


def levels_per_session(p: PolicyParameters, s: PathwaySnapshot) -> tuple[bool, str]:
    most = p.levels.max_per_session
    count = len(s.levels)
    if count <= most:
        return True, f"{_plural(count, 'spinal level')} per session (at most {most})."
    return False, f"{_plural(count, 'spinal level')} planned; the policy allows {most} per session."


def neurotomy_sessions(p: PolicyParameters, s: PathwaySnapshot) -> tuple[bool, str]:
    params = p.neurotomy
    same_region = [n.on for n in s.other_neurotomies if n.region is s.region]
    count = max_in_rolling_window(same_region, s.on, params.window_days)
    if count <= params.max_sessions_per_region:
        return True, (
            f"Neurotomy session {count} of at most {params.max_sessions_per_region} in the "
            f"{s.region.value} region within {params.window_days} days."
        )
    return False, (
        f"This would be neurotomy session {count} in the {s.region.value} region within "
        f"{params.window_days} days; the policy allows {params.max_sessions_per_region}."
    )


def repeat_neurotomy(p: PolicyParameters, s: PathwaySnapshot) -> tuple[bool, str]:
    params = p.neurotomy
    same_site = [n for n in s.other_neurotomies if n.region is s.region and n.side.overlaps(s.side)]
    if not same_site:
        return True, "No earlier neurotomy of this region and side."
    too_close = [n for n in same_site if abs((s.on - n.on).days) < params.repeat_min_days]
    if too_close:
        nearest = min(too_close, key=lambda n: abs((s.on - n.on).days))
        return False, (
            f"A neurotomy of the same region and side on {nearest.on.isoformat()} is "
            f"{abs((s.on - nearest.on).days)} days away; the policy needs at least "
            f"{params.repeat_min_days} (earliest "
            f"{(nearest.on + timedelta(days=params.repeat_min_days)).isoformat()})."
        )
    earlier = [n for n in same_site if n.on < s.on]
    if not earlier:
        return True, "No earlier neurotomy of this region and side."
    last = max(earlier, key=lambda n: n.on)
    if last.relief_percent is None:
        return False, (
            f"Relief after the last neurotomy of this region and side "
            f"({last.on.isoformat()}) is not documented; the policy needs at least "
            f"{_fmt(params.repeat_min_prior_relief_percent)}%."
        )
    if last.relief_percent < params.repeat_min_prior_relief_percent:
        return False, (
            f"The last neurotomy of this region and side ({last.on.isoformat()}) gave "
            f"{_fmt(last.relief_percent)}% relief; a repeat needs at least "
            f"{_fmt(params.repeat_min_prior_relief_percent)}%."
        )
    return True, (
        f"Last neurotomy of this region and side on {last.on.isoformat()} gave "
        f"{_fmt(last.relief_percent)}% relief, {(s.on - last.on).days} days earlier."
    )


def coverage_satisfied(
    params: CoverageParams,
    indication: Indication,
    method: Method,
    acknowledgments: frozenset[AcknowledgmentKind],
) -> bool:
    """Covered, or not covered but acknowledged (the rule below, without its message)."""
    needed = indication in params.not_covered_indications or method in params.not_covered_methods
    return not needed or bool(acknowledgments & params.acknowledgment_kinds)


def coverage(p: PolicyParameters, s: PathwaySnapshot) -> tuple[bool, str]:
    params = p.coverage
    reasons = []
    if s.indication in params.not_covered_indications:
        reasons.append(f"{s.target_nerve.value.replace('_', ' ')} ablation for this indication")
    if s.method in params.not_covered_methods:
        reasons.append(f"{s.method.value} ablation")
    if not reasons:
        return True, f"{s.method.value.upper()} ablation for this indication is covered."
    what = " and ".join(reasons)
    acknowledged = sorted(k.value for k in s.acknowledgments & params.acknowledgment_kinds)
    if acknowledged:
        return True, f"Not covered ({what}); acknowledged by {', '.join(acknowledged)}."
    kinds = " or ".join(sorted(k.value for k in params.acknowledgment_kinds))
    return False, (f"Not covered ({what}): booking needs a recorded {kinds} acknowledgment.")


PATHWAY_RULES: Final[dict[str, Rule]] = {
    "indication_target": indication_target,
    "pain_duration": pain_duration,
    "conservative_care": conservative_care,
    "diagnostic_blocks": diagnostic_blocks,
    "block_interval": block_interval,
    "block_sessions": block_sessions,
    "levels_per_session": levels_per_session,
    "neurotomy_sessions": neurotomy_sessions,
    "repeat_neurotomy": repeat_neurotomy,
    "coverage": coverage,
}

GATE_RULES: Final[dict[Gate, tuple[str, ...]]] = {
    Gate.BOOK_BLOCK: (
        "indication_target",
        "levels_per_session",
        "block_interval",
        "block_sessions",
    ),
    Gate.BOOK_PROCEDURE: (
        "indication_target",
        "pain_duration",
        "conservative_care",
        "diagnostic_blocks",
        "block_interval",
        "levels_per_session",
        "neurotomy_sessions",
        "repeat_neurotomy",
        "coverage",
    ),
    # A method changed on the day must still be covered (or acknowledged).
    Gate.START_PROCEDURE: ("coverage",),
}


def _run(policy: Policy, rule_id: str, outcome: tuple[bool, str]) -> RuleResult:
    passed, message = outcome
    return RuleResult(rule_id, passed, message, policy.parameters.sources[rule_id])


def evaluate_pathway(policy: Policy, gate: Gate, snapshot: PathwaySnapshot) -> Evaluation:
    """Run the rules of a booking gate (block or procedure) against a pathway snapshot."""
    rules = GATE_RULES[gate]
    return Evaluation(
        gate,
        tuple(_run(policy, rid, PATHWAY_RULES[rid](policy.parameters, snapshot)) for rid in rules),
    )


def eligibility(policy: Policy, snapshot: PathwaySnapshot) -> Evaluation:
    """Every prerequisite of booking the procedure (GET .../eligibility)."""
    return evaluate_pathway(policy, Gate.BOOK_PROCEDURE, snapshot)


class BlockOutcome(StrEnum):
    POSITIVE = "positive"  # enough positive blocks: the patient is a candidate
    POSITIVE_MORE_NEEDED = "positive_more_needed"
    NEGATIVE = "negative"


def block_outcome(policy: Policy, snapshot: PathwaySnapshot) -> BlockOutcome:
    """What the latest block result (last of ``snapshot.blocks``) means for the pathway."""
    params = policy.parameters.diagnostic_blocks
    latest = snapshot.blocks[-1]
    if not is_positive(latest, params):
        return BlockOutcome.NEGATIVE
    counted, _notes = _matching_positive(policy.parameters, snapshot)
    if len(counted) >= params.required:
        return BlockOutcome.POSITIVE
    return BlockOutcome.POSITIVE_MORE_NEEDED


# ---------------------------------------------------------------------------------------
# Procedure-day gates


def evaluate_check_in(policy: Policy, s: CheckInSnapshot) -> Evaluation:
    params = policy.parameters.check_in
    results: list[tuple[str, tuple[bool, str]]] = []

    if not params.consent_required or s.consent_signed:
        results.append(("check_in.consent", (True, "Consent signed.")))
    else:
        results.append(("check_in.consent", (False, "Consent is not signed.")))

    if not (s.sedation and params.escort_required_with_sedation):
        results.append(("check_in.escort", (True, "No sedation planned: no escort needed.")))
    elif s.escort_name and s.escort_phone:
        results.append(("check_in.escort", (True, "Escort named with a phone number.")))
    else:
        results.append(
            (
                "check_in.escort",
                (False, "Sedation is planned: name the responsible adult escort and their phone."),
            )
        )

    results.append(("check_in.fasting", _fasting(params.fasting_hours, s)))

    if not params.anticoagulation_review_required:
        results.append(("check_in.anticoagulation", (True, "No review required.")))
    elif not s.anticoagulation_reviewed:
        results.append(("check_in.anticoagulation", (False, "Anticoagulation is not reviewed.")))
    elif s.region in params.anticoagulation_hold_regions and s.anticoagulation_status not in {
        AnticoagulationStatus.NOT_ANTICOAGULATED,
        AnticoagulationStatus.HELD,
        AnticoagulationStatus.CLEARED,
    }:
        results.append(
            (
                "check_in.anticoagulation",
                (
                    False,
                    f"{s.region.value.capitalize()} procedures carry intermediate bleeding "
                    "risk: anticoagulants must be held or cleared by the prescriber.",
                ),
            )
        )
    else:
        results.append(("check_in.anticoagulation", (True, "Anticoagulation reviewed.")))

    return Evaluation(Gate.CHECK_IN, tuple(_run(policy, rid, out) for rid, out in results))


def _fasting(hours: FastingHours, s: CheckInSnapshot) -> tuple[bool, str]:
    if not s.sedation:
        return True, "No sedation planned: no fasting needed."
    if not s.fasting_confirmed:
        return False, "Fasting is not confirmed."
    late = []
    for label, at, need in (
        ("clear fluids", s.last_clear_fluids_at, hours.clear_fluids),
        ("a light meal", s.last_light_meal_at, hours.light_meal),
        ("a heavy meal", s.last_heavy_meal_at, hours.heavy_meal),
    ):
        if at is not None and s.procedure_start - at < timedelta(hours=need):
            late.append(f"{label} less than {need} h before the procedure")
    if late:
        return False, "Fasting is too short: " + "; ".join(late) + "."
    return True, (
        f"Fasting confirmed (clear fluids {hours.clear_fluids} h, light meal "
        f"{hours.light_meal} h, heavy meal {hours.heavy_meal} h)."
    )


def evaluate_end_of_phase_one(policy: Policy, s: RecoverySnapshot) -> Evaluation:
    """Phase I recovery ends at a modified Aldrete score of at least the minimum."""
    need = policy.parameters.recovery.min_aldrete
    if s.latest_aldrete is None:
        outcome = (False, f"No Aldrete score recorded yet (phase I ends at {need} of 10).")
    elif s.latest_aldrete >= need:
        outcome = (True, f"Aldrete {s.latest_aldrete} of 10 (at least {need}).")
    else:
        outcome = (False, f"Aldrete {s.latest_aldrete} of 10; phase I ends at {need}.")
    return Evaluation(Gate.END_PHASE_ONE, (_run(policy, "recovery.aldrete", outcome),))


def evaluate_discharge(policy: Policy, s: RecoverySnapshot) -> Evaluation:
    params = policy.parameters.discharge
    need = params.min_padss
    if s.latest_padss is None:
        padss = (False, f"No PADSS score recorded yet (discharge at {need} of 10).")
    elif s.latest_padss >= need:
        padss = (True, f"PADSS {s.latest_padss} of 10 (at least {need}).")
    else:
        padss = (False, f"PADSS {s.latest_padss} of 10; discharge needs at least {need}.")
    if not params.escort_required or s.escort_present:
        escort = (True, "Escort present.")
    else:
        escort = (False, "A responsible adult escort must be present to take the patient home.")
    if not params.written_instructions_required or s.written_instructions_given:
        instructions = (True, "Written discharge instructions given.")
    else:
        instructions = (False, "Written discharge instructions have not been given.")
    return Evaluation(
        Gate.DISCHARGE,
        (
            _run(policy, "discharge.padss", padss),
            _run(policy, "discharge.escort", escort),
            _run(policy, "discharge.instructions", instructions),
        ),
    )


def evaluate_follow_up(policy: Policy, s: FollowUpSnapshot) -> Evaluation:
    params = policy.parameters.follow_up
    days = (s.follow_up_on - s.procedure_on).days
    if params.min_days <= days <= params.max_days:
        outcome = (True, f"Follow-up {days} days after the procedure.")
    else:
        first = s.procedure_on + timedelta(days=params.min_days)
        last = s.procedure_on + timedelta(days=params.max_days)
        outcome = (
            False,
            f"Follow-up {days} days after the procedure; the policy needs "
            f"{params.min_days}-{params.max_days} days ({first.isoformat()} to "
            f"{last.isoformat()}).",
        )
    return Evaluation(Gate.BOOK_FOLLOW_UP, (_run(policy, "follow_up.window", outcome),))


RULE_IDS: Final = (
    *PATHWAY_RULES,
    "check_in.consent",
    "check_in.escort",
    "check_in.fasting",
    "check_in.anticoagulation",
    "recovery.aldrete",
    "discharge.padss",
    "discharge.escort",
    "discharge.instructions",
    "follow_up.window",
)
