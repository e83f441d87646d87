"""The reports' arithmetic on plain values: days, percentiles, buckets, open minutes, CSV."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, time

import pytest

from scheduler.reports.csv import table_csv
from scheduler.reports.figures import (
    Away,
    Bucket,
    Hours,
    Period,
    bucket_counts,
    open_minutes,
    percentile,
)
from scheduler.reports.tables import Column, Kind, Table, rate

NEW_YORK = "America/New_York"


@pytest.mark.parametrize(
    ("values", "fraction", "expected"),
    [
        ([], 0.5, None),
        ([7.0], 0.9, 7.0),
        ([4.0, 1.0, 3.0, 2.0], 0.5, 2.0),
        ([1.0, 2.0, 3.0], 0.5, 2.0),
        ([float(n) for n in range(1, 11)], 0.9, 9.0),
        ([float(n) for n in range(1, 12)], 0.9, 10.0),
    ],
)
def test_percentile_is_nearest_rank(values: list[float], fraction: float, expected: float) -> None:
    assert percentile(values, fraction) == expected


def test_a_rate_with_nothing_to_divide_is_none_not_zero() -> None:
    assert rate(0, 0) is None
    assert rate(0, 3) == 0.0
    assert rate(2, 3) == 0.6667


def test_buckets_take_the_low_end_and_leave_out_the_high_end() -> None:
    buckets = [Bucket("a", 0, 30), Bucket("b", 30, None)]

    assert bucket_counts([0, 29.9, 30, 400], buckets) == [2, 2]


def test_a_period_in_the_fall_back_week_has_a_25_hour_day() -> None:
    period = Period(date(2026, 10, 31), date(2026, 11, 2), NEW_YORK)

    lengths = [(end - start).total_seconds() / 3600 for _n, start, end in period.day_bounds()]
    assert lengths == [24, 25, 24]
    assert period.start == datetime(2026, 10, 31, 4, tzinfo=UTC)
    assert period.end == datetime(2026, 11, 3, 5, tzinfo=UTC)


def test_months_and_weeks_cover_the_period() -> None:
    period = Period(date(2026, 1, 30), date(2026, 3, 2), NEW_YORK)

    assert period.months() == [date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)]
    assert period.month_starts() == [
        datetime(2026, 2, 1, 5, tzinfo=UTC),
        datetime(2026, 3, 1, 5, tzinfo=UTC),
    ]
    assert period.weeks()[0] == date(2026, 1, 26)
    assert period.weeks()[-1] == date(2026, 3, 2)


def test_open_minutes_are_the_union_of_hours_less_each_ones_time_off() -> None:
    monday = date(2026, 10, 5)
    hours = [
        Hours(1, 0, time(8), time(16)),
        Hours(2, 0, time(14), time(18)),
        Hours(3, 1, time(8), time(16)),  # Tuesday: not this day
    ]
    # Clinician 1 away 12:00-15:00 New York (16:00-19:00 UTC): 8-12 and 14-18 remain.
    away = [Away(1, datetime(2026, 10, 5, 16, tzinfo=UTC), datetime(2026, 10, 5, 19, tzinfo=UTC))]

    assert open_minutes([monday], NEW_YORK, hours, []) == [600]
    assert open_minutes([date(2026, 10, 4), monday], NEW_YORK, hours, away) == [0, 480]


def test_each_day_counts_the_hours_that_held_at_its_start() -> None:
    """Clinician 1 worked Mondays 8-16 until Wednesday 7 October 10:00 New York, then
    12-20; the change counts from the next day, so Monday 12 October has 12-20 only."""
    changed = datetime(2026, 10, 7, 14, tzinfo=UTC)
    hours = [
        Hours(1, 0, time(8), time(16), until=changed),
        Hours(1, 0, time(12), time(20), since=changed),
        Hours(1, 2, time(8), time(16), until=changed),  # Wednesdays: still 8-16 on the 7th
        Hours(1, 2, time(9), time(10), since=changed),
    ]
    days = [date(2026, 10, 5), date(2026, 10, 7), date(2026, 10, 12), date(2026, 10, 14)]

    assert open_minutes(days, NEW_YORK, hours, []) == [480, 480, 480, 60]
    # A span that starts exactly at midnight holds that day; one that ends then does not.
    midnight = datetime(2026, 10, 12, 4, tzinfo=UTC)  # 00:00 in New York (EDT)
    edge = [
        Hours(2, 0, time(8), time(9), since=midnight),
        Hours(3, 0, time(10), time(11), until=midnight),
    ]
    assert open_minutes([date(2026, 10, 5), date(2026, 10, 12)], NEW_YORK, edge, []) == [60, 60]


def test_csv_has_a_header_crlf_iso_days_empty_nulls_and_no_formulas() -> None:
    table = Table(
        "t",
        "T",
        (
            Column("day", "Day", Kind.DATE),
            Column("reason", "Reason", Kind.TEXT),
            Column("share", "Share", Kind.RATE),
        ),
        (
            (date(2026, 10, 5), "=1+1", None),
            (date(2026, 10, 6), 'said "no", then left', 0.25),
            (date(2026, 10, 7), "-", 1.0),
        ),
    )

    text = table_csv(table)

    assert text.split("\r\n")[0] == "day,reason,share"
    assert list(csv.reader(io.StringIO(text))) == [
        ["day", "reason", "share"],
        ["2026-10-05", "'=1+1", ""],
        ["2026-10-06", 'said "no", then left', "0.25"],
        ["2026-10-07", "'-", "1.0"],
    ]
