"""Calendars: what the availability function (``slots.py``) needs, loaded for one window.

For an appointment of a kind at a site: the rooms that can host it, the equipment its
method needs, the recovery bays (procedures), each one's busy intervals, and the
clinicians' weekly hours, appointment lengths and time off. Search, holds and booking
all ask :func:`load_calendars` and then the same pure function, so a slot that search
offers is a slot booking accepts.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from scheduler.clinicians.models import ClinicianDuration, TimeOff, WorkingHours
from scheduler.errors import InvalidInput
from scheduler.facilities.models import Equipment, MethodEquipment, RecoveryBay, Room, Site
from scheduler.scheduling import slots
from scheduler.scheduling.models import Allocation, Hold
from scheduler.vocabulary import (
    DEFAULT_MINUTES,
    AppointmentKind,
    EquipmentKind,
    Method,
    ResourceKind,
    RoomKind,
)

DURATIONS: Final = {kind: timedelta(minutes=minutes) for kind, minutes in DEFAULT_MINUTES.items()}

# Kinds done under fluoroscopic guidance need a room that has it.
FLUOROSCOPY_KINDS: Final = frozenset({AppointmentKind.DIAGNOSTIC_BLOCK, AppointmentKind.PROCEDURE})

# No allocation is longer than this (a procedure, its turnover and recovery, with room
# to spare), so interval queries can bound ``start_at`` on both sides.
MAX_ALLOCATION: Final = timedelta(hours=24)

Busy = dict[tuple[ResourceKind, int], list[slots.Interval]]


def horizon(end: datetime) -> datetime:
    """How far calendars must reach for starts up to ``end``: an allocation can run on."""
    return end + MAX_ALLOCATION


@dataclass(frozen=True)
class Resources:
    """The site's resources an appointment of one kind and method could use."""

    rooms: list[Room]
    equipment_kinds: set[EquipmentKind]
    units: list[Equipment]
    bays: list[RecoveryBay]


def rooms_for(session: Session, site_id: int, kind: AppointmentKind) -> list[Room]:
    """Rooms that can host ``kind``, preferred first (consult rooms for a follow-up)."""
    rooms = list(session.scalars(select(Room).where(Room.site_id == site_id).order_by(Room.id)))
    return _hosting(rooms, kind)


def _hosting(rooms: list[Room], kind: AppointmentKind) -> list[Room]:
    """Of the site's ``rooms`` (by id), those that can host ``kind``, preferred first."""
    if kind in FLUOROSCOPY_KINDS:
        return [room for room in rooms if room.fluoroscopy]
    return sorted(rooms, key=lambda room: room.kind is not RoomKind.CONSULT)


def _resources(
    session: Session, site: Site, kind: AppointmentKind, method: Method | None
) -> Resources:
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
    bays = (
        list(
            session.scalars(
                select(RecoveryBay).where(RecoveryBay.site_id == site.id).order_by(RecoveryBay.id)
            )
        )
        if kind is AppointmentKind.PROCEDURE
        else []
    )
    return Resources(rooms_for(session, site.id, kind), needed, units, bays)


def services_hosted(
    session: Session, site: Site, services: Iterable[tuple[AppointmentKind, Method | None]]
) -> tuple[tuple[AppointmentKind, Method | None], ...]:
    """Those of ``services`` the site has what they need for at all: a room that can host
    the kind, a unit of each equipment kind its method needs, a recovery bay for a
    procedure (what :func:`require_resources_exist` asks of the calendars). The site's
    rooms, equipment, bays and the methods' needs are read once for all of them."""
    rooms = list(session.scalars(select(Room).where(Room.site_id == site.id).order_by(Room.id)))
    units = set(session.scalars(select(Equipment.kind).where(Equipment.site_id == site.id)))
    has_bays = session.scalar(select(RecoveryBay.id).where(RecoveryBay.site_id == site.id).limit(1))
    needs: dict[Method, set[EquipmentKind]] = defaultdict(set)
    for method, equipment_kind in session.execute(
        select(MethodEquipment.method, MethodEquipment.equipment_kind)
    ):
        needs[method].add(equipment_kind)
    return tuple(
        (kind, method)
        for kind, method in services
        if _hosting(rooms, kind)
        and (method is None or needs[method] <= units)
        and (kind is not AppointmentKind.PROCEDURE or has_bays is not None)
    )


def _busy_by_resource(
    session: Session,
    now: datetime,
    window: slots.Interval,
    resources: dict[ResourceKind, set[int]],
    *,
    ignore_appointment: int | None,
    ignore_hold: str | None,
) -> Busy:
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
    busy: Busy = defaultdict(list)
    # Through the Core: thousands of plain rows and no entities to build, which the ORM's
    # row loading made most of a search's time. Pending changes are flushed first, as an
    # ORM query would (a hold placed earlier in the transaction counts as busy).
    session.flush()
    for kind, resource_id, start, end in session.connection().execute(statement):
        busy[(kind, resource_id)].append(slots.Interval(start, end))
    return busy


def _clinician_calendars(
    session: Session,
    site: Site,
    kind: AppointmentKind,
    clinician_ids: Iterable[int],
    window: slots.Interval,
    busy: Busy,
) -> tuple[slots.ClinicianCalendar, ...]:
    """Each clinician's weekly hours at the site, length for ``kind``, and time off."""
    ids = list(clinician_ids)
    hours: dict[int, list[slots.WeeklyHours]] = defaultdict(list)
    for row in session.scalars(
        select(WorkingHours).where(
            WorkingHours.clinician_id.in_(ids), WorkingHours.site_id == site.id
        )
    ):
        hours[row.clinician_id].append(slots.WeeklyHours(row.weekday, row.start_time, row.end_time))
    durations = dict(
        session.execute(
            select(ClinicianDuration.clinician_id, ClinicianDuration.minutes).where(
                ClinicianDuration.clinician_id.in_(ids), ClinicianDuration.kind == kind
            )
        ).all()
    )
    time_off: dict[int, list[slots.Interval]] = defaultdict(list)
    for off in session.scalars(
        select(TimeOff).where(
            TimeOff.clinician_id.in_(ids),
            TimeOff.start_at < window.end,
            TimeOff.end_at > window.start,
        )
    ):
        time_off[off.clinician_id].append(slots.Interval(off.start_at, off.end_at))
    return tuple(
        slots.ClinicianCalendar(
            id=ident,
            hours=tuple(hours[ident]),
            duration=timedelta(minutes=durations[ident]) if ident in durations else DURATIONS[kind],
            busy=slots.Timeline(busy.get((ResourceKind.CLINICIAN, ident), ())),
            time_off=slots.Timeline(time_off[ident]),
        )
        for ident in ids
    )


def load_calendars(
    session: Session,
    now: datetime,
    *,
    site: Site,
    kind: AppointmentKind,
    method: Method | None,
    clinician_ids: list[int],
    patient_id: int | None,
    window: slots.Interval,
    ignore_appointment: int | None = None,
    ignore_hold: str | None = None,
) -> slots.Calendars:
    """The calendars of every resource an appointment of ``kind`` could use in ``window``.

    ``ignore_appointment`` (the appointment being moved) and ``ignore_hold`` (the hold
    being booked) count as free. Without ``patient_id`` (the resources' availability,
    nobody's in particular) the patient's timeline is empty.
    """
    found = _resources(session, site, kind, method)
    busy = _busy_by_resource(
        session,
        now,
        window,
        {
            ResourceKind.CLINICIAN: set(clinician_ids),
            ResourceKind.ROOM: {room.id for room in found.rooms},
            ResourceKind.EQUIPMENT: {unit.id for unit in found.units},
            ResourceKind.RECOVERY_BAY: {bay.id for bay in found.bays},
            ResourceKind.PATIENT: {patient_id} if patient_id is not None else set(),
        },
        ignore_appointment=ignore_appointment,
        ignore_hold=ignore_hold,
    )

    def unit(resource: ResourceKind, ident: int) -> slots.Unit:
        return slots.Unit(ident, slots.Timeline(busy.get((resource, ident), ())))

    procedure = kind is AppointmentKind.PROCEDURE
    return slots.Calendars(
        zone=ZoneInfo(site.timezone),
        clinicians=_clinician_calendars(session, site, kind, clinician_ids, window, busy),
        rooms=tuple(unit(ResourceKind.ROOM, room.id) for room in found.rooms),
        equipment={
            needed.value: tuple(
                unit(ResourceKind.EQUIPMENT, u.id) for u in found.units if u.kind is needed
            )
            for needed in sorted(found.equipment_kinds)
        },
        recovery_bays=tuple(unit(ResourceKind.RECOVERY_BAY, bay.id) for bay in found.bays),
        patient=slots.Timeline(
            busy.get((ResourceKind.PATIENT, patient_id), ()) if patient_id is not None else ()
        ),
        turnover=timedelta(minutes=site.turnover_minutes) if procedure else timedelta(),
        recovery=timedelta(minutes=site.recovery_minutes) if procedure else timedelta(),
    )


def require_resources_exist(calendars: slots.Calendars, kind: AppointmentKind) -> None:
    """A site without the kind of resource at all is a set-up problem, not a busy slot."""
    if not calendars.rooms:
        raise InvalidInput.field("room_id", f"The site has no room that can host a {kind.value}.")
    missing = [name for name, units in calendars.equipment.items() if not units]
    if missing:
        raise InvalidInput.field("method", f"The site has no {', '.join(missing)} for this method.")
    if calendars.recovery and not calendars.recovery_bays:
        raise InvalidInput.field("kind", "The site has no recovery bay for a procedure.")
