"""The pages in a real browser: Debian's chromium driven by Playwright, against gunicorn.

The demo clinic is seeded into a fresh SQLite database; people sign in through the form
and use the pages as they would. Screenshots of each page at desktop and phone widths go
to ``SCHEDULER_SCREENSHOTS`` when it names a folder, else to a temp folder (printed).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from alembic import command
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import sync_playwright
from sqlalchemy import Select, select

from scheduler import demo as demo_module
from scheduler.cli import alembic_config
from scheduler.db import make_engine, make_sessionmaker
from scheduler.demo import seed_demo
from scheduler.scheduling.models import Appointment
from scheduler.vocabulary import AppointmentKind, AppointmentStatus
from tests.e2e.gunicorn import Served, serve

AXE = Axe()

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
DEMO = "demo.example.org"
ZONE = ZoneInfo("America/New_York")
OWN = re.compile(r"^/me/appointments/(\d+)$")


def demo_database(directory: Path, now: datetime) -> str:
    """A migrated SQLite database in ``directory`` with the demo clinic seeded at ``now``."""
    url = f"sqlite:///{directory / 'scheduler.sqlite3'}"
    command.upgrade(alembic_config(url), "head")
    engine = make_engine(url)
    try:
        with make_sessionmaker(engine)() as session:
            seed_demo(session, now)
            session.commit()
    finally:
        engine.dispose()
    return url


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Served, str]]:
    directory = tmp_path_factory.mktemp("browser")
    url = demo_database(directory, datetime.now(UTC))
    with serve(url, directory) as served:
        yield served, url


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    named = os.environ.get("SCHEDULER_SCREENSHOTS")
    folder = Path(named) if named else tmp_path_factory.mktemp("screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    print(f"screenshots in {folder}")
    return folder


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `apt-get install -y chromium` (make test does)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def sign_in(
    browser: object, served: Served, role: str, *, email: str | None = None, **context: object
) -> object:
    page = browser.new_context(viewport=DESKTOP, **context).new_page()  # type: ignore[attr-defined]
    page.goto(f"{served.base_url}/signin")
    page.get_by_label("E-mail").fill(email or f"{role}@{DEMO}")
    page.get_by_label("Password").fill(f"demo-{role}-pass")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    return page


def shoot(page: object, folder: Path, name: str) -> None:
    """Screenshots at desktop and phone widths, and an accessibility check (axe-core)."""
    assert_accessible(page, name)
    for label, size in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(size)  # type: ignore[attr-defined]
        page.screenshot(path=str(folder / f"{name}-{label}.png"), full_page=True)  # type: ignore[attr-defined]
    page.set_viewport_size(DESKTOP)  # type: ignore[attr-defined]


def assert_accessible(page: object, name: str) -> None:
    """No serious or critical axe-core violation on the page as it is now."""
    violations = AXE.run(page).response["violations"]
    bad = [v for v in violations if v.get("impact") in ("serious", "critical")]
    assert not bad, f"{name}: " + "; ".join(
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in bad
    )


def read(url: str, statement: Select[tuple[Any]]) -> list[Any]:
    """What a statement reads from the served database, through an engine of its own."""
    engine = make_engine(url)
    try:
        with make_sessionmaker(engine)() as session:
            return list(session.scalars(statement))
    finally:
        engine.dispose()


def procedure_day(url: str) -> str:
    """The site-local date of the demo's procedure day (today or the last afternoon)."""
    starts = read(
        url,
        select(Appointment.start_at)
        .where(Appointment.kind == AppointmentKind.PROCEDURE)
        .where(Appointment.status == AppointmentStatus.BOOKED)
        .order_by(Appointment.start_at),
    )
    now = datetime.now(UTC)
    started = [start for start in starts if start <= now] or starts
    return started[-1].astimezone(ZONE).date().isoformat()


def first_block(url: str) -> int:
    """A diagnostic block of the demo, for its visit page."""
    blocks = read(
        url,
        select(Appointment.id)
        .where(Appointment.kind == AppointmentKind.DIAGNOSTIC_BLOCK)
        .order_by(Appointment.id),
    )
    return int(blocks[0])


def pages_in(pdf: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page(?![A-Za-z])", pdf))


def test_the_surgeon_signs_in_and_reads_the_days_list_on_screen_and_on_paper(
    demo: tuple[Served, str], browser: object, screenshots: Path
) -> None:
    served, url = demo
    page = sign_in(browser, served, "clinician")
    assert "/clinicians/" in page.url  # type: ignore[attr-defined]
    day = procedure_day(url)
    clinician_path = page.url.rsplit("/", 1)[0]  # type: ignore[attr-defined]
    page.goto(f"{clinician_path.rsplit('/days', 1)[0]}/days/{day}")  # type: ignore[attr-defined]

    table = page.locator("table.cases")  # type: ignore[attr-defined]
    assert table.is_visible()
    assert "Times in America/New_York" in page.content()  # type: ignore[attr-defined]
    assert page.locator("table.cases tbody tr").count() >= 2  # type: ignore[attr-defined]
    assert page.get_by_text("Procedure", exact=True).first.is_visible()  # type: ignore[attr-defined]
    shoot(page, screenshots, "daily-list")

    page.goto(f"{served.base_url}/cases/{first_block(url)}")  # type: ignore[attr-defined]
    assert page.get_by_role("heading", level=1).inner_text().startswith("Diagnostic block")  # type: ignore[attr-defined]
    shoot(page, screenshots, "visit")
    page.go_back()  # type: ignore[attr-defined]

    page.get_by_role("button", name="Make a subscription address").click()  # type: ignore[attr-defined]
    feed = page.get_by_label("Address").input_value()  # type: ignore[attr-defined]
    assert "/feeds/" in feed
    shoot(page, screenshots, "feed-address")
    page.go_back()  # type: ignore[attr-defined]
    page.reload()  # type: ignore[attr-defined]

    page.emulate_media(media="print")  # type: ignore[attr-defined]
    assert not page.locator("header.top").is_visible()  # type: ignore[attr-defined]
    assert not page.locator("nav.days").is_visible()  # type: ignore[attr-defined]
    for paper in ("Letter", "A4"):
        pdf = page.pdf(format=paper)  # type: ignore[attr-defined]
        assert pages_in(pdf) == 1, f"the day takes {pages_in(pdf)} {paper} pages"


def test_the_patient_sees_only_their_appointments_and_downloads_the_invite(
    demo: tuple[Served, str], browser: object, screenshots: Path, tmp_path: Path
) -> None:
    served, _url = demo
    page = sign_in(browser, served, "patient", accept_downloads=True)
    assert page.url.endswith("/me")  # type: ignore[attr-defined]
    assert page.get_by_role("heading", name="Your appointments").is_visible()  # type: ignore[attr-defined]
    shoot(page, screenshots, "patient")

    with page.expect_download() as download_info:  # type: ignore[attr-defined]
        page.get_by_role("link", name="Add to calendar (Apple, Outlook desktop)").first.click()  # type: ignore[attr-defined]
    saved = tmp_path / "invite.ics"
    download_info.value.save_as(saved)
    invite = saved.read_bytes()
    assert invite.startswith(b"BEGIN:VCALENDAR")
    assert b"METHOD:REQUEST" in invite

    hrefs = page.locator("a[href^='/me/appointments/']").evaluate_all(  # type: ignore[attr-defined]
        "links => links.map(link => link.getAttribute('href'))"
    )
    mine = {int(found.group(1)) for href in hrefs if (found := OWN.match(href))}
    assert mine
    page.goto(f"{served.base_url}/me/appointments/{min(mine)}")  # type: ignore[attr-defined]
    shoot(page, screenshots, "patient-appointment")
    other = next(n for n in range(1, 500) if n not in mine)
    page.goto(f"{served.base_url}/me/appointments/{other}")  # type: ignore[attr-defined]
    assert page.get_by_role("heading", name="Not yours to see").is_visible()  # type: ignore[attr-defined]
    shoot(page, screenshots, "forbidden")
    assert "Your appointments" not in page.title()  # type: ignore[attr-defined]


def test_the_sign_in_page_is_usable_with_the_keyboard(
    demo: tuple[Served, str], browser: object, screenshots: Path
) -> None:
    served, _url = demo
    page = browser.new_context(viewport=DESKTOP).new_page()  # type: ignore[attr-defined]
    page.goto(f"{served.base_url}/signin")
    shoot(page, screenshots, "signin")
    for _ in range(6):  # the skip link and the header's link come first
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "email":
            break
    page.keyboard.type(f"nurse@{DEMO}")
    page.keyboard.press("Tab")
    page.keyboard.type("demo-nurse-pass")
    page.keyboard.press("Enter")
    page.wait_for_url("**/nurse/")  # the nurse's home: the day's procedure patients
    assert page.get_by_role("heading", name=re.compile(r"^Procedure patients")).is_visible()
    page.goto(f"{served.base_url}/clinicians")
    assert page.get_by_role("heading", name="Daily lists").is_visible()
    shoot(page, screenshots, "daily-lists")


def test_the_scheduler_books_a_procedure_from_slot_search_and_the_surgeon_sees_it(
    demo: tuple[Served, str], browser: object, screenshots: Path
) -> None:
    served, _url = demo
    page = sign_in(browser, served, "scheduler")
    assert page.url.endswith("/board/")  # type: ignore[attr-defined]
    shoot(page, screenshots, "board")
    page.get_by_label("Find a patient (name or MRN)").fill("schm")  # type: ignore[attr-defined]
    page.get_by_role("button", name="Search").click()  # type: ignore[attr-defined]
    assert page.get_by_role("cell", name="Schmidt, David").is_visible()  # type: ignore[attr-defined]
    shoot(page, screenshots, "patients")
    page.goto(f"{served.base_url}/board/")  # type: ignore[attr-defined]
    queue = page.locator("section.queue", has_text="Eligible: book the procedure")  # type: ignore[attr-defined]
    patient = queue.locator("li a").first
    family = patient.inner_text().split(",")[0]
    patient.click()
    assert page.get_by_text("Procedure eligibility today: met").is_visible()  # type: ignore[attr-defined]
    surgeon_name = page.locator("dt:has-text('Clinician') + dd").inner_text()  # type: ignore[attr-defined]
    shoot(page, screenshots, "pathway")

    page.get_by_label("Appointment", exact=True).select_option("procedure")  # type: ignore[attr-defined]
    page.get_by_role("button", name="Find slots").click()  # type: ignore[attr-defined]
    shoot(page, screenshots, "slots")
    page.locator("button.slot").first.click()  # type: ignore[attr-defined]
    assert page.get_by_role("timer").is_visible()  # type: ignore[attr-defined]
    when = page.locator("dt:has-text('When') + dd").inner_text()  # type: ignore[attr-defined]
    shoot(page, screenshots, "hold")
    page.get_by_role("button", name="Confirm booking").click()  # type: ignore[attr-defined]
    assert page.get_by_text("Booked.").is_visible()  # type: ignore[attr-defined]
    assert page.get_by_text("Procedure scheduled", exact=True).is_visible()  # type: ignore[attr-defined]

    # The demo's first surgeon signs in as clinician@, the second as becker@.
    login = "becker" if "Becker" in surgeon_name else "clinician"
    surgeon = sign_in(browser, served, "clinician", email=f"{login}@{DEMO}")
    day = datetime.strptime(when.split(",")[0], "%A %d %B %Y").replace(tzinfo=ZONE).date()
    base = surgeon.url.rsplit("/days/", 1)[0]  # type: ignore[attr-defined]
    surgeon.goto(f"{base}/days/{day.isoformat()}")  # type: ignore[attr-defined]
    row = surgeon.locator("table.cases tbody tr", has_text=family)  # type: ignore[attr-defined]
    assert row.count() == 1
    assert "Procedure" in row.inner_text()


def test_the_nurse_scores_recovery_with_live_totals_and_discharges_the_patient(
    demo: tuple[Served, str], browser: object, screenshots: Path
) -> None:
    served, url = demo
    page = sign_in(browser, served, "nurse")
    page.goto(f"{served.base_url}/nurse/?date={procedure_day(url)}")  # type: ignore[attr-defined]
    shoot(page, screenshots, "nurse-day")
    row = page.locator("tbody tr", has_text="In recovery")  # type: ignore[attr-defined]
    row.get_by_role("link").first.click()
    page.wait_for_load_state()  # type: ignore[attr-defined]
    shoot(page, screenshots, "nurse-case")

    for scale in ("Modified Aldrete", "PADSS"):
        form = page.locator("form.score-form", has_text=f"Record {scale} score")  # type: ignore[attr-defined]
        total = form.locator("output[data-score-total]")
        for radio in form.locator("input[type=radio][value='2']").all():
            radio.check()
        assert total.inner_text() == "10"  # computed in the page, before anything is sent
        form.get_by_role("button", name=f"Record {scale} score").click()
        page.wait_for_load_state()  # type: ignore[attr-defined]

    page.get_by_label("Escort present to take the patient home").check()  # type: ignore[attr-defined]
    page.get_by_label("Written discharge instructions given").check()  # type: ignore[attr-defined]
    page.get_by_role("button", name="Discharge home").click()  # type: ignore[attr-defined]
    page.wait_for_load_state()  # type: ignore[attr-defined]
    assert page.get_by_text("Discharged home at").is_visible()  # type: ignore[attr-defined]


def test_the_admin_pages_show_the_demo_clinic(
    demo: tuple[Served, str], browser: object, screenshots: Path
) -> None:
    served, _url = demo
    page = sign_in(browser, served, "admin")
    for path, name, heading in (
        ("/admin/", "admin", "Admin"),
        ("/admin/users", "admin-users", "Users and roles"),
        ("/admin/facilities", "admin-facilities", "Sites, rooms, equipment and recovery bays"),
        ("/admin/clinicians", "admin-clinicians", "Clinicians"),
        ("/admin/policies", "admin-policies", "Policies"),
    ):
        page.goto(f"{served.base_url}{path}")  # type: ignore[attr-defined]
        assert page.get_by_role("heading", name=heading, exact=True).is_visible()  # type: ignore[attr-defined]
        shoot(page, screenshots, name)
    page.get_by_role("link").filter(has_text="medicare").first.click()  # type: ignore[attr-defined]
    shoot(page, screenshots, "admin-policy")
    page.goto(f"{served.base_url}/admin/clinicians")  # type: ignore[attr-defined]
    page.locator("main li a").first.click()  # type: ignore[attr-defined]
    assert page.get_by_role(
        "heading", name="Weekly hours (site-local wall-clock times)"
    ).is_visible()  # type: ignore[attr-defined]
    shoot(page, screenshots, "admin-clinician")


@pytest.fixture(scope="module")
def arrival(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The demo as seeded five days ago: the procedure it booked five days ahead is today,
    whatever the time of day the test runs (check-in is on the procedure's date). The demo
    clinic works Monday to Friday; this one also works weekends, so that someone arrives
    whatever the weekday the test runs on."""
    today = datetime.now(UTC).astimezone(ZONE).date()
    directory = tmp_path_factory.mktemp("arrival")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(demo_module, "CLINIC_DAYS", range(7))
        url = demo_database(directory, datetime.combine(today - timedelta(days=5), time(12), ZONE))
    with serve(url, directory) as served:
        yield served


def test_the_nurse_checks_in_todays_patient_through_the_form(
    arrival: Served, browser: object, screenshots: Path
) -> None:
    page = sign_in(browser, arrival, "nurse")
    today = datetime.now(UTC).astimezone(ZONE).date().isoformat()
    page.goto(f"{arrival.base_url}/nurse/?date={today}")  # type: ignore[attr-defined]
    row = page.locator("tbody tr", has_text="Procedure scheduled")  # type: ignore[attr-defined]
    row.get_by_role("link").first.click()
    page.wait_for_load_state()  # type: ignore[attr-defined]
    shoot(page, screenshots, "nurse-check-in")

    page.get_by_label("Consent signed").check()  # type: ignore[attr-defined]
    page.get_by_label("Escort name").fill("Sam Rivera")  # type: ignore[attr-defined]
    page.get_by_label("Escort phone").fill("+1 555 0142")  # type: ignore[attr-defined]
    page.get_by_label("Fasting confirmed").check()  # type: ignore[attr-defined]
    page.get_by_label("Anticoagulation reviewed").check()  # type: ignore[attr-defined]
    page.get_by_label("Anticoagulant status").select_option("not_anticoagulated")  # type: ignore[attr-defined]
    page.get_by_role("button", name="Check in").click()  # type: ignore[attr-defined]
    page.wait_for_load_state()  # type: ignore[attr-defined]

    assert page.get_by_text("Sam Rivera · +1 555 0142").is_visible()  # type: ignore[attr-defined]
    assert page.locator("dt:has-text('Pathway') + dd").inner_text() == "Checked in"  # type: ignore[attr-defined]
