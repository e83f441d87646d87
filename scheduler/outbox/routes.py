"""Outbox admin: ``/outbox`` lists messages; dead ones can be re-queued."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest.pagination import PaginationParameters

from scheduler.api import Blueprint, paginated
from scheduler.context import now, session
from scheduler.outbox import services
from scheduler.outbox.models import OutboxMessage
from scheduler.outbox.schemas import OutboxFilterArgs, OutboxMessageSchema
from scheduler.schemas import NoArgs

blp = Blueprint("outbox", __name__, description="E-mail to patients: delivery state")


@blp.route("/outbox")
class Outbox(MethodView):
    @blp.arguments(OutboxFilterArgs, location="query")
    @blp.response(200, OutboxMessageSchema(many=True))
    @blp.paginate()
    def get(
        self, filters: dict[str, Any], pagination_parameters: PaginationParameters
    ) -> list[OutboxMessage]:
        """List messages, newest first (``status=dead``: the ones that need a look)"""
        statement = services.list_statement(filters.get("status"))
        return paginated(session(), statement, pagination_parameters)


@blp.route("/outbox/<int:message_id>/requeue")
class Requeue(MethodView):
    @blp.arguments(NoArgs)
    @blp.response(200, OutboxMessageSchema)
    def post(self, _data: dict[str, Any], message_id: int) -> OutboxMessage:
        """Send a dead message again, with a fresh set of attempts"""
        message = services.requeue(session(), message_id, now())
        session().commit()
        return message
