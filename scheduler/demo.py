"""A demo clinic for ``flask demo seed``: every pathway state, built through the services.

Each patient's story is replayed step by step with the clock set to the moment of that
step, so the data passes the same rules a real clinic's would, and the step that is
next for each patient lies in the near future. The clinic works Monday to Friday, and
every step of a story falls on a clinic day at an hour the clinic keeps, whatever day
the seed runs. Behind the stories lie six months of finished pathways
(:mod:`scheduler.demo_history`), so the reports have figures to show. Running the seed
twice changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

import config
from scheduler.access import SYSTEM, Actor
from scheduler.auth.services import actor_for, create_user
from scheduler.clinical import services as records
from scheduler.clinicians import services as clinicians
from scheduler.clinicians.models import Clinician
from scheduler.clock import system_clock
from scheduler.demo_history import Staff, ready_check_in, seed_history
from scheduler.facilities import services as facilities
from scheduler.facilities.models import Room, Site
from scheduler.pathways import services as pathways
from scheduler.pathways.models import Pathway
from scheduler.pathways.referral import Referral
from scheduler.pathways.states import PathwayState
from scheduler.patients.models import Patient
from scheduler.patients.services import register_patient
from scheduler.policies.booking_rules import BlockReading, Treatment
from scheduler.scheduling import booking, cancellation
from scheduler.scheduling.models import Appointment
from scheduler.settings import BackfillSettings
from scheduler.vocabulary import (
    RECOVERY_ITEMS,
    AppointmentKind,
    AppointmentStatus,
    EquipmentKind,
    Indication,
    RecoveryScale,
    Region,
    Role,
    RoomKind,
    Side,
    TreatmentKind,
    TreatmentOutcome,
    WaitlistPriority,
)
from scheduler.waitlist import services as waitlist
from scheduler.waitlist.models import Vacancy

SITE_NAME = "Riverside Spine & Pain Center"
ZONE = "America/New_York"
DOMAIN = "demo.example.org"
PASSWORDS = {
    Role.ADMIN: "demo-admin-pass",
    Role.SCHEDULER: "demo-scheduler-pass",
    Role.CLINICIAN: "demo-clinician-pass",
    Role.NURSE: "demo-nurse-pass",
    Role.PATIENT: "demo-patient-pass",
    Role.MANAGER: "demo-manager-pass",
}

# (given name, family name, the state the pathway is left in)
PATIENTS = (
    ("Ada", "Moreno", PathwayState.COMPLETED),
    ("Ben", "Okafor", PathwayState.REFERRED),
    ("Carla", "Nguyen", PathwayState.BLOCK_SCHEDULED),
    ("David", "Schmidt", PathwayState.ELIGIBLE),
    ("Elena", "Rossi", PathwayState.INELIGIBLE),
    ("Farid", "Haddad", PathwayState.PROCEDURE_SCHEDULED),
    ("Grace", "Kim", PathwayState.CHECKED_IN),
    ("Hugo", "Lindqvist", PathwayState.IN_PROCEDURE),
    ("Irene", "Costa", PathwayState.IN_RECOVERY),
    ("Jamal", "Brooks", PathwayState.DISCHARGED),
    ("Keiko", "Tanaka", PathwayState.ADMITTED),
    ("Luis", "Ferreira", PathwayState.FOLLOW_UP_SCHEDULED),
    ("Maya", "Patel", PathwayState.CANCELLED),
    ("Nora", "Ivanova", PathwayState.PROCEDURE_SCHEDULED),
)

# The waitlist (SPEC §10): who waits for an earlier slot, with what priority. The last
# story's procedure is then cancelled, and its slot offered to the best-ranked of them
# that it suits: an offer in flight on the board.
WAITLISTED = (("Ben", WaitlistPriority.ROUTINE), ("David", WaitlistPriority.SOON))
FREED_BY = "Nora"
FREED_HOUR = 15

# The demo patient login: blocks done, the procedure booked a few days ahead, so the
# patient's page has history and an upcoming visit with its preparation.
PATIENT_LOGIN_STORY = PathwayState.PROCEDURE_SCHEDULED

# Days from today to the story's procedure day, per state the story stops in.
PROCEDURE_DAY_OFFSET = {
    PathwayState.REFERRED: 60,
    PathwayState.BLOCK_SCHEDULED: 45,
    PathwayState.ELIGIBLE: 20,
    PathwayState.INELIGIBLE: 30,
    PathwayState.PROCEDURE_SCHEDULED: 5,
    PathwayState.DISCHARGED: -3,
    PathwayState.ADMITTED: -3,
    PathwayState.FOLLOW_UP_SCHEDULED: -7,
    PathwayState.COMPLETED: -35,
    PathwayState.CANCELLED: -35,
}

# The clinic's days (0 = Monday) and the surgeons' hours on each, site-local.
CLINIC_DAYS = range(5)
OPENS, CLOSES = time(8), time(17)

# The procedure-day states happen around the time of seeding, so a nurse or surgeon
# signing in sees them at once: how long before "now" that story's procedure started
# (negative: it starts later). Every recorded step still lies in the past.
STARTED_BEFORE_NOW = {
    PathwayState.CHECKED_IN: timedelta(minutes=-30),
    PathwayState.IN_PROCEDURE: timedelta(minutes=30),
    PathwayState.IN_RECOVERY: timedelta(hours=2),
}
# "Now" for those stories stays where every one of those procedures fits the hours
# (the earliest started two hours before, the latest ends two hours after): seeding
# outside it, or on a weekend, uses the last clinic day's afternoon instead.
ANCHOR_EARLIEST, ANCHOR_LATEST = time(10), time(15)


@dataclass
class Clinic:
    site: Site
    procedure_rooms: list[int]
    clinicians: list[int]
    actors: dict[str, Actor]


def _logins() -> list[tuple[str, str, str]]:
    return [
        (role.value, f"{role.value}@{DOMAIN}", PASSWORDS[role])
        for role in (
            Role.ADMIN,
            Role.SCHEDULER,
            Role.CLINICIAN,
            Role.NURSE,
            Role.PATIENT,
            Role.MANAGER,
        )
    ]


def seed_demo(
    session: Session,
    now: datetime | None = None,
    *,
    reminder_before: timedelta = timedelta(hours=config.Defaults.REMINDER_HOURS_BEFORE),
) -> list[tuple[str, str, str]]:
    """Create the demo clinic unless it exists; returns (role, e-mail, password) per role.

    Bookings queue their patients' invites and reminders like any other booking, so the
    outbox worker has something to send.
    """
    now = now or system_clock()
    if session.scalar(select(Site.id).where(Site.name == SITE_NAME)) is None:
        clinic = _clinic(session, now)
        for index, (given, family, state) in enumerate(PATIENTS):
            _patient_story(session, clinic, index, given, family, state, now, reminder_before)
        _history(session, clinic, now, reminder_before)
        _waitlist(session, clinic, now, reminder_before)
    return _logins()


def _history(session: Session, clinic: Clinic, now: datetime, reminder_before: timedelta) -> None:
    """Six months of past pathways for the reports (``demo_history``); before the stories'
    waitlist, so that the history's offers go only to the history's waiting patients."""
    staff = Staff(
        desk=clinic.actors[Role.SCHEDULER.value],
        nurse=clinic.actors[Role.NURSE.value],
        surgeons={ident: clinic.actors[f"clinician-{ident}"] for ident in clinic.clinicians},
        domain=DOMAIN,
    )
    seed_history(session, clinic.site, staff, now, reminder_before=reminder_before)


def _waitlist(session: Session, clinic: Clinic, now: datetime, reminder_before: timedelta) -> None:
    """Waitlisted pathways, and a freed procedure slot offered to one of them."""
    desk = clinic.actors[Role.SCHEDULER.value]
    for given, priority in WAITLISTED:
        waitlist.add_entry(
            session,
            desk,
            now,
            pathway_id=_pathway_of(session, given).id,
            priority=priority,
            min_notice_hours=24,
        )
    freed = session.scalars(
        select(Appointment).where(
            Appointment.pathway_id == _pathway_of(session, FREED_BY).id,
            Appointment.status == AppointmentStatus.BOOKED,
        )
    ).one()
    cancellation.cancel_appointment(session, desk, now, freed.id, "Patient unwell")
    vacancy = session.scalars(select(Vacancy).where(Vacancy.freed_appointment_id == freed.id)).one()
    waitlist.offer_vacancy(session, now, vacancy, BackfillSettings(reminder_before=reminder_before))


def _pathway_of(session: Session, given_name: str) -> Pathway:
    return session.scalars(
        select(Pathway)
        .join(Patient, Patient.id == Pathway.patient_id)
        .where(Patient.given_name == given_name, Patient.mrn.startswith("DEMO-"))
    ).one()


def _clinic(session: Session, now: datetime) -> Clinic:
    site, rooms = _site(session, now)
    surgeons = [
        clinicians.create_clinician(
            session,
            SYSTEM,
            now,
            given_name=given,
            family_name=family,
            email=f"{family.lower()}@{DOMAIN}",
        )
        for given, family in (("Miriam", "Alvarez"), ("Thomas", "Becker"))
    ]
    for surgeon in surgeons:
        clinicians.set_working_hours(
            session,
            SYSTEM,
            now,
            surgeon.id,
            [
                {"site_id": site.id, "weekday": day, "start": OPENS, "end": CLOSES}
                for day in CLINIC_DAYS
            ],
        )
    actors = _staff_logins(session, now, surgeons)
    session.flush()
    return Clinic(site, [r.id for r in rooms], [s.id for s in surgeons], actors)


def _site(session: Session, now: datetime) -> tuple[Site, list[Room]]:
    """The site, its two procedure rooms (returned) and a consult room, its equipment."""
    site = facilities.create_site(
        session,
        SYSTEM,
        now,
        name=SITE_NAME,
        timezone=ZONE,
        address="100 Riverside Drive, Springfield, NY 10001",
        phone="+1 555 0100",
    )
    rooms = [
        facilities.create_room(
            session,
            SYSTEM,
            now,
            site_id=site.id,
            name=f"Procedure room {n}",
            kind=RoomKind.PROCEDURE,
            fluoroscopy=True,
        )
        for n in (1, 2)
    ]
    facilities.create_room(
        session,
        SYSTEM,
        now,
        site_id=site.id,
        name="Consult room A",
        kind=RoomKind.CONSULT,
        fluoroscopy=False,
    )
    # Two of each unit, so both procedure rooms can work at once; three recovery bays.
    for kind in EquipmentKind:
        for n in (1, 2):
            facilities.create_equipment(
                session,
                SYSTEM,
                now,
                site_id=site.id,
                name=f"{kind.value.replace('_', ' ').title()} {n}",
                kind=kind,
            )
    for n in (1, 2, 3):
        facilities.create_recovery_bay(
            session, SYSTEM, now, site_id=site.id, name=f"Recovery bay {n}"
        )
    return site, rooms


def _staff_logins(session: Session, now: datetime, surgeons: list[Clinician]) -> dict[str, Actor]:
    """One login per staff role, and one per surgeon: who does what in the stories."""
    actors: dict[str, Actor] = {}
    for role in (Role.ADMIN, Role.SCHEDULER, Role.NURSE, Role.MANAGER):
        user = create_user(
            session,
            SYSTEM,
            now,
            email=f"{role.value}@{DOMAIN}",
            password=PASSWORDS[role],
            role=role,
        )
        actors[role.value] = actor_for(user)
    for index, surgeon in enumerate(surgeons):
        email = f"{Role.CLINICIAN.value}@{DOMAIN}" if index == 0 else f"becker@{DOMAIN}"
        user = create_user(
            session,
            SYSTEM,
            now,
            email=email,
            password=PASSWORDS[Role.CLINICIAN],
            role=Role.CLINICIAN,
            clinician_id=surgeon.id,
        )
        actors[f"clinician-{surgeon.id}"] = actor_for(user)
    return actors


def _patient_story(
    session: Session,
    clinic: Clinic,
    index: int,
    given: str,
    family: str,
    target: PathwayState,
    now: datetime,
    reminder_before: timedelta,
) -> None:
    """Replay one patient's pathway up to ``target``, with the next step still ahead.

    Long on purpose: the whole pathway as one list of dated steps in the order a clinic
    walks it (SPEC §1), so the story reads top to bottom; each step is a few lines.
    """
    zone = ZoneInfo(ZONE)
    clinician_id = clinic.clinicians[index % 2]
    room_id = clinic.procedure_rooms[index % 2]
    desk = clinic.actors[Role.SCHEDULER.value]
    nurse = clinic.actors[Role.NURSE.value]
    surgeon = clinic.actors[f"clinician-{clinician_id}"]
    # One start hour per patient of a clinician (08:00-14:00, so that a procedure ends
    # by 15:30): no overlaps.
    hour = OPENS.hour + index % 7
    if given == FREED_BY:  # its procedure is cancelled: the afternoon slot left free
        hour = FREED_HOUR

    # Day 0 is the procedure day, a clinic day; every step is placed relative to it (on
    # the first clinic day from there), and day 0 is chosen so that the steps up to
    # ``target`` are past and the next one is ahead. Visits are whole weeks from day 0.
    if target in STARTED_BEFORE_NOW:
        anchor = _procedure_day_anchor(now, zone)
        procedure_day = anchor.date()
        procedure_start = anchor - STARTED_BEFORE_NOW[target]
    else:
        today = now.astimezone(zone).date()
        procedure_day = _clinic_day_from(today + timedelta(days=PROCEDURE_DAY_OFFSET[target]))
        procedure_start = datetime.combine(procedure_day, time(hour), zone)

    def at(days: int, hh: int, mm: int = 0) -> datetime:
        day = _clinic_day_from(procedure_day + timedelta(days=days))
        return datetime.combine(day, time(hh, mm), zone)

    def after_start(minutes: int) -> datetime:
        return procedure_start + timedelta(minutes=minutes)

    state: dict[str, Any] = {}
    steps: list[tuple[datetime, PathwayState | None, Callable[[datetime], Any]]] = []

    def add(
        when: datetime, reached: PathwayState | None, action: Callable[[datetime], Any]
    ) -> None:
        steps.append((when, reached, action))

    def register(t: datetime) -> None:
        patient = register_patient(
            session,
            desk,
            t,
            mrn=f"DEMO-{1001 + index}",
            given_name=given,
            family_name=family,
            birth_date=date(1950 + index * 2, 1 + index % 12, 10 + index),
            email=f"{given.lower()}.{family.lower()}@{DOMAIN}",
            phone=f"+1 555 01{index:02d}",
        )
        pathway = pathways.create_pathway(
            session,
            desk,
            t,
            Referral(
                patient_id=patient.id,
                clinician_id=clinician_id,
                site_id=clinic.site.id,
                indication=Indication.FACET_JOINT_SYNDROME,
                region=Region.LUMBAR,
                side=(Side.RIGHT, Side.LEFT, Side.BILATERAL)[index % 3],
                levels=["L4-L5", "L5-S1"] if index % 2 else ["L4-L5"],
                pain_onset_date=procedure_day - timedelta(days=240),
            ),
        )
        pathways.add_conservative_treatment(
            session,
            desk,
            t,
            pathway.id,
            Treatment(
                TreatmentKind.PHYSICAL_THERAPY,
                start_date=procedure_day - timedelta(days=200),
                end_date=procedure_day - timedelta(days=130),
                outcome=TreatmentOutcome.PARTIAL_RELIEF,
            ),
        )
        state["patient"], state["pathway"] = patient, pathway
        if target is PATIENT_LOGIN_STORY and given != FREED_BY:
            create_user(
                session,
                SYSTEM,
                t,
                email=f"{Role.PATIENT.value}@{DOMAIN}",
                password=PASSWORDS[Role.PATIENT],
                role=Role.PATIENT,
                patient_id=patient.id,
            )

    def book(kind: AppointmentKind, start: datetime) -> Callable[[datetime], Any]:
        def action(t: datetime) -> None:
            state["appointment"] = booking.book_appointment(
                session,
                desk,
                t,
                pathway_id=state["pathway"].id,
                kind=kind,
                start=start,
                room_id=room_id,
                reminder_before=reminder_before,
            )

        return action

    def block_result(relief_to: int) -> Callable[[datetime], Any]:
        def action(t: datetime) -> None:
            records.record_block_result(
                session, surgeon, t, state["appointment"].id, BlockReading(8, relief_to, 6.0)
            )

        return action

    def score(scale: RecoveryScale) -> Callable[[datetime], Any]:
        def action(t: datetime) -> None:
            records.record_recovery_score(
                session,
                nurse,
                t,
                state["appointment"].id,
                scale=scale,
                items=dict.fromkeys(RECOVERY_ITEMS[scale], 2),
            )

        return action

    add(at(-70, 9), PathwayState.REFERRED, register)
    if target is PathwayState.CANCELLED:
        add(
            at(-69, 11),
            PathwayState.CANCELLED,
            lambda t: cancellation.cancel_pathway(
                session, desk, t, state["pathway"].id, "Patient chose to stop the pathway."
            ),
        )
    add(
        at(-60, 9),
        PathwayState.BLOCK_SCHEDULED,
        book(AppointmentKind.DIAGNOSTIC_BLOCK, at(-42, hour)),
    )
    if target is PathwayState.INELIGIBLE:  # 25% relief: a negative block
        add(at(-42, hour, 45), PathwayState.INELIGIBLE, block_result(relief_to=6))
    else:
        add(at(-42, hour, 45), None, block_result(relief_to=1))
    add(at(-41, 9), None, book(AppointmentKind.DIAGNOSTIC_BLOCK, at(-28, hour)))
    add(at(-28, hour, 45), PathwayState.ELIGIBLE, block_result(relief_to=0))
    add(
        at(-20, 9),
        PathwayState.PROCEDURE_SCHEDULED,
        book(AppointmentKind.PROCEDURE, procedure_start),
    )
    add(
        after_start(-45),
        PathwayState.CHECKED_IN,
        lambda t: records.check_in(
            session,
            nurse,
            t,
            state["appointment"].id,
            ready_check_in(t),
        ),
    )
    add(
        after_start(5),
        PathwayState.IN_PROCEDURE,
        lambda t: records.start_procedure(session, surgeon, t, state["appointment"].id, None),
    )
    add(
        after_start(80),
        PathwayState.IN_RECOVERY,
        lambda t: records.finish_procedure(
            session,
            surgeon,
            t,
            state["appointment"].id,
            levels_treated=list(state["pathway"].levels),
            complications=[],
        ),
    )
    for minutes, scale in ((30, RecoveryScale.ALDRETE), (70, RecoveryScale.PADSS)):
        add(after_start(80 + minutes), None, score(scale))
    if target is PathwayState.ADMITTED:
        add(
            after_start(180),
            PathwayState.ADMITTED,
            lambda t: records.admit(
                session, nurse, t, state["appointment"].id, reason="Observation overnight."
            ),
        )
    else:
        add(
            after_start(180),
            PathwayState.DISCHARGED,
            lambda t: records.discharge(
                session,
                nurse,
                t,
                state["appointment"].id,
                escort_present=True,
                written_instructions_given=True,
            ),
        )
    add(at(2, 9), PathwayState.FOLLOW_UP_SCHEDULED, book(AppointmentKind.FOLLOW_UP, at(21, hour)))
    add(
        at(21, hour, 30),
        PathwayState.COMPLETED,
        lambda t: records.record_follow_up_outcome(
            session,
            surgeon,
            t,
            state["appointment"].id,
            pain_score=2,
            percent_relief=75,
            odi=18,
            complications=[],
            physical_therapy_referred=True,
        ),
    )

    for when, reached, action in steps:
        action(when)
        if reached is target:
            return
    raise AssertionError(f"demo story never reached {target.value}")  # pragma: no cover


def _clinic_day_from(day: date) -> date:
    """``day`` if the clinic works then, else the next day it does."""
    while day.weekday() not in CLINIC_DAYS:
        day += timedelta(days=1)
    return day


def _procedure_day_anchor(now: datetime, zone: ZoneInfo) -> datetime:
    """``now`` on the site's clock (to 5 minutes) on a clinic day within the anchor's
    hours, else the latest such moment before it (the last clinic day's afternoon)."""
    local = now.astimezone(zone)
    local = local.replace(minute=local.minute - local.minute % 5, second=0, microsecond=0)
    day = local.date()
    if day.weekday() in CLINIC_DAYS and local.time() >= ANCHOR_EARLIEST:
        return min(local, datetime.combine(day, ANCHOR_LATEST, zone))
    day -= timedelta(days=1)
    while day.weekday() not in CLINIC_DAYS:
        day -= timedelta(days=1)
    return datetime.combine(day, ANCHOR_LATEST, zone)
