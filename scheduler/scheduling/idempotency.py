"""``Idempotency-Key`` for booking: a retried request gets the first response, books nothing.

The key row is written first, in the booking's own transaction. A second request with
the same key waits on the unique index until the first commits (PostgreSQL; SQLite
serialises writers anyway), then finds the stored response and replays it. Only a
successful first response is kept: a refused booking changed nothing, so its retry may
simply try again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
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


def _check_key(key: str) -> None:
    if not 1 <= len(key) <= MAX_KEY_LENGTH or not key.isascii() or not key.isprintable():
        raise InvalidInput.field(
            HEADER, f"Use 1 to {MAX_KEY_LENGTH} printable ASCII characters (a UUID, say)."
        )


def _replay(record: IdempotencyKey, digest: str) -> tuple[int, dict[str, Any]]:
    if record.request_hash != digest:
        raise InvalidInput.field(HEADER, "This key was already used for a different request.")
    return record.status, record.body


def _stored(session: Session, user_id: int, key: str) -> IdempotencyKey | None:
    return session.scalar(
        select(IdempotencyKey).where(IdempotencyKey.user_id == user_id, IdempotencyKey.key == key)
    )


def once(
    session: Session,
    actor: Actor,
    now: datetime,
    key: str,
    body: bytes,
    ttl: timedelta,
    perform: Callable[[], dict[str, Any]],
) -> tuple[int, dict[str, Any]]:
    """Run ``perform`` (and commit) unless this user already sent ``key``: then replay."""
    _check_key(key)
    if actor.user_id is None:
        return CREATED, perform()
    digest = hashlib.sha256(body).hexdigest()
    session.execute(delete(IdempotencyKey).where(IdempotencyKey.created_at < now - ttl))
    existing = _stored(session, actor.user_id, key)
    if existing is not None:
        return _replay(existing, digest)
    record = IdempotencyKey(
        user_id=actor.user_id, key=key, request_hash=digest, status=CREATED, body={}, created_at=now
    )
    session.add(record)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()  # a concurrent request with this key committed first
        existing = _stored(session, actor.user_id, key)
        if existing is None:
            raise
        return _replay(existing, digest)
    response = perform()
    record.body = response
    session.commit()
    return CREATED, response
