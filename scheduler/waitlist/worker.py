"""The waitlist worker (``flask waitlist run``): expires offers past their time and offers
each vacancy to its next candidate (SPEC §10).

Each step is its own transaction. On PostgreSQL offers and vacancies are claimed ``FOR
UPDATE SKIP LOCKED``, so several workers share the work and never offer one vacancy
twice at once; on SQLite the transaction begins IMMEDIATE, so workers take turns.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from scheduler.db import begin_write
from scheduler.polling import keep_passing
from scheduler.settings import BackfillSettings
from scheduler.waitlist import services

log = logging.getLogger(__name__)


@dataclass
class PassResult:
    """What one pass did."""

    expired: int = 0  # offers closed: past their time, or their pathway left the list
    searched: int = 0  # vacancies looked at
    offered: int = 0  # offers made

    @property
    def handled(self) -> int:
        return self.expired + self.searched


def backfill_pass(
    sessions: sessionmaker[Session], settings: BackfillSettings, clock: Callable[[], datetime]
) -> PassResult:
    """Expire what is due, then offer every vacancy waiting for a search, one transaction
    each."""
    result = PassResult()
    with sessions() as session, session.begin():
        begin_write(session)
        result.expired = services.expire_due(session, clock())
    while True:
        with sessions() as session, session.begin():
            begin_write(session)
            vacancy = services.claim_vacancy(session)
            if vacancy is None:
                break
            made = services.offer_vacancy(session, clock(), vacancy, settings)
            result.searched += 1
            result.offered += len(made)
            log.info("vacancy %s: %s offer(s) made (%s)", vacancy.id, len(made), vacancy.status)
    return result


def run(
    sessions: sessionmaker[Session],
    settings: BackfillSettings,
    clock: Callable[[], datetime],
    *,
    poll: timedelta,
    stop: threading.Event,
) -> None:
    """Pass after pass until ``stop`` is set; waits ``poll`` when nothing was due."""
    keep_passing(
        lambda: backfill_pass(sessions, settings, clock), poll=poll, stop=stop, name="waitlist"
    )
