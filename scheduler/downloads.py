"""Calendar files the faces send: the patient's invite of an appointment.

The API (``/appointments/{id}/invite.ics``, the signed ``/i/<token>.ics`` link) and the
patient's own page answer with the same file and headers: it is built here, once.
"""

from __future__ import annotations

from flask import Response, current_app

from scheduler.context import now, session
from scheduler.invites.ics import build_invite
from scheduler.invites.services import clinic_of, invite_for
from scheduler.scheduling.models import Appointment
from scheduler.settings import alarm_minutes

CALENDAR = "text/calendar"


def invite_download(appointment: Appointment) -> Response:
    """The invite as a download; never kept by a cache (it names the patient's visit)."""
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
