"""The migrations alone build the models' schema, and undo it completely (SPEC §8).

Each test gets an empty database of its own: a temporary SQLite file, and, when
TEST_DATABASE_URL is set, a scratch PostgreSQL database created next to the test one
(through the ``postgres`` maintenance database) and dropped afterwards.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, inspect, make_url, text

from scheduler.cli import alembic_config
from scheduler.db import make_engine
from scheduler.models import Base

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if TEST_DATABASE_URL else [])
BUILTIN_POLICIES = {("medicare_facet", 1), ("single_block_50", 1)}


def _scratch_postgresql_database() -> Iterator[str]:
    """A new, empty database beside TEST_DATABASE_URL's, dropped (WITH FORCE) at the end."""
    assert TEST_DATABASE_URL
    url = make_url(TEST_DATABASE_URL)
    name = f"{url.database}_migrations_{os.getpid()}"
    maintenance = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    quoted = maintenance.dialect.identifier_preparer.quote(name)
    try:
        with maintenance.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)"))
            connection.execute(text(f"CREATE DATABASE {quoted}"))
        try:
            yield url.set(database=name).render_as_string(hide_password=False)
        finally:
            with maintenance.connect() as connection:
                connection.execute(text(f"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)"))
    finally:
        maintenance.dispose()


@pytest.fixture(params=BACKENDS)
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrations.sqlite3'}"
    else:
        yield from _scratch_postgresql_database()


@pytest.fixture
def config(empty_url: str) -> Config:
    return alembic_config(empty_url)


@pytest.fixture
def engine(empty_url: str) -> Iterator[Engine]:
    """For looking at the database; the migrations open their own connections."""
    engine = make_engine(empty_url)
    yield engine
    engine.dispose()


def table_names(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names())


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def leftover_objects(engine: Engine) -> set[str]:
    """Every table, view, sequence, index, trigger and function the schema still holds."""
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            rows = connection.execute(
                text("SELECT type || ' ' || name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'")
            )
        else:
            rows = connection.execute(
                text(
                    "SELECT 'relation ' || c.relname FROM pg_class c "
                    "JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE n.nspname = current_schema() AND c.relkind <> 'i' "
                    "UNION ALL "
                    "SELECT 'function ' || p.proname FROM pg_proc p "
                    "JOIN pg_namespace n ON n.oid = p.pronamespace "
                    "WHERE n.nspname = current_schema() "
                    "UNION ALL "
                    "SELECT 'trigger ' || t.tgname FROM pg_trigger t WHERE NOT t.tgisinternal "
                    "UNION ALL "
                    "SELECT 'type ' || t.typname FROM pg_type t "
                    "JOIN pg_namespace n ON n.oid = t.typnamespace "
                    "WHERE n.nspname = current_schema() AND t.typtype IN ('e', 'd')"
                )
            )
        return set(rows.scalars())


def append_only_triggers(engine: Engine) -> set[str]:
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            rows = connection.execute(
                text(
                    "SELECT name FROM sqlite_master "
                    "WHERE type = 'trigger' AND tbl_name = 'pathway_events'"
                )
            )
        else:
            rows = connection.execute(
                text(
                    "SELECT tgname FROM pg_trigger "
                    "WHERE tgrelid = 'pathway_events'::regclass AND NOT tgisinternal"
                )
            )
        return set(rows.scalars())


def policy_versions(engine: Engine) -> set[tuple[str, int]]:
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT name, version FROM policies"))
        return {(name, version) for name, version in rows}


def test_upgrade_from_empty_creates_every_table_of_the_models(
    config: Config, engine: Engine
) -> None:
    assert table_names(engine) == set()

    command.upgrade(config, "head")

    assert table_names(engine) == set(Base.metadata.tables) | {"alembic_version"}
    assert current_revision(engine) == ScriptDirectory.from_config(config).get_current_head()
    assert append_only_triggers(engine)
    assert policy_versions(engine) == BUILTIN_POLICIES


def test_migrated_schema_has_no_drift_from_the_models(config: Config) -> None:
    command.upgrade(config, "head")

    command.check(config)  # raises AutogenerateDiffsDetected on any difference


def test_downgrade_to_base_leaves_only_alembic_version(config: Config, engine: Engine) -> None:
    command.upgrade(config, "head")

    command.downgrade(config, "base")

    assert table_names(engine) == {"alembic_version"}
    assert current_revision(engine) is None
    assert leftover_objects(engine) == {
        "table alembic_version" if engine.dialect.name == "sqlite" else "relation alembic_version"
    }


def test_upgrade_after_downgrade_round_trips(config: Config, engine: Engine) -> None:
    command.upgrade(config, "head")
    first = leftover_objects(engine)
    command.downgrade(config, "base")

    command.upgrade(config, "head")

    assert leftover_objects(engine) == first
    assert table_names(engine) == set(Base.metadata.tables) | {"alembic_version"}
    assert append_only_triggers(engine)
    assert policy_versions(engine) == BUILTIN_POLICIES
    command.check(config)
