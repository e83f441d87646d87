"""What every report reads by: the site's rows in a period, and typed reasons grouped."""

from __future__ import annotations

from collections import Counter
from typing import Any, Final

from scheduler.facilities.models import Site
from scheduler.pathways.states import Trigger
from scheduler.reports.figures import Period
from scheduler.reports.tables import Figure, Table
from scheduler.scheduling.models import Appointment

TOP_REASONS: Final = 10  # further free-text reasons are summed as "other reasons"
# The triggers of a block result (the funnel's first stage; the positivity of blocks).
BLOCK_RESULTS: Final = (
    Trigger.BLOCK_POSITIVE,
    Trigger.BLOCK_POSITIVE_MORE_NEEDED,
    Trigger.BLOCK_NEGATIVE,
)

# A report's description, headline figures and tables.
Built = tuple[str, list[Figure], list[Table]]


def in_period(at: Any, period: Period) -> Any:
    """``at`` (a timestamp column) falls within the period's days."""
    return (at >= period.start) & (at < period.end)


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
