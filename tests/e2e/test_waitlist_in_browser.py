"""The waitlist in a real browser (SPEC §10): the scheduler puts a pathway on the list from
its page, a cancellation frees a slot, the waitlist worker offers it, the scheduler sees
the offer in flight with its countdown, the patient takes it through the e-mail's link,
and the scheduler sees the slot filled in today's backfill.

The demo clinic under gunicorn, as in test_pages_in_browser (its fixtures, a clinic of
this module's own); the worker is ``flask waitlist run --once`` on the same database.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from scheduler.pathways.models import Pathway
from scheduler.pathways.states import WAITLISTABLE, next_booking
from scheduler.patients.models import Patient
from scheduler.scheduling.models import Appointment
from scheduler.vocabulary import AppointmentKind, AppointmentStatus, OfferStatus
from scheduler.waitlist.letters import offer_token
from scheduler.waitlist.models import Offer, Vacancy
from tests.e2e import test_pages_in_browser as pages
from tests.e2e.gunicorn import PROJECT_ROOT, Served
from tests.e2e.test_pages_in_browser import DESKTOP, read, shoot, sign_in

demo = pages.demo
browser = pages.browser
screenshots = pages.screenshots

SECRET_KEY = "e2e-secret"  # the served app's (tests/e2e/gunicorn.py)
WORKER_TIMEOUT = 120


def backfill_pass(url: str, directory: Path) -> str:
    """One pass of the waitlist worker on the served database; what it said."""
    environment = {
        **os.environ,
        "SCHEDULER_DATABASE_URL": url,
        "SCHEDULER_SECRET_KEY": SECRET_KEY,
        "PYTHONDONTWRITEBYTECODE": "1",
        "TMPDIR": str(directory),
    }
    done = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "waitlist", "run", "--once"],
        cwd=PROJECT_ROOT,
        env=environment,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=WORKER_TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, done.stdout.decode() + done.stderr.decode()
    return done.stdout.decode()


def latest_ahead(url: str, kind: AppointmentKind) -> Appointment:
    """The demo's booked appointment of ``kind`` furthest ahead (beyond any notice)."""
    soon = datetime.now(UTC) + timedelta(days=1)
    booked = read(
        url,
        select(Appointment)
        .where(Appointment.status == AppointmentStatus.BOOKED)
        .where(Appointment.kind == kind)
        .order_by(Appointment.start_at.desc()),
    )
    ahead = [appointment for appointment in booked if appointment.start_at > soon]
    assert ahead, f"the demo books a {kind.value} ahead"
    return ahead[0]


def waiting_off_the_list(url: str) -> Pathway:
    """A demo pathway waiting for a block or the procedure, not on the waitlist, whose
    patient has an e-mail (offers go by e-mail)."""
    found = read(
        url,
        select(Pathway)
        .join(Patient, Patient.id == Pathway.patient_id)
        .where(Pathway.state.in_(WAITLISTABLE), ~Pathway.waitlisted)
        .where(Patient.email.is_not(None))
        .order_by(Pathway.id),
    )
    assert found, "the demo has pathways to waitlist"
    chosen: Pathway = found[0]
    return chosen


def test_the_scheduler_sees_the_offer_in_flight_and_the_slot_filled_after_the_patient_accepts(
    demo: tuple[Served, str], browser: Any, screenshots: Path, tmp_path: Path
) -> None:
    served, url = demo
    # The worker has run since the demo was seeded: what was open is offered or closed.
    assert "made" in backfill_pass(url, tmp_path)
    desk = sign_in(browser, served, "scheduler")

    # A referred pathway not yet waiting goes on the waitlist, urgent, from its page.
    chosen = waiting_off_the_list(url)
    pathway, kind = chosen.id, next_booking(chosen.state)
    assert kind is not None
    desk.goto(f"{served.base_url}/board/pathways/{pathway}")
    panel = desk.locator("section", has=desk.locator("#waitlist-title"))
    panel.get_by_label("Priority").select_option("urgent")
    panel.get_by_label("Shortest notice the patient accepts (hours)").fill("1")
    panel.get_by_label("Another clinician may do it").check()
    shoot(desk, screenshots, "waitlist-add")
    panel.get_by_role("button", name="Add to the waitlist").click()
    desk.wait_for_load_state()
    assert desk.get_by_text("On the waitlist (urgent).").is_visible()
    assert "On the waitlist since" in panel.inner_text()
    name = desk.get_by_role("heading", level=1).inner_text().split(":")[0]

    # A booked appointment of that kind, ahead, is cancelled: its time comes free.
    freed = latest_ahead(url, kind)
    desk.goto(f"{served.base_url}/board/appointments/{freed.id}/cancel")
    desk.get_by_label("Patient unwell").check()
    desk.get_by_role("button", name="Cancel the appointment").click()
    assert desk.get_by_text("Cancelled.").is_visible()

    said = backfill_pass(url, tmp_path)
    freed_slot = select(Vacancy.id).where(Vacancy.freed_appointment_id == freed.id)

    # The newcomer reopened the demo's new working hours nobody could take, and the worker
    # takes vacancies oldest first: the patient is offered that earlier time, and is busy
    # (one offer at a time) when the freed slot's turn comes.
    assert "made 1 offers" in said, said
    [first] = read(
        url, select(Offer).where(Offer.status == OfferStatus.OPEN, Offer.pathway_id == pathway)
    )
    assert first.vacancy_id not in read(url, freed_slot)
    # It does not suit them: they say so through the e-mail's link, and the next pass
    # offers them the freed slot (their decline reopened what they were passed over for).
    letter = browser.new_context(viewport=DESKTOP).new_page()
    letter.goto(f"{served.base_url}/offers/{offer_token(SECRET_KEY, first.id)}?answer=decline")
    letter.get_by_role("button", name="It does not suit me").click()
    letter.wait_for_load_state()
    assert letter.get_by_text("We will offer this time to someone else.").is_visible()
    letter.context.close()

    assert "made" in backfill_pass(url, tmp_path)
    [offer] = read(
        url,
        select(Offer).where(Offer.status == OfferStatus.OPEN, Offer.vacancy_id.in_(freed_slot)),
    )
    assert (offer.pathway_id, offer.start_at) == (pathway, freed.start_at)
    desk.goto(f"{served.base_url}/board/waitlist/")
    row = desk.locator(f"#offer-{offer.id}")
    assert name in row.inner_text()
    timer = row.get_by_role("timer")
    assert re.fullmatch(r"expires in (1 h 59|2 h 0) min", timer.inner_text()), timer.inner_text()
    assert timer.get_attribute("data-countdown") is not None
    assert desk.locator(f"#vacancy-{offer.vacancy_id}").get_by_text("Open").is_visible()
    shoot(desk, screenshots, "waitlist-offer-in-flight")
    # The script keeps the countdown moving (the browser's timers run on a fake clock).
    watch = desk.context.new_page()
    watch.clock.install()
    watch.goto(f"{served.base_url}/board/waitlist/")
    moving = watch.locator(f"#offer-{offer.id}").get_by_role("timer")
    watch.clock.run_for(3601 * 1000)
    assert re.fullmatch(r"expires in \d{1,2} min", moving.inner_text()), moving.inner_text()
    watch.clock.run_for(3600 * 1000)
    assert moving.inner_text() == "Expired: the next pass offers the slot on."
    watch.close()

    # The patient takes it through the e-mail's link (no login).
    link = f"{served.base_url}/offers/{offer_token(SECRET_KEY, offer.id)}?answer=accept"
    letter = browser.new_context(viewport=DESKTOP).new_page()
    letter.goto(link)
    letter.get_by_role("button", name="Take this appointment").click()
    letter.wait_for_load_state()
    assert letter.get_by_role("heading", name="It is booked").is_visible()

    desk.reload()
    assert desk.locator(f"#offer-{offer.id}").count() == 0
    outcome = desk.locator(f"#vacancy-{offer.vacancy_id}")
    [booked] = read(
        url,
        select(Appointment)
        .where(Appointment.pathway_id == pathway)
        .where(Appointment.status == AppointmentStatus.BOOKED),
    )
    minutes = int((booked.end_at - booked.start_at).total_seconds() // 60)
    cells = outcome.locator("td").all_inner_texts()
    assert cells[0].startswith("Cancelled")
    assert cells[2].startswith("Filled: booked")
    assert cells[3:7] == ["1", "0", "0", str(minutes)]
    assert booked.start_at == freed.start_at
    shoot(desk, screenshots, "waitlist-filled")
