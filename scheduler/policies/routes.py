"""Policy versions: ``/policies`` (admins publish; everyone on staff reads)."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from scheduler.api import Blueprint, Statement
from scheduler.context import actor, committed, now, session
from scheduler.policies import services
from scheduler.policies.models import PolicyRecord
from scheduler.policies.schemas import (
    PolicyCreateArgs,
    PolicyQueryArgs,
    PolicySchema,
    PolicySummarySchema,
)

blp = Blueprint("policies", __name__, description="Versioned prerequisite policies")


@blp.route("/policies")
class Policies(MethodView):
    @blp.listing(PolicySummarySchema, PolicyQueryArgs)
    def get(self, args: dict[str, Any]) -> Statement[PolicyRecord]:
        """List policy versions"""
        return services.list_statement(args.get("name"))

    @blp.writing(PolicyCreateArgs, PolicySchema)
    def post(self, data: dict[str, Any]) -> PolicyRecord:
        """Publish the next version of a policy (validated; 422 names the bad field)"""
        return committed(services.publish_policy(session(), actor(), now(), **data))


@blp.route("/policies/<string:name>/<int:version>")
class PolicyVersion(MethodView):
    @blp.response(200, PolicySchema)
    def get(self, name: str, version: int) -> PolicyRecord:
        """One policy version with its full parameters"""
        return services.get_policy(session(), name, version)
