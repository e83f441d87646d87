"""Is a case ready to start? The daily list's red/amber/green flags (SPEC §5).

A procedure needs, before it starts: established eligibility, signed consent, an escort
and confirmed fasting when sedation is planned, reviewed anticoagulation, and coverage
(or a signed acknowledgment). Before check-in most of these are not known yet.
Pure module: no Flask, no SQLAlchemy.
"""

from __future__ import annotations

from typing import Any, Final, Protocol

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


class CheckedIn(Protocol):
    """What the check-in recorded (a ``CheckIn`` row, or anything shaped like it)."""

    consent_signed: bool
    escort_name: str | None
    fasting_confirmed: bool
    anticoagulation_reviewed: bool


def readiness(
    *,
    procedure: bool,
    state: PathwayState,
    sedation: bool,
    check_in: CheckedIn | None,
    covered: bool,
) -> dict[str, Any]:
    """Readiness flags and a red/amber/green summary (procedures; other visits are green).

    Red: a flag is false. Amber: some are not known yet (before check-in). Green: all true.
    """
    if not procedure:
        return {"summary": "green", **dict.fromkeys(READINESS_FLAGS)}
    escort: bool | None = True  # needed only with sedation
    fasting: bool | None = True
    if sedation:
        escort = None if check_in is None else check_in.escort_name is not None
        fasting = None if check_in is None else check_in.fasting_confirmed
    flags = {
        "eligibility": state in ELIGIBLE_OR_LATER,
        "consent": None if check_in is None else check_in.consent_signed,
        "escort": escort,
        "fasting": fasting,
        "anticoagulation": None if check_in is None else check_in.anticoagulation_reviewed,
        "coverage": covered,
    }
    values = list(flags.values())
    summary = "red" if False in values else "amber" if None in values else "green"
    return {"summary": summary, **flags}
