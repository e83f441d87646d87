"""The procedure day's rules (SPEC §3): check-in, end of recovery phase I, discharge, and
the follow-up window.

Check-in follows ASA sedation and fasting guidance and ASRA/ESRA for anticoagulants;
recovery uses the modified Aldrete score (phase I) and Chung's PADSS (home readiness).
Each rule reads a frozen snapshot of what the nurse recorded.
Pure module: no Flask, no SQLAlchemy.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta
from typing import Any

from scheduler.policies.evaluation import rule
from scheduler.policies.parameters import PolicyParameters
from scheduler.vocabulary import AnticoagulationStatus, Region

# Anticoagulation states that make a procedure in a hold region safe to start.
SAFE_ANTICOAGULATION = frozenset(
    {
        AnticoagulationStatus.NOT_ANTICOAGULATED,
        AnticoagulationStatus.HELD,
        AnticoagulationStatus.CLEARED,
    }
)


@dataclass(frozen=True, kw_only=True)
class CheckInAnswers:
    """What the nurse confirms at check-in: the form, the record, and what the rules read."""

    consent_signed: bool
    fasting_confirmed: bool
    anticoagulation_reviewed: bool
    escort_name: str | None = None
    escort_phone: str | None = None
    last_clear_fluids_at: datetime | None = None
    last_light_meal_at: datetime | None = None
    last_heavy_meal_at: datetime | None = None
    anticoagulation_status: AnticoagulationStatus | None = None

    @classmethod
    def recorded(cls, record: Any) -> CheckInAnswers:
        """The answers a check-in record holds (any object with these attributes)."""
        return cls(**{each.name: getattr(record, each.name) for each in fields(cls)})


@dataclass(frozen=True, kw_only=True)
class CheckInSnapshot(CheckInAnswers):
    """The answers, and the procedure they are for."""

    region: Region
    sedation: bool
    procedure_start: datetime

    @classmethod
    def of(
        cls, answers: CheckInAnswers, *, region: Region, sedation: bool, procedure_start: datetime
    ) -> CheckInSnapshot:
        return cls(
            region=region, sedation=sedation, procedure_start=procedure_start, **vars(answers)
        )


@dataclass(frozen=True)
class RecoverySnapshot:
    """The latest score of each scale, and what the nurse confirms at discharge."""

    latest_aldrete: int | None
    latest_padss: int | None = None
    escort_present: bool = False
    written_instructions_given: bool = False


@dataclass(frozen=True)
class FollowUpSnapshot:
    procedure_on: date
    follow_up_on: date


# ---------------------------------------------------------------------------------------
# Check-in


def _required(required: bool, done: bool, said: tuple[str, str, str]) -> tuple[bool, str]:
    """A yes/no item the policy may require; ``said``: when done, missing, not required."""
    done_says, missing, waived = said
    if done:
        return True, done_says
    return (True, waived) if not required else (False, missing)


@rule("check_in.consent")
def consent(p: PolicyParameters, s: CheckInSnapshot) -> tuple[bool, str]:
    said = ("Consent signed.", "Consent is not signed.", "The policy does not require consent.")
    return _required(p.check_in.consent_required, s.consent_signed, said)


@rule("check_in.escort")
def escort(p: PolicyParameters, s: CheckInSnapshot) -> tuple[bool, str]:
    if not (s.sedation and p.check_in.escort_required_with_sedation):
        return True, "No sedation planned: no escort needed."
    if s.escort_name and s.escort_phone:
        return True, "Escort named with a phone number."
    return False, "Sedation is planned: name the responsible adult escort and their phone."


@rule("check_in.fasting")
def fasting(p: PolicyParameters, s: CheckInSnapshot) -> tuple[bool, str]:
    hours = p.check_in.fasting_hours
    if not s.sedation:
        return True, "No sedation planned: no fasting needed."
    if not s.fasting_confirmed:
        return False, "Fasting is not confirmed."
    late = [
        f"{label} less than {need} h before the procedure"
        for label, at, need in (
            ("clear fluids", s.last_clear_fluids_at, hours.clear_fluids),
            ("a light meal", s.last_light_meal_at, hours.light_meal),
            ("a heavy meal", s.last_heavy_meal_at, hours.heavy_meal),
        )
        if at is not None and s.procedure_start - at < timedelta(hours=need)
    ]
    if late:
        return False, "Fasting is too short: " + "; ".join(late) + "."
    return True, (
        f"Fasting confirmed (clear fluids {hours.clear_fluids} h, light meal "
        f"{hours.light_meal} h, heavy meal {hours.heavy_meal} h)."
    )


@rule("check_in.anticoagulation")
def anticoagulation(p: PolicyParameters, s: CheckInSnapshot) -> tuple[bool, str]:
    params = p.check_in
    if not params.anticoagulation_review_required:
        return True, "No review required."
    if not s.anticoagulation_reviewed:
        return False, "Anticoagulation is not reviewed."
    if (
        s.region in params.anticoagulation_hold_regions
        and s.anticoagulation_status not in SAFE_ANTICOAGULATION
    ):
        return False, (
            f"{s.region.value.capitalize()} procedures carry intermediate bleeding "
            "risk: anticoagulants must be held or cleared by the prescriber."
        )
    return True, "Anticoagulation reviewed."


# ---------------------------------------------------------------------------------------
# Recovery and discharge


def _score_at_least(
    scale: str, latest: int | None, need: int, *, opens: str, below: str
) -> tuple[bool, str]:
    """The latest score of ``scale`` against its threshold: ``opens`` says what the
    threshold opens ("discharge at"), ``below`` what a lower score lacks."""
    if latest is None:
        return False, f"No {scale} score recorded yet ({opens} {need} of 10)."
    if latest >= need:
        return True, f"{scale} {latest} of 10 (at least {need})."
    return False, f"{scale} {latest} of 10; {below} {need}."


@rule("recovery.aldrete")
def aldrete(p: PolicyParameters, s: RecoverySnapshot) -> tuple[bool, str]:
    """Phase I recovery ends at a modified Aldrete score of at least the minimum."""
    need = p.recovery.min_aldrete
    phase = "phase I ends at"
    return _score_at_least("Aldrete", s.latest_aldrete, need, opens=phase, below=phase)


@rule("discharge.padss")
def padss(p: PolicyParameters, s: RecoverySnapshot) -> tuple[bool, str]:
    """Home readiness by Chung's PADSS (the latest score decides)."""
    return _score_at_least(
        "PADSS",
        s.latest_padss,
        p.discharge.min_padss,
        opens="discharge at",
        below="discharge needs at least",
    )


@rule("discharge.aldrete")
def aldrete_at_discharge(p: PolicyParameters, s: RecoverySnapshot) -> tuple[bool, str]:
    """Phase I must still hold when the patient goes home: the latest modified Aldrete
    decides, so a later, lower score undoes an earlier pass (SPEC §3)."""
    return _score_at_least(
        "Aldrete",
        s.latest_aldrete,
        p.recovery.min_aldrete,
        opens="discharge at",
        below="discharge needs at least",
    )


# The discharge rules that read recovery scores (the others are confirmed at discharge).
DISCHARGE_SCORE_RULES = frozenset({padss.id, aldrete_at_discharge.id})

ESCORT_AT_DISCHARGE = (
    "Escort present.",
    "A responsible adult escort must be present to take the patient home.",
    "The policy does not require an escort at discharge.",
)
WRITTEN_INSTRUCTIONS = (
    "Written discharge instructions given.",
    "Written discharge instructions have not been given.",
    "The policy does not require written discharge instructions.",
)


@rule("discharge.escort")
def discharge_escort(p: PolicyParameters, s: RecoverySnapshot) -> tuple[bool, str]:
    return _required(p.discharge.escort_required, s.escort_present, ESCORT_AT_DISCHARGE)


@rule("discharge.instructions")
def instructions(p: PolicyParameters, s: RecoverySnapshot) -> tuple[bool, str]:
    needed = p.discharge.written_instructions_required
    return _required(needed, s.written_instructions_given, WRITTEN_INSTRUCTIONS)


# ---------------------------------------------------------------------------------------
# Follow-up


@rule("follow_up.window")
def follow_up_window(p: PolicyParameters, s: FollowUpSnapshot) -> tuple[bool, str]:
    params = p.follow_up
    days = (s.follow_up_on - s.procedure_on).days
    if params.min_days <= days <= params.max_days:
        return True, f"Follow-up {days} days after the procedure."
    first = s.procedure_on + timedelta(days=params.min_days)
    last = s.procedure_on + timedelta(days=params.max_days)
    return False, (
        f"Follow-up {days} days after the procedure; the policy needs "
        f"{params.min_days}-{params.max_days} days ({first.isoformat()} to "
        f"{last.isoformat()})."
    )
