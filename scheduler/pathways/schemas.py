"""Request and response schemas for pathways, their records and clinical steps."""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, fields, validate, validates_schema

from scheduler.pathways.states import PathwayState
from scheduler.schemas import Args, Choice, Flag, Id, Instant, Out, Phone, QueryId, Text, Whole
from scheduler.vocabulary import (
    RECOVERY_ITEMS,
    AcknowledgmentKind,
    AnticoagulationStatus,
    Complication,
    Indication,
    Method,
    RecoveryScale,
    Region,
    Side,
    TargetNerve,
    TreatmentKind,
    TreatmentOutcome,
)


def Levels(**kwargs: Any) -> fields.List[Any]:  # noqa: N802 (reads like a field class)
    return fields.List(
        fields.String(validate=validate.Length(min=1, max=8)),
        validate=validate.Length(min=1, max=10),
        **kwargs,
    )


def Complications(**kwargs: Any) -> fields.List[Any]:  # noqa: N802
    return fields.List(
        Choice(Complication), validate=validate.Length(max=len(Complication)), **kwargs
    )


class PathwayCreateArgs(Args):
    patient_id = Id(required=True)
    clinician_id = Id(required=True)
    site_id = Id(required=True)
    indication = Choice(Indication, required=True)
    region = Choice(Region, required=True)
    side = Choice(Side, required=True)
    levels = Levels(required=True)
    pain_onset_date = fields.Date(required=True)
    policy = fields.String(
        load_default=None,
        validate=validate.Length(min=1, max=64),
        metadata={
            "description": "Policy name; its latest version is pinned (default medicare_facet)"
        },
    )
    method = Choice(Method, load_default=Method.RFA)
    target_nerve = Choice(TargetNerve, load_default=None)
    sedation = Flag(load_default=True)


class PathwayQueryArgs(Args):
    patient_id = QueryId()
    clinician_id = QueryId()
    state = Choice(PathwayState)


class PolicyRefSchema(Out):
    id = fields.Integer()
    name = fields.String()
    version = fields.Integer()


class PathwaySchema(Out):
    id = fields.Integer()
    patient_id = fields.Integer()
    clinician_id = fields.Integer()
    site_id = fields.Integer()
    policy = fields.Nested(PolicyRefSchema)
    indication = Choice(Indication)
    region = Choice(Region)
    side = Choice(Side)
    levels = fields.List(fields.String())
    target_nerve = Choice(TargetNerve)
    method = Choice(Method)
    sedation = fields.Boolean()
    pain_onset_date = fields.Date()
    state = Choice(PathwayState)
    allowed_triggers = fields.List(
        fields.String(),
        metadata={"description": "Triggers the state machine accepts in the current state"},
    )
    created_at = Instant()
    updated_at = Instant()


class CancelArgs(Args):
    reason = Text(500, required=True)


class EventSchema(Out):
    id = fields.Integer()
    from_ = fields.String(data_key="from", attribute="from_state", allow_none=True)
    to = fields.String(attribute="to_state")
    trigger = fields.String()
    actor = fields.Integer(attribute="actor_id", allow_none=True)
    at = Instant()
    reason = fields.String(allow_none=True)
    data = fields.Dict()
    appointment_id = fields.Integer(allow_none=True)


class TreatmentCreateArgs(Args):
    kind = Choice(TreatmentKind, required=True)
    start_date = fields.Date(required=True)
    end_date = fields.Date(load_default=None)
    outcome = Choice(
        TreatmentOutcome,
        load_default=None,
        metadata={"description": "Leave out while the treatment is ongoing"},
    )

    @validates_schema
    def _dates(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if data.get("end_date") and data["end_date"] < data["start_date"]:
            raise ValidationError("Must not be before start_date.", "end_date")


class TreatmentSchema(Out):
    id = fields.Integer()
    pathway_id = fields.Integer()
    kind = Choice(TreatmentKind)
    start_date = fields.Date()
    end_date = fields.Date(allow_none=True)
    outcome = Choice(TreatmentOutcome, allow_none=True)
    recorded_at = Instant()


class AcknowledgmentCreateArgs(Args):
    kind = Choice(AcknowledgmentKind, required=True)
    signed_on = fields.Date(required=True)


class AcknowledgmentSchema(Out):
    id = fields.Integer()
    pathway_id = fields.Integer()
    kind = Choice(AcknowledgmentKind)
    signed_on = fields.Date()
    recorded_at = Instant()


class EligibilityQueryArgs(Args):
    on = fields.Date(metadata={"description": "Planned procedure date (default: today)"})
    method = Choice(Method, metadata={"description": "Planned method (default: the pathway's)"})


class RuleResultSchema(Out):
    id = fields.String()
    passed = fields.Boolean()
    message = fields.String()
    source = fields.String()


class EligibilitySchema(Out):
    pathway_id = fields.Integer()
    policy = fields.Nested(PolicyRefSchema)
    on = fields.Date()
    method = Choice(Method)
    eligible = fields.Boolean()
    rules = fields.List(fields.Nested(RuleResultSchema))


# Clinical steps along the pathway (under /appointments/{id}/...)


class BlockResultArgs(Args):
    pre_block_pain = Whole(1, 10, required=True, metadata={"description": "0-10 scale, before"})
    post_block_pain = Whole(0, 10, required=True, metadata={"description": "0-10 scale, after"})
    relief_duration_hours = fields.Float(
        required=True, allow_nan=False, validate=validate.Range(min=0, max=24 * 30)
    )


class BlockResultSchema(Out):
    id = fields.Integer()
    appointment_id = fields.Integer()
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


class CheckInSchema(Out):
    id = fields.Integer()
    appointment_id = fields.Integer()
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


class ProcedureRecordSchema(Out):
    id = fields.Integer()
    appointment_id = fields.Integer()
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


class RecoveryScoreSchema(Out):
    id = fields.Integer()
    appointment_id = fields.Integer()
    scale = Choice(RecoveryScale)
    items = fields.Dict()
    total = fields.Integer()
    recorded_at = Instant()
    phase_one_complete = fields.Boolean(
        metadata={"description": "Aldrete at or above the policy's threshold (PADSS may start)"}
    )
    ready_for_discharge = fields.Boolean()


class DischargeArgs(Args):
    escort_present = Flag(required=True)
    written_instructions_given = Flag(load_default=True)


class AdmitArgs(Args):
    reason = Text(500, required=True)


class DischargeSchema(Out):
    id = fields.Integer()
    appointment_id = fields.Integer()
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


class FollowUpOutcomeSchema(Out):
    id = fields.Integer()
    appointment_id = fields.Integer()
    pain_score = fields.Integer()
    percent_relief = fields.Integer()
    odi = fields.Integer(allow_none=True)
    complications = fields.List(fields.String())
    physical_therapy_referred = fields.Boolean()
    recorded_at = Instant()
