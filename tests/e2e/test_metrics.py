"""Metrics under gunicorn with several workers: a scrape of any worker counts them all."""

from __future__ import annotations

import http.client
from collections.abc import Iterator

import pytest
from alembic import command
from prometheus_client.parser import text_string_to_metric_families

from scheduler.cli import alembic_config
from tests.e2e.gunicorn import HOST, Served, serve

REQUESTS = 40


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    directory = tmp_path_factory.mktemp("metrics")
    url = f"sqlite:///{directory / 'scheduler.sqlite3'}"
    command.upgrade(alembic_config(url), "head")
    with serve(url, directory, workers=2) as served:
        yield served


def get(served: Served, path: str) -> tuple[int, str]:
    connection = http.client.HTTPConnection(HOST, served.port, timeout=10)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read().decode()
    finally:
        connection.close()


def healthz_count(text: str) -> float:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "scheduler_http_requests_total" and sample.labels == {
                "method": "GET",
                "route": "/healthz",
                "status": "200",
            }:
                return sample.value
    return 0.0


def test_every_worker_s_requests_are_in_each_scrape(server: Served) -> None:
    """Two workers share the 40 requests; whichever answers a scrape counts all 40."""
    for _ in range(REQUESTS):
        status, _body = get(server, "/healthz")
        assert status == 200
    for _ in range(6):  # several scrapes, answered by either worker
        status, text = get(server, "/metrics")
        assert status == 200, server.log_tail()
        assert healthz_count(text) == REQUESTS
