"""The one availability function: which starts are feasible, and with which resources.

Slot search asks it for the earliest feasible starts; booking asks it again, inside the
booking transaction, about the one start it was given. Both go through :func:`fit`, so a
slot search offers is a slot booking accepts, and the other way round.

All arithmetic is on UTC instants. Working hours are site-local wall-clock times, turned
into instants per local day with zoneinfo, so 08:00 stays 08:00 across DST changes; a
local time that does not exist (the spring-forward gap) is read with the offset before
the change, as zoneinfo does. A start whose wall time occurs twice (the repeated hour of
a fall-back night) is never offered nor booked: patients and calendars would take
"01:30" for the first 01:30 (SPEC §5).
Pure module: no Flask, no SQLAlchemy.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from scheduler.clock import ambiguous_wall_time
from scheduler.vocabulary import ResourceKind

GRID = timedelta(minutes=15)  # offered starts fall on the quarter hours


@dataclass(frozen=True, order=True)
class Interval:
    """[start, end) between two aware instants."""

    start: datetime
    end: datetime

    def overlaps(self, other: Interval) -> bool:
        return self.start < other.end and other.start < self.end

    def minus(self, others: Iterable[Interval]) -> list[Interval]:
        """The parts of this interval that none of ``others`` covers, in order."""
        pieces = [self]
        for other in sorted(others):
            last = pieces.pop()
            if not last.overlaps(other):
                pieces.append(last)
                continue
            if last.start < other.start:
                pieces.append(Interval(last.start, other.start))
            if other.end >= last.end:
                return pieces  # nothing of this interval is left after ``other``
            pieces.append(Interval(other.end, last.end))
        return pieces


class Timeline:
    """The busy intervals of one resource, merged and sorted: "free during [s, e)?" by bisection."""

    def __init__(self, intervals: Iterable[Interval] = ()) -> None:
        merged: list[Interval] = []
        for interval in sorted(intervals):
            if merged and interval.start <= merged[-1].end:
                if interval.end > merged[-1].end:
                    merged[-1] = Interval(merged[-1].start, interval.end)
            else:
                merged.append(interval)
        self._intervals = merged
        self._starts = [interval.start for interval in merged]

    def is_free(self, start: datetime, end: datetime) -> bool:
        index = bisect_right(self._starts, start) - 1
        if index >= 0 and self._intervals[index].end > start:
            return False
        following = index + 1
        return following >= len(self._intervals) or self._intervals[following].start >= end

    def __iter__(self) -> Iterator[Interval]:
        return iter(self._intervals)


@dataclass(frozen=True)
class WeeklyHours:
    """A weekly working interval in the site's wall-clock time (0 = Monday)."""

    weekday: int
    start: time
    end: time


@dataclass(frozen=True)
class Unit:
    """One bookable thing (a room, an equipment unit, a recovery bay) and when it is busy."""

    id: int
    busy: Timeline = field(default_factory=Timeline)


@dataclass(frozen=True)
class ClinicianCalendar:
    id: int
    hours: tuple[WeeklyHours, ...]
    duration: timedelta  # this clinician's length for the kind being planned
    busy: Timeline = field(default_factory=Timeline)  # other appointments and holds
    time_off: Timeline = field(default_factory=Timeline)


@dataclass(frozen=True)
class Calendars:
    """Everything one search or one booking needs to know, loaded for its time window.

    ``rooms`` are the rooms that can host the kind, in order of preference; ``equipment``
    has the units of each kind the method needs (an empty tuple: the site has none).
    """

    zone: ZoneInfo
    clinicians: tuple[ClinicianCalendar, ...]
    rooms: tuple[Unit, ...]
    equipment: Mapping[str, tuple[Unit, ...]]
    recovery_bays: tuple[Unit, ...]
    patient: Timeline
    turnover: timedelta  # room and equipment, after the clinician's part
    recovery: timedelta  # recovery bay and patient, after the clinician's part (0: none)
    # Allocations of holds past their time, not yet released: free for every purpose
    # here; a booking that overlaps one releases that hold (by id) before it writes.
    lapsed_holds: Mapping[tuple[ResourceKind, int], tuple[tuple[Interval, str], ...]] = field(
        default_factory=dict
    )


@dataclass(frozen=True)
class Slot:
    start: datetime
    end: datetime  # the clinician's part
    clinician_id: int
    room_id: int
    equipment_ids: tuple[int, ...]
    recovery_bay_id: int | None

    def allocations(
        self, calendars: Calendars, patient_id: int
    ) -> list[tuple[ResourceKind, int, Interval]]:
        """The rows this slot occupies: what booking and holds write, what search avoids."""
        spans = spans_of(calendars, self.start, self.end)
        rows = [
            (ResourceKind.CLINICIAN, self.clinician_id, spans.clinician),
            (ResourceKind.ROOM, self.room_id, spans.room),
            (ResourceKind.PATIENT, patient_id, spans.patient),
            *((ResourceKind.EQUIPMENT, unit, spans.room) for unit in self.equipment_ids),
        ]
        if self.recovery_bay_id is not None and spans.recovery is not None:
            rows.append((ResourceKind.RECOVERY_BAY, self.recovery_bay_id, spans.recovery))
        return rows


def lapsed_in_the_way(
    rows: Iterable[tuple[ResourceKind, int, Interval]], calendars: Calendars
) -> set[str]:
    """The lapsed holds whose allocations overlap ``rows`` (what a booking would write):
    the database would refuse the new rows until those holds are released."""
    return {
        hold
        for kind, ident, interval in rows
        for held, hold in calendars.lapsed_holds.get((kind, ident), ())
        if held.start < interval.end and interval.start < held.end
    }


@dataclass(frozen=True)
class Spans:
    clinician: Interval
    room: Interval  # also each equipment unit
    patient: Interval
    recovery: Interval | None


def spans_of(calendars: Calendars, start: datetime, end: datetime) -> Spans:
    recovery = Interval(end, end + calendars.recovery) if calendars.recovery else None
    return Spans(
        clinician=Interval(start, end),
        room=Interval(start, end + calendars.turnover),
        patient=Interval(start, end + calendars.recovery),
        recovery=recovery,
    )


# ---------------------------------------------------------------------------------------
# Why a start does not fit


@dataclass(frozen=True)
class Unfit:
    """A start that does not fit: ``field`` and ``message`` for a 422, or ``taken`` for a 409."""

    message: str
    taken: tuple[str, ...] = ()


NOT_WORKING = Unfit("The clinician does not work at this site at that time.")
ON_TIME_OFF = Unfit("The clinician is on time off at that time.")
REPEATED_HOUR = Unfit(
    "That local time occurs twice that night, when the clocks go back; choose another time."
)


def working_windows(hours: Iterable[WeeklyHours], day: date, zone: ZoneInfo) -> list[Interval]:
    """The working intervals of weekly ``hours`` on site-local ``day``, as UTC instants."""
    return [
        Interval(
            datetime.combine(day, weekly.start, zone).astimezone(UTC),
            datetime.combine(day, weekly.end, zone).astimezone(UTC),
        )
        for weekly in hours
        if weekly.weekday == day.weekday()
    ]


def within_hours(
    hours: Iterable[WeeklyHours], start: datetime, end: datetime, zone: ZoneInfo
) -> bool:
    """Whether [start, end) lies inside one working interval of its site-local day."""
    day = start.astimezone(zone).date()
    return any(w.start <= start and end <= w.end for w in working_windows(hours, day, zone))


def _first_free(units: Sequence[Unit], span: Interval) -> Unit | None:
    return next((unit for unit in units if unit.busy.is_free(span.start, span.end)), None)


def fit(calendars: Calendars, clinician: ClinicianCalendar, start: datetime) -> Slot | Unfit:
    """The resources for an appointment of ``clinician`` at ``start``, or why there are none.

    Resources are taken in the calendars' order of preference: the first free room, the
    first free unit of each equipment kind, the first free recovery bay.
    """
    end = start + clinician.duration
    if not within_hours(clinician.hours, start, end, calendars.zone):
        return NOT_WORKING
    if ambiguous_wall_time(start, calendars.zone):
        return REPEATED_HOUR
    if not clinician.time_off.is_free(start, end):
        return ON_TIME_OFF
    spans = spans_of(calendars, start, end)
    taken: list[str] = []
    if not clinician.busy.is_free(spans.clinician.start, spans.clinician.end):
        taken.append(ResourceKind.CLINICIAN.value)
    if not calendars.patient.is_free(spans.patient.start, spans.patient.end):
        taken.append(ResourceKind.PATIENT.value)
    room = _first_free(calendars.rooms, spans.room)
    if room is None:
        taken.append(ResourceKind.ROOM.value)
    units: list[int] = []
    for kind, kind_units in calendars.equipment.items():
        unit = _first_free(kind_units, spans.room)
        if unit is None:
            taken.append(kind)
        else:
            units.append(unit.id)
    bay: Unit | None = None
    if spans.recovery is not None:
        bay = _first_free(calendars.recovery_bays, spans.recovery)
        if bay is None:
            taken.append(ResourceKind.RECOVERY_BAY.value)
    if taken or room is None:
        return Unfit("The requested time is taken.", tuple(taken))
    return Slot(
        start=start,
        end=end,
        clinician_id=clinician.id,
        room_id=room.id,
        equipment_ids=tuple(units),
        recovery_bay_id=bay.id if bay else None,
    )


# ---------------------------------------------------------------------------------------
# Search


def _ceil_to_grid(instant: datetime) -> datetime:
    epoch = datetime(2000, 1, 1, tzinfo=UTC)
    steps = -(-(instant - epoch) // GRID)
    return epoch + steps * GRID


def candidate_starts(
    calendars: Calendars, day: date, earliest: datetime
) -> list[tuple[datetime, ClinicianCalendar]]:
    """Every quarter-hour start on ``day`` whose clinician's part fits in working hours.

    Each (start, clinician) comes once, even where a DST change makes two of the day's
    windows overlap (02:30 does not exist on a spring-forward day and reads as 03:30).
    """
    candidates: list[tuple[datetime, ClinicianCalendar]] = []
    for clinician in calendars.clinicians:
        starts: set[datetime] = set()
        for window in working_windows(clinician.hours, day, calendars.zone):
            start = _ceil_to_grid(max(window.start, earliest))
            while start + clinician.duration <= window.end:
                starts.add(start)
                start += GRID
        candidates.extend((start, clinician) for start in starts)
    candidates.sort(key=lambda pair: pair[0])  # stable: clinicians keep their order
    return candidates


def find_slots(
    calendars: Calendars,
    *,
    earliest: datetime,
    until: datetime,
    limit: int,
    allowed_day: Callable[[date], bool] = lambda _day: True,
) -> Iterator[Slot]:
    """The first ``limit`` feasible slots starting in [earliest, until), in time order.

    ``allowed_day`` is the pathway's windows (the policy's block interval, the follow-up
    window), decided per site-local date by the caller.
    """
    found = 0
    day = earliest.astimezone(calendars.zone).date()
    last = until.astimezone(calendars.zone).date()
    while day <= last and found < limit:
        if allowed_day(day):
            for start, clinician in candidate_starts(calendars, day, earliest):
                if start >= until:
                    break
                slot = fit(calendars, clinician, start)
                if isinstance(slot, Slot):
                    yield slot
                    found += 1
                    if found == limit:
                        return
        day += timedelta(days=1)
