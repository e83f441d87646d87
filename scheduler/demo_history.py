"""Six months of the demo clinic's past, so that the reports (SPEC §11) have a clinic to read.

About a hundred referrals over the half year before the seed, each lived step by step
through the same services as the stories of :mod:`scheduler.demo`: registration, bookings
at the first slot the slot search finds, block results, the procedure day, the follow-up,
with the clock at the moment of each step. What a clinic sees over months happens here:
negative blocks, drop-outs with their reasons, late first cases, complications,
admissions, no-shows, late and early cancellations, and freed slots offered through the
waitlist (taken, declined, left to expire).

The patients' steps run interleaved in time order (:class:`Replay`), as the clinic lived
them: each booking sees the calendar as it was then, and an offer goes to whoever was on
the waitlist that day. Every pathway of the history is over (completed, ineligible or
cancelled) days before today, so today's lists, the desk's queues and the waitlist are
the stories' alone. What each referral is to live is drawn first, the same at every
seed (:mod:`scheduler.demo_plans`); this module lives it. It runs past 600 lines on
purpose: :class:`History` is one story's steps (book, attend, record, cancel, offer), each
calling the next with the same clock, staff and replay, and split across files one story
would no longer read in order.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Generator, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import exists, func, select, update
from sqlalchemy.orm import Session

from scheduler.access import Actor
from scheduler.clinical import services as records
from scheduler.demo_plans import (
    ANSWERED_AFTER,
    CANCEL_REASONS,
    CLINIC_DAYS,
    KINDS,
    QUIET_DAYS,
    Answer,
    Ending,
    Incident,
    Plan,
    Stage,
    Waiting,
    clinic_day,
    plans,
)
from scheduler.errors import DomainError
from scheduler.facilities.models import Site
from scheduler.outbox.models import OutboxMessage, OutboxStatus
from scheduler.pathways import services as pathways
from scheduler.pathways.models import Pathway
from scheduler.pathways.referral import Referral
from scheduler.pathways.states import PathwayState
from scheduler.patients.services import register_patient
from scheduler.policies.booking_rules import BlockReading, Treatment
from scheduler.policies.procedure_day_rules import CheckInAnswers
from scheduler.scheduling import booking, cancellation, search
from scheduler.scheduling.models import Appointment
from scheduler.settings import BackfillSettings
from scheduler.vocabulary import (
    RECOVERY_ITEMS,
    AcknowledgmentKind,
    AnticoagulationStatus,
    AppointmentKind,
    AppointmentStatus,
    Method,
    OfferStatus,
    RecoveryScale,
    Region,
    TreatmentKind,
    TreatmentOutcome,
    VacancyStatus,
)
from scheduler.waitlist import services as waitlist
from scheduler.waitlist.models import Offer, Vacancy

# A story yields the moment of its next step and is resumed then; a part of one may
# return what it did (the appointment that took place, the moment it ended).
Story = Iterator[datetime]
Step = Generator[datetime, None, Appointment]
Moments = Generator[datetime, None, datetime]


@dataclass(frozen=True)
class Staff:
    """Who does what: the desk books and cancels, the nurse checks in, scores and
    discharges, each surgeon records on their own cases."""

    desk: Actor
    nurse: Actor
    surgeons: Mapping[int, Actor]  # by clinician id
    domain: str  # of the patients' e-mail addresses


# ---------------------------------------------------------------------------------------
# Replaying many stories in time order


class Replay:
    """Stories replayed in time order: each yields the moment of its next step and is
    resumed then, so the steps of all of them run as the clinic lived them (ties in
    the order they were asked for)."""

    def __init__(self) -> None:
        self._due: list[tuple[datetime, int, Story]] = []
        self._order = itertools.count()

    def start(self, story: Story) -> None:
        self._push(next(story, None), story)

    def _push(self, when: datetime | None, story: Story) -> None:
        if when is not None:
            heapq.heappush(self._due, (when, next(self._order), story))

    def run(self) -> None:
        while self._due:
            when, _order, story = heapq.heappop(self._due)
            following = next(story, None)
            if following is not None and following < when:
                raise RuntimeError(f"a demo story went back in time, from {when} to {following}")
            self._push(following, story)


# ---------------------------------------------------------------------------------------
# The stories


class History:
    """The half year before ``now`` at the demo site, replayed through the services."""

    def __init__(
        self, session: Session, site: Site, staff: Staff, now: datetime, reminder_before: timedelta
    ) -> None:
        self.session, self.site, self.staff = session, site, staff
        self.zone = ZoneInfo(site.timezone)
        self.today = now.astimezone(self.zone).date()
        self.ends = datetime.combine(self.today - timedelta(days=QUIET_DAYS), time(), self.zone)
        self.reminder_before = reminder_before
        self.backfill = BackfillSettings(reminder_before=reminder_before)
        self.replay = Replay()
        self.answers: dict[int, Answer] = {}  # pathway id -> how its patient answers offers

    def seed(self) -> None:
        for plan in plans(self.today, sorted(self.staff.surgeons)):
            self.replay.start(self._story(plan))
        self.replay.run()
        self._backfill(self.ends)

    # --- the clinic's clock

    def _at(self, day: date, hour: int, minute: int = 0) -> datetime:
        """``hour:minute`` site-local on the first clinic day from ``day``."""
        return datetime.combine(clinic_day(day), time(hour, minute), self.zone)

    def _day(self, at: datetime, days: int = 0) -> date:
        return at.astimezone(self.zone).date() + timedelta(days=days)

    def _desk_time(self, plan: Plan, day: date) -> datetime:
        """When the desk does the plan's paperwork on ``day``: office hours."""
        return self._at(day, plan.values.randint(9, 15), plan.values.choice((0, 15, 30, 45)))

    def _wanted(self, plan: Plan, day: date) -> datetime:
        """From when the desk looks for a slot: that day, at an hour the patient likes."""
        return self._at(day, plan.values.randint(8, 15), plan.values.choice((0, 30)))

    # --- one pathway, start to end

    def _story(self, plan: Plan) -> Story:
        """One referral's pathway to its ending, every step through the services."""
        now = self._desk_time(plan, plan.referred)
        yield now
        pathway = self._refer(plan, now)
        first = yield from self._first_block(plan, pathway, now)
        if plan.ending is Ending.STOPPED_BEFORE_BLOCK:
            yield from self._stop(plan, pathway, self._day(first.created_at, 2))
            return
        now = yield from self._blocks(plan, pathway, first)
        if pathway.state is PathwayState.INELIGIBLE:
            return
        if plan.ending is Ending.STOPPED_ELIGIBLE:
            yield from self._stop(plan, pathway, self._day(now, plan.waits[Stage.PROCEDURE]))
            return
        procedure = yield from self._procedure_booking(plan, pathway, now)
        if plan.ending is Ending.STOPPED_BEFORE_PROCEDURE:
            yield from self._stop(plan, pathway, self._day(procedure.start_at, -6))
            return
        now = yield from self._procedure_day(plan, pathway, procedure)
        follow_up_days = plan.waits[Stage.FOLLOW_UP]
        if plan.incident and plan.incident[0] is Stage.FOLLOW_UP:
            follow_up_days = 14  # the window's start: a visit missed must fit it again
        follow_up = yield from self._visit(
            plan,
            pathway,
            Stage.FOLLOW_UP,
            self._desk_time(plan, self._day(now, 1)),
            after=self._wanted(plan, self._day(procedure.start_at, follow_up_days)),
        )
        yield from self._follow_up(plan, follow_up)

    def _refer(self, plan: Plan, now: datetime) -> Pathway:
        """The patient registered, the referral, the conservative care tried before, and the
        signed notice that a service the policy does not cover needs."""
        given, family = plan.name
        values = plan.values
        patient = register_patient(
            self.session,
            self.staff.desk,
            now,
            mrn=f"HIST-{plan.number:04d}",
            given_name=given,
            family_name=family,
            birth_date=date(
                values.randint(1944, 1986), values.randint(1, 12), values.randint(1, 28)
            ),
            email=f"{given.lower()}.{family.lower()}@{self.staff.domain}",
            phone=f"+1 555 {2000 + plan.number}",
        )
        pathway = pathways.create_pathway(
            self.session,
            self.staff.desk,
            now,
            Referral(
                patient_id=patient.id,
                clinician_id=plan.clinician_id,
                site_id=self.site.id,
                indication=plan.indication,
                region=plan.region,
                side=plan.side,
                levels=list(plan.levels),
                pain_onset_date=plan.referred - timedelta(days=values.randint(200, 900)),
                policy=plan.policy,
                method=plan.method,
            ),
        )
        therapy_start = plan.referred - timedelta(days=values.randint(100, 160))
        pathways.add_conservative_treatment(
            self.session,
            self.staff.desk,
            now,
            pathway.id,
            Treatment(
                values.choice((TreatmentKind.PHYSICAL_THERAPY, TreatmentKind.HOME_EXERCISE)),
                start_date=therapy_start,
                end_date=therapy_start + timedelta(days=values.randint(42, 70)),
                outcome=values.choice(
                    (TreatmentOutcome.PARTIAL_RELIEF, TreatmentOutcome.NO_RELIEF)
                ),
            ),
        )
        if plan.method is not Method.RFA or plan.region is Region.SACROILIAC:
            pathways.add_coverage_acknowledgment(
                self.session,
                self.staff.desk,
                now,
                pathway.id,
                kind=AcknowledgmentKind.ABN,
                signed_on=plan.referred,
            )
        return pathway

    def _first_block(self, plan: Plan, pathway: Pathway, referred_at: datetime) -> Step:
        """Booked at the referral; or, for a patient who waits on the list for an earlier
        one, taken from an offer, else booked when the waiting ends."""
        booked_at = referred_at + timedelta(minutes=10)
        waiting = plan.waiting
        if waiting is not None and waiting.step is AppointmentKind.DIAGNOSTIC_BLOCK:
            offered, booked_at = yield from self._wait_on_list(waiting, pathway, booked_at)
            if offered is not None:
                return offered
        return (yield from self._visit(plan, pathway, Stage.FIRST_BLOCK, booked_at))

    def _blocks(self, plan: Plan, pathway: Pathway, first: Appointment) -> Moments:
        """The diagnostic blocks and their results, the next booked at the desk after each;
        returns when the last result was recorded (the pathway eligible, or ineligible)."""
        block, number = first, 1
        while True:
            now = block.start_at + timedelta(minutes=20)
            yield now
            negative = plan.ending is (Ending.NEGATIVE_FIRST, Ending.NEGATIVE_SECOND)[number - 1]
            self._block_result(plan, block, now, negative=negative)
            if negative or number == plan.blocks:
                return now
            block = yield from self._visit(
                plan, pathway, Stage.SECOND_BLOCK, now + timedelta(minutes=15)
            )
            number += 1

    def _block_result(
        self, plan: Plan, block: Appointment, now: datetime, *, negative: bool
    ) -> None:
        """Positive: the pain falls by four fifths or more; negative: by less than half."""
        values = plan.values
        before = values.randint(7, 9)
        if negative:
            after, hours = before - values.randint(1, 3), values.uniform(0.5, 2)
        else:
            after, hours = values.choice((0, 1, 1)), values.uniform(4, 10)
        records.record_block_result(
            self.session,
            self.staff.surgeons[block.clinician_id],
            now,
            block.id,
            BlockReading(before, after, round(hours, 1)),
        )

    def _procedure_booking(self, plan: Plan, pathway: Pathway, eligible_at: datetime) -> Step:
        """Booked at once; or, for a patient who waits on the list for an earlier slot,
        taken from an offer, else booked when the waiting ends. A freeing plan's goes on
        its episode's day."""
        booked_at = eligible_at + timedelta(minutes=15)
        waiting = plan.waiting
        if waiting is not None and waiting.step is AppointmentKind.PROCEDURE:
            joins = max(booked_at, self._at(waiting.joins, 10))
            offered, booked_at = yield from self._wait_on_list(waiting, pathway, joins)
            if offered is not None:
                return offered
        after = None if plan.procedure_from is None else self._at(plan.procedure_from, 8)
        return (yield from self._visit(plan, pathway, Stage.PROCEDURE, booked_at, after=after))

    def _wait_on_list(
        self, waiting: Waiting, pathway: Pathway, joins: datetime
    ) -> Generator[datetime, None, tuple[Appointment | None, datetime]]:
        """On the waitlist from ``joins``; each morning the desk sees whether an accepted
        offer booked the step, until the last day of waiting. Returns what an offer booked
        (or None) and the moment the waiting ended."""
        yield joins
        waitlist.add_entry(
            self.session,
            self.staff.desk,
            joins,
            pathway_id=pathway.id,
            priority=waiting.priority,
            min_notice_hours=24,
        )
        self.answers[pathway.id] = waiting.answer
        self._backfill(joins)
        day = self._day(joins)
        while day < waiting.until:
            day += timedelta(days=1)
            now = datetime.combine(day, time(7), self.zone)
            yield now
            booked = self._booked(pathway)
            if booked is not None:
                return booked, now
        now = max(joins, self._at(day, 10))
        yield now
        return self._booked(pathway), now

    def _booked(self, pathway: Pathway) -> Appointment | None:
        return self.session.scalars(
            select(Appointment).where(
                Appointment.pathway_id == pathway.id,
                Appointment.status == AppointmentStatus.BOOKED,
            )
        ).first()

    def _stop(self, plan: Plan, pathway: Pathway, day: date) -> Story:
        """The pathway cancelled for the plan's reason, with whatever it had booked."""
        now = self._at(day, 11)
        yield now
        cancellation.cancel_pathway(
            self.session, self.staff.desk, now, pathway.id, plan.stop_reason
        )
        self._backfill(now)

    # --- visits

    def _visit(
        self,
        plan: Plan,
        pathway: Pathway,
        stage: Stage,
        booked_at: datetime,
        *,
        after: datetime | None = None,
    ) -> Step:
        """The visit booked at ``booked_at``, at the first slot from ``after`` (by default
        the plan's wait later); when the plan says so it is then cancelled or missed, and
        booked again. Returns the appointment that takes place."""
        yield booked_at
        wanted = after or self._wanted(plan, self._day(booked_at, plan.waits[stage]))
        booked = self._book(pathway, KINDS[stage], booked_at, wanted)
        if plan.incident is None or plan.incident[0] is not stage:
            return booked
        return (yield from self._incident(plan, pathway, booked, plan.incident[1]))

    def _incident(
        self, plan: Plan, pathway: Pathway, visit: Appointment, incident: Incident
    ) -> Step:
        """A no-show (recorded half an hour in) or a cancellation (late: the day before or
        that morning; early: days ahead, when the freed time goes to the waitlist), and
        the visit booked again."""
        start, kind = visit.start_at, visit.kind
        if incident is Incident.NO_SHOW:
            now = start + timedelta(minutes=30)
            yield now
            cancellation.record_no_show(
                self.session, self.staff.desk, now, visit.id, "Did not attend"
            )
            rebook_at = self._at(self._day(now, 1), 10)
        else:
            if incident is Incident.LATE_CANCELLATION:
                morning = datetime.combine(self._day(start), time(7), self.zone)
                now = max(start - timedelta(hours=26), morning)
            else:
                now = self._at_or_before(self._day(start, -plan.freed_ahead), 11)
            yield now
            cancellation.cancel_appointment(
                self.session, self.staff.desk, now, visit.id, CANCEL_REASONS[incident]
            )
            self._backfill(now)
            rebook_at = now + timedelta(minutes=10)
        yield rebook_at
        again = 2 if kind is AppointmentKind.FOLLOW_UP else 7
        return self._book(pathway, kind, rebook_at, self._wanted(plan, self._day(start, again)))

    def _at_or_before(self, day: date, hour: int) -> datetime:
        """``hour`` site-local on the last clinic day up to ``day``."""
        while day.weekday() not in CLINIC_DAYS:
            day -= timedelta(days=1)
        return datetime.combine(day, time(hour), self.zone)

    def _book(
        self, pathway: Pathway, kind: AppointmentKind, now: datetime, after: datetime
    ) -> Appointment:
        """The time the patient asked for, booked when every check of a booking passes
        there; else the first slot from it that the desk's slot search finds."""
        try:
            with self.session.begin_nested():
                return self._book_at(pathway, kind, now, after, room_id=None)
        except DomainError:
            pass
        found, _zone = search.search_slots(
            self.session, self.staff.desk, now, pathway.id, kind=kind, after=after, limit=1
        )
        if not found:
            raise RuntimeError(f"the demo history found no {kind.value} slot from {after}")
        return self._book_at(pathway, kind, now, found[0].start, room_id=found[0].room_id)

    def _book_at(
        self,
        pathway: Pathway,
        kind: AppointmentKind,
        now: datetime,
        start: datetime,
        *,
        room_id: int | None,
    ) -> Appointment:
        """Booked, if it ends before the quiet days (today's lists stay the stories')."""
        appointment = booking.book_appointment(
            self.session,
            self.staff.desk,
            now,
            pathway_id=pathway.id,
            kind=kind,
            start=start,
            room_id=room_id,
            reminder_before=self.reminder_before,
        )
        if appointment.end_at > self.ends:
            raise RuntimeError(f"the demo history ran into its quiet days at {start}")
        return appointment

    # --- the procedure day and the follow-up

    def _procedure_day(self, plan: Plan, pathway: Pathway, procedure: Appointment) -> Moments:
        """Check-in, the procedure (on time, or late), recovery, then discharge or
        admission; returns when the patient's day ended."""
        start, nurse = procedure.start_at, self.staff.nurse
        surgeon = self.staff.surgeons[procedure.clinician_id]
        now = start - timedelta(minutes=45)
        yield now
        records.check_in(self.session, nurse, now, procedure.id, ready_check_in(now))
        now = start + timedelta(minutes=plan.start_late_minutes)
        yield now
        records.start_procedure(self.session, surgeon, now, procedure.id, None)
        finished = now + timedelta(minutes=plan.values.randint(55, 80))
        yield finished
        records.finish_procedure(
            self.session,
            surgeon,
            finished,
            procedure.id,
            levels_treated=list(pathway.levels),
            complications=plan.complications,
        )
        now = finished + timedelta(minutes=25)
        yield now
        self._score(procedure, now, RecoveryScale.ALDRETE)
        if plan.admitted_for is not None:
            now = finished + timedelta(minutes=plan.values.randint(150, 240))
            yield now
            records.admit(self.session, nurse, now, procedure.id, reason=plan.admitted_for)
            return now
        now = finished + timedelta(minutes=65)
        yield now
        self._score(procedure, now, RecoveryScale.PADSS)
        now += timedelta(minutes=plan.values.randint(15, 60))
        yield now
        records.discharge(
            self.session,
            nurse,
            now,
            procedure.id,
            escort_present=True,
            written_instructions_given=True,
        )
        return now

    def _score(self, procedure: Appointment, now: datetime, scale: RecoveryScale) -> None:
        records.record_recovery_score(
            self.session,
            self.staff.nurse,
            now,
            procedure.id,
            scale=scale,
            items=dict.fromkeys(RECOVERY_ITEMS[scale], 2),
        )

    def _follow_up(self, plan: Plan, visit: Appointment) -> Story:
        """The outcome: pain and disability in line with the relief the plan drew."""
        now = visit.start_at + timedelta(minutes=15)
        yield now
        before = plan.values.randint(7, 9)
        records.record_follow_up_outcome(
            self.session,
            self.staff.surgeons[visit.clinician_id],
            now,
            visit.id,
            pain_score=round(before * (100 - plan.relief) / 100),
            percent_relief=plan.relief,
            odi=max(4, 50 - plan.relief // 2 + plan.values.randint(-6, 6)),
            complications=plan.follow_up_complications,
            physical_therapy_referred=plan.values.random() < 0.5,
        )

    # --- the waitlist worker and the patients' answers

    def _backfill(self, now: datetime) -> None:
        """The waitlist worker's pass (``waitlist.worker``) at ``now``: offers past their
        time expire, and each vacancy freed by then is offered on; the answer to each
        offer made is replayed when the patient gives it."""
        waitlist.expire_due(self.session, now)
        while (vacancy := self._vacancy_to_offer(now)) is not None:
            for offer in waitlist.offer_vacancy(self.session, now, vacancy, self.backfill):
                self.replay.start(self._answer(offer))

    def _vacancy_to_offer(self, now: datetime) -> Vacancy | None:
        """The oldest vacancy at the site, freed by ``now``, waiting for a search (the hours
        the clinic opened with, recorded at the seed's "now", are the real worker's)."""
        in_flight = exists().where(Offer.vacancy_id == Vacancy.id, Offer.status == OfferStatus.OPEN)
        return self.session.scalars(
            select(Vacancy)
            .where(
                Vacancy.site_id == self.site.id,
                Vacancy.status == VacancyStatus.OPEN,
                Vacancy.searched_at.is_(None),
                Vacancy.created_at <= now,
                ~in_flight,
            )
            .order_by(Vacancy.id)
            .limit(1)
        ).first()

    def _answer(self, offer: Offer) -> Story:
        """The patient's answer through the e-mail's link: yes or no within the hour, or
        none (the offer expires and the worker's next pass offers the slot on)."""
        answer = self.answers.get(offer.pathway_id, Answer.IGNORE)
        after = ANSWERED_AFTER.get(answer)
        now = offer.expires_at if after is None else offer.created_at + after
        offer_id, pathway_id = offer.id, offer.pathway_id
        yield now
        still_open = self.session.get_one(Offer, offer_id).status is OfferStatus.OPEN
        if still_open and self.session.get_one(Pathway, pathway_id).waitlisted:
            if answer is Answer.ACCEPT:
                waitlist.accept(self.session, now, offer_id, self.backfill)
            elif answer is Answer.DECLINE:
                waitlist.decline(self.session, now, offer_id)
        self._backfill(now)


def ready_check_in(now: datetime) -> CheckInAnswers:
    """Ready: consent signed, escorted, fasted by the policy's hours, anticoagulation
    reviewed (none taken, so a cervical case needs nothing held)."""
    return CheckInAnswers(
        consent_signed=True,
        escort_name="Family member",
        escort_phone="+1 555 0199",
        fasting_confirmed=True,
        last_clear_fluids_at=now - timedelta(hours=3),
        last_light_meal_at=now - timedelta(hours=10),
        last_heavy_meal_at=now - timedelta(hours=14),
        anticoagulation_reviewed=True,
        anticoagulation_status=AnticoagulationStatus.NOT_ANTICOAGULATED,
    )


def seed_history(
    session: Session, site: Site, staff: Staff, now: datetime, *, reminder_before: timedelta
) -> None:
    """The half year before ``now`` at ``site``, every pathway of it over before today.

    Its e-mail went out in its time: the messages it queued are marked sent when they
    were due, so the outbox worker does not mail half a year of past visits at once."""
    before = session.scalar(select(func.coalesce(func.max(OutboxMessage.id), 0)))
    History(session, site, staff, now, reminder_before).seed()
    session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id > before, OutboxMessage.status == OutboxStatus.PENDING)
        .values(status=OutboxStatus.SENT, sent_at=OutboxMessage.deliver_after, updated_at=now)
    )
