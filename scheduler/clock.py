"""Where "now" comes from, and what day an instant is at a site.

Services take ``now`` as an argument; only the edges call :func:`system_clock`.
Pure module: no Flask, no SQLAlchemy.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


def local_date(at: datetime, zone: str) -> date:
    """The calendar date of ``at`` on the wall clocks of ``zone`` (a site's IANA zone)."""
    return at.astimezone(ZoneInfo(zone)).date()
