"""Published policy versions: read, pin, publish (SPEC §3).

Versions are never changed once published; a new document is a new version, and
pathways keep the version they pinned at creation.
"""

from __future__ import annotations

import json
from datetime import datetime
from functools import lru_cache
from importlib import resources
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from scheduler.access import Actor
from scheduler.errors import InvalidInput, NotFound, flatten_errors
from scheduler.pathways.models import PolicyRecord
from scheduler.pathways.policy import Policy
from scheduler.pathways.policy_document import parse_policy, validate_parameters

DEFAULT_POLICY = "medicare_facet"
BUILTIN_POLICIES = ("medicare_facet", "single_block_50")


def builtin_document(name: str) -> dict[str, Any]:
    """The parameters of a policy that ships with the product (its version 1)."""
    text = resources.files("scheduler.pathways").joinpath(f"builtin_policies/{name}.json")
    document: dict[str, Any] = json.loads(text.read_text(encoding="utf-8"))
    return document


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
    if record is None:
        raise NotFound("policy", f"{name}/{version}")
    return record


@lru_cache(maxsize=256)
def _parsed(record_id: int, name: str, version: int, document: str) -> Policy:
    return parse_policy(name, version, json.loads(document))


def policy_of(record: PolicyRecord) -> Policy:
    """The evaluable policy of a stored version (parsed once per process)."""
    return _parsed(record.id, record.name, record.version, json.dumps(record.parameters))


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
    record = PolicyRecord(
        name=name,
        version=(current or 0) + 1,
        title=title,
        parameters=parameters,
        published_at=now,
        published_by_id=actor.user_id,
    )
    session.add(record)
    session.flush()
    return record
