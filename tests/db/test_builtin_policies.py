"""The policies that ship with the product are in the database once it is migrated (SPEC §3).

The migration froze their version 1; it must match the documents in
``scheduler/pathways/builtin_policies/`` and pass the same validation as a published one.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from scheduler.policies.document import parse_policy, validate_parameters
from scheduler.policies.models import PolicyRecord
from scheduler.policies.services import BUILTIN_POLICIES, builtin_document


def test_migrated_database_holds_version_1_of_each_builtin_policy(db: Session) -> None:
    rows = db.execute(select(PolicyRecord.name, PolicyRecord.version)).all()

    assert sorted(tuple(row) for row in rows) == [("medicare_facet", 1), ("single_block_50", 1)]


@pytest.mark.parametrize("name", BUILTIN_POLICIES)
def test_builtin_policy_parameters_equal_the_shipped_document(db: Session, name: str) -> None:
    record = db.scalar(
        select(PolicyRecord).where(PolicyRecord.name == name, PolicyRecord.version == 1)
    )

    assert record is not None
    assert record.parameters == builtin_document(name)
    assert record.published_by_id is None
    assert record.title


@pytest.mark.parametrize("name", BUILTIN_POLICIES)
def test_builtin_policy_parses_as_a_valid_policy(db: Session, name: str) -> None:
    record = db.scalar(
        select(PolicyRecord).where(PolicyRecord.name == name, PolicyRecord.version == 1)
    )
    assert record is not None

    policy = parse_policy(record.name, record.version, record.parameters)

    assert validate_parameters(record.parameters) == {}
    assert (policy.name, policy.version) == (name, 1)
