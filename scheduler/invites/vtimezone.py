"""VTIMEZONE components in the shape Outlook reads, derived from the IANA database.

An event whose DTSTART carries a TZID must come with the VTIMEZONE that defines it
(RFC 5545 §3.2.19, §3.6.5). RFC 5545 allows each onset to be listed with RDATE, and that is
what icalendar's ``Timezone.from_tzid`` emits (with a DTSTART of 03:00 for New York's
spring change, the time *after* the jump). Outlook does not read that shape: it imports a
zone as one yearly rule per observance, FREQ=YEARLY with BYMONTH and a single BYDAY
occurrence, 1..4 or -1 for "last" ([MS-OXCICAL] 2.1.3.1.1.19.2.1 DTSTART and
2.1.3.1.1.19.2.2 RRULE). So the onsets are found here from ``zoneinfo`` and every run of
onsets that repeats year after year is written as one such RRULE.
Pure module: no Flask, no SQLAlchemy.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar

# Since 1970 no zone in tzdata has changed its offset twice within a week (the closest are
# seven days apart), so stepping a day at a time finds every onset; bisection then places it
# to the second.
_STEP = timedelta(days=1)
_SECOND = timedelta(seconds=1)
_WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_LAST = -1
# RFC 5545 §3.3.10: UNTIL bounds the rule inclusively and, here, in UTC. Any instant between
# the last onset and the next year's would-be onset bounds the same set; a day past the onset
# keeps the last onset for readers that compare UNTIL with local wall-clock times and ignore
# the Z (dateutil's tzical, which vobject and icalendar's zoneinfo provider use).
_UNTIL_MARGIN = timedelta(days=1)


@dataclass(frozen=True)
class _Onset:
    """One change of UTC offset, the onset of an observance (RFC 5545 §3.6.5)."""

    utc: datetime
    offset_from: timedelta
    offset_to: timedelta
    name: str

    @property
    def local(self) -> datetime:
        """Wall-clock time in the old offset: the form RFC 5545 §3.6.5 requires for DTSTART."""
        return (self.utc + self.offset_from).replace(tzinfo=None)

    @property
    def daylight(self) -> bool:
        """Onsets of the larger offset are DAYLIGHT.

        Comparing offsets rather than zoneinfo's ``dst()`` keeps Europe/Dublin the right way
        round: the IANA data gives Ireland a negative DST in winter, yet Irish Standard Time
        in summer is the larger offset, the one calendar clients expect as DAYLIGHT.
        """
        return self.offset_to > self.offset_from

    @property
    def weeks(self) -> frozenset[int]:
        """The BYDAY ordinals that name this date: its week (1..4) and -1 if it is the last."""
        local = self.local
        days_in_month = calendar.monthrange(local.year, local.month)[1]
        weeks = set()
        if local.day <= 28:
            weeks.add((local.day - 1) // 7 + 1)
        if local.day + 7 > days_in_month:
            weeks.add(_LAST)
        return frozenset(weeks)

    def repeated_by(self, later: _Onset) -> bool:
        """Whether ``later`` is this onset one year on under the same yearly rule."""
        this, that = self.local, later.local
        return (
            that.year == this.year + 1
            and (this.month, this.weekday(), this.time())
            == (that.month, that.weekday(), that.time())
            and (self.offset_from, self.offset_to, self.name)
            == (later.offset_from, later.offset_to, later.name)
        )


def vtimezone(zone: str, first: date, last: date) -> icalendar.Timezone:
    """The VTIMEZONE for ``zone`` that is right for events dated ``first`` to ``last``.

    Onsets are read from zoneinfo for the years ``first.year - 1`` (so that every event comes
    after an onset of the observance it falls in) to ``last.year + 1`` (so that a rule still
    in force after the events can be told from one that ended). A run of onsets repeating
    yearly becomes one observance with one RRULE, left open if the run reaches
    ``last.year + 1`` and closed with UNTIL otherwise; so when the rules change within the
    years covered, the old rule ends and a new observance starts. An onset that repeats in
    no neighbouring year (zones with irregular dates such as Africa/Casablanca, one-off
    changes) becomes an observance of its own without RRULE. Never RDATE. A zone without
    onsets in those years gets a single STANDARD whose TZOFFSETFROM equals its TZOFFSETTO.

    Outlook reads one STANDARD and one DAYLIGHT rule; that is exactly what a zone whose rules
    stay the same over the years covered gets.
    """
    if first > last:
        raise ValueError(f"first ({first}) is after last ({last})")
    tz = ZoneInfo(zone)
    start = datetime(first.year - 1, 1, 1, tzinfo=UTC)
    onsets = _onsets(tz, start, datetime(last.year + 2, 1, 1, tzinfo=UTC))
    component = icalendar.Timezone()
    component.add("tzid", zone)
    if not onsets:
        offset = _offset(tz, start)
        # Local midnight of the first year read, in the one offset the zone keeps.
        fixed = _Onset(start - offset, offset, offset, _name(tz, start))
        component.add_component(_observance(fixed))
        return component
    for run in _runs(onsets):
        observance = _observance(run[0])
        if len(run) > 1:
            observance.add("rrule", _rule(run, open_ended=run[-1].local.year > last.year))
        component.add_component(observance)
    return component


def _offset(zone: ZoneInfo, instant: datetime) -> timedelta:
    """UTC offset of ``zone`` at ``instant``: its wall-clock time less UTC."""
    return instant.astimezone(zone).replace(tzinfo=None) - instant.replace(tzinfo=None)


def _name(zone: ZoneInfo, instant: datetime) -> str:
    """The abbreviation of ``zone`` at ``instant`` (TZNAME), e.g. EDT or +1030."""
    return f"{instant.astimezone(zone):%Z}"


def _onsets(zone: ZoneInfo, start: datetime, stop: datetime) -> list[_Onset]:
    """Every change of UTC offset of ``zone`` from ``start`` to ``stop``, in order."""
    onsets = []
    before, offset = start, _offset(zone, start)
    while before < stop:
        after = before + _STEP
        if _offset(zone, after) != offset:
            instant = _bisect(zone, offset, before, after)
            onsets.append(_Onset(instant, offset, _offset(zone, instant), _name(zone, instant)))
            offset = onsets[-1].offset_to
        before = after
    return onsets


def _bisect(zone: ZoneInfo, offset: timedelta, before: datetime, after: datetime) -> datetime:
    """The first whole second after ``before`` at which ``zone`` no longer has ``offset``."""
    while after - before > _SECOND:
        middle = before + (after - before) / 2
        middle -= timedelta(microseconds=middle.microsecond)
        if _offset(zone, middle) == offset:
            before = middle
        else:
            after = middle
    return after


def _runs(onsets: list[_Onset]) -> list[list[_Onset]]:
    """Onsets grouped into runs that one yearly rule describes, in order of first onset."""
    runs: list[list[_Onset]] = []
    for onset in onsets:
        run = next((run for run in runs if _extends(run, onset)), None)
        if run is None:
            runs.append([onset])
        else:
            run.append(onset)
    return runs


def _extends(run: list[_Onset], onset: _Onset) -> bool:
    return run[-1].repeated_by(onset) and bool(_weeks(run) & onset.weeks)


def _weeks(run: list[_Onset]) -> frozenset[int]:
    """The BYDAY ordinals that name every onset of the run."""
    return frozenset.intersection(*(onset.weeks for onset in run))


def _observance(onset: _Onset) -> icalendar.TimezoneStandard | icalendar.TimezoneDaylight:
    observance = icalendar.TimezoneDaylight() if onset.daylight else icalendar.TimezoneStandard()
    observance.add("dtstart", onset.local)
    observance.add("tzoffsetfrom", onset.offset_from)
    observance.add("tzoffsetto", onset.offset_to)
    observance.add("tzname", onset.name)
    return observance


def _rule(run: list[_Onset], *, open_ended: bool) -> icalendar.vRecur:
    """FREQ=YEARLY;BYMONTH=m;BYDAY=nWD for the run ([MS-OXCICAL] 2.1.3.1.1.19.2.2).

    Where a date is both the 4th and the last such weekday of its month in every year of the
    run, "last" is chosen: it is how the IANA rules name such dates (lastSun), and it stays
    right in the years after the run where the 4th would not.
    """
    first = run[0].local
    weeks = _weeks(run)
    week = _LAST if _LAST in weeks else min(weeks)
    rule = icalendar.vRecur(
        freq="YEARLY", bymonth=first.month, byday=f"{week}{_WEEKDAYS[first.weekday()]}"
    )
    if not open_ended:
        rule["until"] = run[-1].utc + _UNTIL_MARGIN
    return rule
