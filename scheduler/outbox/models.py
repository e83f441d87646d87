"""Outbox messages: one e-mail to a patient about one version of one appointment."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from scheduler.db import Base, enum_type
from scheduler.vocabulary import MessageKind


class OutboxStatus(StrEnum):
    PENDING = "pending"  # to send once deliver_after has passed
    SENT = "sent"
    DEAD = "dead"  # the last attempt failed; an admin may re-queue it
    SUPERSEDED = "superseded"  # the appointment changed again before it was sent


class OutboxMessage(Base):
    """Written in the same transaction as the booking, move or cancellation it announces
    (or as the waitlist offer: ``offer_id`` instead of an appointment).

    The body is built when the message is sent, from the appointment as it is then; a
    message whose appointment has moved on to a newer version is superseded instead, so
    the patient only ever receives the latest state.
    """

    __tablename__ = "outbox_messages"
    __table_args__ = (
        CheckConstraint("attempts >= 0", name="attempts_not_negative"),
        CheckConstraint("(appointment_id IS NULL) <> (offer_id IS NULL)", name="one_subject"),
        Index(None, "status", "deliver_after"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    appointment_id: Mapped[int | None] = mapped_column(
        ForeignKey("appointments.id", ondelete="CASCADE"), index=True
    )
    # An offer of a freed slot to a waitlisted patient (kind offer).
    offer_id: Mapped[int | None] = mapped_column(
        ForeignKey("offers.id", ondelete="CASCADE"), index=True
    )
    # The appointment's version it announces (0 for an offer).
    appointment_version: Mapped[int]
    kind: Mapped[MessageKind] = mapped_column(enum_type(MessageKind, "kind"))
    status: Mapped[OutboxStatus] = mapped_column(enum_type(OutboxStatus, "status"))
    deliver_after: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(default=0)
    # The Message-ID's local part: the same on every attempt, so a resend is recognisable.
    message_key: Mapped[str] = mapped_column(String(32), unique=True)
    # An exception class and SMTP code only: server replies can echo the recipient.
    last_error: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
