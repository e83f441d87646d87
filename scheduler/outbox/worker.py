"""The outbox worker: sends due messages over SMTP, retries with backoff, never twice.

Each message is claimed, sent and marked in one transaction. On PostgreSQL the claim is
``FOR UPDATE SKIP LOCKED``, so several workers share the queue and never send the same
row; on SQLite the transaction begins IMMEDIATE, so workers take turns.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from scheduler.db import begin_write
from scheduler.invites.ics import Clinic
from scheduler.invites.mail import build_message
from scheduler.invites.services import clinic_of, invite_for, link_url
from scheduler.outbox.models import OutboxMessage, OutboxStatus
from scheduler.polling import keep_passing
from scheduler.scheduling.models import Appointment
from scheduler.settings import DeliverySettings, SmtpSettings
from scheduler.vocabulary import AppointmentStatus, MessageKind

log = logging.getLogger(__name__)


@dataclass
class PassResult:
    """What one pass over the due messages did."""

    sent: int = 0
    retried: int = 0
    dead: int = 0
    superseded: int = 0

    @property
    def handled(self) -> int:
        return self.sent + self.retried + self.dead + self.superseded


def retry_delay(settings: DeliverySettings, attempts: int) -> timedelta:
    """Exponential backoff: base, 2 x base, 4 x base ... up to the cap."""
    delay: timedelta = settings.retry_base * 2 ** (attempts - 1)
    return min(delay, settings.retry_cap)


def send(smtp: SmtpSettings, message: EmailMessage) -> None:
    if smtp.security == "ssl":
        client: smtplib.SMTP = smtplib.SMTP_SSL(
            smtp.host, smtp.port, timeout=smtp.timeout, context=ssl.create_default_context()
        )
    else:
        client = smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout)
    with client:
        if smtp.security == "starttls":
            client.starttls(context=ssl.create_default_context())
        if smtp.username:
            client.login(smtp.username, smtp.password)
        client.send_message(message)


def _claim(session: Session, now: datetime) -> OutboxMessage | None:
    return session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.deliver_after <= now)
        .order_by(OutboxMessage.deliver_after, OutboxMessage.id)
        .limit(1)
        .with_for_update(skip_locked=True, of=OutboxMessage)
    ).first()


def _still_current(message: OutboxMessage, appointment: Appointment, now: datetime) -> bool:
    """Whether the message still says what is true: the patient gets only the latest."""
    if appointment.version != message.appointment_version:
        return False
    if message.kind is MessageKind.CANCEL:
        return appointment.status is AppointmentStatus.CANCELLED
    return appointment.status is AppointmentStatus.BOOKED and appointment.start_at > now


def _error_of(exc: Exception) -> str:
    """The failure without the server's words (they can repeat the recipient's address)."""
    code = getattr(exc, "smtp_code", None) or getattr(exc, "errno", None)
    return f"{type(exc).__name__}" + (f" {code}" if code else "")


def deliver_one(
    sessions: sessionmaker[Session], settings: DeliverySettings, now: datetime
) -> OutboxStatus | Literal["retry"] | None:
    """Claim the next due message and send it; None when nothing is due."""
    with sessions() as session, session.begin():
        begin_write(session)
        message = _claim(session, now)
        if message is None:
            return None
        appointment = session.get(Appointment, message.appointment_id)
        message.updated_at = now
        if appointment is None or not _still_current(message, appointment, now):
            message.status = OutboxStatus.SUPERSEDED
            return message.status
        invite = invite_for(session, appointment)
        clinic: Clinic = clinic_of(appointment.site, settings.sender)
        domain = settings.sender.rpartition("@")[2] or "localhost"
        try:
            email = build_message(
                invite,
                clinic,
                message.kind,
                message_id=f"<{message.message_key}@{domain}>",
                now=now,
                alarms=settings.alarms,
                link=link_url(settings.public_base_url, settings.secret_key, appointment),
            )
            send(settings.smtp, email)
        except (OSError, smtplib.SMTPException, ValueError) as exc:
            message.attempts += 1
            message.last_error = _error_of(exc)
            log.warning(
                "outbox message %s: attempt %s failed (%s)",
                message.id,
                message.attempts,
                message.last_error,
            )
            if message.attempts >= settings.max_attempts:
                message.status = OutboxStatus.DEAD
                return message.status
            message.deliver_after = now + retry_delay(settings, message.attempts)
            return "retry"
        message.status = OutboxStatus.SENT
        message.sent_at = now
        message.attempts += 1
        message.last_error = None
        log.info("outbox message %s sent (%s)", message.id, message.kind.value)
        return message.status


def deliver_due(
    sessions: sessionmaker[Session], settings: DeliverySettings, clock: Callable[[], datetime]
) -> PassResult:
    """One pass: every message due now, each in its own transaction."""
    result = PassResult()
    while (outcome := deliver_one(sessions, settings, clock())) is not None:
        if outcome == "retry":
            result.retried += 1
        elif outcome is OutboxStatus.SENT:
            result.sent += 1
        elif outcome is OutboxStatus.DEAD:
            result.dead += 1
        else:
            result.superseded += 1
    return result


def run(
    sessions: sessionmaker[Session],
    settings: DeliverySettings,
    clock: Callable[[], datetime],
    *,
    poll: timedelta,
    stop: threading.Event,
) -> None:
    """Pass after pass until ``stop`` is set; waits ``poll`` when nothing was due."""
    keep_passing(
        lambda: deliver_due(sessions, settings, clock), poll=poll, stop=stop, name="outbox"
    )
