"""Files the faces send: the patient's invite of an appointment, a report's table.

The API (``/appointments/{id}/invite.ics``, the signed ``/i/<token>.ics`` link) and the
patient's own page answer with the same invite, and the reports API and page with the
same CSV: each is built here, once.
"""

from __future__ import annotations

from flask import Response, current_app

from scheduler.context import now, session
from scheduler.errors import InvalidInput
from scheduler.invites.ics import build_invite
from scheduler.invites.services import clinic_of, invite_for
from scheduler.reports.csv import filename, table_csv
from scheduler.reports.tables import Report
from scheduler.scheduling.models import Appointment
from scheduler.settings import alarm_minutes

CALENDAR = "text/calendar"
CSV = "text/csv"


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


def report_csv(report: Report, table_name: str | None) -> Response:
    """One table of ``report`` (``table_name``, default the first) as a CSV download."""
    names = [table.name for table in report.tables]
    if table_name is not None and table_name not in names:
        raise InvalidInput.field("table", f"This report's tables are: {', '.join(names)}.")
    table = report.table(table_name or names[0])
    return Response(
        table_csv(table),
        mimetype=CSV,
        headers={
            "Content-Disposition": f'attachment; filename="{filename(report, table)}"',
            "Cache-Control": "private, no-store",
        },
    )
