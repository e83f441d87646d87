"""Request and response schemas for sign-in and user accounts."""

from __future__ import annotations

from marshmallow import fields, validate

from scheduler.schemas import Args, Choice, EmailAddress, Id, Instant, Out
from scheduler.vocabulary import Role


class TokenCreateArgs(Args):
    email = fields.String(required=True, validate=validate.Length(min=3, max=254))
    password = fields.String(required=True, validate=validate.Length(min=1, max=1024))


class TokenSchema(Out):
    token = fields.String(metadata={"description": "Bearer token; shown once"})
    token_type = fields.Constant("Bearer")
    expires_at = Instant()


class UserSchema(Out):
    id = fields.Integer()
    email = fields.String()
    role = Choice(Role)
    clinician_id = fields.Integer(allow_none=True)
    patient_id = fields.Integer(allow_none=True)
    active = fields.Boolean()


class UserCreateArgs(Args):
    email = EmailAddress(required=True)
    password = fields.String(required=True, validate=validate.Length(max=1024), load_only=True)
    role = Choice(Role, required=True)
    clinician_id = Id(load_default=None)
    patient_id = Id(load_default=None)
