"""The booking rules (SPEC §3): what must hold before a block or the procedure is booked.

Each rule reads a :class:`PathwaySnapshot` (the pathway with its blocks, treatments,
acknowledgments, and the patient's other sessions in the region) and the policy's
parameters, and says whether it holds and why, with dates and numbers a scheduler can
act on. ``rules.GATES`` says which of them guard which booking.
Pure module: no Flask, no SQLAlchemy.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from scheduler.policies.evaluation import rule
from scheduler.policies.parameters import (
    CoverageParams,
    DiagnosticBlockParams,
    Policy,
    PolicyParameters,
)
from scheduler.vocabulary import (
    AcknowledgmentKind,
    Indication,
    Method,
    Region,
    Side,
    TargetNerve,
    TreatmentKind,
    TreatmentOutcome,
)

# ---------------------------------------------------------------------------------------
# What the booking rules may look at, frozen at evaluation time


@dataclass(frozen=True)
class Treatment:
    """A course of conservative care (``end_date`` None: ongoing; ``outcome`` None: not
    known yet), as recorded on the pathway and as the rules read it."""

    kind: TreatmentKind
    start_date: date
    end_date: date | None = None
    outcome: TreatmentOutcome | None = None


@dataclass(frozen=True)
class BlockReading:
    """What a diagnostic block did: pain (0-10) before and after, how long relief lasted."""

    pre_block_pain: int
    post_block_pain: int
    relief_duration_hours: float

    @property
    def relief_percent(self) -> float:
        return relief_percent(self.pre_block_pain, self.post_block_pain)


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


@rule("indication_target")
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


@rule("pain_duration")
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
    spans = sorted(
        (t.start_date, min(t.end_date or on, on)) for t in treatments if t.start_date <= on
    )
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


@rule("conservative_care")
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


@rule("diagnostic_blocks")
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


@rule("block_interval")
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


@rule("block_sessions")
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


@rule("levels_per_session")
def levels_per_session(p: PolicyParameters, s: PathwaySnapshot) -> tuple[bool, str]:
    most = p.levels.max_per_session
    count = len(s.levels)
    if count <= most:
        return True, f"{_plural(count, 'spinal level')} per session (at most {most})."
    return False, f"{_plural(count, 'spinal level')} planned; the policy allows {most} per session."


@rule("neurotomy_sessions")
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


@rule("repeat_neurotomy")
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


@rule("coverage")
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


# ---------------------------------------------------------------------------------------
# What a block result means for the pathway


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
