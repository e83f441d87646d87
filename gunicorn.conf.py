"""gunicorn settings; override on the command line (``--bind``, ``--workers``)."""

import multiprocessing
import os

bind = os.environ.get("SCHEDULER_BIND", "127.0.0.1:5000")
workers = int(os.environ.get("SCHEDULER_WORKERS", min(4, multiprocessing.cpu_count() * 2 + 1)))
timeout = 30
accesslog = "-"
# The path only, never the query string: searches like ?q=<name> would put patient
# data in the log.
access_log_format = '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(M)sms'
# ... and with the tokens of /feeds/<token>.ics and /i/<token>.ics replaced.
logger_class = "scheduler.access_log.RedactingLogger"
# No gunicornc control socket (it would be created in the home directory).
control_socket_disable = True
