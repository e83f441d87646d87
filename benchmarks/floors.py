"""The SQL floor of an operation: its own statements, replayed with no application code.

One call of the operation runs through the services while every statement it sends is
captured (SQL and parameters exactly as the driver received them). The same statements
are then replayed on a bare psycopg connection, in order, in one transaction rolled back
at the end, many times: the median is what the database alone needs for that call, which
no Python above it can beat. An operation that writes (booking) is captured in a
transaction that is rolled back too, and before each replay every sequence is set back to
where it stood before the capture, so that the ids it generates (and the rows that refer
to them) are the captured ones.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg
from sqlalchemy import Engine, event, make_url

SEQUENCES = "SELECT schemaname, sequencename, last_value FROM pg_sequences"
SKIPPED = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")


@dataclass(frozen=True)
class Statement:
    sql: str
    parameters: Any
    many: bool  # a list of parameter sets for executemany (not a batch of insertmanyvalues)


@contextmanager
def captured(engine: Engine) -> Iterator[list[Statement]]:
    """Every statement sent on ``engine`` meanwhile (transaction control left out)."""
    seen: list[Statement] = []

    def before(
        _conn: Any, _cursor: Any, sql: str, parameters: Any, _context: Any, many: bool
    ) -> None:
        if not sql.lstrip().upper().startswith(SKIPPED):
            # A batch of insertmanyvalues comes flagged "many" with one parameter set.
            many = isinstance(parameters, list | tuple) and all(
                isinstance(one, dict | list | tuple) for one in parameters
            )
            seen.append(Statement(sql, parameters, many))

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", before)


def capture(engine: Engine, call: Callable[[], object]) -> list[Statement]:
    with captured(engine) as seen:
        call()
    return list(seen)


def libpq_url(engine: Engine) -> str:
    """The engine's database as a plain libpq URL (no SQLAlchemy driver suffix)."""
    url = make_url(engine.url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def sequence_values(connection: psycopg.Connection[Any]) -> list[tuple[str, int | None]]:
    rows = connection.execute(SEQUENCES).fetchall()
    return [(f'"{schema}"."{name}"', last) for schema, name, last in rows]


def set_sequences(
    connection: psycopg.Connection[Any], values: list[tuple[str, int | None]]
) -> None:
    for name, last in values:
        if last is None:
            connection.execute("SELECT setval(%s, 1, false)", (name,))
        else:
            connection.execute("SELECT setval(%s, %s, true)", (name, last))


@dataclass(frozen=True)
class Floor:
    statements: int
    median: float  # milliseconds
    p95: float


def replay(
    url: str,
    statements: list[Statement],
    runs: int,
    *,
    sequences: list[tuple[str, int | None]] | None = None,
) -> Floor:
    """Median and p95 (ms) of ``statements`` replayed ``runs`` times, each run one
    transaction rolled back; ``sequences``: set back before each run (untimed)."""
    samples = []
    with psycopg.connect(url) as connection:
        for run in range(runs + max(3, runs // 10)):  # the first few warm the caches
            if sequences is not None:
                set_sequences(connection, sequences)
                connection.commit()
            started = time.perf_counter()
            with connection.cursor() as cursor:
                for statement in statements:
                    if statement.many:
                        cursor.executemany(statement.sql, statement.parameters)
                    else:
                        cursor.execute(statement.sql, statement.parameters)
                    if cursor.description is not None:
                        cursor.fetchall()
            connection.rollback()
            if run >= max(3, runs // 10):
                samples.append((time.perf_counter() - started) * 1000)
    return Floor(
        len(statements), statistics.median(samples), statistics.quantiles(samples, n=20)[-1]
    )


def writing_floor(
    engine: Engine, call: Callable[[], object], runs: int
) -> tuple[list[Statement], Floor]:
    """Capture a writing ``call`` (which rolls itself back) and replay it with the
    sequences it used set back each time, then leave them where the capture left them."""
    url = libpq_url(engine)
    with psycopg.connect(url) as connection:
        before = sequence_values(connection)
    statements = capture(engine, call)
    with psycopg.connect(url) as connection:
        after = sequence_values(connection)
    floor = replay(url, statements, runs, sequences=before)
    with psycopg.connect(url) as connection:
        set_sequences(connection, after)
    return statements, floor
