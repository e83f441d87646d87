"""Invites: ``/appointments/{id}/invite.ics`` (signed in) and ``/i/<token>.ics`` (a link).

The link is what patients tap in their e-mail: it needs no login, so it names one
version of one appointment, is signed, and stops working once the appointment is moved,
cancelled or over. Every refusal is the same 404.
"""

from __future__ import annotations

import flask
from flask import Response, abort, current_app
from flask.views import MethodView

from scheduler.api import Blueprint
from scheduler.context import actor, now, session
from scheduler.downloads import CALENDAR, invite_download
from scheduler.invites.schemas import InviteLinkSchema
from scheduler.invites.services import InviteLink, appointment_for_link, live_link
from scheduler.scheduling.booking import get_appointment

blp = Blueprint("invites", __name__, description="Calendar invites of appointments")
links = flask.Blueprint("invite_links", __name__)


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
        return invite_download(get_appointment(session(), actor(), appointment_id))


@blp.route("/appointments/<int:appointment_id>/invite-link")
class AppointmentInviteLink(MethodView):
    @blp.response(200, InviteLinkSchema)
    @blp.alt_response(
        409,
        description="``invite-link-unavailable``: the appointment is cancelled, a no-show, "
        "completed or over, so no link would work",
    )
    def get(self, appointment_id: int) -> InviteLink:
        """A link to the invite that needs no login; it stops working when the appointment
        is moved, cancelled or over

        Only a booked appointment that is not over has one: for any other the answer is
        409 ``invite-link-unavailable`` (the appointment is still there; its state rules
        the link out), never a link that is already dead.
        """
        return live_link(
            current_app.config["PUBLIC_BASE_URL"],
            current_app.config["SECRET_KEY"],
            get_appointment(session(), actor(), appointment_id),
            now(),
        )


@links.get("/i/<token>.ics")
def invite_by_link(token: str) -> Response:
    appointment = appointment_for_link(session(), current_app.config["SECRET_KEY"], token, now())
    if appointment is None:
        abort(404)
    return invite_download(appointment)
