"""Clinicians: ``/clinicians``, their working hours, time off and durations."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from scheduler.api import Blueprint, Statement
from scheduler.clinicians import services
from scheduler.clinicians.models import Clinician, TimeOff, WorkingHours
from scheduler.clinicians.schemas import (
    ClinicianCreateArgs,
    ClinicianSchema,
    DurationArgs,
    DurationSchema,
    TimeOffCreateArgs,
    TimeOffSchema,
    WorkingHoursArgs,
    WorkingHoursQueryArgs,
    WorkingHoursSchema,
)
from scheduler.context import actor, committed, now, session
from scheduler.scheduling.time_off import add_time_off

blp = Blueprint("clinicians", __name__, description="Clinicians, working hours, time off")


@blp.route("/clinicians")
class Clinicians(MethodView):
    @blp.listing(ClinicianSchema)
    def get(self) -> Statement[Clinician]:
        """List clinicians"""
        return services.list_statement()

    @blp.writing(ClinicianCreateArgs, ClinicianSchema)
    def post(self, data: dict[str, Any]) -> Clinician:
        """Add a clinician"""
        return committed(services.create_clinician(session(), actor(), now(), **data))


@blp.route("/clinicians/<int:clinician_id>")
class ClinicianById(MethodView):
    @blp.response(200, ClinicianSchema)
    def get(self, clinician_id: int) -> Clinician:
        """Get a clinician"""
        return services.get_clinician(session(), clinician_id)


STRANDED_HEADER = "Stranded-Appointments"


@blp.route("/clinicians/<int:clinician_id>/working-hours")
class ClinicianWorkingHours(MethodView):
    @blp.response(200, WorkingHoursSchema(many=True))
    def get(self, clinician_id: int) -> list[WorkingHours]:
        """Weekly working hours (site-local wall-clock times)"""
        return services.working_hours(session(), clinician_id)

    @blp.arguments(WorkingHoursQueryArgs, location="query", as_kwargs=True)
    @blp.writing(
        WorkingHoursArgs(many=True),
        WorkingHoursSchema(many=True),
        status=200,
        headers={
            STRANDED_HEADER: {
                "description": "Ids of the booked appointments the confirmed hours left "
                "outside them, now marked for rebooking (comma-separated; absent if none)",
                "schema": {"type": "string"},
            }
        },
    )
    def put(
        self, intervals: list[dict[str, Any]], clinician_id: int, confirm_stranded: bool
    ) -> tuple[list[WorkingHours], dict[str, str]]:
        """Replace the weekly hours (a list of site_id, weekday, start, end)

        Hours that would leave booked appointments outside them are refused (409
        bookings-stranded, naming them) unless sent with ``?confirm_stranded=true``.
        """
        hours, stranded = services.replace_working_hours(
            session(), actor(), now(), clinician_id, intervals, confirm_stranded=confirm_stranded
        )
        session().commit()
        marked = ", ".join(str(s.appointment_id) for s in stranded)
        return hours, {STRANDED_HEADER: marked} if marked else {}


@blp.route("/clinicians/<int:clinician_id>/time-off")
class ClinicianTimeOff(MethodView):
    @blp.listing(TimeOffSchema)
    def get(self, clinician_id: int) -> Statement[TimeOff]:
        """List time off, latest first"""
        services.get_clinician(session(), clinician_id)
        return services.time_off_statement(clinician_id)

    @blp.writing(TimeOffCreateArgs, TimeOffSchema)
    def post(self, data: dict[str, Any], clinician_id: int) -> dict[str, Any]:
        """Record time off

        Time off over booked appointments is refused (409 bookings-stranded, naming them)
        unless the body says ``"confirm_stranded": true``; then the response lists them,
        marked for rebooking.
        """
        time_off, stranded = add_time_off(session(), actor(), now(), clinician_id, **data)
        session().commit()
        return {
            "id": time_off.id,
            "clinician_id": clinician_id,
            "start_at": time_off.start_at,
            "end_at": time_off.end_at,
            "reason": time_off.reason,
            "conflicting_appointment_ids": [s.appointment_id for s in stranded],
            "stranded": stranded,
        }


@blp.route("/clinicians/<int:clinician_id>/durations")
class ClinicianDurations(MethodView):
    @blp.response(200, DurationSchema(many=True))
    def get(self, clinician_id: int) -> list[dict[str, Any]]:
        """How long each appointment kind takes this clinician (own or the default)"""
        return services.durations(session(), clinician_id)

    @blp.writing(DurationArgs(many=True), DurationSchema(many=True), status=200)
    def put(self, overrides: list[dict[str, Any]], clinician_id: int) -> list[dict[str, Any]]:
        """Replace the clinician's own durations; kinds left out use the default"""
        services.set_durations(session(), actor(), now(), clinician_id, overrides)
        session().commit()
        return services.durations(session(), clinician_id)
