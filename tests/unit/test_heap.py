"""A started process freezes its long-lived heap (scheduler/heap.py), through wsgi.py."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from scheduler.heap import freeze_startup_heap

PROJECT_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def thawed() -> Iterator[None]:
    """The test process's heap goes back to the collector afterwards."""
    yield
    gc.unfreeze()


@pytest.mark.usefixtures("thawed")
def test_what_survives_a_collection_is_frozen_and_later_garbage_is_still_collected() -> None:
    class Node:
        def __init__(self) -> None:
            self.me = self  # a cycle: only the collector frees it

    survivor = Node()
    frozen = freeze_startup_heap()
    later = Node()
    del later

    assert frozen == gc.get_freeze_count() > 0
    assert any(obj is survivor for obj in gc.get_objects()) is False  # not tracked any more
    assert gc.collect() >= 1  # the later cycle is found and freed


def test_the_wsgi_entry_point_freezes_the_started_app(tmp_path: Path) -> None:
    environment = {
        **os.environ,
        "SCHEDULER_DATABASE_URL": f"sqlite:///{tmp_path / 'entry.sqlite3'}",
        "SCHEDULER_SECRET_KEY": "entry-secret",
        "PYTHONDONTWRITEBYTECODE": "1",
        "TMPDIR": str(tmp_path),
    }
    code = "import gc, wsgi; print(gc.get_freeze_count())"
    done = subprocess.run(  # noqa: S603 (our own interpreter and code)
        [sys.executable, "-c", code],
        cwd=PROJECT_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    assert int(done.stdout.split()[-1]) > 10_000  # the app, its modules and mappers
