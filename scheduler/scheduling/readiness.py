"""Is a case ready to start? The daily list's red/amber/green flags (SPEC §5).

A procedure needs, before it starts: established eligibility, signed consent, an escort
and confirmed fasting when sedation is planned, reviewed anticoagulation, and coverage
(or a signed acknowledgment). Before check-in most of these are not known yet; after
it, each of those flags is the verdict of its check-in rule on what was recorded, so a
flag says what the gate said (an item the policy does not require is not held against
the case, an escort needs a phone as well as a name).
Pure module: no Flask, no SQLAlchemy.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from scheduler.pathways.states import ELIGIBLE_OR_LATER, PathwayState

# The flags a procedure needs green before it starts; None means "not known yet".
READINESS_FLAGS: Final = (
    "eligibility",
    "consent",
    "escort",
    "fasting",
    "anticoagulation",
    "coverage",
)
# The check-in rule whose verdict each flag shows once the patient is checked in.
CHECK_IN_RULES: Final = {
    "consent": "check_in.consent",
    "escort": "check_in.escort",
    "fasting": "check_in.fasting",
    "anticoagulation": "check_in.anticoagulation",
}


def readiness(
    *,
    procedure: bool,
    state: PathwayState,
    sedation: bool,
    check_in: Mapping[str, bool] | None,
    covered: bool,
    rebook: str | None = None,
) -> dict[str, Any]:
    """Readiness flags and a red/amber/green summary (procedures; other visits are green).

    ``check_in``: whether each check-in rule passed on what was recorded (rule id ->
    passed), None before check-in. Red: a flag is false, or the case needs a new time
    (``rebook``: why; its clinician will not be there), whatever its kind. Amber: some
    are not known yet (before check-in). Green: all true.
    """
    flags = _flags(
        procedure=procedure, state=state, sedation=sedation, check_in=check_in, covered=covered
    )
    if rebook is not None:
        return flags | {"summary": "red", "rebook": rebook}
    return flags | {"rebook": None}


def _flags(
    *,
    procedure: bool,
    state: PathwayState,
    sedation: bool,
    check_in: Mapping[str, bool] | None,
    covered: bool,
) -> dict[str, Any]:
    if not procedure:
        return {"summary": "green", **dict.fromkeys(READINESS_FLAGS)}
    checked: dict[str, bool | None] = dict.fromkeys(CHECK_IN_RULES)
    if check_in is not None:
        checked = {flag: check_in[rule] for flag, rule in CHECK_IN_RULES.items()}
    elif not sedation:  # escort and fasting are needed only with sedation
        checked |= {"escort": True, "fasting": True}
    known = {"eligibility": state in ELIGIBLE_OR_LATER, "coverage": covered, **checked}
    flags = {flag: known[flag] for flag in READINESS_FLAGS}
    values = list(flags.values())
    summary = "red" if False in values else "amber" if None in values else "green"
    return {"summary": summary, **flags}
