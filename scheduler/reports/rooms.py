"""Room use: booked against open minutes, and first-case on-time starts."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, timedelta
from typing import Any, Final

from sqlalchemy import CompoundSelect, Select, cast, func, null, or_, select, union_all
from sqlalchemy.orm import Session

from scheduler.clinical.models import ProcedureRecord
from scheduler.clinicians.models import PastWorkingHours, TimeOff, WorkingHours
from scheduler.db import minutes_between
from scheduler.facilities.models import Room, Site
from scheduler.reports.figures import Away, Hours, Period, open_minutes
from scheduler.reports.reading import Built, day_of, in_period
from scheduler.reports.tables import Cell, Chart, Column, Figure, Kind, Table, rate
from scheduler.scheduling.models import Appointment
from scheduler.vocabulary import AppointmentKind, AppointmentStatus

ON_TIME_MINUTES: Final = 10


def _booked_statement(site: Site, period: Period) -> Select[Any]:
    day = day_of(Appointment.start_at, period).label("day")
    return (
        select(
            day,
            Appointment.room_id,
            func.sum(minutes_between(Appointment.start_at, Appointment.end_at)),
        )
        .where(
            Appointment.site_id == site.id,
            in_period(Appointment.start_at, period),
            Appointment.status != AppointmentStatus.CANCELLED,
        )
        .group_by(day, Appointment.room_id)
    )


def _first_cases_statement(site: Site, period: Period) -> Select[Any]:
    day = day_of(Appointment.start_at, period)
    ranked = (
        select(
            day.label("day"),
            Appointment.room_id,
            minutes_between(Appointment.start_at, ProcedureRecord.started_at).label("late_by"),
            func.row_number()
            .over(partition_by=(day, Appointment.room_id), order_by=Appointment.start_at)
            .label("nth"),
        )
        .join(ProcedureRecord, ProcedureRecord.appointment_id == Appointment.id)
        .where(
            Appointment.site_id == site.id,
            Appointment.kind == AppointmentKind.PROCEDURE,
            in_period(Appointment.start_at, period),
        )
        .subquery()
    )
    return select(ranked.c.day, ranked.c.room_id, ranked.c.late_by).where(ranked.c.nth == 1)


def _hours_statement(site: Site, period: Period) -> CompoundSelect[Any]:
    """The site's working hours that held during the period: today's (since they were
    set) and those replaced since the period began (the span they held)."""
    until = cast(null(), PastWorkingHours.__table__.c.valid_until.type)
    today = select(
        WorkingHours.clinician_id,
        WorkingHours.weekday,
        WorkingHours.start_time,
        WorkingHours.end_time,
        WorkingHours.since_at,
        until,
    ).where(WorkingHours.site_id == site.id)
    replaced = select(
        PastWorkingHours.clinician_id,
        PastWorkingHours.weekday,
        PastWorkingHours.start_time,
        PastWorkingHours.end_time,
        PastWorkingHours.valid_from,
        PastWorkingHours.valid_until,
    ).where(
        PastWorkingHours.site_id == site.id,
        PastWorkingHours.valid_until > period.start,
        or_(PastWorkingHours.valid_from.is_(None), PastWorkingHours.valid_from < period.end),
    )
    return union_all(today, replaced)


def _staffing(session: Session, site: Site, period: Period) -> tuple[list[Hours], list[Away]]:
    hours = [Hours(*row) for row in session.execute(_hours_statement(site, period))]
    clinicians = {each.clinician_id for each in hours}
    away = [
        Away(clinician_id, start, end)
        for clinician_id, start, end in session.execute(
            select(TimeOff.clinician_id, TimeOff.start_at, TimeOff.end_at).where(
                TimeOff.clinician_id.in_(clinicians),
                TimeOff.start_at < period.end,
                TimeOff.end_at > period.start,
            )
        )
    ]
    return hours, away


def _day_row(day: date, room: str, booked: int, opened: int, first: str) -> tuple[Cell, ...]:
    return (day, room, booked, opened, rate(booked, opened), first)


def rooms(session: Session, site: Site, period: Period) -> Built:
    rooms = list(
        session.execute(select(Room.id, Room.name).where(Room.site_id == site.id).order_by(Room.id))
    )
    hours, away = _staffing(session, site, period)
    day_list = period.days
    opened = open_minutes(day_list, site.timezone, hours, away)
    booked: dict[tuple[int, int], float] = {
        (day, room): minutes or 0.0
        for day, room, minutes in session.execute(_booked_statement(site, period))
    }
    late_by: dict[tuple[int, int], float | None] = {
        (day, room): late
        for day, room, late in session.execute(_first_cases_statement(site, period))
    }

    def on_time(key: tuple[int, int]) -> bool:
        late = late_by[key]
        return late is not None and late <= ON_TIME_MINUTES

    def first_case(key: tuple[int, int]) -> str:
        """The day's first case in the room: on time, late, or none performed."""
        return ("yes" if on_time(key) else "no") if key in late_by else ""

    room_minutes: defaultdict[int, float] = defaultdict(float)
    day_minutes: defaultdict[int, float] = defaultdict(float)
    for (day, room_id), minutes in booked.items():
        room_minutes[room_id] += minutes
        day_minutes[day] += minutes
    firsts: Counter[int] = Counter()
    kept: Counter[int] = Counter()
    for key in late_by:
        firsts[key[1]] += 1
        kept[key[1]] += on_time(key)
    room_open = sum(opened)
    per_room = [
        (
            name,
            round(room_minutes[room_id]),
            room_open,
            rate(round(room_minutes[room_id]), room_open),
            firsts[room_id],
            kept[room_id],
            rate(kept[room_id], firsts[room_id]),
        )
        for room_id, name in rooms
    ]
    room_table = Table(
        "rooms",
        "Utilization and first-case starts by room",
        (
            Column("room", "Room", Kind.TEXT),
            Column("booked_minutes", "Booked minutes", Kind.MINUTES),
            Column("open_minutes", "Open minutes", Kind.MINUTES),
            Column("utilization", "Utilization", Kind.RATE),
            Column("first_cases", "First cases", Kind.COUNT),
            Column("on_time", "Started on time", Kind.COUNT),
            Column("on_time_rate", "On-time rate", Kind.RATE),
        ),
        tuple(per_room),
        Chart("bars", "room", ("utilization", "on_time_rate")),
        note="Open: while at least one clinician works at the site (the hours that held "
        "that day, less time off). On time: started within 10 minutes of the booked start.",
    )
    week_minutes: defaultdict[date, float] = defaultdict(float)
    week_open: Counter[date] = Counter()
    for n, on in enumerate(day_list):
        monday = on - timedelta(days=on.weekday())
        week_minutes[monday] += day_minutes[n]
        week_open[monday] += opened[n] * len(rooms)
    weekly = [
        (
            monday,
            round(week_minutes[monday]),
            week_open[monday],
            rate(round(week_minutes[monday]), week_open[monday]),
        )
        for monday in period.weeks()
    ]
    week_table = Table(
        "weeks",
        "Utilization of all rooms by week",
        (
            Column("week", "Week of", Kind.DATE),
            Column("booked_minutes", "Booked minutes", Kind.MINUTES),
            Column("open_minutes", "Open minutes", Kind.MINUTES),
            Column("utilization", "Utilization", Kind.RATE),
        ),
        tuple(weekly),
        Chart("line", "week", ("utilization",)),
    )
    daily = Table(
        "days",
        "Utilization per room and day",
        (
            Column("day", "Day", Kind.DATE),
            Column("room", "Room", Kind.TEXT),
            Column("booked_minutes", "Booked minutes", Kind.MINUTES),
            Column("open_minutes", "Open minutes", Kind.MINUTES),
            Column("utilization", "Utilization", Kind.RATE),
            Column("first_case_on_time", "First case on time", Kind.TEXT),
        ),
        tuple(
            _day_row(
                day, name, round(booked.get((n, room_id), 0.0)), opened[n], first_case((n, room_id))
            )
            for n, day in enumerate(day_list)
            for room_id, name in rooms
        ),
        on_page=False,
        note="A row per room and day, as a download.",
    )
    all_booked = sum(row[1] for row in per_room)
    all_open = sum(opened) * len(rooms)
    first_cases = sum(row[4] for row in per_room)
    figures = [
        Figure("utilization", "Room utilization", Kind.RATE, rate(all_booked, all_open)),
        Figure("booked_minutes", "Booked minutes", Kind.MINUTES, all_booked),
        Figure(
            "first_case_on_time",
            "First cases on time",
            Kind.RATE,
            rate(sum(row[5] for row in per_room), first_cases),
        ),
    ]
    return (
        "Booked minutes (every appointment not cancelled) against the minutes the site was "
        "open, and whether each day's first procedure in a room started on time.",
        figures,
        [room_table, week_table, daily],
    )
