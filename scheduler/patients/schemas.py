from __future__ import annotations

from marshmallow import fields, validate

from scheduler.schemas import Args, Day, EmailAddress, Out, Phone, Text


class PatientCreateArgs(Args):
    mrn = Text(40, required=True, validate=validate.Regexp(r"[A-Za-z0-9-]{1,40}\Z"))
    given_name = Text(80, required=True)
    family_name = Text(80, required=True)
    birth_date = Day(required=True)
    email = EmailAddress(load_default=None)
    phone = Phone(load_default=None)


class PatientQueryArgs(Args):
    q = Text(
        80,
        metadata={
            "description": "Words that all match: part of the MRN, the start of the given or "
            'family name ("Smith, Ann" too), or the date of birth (1960-05-17, 5/17/1960 '
            "or 17.05.1960)"
        },
    )


class PatientSchema(Out):
    id = fields.Integer()
    mrn = fields.String()
    given_name = fields.String()
    family_name = fields.String()
    birth_date = fields.Date()
    email = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
