"""Taking appointments off: cancel, no-show, and cancelling a whole pathway (SPEC §2).

One path withdraws an appointment, whatever the reason: its status and reason, a new
version (the invite's SEQUENCE), its resources freed, what the patient was sent
withdrawn or followed by a cancellation, and the EHR told (S15 or S26). The pathway
returns to its state before the booking (cancel, no-show) or ends (pathway cancelled).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from scheduler.access import Actor, require_case_write
from scheduler.errors import IllegalTransition, InvalidInput
from scheduler.hl7v2 import services as hl7
from scheduler.hl7v2.messages import SiuEvent
from scheduler.outbox import services as outbox
from scheduler.pathways import services as pathways
from scheduler.pathways.models import Pathway
from scheduler.pathways.states import RETURNING, Trigger
from scheduler.scheduling.checks import open_appointment
from scheduler.scheduling.models import Allocation, Appointment
from scheduler.vocabulary import AppointmentStatus, VacancySource
from scheduler.waitlist import vacancies

# What the EHR is told when an appointment comes off (HL7 SIU trigger events).
RELEASE_EVENTS = {
    AppointmentStatus.CANCELLED: SiuEvent.CANCELLED,
    AppointmentStatus.NO_SHOW: SiuEvent.NO_SHOW,
}


def _withdraw(
    session: Session,
    actor: Actor,
    appointments: Sequence[Appointment],
    status: AppointmentStatus,
    reason: str | None,
    now: datetime,
) -> None:
    """The one way an appointment comes off the calendar; a cancelled one's time still
    ahead is a vacancy the waitlist may fill."""
    for appointment in appointments:
        appointment.status = status
        appointment.cancel_reason = reason
        appointment.rebook_reason = appointment.rebook_since = None
        appointment.version += 1
        appointment.updated_at = now
        outbox.announce_released(session, appointment, now)
        hl7.report(session, appointment, RELEASE_EVENTS[status], now)
        if status is AppointmentStatus.CANCELLED:
            vacancies.freed(session, actor, now, appointment, VacancySource.CANCELLED)
    if appointments:
        # The rows stay (inactive): they are the record of what was held.
        session.execute(
            update(Allocation)
            .where(Allocation.appointment_id.in_([a.id for a in appointments]))
            .values(active=False)
        )
    session.flush()


def _return_pathway(
    session: Session,
    actor: Actor,
    now: datetime,
    appointment: Appointment,
    pathway: Pathway,
    trigger: Trigger,
    reason: str | None,
) -> Appointment:
    """Withdraw ``appointment``; the pathway goes back to its state before the booking."""
    if pathway.state not in RETURNING[trigger]:
        raise IllegalTransition(pathway.state.value, trigger.value)
    pathways.transition(
        session,
        pathway,
        trigger,
        actor,
        now,
        reason=reason,
        previous=pathways.state_before_booking(session, appointment.id),
        appointment_id=appointment.id,
        data={"kind": appointment.kind.value},
    )
    status = (
        AppointmentStatus.CANCELLED
        if trigger is Trigger.CANCEL_APPOINTMENT
        else AppointmentStatus.NO_SHOW
    )
    _withdraw(session, actor, [appointment], status, reason, now)
    return appointment


def cancel_appointment(
    session: Session, actor: Actor, now: datetime, appointment_id: int, reason: str
) -> Appointment:
    """Cancel; the pathway returns to its state before this booking (SPEC §2)."""
    appointment, pathway = open_appointment(session, actor, appointment_id)
    return _return_pathway(
        session, actor, now, appointment, pathway, Trigger.CANCEL_APPOINTMENT, reason
    )


def record_no_show(
    session: Session, actor: Actor, now: datetime, appointment_id: int, reason: str | None
) -> Appointment:
    """The patient did not come (recorded after the start); the pathway returns as for a
    cancellation, and the patient gets no message."""
    appointment, pathway = open_appointment(session, actor, appointment_id)
    require_case_write(actor, appointment.clinician_id)
    if now < appointment.start_at:
        raise InvalidInput.field(
            "appointment_id", "A no-show can be recorded only after the start."
        )
    return _return_pathway(session, actor, now, appointment, pathway, Trigger.NO_SHOW, reason)


def cancel_pathway(
    session: Session, actor: Actor, now: datetime, pathway_id: int, reason: str
) -> Pathway:
    """Cancel the pathway and every appointment still booked on it (SPEC §2)."""
    pathway = pathways.get_pathway(session, actor, pathway_id, lock=True)
    booked = list(
        session.scalars(
            select(Appointment).where(
                Appointment.pathway_id == pathway.id,
                Appointment.status == AppointmentStatus.BOOKED,
            )
        )
    )
    pathways.transition(
        session,
        pathway,
        Trigger.CANCEL_PATHWAY,
        actor,
        now,
        reason=reason,
        data={"cancelled_appointments": [a.id for a in booked]},
    )
    _withdraw(session, actor, booked, AppointmentStatus.CANCELLED, reason, now)
    return pathway
