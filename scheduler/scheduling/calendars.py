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
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from typing import Any, Final, Protocol, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import (
    BindParameter,
    CompoundSelect,
    Integer,
    Select,
    String,
    and_,
    bindparam,
    case,
    cast,
    literal,
    null,
    or_,
    select,
    type_coerce,
    union_all,
)
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
RESOURCE_KINDS: Final = {kind.value: kind for kind in ResourceKind}
Lapsed = dict[tuple[ResourceKind, int], list[tuple[slots.Interval, str]]]


def horizon(end: datetime) -> datetime:
    """How far calendars must reach for starts up to ``end``: an allocation can run on."""
    return end + MAX_ALLOCATION


class Hostable(Protocol):
    """What decides whether a room can host a kind (a Room row, or the facts' room)."""

    @property
    def kind(self) -> RoomKind: ...

    @property
    def fluoroscopy(self) -> bool: ...


@dataclass(frozen=True)
class RoomFact:
    id: int
    kind: RoomKind
    fluoroscopy: bool


H = TypeVar("H", bound=Hostable)


def _hosting(rooms: list[H], kind: AppointmentKind) -> list[H]:
    """Of the site's ``rooms`` (by id), those that can host ``kind``, preferred first."""
    if kind in FLUOROSCOPY_KINDS:
        return [room for room in rooms if room.fluoroscopy]
    return sorted(rooms, key=lambda room: room.kind is not RoomKind.CONSULT)


@dataclass
class Facts:
    """The small tables a calendar needs besides the allocations, read in one statement:
    the site's rooms, the units of the equipment the method needs, the recovery bays
    (procedures), and the clinicians' weekly hours, lengths for the kind and time off."""

    rooms: list[RoomFact] = field(default_factory=list)
    needed: set[EquipmentKind] = field(default_factory=set)
    units: list[tuple[int, EquipmentKind]] = field(default_factory=list)
    bays: list[int] = field(default_factory=list)
    hours: dict[int, list[slots.WeeklyHours]] = field(default_factory=lambda: defaultdict(list))
    lengths: dict[int, int] = field(default_factory=dict)
    time_off: dict[int, list[slots.Interval]] = field(default_factory=lambda: defaultdict(list))


@cache
def _facts_statement(*, method: bool, procedure: bool) -> CompoundSelect[Any]:
    """The facts' UNION ALL for a kind with or without a method, procedure or not, built
    once with bound parameters (building it cost more than running it): each branch fills
    the columns it has and leaves the others NULL, typed by the first branch."""
    text, number = String(), Integer()
    instant = TimeOff.__table__.c.start_at.type
    site: BindParameter[int] = bindparam("site_id")
    clinicians: BindParameter[list[int]] = bindparam("clinician_ids", expanding=True)

    def row(
        tag: str,
        ident: Any,
        *,
        name: Any = None,
        count: Any = None,
        since: Any = None,
        until: Any = None,
    ) -> tuple[Any, ...]:
        def typed(value: Any, type_: Any) -> Any:
            return cast(null(), type_) if value is None else cast(value, type_)

        return (
            literal(tag, text).label("tag"),
            cast(ident, number).label("ident"),
            typed(name, text).label("name"),
            typed(count, number).label("count"),
            null().label("first"),
            null().label("last"),
            (null() if since is None else since).label("since"),
            (null() if until is None else until).label("until"),
        )

    # The first branch types the columns: every one of them is given a typed value.
    branches: list[Select[Any]] = [
        select(
            literal("hours", text).label("tag"),
            WorkingHours.clinician_id.label("ident"),
            cast(null(), text).label("name"),
            WorkingHours.weekday.label("count"),
            WorkingHours.start_time.label("first"),
            WorkingHours.end_time.label("last"),
            cast(null(), instant).label("since"),
            cast(null(), instant).label("until"),
        ).where(WorkingHours.clinician_id.in_(clinicians), WorkingHours.site_id == site),
        select(*row("room", Room.id, name=Room.kind, count=Room.fluoroscopy)).where(
            Room.site_id == site
        ),
        select(
            *row("length", ClinicianDuration.clinician_id, count=ClinicianDuration.minutes)
        ).where(
            ClinicianDuration.clinician_id.in_(clinicians),
            ClinicianDuration.kind == bindparam("kind"),
        ),
        select(
            *row("off", TimeOff.clinician_id, since=TimeOff.start_at, until=TimeOff.end_at)
        ).where(
            TimeOff.clinician_id.in_(clinicians),
            TimeOff.start_at < bindparam("window_end"),
            TimeOff.end_at > bindparam("window_start"),
        ),
    ]
    if method:
        wanted = MethodEquipment.method == bindparam("method")
        needs = select(MethodEquipment.equipment_kind).where(wanted)
        branches.append(
            select(*row("need", literal(0), name=MethodEquipment.equipment_kind)).where(wanted)
        )
        branches.append(
            select(*row("unit", Equipment.id, name=Equipment.kind)).where(
                Equipment.site_id == site, Equipment.kind.in_(needs.scalar_subquery())
            )
        )
    if procedure:
        branches.append(select(*row("bay", RecoveryBay.id)).where(RecoveryBay.site_id == site))
    return union_all(*branches).order_by("tag", "ident", "count", "first", "since")


def _facts(
    session: Session,
    site: Site,
    kind: AppointmentKind,
    method: Method | None,
    clinician_ids: list[int],
    window: slots.Interval,
) -> Facts:
    """The facts in one round trip instead of up to seven."""
    statement = _facts_statement(
        method=method is not None, procedure=kind is AppointmentKind.PROCEDURE
    )
    parameters = {
        "site_id": site.id,
        "clinician_ids": clinician_ids,
        "kind": kind,
        "window_start": window.start,
        "window_end": window.end,
        **({"method": method} if method is not None else {}),
    }
    facts = Facts()
    rows = session.execute(statement, parameters)
    for tag, ident, name, count, first, last, since, until in rows:
        if tag == "hours":
            facts.hours[ident].append(slots.WeeklyHours(count, first, last))
        elif tag == "room":
            facts.rooms.append(RoomFact(ident, RoomKind(name), bool(count)))
        elif tag == "length":
            facts.lengths[ident] = count
        elif tag == "off":
            facts.time_off[ident].append(slots.Interval(since, until))
        elif tag == "need":
            facts.needed.add(EquipmentKind(name))
        elif tag == "unit":
            facts.units.append((ident, EquipmentKind(name)))
        else:
            facts.bays.append(ident)
    return facts


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


@cache
def _allocations_statement(
    kinds: tuple[ResourceKind, ...], *, moving: bool, held: bool
) -> Select[Any]:
    """The allocations read for resources of ``kinds`` (their ids bound as lists), built
    once per shape: ``moving`` leaves an appointment's rows out, ``held`` a hold's."""
    wanted = or_(
        *(
            and_(
                Allocation.resource_kind == kind,
                Allocation.resource_id.in_(bindparam(f"ids_{kind.value}", expanding=True)),
            )
            for kind in kinds
        )
    )
    statement = (
        select(
            type_coerce(Allocation.resource_kind, String()),  # plain text: no Enum per row
            Allocation.resource_id,
            Allocation.start_at,
            Allocation.end_at,
            case((Hold.expires_at <= bindparam("now"), Allocation.hold_id), else_=None),
        )
        .outerjoin(Hold, Hold.id == Allocation.hold_id)
        .where(
            wanted,
            Allocation.active.is_(True),
            Allocation.start_at >= bindparam("scan_from"),
            Allocation.start_at < bindparam("window_end"),
            Allocation.end_at > bindparam("window_start"),
        )
    )
    if moving:
        statement = statement.where(
            or_(
                Allocation.appointment_id.is_(None),
                Allocation.appointment_id != bindparam("ignore_appointment"),
            )
        )
    if held:
        statement = statement.where(
            or_(Allocation.hold_id.is_(None), Allocation.hold_id != bindparam("ignore_hold"))
        )
    return statement


def _busy_by_resource(
    session: Session,
    now: datetime,
    window: slots.Interval,
    resources: dict[ResourceKind, set[int]],
    *,
    ignore_appointment: int | None,
    ignore_hold: str | None,
) -> tuple[Busy, Lapsed]:
    """Active allocations overlapping ``window``: those of appointments and live holds
    (busy), and those of holds past their time not yet released (lapsed: free, but a
    booking that overlaps one releases that hold first).

    Allocations last at most a day, so ``start_at`` bounds the scan from both sides and
    the (resource, start) index answers it however long the history is.
    """
    kinds = tuple(kind for kind, ids in resources.items() if ids)
    statement = _allocations_statement(
        kinds, moving=ignore_appointment is not None, held=ignore_hold is not None
    )
    parameters: dict[str, Any] = {
        **{f"ids_{kind.value}": sorted(resources[kind]) for kind in kinds},
        "now": now,
        "scan_from": window.start - MAX_ALLOCATION,
        "window_start": window.start,
        "window_end": window.end,
    }
    if ignore_appointment is not None:
        parameters["ignore_appointment"] = ignore_appointment
    if ignore_hold is not None:
        parameters["ignore_hold"] = ignore_hold
    busy: Busy = defaultdict(list)
    lapsed: Lapsed = defaultdict(list)
    # Through the Core: thousands of plain rows and no entities to build, which the ORM's
    # row loading made most of a search's time; fetched at once (row by row cost a tenth
    # of a search more). Pending changes are flushed first, as an ORM query would (a hold
    # placed earlier in the transaction counts as busy).
    session.flush()
    rows = session.connection().execute(statement, parameters).all()
    for kind, resource_id, start, end, lapsed_hold in rows:
        key = (RESOURCE_KINDS[kind], resource_id)
        if lapsed_hold is None:
            busy[key].append(slots.Interval(start, end))
        else:
            lapsed[key].append((slots.Interval(start, end), lapsed_hold))
    return busy, lapsed


def _clinician_calendars(
    facts: Facts, kind: AppointmentKind, clinician_ids: Iterable[int], busy: Busy
) -> tuple[slots.ClinicianCalendar, ...]:
    """Each clinician's weekly hours at the site, length for ``kind``, and time off."""
    return tuple(
        slots.ClinicianCalendar(
            id=ident,
            hours=tuple(facts.hours[ident]),
            duration=(
                timedelta(minutes=facts.lengths[ident])
                if ident in facts.lengths
                else DURATIONS[kind]
            ),
            busy=slots.Timeline(busy.get((ResourceKind.CLINICIAN, ident), ())),
            time_off=slots.Timeline(facts.time_off[ident]),
        )
        for ident in clinician_ids
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
    """The calendars of every resource an appointment of ``kind`` could use in ``window``:
    two statements, the facts and the allocations.

    ``ignore_appointment`` (the appointment being moved) and ``ignore_hold`` (the hold
    being booked) count as free. Without ``patient_id`` (the resources' availability,
    nobody's in particular) the patient's timeline is empty.
    """
    facts = _facts(session, site, kind, method, clinician_ids, window)
    rooms = [room.id for room in _hosting(facts.rooms, kind)]
    busy, lapsed = _busy_by_resource(
        session,
        now,
        window,
        {
            ResourceKind.CLINICIAN: set(clinician_ids),
            ResourceKind.ROOM: set(rooms),
            ResourceKind.EQUIPMENT: {ident for ident, _kind in facts.units},
            ResourceKind.RECOVERY_BAY: set(facts.bays),
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
        clinicians=_clinician_calendars(facts, kind, clinician_ids, busy),
        rooms=tuple(unit(ResourceKind.ROOM, ident) for ident in rooms),
        equipment={
            needed.value: tuple(
                unit(ResourceKind.EQUIPMENT, ident)
                for ident, unit_kind in facts.units
                if unit_kind is needed
            )
            for needed in sorted(facts.needed)
        },
        recovery_bays=tuple(unit(ResourceKind.RECOVERY_BAY, bay) for bay in facts.bays),
        patient=slots.Timeline(
            busy.get((ResourceKind.PATIENT, patient_id), ()) if patient_id is not None else ()
        ),
        turnover=timedelta(minutes=site.turnover_minutes) if procedure else timedelta(),
        recovery=timedelta(minutes=site.recovery_minutes) if procedure else timedelta(),
        lapsed_holds={key: tuple(rows) for key, rows in lapsed.items()},
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
