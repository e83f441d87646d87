"""A search reads the calendars of its first days, then of the rest only when those were
not enough: the slots it finds are exactly those one read of the whole window finds."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from scheduler.scheduling.search import FIRST_READ, earliest_slots
from scheduler.scheduling.slots import Calendars, Interval, WeeklyHours
from tests.unit.test_slots import LONDON, LORD_HOWE, MONDAY, busy, calendars, clinician, offered

# Every weekday from 08:00 to 17:00, two clinicians; busy spans on the first days.
HOURS = tuple(WeeklyHours(day, time(8), time(17)) for day in range(7))
starts = st.datetimes(
    min_value=datetime.combine(MONDAY, time(0)),
    max_value=datetime.combine(MONDAY + timedelta(days=6), time(23)),
)


@settings(max_examples=150, deadline=None)
@given(
    earliest=starts,
    days=st.integers(min_value=0, max_value=9),
    limit=st.integers(min_value=1, max_value=120),
    spans=st.lists(st.tuples(starts, st.integers(min_value=15, max_value=600)), max_size=6),
    zone=st.sampled_from([LONDON, LORD_HOWE]),
    blocked=st.sets(st.integers(min_value=0, max_value=9), max_size=4),
)
def test_two_reads_find_what_one_read_of_the_window_finds(
    earliest: datetime,
    days: int,
    limit: int,
    spans: list[tuple[datetime, int]],
    zone: ZoneInfo,
    blocked: set[int],
) -> None:
    start = earliest.replace(tzinfo=zone)
    until = start + timedelta(days=days, hours=5)
    taken = busy(
        *((s.replace(tzinfo=zone), s.replace(tzinfo=zone) + timedelta(minutes=m)) for s, m in spans)
    )
    whole = calendars(
        clinicians=[clinician(1, hours=HOURS, busy=taken), clinician(2, hours=HOURS)], zone=zone
    )
    allowed = {MONDAY + timedelta(days=n) for n in range(12)} - {
        MONDAY + timedelta(days=n) for n in blocked
    }
    reads: list[Interval] = []

    def load(begin: datetime, end: datetime) -> Calendars:
        reads.append(Interval(begin, end))
        return whole

    found = earliest_slots(
        load, whole, earliest=start, until=until, limit=limit, allowed_day=allowed.__contains__
    )

    expected = offered(
        whole, earliest=start, until=until, limit=limit, allowed_day=allowed.__contains__
    )
    assert found == expected
    # The rest is read only when the first days did not fill the page.
    first_days = offered(
        whole,
        earliest=start,
        until=min(until, start + FIRST_READ),
        limit=limit,
        allowed_day=allowed.__contains__,
    )
    assert bool(reads) == (len(first_days) < limit and start + FIRST_READ < until)
