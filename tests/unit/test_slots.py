"""The availability function (scheduling/slots.py): tables of cases, then properties.

The tables pin each rule of :func:`slots.fit` and :func:`slots.find_slots` on one
ordinary Monday in London summer time (UTC+1), so a rule that read UTC instead of the
site's wall clock shows up. The properties generate calendars around the 2026 DST
changes of New York, London and Lord Howe (a 30-minute shift), with working hours that
start or end inside the skipped and the repeated hour, and check what search offers
against busy time, working hours and :func:`slots.fit` itself, in both directions.

The working windows the properties check against are recomputed here from UTC->local
conversions only, following the module's documented reading of a wall time: its first
occurrence, and inside a spring-forward gap the offset in force before the change.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from scheduler.scheduling import slots
from scheduler.scheduling.slots import (
    Calendars,
    ClinicianCalendar,
    Interval,
    Slot,
    Timeline,
    Unfit,
    Unit,
    WeeklyHours,
)
from scheduler.vocabulary import ResourceKind

LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")
LORD_HOWE = ZoneInfo("Australia/Lord_Howe")

MONDAY = date(2026, 6, 1)  # British Summer Time: 08:00 local is 07:00 UTC
TUESDAY = MONDAY + timedelta(days=1)
WEDNESDAY = MONDAY + timedelta(days=2)
PATIENT_ID = 7
QUARTER = timedelta(minutes=15)


def minutes(n: int) -> timedelta:
    return timedelta(minutes=n)


def at(hour: int, minute: int = 0, day: date = MONDAY, zone: ZoneInfo = LONDON) -> datetime:
    """An aware instant at site-local ``hour:minute`` on ``day`` (never in a DST gap here)."""
    return datetime.combine(day, time(hour, minute), zone)


def utc(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), UTC)


def busy(*spans: tuple[datetime, datetime]) -> Timeline:
    return Timeline(Interval(start, end) for start, end in spans)


def clinician(
    clinician_id: int = 1,
    *,
    hours: Iterable[WeeklyHours] = (WeeklyHours(0, time(8), time(12)),),
    length: int = 30,
    busy: Timeline | None = None,
    time_off: Timeline | None = None,
) -> ClinicianCalendar:
    return ClinicianCalendar(
        id=clinician_id,
        hours=tuple(hours),
        duration=minutes(length),
        busy=busy or Timeline(),
        time_off=time_off or Timeline(),
    )


def calendars(
    *,
    clinicians: Sequence[ClinicianCalendar] = (),
    rooms: Sequence[Unit] = (Unit(1),),
    equipment: Mapping[str, tuple[Unit, ...]] | None = None,
    bays: Sequence[Unit] = (Unit(31),),
    patient: Timeline | None = None,
    turnover: int = 15,
    recovery: int = 60,
    zone: ZoneInfo = LONDON,
) -> Calendars:
    """A procedure: 30 minutes of clinician, 15 of turnover, 60 of recovery, one RF unit."""
    return Calendars(
        zone=zone,
        clinicians=tuple(clinicians) or (clinician(),),
        rooms=tuple(rooms),
        equipment={"rf_generator": (Unit(11),)} if equipment is None else equipment,
        recovery_bays=tuple(bays),
        patient=patient or Timeline(),
        turnover=minutes(turnover),
        recovery=minutes(recovery),
    )


def offered(
    cals: Calendars,
    *,
    earliest: datetime,
    until: datetime,
    limit: int = 1000,
    allowed_day: Callable[[date], bool] = lambda _day: True,
) -> list[Slot]:
    found = slots.find_slots(
        cals, earliest=earliest, until=until, limit=limit, allowed_day=allowed_day
    )
    return list(found)


# ---------------------------------------------------------------------------------------
# Timeline


def test_intervals_that_touch_do_not_overlap() -> None:
    first = Interval(at(9), at(10))
    assert not first.overlaps(Interval(at(10), at(11)))
    assert not Interval(at(10), at(11)).overlaps(first)
    assert first.overlaps(Interval(at(9, 59), at(11)))


@pytest.mark.parametrize(
    ("intervals", "merged"),
    [
        pytest.param([], [], id="empty"),
        pytest.param([(9, 10)], [(9, 10)], id="one"),
        pytest.param([(11, 12), (9, 10)], [(9, 10), (11, 12)], id="unsorted_kept_apart"),
        pytest.param([(9, 11), (10, 12)], [(9, 12)], id="overlapping"),
        pytest.param([(9, 10), (10, 11)], [(9, 11)], id="touching"),
        pytest.param([(9, 12), (10, 11)], [(9, 12)], id="nested"),
        pytest.param([(9, 10), (9, 10)], [(9, 10)], id="duplicate"),
        pytest.param([(13, 14), (9, 10), (10, 11), (12, 13)], [(9, 11), (12, 14)], id="chains"),
    ],
)
def test_timeline_merges_and_sorts_busy_intervals(
    intervals: list[tuple[int, int]], merged: list[tuple[int, int]]
) -> None:
    timeline = Timeline(Interval(at(a), at(b)) for a, b in intervals)
    assert list(timeline) == [Interval(at(a), at(b)) for a, b in merged]


@pytest.mark.parametrize(
    ("start", "end", "free"),
    [
        pytest.param(at(8), at(10), True, id="ends_where_busy_starts"),
        pytest.param(at(11), at(12), True, id="starts_where_busy_ends"),
        pytest.param(at(12), at(13), True, id="ends_where_second_busy_starts"),
        pytest.param(at(8), at(10, 1), False, id="ends_a_minute_into_busy"),
        pytest.param(at(10, 59), at(12), False, id="starts_a_minute_before_busy_ends"),
        pytest.param(at(10, 15), at(10, 30), False, id="inside_busy"),
        pytest.param(at(9), at(12), False, id="covers_busy"),
        pytest.param(at(10), at(11), False, id="exactly_busy"),
        pytest.param(at(11), at(13, 30), False, id="reaches_second_busy"),
        pytest.param(at(14), at(15), True, id="after_everything"),
    ],
)
def test_timeline_is_free_at_the_boundaries(start: datetime, end: datetime, free: bool) -> None:
    timeline = busy((at(10), at(11)), (at(13), at(14)))
    assert timeline.is_free(start, end) is free


def test_empty_timeline_is_always_free() -> None:
    assert Timeline().is_free(at(0), at(23))


def test_timeline_compares_instants_not_wall_clocks() -> None:
    timeline = busy((utc(MONDAY, 9), utc(MONDAY, 10)))  # 10:00-11:00 in London
    assert timeline.is_free(at(9), at(10))
    assert not timeline.is_free(at(10), at(11))


ORIGIN = datetime(2026, 6, 1, tzinfo=UTC)
spans = st.tuples(st.integers(0, 200), st.integers(1, 60)).map(
    lambda pair: Interval(ORIGIN + minutes(pair[0]), ORIGIN + minutes(pair[0] + pair[1]))
)


@settings(max_examples=300, deadline=None, database=None)
@given(st.lists(spans, max_size=8), spans)
def test_timeline_is_free_exactly_when_no_busy_interval_overlaps(
    intervals: list[Interval], query: Interval
) -> None:
    timeline = Timeline(intervals)
    expected = not any(overlaps(query, interval) for interval in intervals)
    assert timeline.is_free(query.start, query.end) is expected
    merged = list(timeline)
    assert all(a.end < b.start for a, b in pairwise(merged))  # sorted, apart, not touching
    covered = {m for i in intervals for m in range(minute_of(i.start), minute_of(i.end))}
    assert covered == {m for i in merged for m in range(minute_of(i.start), minute_of(i.end))}


def minute_of(instant: datetime) -> int:
    return (instant - ORIGIN) // minutes(1)


def overlaps(a: Interval, b: Interval) -> bool:
    return a.start < b.end and b.start < a.end


# ---------------------------------------------------------------------------------------
# fit: why a start does not fit


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        pytest.param(at(8), None, id="at_opening"),
        pytest.param(at(11, 30), None, id="ends_at_closing"),
        pytest.param(at(7, 45), slots.NOT_WORKING, id="before_opening"),
        pytest.param(at(11, 45), slots.NOT_WORKING, id="runs_past_closing"),
        pytest.param(at(12), slots.NOT_WORKING, id="at_closing"),
        pytest.param(at(9, day=TUESDAY), slots.NOT_WORKING, id="other_weekday"),
        pytest.param(utc(MONDAY, 7), None, id="utc_0700_is_local_0800"),
        pytest.param(utc(MONDAY, 11), slots.NOT_WORKING, id="utc_1100_is_local_1200"),
    ],
)
def test_fit_refuses_starts_outside_site_local_working_hours(
    start: datetime, expected: Unfit | None
) -> None:
    answer = slots.fit(calendars(), clinician(), start)
    if expected is None:
        assert isinstance(answer, Slot)
        assert (answer.start, answer.end) == (start, start + minutes(30))
    else:
        assert answer == expected


def test_fit_needs_one_window_to_hold_the_whole_appointment() -> None:
    """Two back-to-back windows are two windows: a start spanning the seam does not fit."""
    split = clinician(hours=(WeeklyHours(0, time(8), time(10)), WeeklyHours(0, time(10), time(12))))
    cals = calendars(clinicians=(split,))
    assert slots.fit(cals, split, at(9, 45)) == slots.NOT_WORKING
    assert isinstance(slots.fit(cals, split, at(9, 30)), Slot)
    assert isinstance(slots.fit(cals, split, at(10)), Slot)


@pytest.mark.parametrize(
    ("time_off", "fits"),
    [
        pytest.param((at(9, 15), at(10)), False, id="overlaps"),
        pytest.param((at(8), at(17)), False, id="covers"),
        pytest.param((at(8), at(9)), True, id="ends_at_start"),
        pytest.param((at(9, 30), at(10)), True, id="starts_at_end"),
    ],
)
def test_fit_refuses_time_off(time_off: tuple[datetime, datetime], fits: bool) -> None:
    on_leave = clinician(time_off=busy(time_off))
    answer = slots.fit(calendars(clinicians=(on_leave,)), on_leave, at(9))
    assert isinstance(answer, Slot) if fits else answer == slots.ON_TIME_OFF


def test_fit_reports_hours_before_time_off_before_taken_resources() -> None:
    everything = busy((at(0), at(23)))
    doc = clinician(busy=everything, time_off=everything)
    cals = calendars(clinicians=(doc,), rooms=(Unit(1, everything),), patient=everything)
    assert slots.fit(cals, doc, at(7)) == slots.NOT_WORKING
    assert slots.fit(cals, doc, at(9)) == slots.ON_TIME_OFF
    at_work = clinician(busy=everything)
    assert slots.fit(replace(cals, clinicians=(at_work,)), at_work, at(9)) == Unfit(
        "The requested time is taken.", ("clinician", "patient", "room")
    )


# The appointment below starts at 09:00: clinician 09:00-09:30, room and equipment
# 09:00-09:45 (turnover), recovery bay 09:30-10:30, patient 09:00-10:30.
RF = "rf_generator"
TAKEN_CASES = [
    pytest.param({}, (), id="all_free"),
    pytest.param({"doctor": (9, 15, 9, 45)}, ("clinician",), id="clinician_busy"),
    pytest.param({"doctor": (8, 30, 9, 0)}, (), id="clinician_busy_until_start"),
    pytest.param({"doctor": (9, 30, 10, 0)}, (), id="clinician_busy_from_end"),
    pytest.param({"patient": (8, 30, 9, 5)}, ("patient",), id="patient_busy_at_start"),
    pytest.param({"patient": (10, 15, 11, 0)}, ("patient",), id="patient_busy_in_recovery"),
    pytest.param({"patient": (10, 30, 11, 0)}, (), id="patient_busy_after_recovery"),
    pytest.param({"room": (9, 10, 9, 20)}, ("room",), id="room_busy"),
    pytest.param({"room": (9, 40, 10, 0)}, ("room",), id="room_busy_in_turnover"),
    pytest.param({"room": (9, 45, 10, 0)}, (), id="room_busy_after_turnover"),
    pytest.param({"room": (8, 0, 9, 0)}, (), id="room_busy_until_start"),
    pytest.param({RF: (9, 30, 9, 45)}, (RF,), id="equipment_busy_in_turnover"),
    pytest.param({RF: (9, 45, 11, 0)}, (), id="equipment_busy_after_turnover"),
    pytest.param({"bay": (9, 0, 9, 30)}, (), id="bay_busy_only_during_clinician_part"),
    pytest.param({"bay": (9, 29, 9, 31)}, ("recovery_bay",), id="bay_busy_at_clinician_end"),
    pytest.param({"bay": (10, 0, 11, 0)}, ("recovery_bay",), id="bay_busy_in_recovery"),
    pytest.param({"bay": (10, 30, 11, 0)}, (), id="bay_busy_after_recovery"),
    pytest.param(
        {
            "doctor": (9, 0, 9, 15),
            "patient": (9, 0, 9, 15),
            "room": (9, 0, 9, 15),
            RF: (9, 0, 9, 15),
            "bay": (10, 0, 10, 15),
        },
        ("clinician", "patient", "room", RF, "recovery_bay"),
        id="everything_busy",
    ),
]


@pytest.mark.parametrize(("busy_at", "taken"), TAKEN_CASES)
def test_fit_names_every_taken_resource_kind(
    busy_at: dict[str, tuple[int, int, int, int]], taken: tuple[str, ...]
) -> None:
    def timeline(name: str) -> Timeline:
        if name not in busy_at:
            return Timeline()
        h1, m1, h2, m2 = busy_at[name]
        return busy((at(h1, m1), at(h2, m2)))

    doc = clinician(busy=timeline("doctor"))
    cals = calendars(
        clinicians=(doc,),
        rooms=(Unit(1, timeline("room")),),
        equipment={RF: (Unit(11, timeline(RF)),)},
        bays=(Unit(31, timeline("bay")),),
        patient=timeline("patient"),
    )
    answer = slots.fit(cals, doc, at(9))
    if taken:
        assert answer == Unfit("The requested time is taken.", taken)
    else:
        assert answer == Slot(at(9), at(9, 30), 1, 1, (11,), 31)


@pytest.mark.parametrize(
    ("change", "taken"),
    [
        pytest.param({"rooms": ()}, ("room",), id="no_room_hosts_the_kind"),
        pytest.param({"bays": ()}, ("recovery_bay",), id="no_recovery_bay"),
        pytest.param({"equipment": {RF: (Unit(11),), "c_arm": ()}}, ("c_arm",), id="no_c_arm"),
    ],
)
def test_fit_treats_a_missing_resource_as_taken(
    change: dict[str, object], taken: tuple[str, ...]
) -> None:
    answer = slots.fit(calendars(**change), clinician(), at(9))  # type: ignore[arg-type]
    assert answer == Unfit("The requested time is taken.", taken)


def test_fit_without_recovery_needs_no_bay_and_frees_the_patient_at_the_end() -> None:
    full = busy((at(0), at(23)))
    cals = calendars(recovery=0, bays=(Unit(31, full),), patient=busy((at(9, 30), at(10))))
    answer = slots.fit(cals, clinician(), at(9))
    assert answer == Slot(at(9), at(9, 30), 1, 1, (11,), None)
    assert isinstance(answer, Slot)
    assert answer.allocations(cals, PATIENT_ID) == [
        (ResourceKind.CLINICIAN, 1, Interval(at(9), at(9, 30))),
        (ResourceKind.ROOM, 1, Interval(at(9), at(9, 45))),
        (ResourceKind.PATIENT, PATIENT_ID, Interval(at(9), at(9, 30))),
        (ResourceKind.EQUIPMENT, 11, Interval(at(9), at(9, 45))),
    ]
    assert calendars(recovery=0, bays=()).recovery_bays == ()
    assert isinstance(slots.fit(calendars(recovery=0, bays=()), clinician(), at(9)), Slot)


def test_fit_takes_the_first_free_unit_in_order_of_preference() -> None:
    taken = busy((at(9), at(9, 15)))
    cals = calendars(
        rooms=(Unit(1, taken), Unit(2), Unit(3)),
        equipment={RF: (Unit(11, taken), Unit(12), Unit(13)), "c_arm": (Unit(21), Unit(22))},
        bays=(Unit(31, busy((at(10), at(10, 15)))), Unit(32), Unit(33)),
    )
    answer = slots.fit(cals, clinician(), at(9))
    assert answer == Slot(at(9), at(9, 30), 1, 2, (12, 21), 32)


def test_allocations_cover_turnover_recovery_and_every_unit() -> None:
    cals = calendars(equipment={RF: (Unit(11),), "c_arm": (Unit(21),)})
    answer = slots.fit(cals, clinician(), at(9))
    assert isinstance(answer, Slot)
    assert answer.allocations(cals, PATIENT_ID) == [
        (ResourceKind.CLINICIAN, 1, Interval(at(9), at(9, 30))),
        (ResourceKind.ROOM, 1, Interval(at(9), at(9, 45))),
        (ResourceKind.PATIENT, PATIENT_ID, Interval(at(9), at(10, 30))),
        (ResourceKind.EQUIPMENT, 11, Interval(at(9), at(9, 45))),
        (ResourceKind.EQUIPMENT, 21, Interval(at(9), at(9, 45))),
        (ResourceKind.RECOVERY_BAY, 31, Interval(at(9, 30), at(10, 30))),
    ]


# ---------------------------------------------------------------------------------------
# find_slots


def starts(found: Iterable[Slot], zone: ZoneInfo = LONDON) -> list[str]:
    return [f"{s.start.astimezone(zone):%a %H:%M}#{s.clinician_id}" for s in found]


def test_search_offers_quarter_hours_inside_working_hours() -> None:
    doc = clinician(hours=(WeeklyHours(0, time(8, 10), time(9, 5)),), length=15)
    found = offered(calendars(clinicians=(doc,)), earliest=at(0), until=at(23))
    assert starts(found) == ["Mon 08:15#1", "Mon 08:30#1", "Mon 08:45#1"]


@pytest.mark.parametrize(
    ("earliest", "until", "first", "last"),
    [
        pytest.param(at(9), at(10), "Mon 09:00#1", "Mon 09:45#1", id="earliest_inclusive"),
        pytest.param(at(9, 7), at(10), "Mon 09:15#1", "Mon 09:45#1", id="earliest_rounded_up"),
        pytest.param(at(9), at(10, 1), "Mon 09:00#1", "Mon 10:00#1", id="until_exclusive"),
        pytest.param(at(0), at(8, 15), "Mon 08:00#1", "Mon 08:00#1", id="one_start"),
        pytest.param(at(11, 31), at(9, day=WEDNESDAY), "Tue 08:00#1", "Tue 11:30#1", id="next_day"),
    ],
)
def test_search_keeps_to_earliest_and_until(
    earliest: datetime, until: datetime, first: str, last: str
) -> None:
    doc = clinician(hours=(WeeklyHours(0, time(8), time(12)), WeeklyHours(1, time(8), time(12))))
    found = offered(calendars(clinicians=(doc,)), earliest=earliest, until=until)
    assert starts(found)[0] == first
    assert starts(found)[-1] == last
    assert all(earliest <= slot.start < until for slot in found)


def test_search_offers_nothing_in_an_empty_range() -> None:
    assert offered(calendars(), earliest=at(10), until=at(10)) == []
    assert offered(calendars(), earliest=at(11), until=at(10)) == []


def test_search_is_in_time_order_across_clinicians_and_keeps_their_order_on_ties() -> None:
    early = clinician(1, hours=(WeeklyHours(0, time(9), time(10)),), length=60)
    late = clinician(2, hours=(WeeklyHours(0, time(8), time(10)),), length=45)
    cals = calendars(clinicians=(early, late), rooms=(Unit(1), Unit(2)))
    found = offered(cals, earliest=at(0), until=at(23))
    assert starts(found) == [
        "Mon 08:00#2",
        "Mon 08:15#2",
        "Mon 08:30#2",
        "Mon 08:45#2",
        "Mon 09:00#1",
        "Mon 09:00#2",
        "Mon 09:15#2",
    ]


@pytest.mark.parametrize("limit", [0, 1, 3, 15, 16, 100])
def test_search_stops_at_limit_with_the_earliest_slots(limit: int) -> None:
    cals = calendars()
    everything = offered(cals, earliest=at(0), until=at(0, day=MONDAY + timedelta(days=14)))
    assert len(everything) == 2 * 15  # two Mondays, 08:00 to 11:30
    assert (
        offered(cals, earliest=at(0), until=everything[-1].end, limit=limit) == (everything[:limit])
    )


def test_search_skips_busy_starts() -> None:
    doc = clinician(busy=busy((at(8), at(9))))
    cals = calendars(clinicians=(doc,), rooms=(Unit(1, busy((at(9, 30), at(10, 15)))),))
    # The room is busy 09:30-10:15: a 09:00 start would need it until 09:45.
    found = offered(cals, earliest=at(0), until=at(12), limit=3)
    assert starts(found) == ["Mon 10:15#1", "Mon 10:30#1", "Mon 10:45#1"]


def test_search_offers_only_allowed_days() -> None:
    doc = clinician(hours=tuple(WeeklyHours(day, time(8), time(9)) for day in range(5)))
    two_weeks = at(0, day=MONDAY + timedelta(days=14))
    allowed = {WEDNESDAY, WEDNESDAY + timedelta(days=7)}
    found = offered(
        calendars(clinicians=(doc,)),
        earliest=at(0),
        until=two_weeks,
        allowed_day=allowed.__contains__,
    )
    assert {slot.start.astimezone(LONDON).date() for slot in found} == allowed
    assert len(found) == 2 * 3


def test_search_asks_allowed_day_about_site_local_dates() -> None:
    """23:30 UTC on Sunday is already Monday 00:30 in London."""
    asked: list[date] = []

    def allowed_day(day: date) -> bool:
        asked.append(day)
        return True

    found = offered(
        calendars(), earliest=utc(MONDAY, 0) - minutes(30), until=at(12), allowed_day=allowed_day
    )
    assert asked == [MONDAY]
    assert starts(found)[0] == "Mon 08:00#1"


# ---------------------------------------------------------------------------------------
# DST: working hours stay wall-clock times; the instants follow the zone's changes


@pytest.mark.parametrize(
    ("zone", "day", "window", "count"),
    [
        # 01:00 EST .. 02:30 read with EST (the gap): 03:30 EDT.
        pytest.param(NEW_YORK, date(2026, 3, 8), (6, 0, 7, 30), 5, id="new_york_spring"),
        # 01:00 EDT (first occurrence) .. 03:30 EST; starts from 02:00 EST (01:xx is twice).
        pytest.param(NEW_YORK, date(2026, 11, 1), (5, 0, 8, 30), 5, id="new_york_autumn"),
        pytest.param(NEW_YORK, date(2026, 3, 1), (6, 0, 8, 30), 9, id="new_york_ordinary"),
        # 01:00 read with GMT (the gap) .. 03:30 BST.
        pytest.param(LONDON, date(2026, 3, 29), (1, 0, 2, 30), 5, id="london_spring"),
        # 01:00 BST (first occurrence) .. 03:30 GMT; starts from 02:00 GMT.
        pytest.param(LONDON, date(2026, 10, 25), (0, 0, 3, 30), 5, id="london_autumn"),
        # +10:30 -> +11 at 02:00: 01:00 +10:30 .. 03:30 +11, the day before in UTC.
        pytest.param(LORD_HOWE, date(2026, 10, 4), (14, 30, 16, 30), 7, id="lord_howe_spring"),
        # +11 -> +10:30 at 02:00: 01:00 +11 .. 03:30 +10:30; no start at 01:30-01:45 (twice).
        pytest.param(LORD_HOWE, date(2026, 4, 5), (14, 0, 17, 0), 7, id="lord_howe_autumn"),
    ],
)
def test_working_hours_across_dst_follow_the_wall_clock(
    zone: ZoneInfo, day: date, window: tuple[int, int, int, int], count: int
) -> None:
    doc = clinician(hours=(WeeklyHours(day.weekday(), time(1), time(3, 30)),))
    h1, m1, h2, m2 = window
    utc_day = day - timedelta(days=1) if zone is LORD_HOWE else day
    expected = Interval(utc(utc_day, h1, m1), utc(utc_day, h2, m2))
    assert slots.working_windows(doc.hours, day, zone) == [expected]
    assert slots.working_windows(doc.hours, day, zone) == reference_windows(doc, day, zone)
    cals = calendars(clinicians=(doc,), zone=zone)
    found = offered(cals, earliest=expected.start - timedelta(days=1), until=expected.end)
    every_start = [expected.start + n * QUARTER for n in range(4 * 4)]
    assert [slot.start for slot in found] == [
        start
        for start in every_start
        if start + minutes(30) <= expected.end and not repeated(start, zone)
    ]
    assert len(found) == count
    assert found[-1].end == expected.end
    assert all(slot.start.astimezone(zone).date() == day for slot in found)


# The night New York's clocks go back in 2027: 01:00-02:00 on 7 November is lived twice.
FALL_BACK = date(2027, 11, 7)


def test_search_never_offers_a_wall_time_that_occurs_twice() -> None:
    """00:00-04:00 on the fall-back night: 01:00-01:45 come twice (EDT, then EST), so
    neither is offered; each offered wall time names one instant (a start at 00:45 ends
    at 01:15 EDT, which the invite writes in UTC)."""
    doc = clinician(hours=(WeeklyHours(FALL_BACK.weekday(), time(0), time(4)),))
    cals = calendars(clinicians=(doc,), zone=NEW_YORK)
    found = offered(cals, earliest=utc(FALL_BACK, 0), until=utc(FALL_BACK + timedelta(days=1), 0))
    walls = [f"{slot.start.astimezone(NEW_YORK):%H:%M}" for slot in found]
    assert walls == [
        *("00:00", "00:15", "00:30", "00:45"),
        *("02:00", "02:15", "02:30", "02:45", "03:00", "03:15", "03:30"),
    ]
    assert "01:30" not in walls


@pytest.mark.parametrize(
    "start",
    [
        pytest.param(datetime(2027, 11, 7, 5, 30, tzinfo=UTC), id="first_0130_edt"),
        pytest.param(datetime(2027, 11, 7, 6, 30, tzinfo=UTC), id="second_0130_est"),
    ],
)
def test_booking_refuses_a_start_in_the_repeated_hour(start: datetime) -> None:
    """What search never offers, booking does not accept either (one function: fit)."""
    doc = clinician(hours=(WeeklyHours(FALL_BACK.weekday(), time(0), time(4)),))
    assert slots.fit(calendars(clinicians=(doc,), zone=NEW_YORK), doc, start) == (
        slots.REPEATED_HOUR
    )


def test_office_hours_keep_their_wall_clock_over_the_change() -> None:
    doc = clinician(hours=tuple(WeeklyHours(day, time(8), time(8, 30)) for day in range(7)))
    cals = calendars(clinicians=(doc,), zone=NEW_YORK)
    found = offered(cals, earliest=utc(date(2026, 3, 6), 0), until=utc(date(2026, 3, 10), 0))
    assert starts(found, NEW_YORK) == ["Fri 08:00#1", "Sat 08:00#1", "Sun 08:00#1", "Mon 08:00#1"]
    assert [slot.start.hour for slot in found] == [13, 13, 12, 12]  # EST, then EDT


def test_search_never_offers_a_slot_twice_when_dst_makes_windows_overlap() -> None:
    """01:00-02:30 and 03:00-04:00 do not overlap on the wall clock, but on 8 March 2026
    in New York 02:30 does not exist and is read as 03:30 EDT, so the two windows share
    03:00-03:30 EDT; each start there must still be offered once."""
    doc = clinician(
        hours=(WeeklyHours(6, time(1), time(2, 30)), WeeklyHours(6, time(3), time(4))),
    )
    cals = calendars(clinicians=(doc,), zone=NEW_YORK)
    found = offered(cals, earliest=utc(date(2026, 3, 8), 0), until=utc(date(2026, 3, 9), 0))
    keys = [(slot.start, slot.clinician_id) for slot in found]
    assert len(keys) == len(set(keys)), starts(found, NEW_YORK)


# ---------------------------------------------------------------------------------------
# Properties around the 2026 DST changes


def reference_instant(day: date, wall: time, zone: ZoneInfo) -> datetime:
    """The instant site-local ``wall`` on ``day`` names, from UTC->local conversions only.

    Its first occurrence when it exists (once, or twice in the repeated hour); inside a
    spring-forward gap, the wall time read with the offset before the change (the smaller).
    """
    wall_as_utc = datetime.combine(day, wall, UTC)
    offsets = {
        offset
        for step in range(-30 * 4, 30 * 4 + 1)
        if (offset := (wall_as_utc + step * QUARTER).astimezone(zone).utcoffset()) is not None
    }
    readings = [
        wall_as_utc - offset
        for offset in offsets
        if (wall_as_utc - offset).astimezone(zone).replace(tzinfo=UTC) == wall_as_utc
    ]
    return min(readings) if readings else wall_as_utc - min(offsets)


def repeated(instant: datetime, zone: ZoneInfo) -> bool:
    """Whether another instant within two hours shows the same wall time in ``zone``."""
    wall = instant.astimezone(zone).replace(tzinfo=None)
    return any(
        (instant + step * minutes(1)).astimezone(zone).replace(tzinfo=None) == wall
        for step in range(-120, 121)
        if step
    )


def reference_windows(doc: ClinicianCalendar, day: date, zone: ZoneInfo) -> list[Interval]:
    return [
        Interval(reference_instant(day, h.start, zone), reference_instant(day, h.end, zone))
        for h in doc.hours
        if h.weekday == day.weekday()
    ]


# The 2026 changes and the wall-clock time each happens at (Lord Howe moves 30 minutes).
TRANSITIONS = [
    (NEW_YORK, date(2026, 3, 8), time(2)),
    (NEW_YORK, date(2026, 11, 1), time(2)),
    (LONDON, date(2026, 3, 29), time(1)),
    (LONDON, date(2026, 10, 25), time(1)),
    (LORD_HOWE, date(2026, 4, 5), time(2)),
    (LORD_HOWE, date(2026, 10, 4), time(2)),
]


def wall_times_near(change: time) -> list[time]:
    """Quarter hours from an hour before the change to two after, a few off the grid, and
    an ordinary day's times: ends and starts inside the gap and the repeated hour."""
    anchor = datetime.combine(MONDAY, change, UTC)
    steps = [anchor + n * QUARTER for n in range(-4, 9)]
    steps += [anchor + minutes(n) for n in (5, 20, 50)]
    return sorted({step.time() for step in steps} | {time(8), time(12), time(23, 45)})


KINDS = (RF, "c_arm")


@dataclass(frozen=True)
class Scenario:
    calendars: Calendars
    earliest: datetime
    until: datetime
    allowed: frozenset[date] | None  # None: every day
    busy: dict[tuple[ResourceKind, int], list[Interval]] = field(default_factory=dict)
    time_off: dict[int, list[Interval]] = field(default_factory=dict)

    def allowed_day(self, day: date) -> bool:
        return self.allowed is None or day in self.allowed

    def search(self, limit: int = 10**6) -> list[Slot]:
        found = slots.find_slots(
            self.calendars,
            earliest=self.earliest,
            until=self.until,
            limit=limit,
            allowed_day=self.allowed_day,
        )
        return list(found)

    def clinician(self, clinician_id: int) -> ClinicianCalendar:
        return next(c for c in self.calendars.clinicians if c.id == clinician_id)


@st.composite
def day_patterns(draw: st.DrawFn, change: time) -> list[tuple[time, time]]:
    """Working intervals of one weekday that do not overlap on the wall clock (they may
    touch), as the working-hours endpoint requires."""
    bounds = sorted(
        draw(
            st.lists(st.sampled_from(wall_times_near(change)), min_size=2, max_size=6, unique=True)
        )
    )
    working = draw(st.lists(st.booleans(), min_size=len(bounds) - 1, max_size=len(bounds) - 1))
    pairs = [pair for pair, works in zip(pairwise(bounds), working, strict=True) if works]
    return pairs or [(bounds[0], bounds[1])]


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    zone, change, at_wall_time = draw(st.sampled_from(TRANSITIONS))
    first_day = change - timedelta(days=draw(st.integers(0, 2)))
    midnight = datetime.combine(first_day, time(0), zone).astimezone(UTC)
    earliest = midnight + minutes(draw(st.integers(0, 4 * 60) | st.integers(0, 24 * 60)))
    until = earliest + minutes(draw(st.integers(6 * 60, 3 * 24 * 60)))
    origin = midnight - timedelta(hours=6)

    def timelines() -> list[Interval]:
        drawn = draw(
            st.lists(
                st.tuples(st.integers(0, 5 * 24 * 12), st.integers(1, 48)),
                max_size=4,
            )
        )
        return [Interval(origin + minutes(5 * a), origin + minutes(5 * (a + n))) for a, n in drawn]

    raw: dict[tuple[ResourceKind, int], list[Interval]] = {}

    def unit(kind: ResourceKind, unit_id: int) -> Unit:
        raw[kind, unit_id] = timelines()
        return Unit(unit_id, Timeline(raw[kind, unit_id]))

    doctors = []
    time_off: dict[int, list[Interval]] = {}
    for clinician_id in range(1, draw(st.integers(1, 2)) + 1):
        weekdays = draw(st.just(set(range(7))) | st.sets(st.integers(0, 6))) | {change.weekday()}
        pattern = draw(day_patterns(at_wall_time))
        raw[ResourceKind.CLINICIAN, clinician_id] = timelines()
        time_off[clinician_id] = timelines() if draw(st.booleans()) else []
        doctors.append(
            ClinicianCalendar(
                id=clinician_id,
                hours=tuple(WeeklyHours(d, s, e) for d in sorted(weekdays) for s, e in pattern),
                duration=minutes(draw(st.sampled_from([15, 20, 30, 45, 60, 90]))),
                busy=Timeline(raw[ResourceKind.CLINICIAN, clinician_id]),
                time_off=Timeline(time_off[clinician_id]),
            )
        )
    rooms = tuple(unit(ResourceKind.ROOM, i) for i in range(1, draw(st.integers(1, 3)) + 1))
    equipment = {
        kind: tuple(
            unit(ResourceKind.EQUIPMENT, 100 + 10 * k + i) for i in range(draw(st.integers(1, 2)))
        )
        for k, kind in enumerate(KINDS[: draw(st.integers(0, len(KINDS)))])
    }
    recovery = minutes(draw(st.sampled_from([0, 30, 60])))
    bay_count = draw(st.integers(1 if recovery else 0, 2))
    bays = tuple(unit(ResourceKind.RECOVERY_BAY, 200 + i) for i in range(bay_count))
    patient = unit(ResourceKind.PATIENT, PATIENT_ID).busy
    days = draw(st.none() | st.sets(st.integers(-1, 4)))
    allowed = None if days is None else frozenset(first_day + timedelta(days=d) for d in days)
    cals = Calendars(
        zone=zone,
        clinicians=tuple(doctors),
        rooms=rooms,
        equipment=equipment,
        recovery_bays=bays,
        patient=patient,
        turnover=minutes(draw(st.sampled_from([0, 10, 15, 30]))),
        recovery=recovery,
    )
    return Scenario(cals, earliest, until, allowed, raw, time_off)


def overlapping_windows_scenario() -> Scenario:
    """New York, 8 March 2026: 01:00-02:30 and 03:00-04:00 share 03:00-03:30 EDT."""
    doc = clinician(hours=(WeeklyHours(6, time(1), time(2, 30)), WeeklyHours(6, time(3), time(4))))
    cals = calendars(clinicians=(doc,), zone=NEW_YORK, equipment={}, bays=(), recovery=0)
    return Scenario(cals, utc(date(2026, 3, 8), 0), utc(date(2026, 3, 9), 0), None)


PROPERTY = settings(max_examples=80, deadline=None, database=None)


def ceil_quarter(instant: datetime) -> datetime:
    instant = instant.astimezone(UTC)
    start = instant.replace(minute=0, second=0, microsecond=0)
    while start < instant:
        start += QUARTER
    return start


def accepted_by_booking(scenario: Scenario) -> set[tuple[datetime, int]]:
    """Every quarter-hour start in range that fit() accepts on an allowed day."""
    accepted = set()
    start = ceil_quarter(scenario.earliest)
    while start < scenario.until:
        if scenario.allowed_day(start.astimezone(scenario.calendars.zone).date()):
            for doc in scenario.calendars.clinicians:
                if isinstance(slots.fit(scenario.calendars, doc, start), Slot):
                    accepted.add((start, doc.id))
        start += QUARTER
    return accepted


@PROPERTY
@given(scenarios())
def test_offered_slots_avoid_every_busy_interval_and_time_off(scenario: Scenario) -> None:
    cals = scenario.calendars
    for slot in scenario.search():
        rows = slot.allocations(cals, PATIENT_ID)
        for kind, resource_id, span in rows:
            for interval in scenario.busy.get((kind, resource_id), []):
                assert not overlaps(span, interval), (kind, resource_id, span, interval)
        clinician_part = Interval(slot.start, slot.end)
        assert not any(overlaps(clinician_part, t) for t in scenario.time_off[slot.clinician_id])
        assert slot.room_id in {room.id for room in cals.rooms}
        assert [kind for kind, _, _ in rows].count(ResourceKind.EQUIPMENT) == len(cals.equipment)
        for unit_id, units in zip(slot.equipment_ids, cals.equipment.values(), strict=True):
            assert unit_id in {u.id for u in units}
        assert (slot.recovery_bay_id is None) == (not cals.recovery)
        patient_span = next(span for kind, _, span in rows if kind is ResourceKind.PATIENT)
        assert patient_span == Interval(slot.start, slot.end + cals.recovery)


@PROPERTY
@given(scenarios())
def test_offered_slots_lie_inside_a_working_window_of_their_local_day(scenario: Scenario) -> None:
    zone = scenario.calendars.zone
    for slot in scenario.search():
        doc = scenario.clinician(slot.clinician_id)
        assert slot.end - slot.start == doc.duration
        day = slot.start.astimezone(zone).date()
        windows = reference_windows(doc, day, zone)
        assert any(w.start <= slot.start and slot.end <= w.end for w in windows), (day, windows)


@PROPERTY
@given(scenarios())
def test_offered_slots_are_ordered_on_the_grid_within_bounds_and_allowed_days(
    scenario: Scenario,
) -> None:
    found = scenario.search()
    zone = scenario.calendars.zone
    assert [slot.start for slot in found] == sorted(slot.start for slot in found)
    for slot in found:
        assert scenario.earliest <= slot.start < scenario.until
        assert slot.start.astimezone(UTC).minute % 15 == 0
        assert slot.start.astimezone(zone).minute % 15 == 0
        assert slot.start.second == slot.start.microsecond == 0
        assert scenario.allowed_day(slot.start.astimezone(zone).date())


@PROPERTY
@given(scenarios())
def test_search_never_offers_a_start_whose_wall_time_occurs_twice(scenario: Scenario) -> None:
    zone = scenario.calendars.zone
    for slot in scenario.search():
        assert not repeated(slot.start, zone), slot.start.astimezone(zone)


@PROPERTY
@given(scenarios(), st.integers(0, 12))
def test_search_with_a_limit_offers_the_earliest_slots(scenario: Scenario, limit: int) -> None:
    assert scenario.search(limit) == scenario.search()[:limit]


@PROPERTY
@given(scenarios())
def test_every_offered_slot_is_accepted_by_booking(scenario: Scenario) -> None:
    for slot in scenario.search():
        assert slots.fit(scenario.calendars, scenario.clinician(slot.clinician_id), slot.start) == (
            slot
        )


@PROPERTY
@given(scenarios())
def test_every_start_booking_accepts_is_offered(scenario: Scenario) -> None:
    offered_starts = {(slot.start, slot.clinician_id) for slot in scenario.search()}
    assert accepted_by_booking(scenario) <= offered_starts


@PROPERTY
@given(scenarios())
@example(overlapping_windows_scenario())
def test_search_offers_each_start_of_each_clinician_once(scenario: Scenario) -> None:
    keys = [(slot.start, slot.clinician_id) for slot in scenario.search()]
    assert len(keys) == len(set(keys))


@PROPERTY
@given(st.data())
def test_working_windows_read_wall_times_as_documented_around_dst(data: st.DataObject) -> None:
    zone, change, at_wall_time = data.draw(st.sampled_from(TRANSITIONS))
    day = change + timedelta(days=data.draw(st.integers(-1, 1)))
    pattern = data.draw(day_patterns(at_wall_time))
    doc = clinician(hours=[WeeklyHours(day.weekday(), start, end) for start, end in pattern])
    assert slots.working_windows(doc.hours, day, zone) == reference_windows(doc, day, zone)


@pytest.mark.parametrize(
    ("others", "left"),
    [
        ([], [(9, 10)]),
        ([(7, 8)], [(9, 10)]),
        ([(8, 9)], [(9, 10)]),
        ([(8, 12)], []),
        ([(9, 10)], []),
        ([(8, 9.5)], [(9.5, 10)]),
        ([(9.5, 11)], [(9, 9.5)]),
        ([(9.25, 9.5)], [(9, 9.25), (9.5, 10)]),
        ([(9.5, 9.75), (9.1, 9.25)], [(9, 9.1), (9.25, 9.5), (9.75, 10)]),
        ([(9.1, 9.25), (9.2, 10)], [(9, 9.1)]),
    ],
)
def test_an_interval_minus_others_keeps_only_the_uncovered_parts(
    others: list[tuple[float, float]], left: list[tuple[float, float]]
) -> None:
    def at(hours: float) -> datetime:
        return datetime(2026, 12, 7, tzinfo=UTC) + timedelta(hours=hours)

    def interval(pair: tuple[float, float]) -> Interval:
        return Interval(at(pair[0]), at(pair[1]))

    assert interval((9, 10)).minus(interval(o) for o in others) == [interval(p) for p in left]


def test_a_lapsed_hold_is_in_the_way_only_of_rows_overlapping_its_own_on_the_same_resource() -> (
    None
):
    held = Interval(at(9), at(10))
    cals = replace(
        calendars(),
        lapsed_holds={
            (ResourceKind.ROOM, 1): ((held, "a"),),
            (ResourceKind.CLINICIAN, 7): ((held, "b"),),
        },
    )

    def in_the_way(*rows: tuple[ResourceKind, int, Interval]) -> set[str]:
        return slots.lapsed_in_the_way(rows, cals)

    assert in_the_way((ResourceKind.ROOM, 1, Interval(at(9, 45), at(10, 30)))) == {"a"}
    assert in_the_way((ResourceKind.ROOM, 1, Interval(at(10), at(11)))) == set()  # adjacent
    assert in_the_way((ResourceKind.ROOM, 2, held)) == set()  # another room
    assert in_the_way((ResourceKind.PATIENT, 1, held)) == set()  # another kind, same id
    assert in_the_way(
        (ResourceKind.ROOM, 1, Interval(at(8), at(9, 15))),
        (ResourceKind.CLINICIAN, 7, Interval(at(9, 59), at(10))),
    ) == {"a", "b"}
