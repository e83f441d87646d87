"""The loop of a polling worker (the e-mail outbox, the SIU sender): a pass, then a pause
when nothing was due, until asked to stop; a failed pass is logged and tried again.
Pure module: no Flask, no SQLAlchemy.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Protocol

log = logging.getLogger(__name__)


class Pass(Protocol):
    """What a pass reports: how many items it handled (0: nothing was due)."""

    @property
    def handled(self) -> int: ...


def keep_passing(
    one_pass: Callable[[], Pass], *, poll: timedelta, stop: threading.Event, name: str
) -> None:
    """Pass after pass until ``stop`` is set; waits ``poll`` when nothing was due (or the
    pass failed: the next one tries again)."""
    while not stop.is_set():
        try:
            handled = one_pass().handled
        except Exception:
            log.exception("%s pass failed; trying again after the poll interval", name)
            handled = 0
        if not handled:
            stop.wait(poll.total_seconds())
