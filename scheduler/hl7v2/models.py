"""SIU messages to the EHR: one per change of an appointment, one delivery per receiver."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from scheduler.db import Base, enum_type
from scheduler.hl7v2.messages import SiuEvent


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # to send once next_attempt_at has passed
    SENT = "sent"  # the receiver answered AA
    REJECTED = "rejected"  # the receiver answered AE or AR: an admin looks at it
    DEAD = "dead"  # no ACK after the last attempt; an admin may re-queue it


class SiuMessage(Base):
    """Written in the same transaction as the change it reports, and built then: an S12
    and the S13 after it each say what was true when they were written (the patient's
    name, the time, the room). It holds patient data: never log its body."""

    __tablename__ = "siu_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    appointment_id: Mapped[int] = mapped_column(
        ForeignKey("appointments.id", ondelete="CASCADE"), index=True
    )
    event: Mapped[SiuEvent] = mapped_column(enum_type(SiuEvent, "event"))
    # MSH-10: the same on every attempt and for every receiver, so a resend is recognisable.
    control_id: Mapped[str] = mapped_column(String(20), unique=True)
    body: Mapped[str] = mapped_column(Text)  # ER7; MSH-5/6 are filled in per receiver
    created_at: Mapped[datetime]


class SiuDelivery(Base):
    """One message to one receiver. A receiver gets an appointment's messages in the
    order they were written: the worker sends none while an earlier one of the same
    appointment to the same receiver is still pending."""

    __tablename__ = "siu_deliveries"
    __table_args__ = (
        CheckConstraint("attempts >= 0", name="attempts_not_negative"),
        UniqueConstraint("message_id", "receiver"),
        Index(None, "status", "next_attempt_at"),
        Index(None, "receiver", "appointment_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("siu_messages.id", ondelete="CASCADE"))
    # The message's, repeated here so the order check needs no join.
    appointment_id: Mapped[int] = mapped_column(ForeignKey("appointments.id", ondelete="CASCADE"))
    receiver: Mapped[str] = mapped_column(String(40))  # a name from HL7_RECEIVERS
    status: Mapped[DeliveryStatus] = mapped_column(enum_type(DeliveryStatus, "status"))
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime]
    ack_code: Mapped[str | None] = mapped_column(String(2))  # MSA-1 of the last answer
    # What failed, in our words (and the receiver's error code): never the message's data.
    last_error: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]

    message: Mapped[SiuMessage] = relationship(lazy="joined", innerjoin=True)
