"""Request and response schemas for the clinical steps, under ``/appointments/{id}/...``."""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, fields, post_load, validate, validates_schema

from scheduler.pathways.states import PathwayState
from scheduler.policies.booking_rules import BlockReading
from scheduler.policies.procedure_day_rules import CheckInAnswers
from scheduler.policies.schemas import RuleResultSchema
from scheduler.schemas import (
    Args,
    Choice,
    Complications,
    Flag,
    Instant,
    Levels,
    Out,
    Phone,
    Text,
    Whole,
)
from scheduler.vocabulary import RECOVERY_ITEMS, AnticoagulationStatus, Method, RecoveryScale


class RecordSchema(Out):
    """A record written on an appointment."""

    id = fields.Integer()
    appointment_id = fields.Integer()


class BlockResultArgs(Args):
    pre_block_pain = Whole(1, 10, required=True, metadata={"description": "0-10 scale, before"})
    post_block_pain = Whole(0, 10, required=True, metadata={"description": "0-10 scale, after"})
    relief_duration_hours = fields.Float(
        required=True, allow_nan=False, validate=validate.Range(min=0, max=24 * 30)
    )

    @post_load
    def _reading(self, data: dict[str, Any], **_kwargs: Any) -> BlockReading:
        return BlockReading(**data)


class BlockResultSchema(RecordSchema):
    pre_block_pain = fields.Integer()
    post_block_pain = fields.Integer()
    relief_duration_hours = fields.Float()
    relief_percent = fields.Float()
    outcome = fields.String(metadata={"description": "positive, positive_more_needed, negative"})
    pathway_state = Choice(PathwayState)


class CheckInArgs(Args):
    consent_signed = Flag(required=True)
    escort_name = Text(120, load_default=None)
    escort_phone = Phone(load_default=None)
    fasting_confirmed = Flag(required=True)
    last_clear_fluids_at = Instant(load_default=None)
    last_light_meal_at = Instant(load_default=None)
    last_heavy_meal_at = Instant(load_default=None)
    anticoagulation_reviewed = Flag(required=True)
    anticoagulation_status = Choice(AnticoagulationStatus, load_default=None)

    @post_load
    def _answers(self, data: dict[str, Any], **_kwargs: Any) -> CheckInAnswers:
        return CheckInAnswers(**data)


class CheckInSchema(RecordSchema):
    consent_signed = fields.Boolean()
    escort_name = fields.String(allow_none=True)
    escort_phone = fields.String(allow_none=True)
    fasting_confirmed = fields.Boolean()
    anticoagulation_reviewed = fields.Boolean()
    anticoagulation_status = Choice(AnticoagulationStatus, allow_none=True)
    checked_in_at = Instant()
    rules = fields.List(fields.Nested(RuleResultSchema))


class StartArgs(Args):
    method = Choice(Method, load_default=None, metadata={"description": "Default: as booked"})


class FinishArgs(Args):
    levels_treated = Levels(required=True)
    complications = Complications(load_default=list)


class ProcedureRecordSchema(RecordSchema):
    method = Choice(Method)
    levels_treated = fields.List(fields.String(), allow_none=True)
    complications = fields.List(fields.String(), allow_none=True)
    started_at = Instant()
    finished_at = Instant(allow_none=True)


class RecoveryScoreArgs(Args):
    scale = Choice(RecoveryScale, required=True)
    items = fields.Dict(
        keys=fields.String(),
        values=Whole(0, 2),
        required=True,
        metadata={
            "description": "aldrete: "
            + ", ".join(RECOVERY_ITEMS[RecoveryScale.ALDRETE])
            + "; padss: "
            + ", ".join(RECOVERY_ITEMS[RecoveryScale.PADSS])
            + " (0-2 each)"
        },
    )
    observed_at = Instant(
        load_default=None,
        metadata={"description": "When the patient was assessed; default now, never later"},
    )

    @validates_schema
    def _items_of_scale(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if "scale" not in data or "items" not in data:
            return
        expected = set(RECOVERY_ITEMS[data["scale"]])
        given = set(data["items"])
        errors = [f"Missing item '{name}'." for name in sorted(expected - given)]
        errors += [f"Unknown item '{name}'." for name in sorted(given - expected)]
        if errors:
            raise ValidationError(errors, "items")


class RecoveryScoreSchema(RecordSchema):
    scale = Choice(RecoveryScale)
    items = fields.Dict()
    total = fields.Integer()
    observed_at = Instant()
    recorded_at = Instant()
    phase_one_complete = fields.Boolean(
        metadata={"description": "Aldrete at or above the policy's threshold (PADSS may start)"}
    )
    ready_for_discharge = fields.Boolean(
        metadata={
            "description": "The latest PADSS and the latest Aldrete both at the policy's "
            "thresholds (escort and instructions are confirmed at discharge)"
        }
    )


class DischargeArgs(Args):
    escort_present = Flag(required=True)
    written_instructions_given = Flag(load_default=True)


class AdmitArgs(Args):
    reason = Text(500, required=True)


class DischargeSchema(RecordSchema):
    outcome = fields.String()
    escort_present = fields.Boolean(allow_none=True)
    written_instructions_given = fields.Boolean(allow_none=True)
    reason = fields.String(allow_none=True)
    at = Instant()


class FollowUpOutcomeArgs(Args):
    pain_score = Whole(0, 10, required=True)
    percent_relief = Whole(0, 100, required=True)
    odi = Whole(0, 100, load_default=None, metadata={"description": "Oswestry Disability Index"})
    complications = Complications(load_default=list)
    physical_therapy_referred = Flag(required=True)


class FollowUpOutcomeSchema(RecordSchema):
    pain_score = fields.Integer()
    percent_relief = fields.Integer()
    odi = fields.Integer(allow_none=True)
    complications = fields.List(fields.String())
    physical_therapy_referred = fields.Boolean()
    recorded_at = Instant()
