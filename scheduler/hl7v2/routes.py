"""SIU admin: ``/hl7/deliveries`` lists what went to each receiver; rejected and dead
deliveries can be re-queued."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from scheduler.api import Blueprint, Statement
from scheduler.context import committed, now, session
from scheduler.hl7v2 import services
from scheduler.hl7v2.models import SiuDelivery
from scheduler.hl7v2.schemas import SiuDeliveryFilterArgs, SiuDeliverySchema
from scheduler.schemas import NoArgs

blp = Blueprint("hl7", __name__, description="HL7 v2 SIU messages to the EHR: delivery state")


@blp.route("/hl7/deliveries")
class Deliveries(MethodView):
    @blp.listing(SiuDeliverySchema, SiuDeliveryFilterArgs)
    def get(self, filters: dict[str, Any]) -> Statement[SiuDelivery]:
        """List deliveries, newest first (``status=rejected`` or ``dead``: the ones that
        need a look)"""
        return services.list_statement(filters)


@blp.route("/hl7/deliveries/<int:delivery_id>/requeue")
class Requeue(MethodView):
    @blp.writing(NoArgs, SiuDeliverySchema, status=200)
    def post(self, _data: dict[str, Any], delivery_id: int) -> SiuDelivery:
        """Send a rejected or dead delivery again (same message and control id), with a
        fresh set of attempts"""
        return committed(services.requeue(session(), delivery_id, now()))
