"""Prometheus metrics (SPEC §9): requests by route template and status with latency,
bookings, refusals by policy rule, the outbox backlog and the SIU backlog.

Under gunicorn every worker is its own process: with ``PROMETHEUS_MULTIPROC_DIR`` set
(``gunicorn.conf.py`` sets it to a fresh directory before anything imports the client),
each worker writes its samples there and a scrape of any worker adds them all up. Without
it (tests, ``flask run``) the samples stay in the process.

``/metrics`` (in ``scheduler.health``) answers a scrape when it carries
``METRICS_TOKEN`` as a bearer token, or, with no token configured, only from this machine.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import datetime

from flask import Flask, Response, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from scheduler.errors import PrerequisitesUnmet
from scheduler.hl7v2.services import Backlog as SiuBacklog
from scheduler.outbox.services import Backlog
from scheduler.waitlist.board import Backlog as WaitlistBacklog

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"
UNMATCHED = "<unmatched>"  # a path no route knows: one label, whatever was asked

REQUESTS = Counter(
    "scheduler_http_requests",
    "HTTP requests answered, by route template and status.",
    ["method", "route", "status"],
)
LATENCY = Histogram(
    "scheduler_http_request_duration_seconds",
    "Time to answer, by route template.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
BOOKINGS = Counter("scheduler_bookings", "Appointments booked, by face.", ["face"])
REFUSALS = Counter(
    "scheduler_refusals", "Steps refused by a policy rule, by the rule's id.", ["rule"]
)

# The routes that book, and the status each answers when it has booked.
BOOKING_ROUTES = {
    ("POST", "/api/v1/appointments"): (201, "api"),
    ("POST", "/board/pathways/<int:pathway_id>/holds/<hold_id>/book"): (303, "pages"),
}


def refused(error: PrerequisitesUnmet) -> None:
    for rule in error.unmet:
        REFUSALS.labels(rule.id).inc()


def _started() -> None:
    g.metrics_started = time.perf_counter()


def _answered(response: Response) -> Response:
    started = g.pop("metrics_started", None)
    route = request.url_rule.rule if request.url_rule is not None else UNMATCHED
    REQUESTS.labels(request.method, route, str(response.status_code)).inc()
    if started is not None:
        LATENCY.labels(request.method, route).observe(time.perf_counter() - started)
    booked = BOOKING_ROUTES.get((request.method, route))
    if booked is not None and response.status_code == booked[0]:
        BOOKINGS.labels(booked[1]).inc()
    return response


def init_app(app: Flask) -> None:
    app.before_request(_started)
    app.after_request(_answered)


class OutboxCollector(Collector):
    """The outbox backlog, read from the database at scrape time (one statement)."""

    def __init__(self, due: int, scheduled: int, dead: int, oldest_due_seconds: float) -> None:
        self.values = (due, scheduled, dead, oldest_due_seconds)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        due, scheduled, dead, oldest = self.values
        messages = GaugeMetricFamily(
            "scheduler_outbox_messages", "Outbox messages by state.", labels=["state"]
        )
        messages.add_metric(["due"], due)
        messages.add_metric(["scheduled"], scheduled)
        messages.add_metric(["dead"], dead)
        yield messages
        yield GaugeMetricFamily(
            "scheduler_outbox_oldest_due_age_seconds",
            "How long the longest-waiting due message has waited (0: none waits).",
            value=oldest,
        )


class SiuCollector(Collector):
    """SIU deliveries still to send or given up on, read at scrape time (one statement)."""

    def __init__(self, backlog: SiuBacklog) -> None:
        self.backlog = backlog

    def collect(self) -> Iterator[GaugeMetricFamily]:
        deliveries = GaugeMetricFamily(
            "scheduler_siu_deliveries",
            "HL7 SIU deliveries to the EHR not sent (yet), by state.",
            labels=["state"],
        )
        deliveries.add_metric(["pending"], self.backlog.pending)
        deliveries.add_metric(["rejected"], self.backlog.rejected)
        deliveries.add_metric(["dead"], self.backlog.dead)
        yield deliveries


class WaitlistCollector(Collector):
    """The waitlist and the backfill's own backlog, read at scrape time (one statement):
    a vacancy waiting long means the waitlist worker is not running."""

    def __init__(self, backlog: WaitlistBacklog, now: datetime) -> None:
        self.backlog = backlog
        oldest = backlog.oldest_waiting
        self.age = max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0

    def collect(self) -> Iterator[GaugeMetricFamily]:
        yield GaugeMetricFamily(
            "scheduler_waitlist_entries", "Pathways on the waitlist.", value=self.backlog.entries
        )
        yield GaugeMetricFamily(
            "scheduler_waitlist_offers_open",
            "Offers of freed slots waiting for the patient's answer.",
            value=self.backlog.offers_open,
        )
        yield GaugeMetricFamily(
            "scheduler_vacancies_waiting",
            "Freed capacity the waitlist worker has still to offer.",
            value=self.backlog.vacancies_waiting,
        )
        yield GaugeMetricFamily(
            "scheduler_vacancy_oldest_waiting_age_seconds",
            "How long the longest-waiting of those has waited (0: none waits).",
            value=self.age,
        )


def exposition(
    backlog: Backlog, siu: SiuBacklog, waitlist: WaitlistBacklog, now: datetime
) -> Response:
    """Every worker's samples (or this process's) and the outbox, SIU and waitlist
    backlogs, as Prometheus text."""
    oldest = backlog.oldest_due
    age = max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0
    samples = REGISTRY
    if os.environ.get(MULTIPROCESS_DIR):
        samples = CollectorRegistry()
        multiprocess.MultiProcessCollector(samples)
    outbox = CollectorRegistry()
    outbox.register(OutboxCollector(backlog.due, backlog.scheduled, backlog.dead, age))
    outbox.register(SiuCollector(siu))
    outbox.register(WaitlistCollector(waitlist, now))
    body = generate_latest(samples) + generate_latest(outbox)
    return Response(body, mimetype=CONTENT_TYPE_LATEST)
