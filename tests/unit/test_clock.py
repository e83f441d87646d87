"""Which wall-clock times name exactly one instant (clock.ambiguous_wall_time)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from scheduler.clock import ambiguous_wall_time

NEW_YORK = ZoneInfo("America/New_York")
LORD_HOWE = ZoneInfo("Australia/Lord_Howe")


@pytest.mark.parametrize(
    ("at", "zone", "ambiguous"),
    [
        # 2027-11-07, New York: 01:00-02:00 is lived twice, EDT (05:00-06:00 UTC) then EST.
        pytest.param(datetime(2027, 11, 7, 4, 59, tzinfo=UTC), NEW_YORK, False, id="00:59_edt"),
        pytest.param(datetime(2027, 11, 7, 5, 0, tzinfo=UTC), NEW_YORK, True, id="01:00_edt"),
        pytest.param(datetime(2027, 11, 7, 5, 30, tzinfo=UTC), NEW_YORK, True, id="01:30_edt"),
        pytest.param(datetime(2027, 11, 7, 6, 30, tzinfo=UTC), NEW_YORK, True, id="01:30_est"),
        pytest.param(datetime(2027, 11, 7, 6, 59, tzinfo=UTC), NEW_YORK, True, id="01:59_est"),
        pytest.param(datetime(2027, 11, 7, 7, 0, tzinfo=UTC), NEW_YORK, False, id="02:00_est"),
        # The same instant seen from a zone where nothing happens then.
        pytest.param(datetime(2027, 11, 7, 6, 30, tzinfo=UTC), ZoneInfo("UTC"), False, id="utc"),
        # An ordinary day, and the spring change (instants never land in its gap).
        pytest.param(datetime(2027, 11, 8, 6, 30, tzinfo=UTC), NEW_YORK, False, id="next_day"),
        pytest.param(datetime(2027, 3, 14, 7, 0, tzinfo=UTC), NEW_YORK, False, id="03:00_edt"),
        # Lord Howe goes back half an hour at 02:00 (+11 -> +10:30): 01:30-02:00 twice.
        pytest.param(datetime(2027, 4, 3, 14, 45, tzinfo=UTC), LORD_HOWE, True, id="lh_first"),
        pytest.param(datetime(2027, 4, 3, 15, 15, tzinfo=UTC), LORD_HOWE, True, id="lh_second"),
        pytest.param(datetime(2027, 4, 3, 14, 29, tzinfo=UTC), LORD_HOWE, False, id="lh_before"),
    ],
)
def test_repeated_wall_times_are_ambiguous(at: datetime, zone: ZoneInfo, ambiguous: bool) -> None:
    assert ambiguous_wall_time(at, zone) is ambiguous


@pytest.mark.parametrize(("hour", "minute"), [(2, 0), (2, 30), (2, 59)])
def test_a_wall_time_in_the_spring_forward_gap_is_ambiguous(hour: int, minute: int) -> None:
    """02:00-03:00 on 2027-03-14 does not exist in New York: it names no instant."""
    assert ambiguous_wall_time(datetime(2027, 3, 14, hour, minute, tzinfo=NEW_YORK), NEW_YORK)
