"""What the scheduling desk reads: patients found with their pathways, a pathway's
overview (state, eligibility today, appointments, history), and a held slot.

Read services for the board's pages, so that no page queries the database itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from scheduler.access import Actor
from scheduler.clinicians.models import Clinician
from scheduler.clock import local_date
from scheduler.facilities.models import Room, Site
from scheduler.facilities.services import room_names
from scheduler.pathways import gates
from scheduler.pathways import services as pathways
from scheduler.pathways.models import Pathway, PathwayEvent
from scheduler.pathways.states import next_booking
from scheduler.patients.models import Patient
from scheduler.patients.services import search_statement
from scheduler.policies.evaluation import Evaluation
from scheduler.scheduling.booking import list_statement
from scheduler.scheduling.holds import get_hold
from scheduler.scheduling.models import Appointment, Hold
from scheduler.vocabulary import AppointmentKind


@dataclass(frozen=True)
class Found:
    patient: Patient
    pathways: list[Pathway]


def find_patients(session: Session, actor: Actor, query: str, *, limit: int) -> list[Found]:
    """Patients matching an MRN or name prefixes, each with their pathways (two queries)."""
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
class HeldSlot:
    """A live hold of the desk member's own, with what the confirmation shows."""

    hold: Hold
    pathway: Pathway
    patient: Patient
    room: Room
    clinician: Clinician
    zone: ZoneInfo


def held_slot(session: Session, actor: Actor, hold_id: str, now: datetime) -> HeldSlot:
    hold = get_hold(session, actor, hold_id, now)
    pathway = session.get_one(Pathway, hold.pathway_id)
    return HeldSlot(
        hold=hold,
        pathway=pathway,
        patient=session.get_one(Patient, pathway.patient_id),
        room=session.get_one(Room, hold.room_id),
        clinician=session.get_one(Clinician, hold.clinician_id),
        zone=ZoneInfo(session.get_one(Site, pathway.site_id).timezone),
    )
