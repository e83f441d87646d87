"""Writing outbox messages with the change they announce (SPEC §5), and admin actions.

Scheduling calls :func:`announce_booked` and :func:`announce_released` in the booking,
move or cancellation's own transaction; the worker (``outbox/worker.py``) sends what is
due.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import Select, func, select, update
from sqlalchemy.orm import Session

from scheduler.db import found
from scheduler.errors import IllegalTransition
from scheduler.outbox.models import OutboxMessage, OutboxStatus
from scheduler.patients.models import Patient
from scheduler.vocabulary import AppointmentStatus, MessageKind


class Announced(Protocol):
    """What the outbox needs of an appointment it announces (scheduling's ``Appointment``).

    Scheduling calls the outbox, never the other way round: a message is built from the
    appointment as it is when the worker sends it.
    """

    id: int
    version: int
    patient_id: int
    start_at: datetime
    status: AppointmentStatus


def announce_booked(
    session: Session,
    appointment: Announced,
    now: datetime,
    *,
    reminder_before: timedelta,
    first: bool = False,
) -> None:
    """Queue the invite of a booked (or moved) appointment, and a reminder.

    The invite (METHOD:REQUEST) is due at once; the reminder ``reminder_before`` the
    start, unless that has already passed. Whatever was still pending for the older
    version is superseded first: its invite is out of date, and a reminder of the old
    time must never go out. ``first`` says the appointment was just created, so nothing
    of it can be pending yet.
    """
    if not first:
        _supersede_pending(session, appointment, now)
    if _has_address(session, appointment):
        _queue(session, appointment, MessageKind.REQUEST, now, now)
        remind_at = appointment.start_at - reminder_before
        if remind_at > now:
            _queue(session, appointment, MessageKind.REMINDER, remind_at, now)


def announce_released(session: Session, appointment: Announced, now: datetime) -> None:
    """Withdraw what is pending for an appointment that is off, and send a cancellation
    (METHOD:CANCEL) when it was cancelled; a no-show gets no message."""
    _supersede_pending(session, appointment, now)
    if appointment.status is AppointmentStatus.CANCELLED and _has_address(session, appointment):
        _queue(session, appointment, MessageKind.CANCEL, now, now)


def announce_offer(session: Session, offer_id: int, now: datetime) -> None:
    """Queue the e-mail of a waitlist offer, due at once (SPEC §10). The worker builds it
    from the offer as it is then: an offer answered or expired meanwhile is not sent."""
    session.add(_message(MessageKind.OFFER, now, now, offer_id=offer_id, version=0))


def _supersede_pending(session: Session, appointment: Announced, now: datetime) -> None:
    session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.appointment_id == appointment.id,
            OutboxMessage.status == OutboxStatus.PENDING,
        )
        .values(status=OutboxStatus.SUPERSEDED, updated_at=now)
        .execution_options(synchronize_session=False)
    )


def _has_address(session: Session, appointment: Announced) -> bool:
    """Whether the patient has an e-mail address (without one, staff hand out the invite)."""
    patient = session.get(Patient, appointment.patient_id)  # often already in the session
    return patient is not None and bool(patient.email)


def _queue(
    session: Session,
    appointment: Announced,
    kind: MessageKind,
    deliver_after: datetime,
    now: datetime,
) -> None:
    session.add(
        _message(
            kind, deliver_after, now, appointment_id=appointment.id, version=appointment.version
        )
    )


def _message(
    kind: MessageKind,
    deliver_after: datetime,
    now: datetime,
    *,
    version: int,
    appointment_id: int | None = None,
    offer_id: int | None = None,
) -> OutboxMessage:
    return OutboxMessage(
        appointment_id=appointment_id,
        offer_id=offer_id,
        appointment_version=version,
        kind=kind,
        status=OutboxStatus.PENDING,
        deliver_after=deliver_after,
        attempts=0,
        message_key=secrets.token_hex(16),
        created_at=now,
        updated_at=now,
    )


# ---------------------------------------------------------------------------------------
# Admin: list messages, re-queue dead ones; the backlog for monitoring


@dataclass(frozen=True)
class Backlog:
    due: int  # to send now (their time has come)
    scheduled: int  # to send later (reminders)
    dead: int  # gave up; an admin may re-queue them
    oldest_due: datetime | None  # since when the longest-waiting due message has been due


def backlog(session: Session, now: datetime) -> Backlog:
    """What the outbox holds back, in one statement."""
    pending = OutboxMessage.status == OutboxStatus.PENDING
    due = pending & (OutboxMessage.deliver_after <= now)
    row = session.execute(
        select(
            func.count().filter(due),
            func.count().filter(pending & (OutboxMessage.deliver_after > now)),
            func.count().filter(OutboxMessage.status == OutboxStatus.DEAD),
            func.min(OutboxMessage.deliver_after).filter(due),
        )
    ).one()
    return Backlog(due=row[0], scheduled=row[1], dead=row[2], oldest_due=row[3])


def list_statement(status: OutboxStatus | None) -> Select[OutboxMessage]:
    statement = select(OutboxMessage).order_by(OutboxMessage.id.desc())
    if status is not None:
        statement = statement.where(OutboxMessage.status == status)
    return statement


def requeue(session: Session, message_id: int, now: datetime) -> OutboxMessage:
    """Give a dead message a fresh set of attempts, due now."""
    locked = session.get(OutboxMessage, message_id, with_for_update={"of": OutboxMessage})
    message = found(locked, "outbox message", message_id)
    if message.status is not OutboxStatus.DEAD:
        raise IllegalTransition(
            message.status.value,
            "requeue",
            detail=f"Only dead messages can be re-queued; this one is {message.status.value}.",
        )
    message.status = OutboxStatus.PENDING
    message.attempts = 0
    message.deliver_after = now
    message.last_error = None
    message.updated_at = now
    session.flush()
    return message
