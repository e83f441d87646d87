"""Where "now" comes from, what day an instant is at a site, and which wall-clock times
name more than one instant.

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


def ambiguous_wall_time(at: datetime, zone: ZoneInfo) -> bool:
    """Whether the wall-clock time ``at`` shows in ``zone`` fails to name one instant.

    In the repeated hour of a fall-back night (01:00-02:00 on 7 November 2027 in New York)
    each wall time occurs twice, and a reader given only the wall time and the zone takes
    the first (RFC 5545 §3.3.5); in a spring-forward gap a wall time names no instant at
    all. zoneinfo tells both apart from an ordinary time by ``fold``: only there do the
    two readings of the wall time have different UTC offsets (PEP 495).
    """
    local = at.astimezone(zone)
    return local.replace(fold=1 - local.fold).utcoffset() != local.utcoffset()
