"""The daily list (SPEC §5): a clinician's cases of one day, and the same read for a site.

Each case carries what the team needs at a glance: room, equipment, recovery bay,
patient, procedure, side and levels, and the readiness flags.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from scheduler.clinical.models import CheckIn
from scheduler.clinicians.models import Clinician
from scheduler.clock import local_date
from scheduler.db import found
from scheduler.facilities.models import Equipment, RecoveryBay, Room
from scheduler.pathways.models import CoverageAcknowledgment, Pathway
from scheduler.patients.models import Patient
from scheduler.policies import rules
from scheduler.policies.booking_rules import coverage_satisfied
from scheduler.policies.evaluation import Gate
from scheduler.policies.procedure_day_rules import CheckInAnswers, CheckInSnapshot
from scheduler.policies.services import policy_of
from scheduler.scheduling.models import Appointment
from scheduler.scheduling.readiness import readiness
from scheduler.vocabulary import AcknowledgmentKind, AppointmentKind, AppointmentStatus

# Statuses a day's list shows: what is booked, done, or was missed (cancelled ones go).
LISTED = (AppointmentStatus.BOOKED, AppointmentStatus.COMPLETED, AppointmentStatus.NO_SHOW)


@dataclass(frozen=True)
class Case:
    """One line of a clinician's daily list, with what the team needs to see at a glance."""

    appointment: Appointment
    pathway: Pathway
    patient: Patient
    room: Room
    equipment: list[Equipment]
    recovery_bay: RecoveryBay | None
    readiness: dict[str, Any]


def case_readiness(
    appointment: Appointment,
    pathway: Pathway,
    check_in: CheckIn | None,
    acknowledgments: frozenset[AcknowledgmentKind],
) -> dict[str, Any]:
    """The readiness flags of one case (a procedure's; other visits are green); once
    checked in, the check-in rules' verdicts on what was recorded."""
    method = appointment.method if appointment.kind is AppointmentKind.PROCEDURE else None
    policy = policy_of(pathway.policy)
    verdicts = None
    if method is not None and check_in is not None:
        snapshot = CheckInSnapshot.of(
            CheckInAnswers.recorded(check_in),
            region=pathway.region,
            sedation=pathway.sedation,
            procedure_start=appointment.start_at,
        )
        results = rules.evaluate(policy, Gate.CHECK_IN, snapshot).results
        verdicts = {result.id: result.passed for result in results}
    return readiness(
        procedure=method is not None,
        state=pathway.state,
        sedation=pathway.sedation,
        check_in=verdicts,
        covered=method is not None
        and coverage_satisfied(
            policy.parameters.coverage, pathway.indication, method, acknowledgments
        ),
        rebook=appointment.rebook_reason
        if appointment.status is AppointmentStatus.BOOKED
        else None,
    )


def daily_list(session: Session, clinician_id: int, day: date) -> list[Case]:
    """The clinician's appointments starting on ``day`` in each site's zone, in time order."""
    found(session.get(Clinician, clinician_id), "clinician", clinician_id)
    return cases_on(session, day, Appointment.clinician_id == clinician_id)


def _rows_on(
    session: Session, day: date, criteria: tuple[ColumnElement[bool], ...]
) -> list[tuple[Appointment, Pathway, Patient, Room]]:
    """The listed appointments matching ``criteria`` that start on ``day`` at their site:
    a UTC window wide enough for every zone on earth, then the exact site-local date."""
    midnight = datetime.combine(day, time(), ZoneInfo("UTC"))
    rows = session.execute(
        select(Appointment, Pathway, Patient, Room)
        .join(Pathway, Pathway.id == Appointment.pathway_id)
        .join(Patient, Patient.id == Appointment.patient_id)
        .join(Room, Room.id == Appointment.room_id)
        .where(
            *criteria,
            Appointment.start_at >= midnight - timedelta(hours=15),
            Appointment.start_at < midnight + timedelta(hours=39),
            Appointment.status.in_(LISTED),
        )
        .order_by(Appointment.start_at, Appointment.id)
    ).all()
    return [row for row in rows if local_date(row[0].start_at, row[0].timezone) == day]


def cases_on(session: Session, day: date, *criteria: ColumnElement[bool]) -> list[Case]:
    """The cases matching ``criteria`` that start on ``day`` in their site's zone, in time
    order, each with what the team needs to see (the daily list, the nurse's day).

    A fixed number of queries whatever the number of cases: the cases, their
    allocations, equipment, recovery bays, check-ins and coverage acknowledgments.
    """
    rows = _rows_on(session, day, criteria)
    appointment_ids = [row[0].id for row in rows]
    unit_ids = {unit for row in rows for unit in row[0].equipment_ids}
    bay_ids = {row[0].recovery_bay_id for row in rows} - {None}
    units = {u.id: u for u in session.scalars(select(Equipment).where(Equipment.id.in_(unit_ids)))}
    bays = {
        b.id: b for b in session.scalars(select(RecoveryBay).where(RecoveryBay.id.in_(bay_ids)))
    }
    check_ins = {
        c.appointment_id: c
        for c in session.scalars(select(CheckIn).where(CheckIn.appointment_id.in_(appointment_ids)))
    }
    acknowledged: dict[int, set[AcknowledgmentKind]] = defaultdict(set)
    for pathway_id, kind in session.execute(
        select(CoverageAcknowledgment.pathway_id, CoverageAcknowledgment.kind).where(
            CoverageAcknowledgment.pathway_id.in_({row[1].id for row in rows})
        )
    ):
        acknowledged[pathway_id].add(kind)
    return [
        Case(
            appointment=appointment,
            pathway=pathway,
            patient=patient,
            room=room,
            equipment=[units[ident] for ident in appointment.equipment_ids if ident in units],
            recovery_bay=bays.get(appointment.recovery_bay_id or 0),
            readiness=case_readiness(
                appointment,
                pathway,
                check_ins.get(appointment.id),
                frozenset(acknowledged[pathway.id]),
            ),
        )
        for appointment, pathway, patient, room in rows
    ]
