"""The arithmetic of the reports, on plain values: site-local days and months as UTC
intervals, percentiles, buckets, and the minutes a site is open on a day.

Pure module: no Flask, no SQLAlchemy.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class Period:
    """Site-local days ``first``..``last`` (inclusive) and the UTC interval they cover."""

    first: date
    last: date
    timezone: str

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def midnight(self, day: date) -> datetime:
        """The UTC instant the site-local ``day`` begins."""
        return datetime.combine(day, time.min, self.zone).astimezone(UTC)

    @property
    def start(self) -> datetime:
        return self.midnight(self.first)

    @property
    def end(self) -> datetime:
        return self.midnight(self.last + timedelta(days=1))

    @property
    def days(self) -> list[date]:
        return [self.first + timedelta(days=n) for n in range((self.last - self.first).days + 1)]

    def day_bounds(self) -> list[tuple[int, datetime, datetime]]:
        """(index, start, end) of each site-local day, in UTC (a DST day is 23 or 25 h)."""
        days = self.days
        return [
            (n, self.midnight(day), self.midnight(day + timedelta(days=1)))
            for n, day in enumerate(days)
        ]

    def changeovers(self) -> list[tuple[int, datetime, datetime, float]]:
        """The days a clock change made 23 or 25 hours long: (index, start, end, and the
        minutes the days before and including it are off whole days)."""
        changes = []
        off = 0.0
        for n, start, end in self.day_bounds():
            length = (end - start) / timedelta(minutes=1)
            if length != 1440:
                off += length - 1440
                changes.append((n, start, end, off))
        return changes

    def months(self) -> list[date]:
        """The first day of each calendar month the period touches."""
        first = self.first.replace(day=1)
        months = []
        while first <= self.last:
            months.append(first)
            first = (first + timedelta(days=32)).replace(day=1)
        return months

    def month_starts(self) -> list[datetime]:
        """The UTC instants at which the second and later months begin (bucket edges)."""
        return [self.midnight(month) for month in self.months()[1:]]

    def weeks(self) -> list[date]:
        """The Monday of each week the period touches."""
        monday = self.first - timedelta(days=self.first.weekday())
        weeks = []
        while monday <= self.last:
            weeks.append(monday)
            monday += timedelta(days=7)
        return weeks


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """The nearest-rank percentile: the smallest value with at least ``fraction`` of the
    values at or below it (median of 1..4 is 2, p90 of 1..10 is 9). None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


@dataclass(frozen=True)
class Bucket:
    title: str
    low: float  # inclusive
    high: float | None  # exclusive; None: no upper end


def bucket_counts(values: Iterable[float], buckets: Sequence[Bucket]) -> list[int]:
    counts = [0] * len(buckets)
    for value in values:
        for n, bucket in enumerate(buckets):
            if value >= bucket.low and (bucket.high is None or value < bucket.high):
                counts[n] += 1
                break
    return counts


@dataclass(frozen=True)
class Hours:
    """One clinician's working hours at the site on one weekday (0 = Monday), local, and
    the span they held (UTC; None: unbounded). A day counts the hours that held at its
    start (site-local midnight): a change during a day counts from the next."""

    clinician_id: int
    weekday: int
    start: time
    end: time
    since: datetime | None = None
    until: datetime | None = None

    def held_at(self, moment: datetime) -> bool:
        return (self.since is None or self.since <= moment) and (
            self.until is None or moment < self.until
        )


@dataclass(frozen=True)
class Away:
    """One clinician's time off (UTC)."""

    clinician_id: int
    start: datetime
    end: datetime


Interval = tuple[datetime, datetime]


def _union(intervals: Iterable[Interval]) -> list[Interval]:
    merged: list[Interval] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _minus(interval: Interval, holes: Iterable[Interval]) -> list[Interval]:
    pieces = [interval]
    for hole_start, hole_end in holes:
        cut: list[Interval] = []
        for start, end in pieces:
            if hole_end <= start or hole_start >= end:
                cut.append((start, end))
                continue
            if start < hole_start:
                cut.append((start, hole_start))
            if hole_end < end:
                cut.append((hole_end, end))
        pieces = cut
    return pieces


def open_minutes(
    days: Sequence[date], timezone: str, hours: Sequence[Hours], away: Sequence[Away]
) -> list[int]:
    """Minutes of each site-local day in which at least one clinician works at the site:
    the union of their hours that weekday (those that held that day), each less their
    time off. This is when the site's rooms are staffed, the denominator of room
    utilization."""
    zone = ZoneInfo(timezone)
    by_weekday: dict[int, list[Hours]] = {}
    for shift in hours:
        by_weekday.setdefault(shift.weekday, []).append(shift)
    # Each clinician's time off by the local days it touches, so a day looks up its own.
    holes: dict[tuple[int, date], list[Interval]] = {}
    for off in away:
        day = off.start.astimezone(zone).date()
        while day <= off.end.astimezone(zone).date():
            holes.setdefault((off.clinician_id, day), []).append((off.start, off.end))
            day += timedelta(days=1)
    opened = []
    for day in days:
        worked: set[Interval] = set()
        at: dict[tuple[time, time], Interval] = {}
        midnight = datetime.combine(day, time(), zone)
        for shift in by_weekday.get(day.weekday(), []):
            if not shift.held_at(midnight):
                continue
            key = (shift.start, shift.end)
            if key not in at:
                at[key] = (
                    datetime.combine(day, shift.start, zone).astimezone(UTC),
                    datetime.combine(day, shift.end, zone).astimezone(UTC),
                )
            worked.update(_minus(at[key], holes.get((shift.clinician_id, day), [])))
        merged = _union(worked)
        opened.append(sum(round((end - start).total_seconds() / 60) for start, end in merged))
    return opened
