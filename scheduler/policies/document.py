"""The policy document format: validation with field-level errors, parsing, and how two
versions differ.

A document is the JSON an admin publishes (``POST /policies``) and the database stores.
Every value of SPEC §3's table is a field here; every rule needs a source text. A bad
document fails with marshmallow errors that name the field, e.g.
``{"parameters": {"pain_duration": {"min_days": ["Must be greater than or equal to 0."]}}}``.
Pure module: no Flask, no SQLAlchemy.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Final

from marshmallow import (
    RAISE,
    Schema,
    ValidationError,
    fields,
    post_load,
    validate,
    validates_schema,
)

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


class _Section(Schema):
    """A strict part of the document (unknown keys refused), loaded as the frozen
    parameters it describes (``made``); its lists load as frozensets."""

    made: ClassVar[Callable[..., Any]]

    class Meta:
        unknown = RAISE

    @post_load
    def _made(self, data: dict[str, Any], **_kwargs: Any) -> Any:
        return self.made(
            **{name: frozenset(v) if isinstance(v, list) else v for name, v in data.items()}
        )


class IndicationTargetSchema(_Section):
    made = IndicationTarget

    target_nerve = fields.Enum(TargetNerve, by_value=True, required=True)
    regions = _enum_list(Region, allow_empty=False)


class PainDurationSchema(_Section):
    made = PainDurationParams

    min_days = _days()


class ConservativeCareSchema(_Section):
    made = ConservativeCareParams

    min_days = _days()
    success_outcomes = _enum_list(TreatmentOutcome)


class DiagnosticBlocksSchema(_Section):
    made = DiagnosticBlockParams

    required = _count(minimum=1)
    min_relief_percent = _percent()
    min_interval_days = _days()
    max_sessions_per_region = _count(minimum=1)
    window_days = fields.Integer(
        required=True, strict=True, validate=validate.Range(min=1, max=3650)
    )


class LevelsSchema(_Section):
    made = LevelParams

    max_per_session = _count(minimum=1)


class NeurotomySchema(_Section):
    made = NeurotomyParams

    max_sessions_per_region = _count(minimum=1)
    window_days = fields.Integer(
        required=True, strict=True, validate=validate.Range(min=1, max=3650)
    )
    repeat_min_days = _days()
    repeat_min_prior_relief_percent = _percent()


class CoverageSchema(_Section):
    made = CoverageParams

    not_covered_indications = _enum_list(Indication)
    not_covered_methods = _enum_list(Method)
    acknowledgment_kinds = _enum_list(AcknowledgmentKind, allow_empty=False)


class FastingHoursSchema(_Section):
    made = FastingHours

    clear_fluids = fields.Integer(
        required=True, strict=True, validate=validate.Range(min=0, max=24)
    )
    light_meal = fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=24))
    heavy_meal = fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=24))


class CheckInSchema(_Section):
    made = CheckInParams

    consent_required = _flag()
    escort_required_with_sedation = _flag()
    fasting_hours = fields.Nested(FastingHoursSchema, required=True)
    anticoagulation_review_required = _flag()
    anticoagulation_hold_regions = _enum_list(Region)
    arrival_minutes_before = fields.Integer(
        required=True, strict=True, validate=validate.Range(min=0, max=240)
    )


class RecoverySchema(_Section):
    made = RecoveryParams

    min_aldrete = _score()


class DischargeSchema(_Section):
    made = DischargeParams

    min_padss = _score()
    escort_required = _flag()
    written_instructions_required = _flag()


class FollowUpSchema(_Section):
    made = FollowUpParams

    min_days = _days()
    max_days = _days()

    @validates_schema
    def _window(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if data["max_days"] < data["min_days"]:
            raise ValidationError("Must not be less than min_days.", "max_days")


class PolicyParametersSchema(_Section):
    made = PolicyParameters

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
    parameters: PolicyParameters = PolicyParametersSchema().load(dict(document))
    return parameters


def parse_policy(name: str, version: int, document: Mapping[str, Any]) -> Policy:
    return Policy(name, version, parse_parameters(document))


# ---------------------------------------------------------------------------------------
# How two versions of a document differ, for the admin reading a version


def pretty(document: Mapping[str, Any]) -> str:
    """A document as the admin reads and edits it: keys sorted, two-space indent."""
    return json.dumps(document, indent=2, sort_keys=True)


@dataclass(frozen=True)
class DiffLine:
    """One line of a change: ``added``, ``removed`` or ``same`` (context), with its line
    number in the newer document (``added``/``same``) or the older one (``removed``)."""

    change: str
    number: int
    text: str


CONTEXT_LINES: Final = 2


def document_diff(
    before: Mapping[str, Any] | None, after: Mapping[str, Any]
) -> list[list[DiffLine]]:
    """The changes from ``before`` to ``after`` as groups of nearby lines (each with a few
    unchanged lines around it), compared as :func:`pretty` writes them. No ``before``
    (a first version): every line is added. Nothing changed: no group."""
    old = pretty(before).splitlines() if before is not None else []
    new = pretty(after).splitlines()
    groups = []
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    for opcodes in matcher.get_grouped_opcodes(CONTEXT_LINES):
        group = []
        for tag, i1, i2, j1, j2 in opcodes:
            if tag == "equal":
                group += [DiffLine("same", j + 1, new[j]) for j in range(j1, j2)]
                continue
            group += [DiffLine("removed", i + 1, old[i]) for i in range(i1, i2)]
            group += [DiffLine("added", j + 1, new[j]) for j in range(j1, j2)]
        groups.append(group)
    return groups
