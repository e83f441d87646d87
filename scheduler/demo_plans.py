"""The demo's half year of referrals as plans, before any of it happens: who is referred
when, under which policy, how each pathway ends, which incident befalls it, how the
procedure day goes and what the follow-up finds. Fixed tables and a seeded
``random.Random``, so every seed draws the same plans, on days counted back from the day
it runs; :mod:`scheduler.demo_history` lives them through the services.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, timedelta
from enum import StrEnum
from typing import Final

from scheduler.vocabulary import (
    AppointmentKind,
    Complication,
    Indication,
    Method,
    Region,
    Side,
    WaitlistPriority,
)

SEED: Final = 20260601
REFERRALS: Final = 84  # besides the waitlist's episodes
FIRST_REFERRAL, LAST_REFERRAL = 182, 16  # days before today
# The history's visits all end by this many days before today: today's procedure day,
# or the last clinic day's when the seed runs before opening or on a weekend, and the
# days the stories' recent steps fall on stay the stories' own.
QUIET_DAYS: Final = 4
SINGLE_BLOCK: Final = "single_block_50"
CLINIC_DAYS: Final = range(5)  # Monday to Friday, as the surgeons' hours


class Stage(StrEnum):
    FIRST_BLOCK = "first_block"
    SECOND_BLOCK = "second_block"
    PROCEDURE = "procedure"
    FOLLOW_UP = "follow_up"


KINDS: Final = {
    Stage.FIRST_BLOCK: AppointmentKind.DIAGNOSTIC_BLOCK,
    Stage.SECOND_BLOCK: AppointmentKind.DIAGNOSTIC_BLOCK,
    Stage.PROCEDURE: AppointmentKind.PROCEDURE,
    Stage.FOLLOW_UP: AppointmentKind.FOLLOW_UP,
}


class Incident(StrEnum):
    NO_SHOW = "no_show"
    LATE_CANCELLATION = "late_cancellation"  # less than 48 hours before the start
    EARLY_CANCELLATION = "early_cancellation"


class Ending(StrEnum):
    """How a pathway of the history ends."""

    COMPLETED = "completed"
    NEGATIVE_FIRST = "negative_first"  # the first block gave too little relief
    NEGATIVE_SECOND = "negative_second"
    STOPPED_BEFORE_BLOCK = "stopped_before_block"  # cancelled with its first block booked
    STOPPED_ELIGIBLE = "stopped_eligible"  # cancelled once eligible, nothing booked
    STOPPED_BEFORE_PROCEDURE = "stopped_before_procedure"  # cancelled with it booked


class Answer(StrEnum):
    ACCEPT = "accept"
    DECLINE = "decline"
    IGNORE = "ignore"  # the offer expires


# The regular referrals' endings in turn, oldest referral first: ten in fifteen completed.
ENDINGS: Final = (
    Ending.COMPLETED,
    Ending.COMPLETED,
    Ending.NEGATIVE_FIRST,
    Ending.COMPLETED,
    Ending.COMPLETED,
    Ending.STOPPED_BEFORE_BLOCK,
    Ending.COMPLETED,
    Ending.COMPLETED,
    Ending.NEGATIVE_SECOND,
    Ending.COMPLETED,
    Ending.STOPPED_ELIGIBLE,
    Ending.COMPLETED,
    Ending.COMPLETED,
    Ending.STOPPED_BEFORE_PROCEDURE,
    Ending.COMPLETED,
)
# An ending that does not fit in the days left before the history ends becomes this.
SHORTER: Final = {
    Ending.COMPLETED: Ending.STOPPED_ELIGIBLE,
    Ending.STOPPED_BEFORE_PROCEDURE: Ending.STOPPED_ELIGIBLE,
    Ending.STOPPED_ELIGIBLE: Ending.NEGATIVE_FIRST,
    Ending.NEGATIVE_SECOND: Ending.NEGATIVE_FIRST,
    Ending.NEGATIVE_FIRST: Ending.STOPPED_BEFORE_BLOCK,
}
STOPPED: Final = frozenset(
    {Ending.STOPPED_BEFORE_BLOCK, Ending.STOPPED_ELIGIBLE, Ending.STOPPED_BEFORE_PROCEDURE}
)
STOP_REASONS: Final = (
    "Pain resolved with physical therapy",
    "Patient chose surgery elsewhere",
    "Moved out of the area",
    "Insurance declined the procedure",
    "Patient chose to stop the pathway",
)
# One incident each for the completed pathways with days to spare, in this order.
INCIDENTS: Final = (
    (Stage.FIRST_BLOCK, Incident.NO_SHOW),
    (Stage.PROCEDURE, Incident.LATE_CANCELLATION),
    (Stage.FOLLOW_UP, Incident.NO_SHOW),
    (Stage.SECOND_BLOCK, Incident.EARLY_CANCELLATION),
    (Stage.FIRST_BLOCK, Incident.LATE_CANCELLATION),
    (Stage.FOLLOW_UP, Incident.LATE_CANCELLATION),
    (Stage.PROCEDURE, Incident.NO_SHOW),
    (Stage.SECOND_BLOCK, Incident.NO_SHOW),
    (Stage.PROCEDURE, Incident.EARLY_CANCELLATION),
    (Stage.FIRST_BLOCK, Incident.EARLY_CANCELLATION),
    (Stage.SECOND_BLOCK, Incident.LATE_CANCELLATION),
    (Stage.FOLLOW_UP, Incident.EARLY_CANCELLATION),
)
CANCEL_REASONS: Final = {
    Incident.LATE_CANCELLATION: "Patient unwell",
    Incident.EARLY_CANCELLATION: "Patient asked to cancel",
}
# Every eleventh completed pathway's patient stays the night, for one of these.
ADMISSIONS: Final = (
    "Urinary retention after sedation",
    "Pain not controlled by oral analgesia",
    "No escort available to take the patient home",
    "Prolonged sedation: observed overnight",
    "Low oxygen saturation in recovery",
)
PROCEDURE_COMPLICATIONS: Final = (
    Complication.TEMPORARY_PAIN,
    Complication.SWELLING_BRUISING,
    Complication.BURNING_TINGLING,
    Complication.BLEEDING,
)
# What a follow-up finds, and how often: neuritis-like burning and numbness often,
# infection and scarring rarely.
FOLLOW_UP_COMPLICATIONS: Final = {
    Complication.BURNING_TINGLING: 4,
    Complication.TEMPORARY_PAIN: 4,
    Complication.NUMBNESS_WEAKNESS: 3,
    Complication.SCARRING_ADHESIONS: 1,
    Complication.INFECTION: 1,
}
# Percent relief at the follow-up, and how often each is reported.
RELIEF: Final = {20: 1, 30: 1, 40: 2, 50: 3, 60: 4, 70: 5, 75: 5, 80: 6, 90: 4, 95: 2, 100: 1}
# (weight, indication, region, the levels a referral names)
TARGETS: Final = (
    (14, Indication.FACET_JOINT_SYNDROME, Region.LUMBAR, (("L4-L5",), ("L4-L5", "L5-S1"))),
    (4, Indication.FACET_JOINT_SYNDROME, Region.LUMBAR, (("L5-S1",), ("L3-L4", "L4-L5"))),
    (3, Indication.FACET_JOINT_SYNDROME, Region.CERVICAL, (("C5-C6",), ("C4-C5", "C5-C6"))),
    (1, Indication.FACET_JOINT_SYNDROME, Region.THORACIC, (("T11-T12",),)),
    (3, Indication.SACROILIAC_JOINT_DYSFUNCTION, Region.SACROILIAC, (("L5", "S1"),)),
)
GIVEN_NAMES: Final = (
    "Aaron", "Beatrice", "Caleb", "Diana", "Ethan", "Fatima", "George", "Hannah", "Isaac",
    "Julia", "Kevin", "Laura", "Marcus", "Naomi", "Oscar", "Priya", "Quentin", "Rosa",
    "Samuel", "Teresa", "Umar", "Valerie", "Walter", "Ximena", "Yusuf", "Zoe", "Arjun",
    "Bianca", "Colin", "Dalia",
)  # fmt: skip
FAMILY_NAMES: Final = (
    "Abbott", "Bauer", "Castillo", "Dubois", "Eriksen", "Fischer", "Gallagher", "Hoffman",
    "Iqbal", "Jensen", "Kowalski", "Larsen", "Mensah", "Novak", "Olsen", "Petrov", "Quinn",
    "Ramirez", "Sato", "Torres", "Uddin", "Varga", "Walsh", "Xu", "Yilmaz", "Zimmerman",
    "Andersen", "Banerjee", "Cohen", "Diallo",
)  # fmt: skip


@dataclass(frozen=True)
class Episode:
    """A procedure cancelled days ahead while patients wait on the list for one (SPEC §10):
    the slot is offered to them in rank order, and each answers as ``waiting`` says.
    ``for_block``: they wait for a first block instead, which the freed time also fits."""

    days_ago: int  # the freed procedure's day, about
    waiting: tuple[tuple[WaitlistPriority, Answer], ...]
    for_block: bool = False


EPISODES: Final = (
    Episode(
        135, ((WaitlistPriority.SOON, Answer.ACCEPT), (WaitlistPriority.ROUTINE, Answer.ACCEPT))
    ),
    Episode(
        111, ((WaitlistPriority.URGENT, Answer.DECLINE), (WaitlistPriority.ROUTINE, Answer.ACCEPT))
    ),
    Episode(
        87, ((WaitlistPriority.SOON, Answer.IGNORE), (WaitlistPriority.ROUTINE, Answer.ACCEPT))
    ),
    Episode(63, ((WaitlistPriority.ROUTINE, Answer.IGNORE),)),
    Episode(40, ((WaitlistPriority.SOON, Answer.ACCEPT),), for_block=True),
)
# Who waits for a freed procedure joins the list this many days before it and books the
# usual way if nothing came by this many days after; the freed one is cancelled this
# many days ahead.
JOINS_BEFORE, WAITS_AFTER, FREED_AHEAD = 10, 6, 4
# How long a patient takes to answer an offer (one who does not, lets it expire).
ANSWERED_AFTER: Final = {
    Answer.ACCEPT: timedelta(minutes=35),
    Answer.DECLINE: timedelta(minutes=20),
}

# Days from one step to the next booked visit (earliest, latest), as the plan spreads them.
WAITS: Final = {
    Stage.FIRST_BLOCK: (7, 21),
    Stage.SECOND_BLOCK: (14, 24),
    Stage.PROCEDURE: (10, 30),
    Stage.FOLLOW_UP: (14, 24),
}
SLIP_DAYS: Final = 3  # a weekend, or a full day, between the wanted day and the slot
INCIDENT_DAYS: Final = 10  # what a cancellation or a no-show adds, rebooked


@dataclass(frozen=True)
class Waiting:
    """A pathway on the waitlist for its ``step``: from ``joins`` until an accepted offer
    books it, or ``until`` (then the desk books it the usual way)."""

    step: AppointmentKind
    priority: WaitlistPriority
    answer: Answer
    joins: date
    until: date


@dataclass(frozen=True)
class Plan:
    """One referral of the history and everything that will happen on it."""

    number: int
    referred: date
    clinician_id: int
    ending: Ending
    values: random.Random  # the plan's own stream: its draws do not depend on the others'
    policy: str | None
    indication: Indication
    region: Region
    levels: tuple[str, ...]
    side: Side
    method: Method
    waits: Mapping[Stage, int]
    incident: tuple[Stage, Incident] | None = None
    start_late_minutes: int = 0
    complications: tuple[Complication, ...] = ()
    admitted_for: str | None = None
    relief: int = 75
    follow_up_complications: tuple[Complication, ...] = ()
    stop_reason: str = STOP_REASONS[0]
    waiting: Waiting | None = None
    procedure_from: date | None = None  # a freeing plan's procedure: the first slot from here
    freed_ahead: int = 5  # days between an early cancellation and the visit

    @property
    def blocks(self) -> int:
        return 1 if self.policy == SINGLE_BLOCK else 2

    @property
    def name(self) -> tuple[str, str]:
        """Unique for 900 referrals: another family name each time the given names repeat."""
        given = GIVEN_NAMES[self.number % len(GIVEN_NAMES)]
        family = (7 * self.number + self.number // len(GIVEN_NAMES)) % len(FAMILY_NAMES)
        return given, FAMILY_NAMES[family]


# ---------------------------------------------------------------------------------------
# The plans


def _days_needed(plan: Plan) -> int:
    """Days from referral to the last visit at the plan's quickest pace."""
    stages = [Stage.FIRST_BLOCK, Stage.SECOND_BLOCK][: plan.blocks]
    if plan.ending in (Ending.COMPLETED, Ending.STOPPED_BEFORE_PROCEDURE):
        stages += [Stage.PROCEDURE, Stage.FOLLOW_UP]
    elif plan.ending is Ending.STOPPED_ELIGIBLE:
        stages += [Stage.PROCEDURE]
    elif plan.ending is Ending.NEGATIVE_FIRST:
        stages = [Stage.FIRST_BLOCK]
    elif plan.ending is Ending.STOPPED_BEFORE_BLOCK:
        stages = []
    days = sum(WAITS[stage][0] + SLIP_DAYS for stage in stages)
    return days + (INCIDENT_DAYS if plan.incident else 0) + SLIP_DAYS


def _paced(plan: Plan, days_left: int) -> Plan:
    """The plan's waits spread between the quickest and the slowest pace, as far as the
    days left allow."""
    spare = days_left - _days_needed(plan)
    span = sum(longest - shortest for shortest, longest in WAITS.values())
    share = max(0.0, min(1.0, spare / span))
    waits = {
        stage: shortest + round(plan.values.uniform(0, share) * (longest - shortest))
        for stage, (shortest, longest) in WAITS.items()
    }
    return replace(plan, waits=waits)


def _fitted(plan: Plan, days_left: int) -> Plan:
    """The plan, shortened (one block, then an earlier ending) until it fits the days left."""
    while _days_needed(plan) > days_left:
        if plan.policy != SINGLE_BLOCK and plan.ending is not Ending.NEGATIVE_SECOND:
            plan = replace(plan, policy=SINGLE_BLOCK)
        elif plan.ending in SHORTER:
            plan = replace(plan, ending=SHORTER[plan.ending])
        else:
            break
    return _paced(plan, days_left)


def _base_plan(rng: random.Random, referred: date, clinician_id: int, ending: Ending) -> Plan:
    """A referral's clinical facts, drawn: target, side, method; its own random stream."""
    weights = [weight for weight, *_rest in TARGETS]
    _weight, indication, region, choices = rng.choices(TARGETS, weights=weights)[0]
    roll = rng.random()
    method = Method.LASER if roll < 0.07 else Method.MECHANICAL if roll < 0.12 else Method.RFA
    return Plan(
        number=0,
        referred=referred,
        clinician_id=clinician_id,
        ending=ending,
        policy=None,
        indication=indication,
        region=region,
        levels=rng.choice(choices),
        side=rng.choice((Side.RIGHT, Side.LEFT, Side.BILATERAL)),
        method=method,
        waits={stage: shortest for stage, (shortest, _longest) in WAITS.items()},
        values=random.Random(rng.getrandbits(32)),  # noqa: S311 (repeatable, not secret)
    )


def _regular_plans(rng: random.Random, today: date, clinicians: list[int]) -> list[Plan]:
    """Referrals spread evenly over the half year, the endings in the table's turn (those
    too recent for theirs end sooner), one in four under the one-block policy."""
    span = FIRST_REFERRAL - LAST_REFERRAL
    plans = []
    for index in range(REFERRALS):
        days_ago = FIRST_REFERRAL - round(index * span / (REFERRALS - 1)) + rng.randint(-1, 1)
        referred = clinic_day(today - timedelta(days=days_ago))
        plan = _base_plan(rng, referred, clinicians[index % 2], ENDINGS[index % len(ENDINGS)])
        if index % 4 == 3 and plan.ending is not Ending.NEGATIVE_SECOND:
            plan = replace(plan, policy=SINGLE_BLOCK)
        plans.append(_fitted(plan, (today - referred).days - QUIET_DAYS))
    stopped = itertools.count()
    return [
        replace(plan, stop_reason=STOP_REASONS[next(stopped) % len(STOP_REASONS)])
        if plan.ending in STOPPED
        else plan
        for plan in _with_incidents(plans, today)
    ]


def _with_incidents(plans: list[Plan], today: date) -> list[Plan]:
    """Every other completed pathway with days to spare gets the next incident of the
    table that fits it; every eleventh is admitted."""
    incidents = list(INCIDENTS)
    result = list(plans)
    completed = [index for index, plan in enumerate(plans) if plan.ending is Ending.COMPLETED]
    for count, index in enumerate(completed, start=1):
        plan, days_left = result[index], (today - result[index].referred).days - QUIET_DAYS
        fits = [each for each in incidents if plan.blocks == 2 or each[0] is not Stage.SECOND_BLOCK]
        if count % 2 and fits and _days_needed(replace(plan, incident=fits[0])) <= days_left:
            incidents.remove(fits[0])
            plan = _paced(replace(plan, incident=fits[0]), days_left)
        if count % 11 == 5:
            plan = replace(plan, admitted_for=ADMISSIONS[count // 11 % len(ADMISSIONS)])
        result[index] = plan
    return result


def _episode_plans(rng: random.Random, today: date, clinicians: list[int]) -> list[Plan]:
    """For each episode, the pathway whose procedure is cancelled ahead, and those waiting."""
    plans = []
    for index, episode in enumerate(EPISODES):
        clinician_id = clinicians[index % 2]
        freed_on = today - timedelta(days=episode.days_ago)
        plans.append(
            replace(
                _base_plan(
                    rng, clinic_day(freed_on - timedelta(days=50)), clinician_id, Ending.COMPLETED
                ),
                incident=(Stage.PROCEDURE, Incident.EARLY_CANCELLATION),
                procedure_from=freed_on,
                freed_ahead=FREED_AHEAD,
                method=Method.RFA,
            )
        )
        step = AppointmentKind.DIAGNOSTIC_BLOCK if episode.for_block else AppointmentKind.PROCEDURE
        joins, until = (freed_on + timedelta(days=d) for d in (-JOINS_BEFORE, WAITS_AFTER))
        referred = joins if episode.for_block else freed_on - timedelta(days=45)
        for priority, answer in episode.waiting:
            waiting = Waiting(step, priority, answer, joins, until)
            plan = _base_plan(rng, clinic_day(referred), clinician_id, Ending.COMPLETED)
            plans.append(
                replace(
                    plan,
                    waiting=waiting,
                    method=Method.RFA,
                    policy=SINGLE_BLOCK if episode.for_block else None,
                )
            )
    return plans


def _with_procedure_days(plans: list[Plan]) -> list[Plan]:
    """Late first cases, complications, relief at follow-up: drawn per plan."""
    result = []
    for plan in plans:
        values = plan.values
        late = values.random() < 0.2
        complications = (
            tuple(values.sample(PROCEDURE_COMPLICATIONS, k=values.choice((1, 1, 2))))
            if values.random() < 0.12
            else ()
        )
        codes, weights = list(FOLLOW_UP_COMPLICATIONS), list(FOLLOW_UP_COMPLICATIONS.values())
        later = tuple(values.choices(codes, weights)) if values.random() < 0.15 else ()
        result.append(
            replace(
                plan,
                start_late_minutes=values.randint(12, 40) if late else values.choice((-5, 0, 3, 8)),
                complications=complications,
                relief=values.choices(list(RELIEF), weights=list(RELIEF.values()))[0],
                follow_up_complications=later,
            )
        )
    return result


def plans(today: date, clinicians: list[int]) -> list[Plan]:
    """Every referral of the history, oldest first, numbered in that order."""
    rng = random.Random(SEED)  # noqa: S311 (a demo's repeatable draws, not a secret)
    every = _regular_plans(rng, today, clinicians) + _episode_plans(rng, today, clinicians)
    every.sort(key=lambda plan: (plan.referred, plan.clinician_id))
    return _with_procedure_days(
        [replace(plan, number=number) for number, plan in enumerate(every, start=1)]
    )


def clinic_day(day: date) -> date:
    """``day`` if the clinic works then, else the next day it does."""
    while day.weekday() not in CLINIC_DAYS:
        day += timedelta(days=1)
    return day
