"""Times are aware and in UTC on the way out, whatever the database: PostgreSQL sessions
run in UTC (values come back in datetime.UTC itself, nothing to convert each time);
SQLite stores naive UTC text."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import literal, select, text
from sqlalchemy.orm import Session

from scheduler.db import UTCDateTime

NEW_YORK = ZoneInfo("America/New_York")


def test_a_time_in_any_zone_reads_back_as_the_same_instant_in_utc(db: Session) -> None:
    sent = datetime(2026, 7, 1, 9, 30, tzinfo=NEW_YORK)

    back = db.scalar(select(literal(sent, UTCDateTime())))

    assert back == sent
    assert back is not None
    assert back.tzinfo is UTC


def test_the_database_session_keeps_time_in_utc(db: Session, backend: str) -> None:
    if backend == "postgresql":
        assert db.scalar(text("SHOW TimeZone")) == "UTC"
        now = db.scalar(text("SELECT now()"))
        assert now is not None
        assert now.tzinfo is UTC
    else:
        stored = db.scalar(
            select(literal(datetime(2026, 7, 1, 9, 30, tzinfo=NEW_YORK), UTCDateTime()))
        )
        assert stored == datetime(2026, 7, 1, 13, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        (datetime(2026, 7, 1, 13, 30, tzinfo=UTC), datetime(2026, 7, 1, 13, 30, tzinfo=UTC)),
        (
            datetime(2026, 7, 1, 13, 30, tzinfo=UTC).replace(tzinfo=None),
            datetime(2026, 7, 1, 13, 30, tzinfo=UTC),
        ),
        (datetime(2026, 7, 1, 9, 30, tzinfo=NEW_YORK), datetime(2026, 7, 1, 13, 30, tzinfo=UTC)),
        (
            datetime(2026, 7, 1, 13, 30, tzinfo=ZoneInfo("Etc/UTC")),
            datetime(2026, 7, 1, 13, 30, tzinfo=UTC),
        ),
    ],
)
def test_values_read_become_aware_in_utc_itself(
    value: datetime | None, expected: datetime | None
) -> None:
    read = UTCDateTime().process_result_value(value, dialect=None)  # type: ignore[arg-type]

    assert read == expected
    assert read is None or read.tzinfo is UTC
