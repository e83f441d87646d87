"""Schemas for policy versions (the parameters document is validated by the policy module)."""

from __future__ import annotations

from marshmallow import fields, validate

from scheduler.policies.document import NAME_PATTERN
from scheduler.schemas import Args, Instant, Out, Text


class PolicySummarySchema(Out):
    id = fields.Integer()
    name = fields.String()
    version = fields.Integer()
    title = fields.String()
    published_at = Instant()
    published_by_id = fields.Integer(allow_none=True)


class PolicySchema(PolicySummarySchema):
    parameters = fields.Dict(
        metadata={"description": "Every threshold and source of the policy's rules (SPEC §3)"}
    )


class PolicyCreateArgs(Args):
    name = fields.String(
        required=True,
        validate=validate.Regexp(NAME_PATTERN, error="Use lower-case letters, digits and _."),
    )
    title = Text(200, required=True)
    parameters = fields.Raw(
        required=True,
        metadata={"description": "The full document, as GET /policies/{name}/{version} shows"},
    )


class PolicyQueryArgs(Args):
    name = fields.String(validate=validate.Regexp(NAME_PATTERN))


class RuleResultSchema(Out):
    """One rule of a policy gate: passed or not, why, and the source the policy cites."""

    id = fields.String()
    passed = fields.Boolean()
    message = fields.String()
    source = fields.String()
