"""VTIMEZONE derived from zoneinfo, read back by two independent readers.

icalendar is read with its pytz provider and ``lookup_tzid=False``: that expands our
STANDARD/DAYLIGHT rules itself instead of looking the TZID up (and instead of handing the
text to dateutil's tzical, which is what its zoneinfo provider does). vobject is read with
``vtimezone.gettzinfo()``, i.e. dateutil's tzical over our text; the tzinfo vobject attaches
to a DTSTART comes from a process-wide TZID registry that the first parse (or pytz) fills, so
it would not show what *this* VTIMEZONE says.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import pytest
import vobject
from icalendar.timezone.tzp import TZP

from scheduler.invites.vtimezone import vtimezone

HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)


def serialized(zone: str, first: date, last: date) -> bytes:
    """A calendar holding only the VTIMEZONE, as a client would receive it."""
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//test//EN")
    calendar.add("version", "2.0")
    calendar.add_component(vtimezone(zone, first, last))
    return calendar.to_ical()


def read_with_icalendar(data: bytes) -> tzinfo:
    component = icalendar.Calendar.from_ical(data).walk("VTIMEZONE")[0]
    return component.to_tz(tzp=TZP("pytz"), lookup_tzid=False)


def read_with_vobject(data: bytes) -> tzinfo:
    return vobject.readOne(data.decode()).vtimezone.gettzinfo()


def observances(data: bytes) -> list[icalendar.Component]:
    (component,) = icalendar.Calendar.from_ical(data).walk("VTIMEZONE")
    return list(component.subcomponents)


def text(value: Any) -> str:
    """A property as serialised (icalendar returns bytes for some types, str for others)."""
    serialised = value.to_ical()
    return serialised.decode() if isinstance(serialised, bytes) else serialised


def instants(zone: ZoneInfo, first: date, last: date) -> list[datetime]:
    """Every hour of the covered years, and every minute within two hours of an onset."""
    start = datetime(first.year, 1, 1, tzinfo=UTC)
    stop = datetime(last.year + 1, 1, 1, tzinfo=UTC)
    hours = int((stop - start) / HOUR)
    result = {start + n * HOUR for n in range(hours)}
    for onset in hourly_onsets(zone, start, stop):
        result.update(onset + n * MINUTE for n in range(-180, 180))
    return sorted(result)


def hourly_onsets(zone: ZoneInfo, start: datetime, stop: datetime) -> list[datetime]:
    hours = int((stop - start) / HOUR)
    return [
        start + n * HOUR
        for n in range(1, hours)
        if (start + n * HOUR).astimezone(zone).utcoffset()
        != (start + (n - 1) * HOUR).astimezone(zone).utcoffset()
    ]


# (zone, first event date, last event date): the zones the issue names, plus rule changes.
CASES = [
    ("America/New_York", date(2026, 3, 6), date(2026, 3, 10)),
    ("Europe/London", date(2026, 3, 27), date(2026, 3, 31)),
    ("Australia/Lord_Howe", date(2026, 4, 1), date(2026, 10, 9)),
    ("Australia/Sydney", date(2026, 1, 15), date(2026, 11, 20)),
    ("Asia/Tokyo", date(2026, 5, 1), date(2026, 5, 1)),
    ("Europe/Dublin", date(2026, 2, 1), date(2026, 12, 1)),
    ("America/Sao_Paulo", date(2026, 2, 1), date(2026, 2, 1)),
    # The US rule changed in 2007: two rules per observance, the first closed with UNTIL.
    ("America/New_York", date(2006, 6, 1), date(2007, 6, 1)),
    # Brazil ended DST in 2019 after moving its start to November in 2018.
    ("America/Sao_Paulo", date(2018, 6, 1), date(2019, 6, 1)),
    # Moscow stopped changing clocks in 2011; a positive offset shows UNTIL must not be
    # compared with local times as if it were one (dateutil's tzical does).
    ("Europe/Moscow", date(2010, 1, 1), date(2011, 12, 31)),
    # Morocco's changes follow Ramadan: no nth-weekday rule describes them.
    ("Africa/Casablanca", date(2026, 1, 1), date(2026, 12, 31)),
]


@pytest.mark.parametrize(("zone", "first", "last"), CASES)
@pytest.mark.parametrize("read", [read_with_icalendar, read_with_vobject])
def test_vtimezone_gives_zoneinfo_offsets_every_hour_of_the_covered_years(
    zone: str, first: date, last: date, read: Callable[[bytes], tzinfo]
) -> None:
    reader_zone = read(serialized(zone, first, last))
    iana = ZoneInfo(zone)
    wrong = [
        instant
        for instant in instants(iana, first, last)
        if instant.astimezone(reader_zone).utcoffset() != instant.astimezone(iana).utcoffset()
    ]
    assert wrong == []


@pytest.mark.parametrize(("zone", "first", "last"), CASES)
def test_vtimezone_never_lists_onsets_with_rdate(zone: str, first: date, last: date) -> None:
    data = serialized(zone, first, last)
    assert b"RDATE" not in data
    assert all("RDATE" not in observance for observance in observances(data))


BYDAY = re.compile(r"^(-1|[1-4])(MO|TU|WE|TH|FR|SA|SU)$")


@pytest.mark.parametrize(
    ("zone", "daylight", "standard"),
    [
        (
            "America/New_York",
            ("20250309T020000", "3", "2SU", "-0500", "-0400", "EDT"),
            ("20251102T020000", "11", "1SU", "-0400", "-0500", "EST"),
        ),
        (
            "Europe/London",
            ("20250330T010000", "3", "-1SU", "+0000", "+0100", "BST"),
            ("20251026T020000", "10", "-1SU", "+0100", "+0000", "GMT"),
        ),
        (
            # The IANA data gives Ireland negative DST in winter; IST is still the DAYLIGHT.
            "Europe/Dublin",
            ("20250330T010000", "3", "-1SU", "+0000", "+0100", "IST"),
            ("20251026T020000", "10", "-1SU", "+0100", "+0000", "GMT"),
        ),
        (
            # Half-hour DST, southern hemisphere: DAYLIGHT starts in October.
            "Australia/Lord_Howe",
            ("20251005T020000", "10", "1SU", "+1030", "+1100", "+11"),
            ("20250406T020000", "4", "1SU", "+1100", "+1030", "+1030"),
        ),
        (
            "Australia/Sydney",
            ("20251005T020000", "10", "1SU", "+1000", "+1100", "AEDT"),
            ("20250406T030000", "4", "1SU", "+1100", "+1000", "AEST"),
        ),
    ],
)
def test_dst_zone_has_one_yearly_nth_weekday_rule_per_observance(
    zone: str, daylight: tuple[str, ...], standard: tuple[str, ...]
) -> None:
    data = serialized(zone, date(2026, 1, 1), date(2026, 12, 31))
    assert data.count(b"\r\nRRULE:") == 2
    found = {}
    for observance in observances(data):
        rule = observance["RRULE"]
        assert isinstance(rule, icalendar.vRecur)  # a list would mean several RRULEs
        assert rule["FREQ"] == ["YEARLY"]
        assert "UNTIL" not in rule
        (byday,) = (str(day) for day in rule["BYDAY"])
        assert BYDAY.match(byday)
        found[observance.name] = (
            text(observance["DTSTART"]),
            str(rule["BYMONTH"][0]),
            byday,
            text(observance["TZOFFSETFROM"]),
            text(observance["TZOFFSETTO"]),
            str(observance["TZNAME"]),
        )
    assert found == {"DAYLIGHT": daylight, "STANDARD": standard}


def test_last_weekday_is_chosen_when_every_year_seen_is_also_the_fourth() -> None:
    # London's October changes of 2018-2020 fell on the 28th, 27th and 25th: both the 4th
    # and the last Sunday. Only "last" is right in 2021, when the change was on the 31st.
    data = serialized("Europe/London", date(2019, 6, 1), date(2019, 6, 1))
    assert b"DTSTART:20181028T020000\r\nRRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10\r\n" in data


def test_new_york_spring_onset_is_the_wall_clock_time_before_the_jump() -> None:
    data = serialized("America/New_York", date(2025, 3, 9), date(2025, 3, 9))
    assert b"DTSTART:20240310T020000\r\nRRULE:FREQ=YEARLY;BYDAY=2SU;BYMONTH=3\r\n" in data


@pytest.mark.parametrize(
    ("zone", "offset", "name"),
    [
        ("Asia/Tokyo", "+0900", "JST"),
        ("UTC", "+0000", "UTC"),
        ("America/Sao_Paulo", "-0300", "-03"),
    ],
)
def test_zone_without_dst_is_one_standard_with_equal_offsets(
    zone: str, offset: str, name: str
) -> None:
    (observance,) = observances(serialized(zone, date(2026, 1, 1), date(2026, 12, 31)))
    assert observance.name == "STANDARD"
    assert text(observance["TZOFFSETFROM"]) == offset
    assert text(observance["TZOFFSETTO"]) == offset
    assert str(observance["TZNAME"]) == name
    assert "RRULE" not in observance


def test_rule_change_closes_the_earlier_rule_with_until_in_utc() -> None:
    data = serialized("America/New_York", date(2006, 6, 1), date(2007, 6, 1))
    rules = [(observance.name, text(observance["RRULE"])) for observance in observances(data)]
    assert rules == [
        ("DAYLIGHT", "FREQ=YEARLY;UNTIL=20060403T070000Z;BYDAY=1SU;BYMONTH=4"),
        ("STANDARD", "FREQ=YEARLY;UNTIL=20061030T060000Z;BYDAY=-1SU;BYMONTH=10"),
        ("DAYLIGHT", "FREQ=YEARLY;BYDAY=2SU;BYMONTH=3"),
        ("STANDARD", "FREQ=YEARLY;BYDAY=1SU;BYMONTH=11"),
    ]


def test_rules_that_ended_before_the_last_event_are_closed() -> None:
    data = serialized("America/Sao_Paulo", date(2018, 6, 1), date(2019, 6, 1))
    rules = [observance["RRULE"] for observance in observances(data) if "RRULE" in observance]
    assert rules
    assert all("UNTIL" in rule for rule in rules)


def test_irregular_zone_falls_back_to_one_observance_per_onset() -> None:
    data = serialized("Africa/Casablanca", date(2026, 1, 1), date(2026, 12, 31))
    starts = [text(observance["DTSTART"]) for observance in observances(data)]
    assert b"RRULE" not in data
    assert b"RDATE" not in data
    assert starts == [
        "20250223T030000",
        "20250406T020000",
        "20260215T030000",
        "20260322T020000",
        "20270207T030000",
        "20270314T020000",
    ]


def test_first_after_last_is_refused() -> None:
    with pytest.raises(ValueError, match="after"):
        vtimezone("Europe/London", date(2026, 2, 1), date(2026, 1, 1))
