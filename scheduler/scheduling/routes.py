"""Appointments (``/appointments``) and a clinician's daily list."""

from __future__ import annotations

from datetime import date, timedelta
from types import SimpleNamespace
from typing import Any

from flask import Response, current_app, request
from flask.views import MethodView

from scheduler.api import Blueprint, Statement
from scheduler.context import actor, committed, now, reminder_before, session
from scheduler.scheduling import booking, cancellation, holds, idempotency
from scheduler.scheduling.daily_list import Case, daily_list
from scheduler.scheduling.models import Appointment
from scheduler.scheduling.schemas import (
    AppointmentCreateArgs,
    AppointmentQueryArgs,
    AppointmentSchema,
    AppointmentUpdateArgs,
    DailyListQueryArgs,
    DailyListSchema,
    HoldCreateArgs,
    HoldSchema,
    OptionalReasonArgs,
    ReasonArgs,
    SlotQueryArgs,
    SlotSchema,
)
from scheduler.scheduling.search import search_slots
from scheduler.scheduling.slots import Slot
from scheduler.schemas import local_time

blp = Blueprint("scheduling", __name__, description="Appointments and daily lists")


@blp.route("/appointments")
class Appointments(MethodView):
    @blp.listing(AppointmentSchema, AppointmentQueryArgs)
    def get(self, args: dict[str, Any]) -> Statement[Appointment]:
        """List appointments (patients: their own)"""
        return booking.list_statement(actor(), args)

    @blp.writing(AppointmentCreateArgs, AppointmentSchema)
    @blp.alt_response(409, description="Slot taken or illegal transition")
    @blp.alt_response(422, description="Invalid input or prerequisites unmet")
    @blp.doc(
        parameters=[
            {
                "in": "header",
                "name": idempotency.HEADER,
                "required": False,
                "schema": {"type": "string", "maxLength": idempotency.MAX_KEY_LENGTH},
                "description": "A retry with the same key returns the first response",
            }
        ]
    )
    def post(self, data: dict[str, Any]) -> Any:
        """Book a pathway step at a start (or the slot of a hold); all-or-nothing"""
        key = request.headers.get(idempotency.HEADER)
        ttl = timedelta(hours=current_app.config["IDEMPOTENCY_TTL_HOURS"])
        claimed = (
            idempotency.claim(session(), actor(), now(), key, request.get_data(), ttl)
            if key is not None
            else None
        )
        if isinstance(claimed, idempotency.Replay):
            body = current_app.json.dumps(claimed.body)
            return Response(body, status=claimed.status, mimetype="application/json")
        appointment = booking.book_appointment(
            session(), actor(), now(), **data, reminder_before=reminder_before()
        )
        if claimed is not None:
            idempotency.remember(claimed, AppointmentSchema().dump(appointment))
        return committed(appointment)


@blp.route("/appointments/<int:appointment_id>")
class AppointmentById(MethodView):
    @blp.etag
    @blp.response(200, AppointmentSchema)
    def get(self, appointment_id: int) -> Appointment:
        """Get an appointment (its ETag guards PATCH)"""
        return booking.get_appointment(session(), actor(), appointment_id)

    @blp.etag
    @blp.writing(AppointmentUpdateArgs, AppointmentSchema, status=200)
    @blp.alt_response(409, description="Slot taken or illegal transition")
    def patch(self, data: dict[str, Any], appointment_id: int) -> Appointment:
        """Reschedule (needs If-Match: 428 without, 412 when stale)"""
        current = booking.get_appointment(session(), actor(), appointment_id, lock=True)
        blp.check_etag(current, AppointmentSchema)
        return committed(
            booking.reschedule_appointment(
                session(), actor(), now(), appointment_id, **data, reminder_before=reminder_before()
            )
        )


@blp.route("/appointments/<int:appointment_id>/cancel")
class CancelAppointment(MethodView):
    @blp.writing(ReasonArgs, AppointmentSchema, status=200)
    def post(self, data: dict[str, Any], appointment_id: int) -> Appointment:
        """Cancel; the pathway returns to its state before the booking"""
        return committed(
            cancellation.cancel_appointment(
                session(), actor(), now(), appointment_id, data["reason"]
            )
        )


@blp.route("/appointments/<int:appointment_id>/no-show")
class NoShow(MethodView):
    @blp.writing(OptionalReasonArgs, AppointmentSchema, status=200)
    def post(self, data: dict[str, Any], appointment_id: int) -> Appointment:
        """Record a no-show (after the start); the pathway returns as for a cancel"""
        return committed(
            cancellation.record_no_show(session(), actor(), now(), appointment_id, data["reason"])
        )


@blp.route("/clinicians/<int:clinician_id>/daily-list")
class DailyList(MethodView):
    @blp.arguments(DailyListQueryArgs, location="query")
    @blp.response(200, DailyListSchema)
    def get(self, args: dict[str, Any], clinician_id: int) -> dict[str, Any]:
        """A clinician's cases on a date, in start order, in the site's time zone"""
        day: date = args["date"]
        cases = daily_list(session(), clinician_id, day)
        return {"clinician_id": clinician_id, "date": day, "cases": [_case(c) for c in cases]}


def _case(case: Case) -> dict[str, Any]:
    appointment = case.appointment
    return {
        "appointment_id": appointment.id,
        "pathway_id": case.pathway.id,
        "kind": appointment.kind,
        "status": appointment.status,
        "start": appointment.start_at,
        "end": appointment.end_at,
        "start_local": local_time(appointment.start_at, appointment.timezone),
        "end_local": local_time(appointment.end_at, appointment.timezone),
        "timezone": appointment.timezone,
        "site_id": appointment.site_id,
        "room": case.room,
        "equipment": case.equipment,
        "recovery_bay": case.recovery_bay,
        "patient": case.patient,
        "indication": case.pathway.indication,
        "side": appointment.side,
        "levels": appointment.levels,
        "method": appointment.method,
        "sedation": case.pathway.sedation,
        "pathway_state": case.pathway.state,
        "readiness": case.readiness,
    }


def _slot_out(slot: Slot, timezone: str, **extra: Any) -> SimpleNamespace:
    return SimpleNamespace(
        start=slot.start,
        end=slot.end,
        timezone=timezone,
        clinician_id=slot.clinician_id,
        room_id=slot.room_id,
        equipment_ids=list(slot.equipment_ids),
        recovery_bay_id=slot.recovery_bay_id,
        **extra,
    )


@blp.route("/pathways/<int:pathway_id>/slots")
class PathwaySlots(MethodView):
    @blp.arguments(SlotQueryArgs, location="query")
    @blp.response(200, SlotSchema(many=True))
    @blp.alt_response(422, description="Invalid input or prerequisites unmet (``unmet``)")
    def get(self, args: dict[str, Any], pathway_id: int) -> list[SimpleNamespace]:
        """The earliest feasible slots for the pathway's next step, with their resources"""
        found, timezone = search_slots(session(), actor(), now(), pathway_id, **args)
        return [_slot_out(slot, timezone) for slot in found]


@blp.route("/holds")
class Holds(MethodView):
    @blp.writing(HoldCreateArgs, HoldSchema)
    @blp.alt_response(409, description="Slot taken")
    @blp.alt_response(422, description="Invalid input or prerequisites unmet")
    def post(self, data: dict[str, Any]) -> SimpleNamespace:
        """Hold one slot's resources for a few minutes; book it with ``hold_id`` (or, held
        with ``appointment_id``, move that appointment to it with PATCH)"""
        ttl = timedelta(seconds=current_app.config["HOLD_TTL_SECONDS"])
        hold, slot, timezone = holds.place_hold(session(), actor(), now(), ttl=ttl, **data)
        session().commit()
        return _slot_out(
            slot,
            timezone,
            hold_id=hold.id,
            pathway_id=hold.pathway_id,
            kind=hold.kind,
            appointment_id=hold.appointment_id,
            expires_at=hold.expires_at,
        )


@blp.route("/holds/<hold_id>")
class HoldById(MethodView):
    @blp.response(204)
    def delete(self, hold_id: str) -> None:
        """Let a held slot go before it expires"""
        holds.release_hold(session(), actor(), hold_id)
        session().commit()
