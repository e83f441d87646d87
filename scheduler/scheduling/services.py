"""Booking, rescheduling, cancelling appointments at explicit times, and the daily list.

A booking is checked in this order, so the answer names the first real obstacle:
the pathway's state allows the kind (for a procedure while prerequisites are unmet,
the unmet rules), the time is in the future and inside the clinician's working hours
at the pathway's site, the room can host the kind, the policy's gate for that step
holds, and nobody involved (clinician, room, patient) is already booked then.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from scheduler.auth.access import Actor, require_case_write
from scheduler.clinicians.models import Clinician, TimeOff, WorkingHours
from scheduler.db import referenced
from scheduler.errors import Forbidden, IllegalTransition, InvalidInput, NotFound, SlotTaken
from scheduler.facilities.models import Room, Site
from scheduler.pathways import policy as rules
from scheduler.pathways import services as pathways
from scheduler.pathways.models import Pathway
from scheduler.pathways.policy import Gate
from scheduler.pathways.states import RETURNING, PathwayState, Trigger, sources
from scheduler.patients.models import Patient
from scheduler.policies.services import policy_of
from scheduler.scheduling.models import Appointment
from scheduler.vocabulary import AppointmentKind, AppointmentStatus, Method

DURATIONS: Final = {
    AppointmentKind.DIAGNOSTIC_BLOCK: timedelta(minutes=30),
    AppointmentKind.PROCEDURE: timedelta(minutes=90),
    AppointmentKind.FOLLOW_UP: timedelta(minutes=20),
}

BOOKING_TRIGGER: Final = {
    AppointmentKind.DIAGNOSTIC_BLOCK: Trigger.BOOK_BLOCK,
    AppointmentKind.PROCEDURE: Trigger.BOOK_PROCEDURE,
    AppointmentKind.FOLLOW_UP: Trigger.BOOK_FOLLOW_UP,
}

# Kinds done under fluoroscopic guidance need a room that has it.
FLUOROSCOPY_KINDS: Final = frozenset({AppointmentKind.DIAGNOSTIC_BLOCK, AppointmentKind.PROCEDURE})

# States from which booking the procedure is premature: the answer lists what is unmet.
PRE_ELIGIBLE: Final = frozenset(
    {PathwayState.REFERRED, PathwayState.BLOCK_SCHEDULED, PathwayState.INELIGIBLE}
)

BUSY_STATUSES: Final = (AppointmentStatus.BOOKED, AppointmentStatus.COMPLETED)


# ---------------------------------------------------------------------------------------
# Reading


def get_appointment(
    session: Session, actor: Actor, appointment_id: int, *, lock: bool = False
) -> Appointment:
    """The appointment, if ``actor`` may see it (patients: their own; same 403 otherwise)."""
    appointment = session.get(Appointment, appointment_id, with_for_update=lock or None)
    if actor.is_patient and (appointment is None or appointment.patient_id != actor.patient_id):
        raise Forbidden("You can only see your own records.")
    if appointment is None:
        raise NotFound("appointment", appointment_id)
    return appointment


def list_statement(actor: Actor, filters: dict[str, Any]) -> Select[Appointment]:
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


# ---------------------------------------------------------------------------------------
# Feasibility checks shared by booking and rescheduling


def _check_room(session: Session, room_id: int, site_id: int, kind: AppointmentKind) -> Room:
    room = session.get(Room, room_id)
    if room is None:
        raise InvalidInput.field("room_id", f"No room with id {room_id}.")
    if room.site_id != site_id:
        raise InvalidInput.field("room_id", "The room is not at the pathway's site.")
    if kind in FLUOROSCOPY_KINDS and not room.fluoroscopy:
        raise InvalidInput.field("room_id", f"A {kind.value} needs a room with fluoroscopy.")
    return room


def _check_working_time(
    session: Session, clinician_id: int, site: Site, start: datetime, end: datetime
) -> None:
    """Inside one of the clinician's working intervals at the site, and not on time off."""
    zone = ZoneInfo(site.timezone)
    local_start, local_end = start.astimezone(zone), end.astimezone(zone)
    hours = session.scalars(
        select(WorkingHours).where(
            WorkingHours.clinician_id == clinician_id,
            WorkingHours.site_id == site.id,
            WorkingHours.weekday == local_start.weekday(),
        )
    )
    day = local_start.date()
    inside = local_end.date() == day and any(
        datetime.combine(day, h.start_time, zone) <= local_start
        and local_end <= datetime.combine(day, h.end_time, zone)
        for h in hours
    )
    if not inside:
        raise InvalidInput.field("start", "The clinician does not work at this site at that time.")
    off = session.scalar(
        select(TimeOff.id).where(
            TimeOff.clinician_id == clinician_id, TimeOff.start_at < end, TimeOff.end_at > start
        )
    )
    if off is not None:
        raise InvalidInput.field("start", "The clinician is on time off at that time.")


def _check_free(
    session: Session,
    *,
    clinician_id: int,
    room_id: int,
    patient_id: int,
    start: datetime,
    end: datetime,
    ignore: int | None = None,
) -> None:
    """409 naming every resource (not person) already booked in [start, end)."""
    statement = select(Appointment.clinician_id, Appointment.room_id, Appointment.patient_id).where(
        Appointment.status.in_(BUSY_STATUSES),
        Appointment.start_at < end,
        Appointment.end_at > start,
        (Appointment.clinician_id == clinician_id)
        | (Appointment.room_id == room_id)
        | (Appointment.patient_id == patient_id),
    )
    if ignore is not None:
        statement = statement.where(Appointment.id != ignore)
    taken: set[str] = set()
    for other_clinician, other_room, other_patient in session.execute(statement):
        if other_clinician == clinician_id:
            taken.add("clinician")
        if other_room == room_id:
            taken.add("room")
        if other_patient == patient_id:
            taken.add("patient")
    if taken:
        raise SlotTaken(taken)


def _check_gate(
    session: Session,
    pathway: Pathway,
    kind: AppointmentKind,
    on: date,
    method: Method | None,
    *,
    ignore: int | None = None,
) -> None:
    """The policy's rules for booking ``kind`` on site-local date ``on``.

    ``ignore`` is the appointment being moved: it is judged as if it were not booked.
    """
    if kind is AppointmentKind.DIAGNOSTIC_BLOCK:
        pathways.evaluate_gate(session, pathway, Gate.BOOK_BLOCK, on, exclude=ignore).require()
    elif kind is AppointmentKind.PROCEDURE:
        pathways.evaluate_gate(
            session, pathway, Gate.BOOK_PROCEDURE, on, method, exclude=ignore
        ).require()
    else:
        procedure = session.scalar(
            select(Appointment)
            .where(
                Appointment.pathway_id == pathway.id,
                Appointment.kind == AppointmentKind.PROCEDURE,
                Appointment.status == AppointmentStatus.COMPLETED,
            )
            .order_by(Appointment.start_at.desc())
            .limit(1)
        )
        if procedure is None:
            raise InvalidInput.field("kind", "The pathway has no completed procedure.")
        rules.evaluate_follow_up(
            policy_of(pathway.policy),
            rules.FollowUpSnapshot(
                procedure_on=pathways.local_date(procedure.start_at, procedure.timezone),
                follow_up_on=on,
            ),
        ).require()


def _check_start(start: datetime, now: datetime) -> None:
    if start <= now:
        raise InvalidInput.field("start", "Must be in the future.")


# ---------------------------------------------------------------------------------------
# Writing


def book_appointment(
    session: Session,
    actor: Actor,
    now: datetime,
    *,
    pathway_id: int,
    kind: AppointmentKind,
    start: datetime,
    room_id: int,
    clinician_id: int | None = None,
    method: Method | None = None,
) -> Appointment:
    """Book one step of the pathway at ``start``; all checks pass or nothing is written."""
    try:
        pathway = pathways.get_pathway(session, actor, pathway_id, lock=True)
    except NotFound:
        raise InvalidInput.field("pathway_id", f"No pathway with id {pathway_id}.") from None
    pathways.require_open(pathway)
    trigger = BOOKING_TRIGGER[kind]
    if kind is not AppointmentKind.PROCEDURE and method is not None:
        raise InvalidInput.field("method", "Only a procedure has a method.")
    method = (method or pathway.method) if kind is AppointmentKind.PROCEDURE else None
    site = session.get(Site, pathway.site_id)
    assert site is not None  # noqa: S101 (foreign key)
    on = pathways.local_date(start, site.timezone)

    if pathway.state not in sources(trigger):
        if kind is AppointmentKind.PROCEDURE and pathway.state in PRE_ELIGIBLE:
            pathways.eligibility(session, pathway, on, method).require()
        raise IllegalTransition(pathway.state.value, trigger.value)
    _check_start(start, now)
    clinician_id = clinician_id or pathway.clinician_id
    referenced(session, Clinician, clinician_id, "clinician_id")
    end = start + DURATIONS[kind]
    _check_room(session, room_id, site.id, kind)
    _check_working_time(session, clinician_id, site, start, end)
    _check_gate(session, pathway, kind, on, method)
    _check_free(
        session,
        clinician_id=clinician_id,
        room_id=room_id,
        patient_id=pathway.patient_id,
        start=start,
        end=end,
    )

    appointment = Appointment(
        pathway_id=pathway.id,
        patient_id=pathway.patient_id,
        clinician_id=clinician_id,
        site_id=site.id,
        room_id=room_id,
        kind=kind,
        status=AppointmentStatus.BOOKED,
        start_at=start,
        end_at=end,
        method=method,
        side=pathway.side,
        levels=list(pathway.levels),
        version=1,
        created_at=now,
        updated_at=now,
        booked_by_id=actor.user_id,
    )
    session.add(appointment)
    session.flush()
    pathways.transition(
        session,
        pathway,
        trigger,
        actor,
        now,
        appointment_id=appointment.id,
        data={"kind": kind.value, "start": start.isoformat(), "room_id": room_id},
    )
    return appointment


def _open_appointment(
    session: Session, actor: Actor, appointment_id: int
) -> tuple[Appointment, Pathway]:
    appointment = get_appointment(session, actor, appointment_id, lock=True)
    pathway = pathways.get_pathway(session, actor, appointment.pathway_id, lock=True)
    if appointment.status is not AppointmentStatus.BOOKED:
        raise IllegalTransition(
            pathway.state.value,
            "change_appointment",
            detail=f"The appointment is {appointment.status.value}.",
        )
    return appointment, pathway


def reschedule_appointment(
    session: Session,
    actor: Actor,
    now: datetime,
    appointment_id: int,
    *,
    start: datetime | None = None,
    room_id: int | None = None,
) -> Appointment:
    """Move a booked appointment; it keeps its id and its version goes up."""
    appointment, pathway = _open_appointment(session, actor, appointment_id)
    if pathway.state not in sources(Trigger.RESCHEDULE_APPOINTMENT):
        raise IllegalTransition(pathway.state.value, Trigger.RESCHEDULE_APPOINTMENT.value)
    new_start = start or appointment.start_at
    new_room = room_id or appointment.room_id
    _check_start(new_start, now)
    end = new_start + DURATIONS[appointment.kind]
    site = appointment.site
    _check_room(session, new_room, site.id, appointment.kind)
    _check_working_time(session, appointment.clinician_id, site, new_start, end)
    _check_gate(
        session,
        pathway,
        appointment.kind,
        pathways.local_date(new_start, site.timezone),
        appointment.method,
        ignore=appointment.id,
    )
    _check_free(
        session,
        clinician_id=appointment.clinician_id,
        room_id=new_room,
        patient_id=appointment.patient_id,
        start=new_start,
        end=end,
        ignore=appointment.id,
    )
    before = appointment.start_at
    appointment.start_at, appointment.end_at, appointment.room_id = new_start, end, new_room
    appointment.version += 1
    appointment.updated_at = now
    session.flush()
    pathways.transition(
        session,
        pathway,
        Trigger.RESCHEDULE_APPOINTMENT,
        actor,
        now,
        appointment_id=appointment.id,
        data={"from": before.isoformat(), "to": new_start.isoformat(), "room_id": new_room},
    )
    return appointment


def cancel_appointment(
    session: Session, actor: Actor, now: datetime, appointment_id: int, reason: str
) -> Appointment:
    """Cancel; the pathway returns to its state before this booking (SPEC §2)."""
    appointment, pathway = _open_appointment(session, actor, appointment_id)
    return _release(session, actor, now, appointment, pathway, Trigger.CANCEL_APPOINTMENT, reason)


def record_no_show(
    session: Session, actor: Actor, now: datetime, appointment_id: int, reason: str | None
) -> Appointment:
    appointment, pathway = _open_appointment(session, actor, appointment_id)
    require_case_write(actor, appointment.clinician_id)
    if now < appointment.start_at:
        raise InvalidInput.field(
            "appointment_id", "A no-show can be recorded only after the start."
        )
    return _release(session, actor, now, appointment, pathway, Trigger.NO_SHOW, reason)


def _release(
    session: Session,
    actor: Actor,
    now: datetime,
    appointment: Appointment,
    pathway: Pathway,
    trigger: Trigger,
    reason: str | None,
) -> Appointment:
    if pathway.state not in RETURNING[trigger]:
        raise IllegalTransition(pathway.state.value, trigger.value)
    previous = pathways.state_before_booking(session, appointment)
    pathways.transition(
        session,
        pathway,
        trigger,
        actor,
        now,
        reason=reason,
        previous=previous,
        appointment_id=appointment.id,
        data={"kind": appointment.kind.value},
    )
    appointment.status = (
        AppointmentStatus.CANCELLED
        if trigger is Trigger.CANCEL_APPOINTMENT
        else AppointmentStatus.NO_SHOW
    )
    appointment.cancel_reason = reason
    appointment.version += 1
    appointment.updated_at = now
    session.flush()
    return appointment


# ---------------------------------------------------------------------------------------
# Daily list


def daily_list(
    session: Session, clinician_id: int, day: date
) -> list[tuple[Appointment, Pathway, Patient, Room]]:
    """The clinician's appointments starting on ``day`` in each site's zone, in time order.

    One query whatever the number of cases: a UTC window wide enough for every zone on
    earth, then the exact site-local date.
    """
    if session.get(Clinician, clinician_id) is None:
        raise NotFound("clinician", clinician_id)
    midnight = datetime.combine(day, time(), ZoneInfo("UTC"))
    rows = session.execute(
        select(Appointment, Pathway, Patient, Room)
        .join(Pathway, Pathway.id == Appointment.pathway_id)
        .join(Patient, Patient.id == Appointment.patient_id)
        .join(Room, Room.id == Appointment.room_id)
        .where(
            Appointment.clinician_id == clinician_id,
            Appointment.start_at >= midnight - timedelta(hours=15),
            Appointment.start_at < midnight + timedelta(hours=39),
            Appointment.status.in_(
                (AppointmentStatus.BOOKED, AppointmentStatus.COMPLETED, AppointmentStatus.NO_SHOW)
            ),
        )
        .order_by(Appointment.start_at, Appointment.id)
    )
    return [row for row in rows if pathways.local_date(row[0].start_at, row[0].timezone) == day]
