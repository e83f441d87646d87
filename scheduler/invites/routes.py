"""Invites: ``/appointments/{id}/invite.ics`` (signed in) and ``/i/<token>.ics`` (a link).

The link is what patients tap in their e-mail: it needs no login, so it names one
version of one appointment, is signed, and stops working once the appointment is moved,
cancelled or over. Every refusal is the same 404.
"""

from __future__ import annotations

from typing import Any

import flask
from flask import Response, abort, current_app
from flask.views import MethodView

from scheduler.api import Blueprint
from scheduler.context import actor, now, session
from scheduler.invites.ics import build_invite
from scheduler.invites.schemas import InviteLinkSchema
from scheduler.invites.services import (
    LINK_GRACE,
    appointment_for_link,
    clinic_of,
    invite_for,
    link_url,
)
from scheduler.scheduling.models import Appointment
from scheduler.scheduling.services import get_appointment
from scheduler.settings import alarm_minutes

blp = Blueprint("invites", __name__, description="Calendar invites of appointments")
links = flask.Blueprint("invite_links", __name__)

CALENDAR = "text/calendar"


def calendar_response(appointment: Appointment) -> Response:
    body = build_invite(
        invite_for(session(), appointment),
        clinic_of(appointment.site, current_app.config["MAIL_FROM"]),
        now=now(),
        alarms=alarm_minutes(current_app.config["INVITE_ALARM_MINUTES"]),
    )
    return Response(
        body,
        mimetype=CALENDAR,
        headers={
            "Content-Disposition": f'attachment; filename="appointment-{appointment.id}.ics"',
            "Cache-Control": "private, no-store",
        },
    )


@blp.route("/appointments/<int:appointment_id>/invite.ics")
class AppointmentInvite(MethodView):
    @blp.doc(
        responses={
            "200": {
                "description": "The invite (METHOD:REQUEST, or CANCEL once cancelled)",
                "content": {CALENDAR: {"schema": {"type": "string"}}},
            }
        }
    )
    def get(self, appointment_id: int) -> Response:
        """The patient's calendar invite of an appointment (RFC 5545/5546)"""
        return calendar_response(get_appointment(session(), actor(), appointment_id))


@blp.route("/appointments/<int:appointment_id>/invite-link")
class AppointmentInviteLink(MethodView):
    @blp.response(200, InviteLinkSchema)
    def get(self, appointment_id: int) -> dict[str, Any]:
        """A link to the invite that needs no login; it stops working when the appointment
        is moved, cancelled or over"""
        appointment = get_appointment(session(), actor(), appointment_id)
        url = link_url(
            current_app.config["PUBLIC_BASE_URL"], current_app.config["SECRET_KEY"], appointment
        )
        return {"url": url, "expires_at": appointment.end_at + LINK_GRACE}


@links.get("/i/<token>.ics")
def invite_by_link(token: str) -> Response:
    appointment = appointment_for_link(session(), current_app.config["SECRET_KEY"], token, now())
    if appointment is None:
        abort(404)
    return calendar_response(appointment)
