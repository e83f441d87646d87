"""What every report reads by: the site's rows in a period, and typed reasons grouped."""

from __future__ import annotations

from collections import Counter
from typing import Any, Final

from sqlalchemy import case, literal

from scheduler.db import UTCDateTime, minutes_between, whole_days
from scheduler.facilities.models import Site
from scheduler.reports.figures import Period
from scheduler.reports.tables import Figure, Table
from scheduler.scheduling.models import Appointment

TOP_REASONS: Final = 10  # further free-text reasons are summed as "other reasons"
# A report's description, headline figures and tables.
Built = tuple[str, list[Figure], list[Table]]


def in_period(at: Any, period: Period) -> Any:
    """``at`` (a timestamp column) falls within the period's days."""
    return (at >= period.start) & (at < period.end)


def day_of(at: Any, period: Period) -> Any:
    """The index of ``at``'s site-local day in the period (0: the first), worked out in the
    query: whole days since the first midnight, less the minutes clock changes before it
    added or took; the changeover days themselves are named outright."""
    elapsed: Any = minutes_between(literal(period.start, UTCDateTime()), at)
    changes = period.changeovers()
    if not changes:
        return whole_days(elapsed)
    after = case(*((at >= end, off) for _n, _start, end, off in reversed(changes)), else_=0.0)
    return case(
        *(((at >= start) & (at < end), n) for n, start, end, _off in changes),
        else_=whole_days(elapsed - after),
    )


def appointments_at(site: Site, period: Period) -> Any:
    """Appointments of the site whose booked start lies in the period."""
    return (Appointment.site_id == site.id) & in_period(Appointment.start_at, period)


def tidy(reason: str | None) -> str:
    return " ".join((reason or "").split())[:120] or "(no reason given)"


def by_reason(counts: Counter[str]) -> list[tuple[str, int]]:
    """Reasons by count (most first), spacing and case folded; beyond the first
    ``TOP_REASONS`` summed as one line."""
    shown: dict[str, str] = {}
    folded: Counter[str] = Counter()
    for reason, count in counts.items():
        key = tidy(reason).casefold()
        shown.setdefault(key, tidy(reason))
        folded[key] += count
    ranked = sorted(folded.items(), key=lambda item: (-item[1], item[0]))
    rows = [(shown[key], count) for key, count in ranked[:TOP_REASONS]]
    rest = sum(count for _key, count in ranked[TOP_REASONS:])
    return [*rows, ("other reasons", rest)] if rest else rows
