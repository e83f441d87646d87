"""Every model, imported once so that Base.metadata is complete (Alembic, tests)."""

from scheduler.auth.models import ApiToken, User
from scheduler.clinicians.models import Clinician, TimeOff, WorkingHours
from scheduler.db import Base
from scheduler.facilities.models import Equipment, Room, Site
from scheduler.pathways.models import (
    BlockResult,
    CheckIn,
    ConservativeTreatment,
    CoverageAcknowledgment,
    DischargeRecord,
    FollowUpOutcome,
    Pathway,
    PathwayEvent,
    PolicyRecord,
    ProcedureRecord,
    RecoveryScore,
)
from scheduler.patients.models import Patient
from scheduler.scheduling.models import Appointment

__all__ = [
    "ApiToken",
    "Appointment",
    "Base",
    "BlockResult",
    "CheckIn",
    "Clinician",
    "ConservativeTreatment",
    "CoverageAcknowledgment",
    "DischargeRecord",
    "Equipment",
    "FollowUpOutcome",
    "Pathway",
    "PathwayEvent",
    "Patient",
    "PolicyRecord",
    "ProcedureRecord",
    "RecoveryScore",
    "Room",
    "Site",
    "TimeOff",
    "User",
    "WorkingHours",
]
