"""Scheduling benchmarks on PostgreSQL: ``make bench`` (``python -m benchmarks.scheduling``).

In a scratch database, created and migrated here and dropped WITH (FORCE) at the end:

1. A clinic is seeded through the services: one site, procedure rooms with fluoroscopy
   and consult rooms, equipment of every kind, recovery bays, clinicians with weekly
   hours, a scheduler login with a token, and referred pathways to search and book for.
   One more clinician's calendar is booked nearly full with SQL for ``BUSY_DAYS`` days.
2. Appointments are bulk-loaded with SQL (``INSERT ... SELECT generate_series``), with the
   allocation rows booking writes (clinician, room, patient; equipment and recovery bay
   for procedures), first up to 10,000 and then up to 1,000,000 rows, then analyzed.
3. At each size, in process through the services: median and p95 of slot search (30-day
   horizon), a one-day listing, a 90-day search on the nearly full calendar, a busy
   day's daily list and booking (rolled back), each next to its SQL floor (its own
   statements replayed on a bare connection: ``benchmarks/floors.py``) and with its
   statement count; the statements of one booking request through the app.
4. At each size, through gunicorn (``benchmarks/bench_app.py``, ``benchmarks/load.py``):
   booking throughput next to a one-insert baseline route on the same server and
   database; a lone client's search against 8 clients searching while 8 book, with
   pg_stat_activity sampled for lock waits; each worker's resident memory at warm-up
   and after ``SERVER_REQUESTS`` requests.

The targets of issue #16 (search median <= 3x and p95 <= 4x its floor, 1M/10k <= 1.3;
booking <= 8 statements, <= 2x its floor, >= 0.25 of the baseline; daily list <= 3
statements, 1M/10k <= 1.3; search p95 under load <= 2x idle, no lock waits, no memory
growth) are printed next to the figures in one table, never asserted: the script
reports and exits 0.

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
measured read at each size. ``BENCH_SIZES`` chooses the sizes (``10000`` for a quick
run), ``BENCH_SERVER_REQUESTS`` the requests before memory is read again (10,000), and
``BENCH_PROFILE=1`` prints cProfile's top functions of search and booking.
"""

from __future__ import annotations

import cProfile
import http.client
import io
import itertools
import json
import os
import pstats
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
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

from benchmarks.floors import Floor, Statement, capture, captured, libpq_url, replay, writing_floor
from benchmarks.load import LockSampler, Request, Run, drive, side_by_side, worker_rss
from scheduler import create_app
from scheduler.access import SYSTEM, Actor
from scheduler.auth.services import actor_for, create_user, issue_token
from scheduler.cli import alembic_config
from scheduler.clinicians import services as clinicians
from scheduler.context import Database
from scheduler.db import make_engine, make_sessionmaker
from scheduler.facilities import services as facilities
from scheduler.heap import freeze_startup_heap
from scheduler.pathways import services as pathways
from scheduler.pathways.referral import Referral
from scheduler.patients.services import register_patient
from scheduler.policies.models import PolicyRecord
from scheduler.policies.services import DEFAULT_POLICY
from scheduler.scheduling.booking import book_appointment
from scheduler.scheduling.calendars import DURATIONS
from scheduler.scheduling.daily_list import daily_list
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

DEFAULT_SIZES = (10_000, 1_000_000)
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

SEARCH_RUNS, DAILY_LIST_RUNS, BOOKING_RUNS, WARMUP_RUNS = 60, 200, 100, 10
FLOOR_RUNS = 100  # replays of each operation's statements on a bare connection
FLAT_TARGET, BOOKING_TARGET = 1.3, 0.25

# The nearly full calendar: a clinician booked every half hour of their day (diagnostic
# blocks in a spare room) from yesterday to BUSY_DAYS ahead, except the last half hour of
# every BUSY_FREE_EVERY-th day: about ten free slots in a 90-day horizon, the worst case
# for slot search (every day's calendar read and walked to find them).
BUSY_DAYS = 95
BUSY_FREE_EVERY = 9
BUSY_HORIZON = 90
# The one-day listing: every free diagnostic block start of one clinician's day.
LISTING_LIMIT = 500
LISTING_DAY = 2  # days ahead, so that the whole day is after the booking lead time

# The server runs: requests per worker at warm-up (memory measured after it) and the
# requests the server has answered in all when memory is measured again.
SERVER_REQUESTS = int(os.environ.get("BENCH_SERVER_REQUESTS", "10000"))
UNDER_LOAD_CLIENTS = 8  # searching clients, and as many booking ones
IDLE_SEARCHES = 100
RSS_GROWTH_TARGET = 1.10  # resident memory after / at warm-up

GIVEN_NAMES = ("Ada", "Ben", "Carla", "David", "Elena", "Farid", "Grace", "Hugo", "Irene")
FAMILY_NAMES = ("Moreno", "Okafor", "Nguyen", "Schmidt", "Rossi", "Haddad", "Kim", "Costa")

STARTED = time.perf_counter()


def sizes() -> tuple[int, ...]:
    """``BENCH_SIZES`` (comma-separated appointment counts, growing), else 10k and 1M."""
    chosen = os.environ.get("BENCH_SIZES")
    if not chosen:
        return DEFAULT_SIZES
    return tuple(sorted(int(size.replace("_", "")) for size in chosen.split(",")))


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
    busy_clinician_id: int = 0
    busy_room_id: int = 0
    busy_search_pathway_id: int = 0
    busy_pathway_ids: list[int] = field(default_factory=list)
    listing_pathway_id: int = 0
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
    clinic.listing_pathway_id = _referred_pathway(
        session, actor, now, site.id, walk_in, BOOKING_POOL + 1
    )
    # The nearly full calendar's clinician, their room, the pathway searched for, and one
    # patient (and pathway) for each half hour of the day (SQL fills them in later).
    busy = _clinician(session, now, site.id, LANES + 3)
    clinic.busy_clinician_id, clinic.busy_room_id = busy, spare_rooms[1].id
    first = BOOKING_POOL + 2
    clinic.busy_search_pathway_id = _referred_pathway(session, actor, now, site.id, busy, first)
    per_day = (CLOSES.hour - OPENS.hour) * 2
    clinic.busy_pathway_ids = [
        _referred_pathway(session, actor, now, site.id, busy, n)
        for n in range(first + 1, first + 1 + per_day)
    ]
    return clinic


# The nearly full calendar: pathway ``pos`` (1-based) has the half hour ``pos - 1`` of
# every day, and its allocations are the ones booking writes for a block.
INSERT_BUSY_CALENDAR = text("""
WITH appointment AS (
    INSERT INTO appointments (ical_uid, pathway_id, patient_id, clinician_id, site_id, room_id,
                              kind, status, start_at, end_at, method, side, levels, version,
                              cancel_reason, created_at, updated_at)
    SELECT gen_random_uuid()::text, p.pathway_id, w.patient_id, :clinician_id, :site_id,
           :room_id, 'diagnostic_block', 'booked', x.start_at,
           x.start_at + interval '30 minutes', NULL, w.side, w.levels, 1, NULL,
           CAST(:now AS timestamptz), CAST(:now AS timestamptz)
    FROM generate_series(-1, :days) AS d(day)
    CROSS JOIN unnest(CAST(:pathways AS integer[])) WITH ORDINALITY AS p(pathway_id, pos)
    JOIN pathways AS w ON w.id = p.pathway_id
    CROSS JOIN LATERAL (
        SELECT ((CAST(:today AS date) + d.day)
                + make_interval(mins => :opens + 30 * (p.pos::integer - 1)))
                   AT TIME ZONE :zone AS start_at
    ) AS x
    WHERE NOT (p.pos = cardinality(CAST(:pathways AS integer[])) AND d.day % :every = 0)
    RETURNING id, clinician_id, room_id, patient_id, start_at, end_at
)
INSERT INTO allocations (appointment_id, resource_kind, resource_id, start_at, end_at, active)
SELECT a.id, r.kind, r.resource_id, a.start_at, a.end_at, TRUE
FROM appointment AS a
CROSS JOIN LATERAL (
    VALUES ('clinician', a.clinician_id), ('room', a.room_id), ('patient', a.patient_id)
) AS r(kind, resource_id)
""")


def load_busy_calendar(engine: Engine, clinic: Clinic, now: datetime) -> int:
    """Book the busy clinician's days nearly full; the number of appointments."""
    with engine.begin() as connection:
        connection.execute(
            INSERT_BUSY_CALENDAR,
            {
                "clinician_id": clinic.busy_clinician_id,
                "site_id": clinic.site_id,
                "room_id": clinic.busy_room_id,
                "now": now,
                "days": BUSY_DAYS,
                "pathways": clinic.busy_pathway_ids,
                "today": now.astimezone(ZoneInfo(ZONE)).date(),
                "opens": OPENS.hour * 60,
                "zone": ZONE,
                "every": BUSY_FREE_EVERY,
            },
        )
        booked: int = connection.execute(
            text("SELECT count(*) FROM appointments WHERE clinician_id = :id"),
            {"id": clinic.busy_clinician_id},
        ).scalar_one()
    return booked


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


def measure(calls: Sequence[Callable[[], object]], runs: int) -> list[Latency]:
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


# ---------------------------------------------------------------------------------------
# The operations in process, through the services, next to their SQL floors


@dataclass(frozen=True)
class Operation:
    key: str
    title: str
    found: str  # what a call returns the number of
    runs: int
    writes: bool = False


OPERATIONS = (
    Operation("search", "slot search: diagnostic block, 30-day horizon", "slots", SEARCH_RUNS),
    Operation(
        "listing",
        f"one-day listing: every free block start of one clinician's day (limit {LISTING_LIMIT})",
        "slots",
        SEARCH_RUNS,
    ),
    Operation(
        "busy",
        f"slot search: {BUSY_HORIZON}-day horizon, nearly full calendar",
        "slots",
        SEARCH_RUNS,
    ),
    Operation("daily_list", "daily list of a busy clinician", "cases", DAILY_LIST_RUNS),
    Operation(
        "booking",
        "booking a diagnostic block through the services, rolled back",
        "appointment",
        BOOKING_RUNS,
        writes=True,
    ),
)


@dataclass(frozen=True)
class Measured:
    """One operation at one size: its latency, its floor and its statements."""

    latency: Latency
    floor: Floor
    found: int
    buffers: int | None  # shared buffers its statements touch (reads only)


def busy_day(now: datetime) -> date:
    return now.astimezone(ZoneInfo(ZONE)).date() + timedelta(days=1)


def operation_calls(scenario: Scenario, now: datetime) -> dict[str, Callable[[], int]]:
    """Each operation as a call through the services in a session of its own."""
    sessions: sessionmaker[Session] = make_sessionmaker(scenario.engine)
    clinic = scenario.clinic
    zone = ZoneInfo(ZONE)
    today = now.astimezone(zone).date()

    def searching(pathway_id: int, **options: Any) -> Callable[[], int]:
        def search() -> int:
            with sessions() as session:
                found, _zone = search_slots(
                    session,
                    clinic.actor,
                    now,
                    pathway_id,
                    kind=AppointmentKind.DIAGNOSTIC_BLOCK,
                    **options,
                )
                return len(found)

        return search

    def listing() -> int:
        with sessions() as session:
            return len(daily_list(session, clinic.lanes[0].clinician_id, busy_day(now)))

    start = datetime.combine(today + timedelta(days=BOOKING_FIRST_DAY - 1), OPENS, zone)

    def booking() -> int:
        with sessions() as session:
            book_appointment(
                session,
                clinic.actor,
                now,
                pathway_id=clinic.listing_pathway_id,
                kind=AppointmentKind.DIAGNOSTIC_BLOCK,
                start=start,
                room_id=clinic.walk_in_room_id,
                reminder_before=timedelta(hours=48),
            )
            session.rollback()
            return 1

    whole_day = datetime.combine(today + timedelta(days=LISTING_DAY), clock_time(), zone)
    return {
        "search": searching(clinic.search_pathway_id, days=30),
        "listing": searching(
            clinic.listing_pathway_id, after=whole_day, days=1, limit=LISTING_LIMIT
        ),
        "busy": searching(clinic.busy_search_pathway_id, days=BUSY_HORIZON),
        "daily_list": listing,
        "booking": booking,
    }


def measure_operations(scenarios: list[Scenario], now: datetime) -> dict[str, list[Measured]]:
    """Each operation on every database, timed in turns; then its floor and buffers."""
    calls = [operation_calls(scenario, now) for scenario in scenarios]
    if os.environ.get("BENCH_PROFILE"):
        profile(calls[0])
    explain = bool(os.environ.get("BENCH_EXPLAIN"))
    measured: dict[str, list[Measured]] = {}
    for operation in OPERATIONS:
        mine = [call[operation.key] for call in calls]
        latencies = measure(mine, operation.runs)
        print(f"  {operation.title}")
        measured[operation.key] = []
        for scenario, call, latency in zip(scenarios, mine, latencies, strict=True):
            engine = scenario.engine
            if operation.writes:
                statements, floor = writing_floor(engine, call, FLOOR_RUNS)
                buffers = None
            else:
                statements = capture(engine, call)
                floor = replay(libpq_url(engine), statements, FLOOR_RUNS)
                buffers = sum(touched for touched, _ in statement_buffers(engine, call))
            found = call()
            measured[operation.key].append(Measured(latency, floor, found, buffers))
            print(
                f"    {scenario.size:>9,} appointments: median {latency.median:6.2f} ms  "
                f"p95 {latency.p95:6.2f} ms   floor {floor.median:6.2f} ms "
                f"(p95 {floor.p95:.2f})   {found} {operation.found}, "
                f"{floor.statements} statements"
                + ("" if buffers is None else f", {buffers} buffers")
            )
            if explain and not operation.writes:
                for touched, statement in statement_buffers(engine, call):
                    print(f"      {touched:5d} buffers  {statement[:110]}")
                explain_slowest(engine, operation.title, call)
    return measured


def profile(calls: dict[str, Callable[[], int]]) -> None:
    """cProfile of slot search and booking in process (``BENCH_PROFILE=1``): the top
    functions by cumulative and by own time, at the first size."""
    for key in ("search", "busy", "booking"):
        call = calls[key]
        for _ in range(WARMUP_RUNS):
            call()
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(20):
            call()
        profiler.disable()
        for order in ("cumulative", "tottime"):
            print(f"  profile of {key}, 20 calls, by {order}:")
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).strip_dirs().sort_stats(order).print_stats(25)
            print("\n".join("    " + line for line in out.getvalue().splitlines() if line))


def booking_request_statements(scenario: Scenario, now: datetime) -> list[Statement]:
    """The statements of one booking request (token, booking, commit) through the app in
    process: what a booking costs the database, the count the issue asks for."""
    clinic = scenario.clinic
    app = create_app(
        {"DATABASE_URL": scenario.url, "SECRET_KEY": "benchmark", "LOG_LEVEL": "WARNING"}
    )
    engine = Database.of(app).engine
    zone = ZoneInfo(ZONE)
    day = now.astimezone(zone).date() + timedelta(days=BOOKING_FIRST_DAY - 1)
    body = {
        "pathway_id": clinic.booking_pathway_ids.pop(),  # booked for good: out of the pool
        "kind": AppointmentKind.DIAGNOSTIC_BLOCK.value,
        "start": datetime.combine(day, clock_time(OPENS.hour + 1), zone).isoformat(),
        "room_id": clinic.walk_in_room_id,
    }
    try:
        with captured(engine) as seen:
            response = app.test_client().post(
                "/api/v1/appointments",
                json=body,
                headers={"Authorization": f"Bearer {clinic.token}"},
            )
    finally:
        engine.dispose()
    if response.status_code != 201:
        print(f"    booking request refused: {response.status_code} {response.get_data()[:300]!r}")
    return seen


# ---------------------------------------------------------------------------------------
# Through gunicorn: booking throughput, search under load, memory of the workers

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
def gunicorn(url: str, log: Path) -> Iterator[tuple[int, int]]:
    """``benchmarks.bench_app`` served on a free local port, with its arbiter's pid;
    stopped by that pid at the end."""
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
        yield port, server.pid
    finally:
        server.terminate()  # SIGTERM to the arbiter's pid: graceful shutdown
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def baseline_requests() -> Iterator[Request]:
    headers = {"Content-Type": "application/json"}
    return itertools.repeat(("POST", "/bench/baseline", b"{}", headers))


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
        yield "POST", "/api/v1/appointments", json.dumps(body).encode(), headers


def read_requests(clinic: Clinic, now: datetime, *, daily_lists: bool) -> Iterator[Request]:
    """Slot searches (30-day horizon), alternating with daily lists if ``daily_lists``."""
    headers = {"Authorization": f"Bearer {clinic.token}"}
    search = f"/api/v1/pathways/{clinic.search_pathway_id}/slots?kind=diagnostic_block&days=30"
    listing = (
        f"/api/v1/clinicians/{clinic.lanes[0].clinician_id}/daily-list"
        f"?date={busy_day(now).isoformat()}"
    )
    paths = (search, listing) if daily_lists else (search,)
    return (("GET", path, None, headers) for path in itertools.cycle(paths))


@dataclass(frozen=True)
class ServerRuns:
    baseline: Run
    booking: Run
    idle_search: Run
    loaded_search: Run
    loaded_booking: Run
    locks: LockSampler
    rss_warm: dict[int, float]
    rss_after: dict[int, float]
    served: int

    @property
    def ratio(self) -> float:
        return self.booking.per_second / self.baseline.per_second

    @property
    def rss_growth(self) -> float:
        """The largest growth of one worker's memory, after / at warm-up."""
        return max(
            (self.rss_after[pid] / self.rss_warm[pid] for pid in self.rss_warm),
            default=float("nan"),
        )


def measure_server(scenario: Scenario, now: datetime, log: Path) -> ServerRuns:
    """Through gunicorn: warm-up (memory), baseline / bookings / baseline (half the time
    each side, so both see the same machine), a lone client's searches, then 8 clients
    searching while 8 book (lock waits sampled), then reads and baselines until the
    server has answered ``SERVER_REQUESTS`` requests (memory again)."""
    clinic = scenario.clinic
    today = now.astimezone(ZoneInfo(ZONE)).date()
    bookings = booking_requests(
        clinic, clinic.booking_pathway_ids, today + timedelta(days=BOOKING_FIRST_DAY)
    )
    served = 0
    print(f"  through gunicorn at {scenario.size:,} appointments")
    with gunicorn(scenario.url, log) as (port, arbiter):

        def run(requests: Iterator[Request], expect: int, **options: Any) -> Run:
            nonlocal served
            result = drive(port, requests, expect=expect, **options)
            served += result.sent
            return result

        warm = {"clients": CLIENT_THREADS, "seconds": RUN_SECONDS, "limit": WARMUP_REQUESTS}
        run(baseline_requests(), 201, **warm)
        run(bookings, 201, **warm)
        run(read_requests(clinic, now, daily_lists=True), 200, **warm)
        rss_warm = worker_rss(arbiter)
        timed = {"clients": CLIENT_THREADS, "seconds": RUN_SECONDS / 2}
        before = run(baseline_requests(), 201, **timed)
        booking = run(bookings, 201, clients=CLIENT_THREADS, seconds=RUN_SECONDS)
        after = run(baseline_requests(), 201, **timed)
        idle = run(
            read_requests(clinic, now, daily_lists=False),
            200,
            clients=1,
            seconds=RUN_SECONDS * 6,
            limit=IDLE_SEARCHES,
        )
        with LockSampler(libpq_url(scenario.engine)) as locks:
            loaded_search, loaded_booking = side_by_side(
                {
                    "port": port,
                    "requests": read_requests(clinic, now, daily_lists=False),
                    "clients": UNDER_LOAD_CLIENTS,
                    "seconds": RUN_SECONDS,
                    "expect": 200,
                },
                {
                    "port": port,
                    "requests": bookings,
                    "clients": UNDER_LOAD_CLIENTS,
                    "seconds": RUN_SECONDS,
                    "expect": 201,
                },
            )
        served += loaded_search.sent + loaded_booking.sent
        left = max(0, SERVER_REQUESTS - served)
        reads, baselines = side_by_side(
            {
                "port": port,
                "requests": read_requests(clinic, now, daily_lists=True),
                "clients": CLIENT_THREADS // 2,
                "seconds": 1800.0,
                "expect": 200,
                "limit": left // 5,  # reads are slow: a fifth of the rest
            },
            {
                "port": port,
                "requests": baseline_requests(),
                "clients": CLIENT_THREADS // 2,
                "seconds": 1800.0,
                "expect": 201,
                "limit": left - left // 5,
            },
        )
        served += reads.sent + baselines.sent
        rss_after = worker_rss(arbiter)
    result = ServerRuns(
        before.plus(after),
        booking,
        idle,
        loaded_search,
        loaded_booking,
        locks,
        rss_warm,
        rss_after,
        served,
    )
    report_server(result, before, after)
    return result


def report_server(result: ServerRuns, before: Run, after: Run) -> None:
    runs = (
        ("baseline", result.baseline),
        ("booking", result.booking),
        ("lone search", result.idle_search),
        ("search under load", result.loaded_search),
        ("booking under load", result.loaded_booking),
    )
    for name, run in runs:
        if run.failed:
            print(f"    {name}: {run.failed} failed; first: {run.first_failure}")
    if result.booking.ran_out or result.loaded_booking.ran_out:
        print("    (the booking pool ran out before the time was up: raise BOOKING_POOL)")
    print(
        f"    baseline POST /bench/baseline:      {result.baseline.per_second:7.1f} req/s "
        f"({result.baseline.succeeded} in {result.baseline.seconds:.1f} s: "
        f"{before.per_second:.0f} before, {after.per_second:.0f} after the bookings)"
    )
    print(
        f"    booking  POST /api/v1/appointments: {result.booking.per_second:7.1f} req/s "
        f"({result.booking.succeeded} booked in {result.booking.seconds:.1f} s, "
        f"{result.booking.failed} refused)"
    )
    print(
        f"    slot search, one client alone:      median {result.idle_search.median:6.1f} ms  "
        f"p95 {result.idle_search.p95:6.1f} ms ({result.idle_search.succeeded} searches)"
    )
    print(
        f"    {UNDER_LOAD_CLIENTS} searching while {UNDER_LOAD_CLIENTS} book:     "
        f"median {result.loaded_search.median:6.1f} ms  p95 {result.loaded_search.p95:6.1f} ms "
        f"({result.loaded_search.succeeded} searches, {result.loaded_booking.succeeded} "
        f"bookings at {result.loaded_booking.per_second:.0f}/s, "
        f"p95 {result.loaded_booking.p95:.0f} ms)"
    )
    print(
        f"    lock waits: {result.locks.waiting_samples} of {result.locks.samples} samples of "
        f"pg_stat_activity (at most {result.locks.most_waiting} backends waiting)"
    )
    for pid, warm in sorted(result.rss_warm.items()):
        print(
            f"    worker {pid}: RSS {warm:6.1f} MiB at warm-up, "
            f"{result.rss_after.get(pid, float('nan')):6.1f} MiB after {result.served:,} "
            "requests"
        )


# ---------------------------------------------------------------------------------------
# The run


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
        f"migrated; seeded {SITE_NAME} through the services: {LANES + 2} clinicians, "
        f"{LANES + 4} rooms, {2 * LANES + 4} equipment units, {LANES + 2} recovery bays, "
        f"{3 + BOOKING_POOL + len(clinic.busy_pathway_ids)} referred pathways"
    )
    busy = load_busy_calendar(engine, clinic, now)
    say(f"booked {busy:,} appointments: one clinician's nearly full calendar")
    BulkLoader(engine, clinic, now).load_to(size)
    return Scenario(size, url, engine, clinic)


def main() -> int:
    base_url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    keep = bool(os.environ.get("BENCH_KEEP_DATABASE"))
    now = datetime.now(UTC)
    with ExitStack() as stack:
        logs = Path(stack.enter_context(TemporaryDirectory(prefix="scheduler-bench-")))
        scenarios = []
        for size in sizes():
            url = stack.enter_context(scratch_database(base_url, f"{size // 1000}k", keep=keep))
            scenario = prepare(url, size, now)
            stack.callback(scenario.engine.dispose)
            scenarios.append(scenario)
        # As a served process does once started (wsgi.py): the long-lived heap is frozen.
        frozen = freeze_startup_heap()
        print(
            f"Measuring (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; "
            f"{frozen:,} objects of the started process frozen, as wsgi.py does)"
        )
        measured = measure_operations(scenarios, now)
        print("  one booking request through the app")
        requests = []
        for scenario in scenarios:
            statements = booking_request_statements(scenario, now)
            requests.append(len(statements))
            print(f"    {scenario.size:>9,} appointments: {len(statements)} statements")
            for statement in statements:
                print(f"      {' '.join(statement.sql.split())[:100]}")
        servers = [
            measure_server(scenario, now, logs / f"gunicorn-{scenario.size}.log")
            for scenario in scenarios
        ]
    print_summary(scenarios, measured, requests, servers)
    return 0


# ---------------------------------------------------------------------------------------
# The summary: every figure, its floor, its target, a verdict


def verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def size_name(size: int) -> str:
    return f"{size // 1_000_000}M" if size >= 1_000_000 else f"{size // 1000}k"


def ms(value: float) -> str:
    return f"{value:.2f} ms" if value < 10 else f"{value:.1f} ms"


def summary_lines(
    size: int, measured: dict[str, Measured], request: int, server: ServerRuns
) -> list[tuple[str, ...]]:
    name = size_name(size)
    search, listing, busy = measured["search"], measured["listing"], measured["busy"]
    daily, booking = measured["daily_list"], measured["booking"]

    def against(value: float, floor: float, limit: float) -> tuple[str, str, str, str]:
        return (
            f"{ms(value)} ({value / floor:.1f}x)",
            ms(floor),
            f"<= {limit:g}x floor",
            verdict(value <= limit * floor),
        )

    def printed(m: Measured) -> tuple[str, str, str, str]:
        return (
            f"{ms(m.latency.median)} / {ms(m.latency.p95)} ({m.found} slots)",
            ms(m.floor.median),
            f"printed ({m.latency.median / m.floor.median:.1f}x floor)",
            "",
        )

    growth = server.rss_growth
    warm = max(server.rss_warm.values(), default=float("nan"))
    return [
        ("slot search 30 d, median", name, *against(search.latency.median, search.floor.median, 3)),
        ("slot search 30 d, p95", name, *against(search.latency.p95, search.floor.median, 4)),
        ("one-day listing, median / p95", name, *printed(listing)),
        (f"{BUSY_HORIZON}-day search, nearly full, median / p95", name, *printed(busy)),
        (
            "daily list, median / p95",
            name,
            f"{ms(daily.latency.median)} / {ms(daily.latency.p95)} ({daily.found} cases)",
            ms(daily.floor.median),
            "printed",
            "",
        ),
        (
            "statements: search 30 d / one-day / 90-day / booking (services)",
            name,
            " / ".join(str(m.floor.statements) for m in (search, listing, busy, booking)),
            "",
            "printed",
            "",
        ),
        (
            "daily list, statements",
            name,
            str(daily.floor.statements),
            "",
            "<= 3",
            verdict(daily.floor.statements <= 3),
        ),
        (
            "booking, statements per request",
            name,
            f"{request} ({booking.floor.statements} in the services)",
            "",
            "<= 8",
            verdict(request <= 8),
        ),
        (
            "booking in process, median",
            name,
            *against(booking.latency.median, booking.floor.median, 2),
        ),
        (
            "booking / baseline through gunicorn",
            name,
            f"{server.ratio:.2f} ({server.booking.per_second:.0f} vs "
            f"{server.baseline.per_second:.0f} req/s)",
            "",
            f">= {BOOKING_TARGET}",
            verdict(server.ratio >= BOOKING_TARGET),
        ),
        (
            f"search p95, {UNDER_LOAD_CLIENTS} searching + {UNDER_LOAD_CLIENTS} booking",
            name,
            f"{ms(server.loaded_search.p95)} "
            f"({server.loaded_search.p95 / server.idle_search.p95:.1f}x idle)",
            f"idle {ms(server.idle_search.p95)}",
            "<= 2x idle p95",
            verdict(server.loaded_search.p95 <= 2 * server.idle_search.p95),
        ),
        (
            "lock waits in pg_stat_activity",
            name,
            f"{server.locks.waiting_samples} of {server.locks.samples} samples",
            "",
            "0",
            verdict(server.locks.waiting_samples == 0),
        ),
        (
            f"worker RSS after {server.served:,} requests",
            name,
            f"x{growth:.2f} of warm-up (largest worker {warm:.0f} MiB at warm-up)",
            "",
            f"<= x{RSS_GROWTH_TARGET:.2f}",
            verdict(growth <= RSS_GROWTH_TARGET),
        ),
    ]


def print_summary(
    scenarios: list[Scenario],
    measured: dict[str, list[Measured]],
    requests: list[int],
    servers: list[ServerRuns],
) -> None:
    rows: list[tuple[str, ...]] = []
    for index, scenario in enumerate(scenarios):
        mine = {key: values[index] for key, values in measured.items()}
        rows += summary_lines(scenario.size, mine, requests[index], servers[index])
    if len(scenarios) > 1:
        small, large = scenarios[0].size, scenarios[-1].size
        span = f"{size_name(large)}/{size_name(small)}"
        for key, title in (("search", "slot search 30 d"), ("daily_list", "daily list")):
            before, after = measured[key][0].latency.median, measured[key][-1].latency.median
            ratio = after / before
            rows.append(
                (
                    f"{title}, median {span}",
                    span,
                    f"{ratio:.2f}",
                    "",
                    f"<= {FLAT_TARGET}",
                    verdict(ratio <= FLAT_TARGET),
                )
            )
    print()
    print(f"Summary ({os.cpu_count()} CPUs, load average now {os.getloadavg()[0]:.1f})")
    print()
    print("| measure | size | figure | SQL floor | target | verdict |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    sys.exit(main())
