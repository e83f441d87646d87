"""Who gets a freed slot first, and whether a slot suits what a waiting patient asked for.

The order (SPEC §10 and the waitlist issue): clinical priority first (urgent, soon,
routine), then the longest wait on the list, then the entry's id, so two runs over the
same list always offer in the same order. Whether a slot is *bookable* is not judged
here: the availability function and the policy gates decide that, as for any booking.
Pure module: no Flask, no SQLAlchemy.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from scheduler.vocabulary import TimeOfDay, WaitlistPriority

PRIORITY_ORDER: Final = {
    WaitlistPriority.URGENT: 0,
    WaitlistPriority.SOON: 1,
    WaitlistPriority.ROUTINE: 2,
}
# Site-local wall clock: a start before noon is in the morning.
NOON: Final = time(12)
# An offer that would leave the patient less than this to answer is not made.
MIN_RESPONSE: Final = timedelta(minutes=15)


@dataclass(frozen=True)
class Wish:
    """What a waitlist entry asks for, as plain values."""

    entry_id: int
    pathway_id: int
    priority: WaitlistPriority
    waiting_since: datetime
    earliest_date: date | None = None
    weekdays: frozenset[int] = frozenset()  # 0 = Monday; empty: any day
    times_of_day: frozenset[TimeOfDay] = frozenset()  # empty: any time
    min_notice: timedelta = timedelta(0)


def rank_key(wish: Wish) -> tuple[int, datetime, int]:
    return (PRIORITY_ORDER[wish.priority], wish.waiting_since, wish.entry_id)


def ranked(wishes: Iterable[Wish]) -> list[Wish]:
    """Priority first, then the longest wait, then the entry's id (deterministic)."""
    return sorted(wishes, key=rank_key)


def part_of_day(moment: time) -> TimeOfDay:
    return TimeOfDay.MORNING if moment < NOON else TimeOfDay.AFTERNOON


def offer_deadline(
    wish: Wish, start: datetime, now: datetime, *, ttl: timedelta, site_notice: timedelta
) -> datetime:
    """When an offer of ``start`` expires: ``ttl`` after it is made, but never so late that
    accepting would give the patient less notice than they accept, or the site less than
    it needs to book."""
    return min(now + ttl, start - max(wish.min_notice, site_notice))


def suits(
    wish: Wish,
    start: datetime,
    zone: str,
    now: datetime,
    *,
    ttl: timedelta,
    site_notice: timedelta,
) -> bool:
    """Whether a slot starting at ``start`` is one the patient asked to be offered: not
    before their earliest day, on a preferred weekday and part of the day (site-local),
    with enough notice, and leaving them time to answer."""
    local = start.astimezone(ZoneInfo(zone))
    if wish.earliest_date is not None and local.date() < wish.earliest_date:
        return False
    if wish.weekdays and local.weekday() not in wish.weekdays:
        return False
    if wish.times_of_day and part_of_day(local.time()) not in wish.times_of_day:
        return False
    if start - now < wish.min_notice:
        return False
    deadline = offer_deadline(wish, start, now, ttl=ttl, site_notice=site_notice)
    return deadline - now >= MIN_RESPONSE


def may_suit(
    wish: Wish,
    start: datetime,
    end: datetime,
    zone: str,
    now: datetime,
    *,
    ttl: timedelta,
    site_notice: timedelta,
) -> bool:
    """Whether any start in ``[start, end)`` could suit the patient (``suits``): False only
    when none can, judged from the window alone, so that the backfill skips searching
    for a candidate whose wishes rule the whole vacancy out."""
    if end <= start:
        return False
    tz = ZoneInfo(zone)
    first, last = start.astimezone(tz), (end - timedelta(microseconds=1)).astimezone(tz)
    if wish.earliest_date is not None and last.date() < wish.earliest_date:
        return False
    days = [first.date() + timedelta(days=n) for n in range((last.date() - first.date()).days + 1)]
    if wish.weekdays and len(days) < 7 and not any(d.weekday() in wish.weekdays for d in days):
        return False
    if wish.times_of_day and len(days) == 1:
        parts = {part_of_day(first.time()), part_of_day(last.time())}
        if not parts & wish.times_of_day:
            return False
    if end - now <= wish.min_notice:
        return False
    return ttl >= MIN_RESPONSE and end - max(wish.min_notice, site_notice) - now > MIN_RESPONSE
