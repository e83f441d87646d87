"""``/metrics`` (SPEC §9): Prometheus text, for this machine or the metrics token's bearer;
requests by route template and status, bookings, refusals by rule, the outbox backlog."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.orm import Session

from tests.api.conftest import Clinic
from tests.api.test_bad_input import assert_problem
from tests.api.test_full_pathway import book, refer
from tests.support import Api, FrozenClock, local


def scrape(client: FlaskClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/plain"
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.get_data(as_text=True))
        for sample in family.samples
    }


def counted(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_requests_are_counted_by_route_template_and_status(api: Api) -> None:
    labels = {"method": "GET", "route": "/api/v1/patients/<int:patient_id>", "status": "404"}
    before = counted("scheduler_http_requests_total", **labels)
    for missing in (999_001, 999_002, 999_003):
        assert api.get(f"/patients/{missing}").status_code == 404
    assert counted("scheduler_http_requests_total", **labels) == before + 3
    timed = {"method": "GET", "route": "/api/v1/patients/<int:patient_id>"}
    assert counted("scheduler_http_request_duration_seconds_count", **timed) >= 3


def test_an_unknown_path_is_one_label_whatever_was_asked(api: Api) -> None:
    labels = {"method": "GET", "route": "<unmatched>", "status": "404"}
    before = counted("scheduler_http_requests_total", **labels)
    api.client.get("/no/such/thing-1")
    api.client.get("/no/such/thing-2")
    assert counted("scheduler_http_requests_total", **labels) == before + 2


def test_bookings_and_refusals_by_rule_are_counted(api: Api, clinic: Clinic) -> None:
    pathway = refer(api, clinic)
    booked_before = counted("scheduler_bookings_total", face="api")
    book(api, clinic, pathway["id"], "diagnostic_block", local("2026-03-03", 9))
    assert counted("scheduler_bookings_total", face="api") == booked_before + 1

    refused_before = counted("scheduler_refusals_total", rule="pain_duration")
    early = refer(api, clinic, pain_onset_date="2026-02-20")
    response = api.post(
        "/appointments",
        {
            "pathway_id": early["id"],
            "kind": "procedure",
            "start": local("2026-03-10", 9).isoformat(),
            "room_id": clinic.room_id,
        },
        "scheduler",
    )
    assert "pain_duration" in assert_problem(response, 422, "prerequisites-unmet")["unmet"]
    assert counted("scheduler_refusals_total", rule="pain_duration") == refused_before + 1


def test_the_outbox_backlog_is_read_at_scrape_time(
    api: Api, clinic: Clinic, client: FlaskClient, clock: FrozenClock
) -> None:
    empty = scrape(client)
    assert empty[("scheduler_outbox_messages", (("state", "due"),))] == 0
    assert empty[("scheduler_outbox_oldest_due_age_seconds", ())] == 0
    pathway = refer(api, clinic)
    book(api, clinic, pathway["id"], "diagnostic_block", local("2026-03-03", 9))
    clock.advance(minutes=7)
    samples = scrape(client)
    assert samples[("scheduler_outbox_messages", (("state", "due"),))] >= 1
    assert samples[("scheduler_outbox_oldest_due_age_seconds", ())] == pytest.approx(
        timedelta(minutes=7).total_seconds()
    )


def test_metrics_are_for_this_machine_only_without_a_token(client: FlaskClient) -> None:
    assert client.get("/metrics").status_code == 200
    away = client.get("/metrics", environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert_problem(away, 403, None)


def test_with_a_token_metrics_need_it_from_anywhere(app: Flask, client: FlaskClient) -> None:
    app.config["METRICS_TOKEN"] = "scrape-secret"
    assert_problem(client.get("/metrics"), 401, None)
    wrong = client.get("/metrics", headers={"Authorization": "Bearer nope"})
    assert_problem(wrong, 401, None)
    right = client.get(
        "/metrics",
        headers={"Authorization": "Bearer scrape-secret"},
        environ_base={"REMOTE_ADDR": "10.1.2.3"},
    )
    assert right.status_code == 200


def test_the_waitlist_and_the_backfills_own_backlog_are_read_at_scrape_time(
    api: Api, app: Flask, clinic: Clinic, client: FlaskClient, clock: FrozenClock, db: Session
) -> None:
    from tests.api.test_waitlist import backfill, freed_block, waiting

    waiting(api, clinic, db, min_notice_hours=0)
    waiting(api, clinic, db, weekdays=["sunday"])
    freed_block(api, clinic)
    clock.advance(minutes=3)
    before = scrape(client)  # the worker has not run: a vacancy waits, 3 minutes old
    backfill(app, clock)
    after = scrape(client)

    assert before[("scheduler_waitlist_entries", ())] == 2
    assert before[("scheduler_vacancies_waiting", ())] == 1
    assert before[("scheduler_vacancy_oldest_waiting_age_seconds", ())] == 180
    assert before[("scheduler_waitlist_offers_open", ())] == 0
    assert after[("scheduler_waitlist_offers_open", ())] == 1
    assert after[("scheduler_vacancies_waiting", ())] == 0
    assert after[("scheduler_vacancy_oldest_waiting_age_seconds", ())] == 0
