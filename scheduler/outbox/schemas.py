"""Outbox messages as admins see them: no recipient, no content (patient data)."""

from __future__ import annotations

from marshmallow import fields

from scheduler.outbox.models import OutboxStatus
from scheduler.schemas import Args, Choice, Instant, Out
from scheduler.vocabulary import MessageKind


class OutboxFilterArgs(Args):
    status = Choice(OutboxStatus)


class OutboxMessageSchema(Out):
    id = fields.Integer()
    appointment_id = fields.Integer(
        allow_none=True, metadata={"description": "None for a waitlist offer's e-mail"}
    )
    offer_id = fields.Integer(
        allow_none=True, metadata={"description": "The waitlist offer an offer e-mail is about"}
    )
    appointment_version = fields.Integer()
    kind = Choice(MessageKind)
    status = Choice(OutboxStatus)
    attempts = fields.Integer()
    deliver_after = Instant()
    last_error = fields.String(allow_none=True)
    created_at = Instant()
    sent_at = Instant(allow_none=True)
