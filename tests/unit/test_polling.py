"""The polling workers' loop: a pass after each busy pass at once, a pause after an idle
or failed one, and out when asked to stop."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import timedelta

import pytest

from scheduler.polling import keep_passing


@dataclass
class Done:
    handled: int


class Waits(threading.Event):
    """An event that records each wait instead of sleeping."""

    def __init__(self) -> None:
        super().__init__()
        self.waits: list[float | None] = []

    def wait(self, timeout: float | None = None) -> bool:
        self.waits.append(timeout)
        return self.is_set()


def test_busy_passes_follow_at_once_idle_and_failed_ones_pause_then_stop(
    caplog: pytest.LogCaptureFixture,
) -> None:
    stop = Waits()
    outcomes: list[int | Exception] = [3, 1, RuntimeError("database away"), 0, 2]

    def one_pass() -> Done:
        outcome = outcomes.pop(0)
        if not outcomes:
            stop.set()
        if isinstance(outcome, Exception):
            raise outcome
        return Done(outcome)

    with caplog.at_level(logging.ERROR, logger="scheduler.polling"):
        keep_passing(one_pass, poll=timedelta(seconds=5), stop=stop, name="test")

    assert outcomes == []
    assert stop.waits == [5.0, 5.0]  # after the failed pass and after the idle one
    assert [r.getMessage() for r in caplog.records] == [
        "test pass failed; trying again after the poll interval"
    ]
