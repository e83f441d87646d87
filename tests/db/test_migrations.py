"""The migrations alone build the models' schema, and undo it completely (SPEC §8).

Each test gets an empty database of its own: a temporary SQLite file, and, when
TEST_DATABASE_URL is set, a scratch PostgreSQL database created next to the test one
(through the ``postgres`` maintenance database) and dropped afterwards.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, select, text

from scheduler.cli import alembic_config
from scheduler.db import make_engine, make_sessionmaker
from scheduler.demo import seed_demo
from scheduler.models import Base
from scheduler.policies.document import parse_policy, validate_parameters
from scheduler.policies.models import PolicyRecord
from scheduler.policies.services import builtin_document
from tests.support import FROZEN_NOW, scratch_postgresql_database

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if TEST_DATABASE_URL else [])
BUILTIN_POLICIES = {("medicare_facet", 1), ("single_block_50", 1)}
DISCHARGE_ALDRETE = "discharge.aldrete"
BEFORE_DISCHARGE_ALDRETE = "6e3645f006a3"  # the revision before its sources were cited


@pytest.fixture(params=BACKENDS)
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrations.sqlite3'}"
    else:
        yield from scratch_postgresql_database("migrations")


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


WAITLIST_TABLES = frozenset({"waitlist_entries", "vacancies", "offers"})
WAITLIST_ROWS = {
    "pathway_events": "trigger IN ('join_waitlist', 'change_waitlist', 'leave_waitlist', "
    "'offer_slot', 'accept_offer', 'decline_offer', 'expire_offer', 'withdraw_offer')",
    "outbox_messages": "offer_id IS NOT NULL",
    # What open offers hold is let go, as an expired hold would be.
    "holds": "id IN (SELECT hold_id FROM offers WHERE status = 'open')",
    "allocations": "hold_id IN (SELECT hold_id FROM offers WHERE status = 'open')",
}
# The manager role (the revision after the waitlist's) goes too: the demo's manager login.
MANAGER_ROWS = {"users": "role = 'manager'"}


@pytest.mark.parametrize(
    ("undone", "emptied", "keeps_display_names"),
    [
        pytest.param("a7ba08bebde5", set(), True, id="waitlist_vacancies_and_offers"),
        pytest.param("93a5233dbfed", set(), True, id="siu_messages_and_deliveries"),
        pytest.param("7b4a4e8a4b8b", set(), True, id="recovery_scores_observation_time"),
        pytest.param("e332330cdde9", set(), True, id="appointments_needs_rebooking_mark"),
        pytest.param("da9f125e25c7", set(), True, id="holds_for_moves"),
        pytest.param("5e2b7c9d41a8", set(), True, id="policies_cite_discharge_aldrete"),
        pytest.param("6e3645f006a3", set(), False, id="site_display_name"),
        pytest.param(
            "c4e81d2a7f90", {"outbox_messages"}, False, id="outbox_invite_uids_feed_tokens"
        ),
    ],
)
def test_the_latest_migrations_round_trip_a_database_with_data(
    config: Config, engine: Engine, undone: str, emptied: set[str], keeps_display_names: bool
) -> None:
    """Down to before ``undone`` and up again over the demo clinic's rows; on SQLite,
    tables that other rows reference are copied by batch mode, which must keep every
    reference intact. What ``undone`` and the revisions after it added is lost
    (``emptied``; display names, unless the way down stops above their revision)."""
    script = ScriptDirectory.from_config(config)
    previous = script.get_revision(undone).down_revision
    assert isinstance(previous, str)
    command.upgrade(config, "head")
    with make_sessionmaker(engine)() as session:
        seed_demo(session, FROZEN_NOW)
        session.commit()
    with engine.begin() as connection:
        connection.execute(text("UPDATE sites SET display_name = 'Riverside Clinic'"))
    counts = row_counts(engine)
    # The waitlist (the head revision) goes on every way down: its tables, its events,
    # the offers' e-mails.
    emptied = emptied | WAITLIST_TABLES
    with engine.connect() as connection:
        for table, where in (WAITLIST_ROWS | MANAGER_ROWS).items():
            counts[table] -= connection.execute(
                text(f"SELECT count(*) FROM {table} WHERE {where}")  # noqa: S608
            ).scalar_one()

    command.downgrade(config, previous)
    columns = {c["name"] for c in inspect(engine).get_columns("sites")}
    assert ("display_name" in columns) == keeps_display_names
    command.upgrade(config, "head")

    assert row_counts(engine) == {**counts, **dict.fromkeys(emptied, 0)}
    with engine.connect() as connection:
        uids = connection.execute(text("SELECT ical_uid FROM appointments")).scalars().all()
        names = connection.execute(text("SELECT display_name FROM sites")).scalars().all()
    assert len(set(uids)) == len(uids) == counts["appointments"]
    kept = "Riverside Clinic" if keeps_display_names else None  # None: shown by its name
    assert names == [kept] * counts["sites"]
    command.check(config)


def stored_documents(engine: Engine) -> dict[tuple[str, int], dict[str, Any]]:
    with make_sessionmaker(engine)() as session:
        return {
            (record.name, record.version): record.parameters
            for record in session.scalars(select(PolicyRecord))
        }


def test_policy_versions_published_before_the_discharge_aldrete_rule_stay_valid(
    config: Config, engine: Engine
) -> None:
    """The rule reads a parameter every version has (``recovery.min_aldrete``); upgrading
    adds its citation to each stored version, the built-in and an admin's alike, and
    changes nothing else; the downgrade gives back the documents as they were."""
    command.upgrade(config, BEFORE_DISCHARGE_ALDRETE)
    published = copy.deepcopy(builtin_document("medicare_facet"))
    del published["sources"][DISCHARGE_ALDRETE]
    published["discharge"]["min_padss"] = 10
    with make_sessionmaker(engine)() as session:
        session.add(
            PolicyRecord(
                name="medicare_facet",
                version=2,
                title="Stricter home readiness",
                parameters=published,
                published_at=FROZEN_NOW,
            )
        )
        session.commit()
    before = stored_documents(engine)
    assert all(DISCHARGE_ALDRETE not in document["sources"] for document in before.values())

    command.upgrade(config, "head")
    upgraded = stored_documents(engine)
    command.downgrade(config, BEFORE_DISCHARGE_ALDRETE)

    assert upgraded.keys() == before.keys()
    assert parse_policy("medicare_facet", 2, upgraded[("medicare_facet", 2)])
    for key, document in upgraded.items():
        assert validate_parameters(document) == {}, key
        source = document["sources"].pop(DISCHARGE_ALDRETE)
        assert source == builtin_document("medicare_facet")["sources"][DISCHARGE_ALDRETE]
        assert document == before[key]
    assert stored_documents(engine) == before


def row_counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {
            name: connection.execute(text(f"SELECT count(*) FROM {name}")).scalar_one()  # noqa: S608
            for name in Base.metadata.tables
        }
