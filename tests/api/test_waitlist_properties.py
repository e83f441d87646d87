"""Properties of the backfill (SPEC §10): an offered slot is always bookable at the moment
of the offer, it suits what the patient asked for, nobody ranked before the offered
patient could have taken any of the vacancy in a way that suited them, and a pathway
whose gate refuses it is never offered anything.

The clinic of tests/api/conftest.py (one fluoroscopy room, one recovery bay, both
clinicians 07:00-17:00 New York time every day). Once per test: two pathways made
eligible for the procedure (two positive blocks, the second on 2026-03-17), six
referred ones waiting for a block, and one whose first block was on 2026-03-17 (the
block gate wants 14 days before the second: refused on every day drawn). Each
example, inside a savepoint rolled back at its end: some of them booked at random times
over the next three days, some of those cancelled (the vacancies), the others put on
the waitlist with random priorities and wishes, then the worker's steps (claim a
vacancy, offer it) until no vacancy waits, each offer checked as it is made.
Hypothesis draws reproducibly (derandomized) and few examples, unless told otherwise
(WAITLIST_PROPERTY_EXAMPLES).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from scheduler.access import SYSTEM
from scheduler.errors import DomainError
from scheduler.facilities.models import Site
from scheduler.pathways.models import Pathway
from scheduler.pathways.states import next_booking
from scheduler.scheduling.booking import book_appointment
from scheduler.scheduling.cancellation import cancel_appointment
from scheduler.scheduling.models import Appointment, Hold
from scheduler.scheduling.search import search_slots
from scheduler.settings import BackfillSettings
from scheduler.vocabulary import (
    AppointmentKind,
    AppointmentStatus,
    OfferStatus,
    TimeOfDay,
    WaitlistPriority,
)
from scheduler.waitlist import ranking, services
from scheduler.waitlist.models import Offer, Vacancy, WaitlistEntry
from tests.api.conftest import Clinic
from tests.api.test_full_pathway import block_result, book, refer, state_of
from tests.api.test_slots_and_holds import make_eligible
from tests.factories import PatientFactory
from tests.support import Api, FrozenClock, local

EXAMPLES = int(os.environ.get("WAITLIST_PROPERTY_EXAMPLES", "20"))
FIRST_DAY = date(2026, 3, 18)  # the day after the second blocks
DAYS = 3
STARTS = 20  # 07:00, 07:30, ... 16:30 site-local
REFERRED = 6


@dataclass(frozen=True)
class Pool:
    """The pathways every example draws from (made once per test)."""

    eligible: tuple[int, ...]
    referred: tuple[int, ...]
    refused: int

    @property
    def bookable(self) -> tuple[int, ...]:
        return self.eligible + self.referred


@pytest.fixture
def pool(api: Api, clinic: Clinic, db: Session, clock: FrozenClock) -> Pool:
    def new_pathway(clinician_id: int, **overrides: str) -> int:
        patient = PatientFactory()
        db.commit()
        referral = {"patient_id": patient.id, "clinician_id": clinician_id, **overrides}
        pathway: int = refer(api, clinic, **referral)["id"]
        return pathway

    clinicians = (clinic.clinician_id, clinic.other_clinician_id)
    # One positive block on 2026-03-17: the second must wait 14 days (the block gate).
    refused = new_pathway(clinic.clinician_id)
    first_block = book(api, clinic, refused, "diagnostic_block", local("2026-03-17", 12))
    eligible = tuple(new_pathway(clinicians[n % 2]) for n in range(2))
    logins = ("clinician", "other_clinician")
    make_eligible(api, clinic, clock, *zip(eligible, logins, strict=True))
    block_result(api, clock, first_block, post=0)
    referred = tuple(new_pathway(clinicians[n % 2]) for n in range(REFERRED))
    assert state_of(api, refused) == "referred"
    with pytest.raises(DomainError):
        search_slots(db, SYSTEM, clock(), refused, kind=AppointmentKind.DIAGNOSTIC_BLOCK, days=5)
    return Pool(eligible, referred, refused)


booking = st.tuples(st.integers(0, DAYS - 1), st.integers(0, STARTS - 1), st.booleans())
# Wishes lean towards "any day, any time" (one in two) so that several candidates often
# fit one vacancy and the order between them is tested.
wishes = st.fixed_dictionaries(
    {
        "priority": st.sampled_from(WaitlistPriority),
        "earliest_date": st.none() | st.sampled_from([FIRST_DAY + timedelta(n) for n in range(3)]),
        "weekdays": st.just([]) | st.lists(st.integers(0, 6), min_size=1, max_size=5, unique=True),
        "times_of_day": st.just([]) | st.lists(st.sampled_from(TimeOfDay), max_size=1),
        "min_notice_hours": st.sampled_from([0, 1, 12, 24, 48]),
        "any_clinician": st.booleans(),
    }
)


def start_of(day: int, index: int) -> datetime:
    """Site-local wall-clock time (aware arithmetic keeps the wall clock)."""
    return local(FIRST_DAY.isoformat(), 7) + timedelta(days=day, minutes=30 * index)


def kind_of(db: Session, pathway_id: int) -> AppointmentKind:
    kind = next_booking(db.get_one(Pathway, pathway_id).state)
    assert kind is not None
    return kind


def book_some(
    db: Session, now: datetime, pool: Pool, bookings: list[tuple[int, int, bool]]
) -> list[tuple[int, bool]]:
    """Book each pathway (in turn) at its drawn time when that time is free; the booked
    appointments, each with whether it is to be cancelled."""
    booked = []
    for pathway_id, (day, index, cancel) in zip(pool.bookable, bookings, strict=False):
        try:
            with db.begin_nested():
                appointment = book_appointment(
                    db,
                    SYSTEM,
                    now,
                    pathway_id=pathway_id,
                    kind=kind_of(db, pathway_id),
                    start=start_of(day, index),
                    reminder_before=timedelta(hours=48),
                )
        except DomainError:
            continue
        booked.append((appointment.id, cancel))
    return booked


wish_of = services.wish_of


def may_be_offered(db: Session, vacancy: Vacancy, entry: WaitlistEntry) -> bool:
    """The candidates SPEC §10 names: at the vacancy's site, with its clinician unless any
    will do, holding no open offer, not offered this vacancy before."""
    pathway = db.get_one(Pathway, entry.pathway_id)
    offers = db.scalars(select(Offer).where(Offer.pathway_id == pathway.id)).all()
    return (
        pathway.site_id == vacancy.site_id
        and (entry.any_clinician or pathway.clinician_id == vacancy.clinician_id)
        and not any(offer.status is OfferStatus.OPEN for offer in offers)
        and not any(offer.vacancy_id == vacancy.id for offer in offers)
    )


def could_take(
    db: Session, now: datetime, vacancy: Vacancy, wish: ranking.Wish, backfill: BackfillSettings
) -> bool:
    """Brute force: any slot the search finds for the pathway within the vacancy's time
    with its clinician (in any room) that suits the patient's wishes."""
    site = db.get_one(Site, vacancy.site_id)
    try:
        found, zone = search_slots(
            db,
            SYSTEM,
            now,
            wish.pathway_id,
            kind=kind_of(db, wish.pathway_id),
            after=vacancy.start_at - timedelta(days=1),
            days=3,
            limit=1000,
            clinician_id=vacancy.clinician_id,
        )
    except DomainError:
        return False
    notice = timedelta(minutes=site.min_notice_minutes)
    return any(
        vacancy.start_at <= slot.start
        and slot.end <= vacancy.end_at
        and ranking.suits(wish, slot.start, zone, now, ttl=backfill.offer_ttl, site_notice=notice)
        for slot in found
    )


def require_bookable(db: Session, now: datetime, offer: Offer) -> None:
    """The offer's own hold let go, the pathway books exactly the offered slot (undone)."""
    savepoint = db.begin_nested()
    try:
        db.execute(delete(Hold).where(Hold.id == offer.hold_id))
        appointment = book_appointment(
            db,
            SYSTEM,
            now,
            pathway_id=offer.pathway_id,
            kind=offer.kind,
            start=offer.start_at,
            room_id=offer.room_id,
            clinician_id=offer.clinician_id,
            method=offer.method,
            reminder_before=timedelta(hours=48),
        )
        assert (appointment.start_at, appointment.end_at) == (offer.start_at, offer.end_at)
    finally:
        savepoint.rollback()


@settings(
    max_examples=EXAMPLES,
    derandomize="WAITLIST_PROPERTY_EXAMPLES" not in os.environ,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    bookings=st.lists(booking, min_size=1, max_size=5),
    waiting=st.lists(wishes, min_size=1, max_size=REFERRED + 2),
    fanout=st.sampled_from([1, 1, 2]),
)
def test_an_offered_slot_is_bookable_suits_the_patient_and_goes_to_the_best_ranked_who_fits(
    db: Session,
    clock: FrozenClock,
    pool: Pool,
    bookings: list[tuple[int, int, bool]],
    waiting: list[dict[str, object]],
    fanout: int,
) -> None:
    now = clock()
    backfill = BackfillSettings(fanout=fanout)
    savepoint = db.begin_nested()
    try:
        booked = book_some(db, now, pool, bookings)
        for appointment_id, cancel in booked:
            if cancel:
                cancel_appointment(db, SYSTEM, now, appointment_id, "Patient unwell")
        still_booked = set(
            db.scalars(
                select(Appointment.pathway_id).where(Appointment.status == AppointmentStatus.BOOKED)
            )
        )
        free = [p for p in pool.bookable if p not in still_booked]
        for pathway_id, asked in zip([pool.refused, *free], waiting, strict=False):
            services.add_entry(db, SYSTEM, now, pathway_id=pathway_id, **asked)
        db.flush()

        offered = 0
        while (vacancy := services.claim_vacancy(db)) is not None:
            entries = db.scalars(select(WaitlistEntry)).all()
            wishes_here = ranking.ranked(
                wish_of(entry) for entry in entries if may_be_offered(db, vacancy, entry)
            )
            fitting = [w for w in wishes_here if could_take(db, now, vacancy, w, backfill)]

            made = services.offer_vacancy(db, now, vacancy, backfill)

            assert len(made) <= fanout
            assert [offer.pathway_id for offer in made[:1]] == [w.pathway_id for w in fitting[:1]]
            order = [w.pathway_id for w in wishes_here]
            assert [o.pathway_id for o in made] == sorted(
                (o.pathway_id for o in made), key=order.index
            )
            for offer in made:
                wish = next(w for w in wishes_here if w.pathway_id == offer.pathway_id)
                site = db.get_one(Site, vacancy.site_id)
                assert ranking.suits(
                    wish,
                    offer.start_at,
                    site.timezone,
                    now,
                    ttl=backfill.offer_ttl,
                    site_notice=timedelta(minutes=site.min_notice_minutes),
                )
                assert vacancy.start_at <= offer.start_at
                assert offer.end_at <= vacancy.end_at
                require_bookable(db, now, offer)
            offered += len(made)

        assert pool.refused not in set(db.scalars(select(Offer.pathway_id)))
        assert offered == len(db.scalars(select(Offer)).all())
    finally:
        savepoint.rollback()
