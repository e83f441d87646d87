"""Database plumbing: declarative base, UTC datetimes, enums by value, the engine.

Models are plain SQLAlchemy 2 classes, usable without an application context (the CLI,
the outbox worker and tests open sessions from :func:`make_engine` directly). The app's
per-request session lives with the other request-scoped helpers in ``context.py``.
No Flask here: models and services never need a request.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import (
    JSON,
    ColumnElement,
    DateTime,
    Engine,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    create_engine,
    event,
    inspect,
    literal,
    make_url,
    select,
    text,
)
from sqlalchemy import Enum as SAEnum
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as SATimeoutError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeDecorator

from scheduler.errors import Conflict, InvalidInput, NotFound

M = TypeVar("M", bound="Base")
R = TypeVar("R")

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in Python, UTC in the database.

    Naive datetimes are refused at bind time: a wall-clock time without a zone is a
    bug waiting for the next DST change. SQLite has no time zone type, so values are
    stored there as naive UTC text (which also sorts correctly).
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("naive datetime refused; pass an aware datetime")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None or value.tzinfo is UTC:  # PostgreSQL sessions run in UTC
            return value
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


JSONType = JSON().with_variant(JSONB(), "postgresql")


class minutes_between(FunctionElement[float]):  # noqa: N801 (used like a SQL function)
    """Minutes from one timestamp to another, as a float, on either database: how long an
    appointment lasts or how late a start was, summed or compared inside the query."""

    type = Float()
    inherit_cache = True
    name = "minutes_between"


@compiles(minutes_between, "postgresql")
def _minutes_between_postgresql(element: minutes_between, compiler: Any, **kw: Any) -> str:
    start, end = (compiler.process(each, **kw) for each in element.clauses)
    return f"(EXTRACT(EPOCH FROM ({end}) - ({start})) / 60.0)"


@compiles(minutes_between, "sqlite")
def _minutes_between_sqlite(element: minutes_between, compiler: Any, **kw: Any) -> str:
    start, end = (compiler.process(each, **kw) for each in element.clauses)
    return f"((julianday({end}) - julianday({start})) * 1440.0)"


class whole_days(FunctionElement[int]):  # noqa: N801 (used like a SQL function)
    """Whole days in a number of minutes (not negative), as an integer: the minutes are
    rounded first, so a float a hair under a day's end counts in the right day."""

    type = Integer()
    inherit_cache = True
    name = "whole_days"


@compiles(whole_days, "postgresql")
def _whole_days_postgresql(element: whole_days, compiler: Any, **kw: Any) -> str:
    (minutes,) = (compiler.process(each, **kw) for each in element.clauses)
    return f"CAST(floor(round({minutes}) / 1440) AS INTEGER)"


@compiles(whole_days, "sqlite")
def _whole_days_sqlite(element: whole_days, compiler: Any, **kw: Any) -> str:
    (minutes,) = (compiler.process(each, **kw) for each in element.clauses)
    return f"(CAST(round({minutes}) AS INTEGER) / 1440)"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {  # noqa: RUF012 (SQLAlchemy reads this class attribute)
        datetime: UTCDateTime(),
        dict[str, Any]: JSONType,
        list[str]: JSONType,
    }


class RecordedBy:
    """Mixin: the user who recorded the row (None: the system itself)."""

    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))


class Recorded(RecordedBy):
    """Mixin: who recorded the row, and when."""

    recorded_at: Mapped[datetime]


def _prepare_sqlite(engine: Engine) -> None:
    """Make pysqlite behave: real transactions, foreign keys, waits instead of errors.

    Python's sqlite3 module opens transactions lazily and not for every statement, which
    breaks SAVEPOINT; SQLAlchemy's documented remedy is to switch that off and emit BEGIN
    ourselves. Foreign keys are off by default in SQLite.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        immediate = connection.get_execution_options().get(WRITE_INTENT, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


# Execution option: this transaction will write. On SQLite it then starts with BEGIN
# IMMEDIATE, so concurrent writers queue (busy_timeout) instead of one of them failing
# when it upgrades a read lock; checks made inside it see every committed booking.
WRITE_INTENT = "scheduler_write_intent"


def begin_write(current: Session) -> None:
    """Open ``current``'s transaction as a writing one, before its first statement."""
    current.connection(execution_options={WRITE_INTENT: True})


def saved(session: Session, row: R) -> R:
    """``row`` added and flushed (its id known, constraints checked), in the caller's
    transaction."""
    session.add(row)
    session.flush()
    return row


def found(row: R | None, what: str, ident: object) -> R:
    """``row``, or NotFound (404) naming ``what`` and the id asked for."""
    if row is None:
        raise NotFound(what, ident)
    return row


def unique(session: Session, message: str, *criteria: ColumnElement[bool]) -> None:
    """Conflict (409) with ``message`` when a row matching ``criteria`` exists already."""
    if session.scalar(select(literal(True)).where(*criteria).limit(1)):
        raise Conflict(message)


def referenced(session: Session, model: type[M], ident: int, field: str) -> M:
    """The row a request body refers to by id; a missing one is that field's 422."""
    row = session.get(model, ident)
    if row is None:
        raise InvalidInput.field(field, f"No {model.__name__.lower()} with id {ident}.")
    return row


def make_engine(url: str, *, echo: bool = False) -> Engine:
    """An engine that never puts statement parameters (patient data) into logs or errors."""
    if url.startswith("sqlite"):
        database = make_url(url).database
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            echo=echo,
            hide_parameters=True,
            connect_args={"check_same_thread": False},
        )
        _prepare_sqlite(engine)
        return engine
    engine = create_engine(url, echo=echo, hide_parameters=True, pool_pre_ping=True)
    event.listen(engine, "connect", _in_utc)
    return engine


def _in_utc(dbapi_connection: Any, _record: Any) -> None:
    """Each new PostgreSQL connection keeps time in UTC whatever the server's default:
    psycopg then hands back datetimes in datetime.UTC itself, which UTCDateTime passes
    through without converting each one (a slot search reads thousands). Committed, so
    that the first transaction's rollback does not undo it."""
    with dbapi_connection.cursor() as cursor:
        cursor.execute("SET TIME ZONE 'UTC'")
    dbapi_connection.commit()


def make_sessionmaker(bind: Any, **kwargs: Any) -> sessionmaker[Session]:
    return sessionmaker(bind=bind, expire_on_commit=False, autoflush=True, **kwargs)


def enum_type(enum: type[StrEnum], name: str) -> SAEnum:
    """A StrEnum stored by value as VARCHAR with a named CHECK constraint (ck_<table>_<name>)."""
    return SAEnum(
        enum,
        name=name,
        native_enum=False,
        create_constraint=True,
        validate_strings=True,
        length=max(len(member.value) for member in enum),
        values_callable=lambda members: [member.value for member in members],
    )


# ---------------------------------------------------------------------------------------
# Errors the database raises that are nobody's fault: say what the client should do

# PostgreSQL's "try again" conditions (deadlock, serialization failure).
_RETRYABLE_SQLSTATES = frozenset({"40P01", "40001"})
# SQLite's "busy or away" messages (another writer holds the lock; the file is gone).
_SQLITE_AWAY = ("database is locked", "database table is locked", "unable to open", "disk i/o")


def is_transient_conflict(error: BaseException) -> bool:
    """A deadlock or serialization failure: the same transaction may simply run again."""
    sqlstate = getattr(getattr(error, "orig", None), "sqlstate", None)
    return isinstance(error, DBAPIError) and sqlstate in _RETRYABLE_SQLSTATES


def is_database_away(error: BaseException) -> bool:
    """The database cannot be reached (restart, network, pool exhausted, locked file):
    not the request's fault, and it passes by itself."""
    if isinstance(error, SATimeoutError):
        return True
    if not isinstance(error, DBAPIError) or is_transient_conflict(error):
        return False
    if error.connection_invalidated or isinstance(error, InterfaceError):
        return True
    cause = error.orig
    sqlstate = getattr(cause, "sqlstate", None)
    if not isinstance(error, OperationalError):
        return False
    if isinstance(cause, sqlite3.Error):
        return str(cause).lower().startswith(_SQLITE_AWAY)
    # No server answer at all (refused, reset, closed), a connection exception, a shutdown.
    return sqlstate is None or sqlstate.startswith(("08", "57P"))


def schema_revisions(session: Session) -> frozenset[str]:
    """The Alembic revision(s) the database is at (empty before the first migration).
    A database that cannot be reached raises, as anywhere else (503)."""
    if not inspect(session.connection()).has_table("alembic_version"):
        return frozenset()
    return frozenset(session.scalars(text("SELECT version_num FROM alembic_version")))
