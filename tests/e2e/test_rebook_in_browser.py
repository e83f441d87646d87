"""Time off over booked demo cases, in a real browser: the admin sees the patients it
would strand, confirms, and the desk's Rebook queue and the daily list show them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from scheduler.clinicians.models import Clinician
from scheduler.patients.models import Patient
from scheduler.scheduling.models import Appointment
from scheduler.vocabulary import AppointmentStatus
from tests.e2e import test_pages_in_browser as pages
from tests.e2e.gunicorn import Served
from tests.e2e.test_pages_in_browser import ZONE, read, shoot, sign_in

# The browser pages' fixtures (a served demo clinic, chromium, the screenshot folder),
# each module-scoped: this module gets a demo clinic of its own.
demo = pages.demo
browser = pages.browser
screenshots = pages.screenshots


def test_time_off_over_booked_cases_ends_in_the_rebook_queue_and_red_on_the_list(
    demo: tuple[Served, str], browser: object, screenshots: Path
) -> None:
    served, url = demo
    now = datetime.now(UTC)
    first = read(
        url,
        select(Appointment)
        .where(Appointment.status == AppointmentStatus.BOOKED, Appointment.start_at > now)
        .order_by(Appointment.start_at),
    )[0]
    day = first.start_at.astimezone(ZONE).date()
    midnight = datetime.combine(day, datetime.min.time(), ZONE)
    stranded = read(
        url,
        select(Patient)
        .join(Appointment, Appointment.patient_id == Patient.id)
        .where(
            Appointment.clinician_id == first.clinician_id,
            Appointment.status == AppointmentStatus.BOOKED,
            Appointment.start_at >= midnight,
            Appointment.start_at < midnight + timedelta(days=1),
        ),
    )
    (doctor,) = read(url, select(Clinician.family_name).where(Clinician.id == first.clinician_id))
    reason = f"Dr {doctor} away {day.day} {day:%b}"

    admin = sign_in(browser, served, "admin")
    admin.goto(f"{served.base_url}/admin/clinicians/{first.clinician_id}")  # type: ignore[attr-defined]
    form = admin.locator("form", has_text="Add time off")  # type: ignore[attr-defined]
    form.get_by_label("From").fill(f"{day.isoformat()}T00:00")
    form.get_by_label("Until").fill(f"{(day + timedelta(days=1)).isoformat()}T00:00")
    form.get_by_label("Reason").fill("Conference")
    form.get_by_role("button", name="Save").click()
    admin.wait_for_load_state()  # type: ignore[attr-defined]

    listed = admin.locator("table.stranded tbody")  # type: ignore[attr-defined]
    for patient in stranded:
        assert f"{patient.family_name}, {patient.given_name}" in listed.inner_text()
        assert patient.mrn in listed.inner_text()
    shoot(admin, screenshots, "time-off-confirm")
    admin.get_by_role("button", name="Save and send them to the Rebook queue").click()  # type: ignore[attr-defined]
    admin.wait_for_load_state()  # type: ignore[attr-defined]
    assert "Rebook queue" in admin.locator(".flash").first.inner_text()  # type: ignore[attr-defined]

    desk = sign_in(browser, served, "scheduler")
    desk.goto(f"{served.base_url}/board/")  # type: ignore[attr-defined]
    queue = desk.locator("section.queue", has=desk.locator("#q-rebook"))  # type: ignore[attr-defined]
    for patient in stranded:
        item = queue.locator("li", has_text=f"{patient.family_name}, {patient.given_name}")
        assert reason in item.inner_text()
    shoot(desk, screenshots, "board-rebook")

    desk.goto(f"{served.base_url}/clinicians/{first.clinician_id}/days/{day.isoformat()}")  # type: ignore[attr-defined]
    flags = desk.locator("table.cases .rag")  # type: ignore[attr-defined]
    assert flags.count() == len(stranded)
    assert all(text == f"Needs rebooking: {reason}" for text in flags.all_inner_texts())
    shoot(desk, screenshots, "daily-list-rebook")
