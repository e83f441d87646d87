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
from sqlalchemy.orm import Session, lazyload
from sqlalchemy.orm.attributes import set_committed_value

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
from scheduler.scheduling.models import Allocation, Appointment
from scheduler.scheduling.readiness import readiness
from scheduler.vocabulary import (
    AcknowledgmentKind,
    AppointmentKind,
    AppointmentStatus,
    ResourceKind,
)

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
    """The clinician's appointments starting on ``day`` in each site's zone, in time order.

    An unknown clinician is a 404. A day with cases proves the clinician exists (each
    appointment refers to one), so only an empty day asks: at most three statements.
    """
    cases = cases_on(session, day, Appointment.clinician_id == clinician_id)
    if not cases:
        found(session.get(Clinician, clinician_id), "clinician", clinician_id)
    return cases


Row = tuple[Appointment, Pathway, Patient, Room, CheckIn | None]


def _rows_on(session: Session, day: date, criteria: tuple[ColumnElement[bool], ...]) -> list[Row]:
    """The listed appointments matching ``criteria`` that start on ``day`` at their site,
    with their pathway (and its policy), patient, room, site and check-in, in one
    statement: a UTC window wide enough for every zone on earth, then the exact site-local
    date. Their allocations are left for ``_with_allocations``."""
    midnight = datetime.combine(day, time(), ZoneInfo("UTC"))
    rows = session.execute(
        select(Appointment, Pathway, Patient, Room, CheckIn)
        .join(Pathway, Pathway.id == Appointment.pathway_id)
        .join(Patient, Patient.id == Appointment.patient_id)
        .join(Room, Room.id == Appointment.room_id)
        .outerjoin(CheckIn, CheckIn.appointment_id == Appointment.id)
        .options(lazyload(Appointment.allocations))
        .where(
            *criteria,
            Appointment.start_at >= midnight - timedelta(hours=15),
            Appointment.start_at < midnight + timedelta(hours=39),
            Appointment.status.in_(LISTED),
        )
        .order_by(Appointment.start_at, Appointment.id)
    ).all()
    return [
        (appointment, pathway, patient, room, check_in)
        for appointment, pathway, patient, room, check_in in rows
        if local_date(appointment.start_at, appointment.timezone) == day
    ]


@dataclass(frozen=True)
class Held:
    """The equipment units and recovery bays some appointments hold, by id."""

    equipment: dict[int, Equipment]
    bays: dict[int, RecoveryBay]


def _with_allocations(session: Session, appointments: list[Appointment]) -> Held:
    """Load the appointments' allocations, with the equipment and recovery bays they
    hold, in one statement."""
    rows = session.execute(
        select(Allocation, Equipment, RecoveryBay)
        .outerjoin(
            Equipment,
            (Allocation.resource_kind == ResourceKind.EQUIPMENT)
            & (Equipment.id == Allocation.resource_id),
        )
        .outerjoin(
            RecoveryBay,
            (Allocation.resource_kind == ResourceKind.RECOVERY_BAY)
            & (RecoveryBay.id == Allocation.resource_id),
        )
        .where(Allocation.appointment_id.in_([a.id for a in appointments]))
        .order_by(Allocation.id)
    ).all()
    allocations: dict[int | None, list[Allocation]] = defaultdict(list)
    held = Held({}, {})
    for allocation, unit, bay in rows:
        allocations[allocation.appointment_id].append(allocation)
        if unit is not None:
            held.equipment[unit.id] = unit
        if bay is not None:
            held.bays[bay.id] = bay
    for appointment in appointments:
        set_committed_value(appointment, "allocations", allocations[appointment.id])
    return held


def cases_on(session: Session, day: date, *criteria: ColumnElement[bool]) -> list[Case]:
    """The cases matching ``criteria`` that start on ``day`` in their site's zone, in time
    order, each with what the team needs to see (the daily list, the nurse's day).

    Three statements whatever the number of cases (one when there are none): the cases
    with their pathway, patient, room and check-in; their allocations with the equipment
    and recovery bays held; the pathways' coverage acknowledgments.
    """
    rows = _rows_on(session, day, criteria)
    if not rows:
        return []
    held = _with_allocations(session, [row[0] for row in rows])
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
            equipment=[
                held.equipment[ident]
                for ident in appointment.equipment_ids
                if ident in held.equipment
            ],
            recovery_bay=held.bays.get(appointment.recovery_bay_id or 0),
            readiness=case_readiness(
                appointment, pathway, check_in, frozenset(acknowledged[pathway.id])
            ),
        )
        for appointment, pathway, patient, room, check_in in rows
    ]
