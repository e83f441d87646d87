"""Reports benchmark on PostgreSQL: ``make bench`` (``python -m benchmarks.reports``).

Each report of SPEC §11 (``scheduler.reports.services.build``) over the last full year at
one site that has about four years of history: ``BENCH_REPORTS_SIZE`` appointments
(1,000,000 by default; 50000 for a quick run). In a scratch database, created and migrated
here and dropped WITH (FORCE) at the end:

1. The clinic is seeded through the services: one site, one procedure room and one
   clinician per "lane", each clinician working Monday to Friday 07:00-19:00 there, and a
   desk and a nurse login (the actors of the history).
2. The history is bulk-loaded with SQL (``INSERT ... SELECT generate_series``): patients,
   pathways and every event of their way (``pathway_events``), their appointments, block
   results, check-ins, procedure records, discharges and admissions, follow-up outcomes,
   the vacancies the waitlist kept since it started (``WAITLIST_DAYS`` ago) and its
   offers, the clinic's holidays as every clinician's time off; then analyzed. Recovery
   scores, allocations, outbox and HL7 rows are not loaded: no report reads them.
3. Each report is built once to warm up, then ``RUNS`` times, each in a new session:
   median and max time, and the statements each run executed.

The target is under a second per report (every run); figures are printed next to it in
one table, never asserted: the script reports and exits 0.

Layout of the history. Working days are the site's weekdays less six US holidays (on
which every clinician has time off, so the site is closed). Each working day, every lane
receives a "cohort" of pathways, referred 7 to 28 days before, whose appointments fill
fixed slots of the lane's day (``M1``, ``M2``, ``N`` below: 13 slots, 07:00-18:00, the
procedures with their room turnover), so that a room never holds two live appointments
at once. A cohort's slot sits a fixed number of working days after the cohort's day:

- ``M1``: two blocks 10 working days apart, the procedure 20 and the follow-up 35 days
  after the first block (Medicare LCD L38803 policy); three in ten under the single-block
  policy (one block, the same procedure and follow-up slots).
- ``M2``: the same two-block way, procedure at 25 days, follow-up at 40.
- ``N``: the way with one mishap: a block no-show, a block cancelled late (under 48 h) or
  by the clinic, a procedure cancelled 10 days or 20 hours ahead or missed, a follow-up
  no-show, or the pathway cancelled with its procedure booked. The rebooked appointment
  takes the next of the member's five slots (0, 10, 20, 30 and 45 days).
- ``Z``: in one cohort in four, a referral that never gets a block (most are cancelled
  with a reason ten days later, some still wait).

Each pathway's way is picked by a hash of its number from weighted outcomes (drop-outs
after a negative block, a declined procedure, admissions instead of same-day discharge;
procedure starts more than 10 minutes late, complications and follow-up relief are
drawn the same way): ``SCRIPTS`` below is the whole story, as data. When an ``N``
procedure cancelled 10 days ahead frees its slot after the waitlist started, and its
cohort's ``M2`` is eligible, ``M2`` is on the waitlist, is offered that slot, accepts and
has its procedure there (a filled vacancy, five working days earlier); every other
cancellation since then is a vacancy nobody could take. Everything is cut at the moment
the benchmark starts: appointments booked later do not exist, those not yet ended are
still booked, a pathway is in the state of its last event so far. The number of lanes is
chosen for about four years of history; the oldest cohorts are left out so that the
appointments number ``BENCH_REPORTS_SIZE`` (to a cohort's, about a dozen). Patients come
back every ``PATIENT_CYCLE`` working days (a new pathway), never overlapping themselves.
At 1M: 92 lanes, about 250k appointments a year, 312k pathways and 3M events.

Environment: ``BENCH_DATABASE_URL`` names the server and a base name (default
``postgresql+psycopg://postgres@127.0.0.1:5432/scheduler_bench``); the scratch database
is ``<base name>_<pid>_reports_<thousands>k``, so a database you named yourself is never
dropped. ``BENCH_KEEP_DATABASE=1`` keeps it for a closer look; ``BENCH_EXPLAIN=1`` prints
EXPLAIN (ANALYZE, BUFFERS) of each report's slowest statement. ``BENCH_REPORTS_SIZE``
sets the appointments (1000000), ``BENCH_REPORTS_RUNS`` the timed runs per report (5).
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from alembic import command
from sqlalchemy import Connection, Engine, select, text
from sqlalchemy.orm import Session, sessionmaker

from benchmarks.scheduling import (
    CLOSES,
    DEFAULT_URL,
    FAMILY_NAMES,
    GIVEN_NAMES,
    OPENS,
    ZONE,
    explain_slowest,
    ms,
    say,
    scratch_database,
    statements_of,
    verdict,
)
from scheduler.access import SYSTEM
from scheduler.auth.services import create_user
from scheduler.cli import alembic_config
from scheduler.clinicians import services as clinicians
from scheduler.db import make_engine, make_sessionmaker
from scheduler.facilities import services as facilities
from scheduler.pathways.states import BOOKING_TRIGGER, PathwayState, Trigger
from scheduler.policies.models import PolicyRecord
from scheduler.reports.services import REPORTS, build
from scheduler.reports.tables import Figure, Kind, Report
from scheduler.scheduling.calendars import DURATIONS
from scheduler.vocabulary import AppointmentKind, AppointmentStatus, Role, RoomKind

S = PathwayState
T = Trigger
BLOCK, PROCEDURE, FOLLOW_UP = (
    AppointmentKind.DIAGNOSTIC_BLOCK,
    AppointmentKind.PROCEDURE,
    AppointmentKind.FOLLOW_UP,
)

SIZE = int(os.environ.get("BENCH_REPORTS_SIZE", "1000000").replace("_", ""))
RUNS = int(os.environ.get("BENCH_REPORTS_RUNS", "5"))
TARGET_MS = 1000.0

SITE_NAME = "Benchmark Reports Pain Center"
HISTORY_YEARS = 4
MARGIN_DAYS = 200  # calendar days of candidate cohorts beyond the four years
AHEAD_COHORT_DAYS = 25  # working days: the last cohorts whose referral may have happened
CALENDAR_AHEAD_DAYS = 150  # calendar days of working days after today (the last slots)
WAITLIST_DAYS = 180  # the waitlist started this many days ago: vacancies since then
PATIENT_CYCLE = 120  # working days after which a cohort's patients come back
MEMBERS = 4  # pathways a cohort may hold: M1, M2, N, Z
STEPS = 6  # appointment numbers per pathway (ids: pathway number * STEPS + step)
SEQS = 20  # event numbers per pathway
WEIGHTS = 10_000  # outcomes are picked by hash % WEIGHTS
CHUNK_COHORTS = 20_000  # cohorts per statement while planning
DAY = 24 * 60  # minutes

# ---------------------------------------------------------------------------------------
# The story, as data: each member's slots and ways through the pathway

M1, M2, N, Z = range(MEMBERS)
MEMBER_NAMES = ("M1", "M2", "N", "Z")
MEDICARE, SINGLE = "medicare_facet", "single_block_50"

Slot = tuple[int, int]  # (working days after the cohort's day, site-local minute of the day)
# Slots of a lane's day (reserved: block 30, follow-up 20, procedure 90 + 15 turnover):
# 07:00 M1 b1, 07:30 M2 b1, 08:00 N 1, 08:30 M1 p, 10:15 M1 b2, 10:45 M2 b2, 11:15 N 2,
# 11:45 M2 p, 13:30 M1 f, 13:50 M2 f, 14:10 N 3, 15:55 N 4, 17:40 N 5 (ends 18:00).
M1_SLOTS: dict[str, Slot] = {
    "b1": (0, 7 * 60),
    "b2": (10, 10 * 60 + 15),
    "p": (20, 8 * 60 + 30),
    "f": (35, 13 * 60 + 30),
}
M2_SLOTS: dict[str, Slot] = {
    "b1": (0, 7 * 60 + 30),
    "b2": (10, 10 * 60 + 45),
    "p": (25, 11 * 60 + 45),
    "f": (40, 13 * 60 + 50),
}
N_SLOTS: tuple[Slot, ...] = (
    (0, 8 * 60),
    (10, 11 * 60 + 15),
    (20, 14 * 60 + 10),
    (30, 15 * 60 + 55),
    (45, 17 * 60 + 40),
)
EARLY_CANCEL = 10 * DAY  # an N procedure cancelled this long ahead frees a vacancy to fill

# Outcomes and their weights (per mille).
MEDICARE_OUTCOMES = (
    ("done", 580),
    ("done_admitted", 20),
    ("b1_negative_closed", 150),
    ("b1_negative_open", 70),
    ("b2_negative_closed", 90),
    ("b2_negative_open", 40),
    ("declined", 50),
)
SINGLE_OUTCOMES = (
    ("done", 720),
    ("done_admitted", 20),
    ("b1_negative_closed", 170),
    ("b1_negative_open", 90),
)
SINGLE_SHARE = 3  # in ten M1 pathways
MISHAPS = (
    ("block_no_show", 170),
    ("block_late_cancel", 130),
    ("procedure_cancelled_early", 150),
    ("procedure_late_cancel", 150),
    ("procedure_no_show", 80),
    ("follow_up_no_show", 120),
    ("pathway_cancelled", 100),
    ("block_cancelled_by_clinic", 100),
)
REFERRAL_ONLY = (("cancelled", 850), ("waiting", 150))
BACKFILLED = "M2:medicare_facet:backfilled"
BACKFILL_FROM = ("M2:medicare_facet:done", "N:medicare_facet:procedure_cancelled_early")

# Free-text reasons: alternatives separated by "|", one picked per pathway (some typed with
# other spacing or case, as people type them).
NEGATIVE_BLOCK = (
    "Negative diagnostic block: not a candidate|negative diagnostic block:  not a candidate"
)
DECLINED = "Patient declined the procedure|Patient prefers conservative care"
ADMISSIONS = (
    "Uncontrolled pain|Urinary retention|Prolonged sedation|Low blood pressure"
    "|No escort available|uncontrolled  pain"
)
NO_SHOW = "Did not attend|did not attend|No answer on the day"
LATE_CANCELLATIONS = "Patient unwell|Transport fell through|Family emergency|patient unwell"
CLINIC_CANCELLATIONS = "Clinician unavailable|Room out of service"
EARLY_CANCELLATIONS = "Patient request: another date|Work commitments|Travelling"
PROCEDURE_LATE_CANCELLATIONS = "Patient unwell|Anticoagulant not held|No escort available"
PATHWAY_CANCELLATIONS = "Symptoms resolved|Patient moved away|Patient declined the procedure"
REFERRAL_CANCELLATIONS = (
    "Referred elsewhere|Symptoms resolved|Insurance denied|Patient declined|Lost to follow-up"
    "|symptoms resolved"
)

Anchor = tuple[str, int | None, int]  # (point, appointment step, minutes after it)


def referral(minutes: int = 0) -> Anchor:
    return ("referral", None, minutes)


def start(step: int, minutes: int = 0) -> Anchor:
    return ("start", step, minutes)


def end(step: int, minutes: int = 0) -> Anchor:
    """The booked end."""
    return ("end", step, minutes)


def started(step: int, minutes: int = 0) -> Anchor:
    """The procedure's actual start (the pathway's lateness after the booked start)."""
    return ("started", step, minutes)


def finished(step: int, minutes: int = 0) -> Anchor:
    return ("finished", step, minutes)


SCHEDULED = {
    BLOCK: S.BLOCK_SCHEDULED,
    PROCEDURE: S.PROCEDURE_SCHEDULED,
    FOLLOW_UP: S.FOLLOW_UP_SCHEDULED,
}
RESULTS = {
    T.BLOCK_POSITIVE: S.ELIGIBLE,
    T.BLOCK_POSITIVE_MORE_NEEDED: S.REFERRED,
    T.BLOCK_NEGATIVE: S.INELIGIBLE,
}


@dataclass(frozen=True)
class ScriptEvent:
    seq: int
    trigger: Trigger
    from_state: PathwayState | None
    to_state: PathwayState
    at: Anchor
    step: int | None  # the appointment the event names
    closes: int | None  # the appointment it ends (cancel_pathway ends one without naming it)
    reason: str | None
    actor: str  # "desk", "nurse" or "system"


@dataclass(frozen=True)
class Visit:
    step: int
    kind: AppointmentKind
    slot: Slot
    booking: int  # seq of the event that books it
    closing: int  # seq of the event that ends it
    status: AppointmentStatus  # what it ends as


@dataclass
class Script:
    """One way through the pathway: its events in order and the appointments they book."""

    member: int
    name: str
    policy: str
    weight: int  # of WEIGHTS, among the member's scripts
    events: list[ScriptEvent] = field(default_factory=list)
    visits: dict[int, Visit] = field(default_factory=dict)
    state: PathwayState | None = None
    _booked: dict[int, tuple[AppointmentKind, Slot, int, PathwayState]] = field(
        default_factory=dict
    )

    def fire(
        self,
        trigger: Trigger,
        to: PathwayState,
        at: Anchor,
        *,
        step: int | None = None,
        closes: int | None = None,
        status: AppointmentStatus = AppointmentStatus.COMPLETED,
        reason: str | None = None,
        actor: str = "desk",
    ) -> None:
        seq = len(self.events)
        assert seq < SEQS
        self.events.append(
            ScriptEvent(seq, trigger, self.state, to, at, step, closes, reason, actor)
        )
        self.state = to
        if closes is not None:
            kind, slot, booking, _before = self._booked[closes]
            self.visits[closes] = Visit(closes, kind, slot, booking, seq, status)

    def note(self, trigger: Trigger, at: Anchor, *, reason: str | None = None) -> None:
        """A waitlist fact: recorded, the state unchanged (the desk puts it on the list)."""
        assert self.state is not None
        actor = "desk" if trigger is T.JOIN_WAITLIST else "system"
        self.fire(trigger, self.state, at, reason=reason, actor=actor)

    def create(self) -> None:
        self.fire(T.CREATE, S.REFERRED, referral())

    def book(
        self, step: int, kind: AppointmentKind, slot: Slot, at: Anchor, actor: str = "desk"
    ) -> None:
        assert self.state is not None
        assert step < STEPS
        self._booked[step] = (kind, slot, len(self.events), self.state)
        self.fire(BOOKING_TRIGGER[kind], SCHEDULED[kind], at, step=step, actor=actor)

    def result(self, step: int, trigger: Trigger) -> None:
        self.fire(trigger, RESULTS[trigger], end(step, 10), step=step, closes=step, actor="nurse")

    def procedure(self, step: int, *, admitted: bool = False) -> None:
        """Check-in, start, finish, then same-day discharge or admission (with its reason)."""
        nurse = {"step": step, "actor": "nurse"}
        self.fire(T.CHECK_IN, S.CHECKED_IN, start(step, -50), **nurse)
        self.fire(T.START_PROCEDURE, S.IN_PROCEDURE, started(step), **nurse)
        self.fire(T.FINISH_PROCEDURE, S.IN_RECOVERY, finished(step), **nurse)
        if admitted:
            self.fire(
                T.ADMIT, S.ADMITTED, finished(step, 120), closes=step, reason=ADMISSIONS, **nurse
            )
        else:
            self.fire(T.DISCHARGE, S.DISCHARGED, finished(step, 150), closes=step, **nurse)

    def follow_up(self, step: int) -> None:
        self.fire(
            T.RECORD_FOLLOW_UP_OUTCOME,
            S.COMPLETED,
            end(step, 5),
            step=step,
            closes=step,
            actor="nurse",
        )

    def no_show(self, step: int) -> None:
        self.fire(
            T.NO_SHOW,
            self._booked[step][3],
            start(step, 45),
            step=step,
            closes=step,
            status=AppointmentStatus.NO_SHOW,
            reason=NO_SHOW,
        )

    def cancel(self, step: int, ahead: int, reasons: str) -> None:
        """Cancelled ``ahead`` minutes before its start: back to the state before booking."""
        self.fire(
            T.CANCEL_APPOINTMENT,
            self._booked[step][3],
            start(step, -ahead),
            step=step,
            closes=step,
            status=AppointmentStatus.CANCELLED,
            reason=reasons,
        )

    def cancel_pathway(self, at: Anchor, reasons: str, *, booked: int | None = None) -> None:
        self.fire(
            T.CANCEL_PATHWAY,
            S.CANCELLED,
            at,
            closes=booked,
            status=AppointmentStatus.CANCELLED,
            reason=reasons,
        )

    def treat(
        self, p: int, f: int, slots: tuple[Slot, Slot], at: Anchor, *, admitted: bool
    ) -> None:
        """The procedure booked at ``at`` and done, then the follow-up booked and done."""
        self.book(p, PROCEDURE, slots[0], at)
        self.procedure(p, admitted=admitted)
        self.book(f, FOLLOW_UP, slots[1], finished(p, 160))
        self.follow_up(f)


def two_blocks(script: Script, slots: dict[str, Slot], outcome: str) -> Script:
    """M1 and M2 under the Medicare policy (two positive blocks before the procedure)."""
    s = script
    s.create()
    s.book(0, BLOCK, slots["b1"], referral(DAY))
    if outcome.startswith("b1_negative"):
        s.result(0, T.BLOCK_NEGATIVE)
        if outcome.endswith("closed"):
            s.cancel_pathway(end(0, 3 * DAY), NEGATIVE_BLOCK)
        return s
    s.result(0, T.BLOCK_POSITIVE_MORE_NEEDED)
    s.book(1, BLOCK, slots["b2"], end(0, 15))
    if outcome.startswith("b2_negative"):
        s.result(1, T.BLOCK_NEGATIVE)
        if outcome.endswith("closed"):
            s.cancel_pathway(end(1, 3 * DAY), NEGATIVE_BLOCK)
        return s
    s.result(1, T.BLOCK_POSITIVE)
    if outcome == "declined":
        s.cancel_pathway(end(1, 2 * DAY), DECLINED)
        return s
    if outcome == "backfilled":
        # On the waitlist once eligible; offered the N procedure's slot when it is
        # cancelled (EARLY_CANCEL ahead), accepted three hours later: booked by the system.
        s.note(T.JOIN_WAITLIST, end(1, 20))
        s.note(T.OFFER_SLOT, start(2, 2 - EARLY_CANCEL))
        s.note(T.ACCEPT_OFFER, start(2, 182 - EARLY_CANCEL))
        s.book(2, PROCEDURE, N_SLOTS[2], start(2, 182 - EARLY_CANCEL), actor="system")
        s.note(T.LEAVE_WAITLIST, start(2, 182 - EARLY_CANCEL), reason="pathway procedure_scheduled")
        s.procedure(2)
        s.book(3, FOLLOW_UP, slots["f"], finished(2, 160))
        s.follow_up(3)
        return s
    s.treat(2, 3, (slots["p"], slots["f"]), end(1, 15), admitted=outcome == "done_admitted")
    return s


def one_block(script: Script, slots: dict[str, Slot], outcome: str) -> Script:
    """M1 under the single-block policy: one positive block, then the procedure."""
    s = script
    s.create()
    s.book(0, BLOCK, slots["b1"], referral(DAY))
    if outcome.startswith("b1_negative"):
        s.result(0, T.BLOCK_NEGATIVE)
        if outcome.endswith("closed"):
            s.cancel_pathway(end(0, 3 * DAY), NEGATIVE_BLOCK)
        return s
    s.result(0, T.BLOCK_POSITIVE)
    s.treat(2, 3, (slots["p"], slots["f"]), end(0, 15), admitted=outcome == "done_admitted")
    return s


def mishap(script: Script, outcome: str) -> Script:
    """N: the two-block way with one thing going wrong; rebookings take the next slot."""
    s, n = script, N_SLOTS
    s.create()
    s.book(0, BLOCK, n[0], referral(DAY))
    if outcome in ("block_no_show", "block_cancelled_by_clinic"):
        if outcome == "block_no_show":
            s.no_show(0)
            again = start(0, 50)
        else:
            s.cancel(0, 5 * DAY, CLINIC_CANCELLATIONS)
            again = start(0, 5 - 5 * DAY)
        s.book(1, BLOCK, n[1], again)
        s.result(1, T.BLOCK_POSITIVE_MORE_NEEDED)
        s.book(2, BLOCK, n[2], end(1, 15))
        s.result(2, T.BLOCK_POSITIVE)
        s.treat(3, 4, (n[3], n[4]), end(2, 15), admitted=False)
        return s
    s.result(0, T.BLOCK_POSITIVE_MORE_NEEDED)
    s.book(1, BLOCK, n[1], end(0, 15))
    if outcome == "block_late_cancel":
        s.cancel(1, 20 * 60, LATE_CANCELLATIONS)
        s.book(2, BLOCK, n[2], start(1, 5 - 20 * 60))
        s.result(2, T.BLOCK_POSITIVE)
        s.treat(3, 4, (n[3], n[4]), end(2, 15), admitted=False)
        return s
    s.result(1, T.BLOCK_POSITIVE)
    s.book(2, PROCEDURE, n[2], end(1, 15))
    if outcome == "procedure_cancelled_early":
        s.cancel(2, EARLY_CANCEL, EARLY_CANCELLATIONS)
        s.treat(3, 4, (n[3], n[4]), start(2, 5 - EARLY_CANCEL), admitted=False)
    elif outcome == "procedure_late_cancel":
        s.cancel(2, 20 * 60, PROCEDURE_LATE_CANCELLATIONS)
        s.treat(3, 4, (n[3], n[4]), start(2, 5 - 20 * 60), admitted=False)
    elif outcome == "procedure_no_show":
        s.no_show(2)
        s.treat(3, 4, (n[3], n[4]), start(2, 50), admitted=False)
    elif outcome == "follow_up_no_show":
        s.procedure(2)
        s.book(3, FOLLOW_UP, n[3], finished(2, 160))
        s.no_show(3)
        s.book(4, FOLLOW_UP, n[4], start(3, 50))
        s.follow_up(4)
    else:  # pathway_cancelled, five days before the procedure
        s.cancel_pathway(start(2, -5 * DAY), PATHWAY_CANCELLATIONS, booked=2)
    return s


def referral_only(script: Script, outcome: str) -> Script:
    script.create()
    if outcome == "cancelled":
        script.cancel_pathway(referral(10 * DAY), REFERRAL_CANCELLATIONS)
    return script


def build_scripts() -> list[Script]:
    def named(member: int, policy: str, outcome: str, weight: int) -> Script:
        return Script(member, f"{MEMBER_NAMES[member]}:{policy}:{outcome}", policy, weight)

    made = []
    for outcome, weight in MEDICARE_OUTCOMES:
        m1 = named(M1, MEDICARE, outcome, weight * (10 - SINGLE_SHARE))
        made += [two_blocks(m1, M1_SLOTS, outcome)]
        made += [two_blocks(named(M2, MEDICARE, outcome, weight * 10), M2_SLOTS, outcome)]
    made += [two_blocks(named(M2, MEDICARE, "backfilled", 0), M2_SLOTS, "backfilled")]
    for outcome, weight in SINGLE_OUTCOMES:
        made += [one_block(named(M1, SINGLE, outcome, weight * SINGLE_SHARE), M1_SLOTS, outcome)]
    made += [
        mishap(named(N, MEDICARE, outcome, weight * 10), outcome) for outcome, weight in MISHAPS
    ]
    made += [
        referral_only(named(Z, MEDICARE, outcome, weight * 10), outcome)
        for outcome, weight in REFERRAL_ONLY
    ]
    for member in range(MEMBERS):
        assert sum(s.weight for s in made if s.member == member) == WEIGHTS
    for script in made:
        assert set(script.visits) == set(script._booked), f"{script.name}: a visit never ends"
    assert {s.name for s in made} >= {BACKFILLED, *BACKFILL_FROM}
    return made


SCRIPTS = build_scripts()
# Appointments a lane's cohort brings, on average (Z is in one cohort in four, with none).
PER_COHORT = sum(s.weight * len(s.visits) for s in SCRIPTS) / WEIGHTS


# ---------------------------------------------------------------------------------------
# The clinic, through the services


@dataclass(frozen=True)
class Clinic:
    site_id: int
    lanes: list[tuple[int, int]]  # (clinician id, room id)
    desk_id: int
    nurse_id: int
    policies: dict[str, int]


def seed_clinic(session: Session, now: datetime, lanes: int) -> Clinic:
    site = facilities.create_site(
        session,
        SYSTEM,
        now,
        name=SITE_NAME,
        timezone=ZONE,
        address="2 Benchmark Way, Springfield, NY 10001",
        phone="+1 555 0200",
    )
    weekly = [
        {"site_id": site.id, "weekday": day, "start": OPENS, "end": CLOSES} for day in range(5)
    ]
    made = []
    for n in range(1, lanes + 1):
        room = facilities.create_room(
            session,
            SYSTEM,
            now,
            site_id=site.id,
            name=f"Procedure room {n}",
            kind=RoomKind.PROCEDURE,
            fluoroscopy=True,
        )
        clinician = clinicians.create_clinician(
            session,
            SYSTEM,
            now,
            given_name=GIVEN_NAMES[n % len(GIVEN_NAMES)],
            family_name=f"{FAMILY_NAMES[n % len(FAMILY_NAMES)]}-{n}",
            email=f"dr{n}@reports.bench.example.org",
        )
        clinicians.set_working_hours(session, SYSTEM, now, clinician.id, weekly)
        made.append((clinician.id, room.id))
    desk, nurse = (
        create_user(
            session,
            SYSTEM,
            now,
            email=f"{role.value}@reports.bench.example.org",
            password="bench-reports-pass",  # noqa: S106 (a throwaway database)
            role=role,
        )
        for role in (Role.SCHEDULER, Role.NURSE)
    )
    versions = select(PolicyRecord.name, PolicyRecord.id).where(PolicyRecord.version == 1)
    policies: dict[str, int] = dict(session.execute(versions).all())
    return Clinic(site.id, made, desk.id, nurse.id, policies)


# ---------------------------------------------------------------------------------------
# The calendar: working days, holidays


def us_holidays(year: int) -> dict[date, str]:
    """Six holidays on which the clinic closes (no observed-day shifting)."""

    def nth_weekday(month: int, weekday: int, nth: int) -> date:
        first = date(year, month, 1)
        return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (nth - 1))

    last_may = date(year, 5, 31)
    return {
        date(year, 1, 1): "New Year's Day",
        last_may - timedelta(days=last_may.weekday()): "Memorial Day",
        date(year, 7, 4): "Independence Day",
        nth_weekday(9, 0, 1): "Labor Day",
        nth_weekday(11, 3, 4): "Thanksgiving",
        date(year, 12, 25): "Christmas Day",
    }


@dataclass(frozen=True)
class Calendar:
    days: list[date]  # working days, oldest first (index: working day number w)
    holidays: dict[date, str]
    today: int  # the number of the first working day on or after today

    @classmethod
    def around(cls, today: date) -> Calendar:
        first = today - timedelta(days=365 * HISTORY_YEARS + MARGIN_DAYS)
        last = today + timedelta(days=CALENDAR_AHEAD_DAYS)
        holidays: dict[date, str] = {}
        for year in range(first.year, last.year + 1):
            holidays |= us_holidays(year)
        days = [
            first + timedelta(days=n)
            for n in range((last - first).days + 1)
            if (first + timedelta(days=n)).weekday() < 5
            and first + timedelta(days=n) not in holidays
        ]
        closed = {day: name for day, name in holidays.items() if first <= day <= last}
        return cls(days, closed, sum(1 for day in days if day < today))


def lanes_for(size: int, calendar: Calendar, today: date) -> int:
    """Lanes for ``size`` appointments in about HISTORY_YEARS years."""
    since = today - timedelta(days=365 * HISTORY_YEARS)
    working = sum(1 for day in calendar.days if since <= day < today)
    return max(1, round(size / (PER_COHORT * working)))


# ---------------------------------------------------------------------------------------
# Bulk load, with SQL: a plan in unlogged tables, then the real rows cut at "now"

CREATE_PLAN = (
    # A number's hash ``salt``: 0 .. 2^32 - 1, the same on every run (inlined by the planner).
    "CREATE FUNCTION bench_hash(x bigint, salt integer) RETURNS bigint LANGUAGE sql IMMUTABLE"
    " AS 'SELECT CAST(hashint8(x * 16 + salt) AS bigint) + 2147483648'",
    "CREATE UNLOGGED TABLE bench_days (w integer PRIMARY KEY, day date NOT NULL)",
    "CREATE UNLOGGED TABLE bench_holidays (day date PRIMARY KEY, name text NOT NULL)",
    "CREATE UNLOGGED TABLE bench_lanes (lane integer PRIMARY KEY, clinician_id integer NOT NULL,"
    " room_id integer NOT NULL)",
    "CREATE UNLOGGED TABLE bench_scripts (name text PRIMARY KEY, member integer NOT NULL,"
    " policy_id integer NOT NULL, policy text NOT NULL, lo integer NOT NULL,"
    " hi integer NOT NULL)",
    "CREATE UNLOGGED TABLE bench_visits (script text NOT NULL, step integer NOT NULL,"
    " kind text NOT NULL, day integer NOT NULL, minute integer NOT NULL,"
    " minutes integer NOT NULL, booking integer NOT NULL, closing integer NOT NULL,"
    " status text NOT NULL, PRIMARY KEY (script, step))",
    "CREATE UNLOGGED TABLE bench_script_events (script text NOT NULL, seq integer NOT NULL,"
    " trigger text NOT NULL, from_state text, to_state text NOT NULL, anchor text NOT NULL,"
    " anchor_step integer, minutes integer NOT NULL, step integer, closes integer,"
    " reason text, actor text NOT NULL, PRIMARY KEY (script, seq))",
    # One row per pathway that may exist: its way, its people and what is drawn for it.
    "CREATE UNLOGGED TABLE bench_pathways (no integer PRIMARY KEY, cohort integer NOT NULL,"
    " w integer NOT NULL, script text NOT NULL, policy_id integer NOT NULL,"
    " policy text NOT NULL, patient_no integer NOT NULL, clinician_id integer NOT NULL,"
    " room_id integer NOT NULL, referral_at timestamptz NOT NULL, region text NOT NULL,"
    " side text NOT NULL, levels jsonb NOT NULL, sedation boolean NOT NULL,"
    " onset date NOT NULL, late integer NOT NULL, duration integer NOT NULL,"
    " relief integer NOT NULL, day_complications jsonb NOT NULL,"
    " visit_complications jsonb NOT NULL, pick bigint NOT NULL)",
    "CREATE UNLOGGED TABLE bench_appointments (id integer PRIMARY KEY,"
    " pathway_no integer NOT NULL, kind text NOT NULL, start_at timestamptz NOT NULL,"
    " end_at timestamptz NOT NULL, booking integer NOT NULL, closing integer NOT NULL,"
    " status text NOT NULL)",
    "CREATE UNLOGGED TABLE bench_events (key integer PRIMARY KEY, pathway_no integer NOT NULL,"
    " trigger text NOT NULL, from_state text, to_state text NOT NULL,"
    " at timestamptz NOT NULL, appointment_id integer, closes integer, reason text,"
    " actor_id integer, data jsonb NOT NULL)",
)
DROP_PLAN = (
    "DROP TABLE IF EXISTS bench_events, bench_appointments, bench_pathways,"
    " bench_script_events, bench_visits, bench_scripts, bench_lanes, bench_holidays,"
    " bench_days",
    "DROP FUNCTION IF EXISTS bench_hash(bigint, integer)",
)

INSERT_PATHWAYS = text("""
INSERT INTO bench_pathways
SELECT m.no, c.k, c.w, s.name, s.policy_id, s.policy,
       (c.w % :cycle * :lanes + c.lane) * :members + m.member,
       l.clinician_id, l.room_id, r.referral_at, g.region,
       (ARRAY['left', 'right', 'bilateral'])[CAST(h.h4 % 3 AS integer) + 1],
       CASE g.region
           WHEN 'lumbar' THEN CASE WHEN h.h4 / 3 % 2 = 0 THEN '["L4-L5"]'
                                   ELSE '["L4-L5", "L5-S1"]' END
           WHEN 'cervical' THEN CASE WHEN h.h4 / 3 % 2 = 0 THEN '["C5-C6"]'
                                     ELSE '["C4-C5", "C5-C6"]' END
           WHEN 'thoracic' THEN '["T11-T12"]'
           ELSE '["S1", "S2"]'
       END::jsonb,
       h.h5 % 10 < 7,
       CAST(r.referral_at AT TIME ZONE :zone AS date) - CAST(100 + h.h5 / 10 % 900 AS integer),
       CASE WHEN h.h6 % 100 < 18 THEN 11 + h.h6 / 100 % 40 ELSE h.h6 / 100 % 9 - 3 END,
       40 + h.h7 % 41,
       CASE WHEN h.h8 % 100 < 72 THEN 50 + h.h8 / 100 % 46 ELSE h.h8 / 100 % 50 END,
       CASE WHEN h.h9 % 1000 < 40
                THEN jsonb_build_array((ARRAY['temporary_pain', 'swelling_bruising',
                     'burning_tingling', 'numbness_weakness'])[
                     CAST(h.h9 / 1000 % 4 AS integer) + 1])
            WHEN h.h9 % 1000 < 43 THEN '["bleeding"]'
            ELSE '[]' END::jsonb,
       CASE WHEN h.h10 % 1000 < 50
                THEN jsonb_build_array((ARRAY['temporary_pain', 'burning_tingling',
                     'numbness_weakness'])[CAST(h.h10 / 1000 % 3 AS integer) + 1])
            WHEN h.h10 % 1000 < 60 THEN '["burning_tingling", "temporary_pain"]'
            WHEN h.h10 % 1000 < 62 THEN '["infection"]'
            ELSE '[]' END::jsonb,
       h.h11
FROM generate_series(CAST(:first_k AS integer), CAST(:last_k AS integer)) AS gs(k)
CROSS JOIN LATERAL (SELECT gs.k AS k, gs.k / :lanes AS w, gs.k % :lanes AS lane) AS c
JOIN bench_days AS d ON d.w = c.w
JOIN bench_days AS d20 ON d20.w = c.w + :n3_day
JOIN bench_lanes AS l ON l.lane = c.lane
CROSS JOIN LATERAL (
    SELECT bench_hash(c.k, 1) % :weights AS m1, bench_hash(c.k, 2) % :weights AS m2,
           bench_hash(c.k, 3) % :weights AS n, bench_hash(c.k, 4) % :weights AS z,
           bench_hash(c.k, 5) % 4 = 0 AS with_z
) AS ch
CROSS JOIN LATERAL (
    SELECT (SELECT name FROM bench_scripts WHERE member = :member_m1 AND ch.m1 >= lo AND ch.m1 < hi)
               AS m1,
           (SELECT name FROM bench_scripts WHERE member = :member_m2 AND ch.m2 >= lo AND ch.m2 < hi)
               AS m2,
           (SELECT name FROM bench_scripts WHERE member = :member_n AND ch.n >= lo AND ch.n < hi)
               AS n,
           (SELECT name FROM bench_scripts WHERE member = :member_z AND ch.z >= lo AND ch.z < hi)
               AS z
) AS pick
CROSS JOIN LATERAL (
    VALUES (:member_m1, pick.m1),
           (:member_m2, CASE WHEN pick.m2 = :backfill_m2 AND pick.n = :backfill_n
                            AND (d20.day + make_interval(mins => :n3_minute))
                                AT TIME ZONE :zone - make_interval(mins => :early_cancel)
                                >= CAST(:waitlist_since AS timestamptz)
                       THEN :backfilled ELSE pick.m2 END),
           (:member_n, pick.n),
           (:member_z, CASE WHEN ch.with_z THEN pick.z END)
) AS mv(member, script)
JOIN bench_scripts AS s ON s.name = mv.script
CROSS JOIN LATERAL (SELECT c.k * :members + mv.member AS no, mv.member AS member) AS m
CROSS JOIN LATERAL (
    SELECT bench_hash(m.no, 1) AS h1, bench_hash(m.no, 2) AS h2, bench_hash(m.no, 3) AS h3,
           bench_hash(m.no, 4) AS h4, bench_hash(m.no, 5) AS h5, bench_hash(m.no, 6) AS h6,
           bench_hash(m.no, 7) AS h7, bench_hash(m.no, 8) AS h8, bench_hash(m.no, 9) AS h9,
           bench_hash(m.no, 10) AS h10, bench_hash(m.no, 11) AS h11
) AS h
CROSS JOIN LATERAL (
    SELECT ((d.day - CAST(7 + h.h1 % 22 AS integer))
            + make_interval(mins => CAST(8 * 60 + h.h2 % 480 AS integer)))
           AT TIME ZONE :zone AS referral_at
) AS r
CROSS JOIN LATERAL (
    SELECT CASE
               WHEN s.policy = :single AND h.h3 % 100 < 40 THEN 'sacroiliac'
               WHEN h.h3 % 100 < 70 THEN 'lumbar'
               WHEN h.h3 % 100 < 88 THEN 'cervical'
               ELSE 'thoracic'
           END AS region
) AS g
""")
INSERT_APPOINTMENTS_PLAN = text("""
INSERT INTO bench_appointments
SELECT :appointment_base + p.no * :steps + v.step, p.no, v.kind, x.start_at,
       x.start_at + make_interval(mins => v.minutes), p.no * :seqs + v.booking,
       p.no * :seqs + v.closing, v.status
FROM bench_pathways AS p
JOIN bench_visits AS v ON v.script = p.script
JOIN bench_days AS d ON d.w = p.w + v.day
CROSS JOIN LATERAL (
    SELECT (d.day + make_interval(mins => v.minute)) AT TIME ZONE :zone AS start_at
) AS x
WHERE p.cohort BETWEEN :first_k AND :last_k
""")
INSERT_EVENTS_PLAN = text("""
INSERT INTO bench_events
SELECT p.no * :seqs + e.seq, p.no, e.trigger, e.from_state, e.to_state, t.at,
       CASE WHEN e.step IS NOT NULL THEN :appointment_base + p.no * :steps + e.step END,
       CASE WHEN e.closes IS NOT NULL THEN :appointment_base + p.no * :steps + e.closes END,
       CASE WHEN e.reason IS NOT NULL THEN
           (string_to_array(e.reason, '|'))[
               CAST(p.pick % cardinality(string_to_array(e.reason, '|')) AS integer) + 1]
       END,
       CASE e.actor WHEN 'desk' THEN :desk_id WHEN 'nurse' THEN :nurse_id END,
       CASE e.trigger
           WHEN 'create' THEN jsonb_build_object('policy', p.policy, 'policy_version', 1)
           WHEN 'cancel_appointment' THEN jsonb_build_object('kind', a.kind)
           WHEN 'no_show' THEN jsonb_build_object('kind', a.kind)
           WHEN 'cancel_pathway' THEN jsonb_build_object(
               'cancelled_appointments',
               CASE WHEN e.closes IS NULL THEN '[]'::jsonb
                    ELSE jsonb_build_array(:appointment_base + p.no * :steps + e.closes) END)
           WHEN 'start_procedure' THEN '{"method": "rfa"}'::jsonb
           WHEN 'finish_procedure' THEN jsonb_build_object('complications', p.day_complications)
           WHEN 'record_follow_up_outcome' THEN jsonb_build_object('percent_relief', p.relief)
           WHEN 'join_waitlist' THEN jsonb_build_object(
               'priority', 'routine', 'earliest_date', NULL, 'weekdays', '[]'::jsonb,
               'times_of_day', '[]'::jsonb, 'min_notice_hours', 48, 'any_clinician', FALSE)
           WHEN 'offer_slot' THEN jsonb_build_object(
               'offer_id', o.id, 'vacancy_id', o.vacancy_id, 'kind', 'procedure',
               'start', a.start_at, 'expires_at', t.at + interval '1 day', 'rank', 1,
               'priority', 'routine')
           WHEN 'accept_offer' THEN jsonb_build_object('offer_id', o.id)
           ELSE '{}'::jsonb
       END
FROM bench_pathways AS p
JOIN bench_script_events AS e ON e.script = p.script
LEFT JOIN bench_appointments AS a ON a.id = :appointment_base + p.no * :steps + e.anchor_step
CROSS JOIN LATERAL (
    SELECT CASE e.anchor
               WHEN 'referral' THEN p.referral_at
               WHEN 'start' THEN a.start_at
               WHEN 'end' THEN a.end_at
               WHEN 'started' THEN a.start_at + make_interval(mins => p.late)
               ELSE a.start_at + make_interval(mins => p.late + p.duration)
           END + make_interval(mins => e.minutes) AS at
) AS t
-- The vacancy (and offer) a backfilled M2 takes: its cohort's N procedure, cancelled.
CROSS JOIN LATERAL (
    SELECT (p.cohort * :members + :member_n) * :steps + 2 AS number
) AS freed
CROSS JOIN LATERAL (
    SELECT :offer_base + freed.number AS id, :vacancy_base + freed.number AS vacancy_id
) AS o
WHERE p.cohort BETWEEN :first_k AND :last_k
""")
# The oldest cohort kept: the newest cohorts' appointments booked by now, up to the size.
FIRST_COHORT = text("""
SELECT min(cohort) FILTER (WHERE running <= :size), max(running)
FROM (
    SELECT cohort, booked, sum(booked) OVER (ORDER BY cohort DESC) AS running
    FROM (
        SELECT a.pathway_no / :members AS cohort, count(*) AS booked
        FROM bench_appointments AS a
        JOIN bench_events AS b ON b.key = a.booking
        WHERE b.at <= :now
        GROUP BY 1
    ) AS per_cohort
) AS r
""")
OUT_OF_ORDER = text("""
SELECT count(*) FROM (
    SELECT at < lag(at) OVER (PARTITION BY pathway_no ORDER BY key) AS back
    FROM bench_events
) AS e
WHERE back
""")
LOAD = {
    "patients": """
INSERT INTO patients (id, mrn, given_name, family_name, birth_date, email, created_at)
SELECT :patient_base + n, 'RPT-' || lpad(n::text, 7, '0'),
       (ARRAY['Ada', 'Ben', 'Carla', 'David', 'Elena', 'Farid', 'Grace'])[n % 7 + 1],
       (ARRAY['Moreno', 'Okafor', 'Nguyen', 'Schmidt', 'Rossi', 'Haddad', 'Kim', 'Costa',
              'Tanaka', 'Brooks', 'Patel'])[n % 11 + 1],
       DATE '1935-01-01' + (n * 37) % 21000, 'patient' || n || '@reports.bench.example.org',
       CAST(:now AS timestamptz) - interval '6 years'
FROM (SELECT DISTINCT patient_no AS n FROM bench_pathways
      WHERE cohort >= :first_k AND referral_at <= :now) AS used
ORDER BY n
""",
    "pathways": """
INSERT INTO pathways (id, patient_id, clinician_id, site_id, policy_id, indication, region,
                      side, levels, target_nerve, method, sedation, pain_onset_date, state,
                      waitlisted, created_at, updated_at)
SELECT :pathway_base + p.no, :patient_base + p.patient_no, p.clinician_id, :site_id,
       p.policy_id,
       CASE p.region WHEN 'sacroiliac' THEN 'sacroiliac_joint_dysfunction'
                     ELSE 'facet_joint_syndrome' END,
       p.region, p.side, p.levels,
       CASE p.region WHEN 'sacroiliac' THEN 'lateral_branch' ELSE 'medial_branch' END,
       'rfa', p.sedation, p.onset, last.to_state,
       last.trigger IN ('join_waitlist', 'offer_slot', 'accept_offer'),
       p.referral_at, last.at
FROM bench_pathways AS p
CROSS JOIN LATERAL (
    SELECT e.to_state, e.at, e.trigger FROM bench_events AS e
    WHERE e.key BETWEEN p.no * :seqs AND p.no * :seqs + :seqs - 1 AND e.at <= :now
    ORDER BY e.key DESC
    LIMIT 1
) AS last
WHERE p.cohort >= :first_k
ORDER BY p.no
""",
    "appointments": """
INSERT INTO appointments (id, ical_uid, pathway_id, patient_id, clinician_id, site_id,
                          room_id, kind, status, start_at, end_at, method, side, levels,
                          version, cancel_reason, created_at, updated_at, booked_by_id)
SELECT a.id, gen_random_uuid()::text, :pathway_base + p.no, :patient_base + p.patient_no,
       p.clinician_id, :site_id, p.room_id, a.kind, x.status, a.start_at, a.end_at,
       CASE WHEN a.kind = 'procedure' THEN 'rfa' END, p.side, p.levels,
       CASE WHEN x.status IN ('cancelled', 'no_show') THEN 2 ELSE 1 END,
       CASE WHEN x.status IN ('cancelled', 'no_show') THEN c.reason END,
       b.at, CASE WHEN x.status = 'booked' THEN b.at ELSE c.at END, b.actor_id
FROM bench_appointments AS a
JOIN bench_pathways AS p ON p.no = a.pathway_no
JOIN bench_events AS b ON b.key = a.booking
JOIN bench_events AS c ON c.key = a.closing
CROSS JOIN LATERAL (
    SELECT CASE WHEN c.at <= :now THEN a.status ELSE 'booked' END AS status
) AS x
WHERE p.cohort >= :first_k AND b.at <= :now
ORDER BY a.id
""",
    # In the order they happened: ids (and the table) follow time, as in the clinic.
    "pathway_events": """
INSERT INTO pathway_events (id, pathway_id, from_state, to_state, trigger, actor_id, at,
                            reason, data, appointment_id)
SELECT :event_base + row_number() OVER (ORDER BY e.at, e.key), :pathway_base + e.pathway_no,
       e.from_state, e.to_state, e.trigger, e.actor_id, e.at, e.reason, e.data,
       e.appointment_id
FROM bench_events AS e
WHERE e.pathway_no >= :first_no AND e.at <= :now
ORDER BY e.at, e.key
""",
    "block_results": """
INSERT INTO block_results (appointment_id, pre_block_pain, post_block_pain,
                           relief_duration_hours, recorded_at, recorded_by_id, outcome)
SELECT e.appointment_id, x.pre,
       CASE WHEN e.trigger = 'block_negative' THEN x.pre - x.h / 4 % 3
            ELSE x.pre * (x.h / 4 % 4) / 10 END,
       CASE WHEN e.trigger = 'block_negative' THEN x.h / 16 % 3 ELSE 4 + x.h / 16 % 9 END,
       e.at, e.actor_id, substr(e.trigger, 7)
FROM bench_events AS e
CROSS JOIN LATERAL (
    SELECT 6 + bench_hash(e.appointment_id, 12) % 4 AS pre,
           bench_hash(e.appointment_id, 12) AS h
) AS x
WHERE e.trigger IN ('block_positive', 'block_positive_more_needed', 'block_negative')
  AND e.pathway_no >= :first_no AND e.at <= :now
ORDER BY e.at
""",
    "check_ins": """
INSERT INTO check_ins (appointment_id, consent_signed, escort_name, escort_phone,
                       fasting_confirmed, last_clear_fluids_at, last_light_meal_at,
                       last_heavy_meal_at, anticoagulation_reviewed, anticoagulation_status,
                       checked_in_at, recorded_by_id)
SELECT e.appointment_id, TRUE, 'Escort', '+1 555 0199', TRUE, e.at - interval '3 hours',
       e.at - interval '10 hours', e.at - interval '14 hours', TRUE,
       (ARRAY['not_anticoagulated', 'not_anticoagulated', 'not_anticoagulated', 'held',
              'cleared'])[e.key % 5 + 1],
       e.at, e.actor_id
FROM bench_events AS e
WHERE e.trigger = 'check_in' AND e.pathway_no >= :first_no AND e.at <= :now
ORDER BY e.at
""",
    "procedure_records": """
INSERT INTO procedure_records (appointment_id, method, levels_treated, complications,
                               started_at, started_by_id, finished_at, finished_by_id)
SELECT e.appointment_id, 'rfa', CASE WHEN f.key IS NOT NULL THEN p.levels END,
       CASE WHEN f.key IS NOT NULL THEN p.day_complications END, e.at, e.actor_id, f.at,
       f.actor_id
FROM bench_events AS e
JOIN bench_pathways AS p ON p.no = e.pathway_no
LEFT JOIN bench_events AS f ON f.key = e.key + 1 AND f.at <= :now
WHERE e.trigger = 'start_procedure' AND e.pathway_no >= :first_no AND e.at <= :now
ORDER BY e.at
""",
    "discharges": """
INSERT INTO discharges (appointment_id, outcome, escort_present, written_instructions_given,
                        reason, at, recorded_by_id)
SELECT e.appointment_id,
       CASE e.trigger WHEN 'discharge' THEN 'discharged' ELSE 'admitted' END,
       CASE e.trigger WHEN 'discharge' THEN TRUE END,
       CASE e.trigger WHEN 'discharge' THEN TRUE END,
       e.reason, e.at, e.actor_id
FROM bench_events AS e
WHERE e.trigger IN ('discharge', 'admit') AND e.pathway_no >= :first_no
  AND e.at <= :now
ORDER BY e.at
""",
    "follow_up_outcomes": """
INSERT INTO follow_up_outcomes (appointment_id, pain_score, percent_relief, odi,
                                complications, physical_therapy_referred, recorded_at,
                                recorded_by_id)
SELECT e.appointment_id, (100 - p.relief) * 8 / 100, p.relief, 8 + (100 - p.relief) / 2,
       p.visit_complications, p.relief < 50, e.at, e.actor_id
FROM bench_events AS e
JOIN bench_pathways AS p ON p.no = e.pathway_no
WHERE e.trigger = 'record_follow_up_outcome' AND e.pathway_no >= :first_no
  AND e.at <= :now
ORDER BY e.at
""",
    # Every cancellation since the waitlist started frees its time; a vacancy's id is the
    # freed appointment's. The backfilled M2 pathways' offers fill some.
    "vacancies": """
INSERT INTO vacancies (id, source, status, site_id, clinician_id, room_id, start_at, end_at,
                       freed_appointment_id, filled_appointment_id, created_by_id,
                       created_at, searched_at, closed_at)
SELECT :vacancy_base + a.id - :appointment_base, 'cancelled',
       CASE WHEN acc.at <= :now THEN 'filled' WHEN o.key IS NOT NULL THEN 'open'
            ELSE 'unfilled' END,
       :site_id, p.clinician_id, p.room_id, a.start_at, a.end_at, a.id,
       CASE WHEN acc.at <= :now THEN acc.appointment_id END, e.actor_id, e.at,
       CASE WHEN o.key IS NOT NULL THEN o.at
            ELSE LEAST(e.at + interval '1 minute', CAST(:now AS timestamptz)) END,
       CASE WHEN acc.at <= :now THEN acc.at
            WHEN o.key IS NULL THEN LEAST(e.at + interval '1 minute', CAST(:now AS timestamptz))
       END
FROM bench_events AS e
JOIN bench_appointments AS a ON a.id = e.closes
JOIN bench_pathways AS p ON p.no = e.pathway_no
LEFT JOIN bench_pathways AS m2
       ON m2.no = p.cohort * :members + :member_m2 AND m2.script = :backfilled
LEFT JOIN bench_events AS o
       ON o.pathway_no = m2.no AND o.key BETWEEN m2.no * :seqs AND m2.no * :seqs + :seqs - 1
      AND o.trigger = 'offer_slot' AND o.at <= :now AND e.trigger = 'cancel_appointment'
      AND a.kind = 'procedure'
LEFT JOIN bench_events AS acc ON acc.key = o.key + 2
WHERE e.trigger IN ('cancel_appointment', 'cancel_pathway') AND e.closes IS NOT NULL
  AND e.pathway_no >= :first_no AND e.at <= :now
  AND e.at >= CAST(:waitlist_since AS timestamptz)
ORDER BY e.at
""",
    "offers": """
INSERT INTO offers (id, vacancy_id, pathway_id, status, rank, kind, method, clinician_id,
                    room_id, start_at, end_at, hold_id, created_by_id, created_at, expires_at,
                    answered_at, appointment_id)
SELECT :offer_base + a.id - :appointment_base, v.id, :pathway_base + m2.no,
       CASE WHEN acc.at <= :now THEN 'accepted' ELSE 'open' END, 1, 'procedure', 'rfa',
       v.clinician_id, v.room_id, v.start_at, v.end_at, NULL, NULL, o.at,
       o.at + interval '1 day',
       CASE WHEN acc.at <= :now THEN acc.at END,
       CASE WHEN acc.at <= :now THEN acc.appointment_id END
FROM vacancies AS v
JOIN bench_appointments AS a ON a.id = v.freed_appointment_id
JOIN bench_pathways AS m2
  ON m2.no = a.pathway_no - :member_n + :member_m2 AND m2.script = :backfilled
JOIN bench_events AS o
  ON o.key BETWEEN m2.no * :seqs AND m2.no * :seqs + :seqs - 1
 AND o.trigger = 'offer_slot' AND o.at <= :now
JOIN bench_events AS acc ON acc.key = o.key + 2
WHERE v.site_id = :site_id
ORDER BY o.at
""",
    "waitlist_entries": """
INSERT INTO waitlist_entries (pathway_id, earliest_date, weekdays, times_of_day,
                              min_notice_hours, any_clinician, priority, priority_set_by_id,
                              priority_set_at, created_by_id, created_at, updated_at)
SELECT w.id, NULL, '[]', '[]', 48, FALSE, 'routine', e.actor_id, e.at, e.actor_id, e.at, e.at
FROM pathways AS w
JOIN bench_events AS e
  ON e.key BETWEEN (w.id - :pathway_base) * :seqs AND (w.id - :pathway_base) * :seqs + :seqs - 1
 AND e.trigger = 'join_waitlist'
WHERE w.waitlisted AND w.site_id = :site_id
""",
    "time_off": """
INSERT INTO time_off (clinician_id, start_at, end_at, reason)
SELECT l.clinician_id, CAST(h.day AS timestamp) AT TIME ZONE :zone,
       CAST(h.day + 1 AS timestamp) AT TIME ZONE :zone, 'Clinic closed: ' || h.name
FROM bench_lanes AS l
CROSS JOIN bench_holidays AS h
ORDER BY h.day, l.lane
""",
}
SET_SEQUENCE = "SELECT setval(pg_get_serial_sequence('{table}', 'id'), max(id)) FROM {table}"
COUNTED = (
    "patients",
    "pathways",
    "pathway_events",
    "appointments",
    "block_results",
    "check_ins",
    "procedure_records",
    "discharges",
    "follow_up_outcomes",
    "vacancies",
    "offers",
    "waitlist_entries",
    "time_off",
)


@dataclass(frozen=True)
class Loaded:
    site_id: int
    lanes: int
    first_day: date  # the oldest cohort's day
    counts: dict[str, int]
    seconds: float


def write_story(connection: Connection, clinic: Clinic, calendar: Calendar) -> None:
    """The calendar, the lanes and SCRIPTS, as the tables the planning statements join."""
    connection.execute(
        text("INSERT INTO bench_days VALUES (:w, :day)"),
        [{"w": w, "day": day} for w, day in enumerate(calendar.days)],
    )
    connection.execute(
        text("INSERT INTO bench_holidays VALUES (:day, :name)"),
        [{"day": day, "name": name} for day, name in calendar.holidays.items()],
    )
    connection.execute(
        text("INSERT INTO bench_lanes VALUES (:lane, :clinician_id, :room_id)"),
        [
            {"lane": n, "clinician_id": clinician, "room_id": room}
            for n, (clinician, room) in enumerate(clinic.lanes)
        ],
    )
    lows: dict[int, int] = {}
    rows = []
    for script in SCRIPTS:
        lo = lows.get(script.member, 0)
        lows[script.member] = lo + script.weight
        rows.append(
            {
                "name": script.name,
                "member": script.member,
                "policy_id": clinic.policies[script.policy],
                "policy": script.policy,
                "lo": lo,
                "hi": lo + script.weight,
            }
        )
    connection.execute(
        text("INSERT INTO bench_scripts VALUES (:name, :member, :policy_id, :policy, :lo, :hi)"),
        rows,
    )
    connection.execute(
        text(
            "INSERT INTO bench_visits VALUES (:script, :step, :kind, :day, :minute,"
            " :minutes, :booking, :closing, :status)"
        ),
        [
            {
                "script": script.name,
                "step": visit.step,
                "kind": visit.kind.value,
                "day": visit.slot[0],
                "minute": visit.slot[1],
                "minutes": int(DURATIONS[visit.kind].total_seconds() // 60),
                "booking": visit.booking,
                "closing": visit.closing,
                "status": visit.status.value,
            }
            for script in SCRIPTS
            for visit in script.visits.values()
        ],
    )
    connection.execute(
        text(
            "INSERT INTO bench_script_events VALUES (:script, :seq, :trigger, :from_state,"
            " :to_state, :anchor, :anchor_step, :minutes, :step, :closes, :reason, :actor)"
        ),
        [
            {
                "script": script.name,
                "seq": event.seq,
                "trigger": event.trigger.value,
                "from_state": event.from_state.value if event.from_state else None,
                "to_state": event.to_state.value,
                "anchor": event.at[0],
                "anchor_step": event.at[1],
                "minutes": event.at[2],
                "step": event.step,
                "closes": event.closes,
                "reason": event.reason,
                "actor": event.actor,
            }
            for script in SCRIPTS
            for event in script.events
        ],
    )


def load_history(engine: Engine, clinic: Clinic, calendar: Calendar, now: datetime) -> Loaded:
    """Plan every pathway of the candidate cohorts, keep the newest up to SIZE appointments
    booked by ``now``, and write what had happened by then."""
    started = time.perf_counter()
    lanes = len(clinic.lanes)
    # Every cohort from the calendar's first day (four years and MARGIN_DAYS ago) to the
    # last whose referral may have happened; the cut below keeps the newest.
    first_k, last_k = 0, (calendar.today + AHEAD_COHORT_DAYS) * lanes - 1
    with engine.begin() as connection:
        bases = connection.execute(
            text(
                "SELECT (SELECT coalesce(max(id), 0) + 1 FROM patients),"
                " (SELECT coalesce(max(id), 0) + 1 FROM pathways),"
                " (SELECT coalesce(max(id), 0) + 1 FROM appointments),"
                " (SELECT coalesce(max(id), 0) + 1 FROM pathway_events),"
                " (SELECT coalesce(max(id), 0) + 1 FROM vacancies),"
                " (SELECT coalesce(max(id), 0) + 1 FROM offers)"
            )
        ).one()
        for statement in (*DROP_PLAN, *CREATE_PLAN):
            connection.execute(text(statement))
        write_story(connection, clinic, calendar)
    zone = ZoneInfo(ZONE)
    params: dict[str, Any] = {
        "patient_base": bases[0],
        "pathway_base": bases[1],
        "appointment_base": bases[2],
        "event_base": bases[3],
        "vacancy_base": bases[4],
        "offer_base": bases[5],
        "site_id": clinic.site_id,
        "desk_id": clinic.desk_id,
        "nurse_id": clinic.nurse_id,
        "lanes": lanes,
        "cycle": PATIENT_CYCLE,
        "zone": ZONE,
        "now": now,
        "waitlist_since": now - timedelta(days=WAITLIST_DAYS),
        "single": SINGLE,
        "backfilled": BACKFILLED,
        "backfill_m2": BACKFILL_FROM[0],
        "backfill_n": BACKFILL_FROM[1],
        "size": SIZE,
        "members": MEMBERS,
        "steps": STEPS,
        "seqs": SEQS,
        "weights": WEIGHTS,
        "member_m1": M1,
        "member_m2": M2,
        "member_n": N,
        "member_z": Z,
        "n3_day": N_SLOTS[2][0],
        "n3_minute": N_SLOTS[2][1],
        "early_cancel": EARLY_CANCEL,
    }
    # Plan, in chunks of cohorts (each statement's sort and hash tables stay small).
    for lo in range(first_k, last_k + 1, CHUNK_COHORTS):
        bounds = {**params, "first_k": lo, "last_k": min(lo + CHUNK_COHORTS, last_k + 1) - 1}
        with engine.begin() as connection:
            connection.execute(text("SET LOCAL work_mem = '64MB'"))
            for statement in (INSERT_PATHWAYS, INSERT_APPOINTMENTS_PLAN, INSERT_EVENTS_PLAN):
                connection.execute(statement, bounds)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("ANALYZE bench_pathways, bench_appointments, bench_events"))
        out_of_order = connection.execute(OUT_OF_ORDER).scalar_one()
        cut, planned = connection.execute(FIRST_COHORT, params).one()
    assert out_of_order == 0, f"{out_of_order} events before their pathway's previous one"
    planned_seconds = time.perf_counter() - started
    if (planned or 0) < SIZE:
        say(f"the plan holds only {planned or 0:,} appointments booked by now (< {SIZE:,})")
    params["first_k"] = cut if cut is not None else first_k
    params["first_no"] = params["first_k"] * MEMBERS
    say(
        f"planned {planned or 0:,} appointments booked by now in {planned_seconds:.1f} s; "
        f"keeping the cohorts from {calendar.days[params['first_k'] // lanes]}"
    )
    took: dict[str, float] = {}
    with engine.begin() as connection:
        connection.execute(text("SET LOCAL work_mem = '256MB'"))
        connection.execute(text("SET LOCAL synchronous_commit = off"))
        for table, statement in LOAD.items():
            began = time.perf_counter()
            connection.execute(text(statement), params)
            took[table] = time.perf_counter() - began
        for table in COUNTED:
            connection.execute(text(SET_SEQUENCE.format(table=table)))
    loading = time.perf_counter() - started
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        for statement in DROP_PLAN:
            connection.execute(text(statement))
        connection.execute(text(f"VACUUM (ANALYZE) {', '.join(COUNTED)}"))
        counts = {
            table: connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()  # noqa: S608
            for table in COUNTED
        }
    oldest = calendar.days[params["first_k"] // lanes]
    say(
        f"loaded in {loading - planned_seconds:.1f} s, "
        f"vacuumed and analyzed in {time.perf_counter() - started - loading:.1f} s: "
        f"{lanes} lanes from {oldest} ({(now.astimezone(zone).date() - oldest).days / 365.25:.1f}"
        " years)"
    )
    print("  " + ", ".join(f"{count:,} {table}" for table, count in counts.items()))
    print("  inserts: " + ", ".join(f"{table} {seconds:.1f} s" for table, seconds in took.items()))
    return Loaded(clinic.site_id, lanes, oldest, counts, time.perf_counter() - started)


# ---------------------------------------------------------------------------------------
# The reports, through the service


@dataclass
class Timing:
    name: str
    samples: list[float] = field(default_factory=list)  # milliseconds
    statements: list[int] = field(default_factory=list)
    error: str | None = None
    figures: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def worst(self) -> float:
        return max(self.samples)


def shown(figure: Figure) -> str:
    if figure.value is None:
        return f"{figure.title} -"
    if figure.kind is Kind.RATE:
        return f"{figure.title} {figure.value:.1%}"
    if isinstance(figure.value, float):
        return f"{figure.title} {figure.value:,.1f}"
    return f"{figure.title} {figure.value:,}"


def time_reports(engine: Engine, site_id: int, first_day: date, last_day: date) -> list[Timing]:
    """Each report built once to warm up, then RUNS times, each in a new session."""
    sessions: sessionmaker[Session] = make_sessionmaker(engine)

    def build_once(name: str) -> Callable[[], Report]:
        def call() -> Report:
            with sessions() as session:
                return build(session, datetime.now(UTC), name, site_id, first_day, last_day)

        return call

    timings = []
    for name in REPORTS:
        timing = Timing(name)
        timings.append(timing)
        call = build_once(name)
        try:
            report = call()
            timing.figures = "; ".join(shown(figure) for figure in report.figures)
            for _ in range(RUNS):
                with statements_of(engine) as seen:
                    began = time.perf_counter()
                    call()
                    timing.samples.append((time.perf_counter() - began) * 1000)
                timing.statements.append(len(seen))
        except Exception as error:  # printed; the other reports still run
            timing.error = f"{type(error).__name__}: {error}"
            print(f"  {name}: {timing.error}")
            continue
        print(
            f"  {name}: median {ms(timing.median)}, max {ms(timing.worst)}, "
            f"{timing.statements[-1]} statements; {timing.figures}"
        )
        if os.environ.get("BENCH_EXPLAIN"):
            explain_slowest(engine, name, call)
    return timings


def print_summary(loaded: Loaded, timings: list[Timing], first_day: date, last_day: date) -> None:
    print()
    print(
        f"Summary: {loaded.counts['appointments']:,} appointments "
        f"({loaded.counts['pathways']:,} pathways, {loaded.counts['pathway_events']:,} events) "
        f"since {loaded.first_day}, loaded in {loaded.seconds:.0f} s; reports over "
        f"{first_day} .. {last_day} (site-local, {(last_day - first_day).days + 1} days); "
        f"{RUNS} runs each after one warm-up ({os.cpu_count()} CPUs, load average "
        f"{os.getloadavg()[0]:.1f})"
    )
    print()
    print("| report | median | max | statements | target | verdict |")
    print("|---|---|---|---|---|---|")
    for timing in timings:
        if timing.error:
            print(f"| {timing.name} | | | | < 1 s | error: {timing.error[:80]} |")
            continue
        counts = sorted(set(timing.statements))
        print(
            f"| {timing.name} | {ms(timing.median)} | {ms(timing.worst)} | "
            f"{'/'.join(map(str, counts))} | < 1 s | {verdict(timing.worst < TARGET_MS)} |"
        )


# ---------------------------------------------------------------------------------------
# The run


def main() -> int:
    base_url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    keep = bool(os.environ.get("BENCH_KEEP_DATABASE"))
    now = datetime.now(UTC)
    today = now.astimezone(ZoneInfo(ZONE)).date()
    calendar = Calendar.around(today)
    lanes = lanes_for(SIZE, calendar, today)
    last_day = today - timedelta(days=1)
    first_day = last_day - timedelta(days=364)
    with ExitStack() as stack:
        url = stack.enter_context(scratch_database(base_url, f"reports_{SIZE // 1000}k", keep=keep))
        command.upgrade(alembic_config(url), "head")
        engine = make_engine(url)
        stack.callback(engine.dispose)
        with make_sessionmaker(engine)() as session:
            clinic = seed_clinic(session, now, lanes)
            session.commit()
        say(
            f"migrated; seeded {SITE_NAME} through the services: {lanes} clinicians working "
            f"Monday-Friday {OPENS:%H:%M}-{CLOSES:%H:%M}, {lanes} procedure rooms"
        )
        loaded = load_history(engine, clinic, calendar, now)
        print(f"Measuring each report over {first_day} .. {last_day}")
        timings = time_reports(engine, clinic.site_id, first_day, last_day)
    print_summary(loaded, timings, first_day, last_day)
    return 0


if __name__ == "__main__":
    sys.exit(main())
