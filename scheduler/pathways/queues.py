"""The scheduling desk's work queues: which pathways need the desk, and why.

A pathway sits in one queue by its state, except that a pathway whose last step was a
cancellation or a no-show, or whose booked appointment was left without its clinician
(time off, new working hours: marked for rebooking), goes to "rebook" first, and a
booked block whose time has passed waits for its result. Each item says why it waits
and since when (on its site's clock). Four queries, however many pathways.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from scheduler.facilities.models import Site
from scheduler.pathways.models import Pathway, PathwayEvent
from scheduler.pathways.states import PathwayState, Trigger, next_booking
from scheduler.patients.models import Patient
from scheduler.scheduling.models import Appointment
from scheduler.vocabulary import AppointmentKind, AppointmentStatus


class Queue(StrEnum):
    NEEDS_BLOCK = "needs_block"
    AWAITING_BLOCK_RESULT = "awaiting_block_result"
    READY_FOR_PROCEDURE = "ready_for_procedure"
    NEEDS_FOLLOW_UP = "needs_follow_up"
    REBOOK = "rebook"


QUEUE_TITLES = {
    Queue.REBOOK: "Cancelled or no-show, or clinician away: rebook",
    Queue.NEEDS_BLOCK: "Needs a diagnostic block",
    Queue.AWAITING_BLOCK_RESULT: "Block done: awaiting its result",
    Queue.READY_FOR_PROCEDURE: "Eligible: book the procedure",
    Queue.NEEDS_FOLLOW_UP: "Needs a follow-up visit",
}
# The queue of each booking the desk makes next (states.next_booking decides which).
BY_BOOKING = {
    AppointmentKind.DIAGNOSTIC_BLOCK: Queue.NEEDS_BLOCK,
    AppointmentKind.PROCEDURE: Queue.READY_FOR_PROCEDURE,
    AppointmentKind.FOLLOW_UP: Queue.NEEDS_FOLLOW_UP,
}
WAITING_FOR_DESK = frozenset(state for state in PathwayState if next_booking(state) is not None)
REBOOK_TRIGGERS = (Trigger.CANCEL_APPOINTMENT, Trigger.NO_SHOW)


@dataclass(frozen=True)
class QueueItem:
    pathway: Pathway
    patient: Patient
    since: datetime  # when the pathway last moved (or its booking was marked for rebooking)
    zone: ZoneInfo  # the pathway's site's, in which ``since`` is shown
    waiting_days: int
    reason: str | None = None  # why it is to rebook: the cancellation's, or the mark's


def work_queues(session: Session, now: datetime) -> dict[Queue, list[QueueItem]]:
    """Every open pathway that needs the desk, by queue, longest waiting first."""
    queues: dict[Queue, list[QueueItem]] = {queue: [] for queue in QUEUE_TITLES}

    def item(
        pathway: Pathway, patient: Patient, zone: str, since: datetime, reason: str | None
    ) -> QueueItem:
        return QueueItem(pathway, patient, since, ZoneInfo(zone), (now - since).days, reason)

    marked = session.execute(
        select(Pathway, Patient, Site.timezone, Appointment.rebook_reason, Appointment.rebook_since)
        .join(Appointment, Appointment.pathway_id == Pathway.id)
        .join(Patient, Patient.id == Pathway.patient_id)
        .join(Site, Site.id == Pathway.site_id)
        .where(
            Appointment.status == AppointmentStatus.BOOKED, Appointment.rebook_reason.is_not(None)
        )
        .order_by(Appointment.rebook_since, Pathway.id)
    ).all()
    for pathway, patient, zone, reason, since in marked:
        queues[Queue.REBOOK].append(
            item(pathway, patient, zone, since or pathway.updated_at, reason)
        )
    last_event = (
        select(PathwayEvent.pathway_id, func.max(PathwayEvent.id).label("event_id"))
        .group_by(PathwayEvent.pathway_id)
        .subquery()
    )
    rows = session.execute(
        select(Pathway, Patient, Site.timezone, PathwayEvent)
        .join(Patient, Patient.id == Pathway.patient_id)
        .join(Site, Site.id == Pathway.site_id)
        .join(last_event, last_event.c.pathway_id == Pathway.id)
        .join(PathwayEvent, PathwayEvent.id == last_event.c.event_id)
        .where(
            Pathway.state.in_([*WAITING_FOR_DESK, PathwayState.BLOCK_SCHEDULED]),
            Pathway.id.not_in([pathway.id for pathway, *_ in marked]),
        )
        .order_by(Pathway.updated_at, Pathway.id)
    ).all()
    waiting = _blocks_past(
        session, (p.id for p, *_ in rows if p.state is PathwayState.BLOCK_SCHEDULED), now
    )
    for pathway, patient, zone, event in rows:
        reason = None
        if event.trigger in REBOOK_TRIGGERS:
            queue: Queue | None = Queue.REBOOK
            reason = event.reason or event.data.get("reason")
        elif pathway.state is PathwayState.BLOCK_SCHEDULED:
            queue = Queue.AWAITING_BLOCK_RESULT if pathway.id in waiting else None
        else:
            booking = next_booking(pathway.state)
            queue = BY_BOOKING[booking] if booking is not None else None
        if queue is not None:
            queues[queue].append(item(pathway, patient, zone, pathway.updated_at, reason))
    queues[Queue.REBOOK].sort(key=lambda waiting_item: waiting_item.since)
    return queues


def _blocks_past(session: Session, pathway_ids: Iterable[int], now: datetime) -> set[int]:
    """Pathways whose booked block has ended (its result is what they wait for)."""
    ids = set(pathway_ids)
    if not ids:
        return set()
    return set(
        session.scalars(
            select(Appointment.pathway_id).where(
                Appointment.pathway_id.in_(ids),
                Appointment.kind == AppointmentKind.DIAGNOSTIC_BLOCK,
                Appointment.status == AppointmentStatus.BOOKED,
                Appointment.end_at <= now,
            )
        )
    )
