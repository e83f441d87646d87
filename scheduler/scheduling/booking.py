"""Booking and moving appointments at explicit times (SPEC §4).

A booking runs the checks of ``checks.py`` in their order, then writes the appointment,
its allocations (the database refuses an overlap a concurrent request won), the patient's
invite and reminder in the outbox, the EHR's SIU message, and the pathway's transition:
all in the caller's transaction, or nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, and_, delete, false, not_, or_, select, true
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from scheduler.access import Actor
from scheduler.db import saved
from scheduler.errors import InvalidInput
from scheduler.facilities.models import Site
from scheduler.hl7v2 import services as hl7
from scheduler.hl7v2.messages import SiuEvent
from scheduler.outbox import services as outbox
from scheduler.pathways import services as pathways
from scheduler.pathways.models import Pathway
from scheduler.pathways.states import PathwayState, Trigger
from scheduler.scheduling import checks, slots
from scheduler.scheduling.checks import open_appointment
from scheduler.scheduling.holds import allocate, claim_hold
from scheduler.scheduling.models import Allocation, Appointment, Hold
from scheduler.vocabulary import AppointmentKind, AppointmentStatus, Method, VacancySource
from scheduler.waitlist import vacancies

# ---------------------------------------------------------------------------------------
# Reading

# Reading one appointment is the checks' (holds and booking share it); read it here too.
get_appointment = checks.get_appointment
require_visible = checks.require_visible


def list_statement(actor: Actor, filters: dict[str, Any]) -> Select[Appointment]:
    """Appointments in time order, filtered (patients: only their own)."""
    statement = select(Appointment).order_by(Appointment.start_at, Appointment.id)
    if actor.is_patient:
        statement = statement.where(Appointment.patient_id == actor.patient_id)
    for name in ("pathway_id", "patient_id", "clinician_id", "kind", "status"):
        if name in filters:
            statement = statement.where(getattr(Appointment, name) == filters[name])
    if "after" in filters:
        statement = statement.where(Appointment.end_at > filters["after"])
    if "before" in filters:
        statement = statement.where(Appointment.start_at < filters["before"])
    return statement


# The pathway states in which a booked procedure's patient is here (checked in, or on
# the table): the appointment has "arrived" for the outside world.
ARRIVED: Final = (PathwayState.CHECKED_IN, PathwayState.IN_PROCEDURE)
# A bound on the start: an operator (eq, ne, gt, ge, lt, le) and an instant, or a date
# that means that day at each appointment's own site (on its wall clock).
StartBound = tuple[str, datetime | date]


def search_statement(
    session: Session,
    actor: Actor,
    *,
    patient_id: int | None = None,
    clinician_id: int | None = None,
    room_id: int | None = None,
    site_id: int | None = None,
    services: Sequence[tuple[AppointmentKind, Method | None]] = (),
    statuses: Sequence[tuple[AppointmentStatus, bool | None]] = (),
    starts: Sequence[StartBound] = (),
) -> Select[Appointment, PathwayState]:
    """Appointments (patients: their own) with their pathway's state, in time order.

    ``services`` and ``statuses`` are alternatives (any of them); a status may require
    the patient to have arrived (True) or not (False). Every bound of ``starts`` holds.
    """
    statement = (
        list_statement(actor, {})
        .join(Pathway, Pathway.id == Appointment.pathway_id)
        .add_columns(Pathway.state)
    )
    for name, value in (
        ("patient_id", patient_id),
        ("clinician_id", clinician_id),
        ("room_id", room_id),
        ("site_id", site_id),
    ):
        if value is not None:
            statement = statement.where(getattr(Appointment, name) == value)
    if services:
        statement = statement.where(or_(*(_service(k, m) for k, m in services)))
    if statuses:
        statement = statement.where(or_(*(_status(s, arrived) for s, arrived in statuses)))
    if any(isinstance(when, date) and not isinstance(when, datetime) for _op, when in starts):
        sites = list(session.scalars(select(Site)))
    else:
        sites = []
    for op, when in starts:
        statement = statement.where(_start_bound(op, when, sites))
    return statement


def _service(kind: AppointmentKind, method: Method | None) -> ColumnElement[bool]:
    if method is None:
        return and_(Appointment.kind == kind, Appointment.method.is_(None))
    return and_(Appointment.kind == kind, Appointment.method == method)


def _status(status: AppointmentStatus, arrived: bool | None) -> ColumnElement[bool]:
    if arrived is None:
        return Appointment.status == status
    here = Pathway.state.in_(ARRIVED)
    return and_(Appointment.status == status, here if arrived else not_(here))


def _start_bound(op: str, when: datetime | date, sites: Sequence[Site]) -> ColumnElement[bool]:
    """``Appointment.start_at`` against an instant, or against a day at each site."""
    start = Appointment.start_at
    if isinstance(when, datetime):
        return {
            "eq": start == when,
            "ne": start != when,
            "gt": start > when,
            "ge": start >= when,
            "lt": start < when,
            "le": start <= when,
        }[op]
    per_site = []
    for site in sites:
        zone = ZoneInfo(site.timezone)
        first = datetime.combine(when, time(), zone)
        after = datetime.combine(when + timedelta(days=1), time(), zone)
        inside = and_(start >= first, start < after)
        bound = {
            "eq": inside,
            "ne": not_(inside),
            "gt": start >= after,
            "ge": start >= first,
            "lt": start < first,
            "le": start < after,
        }[op]
        per_site.append(and_(Appointment.site_id == site.id, bound))
    return or_(false(), *per_site) if per_site else (true() if op == "ne" else false())


# ---------------------------------------------------------------------------------------
# Booking


def _held_choice(
    hold: Hold,
    kind: AppointmentKind,
    *,
    start: datetime | None,
    room_id: int | None,
    clinician_id: int | None,
    method: Method | None,
) -> tuple[datetime, int, int, Method | None]:
    """The hold's start, room, clinician and method; what a booking sends besides its
    hold_id must agree with them."""
    mismatch = [
        name
        for name, sent, held in (
            ("start", start, hold.start_at),
            ("room_id", room_id, hold.room_id),
            ("clinician_id", clinician_id, hold.clinician_id),
            ("method", method if kind is AppointmentKind.PROCEDURE else None, hold.method),
        )
        if sent is not None and sent != held
    ]
    if mismatch:
        raise InvalidInput({name: ["Differs from the hold."] for name in mismatch})
    return hold.start_at, hold.room_id, hold.clinician_id, hold.method


def book_appointment(
    session: Session,
    actor: Actor,
    now: datetime,
    *,
    pathway_id: int,
    kind: AppointmentKind,
    start: datetime | None = None,
    room_id: int | None = None,
    clinician_id: int | None = None,
    method: Method | None = None,
    hold_id: str | None = None,
    reminder_before: timedelta,
) -> Appointment:
    """Book one step of the pathway; all checks pass and every resource is allocated, or
    nothing is written. With ``hold_id`` the held resources are taken over. The
    patient's invite and reminder are queued in the same transaction."""
    want = checks.wanted(session, actor, pathway_id, kind, method)
    hold = claim_hold(session, actor, now, hold_id, want.pathway, kind) if hold_id else None
    if hold is not None:
        if hold.appointment_id is not None:
            raise InvalidInput.field(
                "hold_id", f"That hold moves appointment {hold.appointment_id}: send it there."
            )
        start, room_id, clinician_id, held_method = _held_choice(
            hold, kind, start=start, room_id=room_id, clinician_id=clinician_id, method=want.method
        )
        want = replace(want, method=held_method)
    if start is None:
        raise InvalidInput.field("start", "Send a start, or a hold_id.")
    fitted = checks.fit_start(
        session,
        now,
        want,
        start,
        clinician_id=clinician_id,
        room_id=room_id,
        ignore_hold=hold.id if hold else None,
    )
    if hold is not None:
        session.delete(hold)  # its allocations go with it, before ours are written
        session.flush()
    appointment = saved(session, _new_appointment(actor, now, want, fitted))
    _allocate_for(session, appointment, fitted.slot, fitted.calendars)
    outbox.announce_booked(session, appointment, now, reminder_before=reminder_before, first=True)
    hl7.report(session, appointment, SiuEvent.NEW, now)
    pathways.transition(
        session,
        want.pathway,
        fitted.trigger,
        actor,
        now,
        appointment_id=appointment.id,
        data={
            "kind": kind.value,
            "start": start.isoformat(),
            "room_id": fitted.slot.room_id,
            **({"hold_id": hold_id} if hold_id else {}),
        },
    )
    return appointment


def _new_appointment(
    actor: Actor, now: datetime, want: checks.Wanted, fitted: checks.Fitted
) -> Appointment:
    """A booked appointment for the fitted slot; its calendar UID is random, never changed."""
    pathway, slot = want.pathway, fitted.slot
    return Appointment(
        pathway_id=pathway.id,
        patient_id=pathway.patient_id,
        clinician_id=fitted.clinician_id,
        site=want.site,
        room_id=slot.room_id,
        kind=want.kind,
        status=AppointmentStatus.BOOKED,
        start_at=slot.start,
        end_at=slot.end,
        method=want.method,
        side=pathway.side,
        levels=list(pathway.levels),
        version=1,
        created_at=now,
        updated_at=now,
        booked_by_id=actor.user_id,
        ical_uid=str(uuid.uuid4()),
    )


def _allocate_for(
    session: Session, appointment: Appointment, slot: slots.Slot, calendars: slots.Calendars
) -> None:
    """The appointment's allocations, written and known to it without reading them back."""
    rows = allocate(session, slot, calendars, appointment.patient_id, appointment_id=appointment.id)
    set_committed_value(appointment, "allocations", rows)


# ---------------------------------------------------------------------------------------
# Moving


def _move(
    session: Session,
    appointment: Appointment,
    slot: slots.Slot,
    calendars: slots.Calendars,
    now: datetime,
) -> None:
    """The appointment takes ``slot`` in place of its old time: new allocations, version."""
    session.execute(delete(Allocation).where(Allocation.appointment_id == appointment.id))
    appointment.start_at, appointment.end_at, appointment.room_id = (
        slot.start,
        slot.end,
        slot.room_id,
    )
    appointment.version += 1
    appointment.updated_at = now
    appointment.rebook_reason = appointment.rebook_since = None  # it has a time again
    session.flush()
    _allocate_for(session, appointment, slot, calendars)


def reschedule_appointment(
    session: Session,
    actor: Actor,
    now: datetime,
    appointment_id: int,
    *,
    start: datetime | None = None,
    room_id: int | None = None,
    hold_id: str | None = None,
    reminder_before: timedelta,
) -> Appointment:
    """Move a booked appointment (to ``start``, or to the slot of a hold placed for the
    move, which the old time kept until now); it keeps its id (and its invite's UID), its
    version goes up and the patient's updated invite is queued.

    The move is re-checked like a booking. A pathway has one booked appointment at a
    time (each step waits for the result of the one before, SPEC §2), so every step
    before it is done and the gate checks the move against them: a second block stays
    the policy's interval after the first, a follow-up stays in its window.
    """
    appointment, pathway = open_appointment(session, actor, appointment_id)
    hold = claim_hold(session, actor, now, hold_id, pathway, appointment.kind) if hold_id else None
    if hold is not None:
        if hold.appointment_id != appointment.id:
            raise InvalidInput.field("hold_id", "That hold is not for moving this appointment.")
        start, room_id, _clinician, _method = _held_choice(
            hold, appointment.kind, start=start, room_id=room_id, clinician_id=None, method=None
        )
    slot, calendars = checks.fit_move(
        session,
        now,
        appointment,
        pathway,
        start or appointment.start_at,
        room_id=room_id,
        ignore_hold=hold.id if hold else None,
    )
    if hold is not None:
        session.delete(hold)  # its allocations go with it, before the moved ones are written
        session.flush()
    before = appointment.start_at
    vacancies.freed(session, actor, now, appointment, VacancySource.MOVED)
    _move(session, appointment, slot, calendars, now)
    outbox.announce_booked(session, appointment, now, reminder_before=reminder_before)
    hl7.report(session, appointment, SiuEvent.RESCHEDULED, now)
    pathways.transition(
        session,
        pathway,
        Trigger.RESCHEDULE_APPOINTMENT,
        actor,
        now,
        appointment_id=appointment.id,
        data={
            "from": before.isoformat(),
            "to": slot.start.isoformat(),
            "room_id": slot.room_id,
            **({"hold_id": hold_id} if hold_id else {}),
        },
    )
    return appointment
