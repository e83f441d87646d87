"""``flask demo seed``: a demo clinic in every pathway state, and six months of history
for the reports, valid whatever today is.

The seed runs on fixed clocks: a summer weekday at several hours, a weekend, a Monday
before opening, the days the US clocks change (2026-03-08 spring forward, 2026-11-01
fall back in America/New_York, both Sundays), and every day of one week. It runs once
per clock (the history makes it take seconds); every test reads that clock's clinic.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from scheduler.auth.services import authenticate
from scheduler.clinical.models import DischargeRecord, FollowUpOutcome, ProcedureRecord
from scheduler.clinicians.models import WorkingHours
from scheduler.db import make_sessionmaker
from scheduler.demo import SITE_NAME, STARTED_BEFORE_NOW, ZONE, seed_demo
from scheduler.demo_plans import QUIET_DAYS, Ending, plans
from scheduler.facilities.models import Room, Site
from scheduler.models import Base
from scheduler.outbox.models import OutboxMessage
from scheduler.pathways.models import Pathway, PathwayEvent
from scheduler.pathways.states import PathwayState, Trigger
from scheduler.patients.models import Patient
from scheduler.scheduling.models import Appointment
from scheduler.vocabulary import (
    AppointmentKind,
    AppointmentStatus,
    DischargeOutcome,
    OfferStatus,
    Role,
    RoomKind,
    VacancySource,
    VacancyStatus,
)
from scheduler.waitlist.models import Offer, Vacancy, WaitlistEntry

NOWS = {
    "summer": datetime(2026, 6, 10, 15, 0, tzinfo=UTC),
    "small_hours": datetime(2026, 6, 10, 7, 0, tzinfo=UTC),  # 03:00 in New York
    "evening": datetime(2026, 6, 10, 23, 30, tzinfo=UTC),  # 19:30 in New York
    "fall_back": datetime(2026, 11, 1, 16, 0, tzinfo=UTC),
    "spring_forward": datetime(2026, 3, 8, 16, 0, tzinfo=UTC),
    "saturday": datetime(2026, 6, 13, 16, 0, tzinfo=UTC),  # 12:00 in New York
    "monday_small_hours": datetime(2026, 6, 15, 7, 0, tzinfo=UTC),  # 03:00 in New York
}
NEW_YORK = ZoneInfo(ZONE)
# Each day of a week (Monday 2026-06-08 to Sunday), at an hour around the clinic's edges.
WEEK = {
    f"{day:%a}-{day:%H%M}": day.astimezone(UTC)
    for day in (
        datetime(2026, 6, 8, 3, 0, tzinfo=NEW_YORK),
        datetime(2026, 6, 9, 9, 55, tzinfo=NEW_YORK),
        datetime(2026, 6, 10, 10, 0, tzinfo=NEW_YORK),
        datetime(2026, 6, 11, 12, 30, tzinfo=NEW_YORK),
        datetime(2026, 6, 12, 15, 5, tzinfo=NEW_YORK),
        datetime(2026, 6, 13, 8, 0, tzinfo=NEW_YORK),
        datetime(2026, 6, 14, 23, 30, tzinfo=NEW_YORK),
    )
}
ANY_DAY = NOWS | WEEK
LIVE = (AppointmentStatus.BOOKED, AppointmentStatus.COMPLETED)


@dataclass(frozen=True)
class Seeded:
    session: Session
    now: datetime
    logins: list[tuple[str, str, str]]


@pytest.fixture(scope="module", params=list(ANY_DAY.values()), ids=list(ANY_DAY))
def seeded(request: pytest.FixtureRequest, engine: Engine) -> Iterator[Seeded]:
    """The demo seeded at one clock, in a transaction rolled back after the module."""
    now: datetime = request.param
    with engine.connect() as connection:
        outer = connection.begin()
        session = make_sessionmaker(connection, join_transaction_mode="create_savepoint")()
        yield Seeded(session, now, seed_demo(session, now=now))
        session.close()
        outer.rollback()


@pytest.fixture
def db(seeded: Seeded) -> Session:
    return seeded.session


@pytest.fixture
def now(seeded: Seeded) -> datetime:
    return seeded.now


@pytest.fixture
def logins(seeded: Seeded) -> list[tuple[str, str, str]]:
    return seeded.logins


def demo_pathways(db: Session) -> list[Pathway]:
    return list(
        db.scalars(
            select(Pathway).join(Site, Site.id == Pathway.site_id).where(Site.name == SITE_NAME)
        )
    )


def pathways_by_mrn(db: Session, prefix: str) -> list[Pathway]:
    """The stories' pathways (MRN ``DEMO-``) or the history's (``HIST-``)."""
    return list(
        db.scalars(
            select(Pathway)
            .join(Patient, Patient.id == Pathway.patient_id)
            .where(Patient.mrn.startswith(prefix))
            .order_by(Pathway.id)
        )
    )


def row_counts(db: Session) -> dict[str, int]:
    return {
        table.name: db.execute(select(func.count()).select_from(table)).scalar_one()
        for table in Base.metadata.sorted_tables
    }


def test_demo_pathways_cover_every_pathway_state(db: Session) -> None:
    states = Counter(pathway.state.value for pathway in pathways_by_mrn(db, "DEMO-"))

    assert set(states) == {state.value for state in PathwayState}
    # One story per state, and the procedure cancelled for the waitlist's offer: its
    # pathway is eligible again.
    assert states - Counter(state.value for state in PathwayState) == Counter(["eligible"])


def test_demo_waitlist_holds_an_offer_of_the_cancelled_procedure(db: Session) -> None:
    entries = {
        db.get_one(Pathway, entry.pathway_id).patient.given_name: entry.priority.value
        for entry in db.scalars(select(WaitlistEntry))
    }
    offer = db.scalars(select(Offer).where(Offer.status == OfferStatus.OPEN)).one()
    vacancy = db.get_one(Vacancy, offer.vacancy_id)
    freed = db.get_one(Appointment, vacancy.freed_appointment_id)

    assert entries == {"Ben": "routine", "David": "soon"}
    assert db.get_one(Pathway, offer.pathway_id).patient.given_name == "David"
    assert (offer.status.value, offer.kind.value, offer.start_at) == (
        "open",
        "procedure",
        freed.start_at,
    )
    assert freed.status.value == "cancelled"
    assert (
        db.scalar(select(OutboxMessage.kind).where(OutboxMessage.offer_id == offer.id)) == "offer"
    )


def test_demo_has_one_login_per_role_and_each_signs_in(
    db: Session, logins: list[tuple[str, str, str]]
) -> None:
    assert sorted(role for role, _email, _password in logins) == sorted(r.value for r in Role)

    for role, email, password in logins:
        user = authenticate(db, email, password)
        assert user.role.value == role
        assert user.active


def test_demo_live_appointments_never_overlap_for_a_clinician_room_or_patient(
    db: Session,
) -> None:
    appointments = list(db.scalars(select(Appointment).where(Appointment.status.in_(LIVE))))
    assert appointments

    for resource in ("clinician_id", "room_id", "patient_id"):
        by_resource: dict[int, list[Appointment]] = defaultdict(list)
        for appointment in appointments:
            by_resource[getattr(appointment, resource)].append(appointment)
        for booked in by_resource.values():
            for index, first in enumerate(booked):
                for second in booked[index + 1 :]:
                    overlap = first.start_at < second.end_at and second.start_at < first.end_at
                    assert not overlap, (resource, first.id, second.id)


def is_clinic_day(day: date) -> bool:
    return day.weekday() < 5  # Monday to Friday


def test_demo_history_lies_in_the_past_and_the_procedure_day_is_the_latest_clinic_day(
    db: Session, now: datetime
) -> None:
    latest = db.scalar(select(func.max(PathwayEvent.at)))
    assert latest is not None
    assert latest <= now

    on_the_day = list(
        db.execute(
            select(Pathway.state, Appointment.start_at)
            .join(Appointment, Appointment.pathway_id == Pathway.id)
            .where(
                Pathway.state.in_(STARTED_BEFORE_NOW),
                Appointment.kind == AppointmentKind.PROCEDURE,
                Appointment.status == AppointmentStatus.BOOKED,
            )
        )
    )
    assert {state for state, _start in on_the_day} == set(STARTED_BEFORE_NOW)
    assert len(on_the_day) == len(STARTED_BEFORE_NOW)
    (day,) = {start.astimezone(NEW_YORK).date() for _state, start in on_the_day}
    today = now.astimezone(NEW_YORK).date()
    assert is_clinic_day(day)
    assert day <= today
    between = [day + timedelta(days=n) for n in range(1, (today - day).days)]
    assert not any(is_clinic_day(other) for other in between), (day, today)


def test_every_demo_appointment_is_on_a_weekday_within_its_clinicians_hours_at_the_site(
    db: Session,
) -> None:
    hours = defaultdict(list)
    for row in db.scalars(select(WorkingHours)):
        hours[row.clinician_id, row.site_id, row.weekday].append((row.start_time, row.end_time))
    appointments = list(
        db.execute(
            select(Appointment, Site.timezone)
            .join(Site, Site.id == Appointment.site_id)
            .where(Site.name == SITE_NAME)
        )
    )
    assert appointments

    for appointment, timezone in appointments:
        zone = ZoneInfo(timezone)
        start, end = appointment.start_at.astimezone(zone), appointment.end_at.astimezone(zone)
        where = (appointment.id, appointment.kind.value, start.isoformat())
        assert is_clinic_day(start.date()), where
        assert start.date() == end.date(), where
        windows = hours[appointment.clinician_id, appointment.site_id, start.weekday()]
        assert any(opens <= start.time() and end.time() <= closes for opens, closes in windows), (
            where
        )


def test_demo_pathway_state_is_its_last_events_target(db: Session) -> None:
    pathways = demo_pathways(db)
    assert pathways

    for pathway in pathways:
        last = db.scalars(
            select(PathwayEvent)
            .where(PathwayEvent.pathway_id == pathway.id)
            .order_by(PathwayEvent.id.desc())
            .limit(1)
        ).one()
        assert last.to_state is pathway.state, pathway.id


def test_seeding_again_changes_no_row_count(
    db: Session, now: datetime, logins: list[tuple[str, str, str]]
) -> None:
    before = row_counts(db)
    assert before["pathways"] > 0

    again = db.begin_nested()
    assert seed_demo(db, now=now) == logins
    after = row_counts(db)
    again.rollback()

    assert after == before


# ---------------------------------------------------------------------------------------
# The history: what the reports read (SPEC §11)

ENDED_AS = {
    Ending.COMPLETED: PathwayState.COMPLETED,
    Ending.NEGATIVE_FIRST: PathwayState.INELIGIBLE,
    Ending.NEGATIVE_SECOND: PathwayState.INELIGIBLE,
    Ending.STOPPED_BEFORE_BLOCK: PathwayState.CANCELLED,
    Ending.STOPPED_ELIGIBLE: PathwayState.CANCELLED,
    Ending.STOPPED_BEFORE_PROCEDURE: PathwayState.CANCELLED,
}


def quiet_from(now: datetime) -> datetime:
    """Where the history stops: the site-local midnight ``QUIET_DAYS`` before today."""
    today = now.astimezone(NEW_YORK).date()
    return datetime.combine(today - timedelta(days=QUIET_DAYS), time(), NEW_YORK)


def history_events(db: Session, trigger: Trigger) -> list[PathwayEvent]:
    return list(
        db.scalars(
            select(PathwayEvent)
            .join(Pathway, Pathway.id == PathwayEvent.pathway_id)
            .join(Patient, Patient.id == Pathway.patient_id)
            .where(Patient.mrn.startswith("HIST-"), PathwayEvent.trigger == trigger)
        )
    )


def history_appointments(db: Session, kind: AppointmentKind) -> list[Appointment]:
    return list(
        db.scalars(
            select(Appointment)
            .join(Patient, Patient.id == Appointment.patient_id)
            .where(Patient.mrn.startswith("HIST-"), Appointment.kind == kind)
        )
    )


def test_demo_history_pathways_end_as_planned_days_before_today(db: Session, now: datetime) -> None:
    history = pathways_by_mrn(db, "HIST-")
    surgeons = sorted(db.scalars(select(WorkingHours.clinician_id).distinct()))
    planned = plans(now.astimezone(NEW_YORK).date(), surgeons)
    latest_end = db.scalar(
        select(func.max(Appointment.end_at)).where(
            Appointment.pathway_id.in_([pathway.id for pathway in history])
        )
    )

    assert 60 <= len(history) <= 120
    assert Counter(p.state for p in history) == Counter(ENDED_AS[p.ending] for p in planned)
    assert latest_end is not None
    assert latest_end <= quiet_from(now)
    assert not any(pathway.waitlisted for pathway in history)


def test_demo_history_refers_patients_in_each_of_the_six_months_before_today(
    db: Session, now: datetime
) -> None:
    referred = [event.at for event in history_events(db, Trigger.CREATE)]
    months_ago = Counter((now - at) // timedelta(days=30) for at in referred)

    assert min(referred) >= now - timedelta(days=190)
    assert all(months_ago[month] >= 5 for month in range(6)), months_ago


def test_demo_history_has_negative_blocks_drop_outs_admissions_and_complications(
    db: Session,
) -> None:
    negative = history_events(db, Trigger.BLOCK_NEGATIVE)
    positive = [
        *history_events(db, Trigger.BLOCK_POSITIVE),
        *history_events(db, Trigger.BLOCK_POSITIVE_MORE_NEEDED),
    ]
    drop_outs = Counter(event.reason for event in history_events(db, Trigger.CANCEL_PATHWAY))
    procedures = [a.id for a in history_appointments(db, AppointmentKind.PROCEDURE)]
    closings = list(
        db.scalars(select(DischargeRecord).where(DischargeRecord.appointment_id.in_(procedures)))
    )
    admitted = [each.reason for each in closings if each.outcome is DischargeOutcome.ADMITTED]
    on_the_day = [
        each.complications
        for each in db.scalars(
            select(ProcedureRecord).where(ProcedureRecord.appointment_id.in_(procedures))
        )
    ]
    follow_ups = [a.id for a in history_appointments(db, AppointmentKind.FOLLOW_UP)]
    outcomes = list(
        db.scalars(select(FollowUpOutcome).where(FollowUpOutcome.appointment_id.in_(follow_ups)))
    )
    relief = Counter(outcome.percent_relief for outcome in outcomes)

    assert len(negative) >= 8
    assert 0.75 <= len(positive) / (len(positive) + len(negative)) <= 0.95
    assert len(drop_outs) >= 4, drop_outs
    assert sum(drop_outs.values()) >= 10
    assert len(closings) - len(admitted) >= 40
    assert len(set(admitted)) >= 3
    assert all(admitted)
    assert sum(1 for codes in on_the_day if codes) >= 3
    assert len({code for codes in on_the_day if codes for code in codes}) >= 3
    assert len(outcomes) >= 40
    assert sum(1 for outcome in outcomes if outcome.complications) >= 3
    assert len(relief) >= 6
    assert min(relief) <= 40
    assert max(relief) >= 90


def test_demo_history_has_no_shows_and_cancellations_late_and_early(db: Session) -> None:
    missed = [
        appointment.kind
        for kind in AppointmentKind
        for appointment in history_appointments(db, kind)
        if appointment.status is AppointmentStatus.NO_SHOW
    ]
    notice = [
        db.get_one(Appointment, event.appointment_id).start_at - event.at
        for event in history_events(db, Trigger.CANCEL_APPOINTMENT)
        if event.appointment_id is not None
    ]
    late = [ahead for ahead in notice if ahead < timedelta(hours=48)]

    assert len(missed) >= 3
    assert len(set(missed)) >= 2
    assert len(late) >= 3
    assert len(notice) - len(late) >= 3


def test_demo_history_starts_most_first_cases_on_time_and_some_late(db: Session) -> None:
    rows = list(
        db.execute(
            select(Appointment.start_at, Appointment.room_id, ProcedureRecord.started_at)
            .join(ProcedureRecord, ProcedureRecord.appointment_id == Appointment.id)
            .join(Patient, Patient.id == Appointment.patient_id)
            .where(Patient.mrn.startswith("HIST-"))
        )
    )
    late = [start for start, _room, started in rows if started - start > timedelta(minutes=10)]
    rooms = {room for _start, room, _started in rows}
    days = {start.astimezone(NEW_YORK).date() for start, _room, _started in rows}
    procedure_rooms = set(db.scalars(select(Room.id).where(Room.kind == RoomKind.PROCEDURE)))

    assert len(late) >= 5
    assert len(rows) - len(late) >= 30
    assert rooms == procedure_rooms
    assert len(days) >= 30


def test_demo_history_referral_to_procedure_takes_weeks(db: Session) -> None:
    referred = {event.pathway_id: event.at for event in history_events(db, Trigger.CREATE)}
    started = [
        (event.at - referred[event.pathway_id]).days
        for event in history_events(db, Trigger.START_PROCEDURE)
    ]

    assert len(started) >= 40
    assert 20 <= statistics.median(started) <= 100
    assert max(started) > statistics.median(started) + 14


def test_demo_history_backfills_freed_slots_through_the_waitlist(
    db: Session, now: datetime
) -> None:
    freed = list(
        db.scalars(
            select(Vacancy).where(
                Vacancy.source == VacancySource.CANCELLED, Vacancy.created_at < quiet_from(now)
            )
        )
    )
    offers = Counter(
        offer.status
        for offer in db.scalars(
            select(Offer).where(Offer.vacancy_id.in_([vacancy.id for vacancy in freed]))
        )
    )
    filled = [
        db.get_one(Appointment, vacancy.filled_appointment_id)
        for vacancy in freed
        if vacancy.status is VacancyStatus.FILLED and vacancy.filled_appointment_id is not None
    ]
    recovered = sum((each.end_at - each.start_at for each in filled), timedelta())

    assert len(freed) >= 10
    assert {vacancy.status for vacancy in freed} == {VacancyStatus.FILLED, VacancyStatus.UNFILLED}
    assert len(filled) >= 3
    assert offers[OfferStatus.ACCEPTED] == len(filled)
    assert offers[OfferStatus.DECLINED] >= 1
    assert offers[OfferStatus.EXPIRED] >= 2
    assert OfferStatus.OPEN not in offers
    assert recovered >= timedelta(minutes=30) * len(filled)
    assert all(each.status is AppointmentStatus.COMPLETED for each in filled)
