"""A clinic's history written row by row, for reports with answers known by hand.

The reports read events, appointments and clinical records; here they are inserted
directly (no service runs), so a test states exactly what happened and when.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from scheduler.clinical.models import (
    BlockResult,
    DischargeRecord,
    FollowUpOutcome,
    ProcedureRecord,
)
from scheduler.clinical.services import BLOCK_TRIGGERS
from scheduler.facilities.models import Room, Site
from scheduler.pathways.models import Pathway, PathwayEvent
from scheduler.pathways.states import PathwayState, Trigger
from scheduler.policies.models import PolicyRecord
from scheduler.scheduling.models import Appointment
from scheduler.vocabulary import (
    AppointmentKind,
    AppointmentStatus,
    DischargeOutcome,
    Indication,
    Method,
    OfferStatus,
    Region,
    Side,
    TargetNerve,
    VacancySource,
    VacancyStatus,
)
from scheduler.waitlist.models import Offer, Vacancy
from tests.factories import (
    ClinicianFactory,
    PatientFactory,
    RoomFactory,
    SiteFactory,
    WorkingHoursFactory,
)

# A block result's verdict, as its event's trigger says it.
OUTCOMES = {trigger: outcome for outcome, trigger in BLOCK_TRIGGERS.items()}
S = PathwayState
T = Trigger
K = AppointmentKind
ZONE = "America/New_York"


def at(day: str, hh: int = 9, mm: int = 0) -> datetime:
    """A wall-clock time at the clinic (New York) as an aware datetime."""
    return datetime.combine(date.fromisoformat(day), time(hh, mm), ZoneInfo(ZONE))


@dataclass
class History:
    db: Session
    site: Site
    rooms: list[Room]
    clinician_id: int
    patient_id: int
    policy: PolicyRecord
    _uid: int = field(default=0)

    @classmethod
    def open(cls, db: Session, *, rooms: int = 2, weekdays: range = range(5)) -> History:
        """A New York site with ``rooms`` rooms and one clinician working 8:00-16:00 on
        ``weekdays`` (Monday 0)."""
        site = SiteFactory(timezone=ZONE)
        clinician = ClinicianFactory()
        for weekday in weekdays:
            WorkingHoursFactory(
                clinician_id=clinician.id,
                site_id=site.id,
                weekday=weekday,
                start_time=time(8),
                end_time=time(16),
            )
        policy = db.scalars(
            select(PolicyRecord).where(PolicyRecord.name == "medicare_facet")
        ).first()
        assert policy is not None
        return cls(
            db,
            site,
            [RoomFactory(site_id=site.id) for _ in range(rooms)],
            clinician.id,
            PatientFactory().id,
            policy,
        )

    def pathway(self, referred: datetime, state: PathwayState, **events: object) -> Pathway:
        """A pathway referred at ``referred``, now in ``state`` (its ``create`` event
        written; tests add the others)."""
        pathway = Pathway(
            patient_id=self.patient_id,
            clinician_id=self.clinician_id,
            site_id=self.site.id,
            policy_id=self.policy.id,
            indication=Indication.FACET_JOINT_SYNDROME,
            region=Region.LUMBAR,
            side=Side.LEFT,
            levels=["L4-L5"],
            target_nerve=TargetNerve.MEDIAL_BRANCH,
            method=Method.RFA,
            pain_onset_date=date(2025, 1, 1),
            state=state,
            created_at=referred,
            updated_at=referred,
        )
        self.db.add(pathway)
        self.db.flush()
        self.event(pathway, T.CREATE, S.REFERRED, referred)
        return pathway

    def event(
        self,
        pathway: Pathway,
        trigger: Trigger,
        to_state: PathwayState,
        when: datetime,
        *,
        reason: str | None = None,
        appointment: Appointment | None = None,
    ) -> None:
        self.db.add(
            PathwayEvent(
                pathway_id=pathway.id,
                to_state=to_state,
                trigger=trigger,
                at=when,
                reason=reason,
                data={},
                appointment_id=appointment.id if appointment else None,
            )
        )
        self.db.flush()

    def appointment(
        self,
        pathway: Pathway,
        kind: AppointmentKind,
        start: datetime,
        minutes: int,
        status: AppointmentStatus = AppointmentStatus.COMPLETED,
        *,
        room: int = 0,
        changed: datetime | None = None,
    ) -> Appointment:
        """``changed``: when it was last changed (for a cancelled one, its cancellation)."""
        self._uid += 1
        appointment = Appointment(
            ical_uid=f"{secrets.token_hex(8)}-{self._uid}",
            pathway_id=pathway.id,
            patient_id=self.patient_id,
            clinician_id=self.clinician_id,
            site_id=self.site.id,
            room_id=self.rooms[room].id,
            kind=kind,
            status=status,
            start_at=start,
            end_at=start + timedelta(minutes=minutes),
            method=Method.RFA if kind is K.PROCEDURE else None,
            side=Side.LEFT,
            levels=["L4-L5"],
            created_at=start - timedelta(days=20),
            updated_at=changed or start,
        )
        self.db.add(appointment)
        self.db.flush()
        return appointment

    def block(self, pathway: Pathway, start: datetime, trigger: Trigger) -> Appointment:
        """A completed block and its result (``trigger``: positive, more needed, negative)."""
        block = self.appointment(pathway, K.DIAGNOSTIC_BLOCK, start, 30)
        self.db.add(
            BlockResult(
                appointment_id=block.id,
                pre_block_pain=8,
                post_block_pain=1 if trigger is not T.BLOCK_NEGATIVE else 7,
                relief_duration_hours=6,
                recorded_at=start + timedelta(hours=1),
                outcome=OUTCOMES[trigger],
            )
        )
        to = {T.BLOCK_POSITIVE: S.ELIGIBLE, T.BLOCK_NEGATIVE: S.INELIGIBLE}.get(trigger, S.REFERRED)
        self.event(pathway, trigger, to, start + timedelta(hours=1), appointment=block)
        return block

    def procedure(
        self,
        pathway: Pathway,
        start: datetime,
        *,
        late_by: int = 0,
        room: int = 0,
        complications: list[str] | None = None,
        admitted: str | None = None,
    ) -> Appointment:
        """A procedure started ``late_by`` minutes after its booked start, then discharged
        the same day or (``admitted``: the reason) admitted."""
        procedure = self.appointment(pathway, K.PROCEDURE, start, 90, room=room)
        started = start + timedelta(minutes=late_by)
        self.db.add(
            ProcedureRecord(
                appointment_id=procedure.id,
                method=Method.RFA,
                levels_treated=["L4-L5"],
                complications=complications or [],
                started_at=started,
                finished_at=started + timedelta(minutes=60),
            )
        )
        self.event(pathway, T.START_PROCEDURE, S.IN_PROCEDURE, started, appointment=procedure)
        outcome = DischargeOutcome.ADMITTED if admitted else DischargeOutcome.DISCHARGED
        self.db.add(
            DischargeRecord(
                appointment_id=procedure.id,
                outcome=outcome,
                reason=admitted,
                at=started + timedelta(hours=4),
                escort_present=True,
                written_instructions_given=True,
            )
        )
        if admitted:
            self.event(pathway, T.ADMIT, S.ADMITTED, started + timedelta(hours=4), reason=admitted)
        else:
            self.event(pathway, T.DISCHARGE, S.DISCHARGED, started + timedelta(hours=4))
        return procedure

    def follow_up(
        self, pathway: Pathway, start: datetime, relief: int, complications: list[str] | None = None
    ) -> Appointment:
        visit = self.appointment(pathway, K.FOLLOW_UP, start, 20)
        self.db.add(
            FollowUpOutcome(
                appointment_id=visit.id,
                pain_score=3,
                percent_relief=relief,
                odi=20,
                complications=complications or [],
                physical_therapy_referred=False,
                recorded_at=start,
            )
        )
        self.event(pathway, T.RECORD_FOLLOW_UP_OUTCOME, S.COMPLETED, start, appointment=visit)
        return visit

    def vacancy(
        self,
        created: datetime,
        source: VacancySource,
        status: VacancyStatus,
        minutes: int,
        offers: list[OfferStatus],
        *,
        filled_by: Appointment | None = None,
    ) -> Vacancy:
        vacancy = Vacancy(
            source=source,
            status=status,
            site_id=self.site.id,
            clinician_id=self.clinician_id,
            room_id=self.rooms[0].id,
            start_at=created + timedelta(days=2),
            end_at=created + timedelta(days=2, minutes=minutes),
            filled_appointment_id=filled_by.id if filled_by else None,
            created_at=created,
        )
        self.db.add(vacancy)
        self.db.flush()
        for rank, status_of_offer in enumerate(offers, start=1):
            pathway = self.pathway(created - timedelta(days=30), S.ELIGIBLE)
            self.db.add(
                Offer(
                    vacancy_id=vacancy.id,
                    pathway_id=pathway.id,
                    status=status_of_offer,
                    rank=rank,
                    kind=K.PROCEDURE,
                    method=Method.RFA,
                    clinician_id=self.clinician_id,
                    room_id=self.rooms[0].id,
                    start_at=vacancy.start_at,
                    end_at=vacancy.end_at,
                    created_at=created,
                    expires_at=created + timedelta(hours=4),
                )
            )
        self.db.flush()
        return vacancy
