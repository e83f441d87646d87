"""Alembic environment, driven by ``flask db`` (see scheduler/cli.py).

The command passes the database URL (or an open connection, from tests) in the Alembic
config; nothing here reads the Flask app, so migrations also run from plain scripts.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from scheduler.db import make_engine
from scheduler.models import Base

config = context.config
target_metadata = Base.metadata


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
        compare_server_default=True,
    )


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
    try:
        with engine.connect() as connection:
            sqlite = connection.dialect.name == "sqlite"
            if sqlite:
                _sqlite_foreign_keys(connection, on=False)
            _configure(connection)
            with context.begin_transaction():
                context.run_migrations()
                if sqlite:
                    _check_sqlite_foreign_keys(connection)
            if sqlite:
                _sqlite_foreign_keys(connection, on=True)
    finally:
        engine.dispose()


def _sqlite_foreign_keys(connection: Connection, *, on: bool) -> None:
    """SQLite's batch mode copies a table to change it, dropping the original: with rows
    referencing it, that needs foreign keys off. The pragma only works outside a
    transaction, so it goes straight to the driver's connection."""
    connection.connection.driver_connection.execute(  # type: ignore[union-attr]
        f"PRAGMA foreign_keys={'ON' if on else 'OFF'}"
    )


def _check_sqlite_foreign_keys(connection: Connection) -> None:
    """Refuse to commit a migration that left a dangling reference."""
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
    if broken:
        raise RuntimeError(f"The migration broke {len(broken)} foreign key reference(s).")


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
