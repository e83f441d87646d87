"""Appointments (``/appointments``) and a clinician's daily list."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask.views import MethodView
from flask_smorest.pagination import PaginationParameters

from scheduler.api import Blueprint, paginated
from scheduler.context import actor, now, session
from scheduler.scheduling import services
from scheduler.scheduling.models import Appointment
from scheduler.scheduling.schemas import (
    AppointmentCreateArgs,
    AppointmentQueryArgs,
    AppointmentSchema,
    AppointmentUpdateArgs,
    DailyListQueryArgs,
    DailyListSchema,
    OptionalReasonArgs,
    ReasonArgs,
)
from scheduler.schemas import local_time

blp = Blueprint("scheduling", __name__, description="Appointments and daily lists")


@blp.route("/appointments")
class Appointments(MethodView):
    @blp.arguments(AppointmentQueryArgs, location="query")
    @blp.response(200, AppointmentSchema(many=True))
    @blp.paginate()
    def get(
        self, args: dict[str, Any], pagination_parameters: PaginationParameters
    ) -> list[Appointment]:
        """List appointments (patients: their own)"""
        statement = services.list_statement(actor(), args)
        return paginated(session(), statement, pagination_parameters)

    @blp.arguments(AppointmentCreateArgs)
    @blp.response(201, AppointmentSchema)
    @blp.alt_response(409, description="Slot taken or illegal transition")
    @blp.alt_response(422, description="Invalid input or prerequisites unmet")
    def post(self, data: dict[str, Any]) -> Appointment:
        """Book a pathway step at an explicit start time"""
        appointment = services.book_appointment(session(), actor(), now(), **data)
        session().commit()
        return appointment


@blp.route("/appointments/<int:appointment_id>")
class AppointmentById(MethodView):
    @blp.etag
    @blp.response(200, AppointmentSchema)
    def get(self, appointment_id: int) -> Appointment:
        """Get an appointment (its ETag guards PATCH)"""
        return services.get_appointment(session(), actor(), appointment_id)

    @blp.etag
    @blp.arguments(AppointmentUpdateArgs)
    @blp.response(200, AppointmentSchema)
    @blp.alt_response(409, description="Slot taken or illegal transition")
    def patch(self, data: dict[str, Any], appointment_id: int) -> Appointment:
        """Reschedule (needs If-Match: 428 without, 412 when stale)"""
        current = services.get_appointment(session(), actor(), appointment_id, lock=True)
        blp.check_etag(current, AppointmentSchema)
        appointment = services.reschedule_appointment(
            session(), actor(), now(), appointment_id, **data
        )
        session().commit()
        return appointment


@blp.route("/appointments/<int:appointment_id>/cancel")
class CancelAppointment(MethodView):
    @blp.arguments(ReasonArgs)
    @blp.response(200, AppointmentSchema)
    def post(self, data: dict[str, Any], appointment_id: int) -> Appointment:
        """Cancel; the pathway returns to its state before the booking"""
        appointment = services.cancel_appointment(
            session(), actor(), now(), appointment_id, data["reason"]
        )
        session().commit()
        return appointment


@blp.route("/appointments/<int:appointment_id>/no-show")
class NoShow(MethodView):
    @blp.arguments(OptionalReasonArgs)
    @blp.response(200, AppointmentSchema)
    def post(self, data: dict[str, Any], appointment_id: int) -> Appointment:
        """Record a no-show (after the start); the pathway returns as for a cancel"""
        appointment = services.record_no_show(
            session(), actor(), now(), appointment_id, data["reason"]
        )
        session().commit()
        return appointment


@blp.route("/clinicians/<int:clinician_id>/daily-list")
class DailyList(MethodView):
    @blp.arguments(DailyListQueryArgs, location="query")
    @blp.response(200, DailyListSchema)
    def get(self, args: dict[str, Any], clinician_id: int) -> dict[str, Any]:
        """A clinician's cases on a date, in start order, in the site's time zone"""
        day: date = args["date"]
        rows = services.daily_list(session(), clinician_id, day)
        return {
            "clinician_id": clinician_id,
            "date": day,
            "cases": [
                {
                    "appointment_id": appointment.id,
                    "pathway_id": pathway.id,
                    "kind": appointment.kind,
                    "status": appointment.status,
                    "start": appointment.start_at,
                    "end": appointment.end_at,
                    "start_local": local_time(appointment.start_at, appointment.timezone),
                    "end_local": local_time(appointment.end_at, appointment.timezone),
                    "timezone": appointment.timezone,
                    "site_id": appointment.site_id,
                    "room": room,
                    "patient": patient,
                    "indication": pathway.indication,
                    "side": appointment.side,
                    "levels": appointment.levels,
                    "method": appointment.method,
                    "pathway_state": pathway.state,
                }
                for appointment, pathway, patient, room in rows
            ],
        }
