"""The clinical and scheduling vocabulary shared by every feature (SPEC §6 "Kinds").

Enum values are the API's snake_case strings and are stored by value in the database.
Pure module: no Flask, no SQLAlchemy.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Final


class Role(StrEnum):
    ADMIN = "admin"
    SCHEDULER = "scheduler"
    CLINICIAN = "clinician"
    NURSE = "nurse"
    PATIENT = "patient"
    # Reads the clinic's reports (SPEC §11): aggregate figures only, no patient records.
    MANAGER = "manager"


class Indication(StrEnum):
    FACET_JOINT_SYNDROME = "facet_joint_syndrome"
    SACROILIAC_JOINT_DYSFUNCTION = "sacroiliac_joint_dysfunction"


class Region(StrEnum):
    CERVICAL = "cervical"
    THORACIC = "thoracic"
    LUMBAR = "lumbar"
    SACROILIAC = "sacroiliac"


class Side(StrEnum):
    LEFT = "left"
    RIGHT = "right"
    BILATERAL = "bilateral"

    def overlaps(self, other: Side) -> bool:
        """Whether two treatments touch the same side (bilateral touches both)."""
        return Side.BILATERAL in (self, other) or self is other


class TargetNerve(StrEnum):
    MEDIAL_BRANCH = "medial_branch"
    LATERAL_BRANCH = "lateral_branch"


class Method(StrEnum):
    RFA = "rfa"
    LASER = "laser"
    MECHANICAL = "mechanical"


class AppointmentKind(StrEnum):
    DIAGNOSTIC_BLOCK = "diagnostic_block"
    PROCEDURE = "procedure"
    FOLLOW_UP = "follow_up"


# SPEC §4 defaults; a clinician may have their own (clinician_durations).
DEFAULT_MINUTES = {
    AppointmentKind.DIAGNOSTIC_BLOCK: 30,
    AppointmentKind.PROCEDURE: 90,
    AppointmentKind.FOLLOW_UP: 20,
}


class AppointmentStatus(StrEnum):
    BOOKED = "booked"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    NO_SHOW = "no_show"


class MessageKind(StrEnum):
    """What an e-mail to a patient says about their appointment (the outbox's kinds)."""

    REQUEST = "request"  # a new or changed appointment: the invite
    CANCEL = "cancel"
    REMINDER = "reminder"
    OFFER = "offer"  # a freed slot offered to a waitlisted patient (accept/decline links)


class WaitlistPriority(StrEnum):
    """How soon the clinician wants the patient seen; the waitlist's first ranking key."""

    URGENT = "urgent"
    SOON = "soon"
    ROUTINE = "routine"


class TimeOfDay(StrEnum):
    """A waitlisted patient's preferred part of the day (site-local: before or after noon)."""

    MORNING = "morning"
    AFTERNOON = "afternoon"


class VacancySource(StrEnum):
    """How capacity appeared (SPEC §10)."""

    CANCELLED = "cancelled"  # a booked appointment was cancelled
    MOVED = "moved"  # a booked appointment was moved away from this time
    HOURS = "hours"  # a clinician's working hours changed (the days ahead are scanned)


class VacancyStatus(StrEnum):
    OPEN = "open"  # candidates still to be tried (or an offer in flight)
    FILLED = "filled"  # an offer was accepted: booked
    UNFILLED = "unfilled"  # no waitlisted pathway could take it (or it lapsed)


class OfferStatus(StrEnum):
    OPEN = "open"  # sent; the slot is held until it expires
    ACCEPTED = "accepted"
    DECLINED = "declined"
    EXPIRED = "expired"
    WITHDRAWN = "withdrawn"  # taken by another offer, or the pathway moved on


class ResourceKind(StrEnum):
    """What an allocation reserves; one exclusion constraint per kind on PostgreSQL."""

    CLINICIAN = "clinician"
    ROOM = "room"
    EQUIPMENT = "equipment"
    RECOVERY_BAY = "recovery_bay"
    PATIENT = "patient"


class Complication(StrEnum):
    TEMPORARY_PAIN = "temporary_pain"
    NUMBNESS_WEAKNESS = "numbness_weakness"
    SWELLING_BRUISING = "swelling_bruising"
    BURNING_TINGLING = "burning_tingling"
    INFECTION = "infection"
    BLEEDING = "bleeding"
    SCARRING_ADHESIONS = "scarring_adhesions"
    NERVE_DAMAGE = "nerve_damage"


class TreatmentKind(StrEnum):
    PHYSICAL_THERAPY = "physical_therapy"
    MEDICATION = "medication"
    INJECTION = "injection"
    CHIROPRACTIC = "chiropractic"
    HOME_EXERCISE = "home_exercise"


class TreatmentOutcome(StrEnum):
    """How a course of conservative care ended; no outcome means it is ongoing."""

    RESOLVED = "resolved"
    PARTIAL_RELIEF = "partial_relief"
    NO_RELIEF = "no_relief"
    WORSENED = "worsened"
    NOT_TOLERATED = "not_tolerated"


class AcknowledgmentKind(StrEnum):
    """Self-pay agreement or Medicare Advance Beneficiary Notice of Non-coverage."""

    SELF_PAY = "self_pay"
    ABN = "abn"


class AnticoagulationStatus(StrEnum):
    NOT_ANTICOAGULATED = "not_anticoagulated"
    HELD = "held"
    CLEARED = "cleared"
    CONTINUED = "continued"


class RecoveryScale(StrEnum):
    ALDRETE = "aldrete"
    PADSS = "padss"


# Items of each recovery scale, scored 0-2 each (modified Aldrete; Chung's PADSS).
RECOVERY_ITEMS: dict[RecoveryScale, tuple[str, ...]] = {
    RecoveryScale.ALDRETE: (
        "activity",
        "respiration",
        "circulation",
        "consciousness",
        "oxygen_saturation",
    ),
    RecoveryScale.PADSS: (
        "vital_signs",
        "activity",
        "nausea_vomiting",
        "pain",
        "surgical_bleeding",
    ),
}


class DischargeOutcome(StrEnum):
    DISCHARGED = "discharged"
    ADMITTED = "admitted"


class RoomKind(StrEnum):
    PROCEDURE = "procedure"
    CONSULT = "consult"


class EquipmentKind(StrEnum):
    ENDOSCOPE_TOWER = "endoscope_tower"
    RF_GENERATOR = "rf_generator"
    LASER_UNIT = "laser_unit"
    SHAVER = "shaver"


# A spinal level is a segment ("S1") or the joint between two adjacent ones ("L4-L5").
_SEGMENT = r"(?:C[1-7]|T(?:[1-9]|1[0-2])|L[1-5]|S[1-5])"
LEVEL_PATTERN = re.compile(rf"{_SEGMENT}(?:-{_SEGMENT})?")

_SEGMENT_ORDER = (
    [f"C{n}" for n in range(1, 8)]
    + [f"T{n}" for n in range(1, 13)]
    + [f"L{n}" for n in range(1, 6)]
    + [f"S{n}" for n in range(1, 6)]
)
_REGION_SEGMENTS = {
    Region.CERVICAL: ("C",),
    Region.THORACIC: ("T",),
    Region.LUMBAR: ("L",),
    Region.SACROILIAC: ("L5", "S"),
}


def level_problem(level: str, region: Region) -> str | None:
    """Why ``level`` is not a spinal level of ``region``, or None when it is.

    The upper segment decides the region ("T12-L1" is thoracic, "L5-S1" lumbar); the
    sacroiliac region covers the L5 dorsal ramus and the sacral lateral branches.
    """
    if not LEVEL_PATTERN.fullmatch(level):
        return f"'{level}' is not a spinal level such as 'L4-L5' or 'S1'"
    segments = level.split("-")
    if len(segments) == 2:
        upper, lower = (_SEGMENT_ORDER.index(s) for s in segments)
        if lower != upper + 1:
            return f"'{level}' does not name two adjacent segments"
    if not segments[0].startswith(_REGION_SEGMENTS[region]):
        return f"'{level}' is not in the {region.value} region"
    return None


# The common reasons the desk gives for cancelling (a page offers them as choices; the
# API takes any text). ``OTHER`` asks for the reason in words.
CANCEL_REASONS: Final = (
    "Patient asked to cancel",
    "Patient unwell",
    "Clinician unavailable",
    "Room or equipment unavailable",
    "Prerequisite no longer met",
    "Booked in error",
)
OTHER: Final = "Other"
