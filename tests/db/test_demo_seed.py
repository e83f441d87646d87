"""``flask demo seed``: a demo clinic in every pathway state, valid whatever today is.

The seed runs on fixed clocks: a summer weekday at several hours, a weekend, a Monday
before opening, the days the US clocks change (2026-03-08 spring forward, 2026-11-01
fall back in America/New_York, both Sundays), and every day of one week.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from scheduler.auth.services import authenticate
from scheduler.clinicians.models import WorkingHours
from scheduler.demo import SITE_NAME, STARTED_BEFORE_NOW, ZONE, seed_demo
from scheduler.facilities.models import Site
from scheduler.models import Base
from scheduler.outbox.models import OutboxMessage
from scheduler.pathways.models import Pathway, PathwayEvent
from scheduler.pathways.states import PathwayState
from scheduler.scheduling.models import Appointment
from scheduler.vocabulary import AppointmentKind, AppointmentStatus, Role
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


@pytest.fixture(params=list(NOWS.values()), ids=list(NOWS))
def now(request: pytest.FixtureRequest) -> datetime:
    when: datetime = request.param
    return when


@pytest.fixture
def logins(db: Session, now: datetime) -> list[tuple[str, str, str]]:
    return seed_demo(db, now=now)


def demo_pathways(db: Session) -> list[Pathway]:
    return list(
        db.scalars(
            select(Pathway).join(Site, Site.id == Pathway.site_id).where(Site.name == SITE_NAME)
        )
    )


def row_counts(db: Session) -> dict[str, int]:
    return {
        table.name: db.execute(select(func.count()).select_from(table)).scalar_one()
        for table in Base.metadata.sorted_tables
    }


@pytest.mark.usefixtures("logins")
def test_demo_pathways_cover_every_pathway_state(db: Session) -> None:
    states = Counter(pathway.state.value for pathway in demo_pathways(db))

    assert set(states) == {state.value for state in PathwayState}
    # One story per state, and the procedure cancelled for the waitlist's offer: its
    # pathway is eligible again.
    assert states - Counter(state.value for state in PathwayState) == Counter(["eligible"])


@pytest.mark.usefixtures("logins")
def test_demo_waitlist_holds_an_offer_of_the_cancelled_procedure(db: Session) -> None:
    entries = {
        db.get_one(Pathway, entry.pathway_id).patient.given_name: entry.priority.value
        for entry in db.scalars(select(WaitlistEntry))
    }
    offer = db.scalars(select(Offer)).one()
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


@pytest.mark.usefixtures("logins")
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


@pytest.mark.usefixtures("logins")
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


@pytest.mark.parametrize("now", list(ANY_DAY.values()), ids=list(ANY_DAY))
@pytest.mark.usefixtures("logins")
def test_every_demo_appointment_is_on_a_weekday_within_its_clinicians_hours_at_the_site(
    db: Session, now: datetime
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


@pytest.mark.usefixtures("logins")
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

    assert seed_demo(db, now=now) == logins

    assert row_counts(db) == before
