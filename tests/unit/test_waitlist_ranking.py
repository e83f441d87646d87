"""Ranking waitlisted patients and judging whether a slot suits them (waitlist/ranking.py).

Pure: plain values in and out. The site is in New York; 2026-03-02 is a Monday.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scheduler.vocabulary import TimeOfDay, WaitlistPriority
from scheduler.waitlist.ranking import (
    MIN_RESPONSE,
    Wish,
    may_suit,
    offer_deadline,
    part_of_day,
    rank_key,
    ranked,
    suits,
)

NEW_YORK = ZoneInfo("America/New_York")
ZONE = "America/New_York"
NOW = datetime(2026, 3, 2, 14, 0, tzinfo=NEW_YORK)  # Monday 14:00
TTL = timedelta(hours=2)
SITE_NOTICE = timedelta(minutes=60)
P = WaitlistPriority


def wish(entry_id: int = 1, priority: P = P.ROUTINE, since_days: int = 0, **extra: object) -> Wish:
    since = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=since_days)
    return Wish(
        entry_id=entry_id,
        pathway_id=100 + entry_id,
        priority=priority,
        waiting_since=since,
        **extra,
    )  # type: ignore[arg-type]


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """March ``day``, 2026 at hour:minute in New York."""
    return datetime(2026, 3, day, hour, minute, tzinfo=NEW_YORK)


# ---------------------------------------------------------------------------------------
# Ranking


def test_priority_comes_first_then_the_longest_wait_then_the_entry() -> None:
    routine_longest = wish(1, P.ROUTINE, since_days=0)
    soon_recent = wish(2, P.SOON, since_days=40)
    urgent_recent = wish(3, P.URGENT, since_days=50)
    urgent_older = wish(4, P.URGENT, since_days=10)
    tie_a, tie_b = wish(6, P.SOON, since_days=40), wish(5, P.SOON, since_days=40)

    order = ranked([routine_longest, soon_recent, urgent_recent, urgent_older, tie_a, tie_b])

    assert [w.entry_id for w in order] == [4, 3, 2, 5, 6, 1]


priorities = st.sampled_from(list(P))
wishes = st.lists(
    st.builds(
        wish,
        entry_id=st.integers(1, 10_000),
        priority=priorities,
        since_days=st.integers(0, 400),
    ),
    max_size=30,
    unique_by=lambda w: w.entry_id,
)


@settings(max_examples=200, derandomize=True)
@given(wishes)
def test_ranking_is_deterministic_whatever_the_order_it_is_given(given_wishes: list[Wish]) -> None:
    once = ranked(given_wishes)
    assert ranked(reversed(given_wishes)) == once
    assert ranked(once) == once
    for better, worse in pairwise(once):
        assert rank_key(better) < rank_key(worse)
        order = {P.URGENT: 0, P.SOON: 1, P.ROUTINE: 2}
        assert order[better.priority] <= order[worse.priority]


# ---------------------------------------------------------------------------------------
# Whether a slot suits the wish


@pytest.mark.parametrize(
    ("hour", "part"),
    [
        (0, TimeOfDay.MORNING),
        (11, TimeOfDay.MORNING),
        (12, TimeOfDay.AFTERNOON),
        (16, TimeOfDay.AFTERNOON),
    ],
)
def test_noon_divides_the_day(hour: int, part: TimeOfDay) -> None:
    assert part_of_day(at(4, hour).timetz()) is part


def suit(w: Wish, start: datetime) -> bool:
    return suits(w, start, ZONE, NOW, ttl=TTL, site_notice=SITE_NOTICE)


def test_any_slot_suits_a_wish_without_preferences() -> None:
    assert suit(wish(), at(4, 9))
    assert suit(wish(), at(2, 16, 30))  # today, in 2.5 hours


def test_not_before_the_earliest_day_on_the_sites_wall_clock() -> None:
    w = wish(earliest_date=date(2026, 3, 5))
    assert not suit(w, at(4, 23, 30))  # Wednesday 23:30 local is Thursday in UTC
    assert suit(w, at(5, 7))


def test_only_on_preferred_weekdays_and_parts_of_the_day() -> None:
    mondays_and_wednesdays = wish(weekdays=frozenset({0, 2}))
    assert suit(mondays_and_wednesdays, at(4, 9))  # Wednesday
    assert not suit(mondays_and_wednesdays, at(5, 9))  # Thursday
    afternoons = wish(times_of_day=frozenset({TimeOfDay.AFTERNOON}))
    assert not suit(afternoons, at(4, 11, 45))
    assert suit(afternoons, at(4, 12))


def test_never_with_less_notice_than_the_patient_accepts() -> None:
    two_days = wish(min_notice=timedelta(hours=48))
    assert not suit(two_days, at(4, 9))  # 43 hours ahead
    assert suit(two_days, at(4, 15))  # 49 hours ahead


def test_the_offer_expires_before_the_notice_limit_and_must_leave_time_to_answer() -> None:
    a_day = wish(min_notice=timedelta(hours=24))
    tomorrow_afternoon = at(3, 15)  # 25 hours ahead: 1 hour left before the notice limit
    assert offer_deadline(a_day, tomorrow_afternoon, NOW, ttl=TTL, site_notice=SITE_NOTICE) == at(
        2, 15
    )
    assert suit(a_day, tomorrow_afternoon)
    # The site's own notice rules when it is the longer one.
    assert offer_deadline(wish(), at(2, 16, 30), NOW, ttl=TTL, site_notice=SITE_NOTICE) == at(
        2, 15, 30
    )
    # 24 h 10 min ahead leaves 10 minutes to answer: too little.
    too_close = NOW + timedelta(hours=24) + MIN_RESPONSE - timedelta(minutes=5)
    assert not suit(a_day, too_close)
    assert suit(a_day, NOW + timedelta(hours=24) + MIN_RESPONSE)


@settings(max_examples=300, derandomize=True)
@given(
    minutes_ahead=st.integers(0, 60 * 24 * 10),
    notice_hours=st.integers(0, 72),
    ttl_minutes=st.integers(15, 600),
)
def test_a_suitable_offer_always_expires_in_the_future_and_leaves_the_notice(
    minutes_ahead: int, notice_hours: int, ttl_minutes: int
) -> None:
    w = wish(min_notice=timedelta(hours=notice_hours))
    start = NOW + timedelta(minutes=minutes_ahead)
    ttl = timedelta(minutes=ttl_minutes)
    if suits(w, start, ZONE, NOW, ttl=ttl, site_notice=SITE_NOTICE):
        deadline = offer_deadline(w, start, NOW, ttl=ttl, site_notice=SITE_NOTICE)
        assert NOW + MIN_RESPONSE <= deadline <= NOW + ttl
        assert start - deadline >= max(w.min_notice, SITE_NOTICE)


# ---------------------------------------------------------------------------------------
# Whether a vacancy's window may suit the wish at all (the backfill skips the search when
# not): False only when no start in it suits


may_wishes = st.builds(
    wish,
    earliest_date=st.none() | st.dates(date(2026, 3, 2), date(2026, 3, 9)),
    weekdays=st.frozensets(st.integers(0, 6), max_size=3),
    times_of_day=st.frozensets(st.sampled_from(TimeOfDay), max_size=1),
    min_notice=st.sampled_from([timedelta(hours=h) for h in (0, 1, 24, 48)]),
)


@settings(max_examples=300, derandomize=True, deadline=None)
@given(
    asked=may_wishes,
    start=st.integers(0, 7 * 24 * 4).map(lambda q: NOW + timedelta(minutes=15 * q)),
    minutes=st.integers(1, 240),
    ttl=st.sampled_from([MIN_RESPONSE, TTL]),
)
def test_a_window_may_suit_whenever_one_of_its_starts_suits(
    asked: Wish, start: datetime, minutes: int, ttl: timedelta
) -> None:
    """Minute by minute against ``suits``, across New York's spring-forward (03-08)."""
    end = start + timedelta(minutes=minutes)
    starts = (start + timedelta(minutes=n) for n in range(minutes))
    if any(suits(asked, s, ZONE, NOW, ttl=ttl, site_notice=SITE_NOTICE) for s in starts):
        assert may_suit(asked, start, end, ZONE, NOW, ttl=ttl, site_notice=SITE_NOTICE)


@pytest.mark.parametrize(
    ("asked", "start", "end"),
    [
        pytest.param(wish(earliest_date=date(2026, 3, 12)), at(11, 9), at(11, 10), id="early"),
        pytest.param(wish(weekdays=frozenset({0, 1})), at(11, 9), at(11, 10), id="weekday"),
        pytest.param(
            wish(times_of_day=frozenset({TimeOfDay.AFTERNOON})),
            at(11, 9),
            at(11, 12),
            id="morning-only",
        ),
        pytest.param(wish(min_notice=timedelta(hours=48)), at(3, 9), at(3, 10), id="notice"),
        pytest.param(wish(), at(2, 14, 30), at(2, 15, 15), id="no-time-to-answer"),
        pytest.param(wish(), at(11, 10), at(11, 10), id="empty"),
    ],
)
def test_a_window_the_wish_rules_out_may_not_suit(
    asked: Wish, start: datetime, end: datetime
) -> None:
    assert not may_suit(asked, start, end, ZONE, NOW, ttl=TTL, site_notice=SITE_NOTICE)


@pytest.mark.parametrize(
    ("asked", "start", "end"),
    [
        pytest.param(
            wish(times_of_day=frozenset({TimeOfDay.AFTERNOON}), weekdays=frozenset({2})),
            at(11, 11, 30),
            at(11, 12, 30),
            id="into-the-afternoon",
        ),
        # 15:15 leaves the patient 15 minutes before the site's hour of notice.
        pytest.param(wish(), at(2, 15, 14), at(2, 15, 16), id="just-time-to-answer"),
        pytest.param(wish(min_notice=timedelta(hours=24)), at(3, 13), at(3, 14, 30), id="notice"),
    ],
)
def test_a_window_with_a_suitable_start_may_suit(
    asked: Wish, start: datetime, end: datetime
) -> None:
    assert any(
        suits(asked, s, ZONE, NOW, ttl=TTL, site_notice=SITE_NOTICE)
        for s in (start, end - timedelta(minutes=1))
    )
    assert may_suit(asked, start, end, ZONE, NOW, ttl=TTL, site_notice=SITE_NOTICE)
