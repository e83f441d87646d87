"""The scheduling desk's work queues: which pathways need the desk, and why.

A pathway sits in one queue by its state, except that a pathway whose last step was a
cancellation or a no-show goes to "rebook" first, and a booked block whose time has
passed waits for its result. Three queries, however many pathways.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import func, select
from sqlalchemy.orm import Session

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
    Queue.REBOOK: "Cancelled or no-show: rebook",
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
    since: datetime  # when the pathway last moved


def work_queues(session: Session, now: datetime) -> dict[Queue, list[QueueItem]]:
    """Every open pathway that needs the desk, by queue, longest waiting first."""
    last_event = (
        select(PathwayEvent.pathway_id, func.max(PathwayEvent.id).label("event_id"))
        .group_by(PathwayEvent.pathway_id)
        .subquery()
    )
    rows = session.execute(
        select(Pathway, Patient, PathwayEvent.trigger)
        .join(Patient, Patient.id == Pathway.patient_id)
        .join(last_event, last_event.c.pathway_id == Pathway.id)
        .join(PathwayEvent, PathwayEvent.id == last_event.c.event_id)
        .where(Pathway.state.in_([*WAITING_FOR_DESK, PathwayState.BLOCK_SCHEDULED]))
        .order_by(Pathway.updated_at, Pathway.id)
    ).all()
    waiting = _blocks_past(
        session, (p.id for p, _, _ in rows if p.state is PathwayState.BLOCK_SCHEDULED), now
    )
    queues: dict[Queue, list[QueueItem]] = {queue: [] for queue in QUEUE_TITLES}
    for pathway, patient, trigger in rows:
        if trigger in REBOOK_TRIGGERS:
            queue: Queue | None = Queue.REBOOK
        elif pathway.state is PathwayState.BLOCK_SCHEDULED:
            queue = Queue.AWAITING_BLOCK_RESULT if pathway.id in waiting else None
        else:
            booking = next_booking(pathway.state)
            queue = BY_BOOKING[booking] if booking is not None else None
        if queue is not None:
            queues[queue].append(QueueItem(pathway, patient, pathway.updated_at))
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
