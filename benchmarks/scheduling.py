"""Scheduling benchmarks on PostgreSQL: ``make bench`` (``python -m benchmarks.scheduling``).

In a scratch database, created and migrated here and dropped WITH (FORCE) at the end:

1. A clinic is seeded through the services: one site, procedure rooms with fluoroscopy
   and consult rooms, equipment of every kind, recovery bays, clinicians with weekly
   hours, a scheduler login with a token, and referred pathways to search and book for.
2. Appointments are bulk-loaded with SQL (``INSERT ... SELECT generate_series``), with the
   allocation rows booking writes (clinician, room, patient; equipment and recovery bay
   for procedures), first up to 10,000 and then up to 1,000,000 rows, then analyzed.
3. At each size: the median and p95 of slot search (a referred pathway, a diagnostic
   block, 30-day horizon) and of a busy day's daily list, called through the services;
   and booking throughput through gunicorn next to a one-insert baseline route on the
   same server and database (``benchmarks/bench_app.py``).

The targets (search and daily list 1M/10k <= 1.3, booking/baseline >= 0.40) are printed
next to the figures, never asserted: the script reports and exits 0.

Layout of the loaded appointments. Each of ``LANES`` clinicians works in a room of their
own with their own endoscope tower, RF generator and recovery bay (a "lane"), and does
the same ``DAY_TEMPLATE`` every day: blocks, follow-ups and three procedures whose room
turnover and recovery fit before the next one. Row ``i`` is day rank ``i // per_day``,
lane and position in the day; patient ``(rank % PATIENT_CYCLE, lane, position)`` comes
back every ``PATIENT_CYCLE`` day ranks, so nothing ever overlaps and the exclusion
constraints hold. The first 10,000 rows fill the days from ``NEAR_PAST`` days ago to
``NEAR_DAYS - NEAR_PAST - 1`` days ahead; the rest go outwards, three past days for each
future one (about 9 years back and 3 ahead at 1M). The windows read by the measured
queries are therefore the same rows at both sizes, and only the table sizes differ.

Environment: ``BENCH_DATABASE_URL`` names the server and a base name (default
``postgresql+psycopg://postgres@127.0.0.1:5432/scheduler_bench``); the scratch database
is ``<base name>_<pid>``, so a database you named yourself is never dropped.
``BENCH_KEEP_DATABASE=1`` keeps the scratch database for a closer look (EXPLAIN);
``BENCH_EXPLAIN=1`` prints EXPLAIN (ANALYZE, BUFFERS) of the slowest statement of each
measured call at each size.
"""

from __future__ import annotations

import http.client
import itertools
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any
from zoneinfo import ZoneInfo

from alembic import command
from sqlalchemy import Connection, Engine, create_engine, event, make_url, select, text
from sqlalchemy.orm import Session, sessionmaker

from scheduler.access import SYSTEM, Actor
from scheduler.auth.services import actor_for, create_user, issue_token
from scheduler.cli import alembic_config
from scheduler.clinicians import services as clinicians
from scheduler.db import make_engine, make_sessionmaker
from scheduler.facilities import services as facilities
from scheduler.pathways import services as pathways
from scheduler.pathways.referral import Referral
from scheduler.patients.services import register_patient
from scheduler.policies.models import PolicyRecord
from scheduler.policies.services import DEFAULT_POLICY
from scheduler.scheduling.calendars import DURATIONS
from scheduler.scheduling.search import search_slots
from scheduler.vocabulary import (
    AppointmentKind,
    EquipmentKind,
    Indication,
    Region,
    Role,
    RoomKind,
    Side,
)

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/scheduler_bench"

SIZES = (10_000, 1_000_000)
CHUNK = 50_000  # appointments (and their allocations) per INSERT and transaction
LOAD_CONNECTIONS = 2  # chunks loaded in parallel

SITE_NAME = "Benchmark Spine & Pain Center"
ZONE = "America/New_York"
LANES = 16
# One lane's day in site-local time: (minutes after midnight, kind). Durations are the
# defaults (block 30, procedure 90, follow-up 20); each procedure's room turnover ends
# before the next start and its recovery bay is free again before the next procedure
# ends. Working hours run to 19:00, so 17:45-19:00 stays open for slot search to find.
DAY_TEMPLATE = (
    (7 * 60, AppointmentKind.DIAGNOSTIC_BLOCK),
    (7 * 60 + 30, AppointmentKind.DIAGNOSTIC_BLOCK),
    (8 * 60, AppointmentKind.FOLLOW_UP),
    (8 * 60 + 30, AppointmentKind.PROCEDURE),
    (10 * 60 + 15, AppointmentKind.DIAGNOSTIC_BLOCK),
    (10 * 60 + 45, AppointmentKind.FOLLOW_UP),
    (11 * 60 + 15, AppointmentKind.PROCEDURE),
    (13 * 60, AppointmentKind.DIAGNOSTIC_BLOCK),
    (13 * 60 + 30, AppointmentKind.DIAGNOSTIC_BLOCK),
    (14 * 60, AppointmentKind.FOLLOW_UP),
    (14 * 60 + 30, AppointmentKind.PROCEDURE),
    (16 * 60 + 15, AppointmentKind.DIAGNOSTIC_BLOCK),
    (16 * 60 + 45, AppointmentKind.FOLLOW_UP),
    (17 * 60 + 15, AppointmentKind.DIAGNOSTIC_BLOCK),
)
PER_DAY = LANES * len(DAY_TEMPLATE)
NEAR_DAYS = 43  # day ranks filled first: today - NEAR_PAST ... today + 34
NEAR_PAST = 8
PATIENT_CYCLE = 400  # a bulk patient (and pathway) comes back every 400 day ranks
OPENS, CLOSES = clock_time(7), clock_time(19)

# Booking throughput: gunicorn workers, client threads, seconds per endpoint, and the
# referred pathways (one patient each) seeded per size for the bookings.
WORKERS = 4
CLIENT_THREADS = 8
RUN_SECONDS = 10.0
WARMUP_REQUESTS = 4 * WORKERS
BOOKING_POOL = 2_000
# Bookings go to the "walk-in" clinician, every half hour from this many days ahead: after
# the window slot search reads, so they never change what it measures.
BOOKING_FIRST_DAY = 40

SEARCH_RUNS, DAILY_LIST_RUNS, WARMUP_RUNS = 60, 200, 10
SEARCH_TARGET, BOOKING_TARGET = 1.3, 0.40

GIVEN_NAMES = ("Ada", "Ben", "Carla", "David", "Elena", "Farid", "Grace", "Hugo", "Irene")
FAMILY_NAMES = ("Moreno", "Okafor", "Nguyen", "Schmidt", "Rossi", "Haddad", "Kim", "Costa")

STARTED = time.perf_counter()


def say(message: str) -> None:
    print(f"[{time.perf_counter() - STARTED:7.1f}s] {message}", flush=True)


# ---------------------------------------------------------------------------------------
# Scratch database


@contextmanager
def scratch_database(base_url: str, suffix: str, *, keep: bool) -> Iterator[str]:
    """A new database ``<base name>_<pid>_<suffix>`` on ``base_url``'s server, dropped at
    the end."""
    url = make_url(base_url)
    name = f"{url.database}_{os.getpid()}_{suffix}"
    maintenance = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    quoted = maintenance.dialect.identifier_preparer.quote(name)
    drop = text(f"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)")
    try:
        with maintenance.connect() as connection:
            connection.execute(drop)
            connection.execute(text(f"CREATE DATABASE {quoted}"))
        say(f"created database {name}")
        try:
            yield url.set(database=name).render_as_string(hide_password=False)
        finally:
            if keep:
                say(f"kept database {name} (BENCH_KEEP_DATABASE)")
            else:
                with maintenance.connect() as connection:
                    connection.execute(drop)
                say(f"dropped database {name}")
    finally:
        maintenance.dispose()


# ---------------------------------------------------------------------------------------
# The clinic, through the services


@dataclass(frozen=True)
class Lane:
    clinician_id: int
    room_id: int
    tower_id: int
    generator_id: int
    bay_id: int


@dataclass
class Clinic:
    site_id: int
    policy_id: int
    lanes: list[Lane]
    walk_in_clinician_id: int
    walk_in_room_id: int
    actor: Actor
    token: str
    search_pathway_id: int
    booking_pathway_ids: list[int] = field(default_factory=list)


def _clinician(session: Session, now: datetime, site_id: int, n: int) -> int:
    given, family = GIVEN_NAMES[n % len(GIVEN_NAMES)], FAMILY_NAMES[n % len(FAMILY_NAMES)]
    clinician = clinicians.create_clinician(
        session,
        SYSTEM,
        now,
        given_name=given,
        family_name=f"{family}-{n}",
        email=f"dr{n}@bench.example.org",
    )
    clinicians.set_working_hours(
        session,
        SYSTEM,
        now,
        clinician.id,
        [{"site_id": site_id, "weekday": day, "start": OPENS, "end": CLOSES} for day in range(7)],
    )
    return clinician.id


def _referred_pathway(
    session: Session, actor: Actor, now: datetime, site_id: int, clinician_id: int, n: int
) -> int:
    today = now.astimezone(ZoneInfo(ZONE)).date()
    patient = register_patient(
        session,
        SYSTEM,
        now,
        mrn=f"LIVE-{n:06d}",
        given_name=GIVEN_NAMES[n % len(GIVEN_NAMES)],
        family_name=FAMILY_NAMES[n % len(FAMILY_NAMES)],
        birth_date=date(1950 + n % 40, 1 + n % 12, 1 + n % 28),
        # An address, so that each booking also queues its invite and reminder.
        email=f"patient{n}@bench.example.org",
        phone=None,
    )
    pathway = pathways.create_pathway(
        session,
        actor,
        now,
        Referral(
            patient_id=patient.id,
            clinician_id=clinician_id,
            site_id=site_id,
            indication=Indication.FACET_JOINT_SYNDROME,
            region=Region.LUMBAR,
            side=(Side.RIGHT, Side.LEFT, Side.BILATERAL)[n % 3],
            levels=["L4-L5", "L5-S1"] if n % 2 else ["L4-L5"],
            pain_onset_date=today - timedelta(days=200),
        ),
    )
    return pathway.id


def seed_clinic(session: Session, now: datetime) -> Clinic:
    site = facilities.create_site(
        session,
        SYSTEM,
        now,
        name=SITE_NAME,
        timezone=ZONE,
        address="1 Benchmark Way, Springfield, NY 10001",
        phone="+1 555 0100",
    )
    lanes = []
    for n in range(1, LANES + 1):
        room = facilities.create_room(
            session,
            SYSTEM,
            now,
            site_id=site.id,
            name=f"Procedure room {n}",
            kind=RoomKind.PROCEDURE,
            fluoroscopy=True,
        )
        tower, generator = (
            facilities.create_equipment(
                session, SYSTEM, now, site_id=site.id, name=f"{kind.value} {n}", kind=kind
            )
            for kind in (EquipmentKind.ENDOSCOPE_TOWER, EquipmentKind.RF_GENERATOR)
        )
        bay = facilities.create_recovery_bay(
            session, SYSTEM, now, site_id=site.id, name=f"Recovery bay {n}"
        )
        lanes.append(
            Lane(_clinician(session, now, site.id, n), room.id, tower.id, generator.id, bay.id)
        )
    # Rooms, units and bays no lane owns: walk-in bookings, the other methods' equipment.
    spare_rooms = [
        facilities.create_room(
            session,
            SYSTEM,
            now,
            site_id=site.id,
            name=f"Procedure room {n}",
            kind=RoomKind.PROCEDURE,
            fluoroscopy=True,
        )
        for n in (LANES + 1, LANES + 2)
    ]
    for n in (LANES + 1, LANES + 2):
        facilities.create_recovery_bay(
            session, SYSTEM, now, site_id=site.id, name=f"Recovery bay {n}"
        )
    for name in ("Consult room A", "Consult room B"):
        facilities.create_room(
            session,
            SYSTEM,
            now,
            site_id=site.id,
            name=name,
            kind=RoomKind.CONSULT,
            fluoroscopy=False,
        )
    for kind in (EquipmentKind.LASER_UNIT, EquipmentKind.SHAVER):
        for n in (1, 2):
            facilities.create_equipment(
                session, SYSTEM, now, site_id=site.id, name=f"{kind.value} {n}", kind=kind
            )
    walk_in = _clinician(session, now, site.id, 0)

    user = create_user(
        session,
        SYSTEM,
        now,
        email="scheduler@bench.example.org",
        password="bench-scheduler-pass",  # noqa: S106 (a throwaway database)
        role=Role.SCHEDULER,
    )
    token, _ = issue_token(session, user, now, timedelta(hours=12))
    actor = actor_for(user)
    policy_id = session.scalar(
        select(PolicyRecord.id)
        .where(PolicyRecord.name == DEFAULT_POLICY)
        .order_by(PolicyRecord.version.desc())
        .limit(1)
    )
    assert policy_id is not None
    search_pathway = _referred_pathway(session, actor, now, site.id, lanes[0].clinician_id, 0)
    clinic = Clinic(
        site.id, policy_id, lanes, walk_in, spare_rooms[0].id, actor, token, search_pathway
    )
    clinic.booking_pathway_ids = [
        _referred_pathway(session, actor, now, site.id, walk_in, n)
        for n in range(1, BOOKING_POOL + 1)
    ]
    return clinic


# ---------------------------------------------------------------------------------------
# Bulk load, with SQL

CREATE_LAYOUT = (
    "CREATE TABLE bench_lanes (lane integer PRIMARY KEY, clinician_id integer NOT NULL,"
    " room_id integer NOT NULL UNIQUE, tower_id integer NOT NULL,"
    " generator_id integer NOT NULL, bay_id integer NOT NULL)",
    "CREATE TABLE bench_template (pos integer PRIMARY KEY, minute integer NOT NULL,"
    " kind varchar(16) NOT NULL, minutes integer NOT NULL)",
)
INSERT_LANE = text(
    "INSERT INTO bench_lanes VALUES (:lane, :clinician_id, :room_id, :tower_id, :generator_id,"
    " :bay_id)"
)
INSERT_TEMPLATE = text("INSERT INTO bench_template VALUES (:pos, :minute, :kind, :minutes)")

# Patient and pathway number ``idx`` belongs to lane ``(idx % per_day) / k``.
INSERT_PATIENTS = text("""
INSERT INTO patients (id, mrn, given_name, family_name, birth_date, created_at)
SELECT :patient_base + g.idx,
       'BULK-' || lpad(g.idx::text, 7, '0'),
       (ARRAY['Ada', 'Ben', 'Carla', 'David', 'Elena', 'Farid', 'Grace'])[g.idx % 7 + 1],
       (ARRAY['Moreno', 'Okafor', 'Nguyen', 'Schmidt', 'Rossi', 'Haddad', 'Kim', 'Costa',
              'Tanaka', 'Brooks', 'Patel'])[g.idx % 11 + 1],
       DATE '1935-01-01' + (g.idx * 37) % 21000,
       CAST(:now AS timestamptz) - interval '10 years'
FROM generate_series(:lo, :hi - 1) AS g(idx)
""")
INSERT_PATHWAYS = text("""
INSERT INTO pathways (id, patient_id, clinician_id, site_id, policy_id, indication, region,
                      side, levels, target_nerve, method, sedation, pain_onset_date, state,
                      created_at, updated_at)
SELECT :pathway_base + g.idx, :patient_base + g.idx, l.clinician_id, :site_id, :policy_id,
       'facet_joint_syndrome', 'lumbar',
       (ARRAY['right', 'left', 'bilateral'])[g.idx % 3 + 1],
       CAST(CASE WHEN g.idx % 2 = 0 THEN '["L4-L5"]' ELSE '["L4-L5", "L5-S1"]' END AS jsonb),
       'medial_branch', 'rfa', TRUE, CAST(:today AS date) - 3800,
       (ARRAY['block_scheduled', 'eligible', 'procedure_scheduled', 'follow_up_scheduled',
              'completed'])[g.idx % 5 + 1],
       CAST(:now AS timestamptz) - interval '10 years', CAST(:now AS timestamptz)
FROM generate_series(:lo, :hi - 1) AS g(idx)
JOIN bench_lanes AS l ON l.lane = (g.idx % :per_day) / :k
""")
# One chunk of appointments (rows lo .. hi - 1 of the layout) and the allocations booking
# would have written for them (slots.Slot.allocations): the clinician for the appointment,
# the room and each equipment unit until turnover ends, the patient and the recovery bay
# until recovery ends; cancelled and no-show appointments keep inactive rows.
# Day rank r: the near days first (today - near_past ...), then outwards, three past days
# for each future one.
INSERT_APPOINTMENTS = text("""
WITH appointment AS (
    INSERT INTO appointments (ical_uid, pathway_id, patient_id, clinician_id, site_id, room_id,
                              kind, status, start_at, end_at, method, side, levels, version,
                              cancel_reason, created_at, updated_at)
    SELECT gen_random_uuid()::text,
           :pathway_base + x.idx, :patient_base + x.idx, l.clinician_id, :site_id, l.room_id,
           t.kind, s.status, x.start_at, x.start_at + make_interval(mins => t.minutes),
           CASE WHEN t.kind = 'procedure' THEN 'rfa' END,
           (ARRAY['right', 'left', 'bilateral'])[x.idx % 3 + 1],
           CAST(CASE WHEN x.idx % 2 = 0 THEN '["L4-L5"]' ELSE '["L4-L5", "L5-S1"]' END
                AS jsonb),
           1,
           CASE s.status WHEN 'cancelled' THEN 'Patient request'
                         WHEN 'no_show' THEN 'Did not attend' END,
           LEAST(x.start_at - interval '30 days', CAST(:now AS timestamptz)),
           LEAST(x.start_at - interval '30 days', CAST(:now AS timestamptz))
    FROM generate_series(:lo, :hi - 1) AS g(i)
    CROSS JOIN LATERAL (
        SELECT g.i / :per_day AS r, (g.i % :per_day) / :k AS lane, g.i % :k AS pos
    ) AS m
    CROSS JOIN LATERAL (
        SELECT CASE
                   WHEN m.r < :near_days THEN m.r - :near_past
                   WHEN (m.r - :near_days) % 4 < 3
                       THEN -:near_past - 1
                            - ((m.r - :near_days) / 4 * 3 + (m.r - :near_days) % 4)
                   ELSE :near_days - :near_past + (m.r - :near_days) / 4
               END AS day_offset
    ) AS d
    JOIN bench_lanes AS l ON l.lane = m.lane
    JOIN bench_template AS t ON t.pos = m.pos
    CROSS JOIN LATERAL (
        SELECT ((CAST(:today AS date) + d.day_offset) + make_interval(mins => t.minute))
                   AT TIME ZONE :zone AS start_at,
               (m.r % :cycle) * :per_day + m.lane * :k + m.pos AS idx
    ) AS x
    CROSS JOIN LATERAL (
        SELECT CASE
                   WHEN x.start_at > CAST(:now AS timestamptz)
                       THEN CASE WHEN g.i % 50 = 7 THEN 'cancelled' ELSE 'booked' END
                   WHEN g.i % 25 = 11 THEN 'cancelled'
                   WHEN g.i % 40 = 3 THEN 'no_show'
                   ELSE 'completed'
               END AS status
    ) AS s
    ORDER BY g.i
    RETURNING id, kind, status, clinician_id, room_id, patient_id, start_at, end_at
)
INSERT INTO allocations (appointment_id, resource_kind, resource_id, start_at, end_at, active)
SELECT a.id, r.kind, r.resource_id, r.start_at, r.end_at, a.status IN ('booked', 'completed')
FROM appointment AS a
JOIN bench_lanes AS l ON l.room_id = a.room_id
CROSS JOIN LATERAL (
    SELECT CASE WHEN a.kind = 'procedure' THEN make_interval(mins => :turnover)
                ELSE interval '0' END AS turnover,
           CASE WHEN a.kind = 'procedure' THEN make_interval(mins => :recovery)
                ELSE interval '0' END AS recovery
) AS p
CROSS JOIN LATERAL (
    VALUES ('clinician', a.clinician_id, a.start_at, a.end_at),
           ('room', a.room_id, a.start_at, a.end_at + p.turnover),
           ('patient', a.patient_id, a.start_at, a.end_at + p.recovery),
           ('equipment', l.tower_id, a.start_at, a.end_at + p.turnover),
           ('equipment', l.generator_id, a.start_at, a.end_at + p.turnover),
           ('recovery_bay', l.bay_id, a.end_at, a.end_at + p.recovery)
) AS r(kind, resource_id, start_at, end_at)
WHERE a.kind = 'procedure' OR r.kind IN ('clinician', 'room', 'patient')
ORDER BY r.kind, r.resource_id, r.start_at
""")
SET_SEQUENCE = "SELECT setval(pg_get_serial_sequence('{table}', 'id'), max(id)) FROM {table}"
BULK_TABLES = ("patients", "pathways", "appointments", "allocations")
COUNT_ROWS = text(
    "SELECT (SELECT count(*) FROM patients), (SELECT count(*) FROM pathways),"
    " (SELECT count(*) FROM appointments), (SELECT count(*) FROM allocations)"
)


class BulkLoader:
    """Appointments ``0 .. total`` of the layout, loaded in chunks; call with growing totals."""

    def __init__(self, engine: Engine, clinic: Clinic, now: datetime) -> None:
        self.engine = engine
        self.loaded = 0
        self.people = 0  # bulk patients (and their pathways) inserted so far
        with engine.begin() as connection:
            for statement in CREATE_LAYOUT:
                connection.execute(text(statement))
            connection.execute(
                INSERT_LANE,
                [{"lane": n, **vars(lane)} for n, lane in enumerate(clinic.lanes)],
            )
            connection.execute(
                INSERT_TEMPLATE,
                [
                    {
                        "pos": pos,
                        "minute": minute,
                        "kind": kind.value,
                        "minutes": int(DURATIONS[kind].total_seconds() // 60),
                    }
                    for pos, (minute, kind) in enumerate(DAY_TEMPLATE)
                ],
            )
            site = connection.execute(
                text("SELECT turnover_minutes, recovery_minutes FROM sites WHERE id = :id"),
                {"id": clinic.site_id},
            ).one()
            patient_base, pathway_base = connection.execute(
                text(
                    "SELECT (SELECT coalesce(max(id), 0) + 1 FROM patients),"
                    " (SELECT coalesce(max(id), 0) + 1 FROM pathways)"
                )
            ).one()
        self.params: dict[str, Any] = {
            "patient_base": patient_base,
            "pathway_base": pathway_base,
            "site_id": clinic.site_id,
            "policy_id": clinic.policy_id,
            "now": now,
            "today": now.astimezone(ZoneInfo(ZONE)).date(),
            "zone": ZONE,
            "per_day": PER_DAY,
            "k": len(DAY_TEMPLATE),
            "near_days": NEAR_DAYS,
            "near_past": NEAR_PAST,
            "cycle": PATIENT_CYCLE,
            "turnover": site.turnover_minutes,
            "recovery": site.recovery_minutes,
        }

    def load_to(self, total: int) -> None:
        started = time.perf_counter()
        with self.engine.begin() as connection:
            self._people_for(connection, total)
        chunks = [(lo, min(lo + CHUNK, total)) for lo in range(self.loaded, total, CHUNK)]
        # Chunks are disjoint days, so parallel loads never wait on each other's rows.
        with ThreadPoolExecutor(LOAD_CONNECTIONS) as pool:
            list(pool.map(self._load_chunk, chunks))
        with self.engine.begin() as connection:
            for table in BULK_TABLES:
                connection.execute(text(SET_SEQUENCE.format(table=table)))
        self.loaded = total
        loading = time.perf_counter() - started
        with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text(f"VACUUM (ANALYZE) {', '.join(BULK_TABLES)}"))
            counts = dict(zip(BULK_TABLES, connection.execute(COUNT_ROWS).one(), strict=True))
        say(
            f"loaded {total:,} appointments in {loading:.1f} s, vacuumed and analyzed in "
            f"{time.perf_counter() - started - loading:.1f} s: "
            + ", ".join(f"{count:,} {table}" for table, count in counts.items())
        )

    def _load_chunk(self, bounds: tuple[int, int]) -> None:
        lo, hi = bounds
        with self.engine.begin() as connection:
            connection.execute(text("SET LOCAL synchronous_commit = off"))
            connection.execute(INSERT_APPOINTMENTS, {**self.params, "lo": lo, "hi": hi})

    def _people_for(self, connection: Connection, hi: int) -> None:
        """Insert the bulk patients and pathways appointments ``< hi`` refer to."""
        ranks = min(PATIENT_CYCLE, (hi - 1) // PER_DAY + 1)
        needed = ranks * PER_DAY
        if needed > self.people:
            bounds = {**self.params, "lo": self.people, "hi": needed}
            connection.execute(INSERT_PATIENTS, bounds)
            connection.execute(INSERT_PATHWAYS, bounds)
            self.people = needed


# ---------------------------------------------------------------------------------------
# Latency of slot search and the daily list, through the services


@dataclass(frozen=True)
class Latency:
    median: float
    p95: float

    @classmethod
    def of(cls, samples: list[float]) -> Latency:
        return cls(statistics.median(samples), statistics.quantiles(samples, n=20)[-1])


def measure(calls: list[Callable[[], object]], runs: int) -> list[Latency]:
    """Latency of each call, timed in turns (the order flips every round), so that a change
    in the machine's load falls on every call alike."""
    for call in calls:
        for _ in range(WARMUP_RUNS):
            call()
    samples: list[list[float]] = [[] for _ in calls]
    for round_number in range(runs):
        order = list(enumerate(calls))
        for index, call in order if round_number % 2 else reversed(order):
            started = time.perf_counter()
            call()
            samples[index].append((time.perf_counter() - started) * 1000)
    return [Latency.of(timings) for timings in samples]


@contextmanager
def statements_of(engine: Engine) -> Iterator[list[tuple[float, str, Any]]]:
    """Every statement run on ``engine`` meanwhile: (milliseconds, SQL, parameters)."""
    seen: list[tuple[float, str, Any]] = []
    started: list[float] = []

    def before(*_args: Any) -> None:
        started.append(time.perf_counter())

    def after(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_rest: Any) -> None:
        seen.append(((time.perf_counter() - started.pop()) * 1000, statement, parameters))

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)


def explain_slowest(engine: Engine, name: str, call: Callable[[], object]) -> None:
    with statements_of(engine) as seen:
        call()
    milliseconds, statement, parameters = max(seen, key=lambda row: row[0])
    with engine.connect() as connection:
        plan = connection.exec_driver_sql(
            "EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters
        ).scalars()
        print(f"    {name}: slowest of {len(seen)} statements ({milliseconds:.2f} ms):")
        print("      " + " ".join(statement.split()))
        for line in plan:
            print(f"        {line}")


def statement_buffers(engine: Engine, call: Callable[[], object]) -> list[tuple[int, str]]:
    """Shared buffers (hit or read) of each statement ``call`` runs, by EXPLAIN ANALYZE: what
    an index keeps flat whatever the table size and however busy the machine is."""
    with statements_of(engine) as seen:
        call()
    buffers = []
    with engine.connect() as connection:
        for _ms, statement, parameters in seen:
            (explained,) = connection.exec_driver_sql(
                "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + statement, parameters
            ).scalar_one()
            plan = explained["Plan"]
            touched = plan.get("Shared Hit Blocks", 0) + plan.get("Shared Read Blocks", 0)
            buffers.append((touched, " ".join(statement.split())))
    return buffers


@dataclass
class Scenario:
    """One scratch database: the clinic, seeded, with ``size`` appointments loaded."""

    size: int
    url: str
    engine: Engine
    clinic: Clinic


@dataclass(frozen=True)
class Reads:
    """Latency (ms) and shared buffers per call of slot search and the daily list."""

    search: Latency
    daily_list: Latency
    search_buffers: int
    daily_list_buffers: int


def read_calls(scenario: Scenario, now: datetime) -> tuple[Callable[[], int], Callable[[], int]]:
    sessions: sessionmaker[Session] = make_sessionmaker(scenario.engine)
    clinic = scenario.clinic

    def search() -> int:
        with sessions() as session:
            found, _zone = search_slots(
                session,
                clinic.actor,
                now,
                clinic.search_pathway_id,
                kind=AppointmentKind.DIAGNOSTIC_BLOCK,
                days=30,
            )
            return len(found)

    def daily_list() -> int:
        with sessions() as session:
            cases = daily_list(session, clinic.lanes[0].clinician_id, busy_day(now))
            return len(cases)

    return search, daily_list


def busy_day(now: datetime) -> date:
    return now.astimezone(ZoneInfo(ZONE)).date() + timedelta(days=1)


def measure_reads(scenarios: list[Scenario], now: datetime) -> list[Reads]:
    """Both operations on every database, timed in turns; then their shared buffers."""
    calls = [read_calls(scenario, now) for scenario in scenarios]
    latencies = [
        measure([pair[0] for pair in calls], SEARCH_RUNS),
        measure([pair[1] for pair in calls], DAILY_LIST_RUNS),
    ]
    buffers: list[list[int]] = [[], []]
    explain = bool(os.environ.get("BENCH_EXPLAIN"))
    for index, (name, found) in enumerate(
        (
            ("slot search, diagnostic block, 30-day horizon", "slots"),
            (f"daily list of a busy clinician on {busy_day(now).isoformat()}", "cases"),
        )
    ):
        print(f"  {name}")
        for scenario, pair, latency in zip(scenarios, calls, latencies[index], strict=True):
            statements = statement_buffers(scenario.engine, pair[index])
            buffers[index].append(sum(touched for touched, _ in statements))
            print(
                f"    {scenario.size:>9,} appointments: median {latency.median:6.2f} ms  "
                f"p95 {latency.p95:6.2f} ms   ({pair[index]()} {found}, "
                f"{len(statements)} statements, {buffers[index][-1]} buffers)"
            )
            if explain:
                for touched, statement in statements:
                    print(f"      {touched:5d} buffers  {statement[:110]}")
                explain_slowest(scenario.engine, name, pair[index])
    return [
        Reads(search, daily_list, search_buffers, list_buffers)
        for search, daily_list, search_buffers, list_buffers in zip(
            *latencies, *buffers, strict=True
        )
    ]


# ---------------------------------------------------------------------------------------
# Throughput through gunicorn

BASELINE_TABLE = (
    "CREATE TABLE bench_baseline (id bigserial PRIMARY KEY, key varchar(32) NOT NULL,"
    " created_at timestamptz NOT NULL)",
    "CREATE UNIQUE INDEX ix_bench_baseline_key ON bench_baseline (key)",
)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _get(port: int, path: str) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


@contextmanager
def gunicorn(url: str, log: Path) -> Iterator[int]:
    """``benchmarks.bench_app`` served on a free local port; stopped by its pid at the end."""
    port = free_port()
    environment = {
        **os.environ,
        "SCHEDULER_DATABASE_URL": url,
        "SCHEDULER_LOG_LEVEL": "WARNING",
        "SCHEDULER_SECRET_KEY": "benchmark",
    }
    with log.open("ab") as output:
        server = subprocess.Popen(  # noqa: S603 (our own interpreter and arguments)
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--config",
                "gunicorn.conf.py",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(WORKERS),
                "benchmarks.bench_app:app",
            ],
            cwd=ROOT,
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            if server.poll() is not None:
                raise RuntimeError(f"gunicorn exited ({server.returncode}); see {log}")
            try:
                if _get(port, "/bench/health") == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not answer within 60 s; see {log}")
            time.sleep(0.2)
        yield port
    finally:
        server.terminate()  # SIGTERM to the arbiter's pid: graceful shutdown
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


Request = tuple[str, bytes, dict[str, str]]


@dataclass
class Run:
    succeeded: int = 0
    failed: int = 0
    seconds: float = 0.0
    first_failure: str | None = None
    ran_out: bool = False

    @property
    def per_second(self) -> float:
        return self.succeeded / self.seconds if self.seconds else 0.0


def drive(port: int, requests: Iterator[Request], *, seconds: float, expect: int = 201) -> Run:
    """POST ``requests`` from ``CLIENT_THREADS`` threads until they run out or time is up."""
    run = Run()
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def client() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        try:
            while time.monotonic() < deadline:
                with lock:
                    request = next(requests, None)
                if request is None:
                    run.ran_out = True
                    return
                path, body, headers = request
                connection.request("POST", path, body=body, headers=headers)
                response = connection.getresponse()
                payload = response.read()
                with lock:
                    if response.status == expect:
                        run.succeeded += 1
                    else:
                        run.failed += 1
                        run.first_failure = run.first_failure or (
                            f"{response.status} {payload[:300].decode(errors='replace')}"
                        )
        finally:
            connection.close()

    threads = [threading.Thread(target=client) for _ in range(CLIENT_THREADS)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    run.seconds = time.perf_counter() - started
    return run


def baseline_requests() -> Iterator[Request]:
    headers = {"Content-Type": "application/json"}
    return itertools.repeat(("/bench/baseline", b"{}", headers))


def booking_requests(clinic: Clinic, pool: list[int], first_day: date) -> Iterator[Request]:
    """A diagnostic block for each pathway, every half hour of the walk-in clinician's day,
    in a room no lane uses (the 1M load later fills the lanes' rooms on these days)."""
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {clinic.token}"}
    zone = ZoneInfo(ZONE)
    length = DURATIONS[AppointmentKind.DIAGNOSTIC_BLOCK]
    per_day = (CLOSES.hour - OPENS.hour) * 60 // int(length.total_seconds() // 60)
    for n, pathway_id in enumerate(pool):
        day, slot = divmod(n, per_day)
        start = datetime.combine(first_day + timedelta(days=day), OPENS, zone) + slot * length
        body = {
            "pathway_id": pathway_id,
            "kind": AppointmentKind.DIAGNOSTIC_BLOCK.value,
            "start": start.isoformat(),
            "room_id": clinic.walk_in_room_id,
        }
        yield "/api/v1/appointments", json.dumps(body).encode(), headers


@dataclass(frozen=True)
class Throughput:
    baseline: Run
    booking: Run

    @property
    def ratio(self) -> float:
        return self.booking.per_second / self.baseline.per_second


def measure_throughput(scenario: Scenario, log: Path) -> Throughput:
    """Baseline, bookings, baseline again (half the time each side), so that both endpoints
    see the same machine even when its load drifts."""
    today = datetime.now(UTC).astimezone(ZoneInfo(ZONE)).date()
    bookings = booking_requests(
        scenario.clinic,
        scenario.clinic.booking_pathway_ids,
        today + timedelta(days=BOOKING_FIRST_DAY),
    )
    print(f"  booking throughput at {scenario.size:,} appointments")
    with gunicorn(scenario.url, log) as port:
        drive(port, itertools.islice(baseline_requests(), WARMUP_REQUESTS), seconds=RUN_SECONDS)
        before = drive(port, baseline_requests(), seconds=RUN_SECONDS / 2)
        warmup = drive(port, itertools.islice(bookings, WARMUP_REQUESTS), seconds=RUN_SECONDS)
        booking = drive(port, bookings, seconds=RUN_SECONDS)
        after = drive(port, baseline_requests(), seconds=RUN_SECONDS / 2)
    baseline = Run(
        succeeded=before.succeeded + after.succeeded,
        failed=before.failed + after.failed,
        seconds=before.seconds + after.seconds,
        first_failure=before.first_failure or after.first_failure,
    )
    for name, run in (("baseline", baseline), ("booking warm-up", warmup), ("booking", booking)):
        if run.failed:
            print(f"    {name}: {run.failed} failed; first: {run.first_failure}")
    if booking.ran_out:
        print("    (the booking pool ran out before the time was up: raise BOOKING_POOL)")
    result = Throughput(baseline, booking)
    print(
        f"    baseline POST /bench/baseline:      {baseline.per_second:7.1f} req/s "
        f"({baseline.succeeded} in {baseline.seconds:.1f} s: {before.per_second:.0f} before, "
        f"{after.per_second:.0f} after the bookings)"
    )
    print(
        f"    booking  POST /api/v1/appointments: {booking.per_second:7.1f} req/s "
        f"({booking.succeeded} booked in {booking.seconds:.1f} s, {booking.failed} refused)"
    )
    return result


# ---------------------------------------------------------------------------------------
# The run


def verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def prepare(url: str, size: int, now: datetime) -> Scenario:
    """Migrate, seed the clinic through the services, bulk-load ``size`` appointments."""
    command.upgrade(alembic_config(url), "head")
    engine = make_engine(url)
    with engine.begin() as connection:
        for statement in BASELINE_TABLE:
            connection.execute(text(statement))
    with make_sessionmaker(engine)() as session:
        clinic = seed_clinic(session, now)
        session.commit()
    say(
        f"migrated; seeded {SITE_NAME} through the services: {LANES + 1} clinicians, "
        f"{LANES + 4} rooms, {2 * LANES + 4} equipment units, {LANES + 2} recovery bays, "
        f"{1 + BOOKING_POOL} referred pathways"
    )
    BulkLoader(engine, clinic, now).load_to(size)
    return Scenario(size, url, engine, clinic)


def main() -> int:
    base_url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    keep = bool(os.environ.get("BENCH_KEEP_DATABASE"))
    now = datetime.now(UTC)
    with ExitStack() as stack:
        logs = Path(stack.enter_context(TemporaryDirectory(prefix="scheduler-bench-")))
        scenarios = []
        for size in SIZES:
            url = stack.enter_context(scratch_database(base_url, f"{size // 1000}k", keep=keep))
            scenario = prepare(url, size, now)
            stack.callback(scenario.engine.dispose)
            scenarios.append(scenario)
        print(f"Measuring (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")
        reads = measure_reads(scenarios, now)
        throughputs = [
            measure_throughput(scenario, logs / f"gunicorn-{scenario.size}.log")
            for scenario in scenarios
        ]
    print_summary(reads, throughputs)
    return 0


def print_summary(reads: list[Reads], throughputs: list[Throughput]) -> None:
    small, large = reads
    rows = (
        ("slot search", small.search, large.search, small.search_buffers, large.search_buffers),
        (
            "daily list",
            small.daily_list,
            large.daily_list,
            small.daily_list_buffers,
            large.daily_list_buffers,
        ),
    )
    print()
    print(f"Summary ({os.cpu_count()} CPUs, load average now {os.getloadavg()[0]:.1f})")
    for name, before, after, buffers_before, buffers_after in rows:
        ratio = after.median / before.median
        print(
            f"  {name:<12} median 1M/10k   {ratio:5.2f}   target <= {SEARCH_TARGET}   "
            f"{verdict(ratio <= SEARCH_TARGET):<6}  (p95 {after.p95 / before.p95:.2f}, "
            f"buffers {buffers_after / buffers_before:.2f})"
        )
    for size, result in zip(SIZES, throughputs, strict=True):
        print(
            f"  booking/baseline at {size:>9,} {result.ratio:5.2f}   target >= {BOOKING_TARGET}  "
            f"{verdict(result.ratio >= BOOKING_TARGET):<6}  "
            f"({result.booking.per_second:.0f} vs {result.baseline.per_second:.0f} req/s)"
        )


if __name__ == "__main__":
    sys.exit(main())
