"""Configuration defaults, kept in version control.

Every value can be overridden from the environment as ``SCHEDULER_<NAME>``
(``DATABASE_URL`` is also read without the prefix, as most hosts set it).
A value is converted to the type of its default, so ``SCHEDULER_TOKEN_TTL_HOURS=8``
becomes the integer 8 and ``SCHEDULER_SQL_ECHO=true`` the boolean True.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = BASE_DIR / "instance"


class Defaults:
    """Settings a developer gets with no environment at all."""

    # Embedded SQLite under instance/; PostgreSQL in production
    # (postgresql+psycopg://user@host/dbname).
    DATABASE_URL = f"sqlite:///{INSTANCE_DIR / 'scheduler.sqlite3'}"
    # Log SQL statements (parameters are never logged: they may hold patient data).
    SQL_ECHO = False

    # Bearer tokens from POST /api/v1/auth/tokens live this long.
    TOKEN_TTL_HOURS = 12
    # Failed and successful logins per client address (flask-limiter syntax).
    LOGIN_RATE_LIMIT = "10 per minute"
    # Where rate-limit counters live: memory:// for one process,
    # redis://127.0.0.1:6379/0 when several gunicorn workers share the limit.
    RATELIMIT_STORAGE_URI = "memory://"

    # A hold (POST /api/v1/holds) reserves a slot's resources this long.
    HOLD_TTL_SECONDS = 600
    # A retried POST /api/v1/appointments with the same Idempotency-Key within this
    # time gets the first response again.
    IDEMPOTENCY_TTL_HOURS = 24

    # Signs the patients' invite links (/i/<token>.ics). Empty: a random key is made once
    # and kept in instance/secret_key, which every worker process of one install shares.
    # Set it in production; changing it retires every link already sent.
    SECRET_KEY = ""
    # The pages' session cookie: HttpOnly and SameSite=Lax always; Secure when served over
    # HTTPS (set SCHEDULER_SESSION_COOKIE_SECURE=true in production).
    SESSION_COOKIE_NAME = "scheduler_session"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    # The address links in e-mails and feed URLs start with.
    PUBLIC_BASE_URL = "http://127.0.0.1:5000"

    # E-mail to patients (invites, updates, cancellations, reminders), sent by the outbox
    # worker (flask outbox run). MAIL_SECURITY: none, starttls or ssl.
    MAIL_HOST = "127.0.0.1"
    MAIL_PORT = 1025
    MAIL_SECURITY = "none"
    MAIL_USERNAME = ""
    MAIL_PASSWORD = ""
    MAIL_TIMEOUT_SECONDS = 30
    # The clinic's address: the e-mails' From:, and the ORGANIZER of invites and feed events.
    MAIL_FROM = "appointments@clinic.example"
    # Calendar reminders in each invite, in minutes before the start.
    INVITE_ALARM_MINUTES = "1440,120"
    # A reminder e-mail goes out this long before each appointment.
    REMINDER_HOURS_BEFORE = 48
    # Failed sends are retried after 1, 2, 4 ... minutes (at most OUTBOX_RETRY_MAX_SECONDS
    # apart); after OUTBOX_MAX_ATTEMPTS a message is dead until an admin re-queues it.
    OUTBOX_MAX_ATTEMPTS = 8
    OUTBOX_RETRY_BASE_SECONDS = 60
    OUTBOX_RETRY_MAX_SECONDS = 3600
    # How long the worker sleeps when nothing is due.
    OUTBOX_POLL_SECONDS = 5

    # HL7 v2.5.1 SIU messages to the EHR (flask hl7 run), one delivery per receiver.
    # HL7_RECEIVERS: comma-separated name=host:port, each optionally followed by
    # /RECEIVING_APPLICATION/RECEIVING_FACILITY (MSH-5, MSH-6), e.g.
    # "ehr=10.0.0.7:2575/EHR/MAIN". Empty: no SIU message is written at all.
    HL7_RECEIVERS = ""
    # MSH-3 and MSH-4: who we are to the receivers.
    HL7_SENDING_APPLICATION = "SCHEDULER"
    HL7_SENDING_FACILITY = "CLINIC"
    # PID-3's assigning authority: whose medical record numbers these are.
    HL7_MRN_AUTHORITY = "CLINIC"
    # How long the worker waits for a receiver's ACK before trying again later.
    HL7_ACK_TIMEOUT_SECONDS = 30
    # Failed sends are retried after 30 s, 1, 2, 4 ... minutes (at most
    # HL7_RETRY_MAX_SECONDS apart); after HL7_MAX_ATTEMPTS a delivery is dead until an
    # admin re-queues it.
    HL7_MAX_ATTEMPTS = 20
    HL7_RETRY_BASE_SECONDS = 30
    HL7_RETRY_MAX_SECONDS = 1800
    # How long the worker sleeps when nothing is due.
    HL7_POLL_SECONDS = 5

    # The waitlist (flask waitlist run): a freed slot is offered to the best-ranked waiting
    # patient, held for them WAITLIST_OFFER_MINUTES (never so long that accepting would
    # give less notice than they accept), then to the next. WAITLIST_OFFERS_AT_ONCE > 1
    # offers one slot to that many patients at once: the first to accept gets it.
    WAITLIST_OFFER_MINUTES = 120
    WAITLIST_OFFERS_AT_ONCE = 1
    # How long the worker sleeps when there is nothing to expire or offer.
    WAITLIST_POLL_SECONDS = 5

    # How much a clinician's calendar feed shows of each case in its title: neutral ("Clinic
    # appointment"), none (the kind of case), initials or full (the kind and the patient).
    FEED_PATIENT_DETAIL = "initials"

    # Request bodies larger than this are refused with 413.
    MAX_CONTENT_LENGTH = 256 * 1024

    LOG_LEVEL = "INFO"
    # GET /metrics (Prometheus): with a token, scrapers send it as a bearer token; empty,
    # only requests from this machine (127.0.0.1, ::1) are answered.
    METRICS_TOKEN = ""

    # flask-smorest / OpenAPI
    API_TITLE = "Neurotomy pathway scheduler"
    API_VERSION = "v1"
    OPENAPI_VERSION = "3.1.0"
    OPENAPI_URL_PREFIX = "/api/v1"
    OPENAPI_JSON_PATH = "openapi.json"


ENV_PREFIX = "SCHEDULER_"


def _convert(raw: str, default: Any) -> Any:
    if isinstance(default, bool):
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    if isinstance(default, int):
        return int(raw)
    return raw


def load(environ: dict[str, str] | None = None) -> dict[str, Any]:
    """Defaults overridden by ``SCHEDULER_*`` variables (and ``DATABASE_URL``)."""
    env = dict(os.environ if environ is None else environ)
    settings = {name: getattr(Defaults, name) for name in dir(Defaults) if name.isupper()}
    if "DATABASE_URL" in env:
        settings["DATABASE_URL"] = env["DATABASE_URL"]
    for key, raw in env.items():
        if key.startswith(ENV_PREFIX):
            name = key.removeprefix(ENV_PREFIX)
            settings[name] = _convert(raw, settings.get(name))
    return settings
