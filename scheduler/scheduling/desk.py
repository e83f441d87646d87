"""What the scheduling desk reads: patients found with their pathways, a pathway's
overview (state, eligibility today, appointments, history), and a held slot.

Read services for the board's pages, so that no page queries the database itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from scheduler.access import Actor
from scheduler.clinicians.models import Clinician
from scheduler.clock import local_date
from scheduler.facilities.models import Equipment, RecoveryBay, Room, Site
from scheduler.facilities.services import names_at_site, room_names
from scheduler.pathways import gates
from scheduler.pathways import services as pathways
from scheduler.pathways.models import Pathway, PathwayEvent
from scheduler.pathways.states import next_booking
from scheduler.patients.models import Patient
from scheduler.patients.services import search_statement
from scheduler.policies.evaluation import Evaluation
from scheduler.policies.services import arrival_for
from scheduler.scheduling.booking import get_appointment, list_statement
from scheduler.scheduling.holds import get_hold
from scheduler.scheduling.models import Allocation, Appointment, Hold
from scheduler.scheduling.slots import Slot
from scheduler.vocabulary import AppointmentKind
from scheduler.vocabulary import ResourceKind as Kind


@dataclass(frozen=True)
class Found:
    patient: Patient
    pathways: list[Pathway]


def find_patients(session: Session, actor: Actor, query: str, *, limit: int) -> list[Found]:
    """Patients the search finds (names as the pages write them, a date of birth, part of
    an MRN: patients.services.search_statement), each with their pathways (two queries)."""
    patients = list(session.scalars(search_statement(actor, query).limit(limit)))
    by_patient = pathways.pathways_of_patients(session, (p.id for p in patients))
    return [Found(patient, by_patient.get(patient.id, [])) for patient in patients]


@dataclass(frozen=True)
class PathwayOverview:
    """A pathway as the desk sees it, in the site's zone."""

    pathway: Pathway
    patient: Patient
    clinician: Clinician
    site: Site
    today: date  # site-local
    eligibility: Evaluation  # of booking the procedure today
    next_kind: AppointmentKind | None  # what the desk books next, if anything
    appointments: list[Appointment]  # in time order
    events: list[PathwayEvent]  # oldest first
    rooms: dict[int, str]  # the site's room names by id

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.site.timezone)


def pathway_overview(
    session: Session, actor: Actor, pathway_id: int, now: datetime
) -> PathwayOverview:
    pathway = pathways.get_pathway(session, actor, pathway_id)
    site = session.get_one(Site, pathway.site_id)
    today = local_date(now, site.timezone)
    return PathwayOverview(
        pathway=pathway,
        patient=session.get_one(Patient, pathway.patient_id),
        clinician=session.get_one(Clinician, pathway.clinician_id),
        site=site,
        today=today,
        eligibility=gates.eligibility(session, pathway, today, pathway.method),
        next_kind=next_booking(pathway.state),
        appointments=list(session.scalars(list_statement(actor, {"pathway_id": pathway.id}))),
        events=list(session.scalars(pathways.events_statement(pathway))),
        rooms=room_names(session, site.id),
    )


@dataclass(frozen=True)
class SiteResources:
    """The names of a site's rooms, equipment units and recovery bays, by id."""

    rooms: dict[int, str]
    equipment: dict[int, str]
    bays: dict[int, str]

    def of(self, slot: Slot) -> list[str]:
        """What a slot takes, by name: its room, each unit of equipment, its recovery bay."""
        bay = [self.bays[slot.recovery_bay_id]] if slot.recovery_bay_id is not None else []
        return [self.rooms[slot.room_id], *(self.equipment[u] for u in slot.equipment_ids), *bay]


def site_resources(session: Session, site_id: int) -> SiteResources:
    return SiteResources(
        rooms=room_names(session, site_id),
        equipment=names_at_site(session, Equipment, site_id),
        bays=names_at_site(session, RecoveryBay, site_id),
    )


@dataclass(frozen=True)
class HeldSlot:
    """A live hold of the desk member's own, with what the confirmation shows: who, what,
    where, with which equipment and bay, when to arrive, and (a move) the time it replaces.
    """

    hold: Hold
    pathway: Pathway
    patient: Patient
    room: Room
    clinician: Clinician
    zone: ZoneInfo
    equipment: list[str]
    recovery_bay: str | None
    arrive: datetime | None  # procedures: the policy's arrival time
    moving: Appointment | None  # a move's hold: the appointment it moves
    unit_ids: tuple[int, ...] = ()  # the equipment units, by id (as named above)
    recovery_bay_id: int | None = None

    @property
    def policy(self) -> str:
        return f"{self.pathway.policy.name} v{self.pathway.policy.version}"


def held_slot(session: Session, actor: Actor, hold_id: str, now: datetime) -> HeldSlot:
    hold = get_hold(session, actor, hold_id, now)
    pathway = session.get_one(Pathway, hold.pathway_id)
    resources = site_resources(session, pathway.site_id)
    moving = get_appointment(session, actor, hold.appointment_id) if hold.appointment_id else None
    rows = list(session.scalars(select(Allocation).where(Allocation.hold_id == hold.id)))
    if moving is not None:  # what the move's hold did not write, the appointment holds
        held = {row.resource_kind for row in rows}
        rows += [row for row in moving.allocations if row.resource_kind not in held]
    units = sorted({row.resource_id for row in rows if row.resource_kind is Kind.EQUIPMENT})
    bay = next((row.resource_id for row in rows if row.resource_kind is Kind.RECOVERY_BAY), None)
    procedure = hold.kind is AppointmentKind.PROCEDURE
    return HeldSlot(
        hold=hold,
        pathway=pathway,
        patient=session.get_one(Patient, pathway.patient_id),
        room=session.get_one(Room, hold.room_id),
        clinician=session.get_one(Clinician, hold.clinician_id),
        zone=ZoneInfo(session.get_one(Site, pathway.site_id).timezone),
        equipment=[resources.equipment[unit] for unit in units],
        recovery_bay=resources.bays.get(bay) if bay is not None else None,
        arrive=arrival_for(pathway.policy, hold.start_at) if procedure else None,
        moving=moving,
        unit_ids=tuple(units),
        recovery_bay_id=bay,
    )


def consumed_by(
    session: Session, actor: Actor, pathway_id: int, hold_id: str
) -> PathwayEvent | None:
    """The booking or move that used a hold (a hold is gone once used, but the pathway's
    event names it), if any: a second "Confirm" then leads to its appointment."""
    pathway = pathways.get_pathway(session, actor, pathway_id)
    for event in session.scalars(pathways.events_statement(pathway)):
        if event.data.get("hold_id") == hold_id and event.appointment_id is not None:
            return event
    return None
