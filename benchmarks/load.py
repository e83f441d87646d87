"""Clients, lock samples and worker memory for the gunicorn runs of ``make bench``.

``drive`` sends requests from a number of client threads (one keep-alive connection
each) and keeps every request's latency; ``LockSampler`` polls pg_stat_activity for
backends waiting on a lock while a run goes on; ``worker_rss`` reads the resident memory
of each gunicorn worker from /proc.
"""

from __future__ import annotations

import http.client
import statistics
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import psycopg

# (method, path, body, headers)
Request = tuple[str, str, bytes | None, dict[str, str]]


@dataclass
class Run:
    succeeded: int = 0
    failed: int = 0
    seconds: float = 0.0
    first_failure: str | None = None
    ran_out: bool = False
    latencies: list[float] = field(default_factory=list)  # ms, succeeded requests

    @property
    def sent(self) -> int:
        return self.succeeded + self.failed

    @property
    def per_second(self) -> float:
        return self.succeeded / self.seconds if self.seconds else 0.0

    @property
    def median(self) -> float:
        return statistics.median(self.latencies) if self.latencies else float("nan")

    @property
    def p95(self) -> float:
        if len(self.latencies) < 2:
            return float("nan")
        return statistics.quantiles(self.latencies, n=20)[-1]

    def plus(self, other: Run) -> Run:
        return Run(
            self.succeeded + other.succeeded,
            self.failed + other.failed,
            self.seconds + other.seconds,
            self.first_failure or other.first_failure,
            self.ran_out or other.ran_out,
            self.latencies + other.latencies,
        )


def drive(
    port: int,
    requests: Iterator[Request],
    *,
    clients: int,
    seconds: float,
    expect: int,
    limit: int | None = None,
) -> Run:
    """Send ``requests`` from ``clients`` threads until they run out, ``limit`` requests
    were sent, or ``seconds`` are up."""
    run = Run()
    lock = threading.Lock()
    deadline = time.monotonic() + seconds
    issued = 0

    def take() -> Request | None:
        nonlocal issued
        with lock:
            if limit is not None and issued >= limit:
                return None
            request = next(requests, None)
            if request is None:
                run.ran_out = True
                return None
            issued += 1
            return request

    def client() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        try:
            while time.monotonic() < deadline:
                request = take()
                if request is None:
                    return
                method, path, body, headers = request
                started = time.perf_counter()
                connection.request(method, path, body=body, headers=headers)
                response = connection.getresponse()
                payload = response.read()
                elapsed = (time.perf_counter() - started) * 1000
                with lock:
                    if response.status == expect:
                        run.succeeded += 1
                        run.latencies.append(elapsed)
                    else:
                        run.failed += 1
                        run.first_failure = run.first_failure or (
                            f"{response.status} {payload[:300].decode(errors='replace')}"
                        )
        finally:
            connection.close()

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    run.seconds = time.perf_counter() - started
    return run


def side_by_side(*runs: dict[str, Any]) -> list[Run]:
    """Several ``drive`` calls at once (keyword arguments of each), their runs in order."""
    results: dict[int, Run] = {}

    def one(index: int, kwargs: dict[str, Any]) -> None:
        results[index] = drive(**kwargs)

    threads = [
        threading.Thread(target=one, args=(index, kwargs)) for index, kwargs in enumerate(runs)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return [results[index] for index in range(len(runs))]


LOCK_WAITS = (
    "SELECT count(*) FROM pg_stat_activity"
    " WHERE datname = current_database() AND wait_event_type = 'Lock'"
)


class LockSampler:
    """Counts backends of this database waiting on a lock, every ``interval`` seconds,
    from its own connection, while the ``with`` block runs."""

    def __init__(self, url: str, interval: float = 0.05) -> None:
        self.url = url
        self.interval = interval
        self.samples = 0
        self.waiting_samples = 0  # samples in which some backend waited on a lock
        self.most_waiting = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll)

    def _poll(self) -> None:
        with psycopg.connect(self.url, autocommit=True) as connection:
            while not self._stop.is_set():
                row = connection.execute(LOCK_WAITS).fetchone()
                waiting = int(row[0]) if row else 0
                self.samples += 1
                self.waiting_samples += waiting > 0
                self.most_waiting = max(self.most_waiting, waiting)
                self._stop.wait(self.interval)

    def __enter__(self) -> LockSampler:
        self._thread.start()
        return self

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()


def workers_of(arbiter: int) -> list[int]:
    """The pids of the gunicorn arbiter's worker processes (its children)."""
    children = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(
                line.split(":\t", 1) for line in status.read_text().splitlines() if ":\t" in line
            )
        except OSError:  # the process ended meanwhile
            continue
        if fields.get("PPid", "").strip() == str(arbiter):
            children.append(int(status.parent.name))
    return sorted(children)


def rss_mib(pid: int) -> float:
    """Resident memory of ``pid`` (VmRSS in /proc/<pid>/status), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def worker_rss(arbiter: int) -> dict[int, float]:
    return {pid: rss_mib(pid) for pid in workers_of(arbiter)}
