"""Every model, imported once so that Base.metadata is complete (Alembic, tests)."""

from scheduler.auth.models import ApiToken, User
from scheduler.clinical.models import (
    BlockResult,
    CheckIn,
    DischargeRecord,
    FollowUpOutcome,
    ProcedureRecord,
    RecoveryScore,
)
from scheduler.clinicians.models import Clinician, ClinicianDuration, TimeOff, WorkingHours
from scheduler.db import Base
from scheduler.facilities.models import Equipment, MethodEquipment, RecoveryBay, Room, Site
from scheduler.outbox.models import OutboxMessage
from scheduler.pathways.models import (
    ConservativeTreatment,
    CoverageAcknowledgment,
    Pathway,
    PathwayEvent,
)
from scheduler.patients.models import Patient
from scheduler.policies.models import PolicyRecord
from scheduler.scheduling.models import Allocation, Appointment, Hold, IdempotencyKey

__all__ = [
    "Allocation",
    "ApiToken",
    "Appointment",
    "Base",
    "BlockResult",
    "CheckIn",
    "Clinician",
    "ClinicianDuration",
    "ConservativeTreatment",
    "CoverageAcknowledgment",
    "DischargeRecord",
    "Equipment",
    "FollowUpOutcome",
    "Hold",
    "IdempotencyKey",
    "MethodEquipment",
    "OutboxMessage",
    "Pathway",
    "PathwayEvent",
    "Patient",
    "PolicyRecord",
    "ProcedureRecord",
    "RecoveryBay",
    "RecoveryScore",
    "Room",
    "Site",
    "TimeOff",
    "User",
    "WorkingHours",
]
