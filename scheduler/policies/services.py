"""Published policy versions: read, pin, publish (SPEC §3).

Versions are never changed once published; a new document is a new version, and
pathways keep the version they pinned at creation.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from functools import lru_cache
from importlib import resources
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from scheduler.access import Actor
from scheduler.db import found, saved
from scheduler.errors import InvalidInput, flatten_errors
from scheduler.policies.document import parse_policy, validate_parameters
from scheduler.policies.models import PolicyRecord
from scheduler.policies.parameters import Policy

DEFAULT_POLICY = "medicare_facet"
BUILTIN_POLICIES = ("medicare_facet", "single_block_50")


def builtin_document(name: str) -> dict[str, Any]:
    """The parameters of a policy that ships with the product (its version 1)."""
    text = resources.files("scheduler.policies").joinpath(f"builtin/{name}.json")
    document: dict[str, Any] = json.loads(text.read_text(encoding="utf-8"))
    return document


def list_statement(name: str | None = None, *, newest_first: bool = False) -> Select[PolicyRecord]:
    """Policy versions by name, then version (of one policy, or of all)."""
    version = PolicyRecord.version.desc() if newest_first else PolicyRecord.version
    statement = select(PolicyRecord).order_by(PolicyRecord.name, version)
    if name is not None:
        statement = statement.where(PolicyRecord.name == name)
    return statement


def list_policies(session: Session) -> list[PolicyRecord]:
    """Every version of every policy, newest version first within each name."""
    return list(session.scalars(list_statement(newest_first=True)))


def latest_policy(session: Session, name: str) -> PolicyRecord:
    record = session.scalar(
        select(PolicyRecord)
        .where(PolicyRecord.name == name)
        .order_by(PolicyRecord.version.desc())
        .limit(1)
    )
    if record is None:
        raise InvalidInput.field("policy", f"No policy named '{name}'.")
    return record


def get_policy(session: Session, name: str, version: int) -> PolicyRecord:
    record = session.scalar(
        select(PolicyRecord).where(PolicyRecord.name == name, PolicyRecord.version == version)
    )
    return found(record, "policy", f"{name}/{version}")


@lru_cache(maxsize=256)
def _parsed(record_id: int, name: str, version: int, document: str) -> Policy:
    return parse_policy(name, version, json.loads(document))


def policy_of(record: PolicyRecord) -> Policy:
    """The evaluable policy of a stored version (parsed once per process)."""
    return _parsed(record.id, record.name, record.version, json.dumps(record.parameters))


def arrival_for(record: PolicyRecord, start: datetime) -> datetime:
    """When a procedure patient is asked to arrive: the policy's minutes before ``start``."""
    before = policy_of(record).parameters.check_in.arrival_minutes_before
    return start - timedelta(minutes=before)


def publish_policy(
    session: Session, actor: Actor, now: datetime, *, name: str, title: str, parameters: Any
) -> PolicyRecord:
    """Validate ``parameters`` and store them as the next version of ``name``."""
    errors = validate_parameters(parameters) if isinstance(parameters, dict) else None
    if errors is None:
        raise InvalidInput.field("parameters", "Must be an object.")
    if errors:
        raise InvalidInput(flatten_errors(errors, "parameters"))
    current = session.scalar(
        select(func.max(PolicyRecord.version)).where(PolicyRecord.name == name)
    )
    return saved(
        session,
        PolicyRecord(
            name=name,
            version=(current or 0) + 1,
            title=title,
            parameters=parameters,
            published_at=now,
            published_by_id=actor.user_id,
        ),
    )
