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
from scheduler.facilities.models import Site
from scheduler.invites.ics import Clinic
from scheduler.invites.mail import build_message
from scheduler.invites.services import clinic_of, invite_for, link_url
from scheduler.outbox.models import OutboxMessage, OutboxStatus
from scheduler.pathways.models import Pathway
from scheduler.patients.models import Patient
from scheduler.polling import keep_passing
from scheduler.scheduling.models import Appointment
from scheduler.settings import DeliverySettings, SmtpSettings
from scheduler.vocabulary import AppointmentStatus, MessageKind, OfferStatus
from scheduler.waitlist.letters import OfferLetter, build_offer_message, offer_url
from scheduler.waitlist.models import Offer

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


def _message_id(settings: DeliverySettings, message: OutboxMessage) -> str:
    domain = settings.sender.rpartition("@")[2] or "localhost"
    return f"<{message.message_key}@{domain}>"


def _appointment_email(
    session: Session, settings: DeliverySettings, message: OutboxMessage, now: datetime
) -> EmailMessage | None:
    """The invite, cancellation or reminder, or None when it no longer says what is true."""
    appointment = session.get(Appointment, message.appointment_id)
    if appointment is None or not _still_current(message, appointment, now):
        return None
    clinic: Clinic = clinic_of(appointment.site, settings.sender)
    return build_message(
        invite_for(session, appointment),
        clinic,
        message.kind,
        message_id=_message_id(settings, message),
        now=now,
        alarms=settings.alarms,
        link=link_url(settings.public_base_url, settings.secret_key, appointment),
    )


def _offer_email(
    session: Session, settings: DeliverySettings, message: OutboxMessage, now: datetime
) -> EmailMessage | None:
    """A waitlist offer, or None when it was answered, withdrawn or expired meanwhile."""
    offer = session.get(Offer, message.offer_id)
    if offer is None or offer.status is not OfferStatus.OPEN or offer.expires_at <= now:
        return None
    pathway = session.get_one(Pathway, offer.pathway_id)
    patient = session.get_one(Patient, pathway.patient_id)
    if not patient.email:
        return None
    site = session.get_one(Site, pathway.site_id)
    base, secret = settings.public_base_url, settings.secret_key
    letter = OfferLetter(
        patient_email=patient.email,
        clinic=clinic_of(site, settings.sender),
        start=offer.start_at,
        expires_at=offer.expires_at,
        timezone=site.timezone,
        accept_url=offer_url(base, secret, offer.id, "accept"),
        decline_url=offer_url(base, secret, offer.id, "decline"),
    )
    return build_offer_message(letter, message_id=_message_id(settings, message), now=now)


def deliver_one(
    sessions: sessionmaker[Session], settings: DeliverySettings, now: datetime
) -> OutboxStatus | Literal["retry"] | None:
    """Claim the next due message and send it; None when nothing is due."""
    with sessions() as session, session.begin():
        begin_write(session)
        message = _claim(session, now)
        if message is None:
            return None
        message.updated_at = now
        build = _offer_email if message.offer_id is not None else _appointment_email
        try:
            email = build(session, settings, message, now)
            if email is None:
                message.status = OutboxStatus.SUPERSEDED
                return message.status
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
