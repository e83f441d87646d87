"""The app under gunicorn with the project's own settings, for end-to-end tests.

Bound to a free 127.0.0.1 port, its log and worker files in the caller's temp dir, and
stopped by its pid (SIGTERM, then the whole process group if it hangs).
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from time import monotonic, sleep

HOST = "127.0.0.1"
PROJECT_ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 30.0
STOP_TIMEOUT = 15.0


@dataclass(frozen=True)
class Served:
    port: int
    log: Path

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def log_tail(self, lines: int = 80) -> str:
        content = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "gunicorn log (tail):\n" + "\n".join(content.splitlines()[-lines:])


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def _answers(port: int, path: str) -> bool:
    connection = http.client.HTTPConnection(HOST, port, timeout=5)
    try:
        connection.request("GET", path)
        return connection.getresponse().status < 500
    except OSError:
        return False
    finally:
        connection.close()


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
    try:
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@contextmanager
def serve(
    database_url: str, directory: Path, *, workers: int = 2, env: dict[str, str] | None = None
) -> Iterator[Served]:
    """``wsgi:app`` under gunicorn until the block ends."""
    served = Served(port=free_port(), log=directory / "gunicorn.log")
    environment = {
        **os.environ,
        "SCHEDULER_DATABASE_URL": database_url,
        "SCHEDULER_SECRET_KEY": "e2e-secret",
        "TMPDIR": str(directory),
        "PYTHONDONTWRITEBYTECODE": "1",
        **(env or {}),
    }
    arguments = [
        *(sys.executable, "-m", "gunicorn", "wsgi:app", "--config", "gunicorn.conf.py"),
        *("--bind", f"{HOST}:{served.port}", "--workers", str(workers)),
        *("--worker-tmp-dir", str(directory), "--graceful-timeout", "5"),
    ]
    with served.log.open("wb") as log:
        process = subprocess.Popen(  # noqa: S603 (our own interpreter and arguments)
            arguments,
            cwd=PROJECT_ROOT,
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            deadline = monotonic() + START_TIMEOUT
            while not _answers(served.port, "/signin"):
                if process.poll() is not None:
                    exited = process.returncode
                    raise RuntimeError(f"gunicorn exited ({exited})\n{served.log_tail()}")
                if monotonic() > deadline:
                    raise RuntimeError(f"gunicorn did not answer\n{served.log_tail()}")
                sleep(0.1)
            yield served
        finally:
            _stop(process)
