"""Request and response schemas for appointments and the daily list."""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, fields, validates_schema

from scheduler.pathways.states import PathwayState
from scheduler.schemas import Args, Choice, Id, Instant, Out, QueryId, Text, local_time
from scheduler.vocabulary import AppointmentKind, AppointmentStatus, Indication, Method, Side


class AppointmentCreateArgs(Args):
    pathway_id = Id(required=True)
    kind = Choice(AppointmentKind, required=True)
    start = Instant(required=True, metadata={"description": "RFC 3339 with offset"})
    room_id = Id(required=True)
    clinician_id = Id(load_default=None, metadata={"description": "Default: the pathway's"})
    method = Choice(Method, load_default=None, metadata={"description": "Procedures only"})


class AppointmentUpdateArgs(Args):
    start = Instant()
    room_id = Id()

    @validates_schema
    def _needs_a_change(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if not data:
            raise ValidationError("Send start and/or room_id.")


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
    start_local = fields.Method("_start_local", metadata={"description": "In the site's zone"})
    end_local = fields.Method("_end_local", metadata={"description": "In the site's zone"})
    timezone = fields.String()
    method = Choice(Method, allow_none=True)
    side = Choice(Side)
    levels = fields.List(fields.String())
    version = fields.Integer()
    cancel_reason = fields.String(allow_none=True)

    def _start_local(self, appointment: Any) -> str:
        return local_time(appointment.start_at, appointment.timezone)

    def _end_local(self, appointment: Any) -> str:
        return local_time(appointment.end_at, appointment.timezone)


class DailyListQueryArgs(Args):
    date = fields.Date(required=True, metadata={"description": "YYYY-MM-DD, site-local"})


class CasePatientSchema(Out):
    id = fields.Integer()
    mrn = fields.String()
    given_name = fields.String()
    family_name = fields.String()
    birth_date = fields.Date()


class CaseRoomSchema(Out):
    id = fields.Integer()
    name = fields.String()


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
    patient = fields.Nested(CasePatientSchema)
    indication = Choice(Indication)
    side = Choice(Side)
    levels = fields.List(fields.String())
    method = Choice(Method, allow_none=True)
    pathway_state = Choice(PathwayState)


class DailyListSchema(Out):
    clinician_id = fields.Integer()
    date = fields.Date()
    cases = fields.List(fields.Nested(CaseSchema))
