"""The reports page in a real browser (SPEC §11): a manager signs in, lands on the reports,
picks three months of a clinic's history, reads every chart, downloads a table as CSV,
and the page prints black on white without the form.

Debian's chromium driven by Playwright against gunicorn, as in test_pages_in_browser (its
browser and helpers); the database is this module's own: a migrated SQLite file with a
history written row by row (tests/reports_history.py) and one manager login.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy.orm import Session

from scheduler.auth.models import User
from scheduler.auth.services import hash_password
from scheduler.cli import alembic_config
from scheduler.db import make_engine, make_sessionmaker
from scheduler.reports.services import REPORTS
from scheduler.vocabulary import OfferStatus, Role, VacancySource, VacancyStatus
from tests import factories
from tests.e2e import test_pages_in_browser as pages
from tests.e2e.gunicorn import Served, serve
from tests.e2e.test_pages_in_browser import PHONE, assert_accessible, shoot, sign_in
from tests.reports_history import History, S, T, at

browser = pages.browser
screenshots = pages.screenshots

FIRST_DAY, LAST_DAY = "2025-09-01", "2025-11-30"
START = date(2025, 9, 1)
MANAGER = f"manager@{pages.DEMO}"  # signs in with "demo-manager-pass" (pages.sign_in)


def write_history(session: Session) -> None:
    """Three months of a two-room clinic: pathways referred each week, most blocked, some
    treated and followed up, one admitted, a cancellation, a no-show, freed slots."""
    factories.bind(session)
    h = History.open(session)
    for week in range(12):
        referred = (START + timedelta(weeks=week)).isoformat()
        treated = (START + timedelta(weeks=week, days=2)).isoformat()
        if week % 3 == 0:
            refused = h.pathway(at(referred), S.INELIGIBLE)
            h.block(refused, at(referred, 13), T.BLOCK_NEGATIVE)
            continue
        admitted = week == 7
        pathway = h.pathway(at(referred), S.ADMITTED if admitted else S.COMPLETED)
        h.block(pathway, at(referred, 10), T.BLOCK_POSITIVE)
        h.procedure(
            pathway,
            at(treated, 8),
            late_by=15 if week % 4 == 0 else 0,
            room=week % 2,
            complications=["temporary_pain"] if week == 4 else None,
            admitted="Urinary retention" if admitted else None,
        )
        if not admitted:
            h.follow_up(pathway, at(treated, 15), relief=40 + 5 * week)
    gone = h.pathway(at("2025-10-14"), S.CANCELLED)
    h.event(gone, T.CANCEL_PATHWAY, S.CANCELLED, at("2025-10-15"), reason="Moved away")
    h.vacancy(
        at("2025-10-20"),
        VacancySource.CANCELLED,
        VacancyStatus.FILLED,
        90,
        [OfferStatus.DECLINED, OfferStatus.ACCEPTED],
    )
    session.add(
        User(
            email=MANAGER,
            password_hash=hash_password("demo-manager-pass"),
            role=Role.MANAGER,
            active=True,
            created_at=datetime.now(UTC),
        )
    )


@pytest.fixture(scope="module")
def clinic(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    directory = tmp_path_factory.mktemp("reports")
    url = f"sqlite:///{directory / 'scheduler.sqlite3'}"
    command.upgrade(alembic_config(url), "head")
    engine = make_engine(url)
    try:
        with make_sessionmaker(engine)() as session:
            write_history(session)
            session.commit()
    finally:
        engine.dispose()
    with serve(url, directory) as served:
        yield served


def show_range(page: object) -> None:
    page.get_by_label("From", exact=True).fill(FIRST_DAY)  # type: ignore[attr-defined]
    page.get_by_label("To (inclusive)", exact=True).fill(LAST_DAY)  # type: ignore[attr-defined]
    page.get_by_role("button", name="Show reports").click()  # type: ignore[attr-defined]
    page.wait_for_load_state()  # type: ignore[attr-defined]


def test_a_manager_reads_every_chart_and_downloads_a_table(
    clinic: Served, browser: object, screenshots: Path, tmp_path: Path
) -> None:
    page = sign_in(browser, clinic, "manager", accept_downloads=True)
    assert page.url.endswith("/reports/")  # type: ignore[attr-defined]
    nav = page.get_by_role("navigation", name="Main")  # type: ignore[attr-defined]
    assert nav.get_by_role("link").all_inner_texts() == ["Reports"]

    show_range(page)

    sections = page.locator("section.report")  # type: ignore[attr-defined]
    assert sections.count() == len(REPORTS)
    drawn = {"bars": 0, "line": 0}
    for index in range(sections.count()):
        section = sections.nth(index)
        charts = section.locator("svg.chart")
        assert charts.count() >= 1, section.get_attribute("id")
        for n in range(charts.count()):
            chart = charts.nth(n)
            assert chart.get_attribute("role") == "img"
            assert chart.bounding_box()["width"] > 200
            kind = chart.get_attribute("class").split()[-1]
            if kind == "chart-bars":
                assert chart.locator("rect.chart-bar").count() >= 1
                drawn["bars"] += 1
            elif kind == "chart-line":
                assert chart.locator(".chart-point").count() >= 1
                drawn["line"] += 1
    assert drawn["bars"] >= 6
    assert drawn["line"] >= 2
    funnel = page.locator("#report-funnel svg.chart").first  # type: ignore[attr-defined]
    assert funnel.locator("rect.chart-bar").count() == 6
    weekly = page.locator("#report-rooms svg.chart-line")  # type: ignore[attr-defined]
    assert weekly.locator("polyline.chart-line").count() >= 1
    shoot(page, screenshots, "reports")

    link = page.get_by_role(  # type: ignore[attr-defined]
        "link", name="Download this table as CSV: Pathways by the furthest stage reached in order"
    )
    with page.expect_download() as download_info:  # type: ignore[attr-defined]
        link.click()
    download = download_info.value
    assert download.suggested_filename == f"funnel-stages-{FIRST_DAY}-{LAST_DAY}.csv"
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    rows = list(csv.reader(io.StringIO(saved.read_text(encoding="utf-8"))))
    assert rows[0] == ["stage", "pathways", "conversion", "of_referred"]
    referred = page.locator("#report-funnel-stages tbody tr").first  # type: ignore[attr-defined]
    assert rows[1][:2] == [
        referred.locator("th").inner_text(),
        referred.locator("td").first.inner_text(),
    ]


def test_the_reports_fit_a_phone_and_print_black_on_white(
    clinic: Served, browser: object, screenshots: Path
) -> None:
    page = sign_in(browser, clinic, "manager")
    show_range(page)

    page.set_viewport_size(PHONE)  # type: ignore[attr-defined]
    page_width = page.evaluate("document.documentElement.scrollWidth")  # type: ignore[attr-defined]
    assert page_width <= PHONE["width"]  # wide tables scroll inside their own box
    chart = page.locator("svg.chart").first  # type: ignore[attr-defined]
    assert chart.bounding_box()["width"] <= PHONE["width"]
    assert_accessible(page, "reports-phone")

    page.emulate_media(media="print")  # type: ignore[attr-defined]
    for hidden in ("header.top", "form.reports-form", "nav.reports-nav"):
        assert not page.locator(hidden).is_visible(), hidden  # type: ignore[attr-defined]
    assert page.locator("svg.chart").first.is_visible()  # type: ignore[attr-defined]
    assert page.locator("table.report-data").first.is_visible()  # type: ignore[attr-defined]
    bar = page.locator("#report-funnel rect.chart-bar").first  # type: ignore[attr-defined]
    ground = page.locator("#report-funnel pattern rect.chart-ground").first  # type: ignore[attr-defined]
    assert ground.evaluate("e => getComputedStyle(e).fill") == "rgb(85, 85, 85)"
    assert bar.evaluate("e => getComputedStyle(e).stroke") == "rgb(0, 0, 0)"
    pdf = page.pdf(format="A4")  # type: ignore[attr-defined]
    assert pdf.startswith(b"%PDF")
    page.set_viewport_size(pages.DESKTOP)  # type: ignore[attr-defined]
    page.screenshot(path=str(screenshots / "reports-print.png"), full_page=True)  # type: ignore[attr-defined]
