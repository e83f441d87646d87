"""Waitlist backfill benchmark on PostgreSQL: ``python -m benchmarks.waitlist`` (``make bench``).

The time from a cancellation to the first offer e-mail queued (SPEC §10), at 10k and 1M
appointments (``BENCH_SIZES``) with ``WAITLISTED`` pathways on the waitlist. Target:
under a second, printed next to the figures, never asserted.

Each size gets a scratch database prepared as ``benchmarks.scheduling`` prepares it (the
clinic seeded through the services, the nearly full calendar, the bulk-loaded
appointments), then, through the services:

1. The vacancies that new working hours opened while seeding are closed (as if searched
   before anyone waited), so that each pass below searches only the run's cancellation.
2. ``WAITLISTED`` pathways are put on the waitlist, one new patient each: mixed
   priorities, earliest days, weekdays, parts of the day, notice and "any clinician";
   nine in ten at the benchmark site with its lane clinicians, the rest at a second site.
   One in five is moved to ``eligible`` (waiting for the procedure) without the blocks
   behind it: the procedure gate refuses them, so they cost a search and get no offer.
3. ``RUNS`` diagnostic blocks are booked at 17:45 on the lane clinicians' days (the time
   the bulk layout leaves free), each for a pathway of its own.

Per run: one of those blocks is cancelled as the API cancels it (the scheduler's
``cancel_appointment``, committed), then the worker's ``backfill_pass`` runs until the
offer e-mail of the vacancy is in the outbox (committed). Printed: median and p95 of the
whole (cancel call to the offer's commit), of the cancellation and of the backfill, and
the statements the backfill ran. Offers stay open (nothing expires on the frozen clock),
so each run's candidate leaves the pool of the next ones, as it would in the clinic.

Environment as for ``benchmarks.scheduling`` (``BENCH_DATABASE_URL``, ``BENCH_SIZES``,
``BENCH_KEEP_DATABASE``); ``BENCH_WAITLIST_RUNS`` sets the cancellations per size (40), and
``BENCH_PROFILE=1`` prints cProfile's top functions of five runs first (not counted).
"""

from __future__ import annotations

import cProfile
import io
import os
import pstats
import random
import statistics
import sys
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from benchmarks.scheduling import (
    CLOSES,
    DEFAULT_URL,
    FAMILY_NAMES,
    GIVEN_NAMES,
    OPENS,
    ZONE,
    Clinic,
    Latency,
    Scenario,
    prepare,
    say,
    scratch_database,
    size_name,
    sizes,
    statements_of,
    verdict,
)
from scheduler.access import SYSTEM
from scheduler.clinicians import services as clinicians
from scheduler.db import make_sessionmaker
from scheduler.facilities import services as facilities
from scheduler.heap import freeze_startup_heap
from scheduler.outbox.models import OutboxMessage
from scheduler.pathways import services as pathways
from scheduler.pathways.models import Pathway
from scheduler.pathways.referral import Referral
from scheduler.pathways.states import PathwayState
from scheduler.patients.services import register_patient
from scheduler.scheduling.booking import book_appointment
from scheduler.scheduling.calendars import DURATIONS
from scheduler.scheduling.cancellation import cancel_appointment
from scheduler.settings import BackfillSettings
from scheduler.vocabulary import (
    AppointmentKind,
    Indication,
    Region,
    Side,
    TimeOfDay,
    VacancyStatus,
    WaitlistPriority,
)
from scheduler.waitlist import services as waitlist
from scheduler.waitlist.models import Offer, Vacancy
from scheduler.waitlist.worker import backfill_pass

WAITLISTED = 500
RUNS = int(os.environ.get("BENCH_WAITLIST_RUNS", "40"))
TARGET_SECONDS = 1.0
SEED = 20260302
# The freed blocks: 17:45 site-local, on these days ahead, one lane clinician after another.
FREED_MINUTE = 17 * 60 + 45
FREED_DAYS = (3, 4, 5)
OTHER_SITE_SHARE = 0.1
ELIGIBLE_SHARE = 0.2
# Bulk patients' MRNs start with BULK-, the scheduling seed's with LIVE-.
MRN = "WAIT-{n:06d}"


@dataclass(frozen=True)
class Run:
    cancel: float  # seconds: the cancellation, committed
    backfill: float  # seconds: passes until the offer e-mail is committed
    passes: int
    statements: int
    offered: bool

    @property
    def total(self) -> float:
        return self.cancel + self.backfill


def _patient_pathway(
    session: Session, now: datetime, site_id: int, clinician_id: int, n: int, clinic: Clinic
) -> int:
    today = now.astimezone(ZoneInfo(ZONE)).date()
    patient = register_patient(
        session,
        SYSTEM,
        now,
        mrn=MRN.format(n=n),
        given_name=GIVEN_NAMES[n % len(GIVEN_NAMES)],
        family_name=FAMILY_NAMES[n % len(FAMILY_NAMES)],
        birth_date=date(1950 + n % 40, 1 + n % 12, 1 + n % 28),
        email=f"waiting{n}@bench.example.org",
    )
    pathway = pathways.create_pathway(
        session,
        clinic.actor,
        now,
        Referral(
            patient_id=patient.id,
            clinician_id=clinician_id,
            site_id=site_id,
            indication=Indication.FACET_JOINT_SYNDROME,
            region=Region.LUMBAR,
            side=(Side.RIGHT, Side.LEFT, Side.BILATERAL)[n % 3],
            levels=["L4-L5"],
            pain_onset_date=today - timedelta(days=200),
        ),
    )
    return pathway.id


def _other_site(session: Session, now: datetime) -> tuple[int, int]:
    site = facilities.create_site(
        session,
        SYSTEM,
        now,
        name="Benchmark Satellite Clinic",
        timezone=ZONE,
        address="2 Benchmark Way, Springfield, NY 10001",
    )
    clinician = clinicians.create_clinician(
        session, SYSTEM, now, given_name="Sat", family_name="Ellite"
    )
    clinicians.set_working_hours(
        session,
        SYSTEM,
        now,
        clinician.id,
        [{"site_id": site.id, "weekday": day, "start": OPENS, "end": CLOSES} for day in range(7)],
    )
    return site.id, clinician.id


def _wish(rng: random.Random, today: date) -> dict[str, Any]:
    """Mixed wishes: two in five ask for nothing in particular."""
    if rng.random() < 0.4:
        return {"priority": rng.choice(list(WaitlistPriority)), "min_notice_hours": 24}
    return {
        "priority": rng.choice(list(WaitlistPriority)),
        "earliest_date": rng.choice([None, None, today + timedelta(days=rng.randint(1, 10))]),
        "weekdays": rng.sample(range(7), rng.randint(0, 5)),
        "times_of_day": rng.sample(list(TimeOfDay), rng.randint(0, 2)),
        "min_notice_hours": rng.choice([0, 2, 24, 48, 72]),
        "any_clinician": rng.random() < 0.3,
    }


def seed_waitlist(scenario: Scenario, now: datetime) -> list[int]:
    """The waitlist and the blocks to cancel; the ids of those blocks."""
    clinic = scenario.clinic
    rng = random.Random(SEED)
    today = now.astimezone(ZoneInfo(ZONE)).date()
    with make_sessionmaker(scenario.engine)() as session:
        other_site, other_clinician = _other_site(session, now)
        lane_clinicians = [lane.clinician_id for lane in clinic.lanes]
        for n in range(WAITLISTED):
            if rng.random() < OTHER_SITE_SHARE:
                site_id, clinician_id = other_site, other_clinician
            else:
                site_id, clinician_id = clinic.site_id, rng.choice(lane_clinicians)
            pathway_id = _patient_pathway(session, now, site_id, clinician_id, n, clinic)
            if rng.random() < ELIGIBLE_SHARE:
                session.execute(
                    update(Pathway)
                    .where(Pathway.id == pathway_id)
                    .values(state=PathwayState.ELIGIBLE)
                )
            waitlist.add_entry(
                session, clinic.actor, now, pathway_id=pathway_id, **_wish(rng, today)
            )
        # After the entries: a newcomer reopens what nobody could take (add_entry).
        closed = session.execute(
            update(Vacancy)
            .where(Vacancy.status == VacancyStatus.OPEN)
            .values(status=VacancyStatus.UNFILLED, searched_at=now, closed_at=now)
            .returning(Vacancy.id)
        ).all()
        freed = []
        zone = ZoneInfo(ZONE)
        for run in range(RUNS):
            lane = clinic.lanes[run % len(clinic.lanes)]
            day = today + timedelta(days=FREED_DAYS[run // len(clinic.lanes) % len(FREED_DAYS)])
            start = datetime.combine(day, datetime.min.time(), zone) + timedelta(
                minutes=FREED_MINUTE
            )
            pathway_id = _patient_pathway(
                session, now, clinic.site_id, lane.clinician_id, WAITLISTED + run, clinic
            )
            appointment = book_appointment(
                session,
                clinic.actor,
                now,
                pathway_id=pathway_id,
                kind=AppointmentKind.DIAGNOSTIC_BLOCK,
                start=start,
                room_id=lane.room_id,
                reminder_before=timedelta(hours=48),
            )
            freed.append(appointment.id)
        session.commit()
    say(
        f"closed {len(closed)} vacancies of new hours; waitlisted {WAITLISTED} pathways; "
        f"booked {len(freed)} blocks of {DURATIONS[AppointmentKind.DIAGNOSTIC_BLOCK]} to cancel"
    )
    return freed


def one_run(
    scenario: Scenario,
    sessions: sessionmaker[Session],
    settings: BackfillSettings,
    now: datetime,
    appointment_id: int,
) -> Run:
    """Cancel one block, then pass until its vacancy's offer e-mail is queued."""
    started = time.perf_counter()
    with sessions() as session:
        cancel_appointment(session, scenario.clinic.actor, now, appointment_id, "Patient unwell")
        session.commit()
    cancelled = time.perf_counter()
    backfill = 0.0
    passes = 0
    statements = 0
    while True:
        with statements_of(scenario.engine) as seen:
            passing = time.perf_counter()
            backfill_pass(sessions, settings, lambda: now)
            backfill += time.perf_counter() - passing
        passes += 1
        statements += len(seen)
        with sessions() as session:
            vacancy = session.scalars(
                select(Vacancy).where(Vacancy.freed_appointment_id == appointment_id)
            ).one()
            queued = session.scalar(
                select(OutboxMessage.id)
                .join(Offer, Offer.id == OutboxMessage.offer_id)
                .where(Offer.vacancy_id == vacancy.id)
                .limit(1)
            )
            if queued is not None or vacancy.status is not VacancyStatus.OPEN:
                return Run(cancelled - started, backfill, passes, statements, queued is not None)


def profile_backfill(call: Callable[[], Run]) -> None:
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(5):
        call()
    profiler.disable()
    for order in ("cumulative", "tottime"):
        print(f"  profile of 5 runs (cancel and backfill), by {order}:")
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).strip_dirs().sort_stats(order).print_stats(30)
        print("\n".join("    " + line for line in out.getvalue().splitlines() if line))


def measure(scenario: Scenario, now: datetime, freed: list[int]) -> list[Run]:
    sessions = make_sessionmaker(scenario.engine)
    settings = BackfillSettings()
    pending = iter(freed)
    if os.environ.get("BENCH_PROFILE"):
        profile_backfill(lambda: one_run(scenario, sessions, settings, now, next(pending)))
    return [one_run(scenario, sessions, settings, now, appointment) for appointment in pending]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def summary(size: int, runs: list[Run]) -> list[tuple[str, ...]]:
    name = size_name(size)
    total = Latency.of([run.total for run in runs])
    cancel = Latency.of([run.cancel for run in runs])
    backfill = Latency.of([run.backfill for run in runs])
    statements = statistics.median(run.statements for run in runs)
    offered = sum(run.offered for run in runs)
    passes = max(run.passes for run in runs)
    return [
        (
            "cancellation to offer e-mail queued, median",
            name,
            ms(total.median),
            f"< {TARGET_SECONDS:g} s",
            verdict(total.median < TARGET_SECONDS),
        ),
        (
            "cancellation to offer e-mail queued, p95",
            name,
            ms(total.p95),
            f"< {TARGET_SECONDS:g} s",
            verdict(total.p95 < TARGET_SECONDS),
        ),
        (
            "cancellation (committed), median / p95",
            name,
            f"{ms(cancel.median)} / {ms(cancel.p95)}",
            "printed",
            "",
        ),
        (
            "backfill until the offer is queued, median / p95",
            name,
            f"{ms(backfill.median)} / {ms(backfill.p95)}",
            "printed",
            "",
        ),
        ("statements of the backfill, median", name, f"{statements:g}", "printed", ""),
        (
            "runs that ended in an offer",
            name,
            f"{offered} of {len(runs)} (at most {passes} pass(es) each)",
            "printed",
            "",
        ),
    ]


def main() -> int:
    base_url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    keep = bool(os.environ.get("BENCH_KEEP_DATABASE"))
    now = datetime.now(UTC)
    rows: list[tuple[str, ...]] = []
    with ExitStack() as stack:
        for size in sizes():
            url = stack.enter_context(
                scratch_database(base_url, f"waitlist_{size // 1000}k", keep=keep)
            )
            scenario = prepare(url, size, now)
            stack.callback(scenario.engine.dispose)
            freed = seed_waitlist(scenario, now)
            freeze_startup_heap()  # as a started worker does (wsgi.py)
            print(f"Measuring at {size:,} appointments (load average {os.getloadavg()[0]:.1f})")
            runs = measure(scenario, now, freed)
            for run in runs:
                if not run.offered:
                    print("    a run ended without an offer (nobody suited the slot)")
            rows += summary(size, [run for run in runs if run.offered] or runs)
            scenario.engine.dispose()
    print()
    print(f"Waitlist summary ({os.cpu_count()} CPUs, load average now {os.getloadavg()[0]:.1f})")
    print()
    print("| measure | size | figure | target | verdict |")
    print("|---|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
