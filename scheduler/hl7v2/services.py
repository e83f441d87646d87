"""Writing SIU messages with the change they report (SPEC §8), and the admins' list.

Scheduling, the clinicians' register and the clinical day call :func:`report` in the
change's own transaction: the message is built then (it says what was true then) and a
delivery is queued for each receiver; the worker (``hl7v2/worker.py``) sends them.

Where the messages go is the install's configuration, not the caller's business: the
faces open each session with :func:`reporting_to` (the receivers travel in the session's
``info``), so a booking, a cancellation or a check-in reports without every caller
passing the receivers along. A session without receivers writes nothing at all: a
booking then pays no statement for SIU.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from scheduler.clinicians.models import Clinician
from scheduler.db import found
from scheduler.errors import IllegalTransition
from scheduler.facilities.models import Room
from scheduler.hl7v2.messages import (
    FillerStatus,
    Sender,
    SiuAppointment,
    SiuClinician,
    SiuEvent,
    SiuPatient,
    build_siu,
)
from scheduler.hl7v2.models import DeliveryStatus, SiuDelivery, SiuMessage
from scheduler.patients.models import Patient
from scheduler.scheduling.models import Appointment
from scheduler.settings import Hl7Settings
from scheduler.vocabulary import AppointmentKind, AppointmentStatus

SETTINGS_KEY: Final = "scheduler.hl7v2"

SERVICES: Final = {
    AppointmentKind.DIAGNOSTIC_BLOCK: "Diagnostic block",
    AppointmentKind.PROCEDURE: "Neurotomy procedure",
    AppointmentKind.FOLLOW_UP: "Follow-up visit",
}
STATUSES: Final = {
    AppointmentStatus.BOOKED: FillerStatus.BOOKED,
    AppointmentStatus.COMPLETED: FillerStatus.COMPLETE,
    AppointmentStatus.CANCELLED: FillerStatus.CANCELLED,
    AppointmentStatus.NO_SHOW: FillerStatus.NO_SHOW,
}


def reporting_to(settings: Hl7Settings) -> dict[str, Any]:
    """The ``info`` of a session whose changes are reported to ``settings``' receivers."""
    return {SETTINGS_KEY: settings} if settings.receivers else {}


def _settings(session: Session) -> Hl7Settings | None:
    settings: Hl7Settings | None = session.info.get(SETTINGS_KEY)
    return settings if settings is not None and settings.receivers else None


def filler_status(appointment: Appointment) -> FillerStatus:
    """Where the appointment stands for the EHR; a booked one marked for a new time is
    Pending (its clinician will not be there)."""
    if appointment.status is AppointmentStatus.BOOKED and appointment.rebook_reason:
        return FillerStatus.PENDING
    return STATUSES[appointment.status]


def report(
    session: Session,
    appointment: Appointment,
    event: SiuEvent,
    now: datetime,
    *,
    status: FillerStatus | None = None,
) -> None:
    """Queue the SIU message of ``event`` about ``appointment`` as it is now, for every
    receiver; nothing when no receiver is configured. ``status`` says more than the
    appointment's own status can (Started: the patient is checked in)."""
    settings = _settings(session)
    if settings is None:
        return
    patient, clinician, room = session.execute(
        select(Patient, Clinician, Room)  # one row each, in one statement
        .select_from(Patient)
        .join(Clinician, Clinician.id == appointment.clinician_id)
        .join(Room, Room.id == appointment.room_id)
        .where(Patient.id == appointment.patient_id)
    ).one()
    control_id = secrets.token_hex(10)
    body = build_siu(
        event,
        _visit(appointment, patient, clinician, room, status or filler_status(appointment)),
        Sender(settings.sending_application, settings.sending_facility, settings.mrn_authority),
        control_id=control_id,
        now=now,
    )
    message = SiuMessage(
        appointment_id=appointment.id,
        event=event,
        control_id=control_id,
        body=body,
        created_at=now,
    )
    session.add_all(
        SiuDelivery(
            message=message,
            appointment_id=appointment.id,
            receiver=receiver,
            status=DeliveryStatus.PENDING,
            attempts=0,
            next_attempt_at=now,
            created_at=now,
            updated_at=now,
        )
        for receiver in settings.receiver_names
    )


def _visit(
    appointment: Appointment,
    patient: Patient,
    clinician: Clinician,
    room: Room,
    status: FillerStatus,
) -> SiuAppointment:
    service = SERVICES[appointment.kind]
    if appointment.method is not None:
        service = f"{service} ({appointment.method.value})"
    return SiuAppointment(
        id=appointment.id,
        kind=appointment.kind.value,
        service=service,
        start_at=appointment.start_at,
        end_at=appointment.end_at,
        timezone=appointment.timezone,
        status=status,
        patient=SiuPatient(
            mrn=patient.mrn,
            family_name=patient.family_name,
            given_name=patient.given_name,
            birth_date=patient.birth_date,
        ),
        clinician=SiuClinician(
            id=clinician.id, family_name=clinician.family_name, given_name=clinician.given_name
        ),
        site_id=appointment.site_id,
        site_name=appointment.site.name,
        room_id=room.id,
        room_name=room.name,
    )


# ---------------------------------------------------------------------------------------
# Admin: list deliveries, re-queue the ones given up on; the backlog for monitoring


@dataclass(frozen=True)
class Backlog:
    pending: int  # still to be sent (due now or waiting for a retry)
    rejected: int  # the receiver answered AE or AR
    dead: int  # no ACK after the last attempt


def backlog(session: Session) -> Backlog:
    """What the SIU queue holds back, in one statement."""
    status = SiuDelivery.status
    row = session.execute(
        select(
            func.count().filter(status == DeliveryStatus.PENDING),
            func.count().filter(status == DeliveryStatus.REJECTED),
            func.count().filter(status == DeliveryStatus.DEAD),
        )
    ).one()
    return Backlog(pending=row[0], rejected=row[1], dead=row[2])


def list_statement(filters: dict[str, Any]) -> Select[SiuDelivery]:
    """Deliveries newest first, by status, receiver or appointment."""
    statement = select(SiuDelivery).order_by(SiuDelivery.id.desc())
    for name in ("status", "receiver", "appointment_id"):
        if name in filters:
            statement = statement.where(getattr(SiuDelivery, name) == filters[name])
    return statement


GIVEN_UP: Final = (DeliveryStatus.REJECTED, DeliveryStatus.DEAD)


def requeue(session: Session, delivery_id: int, now: datetime) -> SiuDelivery:
    """Send a rejected or dead delivery again (same message, same control id), due now,
    with a fresh set of attempts: once the receiver is fixed, say."""
    locked = session.get(SiuDelivery, delivery_id, with_for_update={"of": SiuDelivery})
    delivery = found(locked, "SIU delivery", delivery_id)
    if delivery.status not in GIVEN_UP:
        raise IllegalTransition(
            delivery.status.value,
            "requeue",
            detail="Only rejected or dead deliveries can be re-queued; "
            f"this one is {delivery.status.value}.",
        )
    delivery.status = DeliveryStatus.PENDING
    delivery.attempts = 0
    delivery.next_attempt_at = now
    delivery.last_error = None
    delivery.ack_code = None
    delivery.updated_at = now
    session.flush()
    return delivery
