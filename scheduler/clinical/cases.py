"""Cases as the bedside and the clinician read them: the nurse's day at a site, one
procedure day with all its records, and a block or follow-up visit with its result.

Read services for the pages (and anything else that shows a case): each answers in a
fixed number of queries, whatever the number of records.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
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
from scheduler.facilities.models import Room, Site
from scheduler.pathways.models import CoverageAcknowledgment, Pathway
from scheduler.patients.models import Patient
from scheduler.policies.services import policy_of
from scheduler.scheduling.booking import require_visible
from scheduler.scheduling.daily_list import Case, case_readiness, cases_on
from scheduler.scheduling.models import Appointment
from scheduler.vocabulary import AppointmentKind


def arrival_of(appointment: Appointment, pathway: Pathway) -> datetime:
    """When the patient is asked to arrive: the policy's minutes before the procedure."""
    before = policy_of(pathway.policy).parameters.check_in.arrival_minutes_before
    return appointment.start_at - timedelta(minutes=before)


# ---------------------------------------------------------------------------------------
# The nurse's day


@dataclass(frozen=True)
class Arrival:
    """One procedure patient of the day, with site-local arrival and procedure times."""

    case: Case
    clinician: Clinician
    arrive: datetime
    start: datetime
    end: datetime
    age: int


def procedure_patients(session: Session, site: Site, on: date) -> list[Arrival]:
    """The site's procedures on ``on`` (site-local), every clinician's, by arrival time.

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
    arrivals = [
        Arrival(
            case=case,
            clinician=clinicians[case.appointment.clinician_id],
            arrive=arrival_of(case.appointment, case.pathway).astimezone(zone),
            start=case.appointment.start_at.astimezone(zone),
            end=case.appointment.end_at.astimezone(zone),
            age=case.patient.age_on(on),
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
