"""gunicorn settings; override on the command line (``--bind``, ``--workers``)."""

import importlib
import multiprocessing
import os
import shutil
import tempfile

bind = os.environ.get("SCHEDULER_BIND", "127.0.0.1:5000")
workers = int(os.environ.get("SCHEDULER_WORKERS", min(4, multiprocessing.cpu_count() * 2 + 1)))
timeout = 30
accesslog = "-"
# JSON lines like the app's: the path only (never the query string, where a search like
# ?q=<name> would put patient data), feed and invite-link tokens replaced.
logger_class = "scheduler.access_log.RedactingLogger"
# A header over gunicorn's limits (8190 bytes a field, 100 fields) is refused before the
# app sees it; keep those limits, but answer as problem+json like every other error.
limit_request_field_size = 8190
# No gunicornc control socket (it would be created in the home directory).
control_socket_disable = True

# Metrics from every worker: each writes its samples to this directory, a scrape sums them.
# It must be set before anything imports the Prometheus client (the logger class above
# imports the app), and start empty: a fresh one per start unless the operator names one.
METRICS_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
own_metrics_dir = None
if not os.environ.get(METRICS_DIR_VARIABLE):
    own_metrics_dir = tempfile.mkdtemp(prefix="scheduler-metrics-")
    os.environ[METRICS_DIR_VARIABLE] = own_metrics_dir


def on_starting(server: object) -> None:
    importlib.import_module("scheduler.access_log").answer_errors_as_problems()


def child_exit(server: object, worker: object) -> None:
    """A worker that is gone no longer counts in the live gauges."""
    multiprocess = importlib.import_module("prometheus_client.multiprocess")
    multiprocess.mark_process_dead(worker.pid)  # type: ignore[attr-defined]


def on_exit(server: object) -> None:
    if own_metrics_dir is not None:
        shutil.rmtree(own_metrics_dir, ignore_errors=True)
