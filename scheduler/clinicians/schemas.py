from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, fields, validates_schema

from scheduler.schemas import Args, Choice, EmailAddress, Id, Instant, Out, Text, Whole
from scheduler.vocabulary import AppointmentKind

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


class Weekday(fields.Field[int]):
    """A day name ("monday"), stored as 0-6 like ``date.weekday()``."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if not isinstance(value, str) or value not in WEEKDAYS:
            raise ValidationError(f"Must be one of: {', '.join(WEEKDAYS)}.")
        return WEEKDAYS.index(value)

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return None if value is None else WEEKDAYS[value]


class ClinicianCreateArgs(Args):
    given_name = Text(80, required=True)
    family_name = Text(80, required=True)
    email = EmailAddress(load_default=None)


class ClinicianSchema(Out):
    id = fields.Integer()
    given_name = fields.String()
    family_name = fields.String()
    email = fields.String(allow_none=True)


class WorkingHoursArgs(Args):
    site_id = Id(required=True)
    weekday = Weekday(required=True)
    start = fields.Time(required=True, metadata={"example": "08:00"})
    end = fields.Time(required=True, metadata={"example": "17:00"})

    @validates_schema
    def _end_after_start(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if data["end"] <= data["start"]:
            raise ValidationError("Must be after start.", "end")


CONFIRM_STRANDED = (
    "true: save even though booked appointments would be left without the clinician; "
    "they are marked for rebooking (rebook_reason) and go to the desk's Rebook queue. "
    "Without it such a change is refused with 409 bookings-stranded naming them."
)


class WorkingHoursQueryArgs(Args):
    confirm_stranded = fields.Boolean(
        load_default=False, metadata={"description": CONFIRM_STRANDED}
    )


class StrandedSchema(Out):
    """A booked appointment a confirmed change marked for rebooking."""

    appointment_id = fields.Integer()
    start = Instant()
    kind = fields.String()
    patient_name = fields.String(metadata={"description": '"Family, Given"'})


class WorkingHoursSchema(Out):
    id = fields.Integer()
    site_id = fields.Integer()
    weekday = Weekday()
    start = fields.Time(attribute="start_time", format="%H:%M")
    end = fields.Time(attribute="end_time", format="%H:%M")


class TimeOffCreateArgs(Args):
    start = Instant(required=True)
    end = Instant(required=True)
    reason = Text(200, load_default=None)
    confirm_stranded = fields.Boolean(
        load_default=False, metadata={"description": CONFIRM_STRANDED}
    )

    @validates_schema
    def _end_after_start(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if data["end"] <= data["start"]:
            raise ValidationError("Must be after start.", "end")


class TimeOffSchema(Out):
    id = fields.Integer()
    clinician_id = fields.Integer()
    start = Instant(attribute="start_at")
    end = Instant(attribute="end_at")
    reason = fields.String(allow_none=True)
    conflicting_appointment_ids = fields.List(
        fields.Integer(),
        dump_only=True,
        metadata={"description": "Booked appointments inside this time off, to rebook"},
    )
    stranded = fields.List(
        fields.Nested(StrandedSchema),
        dump_only=True,
        metadata={"description": "The same appointments, now marked for rebooking"},
    )


class DurationArgs(Args):
    kind = Choice(AppointmentKind, required=True)
    minutes = Whole(5, 480, required=True)


class DurationSchema(Out):
    kind = Choice(AppointmentKind)
    minutes = fields.Integer()
    default = fields.Boolean(metadata={"description": "True: the clinic's default for the kind"})
