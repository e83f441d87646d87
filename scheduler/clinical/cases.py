"""Cases as the bedside and the clinician read them: the nurse's day at a site, one
procedure day with all its records, and a block or follow-up visit with its result.

Read services for the pages (and anything else that shows a case): each answers in a
fixed number of queries, whatever the number of records.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from scheduler.access import Actor
from scheduler.clinical import models as records
from scheduler.clinical.services import (
    RecoveryStatus,
    latest_totals,
    recovery_status,
    scores_statement,
)
from scheduler.clinicians.models import Clinician
from scheduler.errors import NotFound
from scheduler.facilities.models import RecoveryBay, Room, Site
from scheduler.pathways.models import CoverageAcknowledgment, Pathway
from scheduler.patients.models import Patient
from scheduler.policies.services import arrival_for, policy_of
from scheduler.scheduling.booking import require_visible
from scheduler.scheduling.daily_list import Case, case_readiness, cases_on
from scheduler.scheduling.models import Appointment
from scheduler.vocabulary import AppointmentKind, AppointmentStatus, DischargeOutcome


def arrival_of(appointment: Appointment, pathway: Pathway) -> datetime:
    """When the patient is asked to arrive: the policy's minutes before the procedure."""
    return arrival_for(pathway.policy, appointment.start_at)


# ---------------------------------------------------------------------------------------
# The nurse's day


@dataclass(frozen=True)
class Bedside:
    """Where a procedure patient is in their day, as the nurses' board shows it:
    ``state`` one of expected, checked_in, in_procedure, in_recovery, discharged,
    admitted (or the appointment's status when it was missed or cancelled), and the
    recovery's start and end (site-local; ``recovery_end`` None while it goes on)."""

    state: str
    recovery_start: datetime | None = None
    recovery_end: datetime | None = None

    def minutes_in_recovery(self, now: datetime) -> int | None:
        """Whole minutes from the end of the procedure to discharge or admission (or now)."""
        if self.recovery_start is None:
            return None
        until = self.recovery_end or now
        return max(0, int((until - self.recovery_start).total_seconds() // 60))


def bedside_of(
    appointment: Appointment,
    check_in: records.CheckIn | None,
    procedure: records.ProcedureRecord | None,
    closing: records.DischargeRecord | None,
    zone: ZoneInfo,
) -> Bedside:
    """A procedure's state on the day, from what was recorded on it (not the pathway's
    state, which moves on to follow-up after discharge)."""
    finished = (
        procedure.finished_at.astimezone(zone) if procedure and procedure.finished_at else None
    )
    if closing is not None:
        state = "discharged" if closing.outcome is DischargeOutcome.DISCHARGED else "admitted"
        return Bedside(state, finished, closing.at.astimezone(zone))
    if finished is not None:
        return Bedside("in_recovery", finished)
    if procedure is not None:
        return Bedside("in_procedure")
    if check_in is not None:
        return Bedside("checked_in")
    if appointment.status is not AppointmentStatus.BOOKED:
        return Bedside(appointment.status.value)
    return Bedside("expected")


@dataclass(frozen=True)
class Arrival:
    """One procedure patient of the day, with site-local arrival and procedure times."""

    case: Case
    clinician: Clinician
    arrive: datetime
    start: datetime
    end: datetime
    age: int
    bedside: Bedside


def _records_of(
    session: Session, model: type[records.OnAppointment], appointment_ids: list[int]
) -> dict[int, Any]:
    """The ``model`` records written on these appointments, by appointment id."""
    rows = session.scalars(select(model).where(model.appointment_id.in_(appointment_ids)))
    return {row.appointment_id: row for row in rows}


def procedure_patients(session: Session, site: Site, on: date) -> list[Arrival]:
    """The site's procedures on ``on`` (site-local), every clinician's, by arrival time,
    each with where the patient is in their day (checked in, in recovery, discharged...).

    The cases are the daily list's (the same readiness flags the surgeons see), read for
    the whole site at once: a fixed number of queries.
    """
    cases = cases_on(
        session,
        on,
        Appointment.site_id == site.id,
        Appointment.kind == AppointmentKind.PROCEDURE,
    )
    clinicians = {
        c.id: c
        for c in session.scalars(
            select(Clinician).where(Clinician.id.in_({c.appointment.clinician_id for c in cases}))
        )
    }
    zone = ZoneInfo(site.timezone)
    ids = [case.appointment.id for case in cases]
    check_ins = _records_of(session, records.CheckIn, ids)
    procedures = _records_of(session, records.ProcedureRecord, ids)
    closings = _records_of(session, records.DischargeRecord, ids)
    arrivals = [
        Arrival(
            case=case,
            clinician=clinicians[case.appointment.clinician_id],
            arrive=arrival_of(case.appointment, case.pathway).astimezone(zone),
            start=case.appointment.start_at.astimezone(zone),
            end=case.appointment.end_at.astimezone(zone),
            age=case.patient.age_on(on),
            bedside=bedside_of(
                case.appointment,
                check_ins.get(case.appointment.id),
                procedures.get(case.appointment.id),
                closings.get(case.appointment.id),
                zone,
            ),
        )
        for case in cases
    ]
    return sorted(arrivals, key=lambda a: (a.arrive, a.start, a.case.appointment.id))


# ---------------------------------------------------------------------------------------
# One procedure day


@dataclass(frozen=True)
class ProcedureDay:
    """A procedure appointment with everything recorded on it so far."""

    appointment: Appointment
    pathway: Pathway
    patient: Patient
    clinician: Clinician
    room: Room
    recovery_bay: RecoveryBay | None
    check_in: records.CheckIn | None
    procedure: records.ProcedureRecord | None
    closing: records.DischargeRecord | None  # discharge or admission
    scores: list[records.RecoveryScore]  # oldest first
    readiness: dict[str, object]
    recovery: RecoveryStatus

    @property
    def arrive(self) -> datetime:
        return arrival_of(self.appointment, self.pathway)


def _case_row(
    session: Session, appointment_id: int, *recorded: type[records.OnAppointment]
) -> tuple[Any, ...] | None:
    """The appointment with its pathway, patient, clinician and room, and each record of
    ``recorded`` written on it (None where there is none yet), in one query."""
    statement = (
        select(Appointment, Pathway, Patient, Clinician, Room)
        .join(Pathway, Pathway.id == Appointment.pathway_id)
        .join(Patient, Patient.id == Appointment.patient_id)
        .join(Clinician, Clinician.id == Appointment.clinician_id)
        .join(Room, Room.id == Appointment.room_id)
        .where(Appointment.id == appointment_id)
    )
    for model in recorded:
        statement = statement.add_columns(model).outerjoin(
            model, model.appointment_id == Appointment.id
        )
    row = session.execute(statement).one_or_none()
    return None if row is None else tuple(row)


def procedure_day(session: Session, actor: Actor, appointment_id: int) -> ProcedureDay:
    """A procedure's day: the case, its check-in, procedure, scores and closing record."""
    row = _case_row(
        session, appointment_id, records.CheckIn, records.ProcedureRecord, records.DischargeRecord
    )
    appointment = require_visible(actor, row[0] if row else None, appointment_id)
    if row is None or appointment.kind is not AppointmentKind.PROCEDURE:
        raise NotFound("procedure appointment", appointment_id)
    _, pathway, patient, clinician, room, check_in, procedure, closing = row
    scores = list(session.scalars(scores_statement(appointment.id)))
    acknowledged = frozenset(
        session.scalars(
            select(CoverageAcknowledgment.kind).where(
                CoverageAcknowledgment.pathway_id == pathway.id
            )
        )
    )
    return ProcedureDay(
        appointment=appointment,
        pathway=pathway,
        patient=patient,
        clinician=clinician,
        room=room,
        recovery_bay=(
            session.get(RecoveryBay, appointment.recovery_bay_id)
            if appointment.recovery_bay_id is not None
            else None
        ),
        check_in=check_in,
        procedure=procedure,
        closing=closing,
        scores=scores,
        readiness=case_readiness(appointment, pathway, check_in, acknowledged),
        recovery=recovery_status(policy_of(pathway.policy), latest_totals(scores)),
    )


# ---------------------------------------------------------------------------------------
# A block or follow-up visit


@dataclass(frozen=True)
class Visit:
    """A diagnostic block or follow-up appointment with its recorded result, if any."""

    appointment: Appointment
    pathway: Pathway
    patient: Patient
    clinician: Clinician
    block_result: records.BlockResult | None
    follow_up: records.FollowUpOutcome | None


def visit(session: Session, actor: Actor, appointment_id: int) -> Visit:
    """Any appointment as a visit: the case and what the clinician recorded on it."""
    row = _case_row(session, appointment_id, records.BlockResult, records.FollowUpOutcome)
    appointment = require_visible(actor, row[0] if row else None, appointment_id)
    assert row is not None  # noqa: S101 (require_visible raised otherwise)
    _, pathway, patient, clinician, _room, block_result, follow_up = row
    return Visit(appointment, pathway, patient, clinician, block_result, follow_up)
