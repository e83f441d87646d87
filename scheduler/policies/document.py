"""The policy document format: validation with field-level errors, and parsing.

A document is the JSON an admin publishes (``POST /policies``) and the database stores.
Every value of SPEC §3's table is a field here; every rule needs a source text. A bad
document fails with marshmallow errors that name the field, e.g.
``{"parameters": {"pain_duration": {"min_days": ["Must be greater than or equal to 0."]}}}``.
Pure module: no Flask, no SQLAlchemy.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from scheduler.policies.parameters import (
    CheckInParams,
    ConservativeCareParams,
    CoverageParams,
    DiagnosticBlockParams,
    DischargeParams,
    FastingHours,
    FollowUpParams,
    IndicationTarget,
    LevelParams,
    NeurotomyParams,
    PainDurationParams,
    Policy,
    PolicyParameters,
    RecoveryParams,
)
from scheduler.policies.rules import RULE_IDS
from scheduler.schemas import StrictBoolean
from scheduler.vocabulary import (
    AcknowledgmentKind,
    Indication,
    Method,
    Region,
    TargetNerve,
    TreatmentOutcome,
)

NAME_PATTERN = r"[a-z][a-z0-9_]{1,62}\Z"


def _days(**kwargs: Any) -> fields.Integer:
    return fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=3650))


def _percent() -> fields.Float:
    return fields.Float(required=True, allow_nan=False, validate=validate.Range(min=0, max=100))


def _count(minimum: int = 0) -> fields.Integer:
    return fields.Integer(required=True, strict=True, validate=validate.Range(min=minimum, max=50))


def _score() -> fields.Integer:
    return fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=10))


def _flag() -> fields.Boolean:
    return StrictBoolean(required=True)


def _enum_list(enum: Any, *, allow_empty: bool = True) -> fields.List[Any]:
    return fields.List(
        fields.Enum(enum, by_value=True),
        required=True,
        validate=validate.Length(min=0 if allow_empty else 1),
    )


class _Strict(Schema):
    class Meta:
        unknown = RAISE


class IndicationTargetSchema(_Strict):
    target_nerve = fields.Enum(TargetNerve, by_value=True, required=True)
    regions = _enum_list(Region, allow_empty=False)


class PainDurationSchema(_Strict):
    min_days = _days()


class ConservativeCareSchema(_Strict):
    min_days = _days()
    success_outcomes = _enum_list(TreatmentOutcome)


class DiagnosticBlocksSchema(_Strict):
    required = _count(minimum=1)
    min_relief_percent = _percent()
    min_interval_days = _days()
    max_sessions_per_region = _count(minimum=1)
    window_days = fields.Integer(
        required=True, strict=True, validate=validate.Range(min=1, max=3650)
    )


class LevelsSchema(_Strict):
    max_per_session = _count(minimum=1)


class NeurotomySchema(_Strict):
    max_sessions_per_region = _count(minimum=1)
    window_days = fields.Integer(
        required=True, strict=True, validate=validate.Range(min=1, max=3650)
    )
    repeat_min_days = _days()
    repeat_min_prior_relief_percent = _percent()


class CoverageSchema(_Strict):
    not_covered_indications = _enum_list(Indication)
    not_covered_methods = _enum_list(Method)
    acknowledgment_kinds = _enum_list(AcknowledgmentKind, allow_empty=False)


class FastingHoursSchema(_Strict):
    clear_fluids = fields.Integer(
        required=True, strict=True, validate=validate.Range(min=0, max=24)
    )
    light_meal = fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=24))
    heavy_meal = fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=24))


class CheckInSchema(_Strict):
    consent_required = _flag()
    escort_required_with_sedation = _flag()
    fasting_hours = fields.Nested(FastingHoursSchema, required=True)
    anticoagulation_review_required = _flag()
    anticoagulation_hold_regions = _enum_list(Region)
    arrival_minutes_before = fields.Integer(
        required=True, strict=True, validate=validate.Range(min=0, max=240)
    )


class RecoverySchema(_Strict):
    min_aldrete = _score()


class DischargeSchema(_Strict):
    min_padss = _score()
    escort_required = _flag()
    written_instructions_required = _flag()


class FollowUpSchema(_Strict):
    min_days = _days()
    max_days = _days()

    @validates_schema
    def _window(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if data["max_days"] < data["min_days"]:
            raise ValidationError("Must not be less than min_days.", "max_days")


class PolicyParametersSchema(_Strict):
    indications = fields.Dict(
        keys=fields.Enum(Indication, by_value=True),
        values=fields.Nested(IndicationTargetSchema),
        required=True,
        validate=validate.Length(min=1),
    )
    pain_duration = fields.Nested(PainDurationSchema, required=True)
    conservative_care = fields.Nested(ConservativeCareSchema, required=True)
    diagnostic_blocks = fields.Nested(DiagnosticBlocksSchema, required=True)
    levels = fields.Nested(LevelsSchema, required=True)
    neurotomy = fields.Nested(NeurotomySchema, required=True)
    coverage = fields.Nested(CoverageSchema, required=True)
    check_in = fields.Nested(CheckInSchema, required=True)
    recovery = fields.Nested(RecoverySchema, required=True)
    discharge = fields.Nested(DischargeSchema, required=True)
    follow_up = fields.Nested(FollowUpSchema, required=True)
    sources = fields.Dict(
        keys=fields.String(validate=validate.OneOf(RULE_IDS)),
        values=fields.String(validate=validate.Length(min=1, max=500)),
        required=True,
    )

    @validates_schema
    def _every_rule_has_a_source(self, data: dict[str, Any], **_kwargs: Any) -> None:
        missing = [rule for rule in RULE_IDS if rule not in data.get("sources", {})]
        if missing:
            raise ValidationError([f"Missing a source for: {', '.join(missing)}."], "sources")


def validate_parameters(document: Mapping[str, Any]) -> dict[str, Any]:
    """Errors by field (empty when valid); the same check ``POST /policies`` runs."""
    errors: dict[str, Any] = PolicyParametersSchema().validate(dict(document))
    return errors


def parse_parameters(document: Mapping[str, Any]) -> PolicyParameters:
    """A validated document as frozen parameters; raises ValidationError otherwise."""
    data = PolicyParametersSchema().load(dict(document))
    blocks = data["diagnostic_blocks"]
    neuro = data["neurotomy"]
    cover = data["coverage"]
    check_in = data["check_in"]
    discharge = data["discharge"]
    return PolicyParameters(
        indications={
            indication: IndicationTarget(target["target_nerve"], frozenset(target["regions"]))
            for indication, target in data["indications"].items()
        },
        pain_duration=PainDurationParams(data["pain_duration"]["min_days"]),
        conservative_care=ConservativeCareParams(
            data["conservative_care"]["min_days"],
            frozenset(data["conservative_care"]["success_outcomes"]),
        ),
        diagnostic_blocks=DiagnosticBlockParams(
            required=blocks["required"],
            min_relief_percent=blocks["min_relief_percent"],
            min_interval_days=blocks["min_interval_days"],
            max_sessions_per_region=blocks["max_sessions_per_region"],
            window_days=blocks["window_days"],
        ),
        levels=LevelParams(data["levels"]["max_per_session"]),
        neurotomy=NeurotomyParams(
            max_sessions_per_region=neuro["max_sessions_per_region"],
            window_days=neuro["window_days"],
            repeat_min_days=neuro["repeat_min_days"],
            repeat_min_prior_relief_percent=neuro["repeat_min_prior_relief_percent"],
        ),
        coverage=CoverageParams(
            frozenset(cover["not_covered_indications"]),
            frozenset(cover["not_covered_methods"]),
            frozenset(cover["acknowledgment_kinds"]),
        ),
        check_in=CheckInParams(
            consent_required=check_in["consent_required"],
            escort_required_with_sedation=check_in["escort_required_with_sedation"],
            fasting_hours=FastingHours(**check_in["fasting_hours"]),
            anticoagulation_review_required=check_in["anticoagulation_review_required"],
            anticoagulation_hold_regions=frozenset(check_in["anticoagulation_hold_regions"]),
            arrival_minutes_before=check_in["arrival_minutes_before"],
        ),
        recovery=RecoveryParams(data["recovery"]["min_aldrete"]),
        discharge=DischargeParams(
            min_padss=discharge["min_padss"],
            escort_required=discharge["escort_required"],
            written_instructions_required=discharge["written_instructions_required"],
        ),
        follow_up=FollowUpParams(data["follow_up"]["min_days"], data["follow_up"]["max_days"]),
        sources=dict(data["sources"]),
    )


def parse_policy(name: str, version: int, document: Mapping[str, Any]) -> Policy:
    return Policy(name, version, parse_parameters(document))
