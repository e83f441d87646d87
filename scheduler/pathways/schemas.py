"""Request and response schemas for pathways and what their referral documents."""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, fields, post_load, validate, validates_schema

from scheduler.pathways.referral import Referral
from scheduler.pathways.states import PathwayState
from scheduler.policies.booking_rules import Treatment
from scheduler.policies.schemas import RuleResultSchema
from scheduler.schemas import Args, Choice, Day, Flag, Id, Instant, Levels, Out, QueryId, Text
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


class PathwayCreateArgs(Args):
    patient_id = Id(required=True)
    clinician_id = Id(required=True)
    site_id = Id(required=True)
    indication = Choice(Indication, required=True)
    region = Choice(Region, required=True)
    side = Choice(Side, required=True)
    levels = Levels(required=True)
    pain_onset_date = Day(required=True)
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

    @post_load
    def _referral(self, data: dict[str, Any], **_kwargs: Any) -> Referral:
        return Referral(**data)


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
    start_date = Day(required=True)
    end_date = Day(load_default=None)
    outcome = Choice(
        TreatmentOutcome,
        load_default=None,
        metadata={"description": "Leave out while the treatment is ongoing"},
    )

    @validates_schema
    def _dates(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if data.get("end_date") and data["end_date"] < data["start_date"]:
            raise ValidationError("Must not be before start_date.", "end_date")

    @post_load
    def _treatment(self, data: dict[str, Any], **_kwargs: Any) -> Treatment:
        return Treatment(**data)


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
    signed_on = Day(required=True)


class AcknowledgmentSchema(Out):
    id = fields.Integer()
    pathway_id = fields.Integer()
    kind = Choice(AcknowledgmentKind)
    signed_on = fields.Date()
    recorded_at = Instant()


class EligibilityQueryArgs(Args):
    on = Day(metadata={"description": "Planned procedure date (default: today)"})
    method = Choice(Method, metadata={"description": "Planned method (default: the pathway's)"})


class EligibilitySchema(Out):
    pathway_id = fields.Integer()
    policy = fields.Nested(PolicyRefSchema)
    on = fields.Date()
    method = Choice(Method)
    eligible = fields.Boolean()
    rules = fields.List(fields.Nested(RuleResultSchema))
