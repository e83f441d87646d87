"""The checks that search, holds and booking share, so each answers the same way.

In the order booking runs them: the pathway is open and its state allows the kind (a
premature procedure answers with its unmet rules), a method only for a procedure, the
start is in the future and at least the site's notice ahead, the clinician exists, the
policy's gate holds on that site-local day; then ``fit_one`` asks the availability
function whether the room can host the kind and every resource is free at that start.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session, joinedload

from scheduler.access import Actor, require_patient_access
from scheduler.clinicians.models import Clinician
from scheduler.clock import local_date
from scheduler.db import found, referenced
from scheduler.errors import IllegalTransition, InvalidInput, NotFound, SlotTaken
from scheduler.facilities.models import Room, Site
from scheduler.pathways import gates
from scheduler.pathways import services as pathways
from scheduler.pathways.models import Pathway
from scheduler.pathways.states import BEFORE_ELIGIBLE, BOOKING_TRIGGER, Trigger, sources
from scheduler.scheduling import calendars, slots
from scheduler.scheduling.models import Appointment
from scheduler.vocabulary import AppointmentKind, AppointmentStatus, Method


def get_appointment(
    session: Session, actor: Actor, appointment_id: int, *, lock: bool = False
) -> Appointment:
    """The appointment, if ``actor`` may see it (patients: their own; same 403 otherwise)."""
    # FOR UPDATE OF the appointment only: not the site row its relationship joins in.
    lock_row = {"of": Appointment} if lock else None
    appointment = session.get(Appointment, appointment_id, with_for_update=lock_row)
    return require_visible(actor, appointment, appointment_id)


def require_visible(
    actor: Actor, appointment: Appointment | None, appointment_id: int
) -> Appointment:
    """``found`` if ``actor`` may see it. A patient asking for someone else's appointment
    and for a missing one gets the same 403, so ids reveal nothing."""
    require_patient_access(actor, appointment.patient_id if appointment else None)
    return found(appointment, "appointment", appointment_id)


def open_appointment(
    session: Session, actor: Actor, appointment_id: int
) -> tuple[Appointment, Pathway]:
    """A booked appointment and its pathway, both locked, for a change."""
    appointment = get_appointment(session, actor, appointment_id, lock=True)
    pathway = pathways.get_pathway(session, actor, appointment.pathway_id, lock=True)
    require_booked(appointment, pathway)
    return appointment, pathway


def require_booked(appointment: Appointment, pathway: Pathway) -> None:
    if appointment.status is not AppointmentStatus.BOOKED:
        raise IllegalTransition(
            pathway.state.value,
            "change_appointment",
            detail=f"The appointment is {appointment.status.value}.",
        )


def site_of(session: Session, pathway: Pathway) -> Site:
    return session.get_one(Site, pathway.site_id)


@dataclass(frozen=True)
class Wanted:
    """An appointment of ``kind`` (with ``method``, a procedure) for a locked pathway."""

    pathway: Pathway
    site: Site
    kind: AppointmentKind
    method: Method | None


def wanted(
    session: Session, actor: Actor, pathway_id: int, kind: AppointmentKind, method: Method | None
) -> Wanted:
    """What a hold or booking asks for: the pathway (locked), its site, kind and method."""
    pathway = pathway_for_booking(session, actor, pathway_id)
    return Wanted(pathway, site_of(session, pathway), kind, method_for(pathway, kind, method))


@dataclass(frozen=True)
class Fitted:
    """A start that passed every check: the booking's trigger, clinician and slot."""

    trigger: Trigger
    clinician_id: int
    slot: slots.Slot
    calendars: slots.Calendars


def fit_start(
    session: Session,
    now: datetime,
    want: Wanted,
    start: datetime,
    *,
    clinician_id: int | None,
    room_id: int | None,
    ignore_hold: str | None = None,
) -> Fitted:
    """Every check, in order, for booking ``want`` at ``start`` (a hold runs the same)."""
    on = local_date(start, want.site.timezone)
    trigger = require_bookable(session, want.pathway, want.kind, on, want.method)
    check_notice(want.site, start, now)
    clinician = clinician_for(session, want.pathway, clinician_id)
    check_gate(session, want.pathway, want.kind, on, want.method)
    slot, found = fit_one(
        session, now, want, start, clinician_id=clinician, room_id=room_id, ignore_hold=ignore_hold
    )
    return Fitted(trigger, clinician, slot, found)


def pathway_for_booking(session: Session, actor: Actor, pathway_id: int) -> Pathway:
    """The pathway, locked, with its site and patient (booking reads both) in one query."""
    try:
        return pathways.get_pathway(
            session,
            actor,
            pathway_id,
            lock=True,
            load=(joinedload(Pathway.site, innerjoin=True), joinedload(Pathway.patient)),
        )
    except NotFound:
        raise InvalidInput.field("pathway_id", f"No pathway with id {pathway_id}.") from None


def require_bookable(
    session: Session, pathway: Pathway, kind: AppointmentKind, on: date, method: Method | None
) -> Trigger:
    """The pathway's state allows booking ``kind`` (a premature procedure: its unmet rules)."""
    pathways.require_open(pathway)
    trigger = BOOKING_TRIGGER[kind]
    if pathway.state not in sources(trigger):
        if kind is AppointmentKind.PROCEDURE and pathway.state in BEFORE_ELIGIBLE:
            gates.eligibility(session, pathway, on, method).require()
        raise IllegalTransition(pathway.state.value, trigger.value)
    return trigger


def method_for(pathway: Pathway, kind: AppointmentKind, method: Method | None) -> Method | None:
    """A procedure's method (the pathway's unless another is asked for); other kinds none."""
    if kind is not AppointmentKind.PROCEDURE and method is not None:
        raise InvalidInput.field("method", "Only a procedure has a method.")
    return (method or pathway.method) if kind is AppointmentKind.PROCEDURE else None


def earliest_start(site: Site, now: datetime) -> datetime:
    return now + timedelta(minutes=site.min_notice_minutes)


def check_notice(site: Site, start: datetime, now: datetime) -> None:
    if start <= now:
        raise InvalidInput.field("start", "Must be in the future.")
    if start < earliest_start(site, now):
        raise InvalidInput.field("start", f"Book at least {site.min_notice_minutes} minutes ahead.")


def clinician_for(session: Session, pathway: Pathway, clinician_id: int | None) -> int:
    """The clinician asked for (who must exist), or the pathway's own."""
    if clinician_id is None or clinician_id == pathway.clinician_id:
        return pathway.clinician_id
    referenced(session, Clinician, clinician_id, "clinician_id")
    return clinician_id


def check_gate(
    session: Session,
    pathway: Pathway,
    kind: AppointmentKind,
    on: date,
    method: Method | None,
    *,
    ignore: int | None = None,
) -> None:
    gates.booking_verdicts(session, pathway, kind, [on], method, ignore=ignore)[on].require()


def calendars_for(
    session: Session,
    now: datetime,
    want: Wanted,
    clinician_id: int,
    window: slots.Interval,
    **ignore: Any,
) -> slots.Calendars:
    """The calendars ``want`` could use in ``window``: the clinician's, the patient's, and
    the site's rooms, units and bays for the kind (``ignore``: see load_calendars)."""
    return calendars.load_calendars(
        session,
        now,
        site=want.site,
        kind=want.kind,
        method=want.method,
        clinician_ids=[clinician_id],
        patient_id=want.pathway.patient_id,
        window=window,
        **ignore,
    )


def fit_one(
    session: Session,
    now: datetime,
    want: Wanted,
    start: datetime,
    *,
    clinician_id: int,
    room_id: int | None,
    **ignore: Any,
) -> tuple[slots.Slot, slots.Calendars]:
    """The availability function's answer for one start, as search would have given it."""
    window = slots.Interval(start, calendars.horizon(start))
    found = calendars_for(session, now, want, clinician_id, window, **ignore)
    if room_id is not None:
        rooms = tuple(room for room in found.rooms if room.id == room_id)
        if not rooms:
            _refuse_room(session, room_id, want.site, want.kind)
        found = replace(found, rooms=rooms)
    calendars.require_resources_exist(found, want.kind)
    answer = slots.fit(found, found.clinicians[0], start)
    if isinstance(answer, slots.Unfit):
        if answer.taken:
            raise SlotTaken(answer.taken)
        raise InvalidInput.field("start", answer.message)
    return answer, found


def require_movable(
    appointment: Appointment,
    pathway: Pathway,
    kind: AppointmentKind,
    *,
    method: Method | None = None,
    clinician_id: int | None = None,
) -> None:
    """``appointment`` is a booked step of ``pathway`` that may move now; a search or hold
    for its new time asks for its kind and keeps its method and clinician."""
    require_booked(appointment, pathway)
    if appointment.pathway_id != pathway.id or appointment.kind is not kind:
        raise InvalidInput.field(
            "appointment_id", f"Not a booked {kind.value.replace('_', ' ')} of this pathway."
        )
    if pathway.state not in sources(Trigger.RESCHEDULE_APPOINTMENT):
        raise IllegalTransition(pathway.state.value, Trigger.RESCHEDULE_APPOINTMENT.value)
    kept = (
        ("method", method, appointment.method),
        ("clinician_id", clinician_id, appointment.clinician_id),
    )
    changed = {
        name: ["A move keeps it: leave it out."]
        for name, sent, held in kept
        if sent is not None and sent != held
    }
    if changed:
        raise InvalidInput(changed)


def fit_move(
    session: Session,
    now: datetime,
    appointment: Appointment,
    pathway: Pathway,
    start: datetime,
    *,
    room_id: int | None,
    ignore_hold: str | None = None,
) -> tuple[slots.Slot, slots.Calendars]:
    """Every check for moving a booked appointment to ``start``, as for booking its kind
    there, judged as if the appointment were not booked (its own resources are free)."""
    if pathway.state not in sources(Trigger.RESCHEDULE_APPOINTMENT):
        raise IllegalTransition(pathway.state.value, Trigger.RESCHEDULE_APPOINTMENT.value)
    site = appointment.site
    check_notice(site, start, now)
    on = local_date(start, site.timezone)
    check_gate(session, pathway, appointment.kind, on, appointment.method, ignore=appointment.id)
    want = Wanted(pathway, site, appointment.kind, appointment.method)
    return fit_one(
        session,
        now,
        want,
        start,
        clinician_id=appointment.clinician_id,
        room_id=room_id,
        ignore_appointment=appointment.id,
        ignore_hold=ignore_hold,
    )


def _refuse_room(session: Session, room_id: int, site: Site, kind: AppointmentKind) -> None:
    """Why a room asked for is not among the rooms that can host ``kind`` at the site."""
    room = session.get(Room, room_id)
    if room is None:
        raise InvalidInput.field("room_id", f"No room with id {room_id}.")
    if room.site_id != site.id:
        raise InvalidInput.field("room_id", "The room is not at the pathway's site.")
    raise InvalidInput.field("room_id", f"A {kind.value} needs a room with fluoroscopy.")
