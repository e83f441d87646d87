"""Policy versions: ``/policies`` (admins publish; everyone on staff reads)."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest.pagination import PaginationParameters
from sqlalchemy import select

from scheduler.api import Blueprint, paginated
from scheduler.context import actor, now, session
from scheduler.pathways.models import PolicyRecord
from scheduler.policies import services
from scheduler.policies.schemas import (
    PolicyCreateArgs,
    PolicyQueryArgs,
    PolicySchema,
    PolicySummarySchema,
)

blp = Blueprint("policies", __name__, description="Versioned prerequisite policies")


@blp.route("/policies")
class Policies(MethodView):
    @blp.arguments(PolicyQueryArgs, location="query")
    @blp.response(200, PolicySummarySchema(many=True))
    @blp.paginate()
    def get(
        self, args: dict[str, Any], pagination_parameters: PaginationParameters
    ) -> list[PolicyRecord]:
        """List policy versions"""
        statement = select(PolicyRecord).order_by(PolicyRecord.name, PolicyRecord.version)
        if "name" in args:
            statement = statement.where(PolicyRecord.name == args["name"])
        return paginated(session(), statement, pagination_parameters)

    @blp.arguments(PolicyCreateArgs)
    @blp.response(201, PolicySchema)
    def post(self, data: dict[str, Any]) -> PolicyRecord:
        """Publish the next version of a policy (validated; 422 names the bad field)"""
        record = services.publish_policy(session(), actor(), now(), **data)
        session().commit()
        return record


@blp.route("/policies/<string:name>/<int:version>")
class PolicyVersion(MethodView):
    @blp.response(200, PolicySchema)
    def get(self, name: str, version: int) -> PolicyRecord:
        """One policy version with its full parameters"""
        return services.get_policy(session(), name, version)
