"""Request and response schemas for appointments and the daily list."""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, fields, validate, validates_schema

from scheduler.pathways.states import PathwayState
from scheduler.schemas import Args, Choice, Day, Id, Instant, LocalTime, Out, QueryId, Text
from scheduler.vocabulary import (
    AppointmentKind,
    AppointmentStatus,
    EquipmentKind,
    Indication,
    Method,
    Side,
)


def HoldId(**kwargs: Any) -> fields.String:  # noqa: N802
    return fields.String(
        validate=validate.Regexp(r"[0-9a-f]{32}\Z", error="Not a hold id."), **kwargs
    )


class AppointmentCreateArgs(Args):
    pathway_id = Id(required=True)
    kind = Choice(AppointmentKind, required=True)
    start = Instant(
        load_default=None, metadata={"description": "RFC 3339 with offset; or send hold_id"}
    )
    room_id = Id(load_default=None, metadata={"description": "Default: the first free room"})
    clinician_id = Id(load_default=None, metadata={"description": "Default: the pathway's"})
    method = Choice(Method, load_default=None, metadata={"description": "Procedures only"})
    hold_id = HoldId(
        load_default=None, metadata={"description": "Book the slot held by POST /holds"}
    )

    @validates_schema
    def _start_or_hold(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if data.get("start") is None and data.get("hold_id") is None:
            raise ValidationError("Send a start, or the hold_id of a held slot.", "start")


class HoldCreateArgs(Args):
    pathway_id = Id(required=True)
    kind = Choice(AppointmentKind, required=True)
    start = Instant(required=True, metadata={"description": "A start offered by slot search"})
    room_id = Id(load_default=None, metadata={"description": "Default: the first free room"})
    clinician_id = Id(load_default=None, metadata={"description": "Default: the pathway's"})
    method = Choice(Method, load_default=None, metadata={"description": "Procedures only"})
    appointment_id = Id(
        load_default=None,
        metadata={
            "description": "A new time for this booked appointment (a move): it keeps its "
            "time until PATCH /appointments/{id} confirms the move with this hold_id"
        },
    )


class SlotQueryArgs(Args):
    kind = Choice(AppointmentKind, required=True)
    after = Instant(metadata={"description": "Earliest start (default: now + the notice)"})
    limit = fields.Integer(load_default=10, validate=validate.Range(min=1, max=50))
    days = fields.Integer(
        load_default=30,
        validate=validate.Range(min=1, max=90),
        metadata={"description": "Search horizon in days from the earliest start"},
    )
    method = Choice(Method, metadata={"description": "Procedures only (default: the pathway's)"})
    clinician_id = QueryId(metadata={"description": "Default: the pathway's clinician"})
    appointment_id = QueryId(
        metadata={"description": "Slots this booked appointment could move to"}
    )


class SlotSchema(Out):
    start = Instant()
    end = Instant(metadata={"description": "End of the clinician's part"})
    start_local = LocalTime("start")
    end_local = LocalTime("end")
    timezone = fields.String()
    clinician_id = fields.Integer()
    room_id = fields.Integer()
    equipment_ids = fields.List(fields.Integer())
    recovery_bay_id = fields.Integer(allow_none=True)


class HoldSchema(SlotSchema):
    hold_id = fields.String()
    pathway_id = fields.Integer()
    appointment_id = fields.Integer(
        allow_none=True, metadata={"description": "The appointment a move's hold is for"}
    )
    kind = Choice(AppointmentKind)
    expires_at = Instant()


class AppointmentUpdateArgs(Args):
    start = Instant()
    room_id = Id()
    hold_id = HoldId(
        metadata={"description": "Move to the slot held by POST /holds with appointment_id"}
    )

    @validates_schema
    def _needs_a_change(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if not data:
            raise ValidationError("Send start and/or room_id, or the hold_id of a held slot.")


class AppointmentQueryArgs(Args):
    pathway_id = QueryId()
    patient_id = QueryId()
    clinician_id = QueryId()
    kind = Choice(AppointmentKind)
    status = Choice(AppointmentStatus)
    after = Instant(metadata={"description": "Ending after this instant"})
    before = Instant(metadata={"description": "Starting before this instant"})


class ReasonArgs(Args):
    reason = Text(500, required=True)


class OptionalReasonArgs(Args):
    reason = Text(500, load_default=None)


class AppointmentSchema(Out):
    id = fields.Integer()
    pathway_id = fields.Integer()
    patient_id = fields.Integer()
    clinician_id = fields.Integer()
    site_id = fields.Integer()
    room_id = fields.Integer()
    kind = Choice(AppointmentKind)
    status = Choice(AppointmentStatus)
    start = Instant(attribute="start_at")
    end = Instant(attribute="end_at")
    start_local = LocalTime("start_at")
    end_local = LocalTime("end_at")
    timezone = fields.String()
    method = Choice(Method, allow_none=True)
    side = Choice(Side)
    levels = fields.List(fields.String())
    equipment_ids = fields.List(fields.Integer())
    recovery_bay_id = fields.Integer(allow_none=True)
    version = fields.Integer()
    cancel_reason = fields.String(allow_none=True)
    rebook_reason = fields.String(
        allow_none=True,
        dump_only=True,
        metadata={
            "description": "Set while the appointment needs a new time: time off or new "
            "working hours left it without its clinician (cleared by a move or a cancel)"
        },
    )
    rebook_since = Instant(allow_none=True, dump_only=True)


class DailyListQueryArgs(Args):
    date = Day(required=True, metadata={"description": "YYYY-MM-DD, site-local"})


class CasePatientSchema(Out):
    id = fields.Integer()
    mrn = fields.String()
    given_name = fields.String()
    family_name = fields.String()
    birth_date = fields.Date()


class CaseRoomSchema(Out):
    id = fields.Integer()
    name = fields.String()


class CaseEquipmentSchema(Out):
    id = fields.Integer()
    name = fields.String()
    kind = Choice(EquipmentKind)


class ReadinessSchema(Out):
    summary = fields.String(metadata={"description": "red, amber or green"})
    eligibility = fields.Boolean(allow_none=True)
    consent = fields.Boolean(allow_none=True)
    escort = fields.Boolean(allow_none=True)
    fasting = fields.Boolean(allow_none=True)
    anticoagulation = fields.Boolean(allow_none=True)
    coverage = fields.Boolean(allow_none=True)
    rebook = fields.String(
        allow_none=True,
        metadata={"description": "Why the case needs a new time (then red), or null"},
    )


class CaseSchema(Out):
    appointment_id = fields.Integer()
    pathway_id = fields.Integer()
    kind = Choice(AppointmentKind)
    status = Choice(AppointmentStatus)
    start = Instant()
    end = Instant()
    start_local = fields.String()
    end_local = fields.String()
    timezone = fields.String()
    site_id = fields.Integer()
    room = fields.Nested(CaseRoomSchema)
    equipment = fields.List(fields.Nested(CaseEquipmentSchema))
    recovery_bay = fields.Nested(CaseRoomSchema, allow_none=True)
    patient = fields.Nested(CasePatientSchema)
    indication = Choice(Indication)
    side = Choice(Side)
    levels = fields.List(fields.String())
    method = Choice(Method, allow_none=True)
    sedation = fields.Boolean()
    pathway_state = Choice(PathwayState)
    readiness = fields.Nested(ReadinessSchema)


class DailyListSchema(Out):
    clinician_id = fields.Integer()
    date = fields.Date()
    cases = fields.List(fields.Nested(CaseSchema))
