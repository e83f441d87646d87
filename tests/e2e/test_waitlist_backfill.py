"""The waitlist end to end (SPEC §10): a cancelled procedure is offered by e-mail to the
first waiting patient; the offer expires; the second patient accepts through the link in
the e-mail and gets the invite. Two patients accepting one slot at once get one booking.

Everything runs as in production, on a scratch PostgreSQL database beside
TEST_DATABASE_URL's: the app under gunicorn (several worker processes), ``flask outbox
run`` sending to a real SMTP server (aiosmtpd on 127.0.0.1) and ``flask waitlist run``,
each a process of its own, polling every second. The patient's side is plain HTTP with
a cookie jar, as a browser sends it: the page's GET, then its form's POST with the CSRF
token. PostgreSQL only: the offers' and vacancies' row locks are what is under test.

The clinic: one site, one fluoroscopy room with one unit of each equipment and one
recovery bay, one surgeon working every day 07:00-17:00 New York time. Three patients'
pathways are made eligible for the procedure by replaying their history through the
services (two positive blocks, weeks ago); the first one's procedure is booked three
days ahead, and the other two wait on the list.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from email.message import EmailMessage
from functools import partial
from http.cookiejar import CookieJar
from pathlib import Path
from time import monotonic, sleep
from typing import Any
from urllib.error import HTTPError
from urllib.parse import urlencode, urljoin
from urllib.request import HTTPCookieProcessor, OpenerDirector, Request, build_opener
from zoneinfo import ZoneInfo

import icalendar
import pytest
from alembic import command
from sqlalchemy import select
from sqlalchemy.orm import Session

from scheduler.access import SYSTEM
from scheduler.auth.services import create_user, issue_token
from scheduler.cli import alembic_config
from scheduler.clinical import services as records
from scheduler.db import make_engine, make_sessionmaker
from scheduler.facilities import services as facilities
from scheduler.invites.ics import clock, day
from scheduler.pathways import services as pathways
from scheduler.pathways.models import Pathway, PathwayEvent
from scheduler.pathways.referral import Referral
from scheduler.patients.services import register_patient
from scheduler.policies.booking_rules import BlockReading, Treatment
from scheduler.scheduling import booking
from scheduler.scheduling.models import Appointment, Hold
from scheduler.vocabulary import (
    AppointmentKind,
    EquipmentKind,
    Indication,
    Region,
    Role,
    Side,
    TreatmentKind,
    TreatmentOutcome,
)
from scheduler.waitlist.models import Offer, Vacancy, WaitlistEntry
from tests.e2e.gunicorn import Served, serve
from tests.e2e.seeding import DESK, one_room_clinic
from tests.mailbox import Mailbox, running_mailbox
from tests.support import scratch_postgresql_database

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
pytestmark = [
    pytest.mark.postgresql_only,
    pytest.mark.skipif(not TEST_DATABASE_URL, reason="PostgreSQL only: set TEST_DATABASE_URL"),
]

PROJECT_ROOT = Path(__file__).resolve().parents[2]
ZONE = ZoneInfo("America/New_York")
CLINIC = "Harbour Street Clinic"
SENDER = "appointments@harbour.example"
# What the offer's subject must never say: it shows in notifications and inbox lists.
CLINICAL_WORDS = (
    "procedure",
    "block",
    "neurotomy",
    "radiofrequency",
    "ablation",
    "facet",
    "lumbar",
    "spine",
    "pain",
    "injection",
)
# The patients: the first one's procedure is freed, the others wait on the list.
NAMES = ("Olga", "Pavel", "Quinn", "Rosa", "Sven")
POLL_SECONDS = "1"
WAIT = 90.0  # at most this long for a worker to do what the test waits for
STOP_TIMEOUT = 15.0


# ---------------------------------------------------------------------------------------
# The clinic, seeded through the services


@dataclass(frozen=True)
class Patient:
    name: str
    email: str
    pathway_id: int


@dataclass(frozen=True)
class Seeded:
    token: str  # a scheduler's bearer token
    freed: int  # the procedure that is cancelled
    start: datetime  # and its start: the vacancy's
    room_id: int
    waiting: tuple[Patient, ...]  # for the list, in the order they are ranked

    @property
    def first(self) -> Patient:
        return self.waiting[0]

    @property
    def second(self) -> Patient:
        return self.waiting[1]


def eligible_pathway(
    session: Session, now: datetime, clinic: tuple[Any, Any, Any], n: int, name: str
) -> Patient:
    """A patient whose pathway reached ``eligible`` weeks ago: conservative care, then two
    positive blocks a fortnight apart, each step recorded at the time it happened (at
    08:00 + n, so that the patients' blocks never share the room)."""
    site, room, surgeon = clinic
    today = now.astimezone(ZONE).date()

    def at(days: int, hh: int, mm: int = 0) -> datetime:
        return datetime.combine(today + timedelta(days=days), time(hh, mm), ZONE)

    email = f"{name.lower()}@patients.example"
    patient = register_patient(
        session,
        DESK,
        at(-70, 9),
        mrn=f"WL-{n:04d}",
        given_name=name,
        family_name="Waiting",
        birth_date=date(1955 + n, 3, 10),
        email=email,
        phone=None,
    )
    pathway = pathways.create_pathway(
        session,
        DESK,
        at(-70, 9),
        Referral(
            patient_id=patient.id,
            clinician_id=surgeon.id,
            site_id=site.id,
            indication=Indication.FACET_JOINT_SYNDROME,
            region=Region.LUMBAR,
            side=Side.RIGHT,
            levels=["L4-L5"],
            pain_onset_date=today - timedelta(days=300),
        ),
    )
    pathways.add_conservative_treatment(
        session,
        DESK,
        at(-70, 9),
        pathway.id,
        Treatment(
            TreatmentKind.PHYSICAL_THERAPY,
            start_date=today - timedelta(days=200),
            end_date=today - timedelta(days=130),
            outcome=TreatmentOutcome.PARTIAL_RELIEF,
        ),
    )
    hour = 8 + n
    for booked_on, block_day, relief_to in ((-60, -42, 1), (-41, -28, 0)):
        block = booking.book_appointment(
            session,
            DESK,
            at(booked_on, 9),
            pathway_id=pathway.id,
            kind=AppointmentKind.DIAGNOSTIC_BLOCK,
            start=at(block_day, hour),
            room_id=room.id,
            reminder_before=timedelta(hours=48),
        )
        records.record_block_result(
            session, DESK, at(block_day, hour, 45), block.id, BlockReading(8, relief_to, 6.0)
        )
    assert pathway.state.value == "eligible"
    return Patient(name, email, pathway.id)


def seed(session: Session, now: datetime) -> tuple[str, int, datetime, int, list[Patient]]:
    """The clinic, set up before the patients' histories begin (so the capacity its new
    working hours opened is long past); eligible pathways, the first one's
    procedure booked three days ahead at 10:00; a scheduler's token."""
    opened = now - timedelta(days=75)
    site, room, surgeon = one_room_clinic(
        session, opened, name=CLINIC, zone=str(ZONE), address="5 Harbour Street"
    )
    for kind in EquipmentKind:
        facilities.create_equipment(
            session, DESK, opened, site_id=site.id, name=f"{kind.value} 1", kind=kind
        )
    facilities.create_recovery_bay(session, DESK, opened, site_id=site.id, name="Bay 1")
    patients = [
        eligible_pathway(session, now, (site, room, surgeon), n, name)
        for n, name in enumerate(NAMES)
    ]
    start = datetime.combine(now.astimezone(ZONE).date() + timedelta(days=3), time(10), ZONE)
    procedure = booking.book_appointment(
        session,
        DESK,
        now,
        pathway_id=patients[0].pathway_id,
        kind=AppointmentKind.PROCEDURE,
        start=start,
        room_id=room.id,
        reminder_before=timedelta(hours=48),
    )
    user = create_user(
        session,
        SYSTEM,
        now,
        email="desk@harbour.example",
        password="waitlist-e2e-pass",
        role=Role.SCHEDULER,
    )
    token, _ = issue_token(session, user, now, timedelta(hours=2))
    return token, procedure.id, start, room.id, patients


@pytest.fixture(params=["postgresql"])
def database_url() -> Iterator[str]:
    assert TEST_DATABASE_URL
    yield from scratch_postgresql_database("waitlist")


@pytest.fixture
def seeded(database_url: str) -> Seeded:
    command.upgrade(alembic_config(database_url), "head")
    engine = make_engine(database_url)
    try:
        with make_sessionmaker(engine)() as session:
            token, freed, start, room_id, patients = seed(session, datetime.now(UTC))
            session.commit()
    finally:
        engine.dispose()
    _freed_patient, *waiting = patients
    return Seeded(token, freed, start, room_id, tuple(waiting))


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    with running_mailbox() as mailbox:
        yield mailbox


@contextmanager
def reading(database_url: str) -> Iterator[Session]:
    """A session of the test's own, to look at the tables (or, once, to let time pass)."""
    engine = make_engine(database_url)
    try:
        with make_sessionmaker(engine)() as session:
            yield session
    finally:
        engine.dispose()


# ---------------------------------------------------------------------------------------
# The processes: gunicorn, the outbox worker and the waitlist worker


@dataclass
class Running:
    served: Served
    logs: list[Path]

    def tails(self) -> str:
        parts = [self.served.log_tail()]
        for log in self.logs:
            lines = log.read_text(errors="replace").splitlines()[-40:]
            parts.append(f"{log.name} (tail):\n" + "\n".join(lines))
        return "\n\n".join(parts)

    def tracebacks(self) -> list[str]:
        return [
            log.name
            for log in (self.served.log, *self.logs)
            if "Traceback" in log.read_text(errors="replace")
        ]


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()  # the workers stop at the end of their pass
    try:
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, 9)
        process.wait()


@contextmanager
def flask_command(
    arguments: list[str], environment: dict[str, str], log: Path
) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as output:
        process = subprocess.Popen(  # noqa: S603 (our own interpreter and arguments)
            [sys.executable, "-m", "flask", "--app", "wsgi", *arguments],
            cwd=PROJECT_ROOT,
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            yield process
        finally:
            _stop(process)


@contextmanager
def clinic_running(
    database_url: str, mailbox: Mailbox, directory: Path, *, offers_at_once: int
) -> Iterator[Running]:
    """gunicorn, then the two workers with the links' base URL pointing at it."""
    settings = {
        "SCHEDULER_WAITLIST_OFFERS_AT_ONCE": str(offers_at_once),
        "SCHEDULER_WAITLIST_POLL_SECONDS": POLL_SECONDS,
        "SCHEDULER_OUTBOX_POLL_SECONDS": POLL_SECONDS,
        "SCHEDULER_MAIL_HOST": mailbox.host,
        "SCHEDULER_MAIL_PORT": str(mailbox.port),
        "SCHEDULER_MAIL_FROM": SENDER,
    }
    with serve(database_url, directory, workers=3, env=settings) as served:
        environment = {
            **os.environ,
            **settings,
            "SCHEDULER_DATABASE_URL": database_url,
            "SCHEDULER_SECRET_KEY": "e2e-secret",  # gunicorn's: the links must open there
            "SCHEDULER_PUBLIC_BASE_URL": served.base_url,
            "PYTHONDONTWRITEBYTECODE": "1",
            "TMPDIR": str(directory),
        }
        logs = [directory / "outbox.log", directory / "waitlist.log"]
        with (
            flask_command(["outbox", "run"], environment, logs[0]),
            flask_command(["waitlist", "run"], environment, logs[1]),
        ):
            yield Running(served, logs)


def until(condition: Callable[[], Any], what: str, running: Running) -> Any:
    """Poll ``condition`` until it returns something truthy (at most WAIT seconds)."""
    deadline = monotonic() + WAIT
    while not (result := condition()):
        if monotonic() > deadline:
            pytest.fail(f"waited {WAIT:.0f} s for {what}\n{running.tails()}")
        sleep(0.2)
    return result


# ---------------------------------------------------------------------------------------
# The patient's side: e-mail and the offer page


def mail_to(mailbox: Mailbox, address: str, content_type: str = "text/plain") -> list[EmailMessage]:
    """Messages to ``address`` that have a part of ``content_type``."""
    return [
        message
        for message, recipients in zip(
            list(mailbox.messages), list(mailbox.recipients), strict=True
        )
        if address in recipients
        and any(p.get_content_type() == content_type for p in message.walk())
    ]


def offers_to(mailbox: Mailbox, address: str) -> list[EmailMessage]:
    return [m for m in mail_to(mailbox, address) if "/offers/" in text_of(m)]


def text_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    content: str = part.get_content()
    return content


def links_of(message: EmailMessage) -> dict[str, str]:
    """The offer's links by answer: {"accept": url, "decline": url}."""
    found = re.findall(r"(https?://\S+/offers/\S+\?answer=(accept|decline))", text_of(message))
    return {answer: url for url, answer in found}


def calendar_of(message: EmailMessage) -> icalendar.Calendar:
    part = next(p for p in message.walk() if p.get_content_type() == "text/calendar")
    payload = part.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return icalendar.Calendar.from_ical(payload)


FORM = re.compile(r'<form method="post" action="([^"]+)"')
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Visitor:
    """A patient's browser as far as the offer page needs one: it keeps cookies, and
    sends the page's form back to the form's action with its CSRF token."""

    opener: OpenerDirector = field(
        default_factory=lambda: build_opener(HTTPCookieProcessor(CookieJar()))
    )
    action: str = ""
    csrf: str = ""

    def _open(self, request: Request) -> tuple[int, str]:
        try:
            with self.opener.open(request, timeout=60) as response:
                return int(response.status), response.read().decode()
        except HTTPError as error:
            with error:
                return error.code, error.read().decode()

    def get(self, url: str) -> tuple[int, str]:
        status, page = self._open(Request(url))  # noqa: S310 (http to our own server)
        if (form := FORM.search(page)) and (token := CSRF.search(page)):
            self.action, self.csrf = urljoin(url, form.group(1)), token.group(1)
        return status, page

    def answer(self, answer: str) -> tuple[int, str]:
        assert self.action, "no form on the page"
        body = urlencode({"csrf_token": self.csrf, "answer": answer}).encode()
        return self._open(Request(self.action, data=body, method="POST"))  # noqa: S310


def api(served: Served, token: str, method: str, path: str, body: Any = None) -> Any:
    """The scheduler's call to ``/api/v1``; fails on anything but 2xx."""
    request = Request(  # noqa: S310 (http to our own server)
        f"{served.base_url}/api/v1{path}",
        data=None if body is None else json.dumps(body).encode(),
        method=method,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    status, text = Visitor()._open(request)
    assert status < 300, (status, text)
    return json.loads(text) if text else None


def heading(page: str) -> str:
    found = re.search(r"<h1>([^<]*)</h1>", page)
    return found.group(1) if found else ""


# ---------------------------------------------------------------------------------------
# The tests


def put_on_the_list(served: Served, seeded: Seeded) -> None:
    """The first patient is urgent, the others routine: the first is offered first."""
    for n, patient in enumerate(seeded.waiting):
        priority = "urgent" if n == 0 else "routine"
        api(
            served,
            seeded.token,
            "POST",
            "/waitlist",
            {"pathway_id": patient.pathway_id, "priority": priority, "min_notice_hours": 24},
        )


def cancel_the_procedure(served: Served, seeded: Seeded) -> None:
    api(
        served,
        seeded.token,
        "POST",
        f"/appointments/{seeded.freed}/cancel",
        {"reason": "Patient travelling"},
    )


def let_the_two_hours_pass(database_url: str, offer_id: int) -> None:
    """The offer's two hours pass. Neither the app nor its workers take a clock from
    outside (WAITLIST_OFFER_MINUTES is at least 15), so the offer and its hold are
    moved back by the time they had left, and a second: as if made two hours ago."""
    with reading(database_url) as session, session.begin():
        offer = session.get_one(Offer, offer_id, with_for_update=True)
        assert offer.hold_id is not None
        hold = session.get_one(Hold, offer.hold_id, with_for_update=True)
        passed = offer.expires_at - datetime.now(UTC) + timedelta(seconds=1)
        assert passed > timedelta(minutes=100)  # the offer was made just now, for 120
        for row in (offer, hold):
            row.created_at -= passed
            row.expires_at -= passed


def triggers(session: Session, pathway_id: int) -> list[str]:
    return [
        event.trigger.value
        for event in session.scalars(
            select(PathwayEvent)
            .where(PathwayEvent.pathway_id == pathway_id)
            .order_by(PathwayEvent.id)
        )
    ]


def test_a_cancelled_procedure_goes_by_e_mail_to_the_second_patient_once_the_first_offer_expires(
    database_url: str, seeded: Seeded, mailbox: Mailbox, tmp_path: Path
) -> None:
    start_local = seeded.start.astimezone(ZONE)
    with clinic_running(database_url, mailbox, tmp_path, offers_at_once=1) as running:
        served = running.served
        put_on_the_list(served, seeded)
        cancel_the_procedure(served, seeded)

        # The first patient's offer arrives.
        first_offer = until(
            lambda: offers_to(mailbox, seeded.first.email), "the first offer", running
        )[0]
        subject = str(first_offer["Subject"]).strip()
        assert CLINIC in subject
        assert day(start_local) in subject
        assert not [word for word in CLINICAL_WORDS if word in subject.lower()], subject
        assert seeded.first.name not in subject
        body = text_of(first_offer)
        assert f"{day(start_local)} at {clock(start_local)}" in body
        first_links = links_of(first_offer)
        assert set(first_links) == {"accept", "decline"}
        assert all(url.startswith(f"{served.base_url}/offers/") for url in first_links.values())
        others = seeded.waiting[1:]
        assert [offers_to(mailbox, p.email) for p in others] == [[]] * len(others)  # one at a time

        # Its two hours pass: the waitlist worker expires it and offers the slot on.
        with reading(database_url) as session:
            (offer_id,) = session.scalars(
                select(Offer.id).where(Offer.pathway_id == seeded.first.pathway_id)
            ).all()
        let_the_two_hours_pass(database_url, offer_id)
        second_offer = until(
            lambda: offers_to(mailbox, seeded.second.email), "the second offer", running
        )[0]
        assert f"{day(start_local)} at {clock(start_local)}" in text_of(second_offer)

        # The first patient's link now says, kindly, that the time is gone.
        late = Visitor()
        status, page = late.get(first_links["accept"])
        assert (status, heading(page)) == (200, "This time is no longer available")
        assert "csrf_token" not in page  # no button to press

        # The second patient opens the accept link from the e-mail and takes it.
        patient = Visitor()
        status, page = patient.get(links_of(second_offer)["accept"])
        assert status == 200, page
        assert heading(page) == f"An earlier appointment at {CLINIC}"
        assert "Take this appointment" in page
        status, page = patient.answer("accept")
        assert (status, heading(page)) == (200, "It is booked"), page

        # The invite for that time arrives at the second patient's address.
        invite = until(
            lambda: mail_to(mailbox, seeded.second.email, "text/calendar"), "the invite", running
        )[0]
        calendar = calendar_of(invite)
        assert calendar["METHOD"] == "REQUEST"
        (event,) = calendar.walk("VEVENT")
        assert event.decoded("DTSTART") == seeded.start
        # Pressing the button again changes nothing.
        status, page = patient.answer("accept")
        assert status == 409
        assert "You have already taken it" in page
        assert running.tracebacks() == []
        # The offers' tokens open the answer page: no log line carries one.
        tokens = [
            links_of(message)["accept"].split("/offers/")[1].split("?")[0]
            for message in (first_offer, second_offer)
        ]
        logged = "".join(
            log.read_text(errors="replace") for log in (running.served.log, *running.logs)
        )
        assert "/offers/<redacted>" in logged
        assert not [token for token in tokens if token in logged]

    with reading(database_url) as session:
        booked = session.scalars(
            select(Appointment).where(
                Appointment.start_at == seeded.start, Appointment.status == "booked"
            )
        ).all()
        assert [(a.pathway_id, a.kind.value) for a in booked] == [
            (seeded.second.pathway_id, "procedure")
        ]
        vacancy = session.scalars(
            select(Vacancy).where(Vacancy.freed_appointment_id == seeded.freed)
        ).one()
        assert (vacancy.status.value, vacancy.filled_appointment_id) == ("filled", booked[0].id)
        assert (vacancy.freed_appointment_id, vacancy.start_at) == (seeded.freed, seeded.start)
        statuses = session.execute(select(Offer.pathway_id, Offer.status).order_by(Offer.id)).all()
        assert [(p, s.value) for p, s in statuses] == [
            (seeded.first.pathway_id, "expired"),
            (seeded.second.pathway_id, "accepted"),
        ]
        waiting = set(session.scalars(select(WaitlistEntry.pathway_id)))
        # The first still on the list; the second off it.
        assert waiting == {p.pathway_id for p in seeded.waiting} - {seeded.second.pathway_id}
        assert triggers(session, seeded.first.pathway_id)[-2:] == ["offer_slot", "expire_offer"]
        assert triggers(session, seeded.second.pathway_id)[-4:] == [
            "offer_slot",
            "accept_offer",
            "book_procedure",
            "leave_waitlist",
        ]
        assert session.get_one(Pathway, seeded.second.pathway_id).state.value == (
            "procedure_scheduled"
        )
        assert session.scalars(select(Hold)).all() == []


@pytest.mark.parametrize("contenders", [2, len(NAMES) - 1])
def test_patients_accepting_one_slot_at_once_get_one_booking_and_kind_refusals(
    database_url: str, seeded: Seeded, mailbox: Mailbox, tmp_path: Path, contenders: int
) -> None:
    with clinic_running(database_url, mailbox, tmp_path, offers_at_once=contenders) as running:
        served = running.served
        put_on_the_list(served, seeded)
        cancel_the_procedure(served, seeded)
        patients = seeded.waiting[:contenders]
        offers = [
            until(partial(offers_to, mailbox, p.email), f"{p.name}'s offer", running)[0]
            for p in patients
        ]
        visitors = [Visitor() for _ in patients]
        for visitor, offer in zip(visitors, offers, strict=True):
            status, page = visitor.get(links_of(offer)["accept"])
            assert (status, "Take this appointment" in page) == (200, True), page

        together = threading.Barrier(contenders)
        answers: list[tuple[int, str]] = [(0, "")] * contenders

        def accept(index: int) -> None:
            together.wait(timeout=30)
            answers[index] = visitors[index].answer("accept")

        threads = [threading.Thread(target=accept, args=(n,)) for n in range(contenders)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert not any(thread.is_alive() for thread in threads)

        outcome = sorted((status, heading(page)) for status, page in answers)
        assert outcome == [
            (200, "It is booked"),
            *[(409, "This time is no longer available")] * (contenders - 1),
        ], running.tails()
        assert running.tracebacks() == [], running.tails()
        (winner,) = [
            p for p, (status, _page) in zip(patients, answers, strict=True) if status == 200
        ]
        losers = {p.pathway_id for p in patients} - {winner.pathway_id}

    with reading(database_url) as session:
        booked = session.scalars(
            select(Appointment).where(
                Appointment.start_at == seeded.start, Appointment.status == "booked"
            )
        ).all()
        assert [a.pathway_id for a in booked] == [winner.pathway_id]
        vacancy = session.scalars(
            select(Vacancy).where(Vacancy.freed_appointment_id == seeded.freed)
        ).one()
        assert (vacancy.status.value, vacancy.filled_appointment_id) == ("filled", booked[0].id)
        statuses = session.execute(select(Offer.pathway_id, Offer.status)).all()
        assert {p: s.value for p, s in statuses} == {
            winner.pathway_id: "accepted",
            **dict.fromkeys(losers, "withdrawn"),
        }
        waiting = set(session.scalars(select(WaitlistEntry.pathway_id)))
        assert waiting == {p.pathway_id for p in seeded.waiting} - {winner.pathway_id}
        assert {triggers(session, loser)[-1] for loser in losers} == {"withdraw_offer"}
        assert session.scalars(select(Hold)).all() == []
