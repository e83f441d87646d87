"""``Idempotency-Key`` for booking: a retried request gets the first response, books nothing.

The key row is written first, in the booking's own transaction. A second request with
the same key waits on the unique index until the first commits (PostgreSQL; SQLite
serialises writers anyway), then finds the stored response and replays it. Only a
successful first response is kept: a refused booking changed nothing (its transaction,
key row included, is rolled back), so its retry may simply try again. The route commits
the booking and its key together, once.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from scheduler.access import Actor
from scheduler.errors import InvalidInput
from scheduler.scheduling.models import IdempotencyKey

HEADER: Final = "Idempotency-Key"
MAX_KEY_LENGTH: Final = 255
CREATED: Final = 201


@dataclass(frozen=True)
class Replay:
    """The first response to this key, to send again instead of booking."""

    status: int
    body: dict[str, Any]


def _check_key(key: str) -> None:
    if not 1 <= len(key) <= MAX_KEY_LENGTH or not key.isascii() or not key.isprintable():
        raise InvalidInput.field(
            HEADER, f"Use 1 to {MAX_KEY_LENGTH} printable ASCII characters (a UUID, say)."
        )


def _replay(record: IdempotencyKey, digest: str) -> Replay:
    if record.request_hash != digest:
        raise InvalidInput.field(HEADER, "This key was already used for a different request.")
    return Replay(record.status, record.body)


def _stored(session: Session, user_id: int, key: str) -> IdempotencyKey | None:
    return session.scalar(
        select(IdempotencyKey).where(IdempotencyKey.user_id == user_id, IdempotencyKey.key == key)
    )


def claim(
    session: Session, actor: Actor, now: datetime, key: str, body: bytes, ttl: timedelta
) -> IdempotencyKey | Replay | None:
    """This request's key row (fill it with :func:`remember`), or the first response to
    replay when this user already sent ``key``; None for the system actor (no user)."""
    _check_key(key)
    if actor.user_id is None:
        return None
    digest = hashlib.sha256(body).hexdigest()
    session.execute(delete(IdempotencyKey).where(IdempotencyKey.created_at < now - ttl))
    existing = _stored(session, actor.user_id, key)
    if existing is not None:
        return _replay(existing, digest)
    record = IdempotencyKey(
        user_id=actor.user_id, key=key, request_hash=digest, status=CREATED, body={}, created_at=now
    )
    try:
        with session.begin_nested():
            session.add(record)
    except IntegrityError:
        # A concurrent request with this key committed first: its response is the answer.
        existing = _stored(session, actor.user_id, key)
        if existing is None:
            raise
        return _replay(existing, digest)
    return record


def remember(record: IdempotencyKey, response: dict[str, Any]) -> None:
    """Keep the response a successful booking gave, for a retry with the same key."""
    record.body = response
