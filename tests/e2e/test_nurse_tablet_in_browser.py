"""The nurse at the recovery bay on a tablet, and a surgeon's busy day on paper, in a real
browser (issue 18, points 6, 9, 11 and 12).

The demo clinic of tests/e2e/test_pages_in_browser.py, its fixtures and helpers; busy
days are added to its database as copies of the demo's own appointments.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select

from scheduler.db import make_engine, make_sessionmaker
from scheduler.scheduling.models import Appointment
from scheduler.vocabulary import AppointmentKind, AppointmentStatus
from tests.e2e.gunicorn import Served
from tests.e2e.test_pages_in_browser import (
    DESKTOP,
    ZONE,
    assert_accessible,
    browser,
    demo,
    pages_in,
    procedure_day,
    screenshots,
    shoot,
    sign_in,
)

__all__ = ["browser", "demo", "screenshots"]  # fixtures, used by name

TABLET = {"width": 820, "height": 1180}
TAP = 44  # px: the smallest comfortable tap target (WCAG 2.5.5, Apple HIG)


def too_small(page: Any, selector: str) -> list[str]:
    """The visible elements of ``selector`` less than a tap target high or wide."""
    small = []
    for element in page.locator(selector).all():
        box = element.bounding_box()
        if element.is_visible() and box and (box["height"] < TAP or box["width"] < TAP):
            small.append(f"{selector} {element.inner_text()[:30]!r} {box}")
    return small


def in_view(page: Any, selector: str) -> bool:
    """Whether the top of ``selector`` is inside the viewport as it is scrolled now."""
    box = page.locator(selector).bounding_box()
    height = page.viewport_size["height"]
    return box is not None and 0 <= box["y"] < height


def test_the_nurse_scores_and_discharges_at_the_bay_on_a_tablet(
    demo: tuple[Served, str], browser: Any, screenshots: Path
) -> None:
    served, url = demo
    page = sign_in(browser, served, "nurse")
    assert page.url.endswith("/nurse/")  # the nurse's home: the nurse's day
    page.set_viewport_size(TABLET)
    page.goto(f"{served.base_url}/nurse/?date={procedure_day(url)}")
    row = page.locator("tbody tr", has_text="In recovery").first
    assert row.locator(".bedside-state").inner_text() == "In recovery"
    assert "Bay: " in row.inner_text()
    assert re.search(r"In recovery \d+ h \d\d min", row.inner_text())
    assert not too_small(page, "table.arrivals td a")
    row.get_by_role("link").first.click()
    page.wait_for_load_state()
    assert page.locator("a.back").inner_text() == "← Nurse day"
    page.screenshot(path=str(screenshots / "nurse-case-tablet.png"), full_page=True)

    # Tap targets: every choice, tick box and button of the bedside forms.
    for selector in (
        ".score-item .choice label",
        ".score-item .choice",
        ".nurse-form .check label",
        ".bedside button",
    ):
        assert not too_small(page, selector), too_small(page, selector)

    # The patient stays named while the nurse scrolls down the long page.
    page.evaluate("window.scrollBy(0, 2400)")
    assert page.evaluate("window.scrollY") > 1000
    banner = page.locator(".patient-banner")
    box = banner.bounding_box()
    assert box is not None
    assert abs(box["y"]) < 2
    assert "MRN" in banner.inner_text()
    assert "Born" in banner.inner_text()

    # A refusal shows at the top of the page, where it opens, with a way to the form.
    page.get_by_role("button", name="Discharge home").click()
    page.wait_for_load_state()
    problem = page.locator(".problem")
    assert problem.count() == 1
    assert page.evaluate("window.scrollY") == 0
    assert in_view(page, ".problem")
    assert "Cannot discharge the patient:" in problem.inner_text()
    assert_accessible(page, "nurse-refusal-tablet")
    page.screenshot(path=str(screenshots / "nurse-refusal-tablet.png"))
    problem.get_by_role("link", name="Go to the form to correct it").click()
    assert page.url.endswith("#discharge")

    # Saving a score goes on to the next step, not back to the top.
    aldrete = page.locator("form.score-form", has_text="Record Modified Aldrete score")
    for radio in aldrete.locator("input[type=radio][value='2']").all():
        radio.locator("xpath=following-sibling::label").click()  # the big label is the target
    aldrete.get_by_role("button", name="Record Modified Aldrete score").click()
    page.wait_for_url(re.compile(r"#score-padss$"))
    assert page.evaluate("window.scrollY") > 0
    assert in_view(page, "#score-padss")
    assert page.get_by_text("Modified Aldrete score recorded.").count() == 1

    # The same score again, observed now: one tap.
    again = aldrete.get_by_role("button", name="Same as last (10 of 10)")
    with page.expect_navigation():
        again.click()
    assert page.url.endswith("#score-padss")
    assert page.locator("table.scores tbody tr", has_text="Modified Aldrete").count() >= 2

    padss = page.locator("form.score-form", has_text="Record PADSS score")
    for radio in padss.locator("input[type=radio][value='2']").all():
        radio.check()
    padss.get_by_role("button", name="Record PADSS score").click()
    page.wait_for_url(re.compile(r"/nurse/appointments/\d+#discharge$"))
    assert in_view(page, "#discharge")
    shoot(page, screenshots, "nurse-case-scored")

    page.set_viewport_size(TABLET)
    page.get_by_label("Escort present to take the patient home").check()
    page.get_by_label("Written discharge instructions given").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Discharge home").click()
    assert page.get_by_text("Discharged home at").is_visible()

    # The nurse's day: discharged, not a green "Ready".
    page.locator("a.back").click()
    page.wait_for_load_state()
    done = page.locator("tbody tr", has_text="Discharged").first
    assert "Recovery took" in done.inner_text()
    assert "Ready" not in done.inner_text()
    shoot(page, screenshots, "nurse-day-states")


# ---------------------------------------------------------------------------------------
# A surgeon's busy day on screen and on paper


def busy_day(url: str, clinician_id: int, day: date, cases: int) -> None:
    """``cases`` appointments of the clinician on ``day``, one after another from 06:00,
    copied from the demo's own: a full day has a procedure every fourth case, blocks
    otherwise; a longer one (more than 20) has blocks only, back to back."""
    engine = make_engine(url)
    try:
        with make_sessionmaker(engine)() as session:
            models = {
                kind: session.scalars(
                    select(Appointment).where(Appointment.kind == kind).limit(1)
                ).one()
                for kind in (AppointmentKind.PROCEDURE, AppointmentKind.DIAGNOSTIC_BLOCK)
            }
            start = datetime.combine(day, time(6), ZONE)
            gap = timedelta(minutes=0 if cases > 20 else 10)
            columns = [c.key for c in Appointment.__table__.columns if c.key != "id"]
            for number in range(cases):
                procedure = cases <= 20 and number % 4 == 1
                model = models[
                    AppointmentKind.PROCEDURE if procedure else AppointmentKind.DIAGNOSTIC_BLOCK
                ]
                length = timedelta(minutes=90 if procedure else 30)
                row = {name: getattr(model, name) for name in columns}
                row |= {
                    "clinician_id": clinician_id,
                    "status": AppointmentStatus.BOOKED,
                    "start_at": start,
                    "end_at": start + length,
                    "ical_uid": f"busy-{day.isoformat()}-{number}@example.org",
                    "version": 1,
                }
                session.execute(insert(Appointment).values(**row))
                start += length + gap
            session.commit()
    finally:
        engine.dispose()


def test_a_busy_day_prints_on_one_page_and_a_longer_one_repeats_its_header(
    demo: tuple[Served, str], browser: Any, screenshots: Path
) -> None:
    served, url = demo
    page = sign_in(browser, served, "clinician")
    found = re.search(r"/clinicians/(\d+)/", page.url)
    assert found is not None
    clinician = int(found.group(1))
    today = datetime.now(UTC).astimezone(ZONE).date()
    full, long = today + timedelta(days=60), today + timedelta(days=61)
    busy_day(url, clinician, full, 14)
    busy_day(url, clinician, long, 30)

    # The date picker and the labelled, clickable timeline.
    page.get_by_label("Go to day").fill(full.isoformat())
    page.get_by_role("button", name="Go", exact=True).click()
    page.wait_for_url(f"**/days/{full.isoformat()}")
    assert page.locator("table.cases tbody tr").count() == 14
    bars = page.locator("svg a.bar")
    assert bars.count() == 14
    assert re.match(r"06:00 .+ · block", bars.first.locator("text").text_content() or "")
    shoot(page, screenshots, "daily-list-busy")

    page.emulate_media(media="print")
    head = page.locator("tr.print-head")
    assert head.is_visible()
    assert full.strftime("%A %d %B %Y") in head.inner_text()
    assert "Printed " in head.inner_text()
    for paper in ("Letter", "A4"):
        pdf = page.pdf(format=paper)
        assert pages_in(pdf) == 1, f"14 cases take {pages_in(pdf)} {paper} pages"
    (screenshots / "daily-list-busy.pdf").write_bytes(page.pdf(format="A4"))

    page.emulate_media(media="screen")
    page.goto(page.url.replace(full.isoformat(), long.isoformat()))
    page.emulate_media(media="print")
    pdf = page.pdf(format="A4")
    (screenshots / "daily-list-long.pdf").write_bytes(pdf)
    assert pages_in(pdf) >= 2
    # Chromium repeats a table-header-group on every printed page: the clinician and date.
    assert page.evaluate(
        "getComputedStyle(document.querySelector('table.cases thead')).display"
    ) == ("table-header-group")
    assert long.strftime("%A %d %B %Y") in page.locator("thead tr.print-head").inner_text()

    page.emulate_media(media="screen")
    page.set_viewport_size(DESKTOP)
    page.go_back()
    page.wait_for_url(f"**/days/{full.isoformat()}")
    page.locator("svg a.bar").nth(1).locator("rect").click()  # a procedure's bar
    page.wait_for_load_state()
    assert "/nurse/appointments/" in page.url
    assert page.locator("a.back").inner_text() == "← Daily list"
    page.locator("a.back").click()
    page.wait_for_url(f"**/days/{full.isoformat()}")
