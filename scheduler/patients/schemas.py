from __future__ import annotations

from marshmallow import fields, validate

from scheduler.schemas import Args, Out, Text

PHONE = validate.Regexp(r"^\+?[0-9 ()./-]{6,30}$", error="Use digits, spaces and + ( ) - . only.")


class PatientCreateArgs(Args):
    mrn = Text(40, required=True, validate=validate.Regexp(r"^[A-Za-z0-9-]{1,40}$"))
    given_name = Text(80, required=True)
    family_name = Text(80, required=True)
    birth_date = fields.Date(required=True)
    email = fields.Email(load_default=None)
    phone = fields.String(load_default=None, validate=PHONE)


class PatientQueryArgs(Args):
    q = Text(80, metadata={"description": "MRN, or the start of given and/or family name"})


class PatientSchema(Out):
    id = fields.Integer()
    mrn = fields.String()
    given_name = fields.String()
    family_name = fields.String()
    birth_date = fields.Date()
    email = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
