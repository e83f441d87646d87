"""The reports of SPEC §11, read from the events, appointments and records the service
already keeps: nothing is counted twice or kept on the side.

Each report covers one site and a range of site-local days, and runs a fixed number of
statements whatever the range (aggregates are computed by the database; Python only
shapes the few rows that come back). What each one counts:

- ``funnel``: the pathways referred in the range (their creation), how far each got, in
  order: first block result, eligible, procedure started, discharged the same day,
  completed. A pathway that stopped is a drop-out, by cause: ineligible (the rule that
  failed), cancelled (the reason given), admitted (the reason), or still open (its state).
- ``time-to-treatment``: procedures performed in the range (booked start in it): days
  from referral, and from the block that made the pathway eligible, to the procedure.
- ``outcomes``: block results on blocks in the range by policy, discharges and
  admissions, complications on the procedure day and at follow-up, follow-up relief.
- ``attendance``: appointments due in the range (not cancelled 48 hours or more ahead):
  no-shows and late cancellations (under 48 hours before the start) by kind.
- ``rooms``: booked minutes against open minutes (while a clinician works at the site)
  per room and day, and first-case on-time starts (the day's first procedure in a room
  started within 10 minutes of its booked start).
- ``backfill``: capacity freed in the range, the offers made from it, how much the
  waitlist filled and the minutes recovered.

Free-text reasons (cancellations, admissions) are grouped as typed (spacing and case
folded); reports never carry a row per patient. Each subject has its module (``flow``,
``outcomes``, ``attendance``, ``rooms``, ``backfill``); ``reading`` holds what they share.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Final

from sqlalchemy.orm import Session

from scheduler.clock import local_date
from scheduler.errors import InvalidInput, NotFound
from scheduler.facilities.models import Site
from scheduler.facilities.services import get_site
from scheduler.reports import attendance, backfill, flow, outcomes, rooms
from scheduler.reports.figures import Period
from scheduler.reports.reading import Built
from scheduler.reports.tables import Report

REPORTS: Final = {
    "funnel": "Pathway funnel",
    "time-to-treatment": "Time to treatment",
    "outcomes": "Clinical outcomes",
    "attendance": "No-shows and late cancellations",
    "rooms": "Room use",
    "backfill": "Waitlist backfill",
}
MAX_DAYS: Final = 731  # two years, leap day included
DEFAULT_DAYS: Final = 90


def build(
    session: Session,
    now: datetime,
    name: str,
    site_id: int,
    first_day: date | None = None,
    last_day: date | None = None,
) -> Report:
    """The report ``name`` for ``site_id`` over site-local days first..last (inclusive);
    a day not given is the default range's (:func:`days_asked`)."""
    builder = _BUILDERS.get(name)
    if builder is None:
        raise NotFound("report", name)
    site = get_site(session, site_id)
    days = days_asked(site, now, first_day, last_day)
    if days[1] < days[0]:
        if last_day is None:
            raise InvalidInput.field(
                "from", "Comes after yesterday, the last day unless 'to' names another."
            )
        raise InvalidInput.field("to", "The last day comes before the first.")
    first_day, last_day = days
    if (last_day - first_day).days >= MAX_DAYS:
        raise InvalidInput.field("to", f"A report covers at most {MAX_DAYS} days.")
    period = Period(first_day, last_day, site.timezone)
    description, figures, tables = builder(session, site, period)
    return Report(
        name=name,
        title=REPORTS[name],
        description=description,
        site_id=site.id,
        site_name=site.display_name or site.name,
        timezone=site.timezone,
        first_day=first_day,
        last_day=last_day,
        figures=tuple(figures),
        tables=tuple(tables),
    )


_BUILDERS: Final[dict[str, Callable[[Session, Site, Period], Built]]] = {
    "funnel": flow.funnel,
    "time-to-treatment": flow.time_to_treatment,
    "outcomes": outcomes.outcomes,
    "attendance": attendance.attendance,
    "rooms": rooms.rooms,
    "backfill": backfill.backfill,
}


def days_asked(
    site: Site, now: datetime, first_day: date | None, last_day: date | None
) -> tuple[date, date]:
    """The days a report covers: those given, and for a day left out the default range's.
    With neither, the last ``DEFAULT_DAYS`` up to yesterday (the site's calendar); with
    only the last, the ``DEFAULT_DAYS`` up to it; with only the first, up to yesterday."""
    yesterday = local_date(now, site.timezone) - timedelta(days=1)
    last = last_day or yesterday
    return first_day or last - timedelta(days=DEFAULT_DAYS - 1), last
