"""Booking, rescheduling, cancelling appointments at explicit times, and the daily list.

A booking is checked in this order, so the answer names the first real obstacle:
the pathway's state allows the kind (for a procedure while prerequisites are unmet,
the unmet rules), the time is in the future and inside the clinician's working hours
at the pathway's site, the room can host the kind, the policy's gate for that step
holds, and nobody involved (clinician, room, patient) is already booked then.
"""

from __future__ import annotations

import secrets
import uuid
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, and_, delete, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload
from sqlalchemy.orm.attributes import set_committed_value

from scheduler.access import Actor, require_case_write
from scheduler.clinicians.models import Clinician, ClinicianDuration, TimeOff, WorkingHours
from scheduler.db import referenced
from scheduler.errors import (
    Forbidden,
    IllegalTransition,
    InvalidInput,
    NotFound,
    SlotTaken,
)
from scheduler.facilities.models import Equipment, MethodEquipment, RecoveryBay, Room, Site
from scheduler.outbox import services as outbox
from scheduler.pathways import policy as rules
from scheduler.pathways import services as pathways
from scheduler.pathways.models import CheckIn, CoverageAcknowledgment, Pathway
from scheduler.pathways.policy import Evaluation, Gate
from scheduler.pathways.states import RETURNING, PathwayState, Trigger, sources
from scheduler.patients.models import Patient
from scheduler.policies.services import policy_of
from scheduler.scheduling import slots
from scheduler.scheduling.models import Allocation, Appointment, Hold, release_allocations
from scheduler.vocabulary import (
    DEFAULT_MINUTES,
    AcknowledgmentKind,
    AppointmentKind,
    AppointmentStatus,
    Method,
    ResourceKind,
    RoomKind,
)

DURATIONS: Final = {kind: timedelta(minutes=minutes) for kind, minutes in DEFAULT_MINUTES.items()}

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

# No allocation is longer than this (a procedure, its turnover and recovery, with room
# to spare), so interval queries can bound ``start_at`` on both sides.
MAX_ALLOCATION: Final = timedelta(hours=24)

# The PostgreSQL exclusion constraints are named allocations_no_overlapping_<kind>.
OVERLAP_CONSTRAINT: Final = "allocations_no_overlapping_"


# ---------------------------------------------------------------------------------------
# Reading


def get_appointment(
    session: Session, actor: Actor, appointment_id: int, *, lock: bool = False
) -> Appointment:
    """The appointment, if ``actor`` may see it (patients: their own; same 403 otherwise)."""
    # FOR UPDATE OF the appointment only: not the site row its relationship joins in.
    lock_row = {"of": Appointment} if lock else None
    appointment = session.get(Appointment, appointment_id, with_for_update=lock_row)
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
# Calendars: what the availability function needs, loaded for one time window


def _rooms_for(session: Session, site_id: int, kind: AppointmentKind) -> list[Room]:
    """Rooms that can host ``kind``, preferred first (consult rooms for a follow-up)."""
    rooms = list(session.scalars(select(Room).where(Room.site_id == site_id).order_by(Room.id)))
    if kind in FLUOROSCOPY_KINDS:
        return [room for room in rooms if room.fluoroscopy]
    return sorted(rooms, key=lambda room: room.kind is not RoomKind.CONSULT)


def _busy_by_resource(
    session: Session,
    now: datetime,
    window: slots.Interval,
    resources: dict[ResourceKind, set[int]],
    *,
    ignore_appointment: int | None,
    ignore_hold: str | None,
) -> dict[tuple[ResourceKind, int], list[slots.Interval]]:
    """Active allocations (of appointments and unexpired holds) overlapping ``window``.

    Allocations last at most a day, so ``start_at`` bounds the scan from both sides and
    the (resource, start) index answers it however long the history is.
    """
    wanted = or_(
        *(
            and_(Allocation.resource_kind == kind, Allocation.resource_id.in_(ids))
            for kind, ids in resources.items()
            if ids
        )
    )
    statement = (
        select(
            Allocation.resource_kind,
            Allocation.resource_id,
            Allocation.start_at,
            Allocation.end_at,
        )
        .outerjoin(Hold, Hold.id == Allocation.hold_id)
        .where(
            wanted,
            Allocation.active.is_(True),
            Allocation.start_at >= window.start - MAX_ALLOCATION,
            Allocation.start_at < window.end,
            Allocation.end_at > window.start,
            or_(Allocation.hold_id.is_(None), Hold.expires_at > now),
        )
    )
    if ignore_appointment is not None:
        statement = statement.where(
            or_(
                Allocation.appointment_id.is_(None), Allocation.appointment_id != ignore_appointment
            )
        )
    if ignore_hold is not None:
        statement = statement.where(
            or_(Allocation.hold_id.is_(None), Allocation.hold_id != ignore_hold)
        )
    busy: dict[tuple[ResourceKind, int], list[slots.Interval]] = defaultdict(list)
    for kind, resource_id, start, end in session.execute(statement):
        busy[(kind, resource_id)].append(slots.Interval(start, end))
    return busy


def load_calendars(
    session: Session,
    now: datetime,
    *,
    site: Site,
    kind: AppointmentKind,
    method: Method | None,
    clinician_ids: list[int],
    patient_id: int,
    window: slots.Interval,
    ignore_appointment: int | None = None,
    ignore_hold: str | None = None,
) -> slots.Calendars:
    """The calendars of every resource an appointment of ``kind`` could use in ``window``."""
    rooms = _rooms_for(session, site.id, kind)
    needed = (
        set(
            session.scalars(
                select(MethodEquipment.equipment_kind).where(MethodEquipment.method == method)
            )
        )
        if method is not None
        else set()
    )
    units = (
        list(
            session.scalars(
                select(Equipment)
                .where(Equipment.site_id == site.id, Equipment.kind.in_(needed))
                .order_by(Equipment.id)
            )
        )
        if needed
        else []
    )
    procedure = kind is AppointmentKind.PROCEDURE
    bays = (
        list(
            session.scalars(
                select(RecoveryBay).where(RecoveryBay.site_id == site.id).order_by(RecoveryBay.id)
            )
        )
        if procedure
        else []
    )
    busy = _busy_by_resource(
        session,
        now,
        window,
        {
            ResourceKind.CLINICIAN: set(clinician_ids),
            ResourceKind.ROOM: {room.id for room in rooms},
            ResourceKind.EQUIPMENT: {unit.id for unit in units},
            ResourceKind.RECOVERY_BAY: {bay.id for bay in bays},
            ResourceKind.PATIENT: {patient_id},
        },
        ignore_appointment=ignore_appointment,
        ignore_hold=ignore_hold,
    )

    def unit(resource: ResourceKind, ident: int) -> slots.Unit:
        return slots.Unit(ident, slots.Timeline(busy.get((resource, ident), ())))

    hours: dict[int, list[slots.WeeklyHours]] = defaultdict(list)
    for row in session.scalars(
        select(WorkingHours).where(
            WorkingHours.clinician_id.in_(clinician_ids), WorkingHours.site_id == site.id
        )
    ):
        hours[row.clinician_id].append(slots.WeeklyHours(row.weekday, row.start_time, row.end_time))
    durations = dict(
        session.execute(
            select(ClinicianDuration.clinician_id, ClinicianDuration.minutes).where(
                ClinicianDuration.clinician_id.in_(clinician_ids), ClinicianDuration.kind == kind
            )
        ).all()
    )
    time_off: dict[int, list[slots.Interval]] = defaultdict(list)
    for off in session.scalars(
        select(TimeOff).where(
            TimeOff.clinician_id.in_(clinician_ids),
            TimeOff.start_at < window.end,
            TimeOff.end_at > window.start,
        )
    ):
        time_off[off.clinician_id].append(slots.Interval(off.start_at, off.end_at))

    equipment: dict[str, tuple[slots.Unit, ...]] = {
        kind.value: tuple(unit(ResourceKind.EQUIPMENT, u.id) for u in units if u.kind is kind)
        for kind in sorted(needed)
    }
    return slots.Calendars(
        zone=ZoneInfo(site.timezone),
        clinicians=tuple(
            slots.ClinicianCalendar(
                id=ident,
                hours=tuple(hours[ident]),
                duration=timedelta(minutes=durations[ident])
                if ident in durations
                else DURATIONS[kind],
                busy=slots.Timeline(busy.get((ResourceKind.CLINICIAN, ident), ())),
                time_off=slots.Timeline(time_off[ident]),
            )
            for ident in clinician_ids
        ),
        rooms=tuple(unit(ResourceKind.ROOM, room.id) for room in rooms),
        equipment=equipment,
        recovery_bays=tuple(unit(ResourceKind.RECOVERY_BAY, bay.id) for bay in bays),
        patient=slots.Timeline(busy.get((ResourceKind.PATIENT, patient_id), ())),
        turnover=timedelta(minutes=site.turnover_minutes) if procedure else timedelta(),
        recovery=timedelta(minutes=site.recovery_minutes) if procedure else timedelta(),
    )


def _site_of(session: Session, pathway: Pathway) -> Site:
    site = session.get(Site, pathway.site_id)
    assert site is not None  # noqa: S101 (foreign key)
    return site


def _require_resources_exist(calendars: slots.Calendars, kind: AppointmentKind) -> None:
    """A site without the kind of resource at all is a set-up problem, not a busy slot."""
    if not calendars.rooms:
        raise InvalidInput.field("room_id", f"The site has no room that can host a {kind.value}.")
    missing = [name for name, units in calendars.equipment.items() if not units]
    if missing:
        raise InvalidInput.field("method", f"The site has no {', '.join(missing)} for this method.")
    if calendars.recovery and not calendars.recovery_bays:
        raise InvalidInput.field("kind", "The site has no recovery bay for a procedure.")


def _horizon(calendars_end: datetime) -> datetime:
    return calendars_end + MAX_ALLOCATION


# ---------------------------------------------------------------------------------------
# Policy windows and state checks shared by search, holds and booking


def _gate_evaluations(
    session: Session,
    pathway: Pathway,
    kind: AppointmentKind,
    days: list[date],
    method: Method | None,
    *,
    ignore: int | None = None,
) -> dict[date, Evaluation]:
    """The policy's verdict for booking ``kind`` on each site-local day.

    ``ignore`` is the appointment being moved: it is judged as if it were not booked.
    """
    if kind is AppointmentKind.DIAGNOSTIC_BLOCK:
        return pathways.evaluate_gate_on_days(
            session, pathway, Gate.BOOK_BLOCK, days, exclude=ignore
        )
    if kind is AppointmentKind.PROCEDURE:
        return pathways.evaluate_gate_on_days(
            session, pathway, Gate.BOOK_PROCEDURE, days, method, exclude=ignore
        )
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
    policy = policy_of(pathway.policy)
    procedure_on = pathways.local_date(procedure.start_at, procedure.timezone)
    return {
        day: rules.evaluate_follow_up(
            policy, rules.FollowUpSnapshot(procedure_on=procedure_on, follow_up_on=day)
        )
        for day in days
    }


def _require_bookable(
    session: Session, pathway: Pathway, kind: AppointmentKind, on: date, method: Method | None
) -> Trigger:
    """The pathway's state allows booking ``kind`` (a premature procedure: its unmet rules)."""
    pathways.require_open(pathway)
    trigger = BOOKING_TRIGGER[kind]
    if pathway.state not in sources(trigger):
        if kind is AppointmentKind.PROCEDURE and pathway.state in PRE_ELIGIBLE:
            pathways.eligibility(session, pathway, on, method).require()
        raise IllegalTransition(pathway.state.value, trigger.value)
    return trigger


def _method_for(pathway: Pathway, kind: AppointmentKind, method: Method | None) -> Method | None:
    if kind is not AppointmentKind.PROCEDURE and method is not None:
        raise InvalidInput.field("method", "Only a procedure has a method.")
    return (method or pathway.method) if kind is AppointmentKind.PROCEDURE else None


def earliest_start(site: Site, now: datetime) -> datetime:
    return now + timedelta(minutes=site.min_notice_minutes)


def _check_notice(site: Site, start: datetime, now: datetime) -> None:
    if start <= now:
        raise InvalidInput.field("start", "Must be in the future.")
    if start < earliest_start(site, now):
        raise InvalidInput.field("start", f"Book at least {site.min_notice_minutes} minutes ahead.")


# ---------------------------------------------------------------------------------------
# Slot search


def search_slots(
    session: Session,
    actor: Actor,
    now: datetime,
    pathway_id: int,
    *,
    kind: AppointmentKind,
    after: datetime | None = None,
    limit: int = 10,
    days: int = 30,
    method: Method | None = None,
    clinician_id: int | None = None,
) -> tuple[list[slots.Slot], str]:
    """The earliest ``limit`` feasible slots in ``days`` days from ``after`` (SPEC §4),
    and the site's zone they are shown in."""
    pathway = pathways.get_pathway(session, actor, pathway_id)
    method = _method_for(pathway, kind, method)
    site = _site_of(session, pathway)
    earliest = max(after or now, earliest_start(site, now))
    until = earliest + timedelta(days=days)
    zone = ZoneInfo(site.timezone)
    first_day = earliest.astimezone(zone).date()
    _require_bookable(session, pathway, kind, first_day, method)
    clinician_id = _clinician_for(session, pathway, clinician_id)
    calendars = load_calendars(
        session,
        now,
        site=site,
        kind=kind,
        method=method,
        clinician_ids=[clinician_id],
        patient_id=pathway.patient_id,
        window=slots.Interval(earliest, _horizon(until)),
    )
    _require_resources_exist(calendars, kind)
    candidate_days = [first_day + timedelta(days=n) for n in range(days + 1)]
    verdicts = _gate_evaluations(session, pathway, kind, candidate_days, method)
    allowed = {day for day, verdict in verdicts.items() if verdict.passed}
    if not allowed:
        verdicts[first_day].require()
    found = slots.find_slots(
        calendars, earliest=earliest, until=until, limit=limit, allowed_day=allowed.__contains__
    )
    return list(found), site.timezone


# ---------------------------------------------------------------------------------------
# Writing


def _fit_one(
    session: Session,
    now: datetime,
    pathway: Pathway,
    *,
    kind: AppointmentKind,
    method: Method | None,
    clinician_id: int,
    start: datetime,
    room_id: int | None,
    ignore_appointment: int | None = None,
    ignore_hold: str | None = None,
) -> tuple[slots.Slot, slots.Calendars]:
    """The availability function's answer for one start, as search would have given it."""
    site = _site_of(session, pathway)
    calendars = load_calendars(
        session,
        now,
        site=site,
        kind=kind,
        method=method,
        clinician_ids=[clinician_id],
        patient_id=pathway.patient_id,
        window=slots.Interval(start, _horizon(start)),
        ignore_appointment=ignore_appointment,
        ignore_hold=ignore_hold,
    )
    if room_id is not None:
        rooms = tuple(room for room in calendars.rooms if room.id == room_id)
        if not rooms:
            _refuse_room(session, room_id, site, kind)
        calendars = replace(calendars, rooms=rooms)
    _require_resources_exist(calendars, kind)
    answer = slots.fit(calendars, calendars.clinicians[0], start)
    if isinstance(answer, slots.Unfit):
        if answer.taken:
            raise SlotTaken(answer.taken)
        raise InvalidInput.field("start", answer.message)
    return answer, calendars


def _refuse_room(session: Session, room_id: int, site: Site, kind: AppointmentKind) -> None:
    """Why a room asked for is not among the rooms that can host ``kind`` at the site."""
    room = session.get(Room, room_id)
    if room is None:
        raise InvalidInput.field("room_id", f"No room with id {room_id}.")
    if room.site_id != site.id:
        raise InvalidInput.field("room_id", "The room is not at the pathway's site.")
    raise InvalidInput.field("room_id", f"A {kind.value} needs a room with fluoroscopy.")


def _allocate(
    session: Session,
    slot: slots.Slot,
    calendars: slots.Calendars,
    patient_id: int,
    *,
    appointment_id: int | None = None,
    hold_id: str | None = None,
) -> list[Allocation]:
    """Write the slot's allocations; the database refuses an overlap another request won."""
    rows = [
        Allocation(
            appointment_id=appointment_id,
            hold_id=hold_id,
            resource_kind=kind,
            resource_id=resource_id,
            start_at=interval.start,
            end_at=interval.end,
            active=True,
        )
        for kind, resource_id, interval in slot.allocations(calendars, patient_id)
    ]
    session.add_all(rows)
    try:
        session.flush()
    except IntegrityError as error:
        constraint = getattr(getattr(error.orig, "diag", None), "constraint_name", None) or ""
        if not constraint.startswith(OVERLAP_CONSTRAINT):
            raise
        raise SlotTaken([constraint.removeprefix(OVERLAP_CONSTRAINT)]) from None
    return rows


def release_expired_holds(session: Session, now: datetime) -> None:
    """Expired holds cost nothing: their rows go before anything new is allocated."""
    session.execute(delete(Hold).where(Hold.expires_at <= now))


def _claim_hold(
    session: Session, actor: Actor, hold_id: str, pathway: Pathway, kind: AppointmentKind
) -> Hold:
    hold = session.get(Hold, hold_id)
    if hold is None or hold.pathway_id != pathway.id or hold.kind is not kind:
        raise InvalidInput.field(
            "hold_id", "No such hold for this pathway and kind; it may have expired."
        )
    if actor.user_id is not None and hold.created_by_id not in (None, actor.user_id):
        raise InvalidInput.field("hold_id", "The hold was placed by someone else.")
    return hold


def place_hold(
    session: Session,
    actor: Actor,
    now: datetime,
    *,
    pathway_id: int,
    kind: AppointmentKind,
    start: datetime,
    ttl: timedelta,
    method: Method | None = None,
    clinician_id: int | None = None,
    room_id: int | None = None,
) -> tuple[Hold, slots.Slot, str]:
    """Reserve one slot's resources for ``ttl`` while the scheduler confirms."""
    pathway = _pathway_for_booking(session, actor, pathway_id)
    method = _method_for(pathway, kind, method)
    site = _site_of(session, pathway)
    _require_bookable(session, pathway, kind, pathways.local_date(start, site.timezone), method)
    _check_notice(site, start, now)
    clinician_id = _clinician_for(session, pathway, clinician_id)
    _check_gate(session, pathway, kind, pathways.local_date(start, site.timezone), method)
    release_expired_holds(session, now)
    slot, calendars = _fit_one(
        session,
        now,
        pathway,
        kind=kind,
        method=method,
        clinician_id=clinician_id,
        start=start,
        room_id=room_id,
    )
    hold = Hold(
        id=secrets.token_hex(16),
        pathway_id=pathway.id,
        kind=kind,
        method=method,
        clinician_id=clinician_id,
        room_id=slot.room_id,
        start_at=slot.start,
        end_at=slot.end,
        created_by_id=actor.user_id,
        created_at=now,
        expires_at=now + ttl,
    )
    session.add(hold)
    session.flush()
    _allocate(session, slot, calendars, pathway.patient_id, hold_id=hold.id)
    return hold, slot, site.timezone


def release_hold(session: Session, actor: Actor, hold_id: str) -> None:
    hold = session.get(Hold, hold_id)
    if hold is None or (
        actor.user_id is not None and hold.created_by_id not in (None, actor.user_id)
    ):
        raise NotFound("hold", hold_id)
    session.delete(hold)
    session.flush()


def _check_gate(
    session: Session,
    pathway: Pathway,
    kind: AppointmentKind,
    on: date,
    method: Method | None,
    *,
    ignore: int | None = None,
) -> None:
    _gate_evaluations(session, pathway, kind, [on], method, ignore=ignore)[on].require()


def _clinician_for(session: Session, pathway: Pathway, clinician_id: int | None) -> int:
    """The clinician asked for (who must exist), or the pathway's own."""
    if clinician_id is None or clinician_id == pathway.clinician_id:
        return pathway.clinician_id
    referenced(session, Clinician, clinician_id, "clinician_id")
    return clinician_id


def _pathway_for_booking(session: Session, actor: Actor, pathway_id: int) -> Pathway:
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
    pathway = _pathway_for_booking(session, actor, pathway_id)
    method = _method_for(pathway, kind, method)
    site = _site_of(session, pathway)
    release_expired_holds(session, now)
    hold = _claim_hold(session, actor, hold_id, pathway, kind) if hold_id else None
    if hold is not None:
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
        start, room_id, clinician_id, method = (
            hold.start_at,
            hold.room_id,
            hold.clinician_id,
            hold.method,
        )
    if start is None:
        raise InvalidInput.field("start", "Send a start, or a hold_id.")
    on = pathways.local_date(start, site.timezone)
    trigger = _require_bookable(session, pathway, kind, on, method)
    _check_notice(site, start, now)
    clinician_id = _clinician_for(session, pathway, clinician_id)
    _check_gate(session, pathway, kind, on, method)
    slot, calendars = _fit_one(
        session,
        now,
        pathway,
        kind=kind,
        method=method,
        clinician_id=clinician_id,
        start=start,
        room_id=room_id,
        ignore_hold=hold.id if hold else None,
    )
    if hold is not None:
        session.delete(hold)  # its allocations go with it, before ours are written
        session.flush()

    appointment = Appointment(
        pathway_id=pathway.id,
        patient_id=pathway.patient_id,
        clinician_id=clinician_id,
        site=site,
        room_id=slot.room_id,
        kind=kind,
        status=AppointmentStatus.BOOKED,
        start_at=slot.start,
        end_at=slot.end,
        method=method,
        side=pathway.side,
        levels=list(pathway.levels),
        version=1,
        created_at=now,
        updated_at=now,
        booked_by_id=actor.user_id,
        ical_uid=str(uuid.uuid4()),
    )
    session.add(appointment)
    session.flush()
    allocations = _allocate(
        session, slot, calendars, pathway.patient_id, appointment_id=appointment.id
    )
    set_committed_value(appointment, "allocations", allocations)
    outbox.announce_booked(session, appointment, now, reminder_before=reminder_before, first=True)
    pathways.transition(
        session,
        pathway,
        trigger,
        actor,
        now,
        appointment_id=appointment.id,
        data={"kind": kind.value, "start": start.isoformat(), "room_id": slot.room_id},
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
    reminder_before: timedelta,
) -> Appointment:
    """Move a booked appointment; it keeps its id (and its invite's UID), its version goes
    up and the patient's updated invite is queued.

    The move is re-checked like a booking. A pathway has one booked appointment at a
    time (each step waits for the result of the one before, SPEC §2), so every step
    before it is done and the gate checks the move against them: a second block stays
    the policy's interval after the first, a follow-up stays in its window.
    """
    appointment, pathway = _open_appointment(session, actor, appointment_id)
    if pathway.state not in sources(Trigger.RESCHEDULE_APPOINTMENT):
        raise IllegalTransition(pathway.state.value, Trigger.RESCHEDULE_APPOINTMENT.value)
    new_start = start or appointment.start_at
    site = appointment.site
    _check_notice(site, new_start, now)
    _check_gate(
        session,
        pathway,
        appointment.kind,
        pathways.local_date(new_start, site.timezone),
        appointment.method,
        ignore=appointment.id,
    )
    release_expired_holds(session, now)
    slot, calendars = _fit_one(
        session,
        now,
        pathway,
        kind=appointment.kind,
        method=appointment.method,
        clinician_id=appointment.clinician_id,
        start=new_start,
        room_id=room_id,
        ignore_appointment=appointment.id,
    )
    session.execute(delete(Allocation).where(Allocation.appointment_id == appointment.id))
    before = appointment.start_at
    appointment.start_at, appointment.end_at, appointment.room_id = (
        slot.start,
        slot.end,
        slot.room_id,
    )
    appointment.version += 1
    appointment.updated_at = now
    session.flush()
    allocations = _allocate(
        session, slot, calendars, appointment.patient_id, appointment_id=appointment.id
    )
    set_committed_value(appointment, "allocations", allocations)
    outbox.announce_booked(session, appointment, now, reminder_before=reminder_before)
    pathways.transition(
        session,
        pathway,
        Trigger.RESCHEDULE_APPOINTMENT,
        actor,
        now,
        appointment_id=appointment.id,
        data={"from": before.isoformat(), "to": slot.start.isoformat(), "room_id": slot.room_id},
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
    session.execute(release_allocations([appointment.id]))
    outbox.announce_released(session, appointment, now)
    session.flush()
    return appointment


# ---------------------------------------------------------------------------------------
# Daily list


@dataclass(frozen=True)
class Case:
    """One line of a clinician's daily list, with what the team needs to see at a glance."""

    appointment: Appointment
    pathway: Pathway
    patient: Patient
    room: Room
    equipment: list[Equipment]
    recovery_bay: RecoveryBay | None
    readiness: dict[str, Any]


# The flags a procedure needs green before it starts; None means "not known yet".
READINESS_FLAGS: Final = (
    "eligibility",
    "consent",
    "escort",
    "fasting",
    "anticoagulation",
    "coverage",
)
POST_ELIGIBLE: Final = frozenset(
    {
        PathwayState.ELIGIBLE,
        PathwayState.PROCEDURE_SCHEDULED,
        PathwayState.CHECKED_IN,
        PathwayState.IN_PROCEDURE,
        PathwayState.IN_RECOVERY,
        PathwayState.DISCHARGED,
        PathwayState.ADMITTED,
        PathwayState.FOLLOW_UP_SCHEDULED,
        PathwayState.COMPLETED,
    }
)


def readiness(
    appointment: Appointment,
    pathway: Pathway,
    check_in: CheckIn | None,
    acknowledgments: frozenset[AcknowledgmentKind],
) -> dict[str, Any]:
    """Readiness flags and a red/amber/green summary (procedures; other kinds are green).

    Red: a flag is false. Amber: some are not known yet (before check-in). Green: all true.
    """
    if appointment.kind is not AppointmentKind.PROCEDURE or appointment.method is None:
        return {"summary": "green", **dict.fromkeys(READINESS_FLAGS)}
    escort: bool | None = True  # needed only with sedation
    fasting: bool | None = True
    if pathway.sedation:
        escort = None if check_in is None else check_in.escort_name is not None
        fasting = None if check_in is None else check_in.fasting_confirmed
    flags = {
        "eligibility": pathway.state in POST_ELIGIBLE,
        "consent": None if check_in is None else check_in.consent_signed,
        "escort": escort,
        "fasting": fasting,
        "anticoagulation": None if check_in is None else check_in.anticoagulation_reviewed,
        "coverage": rules.coverage_satisfied(
            policy_of(pathway.policy).parameters.coverage,
            pathway.indication,
            appointment.method,
            acknowledgments,
        ),
    }
    values = list(flags.values())
    summary = "red" if False in values else "amber" if None in values else "green"
    return {"summary": summary, **flags}


def daily_list(session: Session, clinician_id: int, day: date) -> list[Case]:
    """The clinician's appointments starting on ``day`` in each site's zone, in time order."""
    if session.get(Clinician, clinician_id) is None:
        raise NotFound("clinician", clinician_id)
    return cases_on(session, day, Appointment.clinician_id == clinician_id)


def cases_on(session: Session, day: date, *criteria: ColumnElement[bool]) -> list[Case]:
    """The cases matching ``criteria`` that start on ``day`` in their site's zone, in time
    order, each with what the team needs to see (the daily list, the nurse's day).

    A fixed number of queries whatever the number of cases: the cases (a UTC window wide
    enough for every zone on earth, then the exact site-local date), their allocations,
    equipment, recovery bays, check-ins and coverage acknowledgments.
    """
    midnight = datetime.combine(day, time(), ZoneInfo("UTC"))
    rows = [
        row
        for row in session.execute(
            select(Appointment, Pathway, Patient, Room)
            .join(Pathway, Pathway.id == Appointment.pathway_id)
            .join(Patient, Patient.id == Appointment.patient_id)
            .join(Room, Room.id == Appointment.room_id)
            .where(
                *criteria,
                Appointment.start_at >= midnight - timedelta(hours=15),
                Appointment.start_at < midnight + timedelta(hours=39),
                Appointment.status.in_(
                    (
                        AppointmentStatus.BOOKED,
                        AppointmentStatus.COMPLETED,
                        AppointmentStatus.NO_SHOW,
                    )
                ),
            )
            .order_by(Appointment.start_at, Appointment.id)
        )
        if pathways.local_date(row[0].start_at, row[0].timezone) == day
    ]
    appointment_ids = [row[0].id for row in rows]
    unit_ids = {unit for row in rows for unit in row[0].equipment_ids}
    bay_ids = {row[0].recovery_bay_id for row in rows} - {None}
    units = {u.id: u for u in session.scalars(select(Equipment).where(Equipment.id.in_(unit_ids)))}
    bays = {
        b.id: b for b in session.scalars(select(RecoveryBay).where(RecoveryBay.id.in_(bay_ids)))
    }
    check_ins = {
        c.appointment_id: c
        for c in session.scalars(select(CheckIn).where(CheckIn.appointment_id.in_(appointment_ids)))
    }
    acknowledged: dict[int, set[AcknowledgmentKind]] = defaultdict(set)
    for pathway_id, kind in session.execute(
        select(CoverageAcknowledgment.pathway_id, CoverageAcknowledgment.kind).where(
            CoverageAcknowledgment.pathway_id.in_({row[1].id for row in rows})
        )
    ):
        acknowledged[pathway_id].add(kind)
    return [
        Case(
            appointment=appointment,
            pathway=pathway,
            patient=patient,
            room=room,
            equipment=[units[ident] for ident in appointment.equipment_ids if ident in units],
            recovery_bay=bays.get(appointment.recovery_bay_id or 0),
            readiness=readiness(
                appointment,
                pathway,
                check_ins.get(appointment.id),
                frozenset(acknowledged[pathway.id]),
            ),
        )
        for appointment, pathway, patient, room in rows
    ]
