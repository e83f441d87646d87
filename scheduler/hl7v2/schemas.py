"""SIU deliveries as admins see them: no message body (it holds patient data)."""

from __future__ import annotations

from marshmallow import fields, validate

from scheduler.hl7v2.messages import SiuEvent
from scheduler.hl7v2.models import DeliveryStatus
from scheduler.schemas import Args, Choice, Instant, Out, QueryId


class SiuDeliveryFilterArgs(Args):
    status = Choice(DeliveryStatus)
    receiver = fields.String(validate=validate.Length(min=1, max=40))
    appointment_id = QueryId()


class SiuDeliverySchema(Out):
    id = fields.Integer()
    receiver = fields.String()
    appointment_id = fields.Integer()
    event = Choice(SiuEvent, attribute="message.event")
    control_id = fields.String(attribute="message.control_id")
    status = Choice(DeliveryStatus)
    attempts = fields.Integer()
    next_attempt_at = Instant()
    ack_code = fields.String(allow_none=True)
    last_error = fields.String(allow_none=True)
    created_at = Instant()
    sent_at = Instant(allow_none=True)
