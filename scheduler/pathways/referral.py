"""A referral as the referring clinician sends it, and whether it fits the policy.

``POST /pathways`` loads into a :class:`Referral`; ``create_pathway`` checks it with
:func:`referral_target` before anything is written, and every problem is named at once.
Pure module: no Flask, no SQLAlchemy.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from scheduler.errors import InvalidInput
from scheduler.policies.parameters import IndicationTarget, PolicyParameters
from scheduler.vocabulary import Indication, Method, Region, Side, TargetNerve, level_problem


@dataclass(frozen=True)
class Referral:
    """Who is referred, where, and what is to be treated. ``policy`` None: the default
    policy; ``target_nerve`` None: the nerves the policy treats for the indication."""

    patient_id: int
    clinician_id: int
    site_id: int
    indication: Indication
    region: Region
    side: Side
    levels: list[str]
    pain_onset_date: date
    policy: str | None = None
    method: Method = Method.RFA
    target_nerve: TargetNerve | None = None
    sedation: bool = True


def referral_target(
    policy_name: str, parameters: PolicyParameters, referral: Referral, today: date
) -> IndicationTarget:
    """The nerves the policy treats for the referral's indication, once the referral fits
    the policy: each level real and in the region, listed once, the region one the
    indication allows, the pain's onset not after ``today``. Raises :class:`InvalidInput`
    naming every problem."""
    levels, region, indication = referral.levels, referral.region, referral.indication
    errors: dict[str, list[str]] = {}
    level_errors = [p for p in (level_problem(level, region) for level in levels) if p]
    if level_errors:
        errors["levels"] = [problem + "." for problem in level_errors]
    elif len(set(levels)) != len(levels):
        errors["levels"] = ["List each level once."]
    target = parameters.indications.get(indication)
    if target is None:
        errors["indication"] = [f"The {policy_name} policy does not cover this indication."]
    elif region not in target.regions:
        allowed = ", ".join(sorted(r.value for r in target.regions))
        errors["region"] = [f"For {indication.value} the region must be one of: {allowed}."]
    if referral.pain_onset_date > today:
        errors["pain_onset_date"] = ["Must not be in the future."]
    if errors:
        raise InvalidInput(errors)
    assert target is not None  # noqa: S101 (checked above)
    return target
