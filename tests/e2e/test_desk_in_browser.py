"""The scheduling desk in a real browser: a week of slots, booking once however often
"Confirm" is clicked, moving through search-hold-confirm, cancelling with a reason.

The demo clinic under gunicorn, as in test_pages_in_browser (its fixtures); screenshots
at desktop, tablet and phone widths, and axe-core on each page.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from scheduler.scheduling.models import Appointment
from scheduler.vocabulary import AppointmentKind, AppointmentStatus
from tests.e2e import test_pages_in_browser as pages
from tests.e2e.gunicorn import Served
from tests.e2e.test_pages_in_browser import ZONE, assert_accessible, read, shoot, sign_in

# The demo clinic under gunicorn, the browser and the screenshot folder of the pages' test.
demo = pages.demo
browser = pages.browser
screenshots = pages.screenshots

TABLET = {"width": 820, "height": 1180}


def shoot_tablet(page: Any, folder: Path, name: str) -> None:
    shoot(page, folder, name)
    page.set_viewport_size(TABLET)
    page.screenshot(path=str(folder / f"{name}-tablet.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})


def appointments_of(url: str, pathway_id: int) -> list[Appointment]:
    return read(
        url,
        select(Appointment)
        .where(Appointment.pathway_id == pathway_id)
        .where(Appointment.status == AppointmentStatus.BOOKED),
    )


def pathway_id_of(page: Any) -> int:
    found = re.search(r"/board/pathways/(\d+)", page.url)
    assert found is not None, page.url
    return int(found.group(1))


def test_the_week_pages_forward_and_double_confirm_books_once(
    demo: tuple[Served, str], browser: Any, screenshots: Path
) -> None:
    served, url = demo
    page = sign_in(browser, served, "scheduler")
    queue = page.locator("section.queue", has_text="Eligible: book the procedure")
    queue.locator("li a").first.click()
    pathway = pathway_id_of(page)
    before = len(appointments_of(url, pathway))
    page.get_by_label("Appointment", exact=True).select_option("procedure")
    page.get_by_role("button", name="Find slots").click()

    first_day = page.locator("section.week-day h2").first.get_attribute("id")
    assert page.locator("section.week-day").count() == 7
    page.get_by_role("link", name="Later week →").click()
    later_day = page.locator("section.week-day h2").first.get_attribute("id")
    assert first_day is not None
    assert later_day is not None
    assert datetime.fromisoformat(later_day[4:]) - datetime.fromisoformat(first_day[4:]) == (
        timedelta(days=7)
    )
    page.get_by_label("Time of day").select_option("afternoon")
    page.get_by_role("button", name="Show").click()
    times = page.locator("span.slot-time").all_inner_texts()
    assert times
    assert all(int(t[:2]) >= 12 for t in times)
    shoot_tablet(page, screenshots, "desk-week")

    page.locator("button.slot").first.click()
    assert page.get_by_role("timer").is_visible()
    shoot_tablet(page, screenshots, "desk-confirm")
    with page.expect_navigation():
        page.get_by_role("button", name="Confirm booking").dblclick()

    assert page.get_by_text("Booked.").is_visible()
    assert len(appointments_of(url, pathway)) == before + 1
    assert re.search(r"#appointment-\d+$", page.url)
    # Back to the confirmation: the slot is the patient's, not an expired hold.
    page.go_back(wait_until="load")
    assert page.get_by_text("Already booked").is_visible()
    assert len(appointments_of(url, pathway)) == before + 1


def test_move_keeps_the_old_time_until_confirmed(
    demo: tuple[Served, str], browser: Any, screenshots: Path
) -> None:
    served, url = demo
    soon = datetime.now(UTC) + timedelta(days=1)
    booked = [
        a
        for a in read(
            url,
            select(Appointment)
            .where(Appointment.status == AppointmentStatus.BOOKED)
            .where(Appointment.kind == AppointmentKind.DIAGNOSTIC_BLOCK)
            .order_by(Appointment.start_at),
        )
        if a.start_at > soon
    ]
    assert booked, "the demo books blocks ahead"
    old = booked[0]
    page = sign_in(browser, served, "scheduler")
    page.goto(f"{served.base_url}/board/pathways/{old.pathway_id}")
    row = page.locator(f"#appointment-{old.id}")
    row.get_by_role("link", name="Move…").click()
    assert page.get_by_text("It keeps that time until you confirm a new one.").is_visible()
    shoot_tablet(page, screenshots, "desk-move")
    page.get_by_role("link", name="Later week →").click()
    page.locator("button.slot").first.click()
    assert page.get_by_role("button", name="Confirm the move").is_visible()
    assert (
        page.locator("del")
        .inner_text()
        .startswith(old.start_at.astimezone(ZONE).strftime("%A %d %B %Y, %H:%M"))
    )
    [still] = [a for a in appointments_of(url, old.pathway_id) if a.id == old.id]
    assert still.start_at == old.start_at

    with page.expect_navigation():
        page.get_by_role("button", name="Confirm the move").click()

    assert page.get_by_text("Moved from").is_visible()
    [moved] = [a for a in appointments_of(url, old.pathway_id) if a.id == old.id]
    assert moved.start_at > old.start_at
    timeline = page.locator("ol.timeline li").last.inner_text()
    assert "from " + old.start_at.astimezone(ZONE).strftime("%a %d %b %H:%M") in timeline
    assert "to " + moved.start_at.astimezone(ZONE).strftime("%a %d %b %H:%M") in timeline


def test_cancel_asks_for_a_reason_before_cancelling(
    demo: tuple[Served, str], browser: Any, screenshots: Path
) -> None:
    served, url = demo
    soon = datetime.now(UTC) + timedelta(days=1)
    upcoming = [
        a
        for a in read(
            url,
            select(Appointment)
            .where(Appointment.status == AppointmentStatus.BOOKED)
            .order_by(Appointment.start_at.desc()),
        )
        if a.start_at > soon
    ]
    target = upcoming[0]
    page = sign_in(browser, served, "scheduler")
    page.goto(f"{served.base_url}/board/pathways/{target.pathway_id}")
    page.locator(f"#appointment-{target.id}").get_by_role("link", name="Cancel…").click()
    assert page.get_by_role("heading", name=re.compile("^Cancel the ")).is_visible()
    shoot_tablet(page, screenshots, "desk-cancel")

    page.get_by_label("Other", exact=True).check()
    page.get_by_role("button", name="Cancel the appointment").click()
    assert page.locator(".problem").is_visible()  # "Other" needs its words
    assert_accessible(page, "desk-cancel-refused")
    page.get_by_label("Patient unwell").check()
    page.get_by_role("button", name="Cancel the appointment").click()

    assert page.get_by_text("Cancelled.").is_visible()
    [cancelled] = read(url, select(Appointment).where(Appointment.id == target.id))
    assert cancelled.status is AppointmentStatus.CANCELLED
    assert cancelled.cancel_reason == "Patient unwell"
