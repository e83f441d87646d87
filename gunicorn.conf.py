"""gunicorn settings; override on the command line (``--bind``, ``--workers``)."""

import multiprocessing
import os

from scheduler.access_log import answer_errors_as_problems

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


def on_starting(server: object) -> None:
    answer_errors_as_problems()


# No gunicornc control socket (it would be created in the home directory).
control_socket_disable = True
