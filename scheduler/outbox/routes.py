"""Outbox admin: ``/outbox`` lists messages; dead ones can be re-queued."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from scheduler.api import Blueprint, Statement
from scheduler.context import committed, now, session
from scheduler.outbox import services
from scheduler.outbox.models import OutboxMessage
from scheduler.outbox.schemas import OutboxFilterArgs, OutboxMessageSchema
from scheduler.schemas import NoArgs

blp = Blueprint("outbox", __name__, description="E-mail to patients: delivery state")


@blp.route("/outbox")
class Outbox(MethodView):
    @blp.listing(OutboxMessageSchema, OutboxFilterArgs)
    def get(self, filters: dict[str, Any]) -> Statement[OutboxMessage]:
        """List messages, newest first (``status=dead``: the ones that need a look)"""
        return services.list_statement(filters.get("status"))


@blp.route("/outbox/<int:message_id>/requeue")
class Requeue(MethodView):
    @blp.writing(NoArgs, OutboxMessageSchema, status=200)
    def post(self, _data: dict[str, Any], message_id: int) -> OutboxMessage:
        """Send a dead message again, with a fresh set of attempts"""
        return committed(services.requeue(session(), message_id, now()))
