"""No-shows and late cancellations by kind of appointment."""

from __future__ import annotations

from collections import Counter
from typing import Any, Final

from sqlalchemy import Select, case, func, select
from sqlalchemy.orm import Session

from scheduler.db import minutes_between
from scheduler.facilities.models import Site
from scheduler.reports.figures import Period
from scheduler.reports.reading import Built, appointments_at
from scheduler.reports.tables import Chart, Column, Figure, Kind, Table, rate
from scheduler.scheduling.models import Appointment
from scheduler.vocabulary import AppointmentKind, AppointmentStatus

LATE_CANCELLATION_MINUTES: Final = 48 * 60

KIND_TITLES: Final = {
    AppointmentKind.DIAGNOSTIC_BLOCK: "Diagnostic block",
    AppointmentKind.PROCEDURE: "Procedure",
    AppointmentKind.FOLLOW_UP: "Follow-up",
}


def _attendance_statement(site: Site, period: Period) -> Select[Any]:
    late = case(
        (
            (Appointment.status == AppointmentStatus.CANCELLED)
            & (
                minutes_between(Appointment.updated_at, Appointment.start_at)
                < LATE_CANCELLATION_MINUTES
            ),
            1,
        ),
        else_=0,
    ).label("late")
    return (
        select(Appointment.kind, Appointment.status, late, func.count())
        .where(appointments_at(site, period))
        .group_by(Appointment.kind, Appointment.status, late)
    )


def attendance(session: Session, site: Site, period: Period) -> Built:
    counts: dict[AppointmentKind, Counter[str]] = {kind: Counter() for kind in KIND_TITLES}
    for kind, status, late, count in session.execute(_attendance_statement(site, period)):
        if status is AppointmentStatus.CANCELLED:
            counts[kind]["late" if late else "early"] += count
        else:
            counts[kind][status.value] += count
    total: Counter[str] = sum(counts.values(), Counter())

    def row(title: str, c: Counter[str]) -> tuple[Any, ...]:
        due = c.total() - c["early"]
        return (
            title,
            due,
            c[AppointmentStatus.COMPLETED.value],
            c[AppointmentStatus.NO_SHOW.value],
            rate(c[AppointmentStatus.NO_SHOW.value], due),
            c["late"],
            rate(c["late"], due),
            c["early"],
            c[AppointmentStatus.BOOKED.value],
        )

    table = Table(
        "kinds",
        "Attendance by kind of appointment",
        (
            Column("kind", "Kind", Kind.TEXT),
            Column("due", "Due", Kind.COUNT),
            Column("attended", "Attended", Kind.COUNT),
            Column("no_shows", "No-shows", Kind.COUNT),
            Column("no_show_rate", "No-show rate", Kind.RATE),
            Column("late_cancellations", "Cancelled under 48 h ahead", Kind.COUNT),
            Column("late_cancellation_rate", "Late cancellation rate", Kind.RATE),
            Column("early_cancellations", "Cancelled 48 h or more ahead", Kind.COUNT),
            Column("still_booked", "Booked, not yet recorded", Kind.COUNT),
        ),
        (
            *(row(title, counts[kind]) for kind, title in KIND_TITLES.items()),
            row("All", total),
        ),
        Chart("bars", "kind", ("no_show_rate", "late_cancellation_rate")),
        note="Due: booked to start in the range and not cancelled 48 hours or more ahead.",
    )
    due = total.total() - total["early"]
    figures = [
        Figure("due", "Appointments due", Kind.COUNT, due),
        Figure(
            "no_show_rate",
            "No-show rate",
            Kind.RATE,
            rate(total[AppointmentStatus.NO_SHOW.value], due),
        ),
        Figure(
            "late_cancellation_rate", "Late cancellation rate", Kind.RATE, rate(total["late"], due)
        ),
    ]
    return (
        "Appointments booked to start in the range: who came, who did not, and who "
        "cancelled too late for the slot to be used.",
        figures,
        [table],
    )
