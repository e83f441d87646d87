"""Pathways: ``/pathways``, their history, eligibility and what the referral documents."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from scheduler.api import Blueprint, Statement
from scheduler.context import actor, committed, now, session
from scheduler.pathways import gates, services
from scheduler.pathways.models import (
    ConservativeTreatment,
    CoverageAcknowledgment,
    Pathway,
    PathwayEvent,
)
from scheduler.pathways.referral import Referral
from scheduler.pathways.schemas import (
    AcknowledgmentCreateArgs,
    AcknowledgmentSchema,
    CancelArgs,
    EligibilityQueryArgs,
    EligibilitySchema,
    EventSchema,
    PathwayCreateArgs,
    PathwayQueryArgs,
    PathwaySchema,
    TreatmentCreateArgs,
    TreatmentSchema,
)
from scheduler.policies.booking_rules import Treatment
from scheduler.scheduling import cancellation

blp = Blueprint("pathways", __name__, description="Pathways and their clinical steps")


@blp.route("/pathways")
class Pathways(MethodView):
    @blp.listing(PathwaySchema, PathwayQueryArgs)
    def get(self, args: dict[str, Any]) -> Statement[Pathway]:
        """List pathways (patients: their own)"""
        return services.list_statement(actor(), args)

    @blp.writing(PathwayCreateArgs, PathwaySchema)
    def post(self, referral: Referral) -> Pathway:
        """Refer a patient: a pathway pinned to the policy's latest version"""
        return committed(services.create_pathway(session(), actor(), now(), referral))


@blp.route("/pathways/<int:pathway_id>")
class PathwayById(MethodView):
    @blp.response(200, PathwaySchema)
    def get(self, pathway_id: int) -> Pathway:
        """Get a pathway with its state and the triggers it accepts"""
        return services.get_pathway(session(), actor(), pathway_id)


@blp.route("/pathways/<int:pathway_id>/cancel")
class CancelPathway(MethodView):
    @blp.writing(CancelArgs, PathwaySchema, status=200)
    def post(self, data: dict[str, Any], pathway_id: int) -> Pathway:
        """Cancel the pathway (before the procedure starts) and its booked appointments"""
        return committed(
            cancellation.cancel_pathway(session(), actor(), now(), pathway_id, data["reason"])
        )


@blp.route("/pathways/<int:pathway_id>/conservative-treatments")
class ConservativeTreatments(MethodView):
    @blp.response(200, TreatmentSchema(many=True))
    def get(self, pathway_id: int) -> list[ConservativeTreatment]:
        """Conservative treatments recorded on the pathway"""
        return services.treatments(session(), actor(), pathway_id)

    @blp.writing(TreatmentCreateArgs, TreatmentSchema)
    def post(self, treatment: Treatment, pathway_id: int) -> ConservativeTreatment:
        """Record a conservative treatment (physical therapy, medication, injections...)"""
        return committed(
            services.add_conservative_treatment(session(), actor(), now(), pathway_id, treatment)
        )


@blp.route("/pathways/<int:pathway_id>/coverage-acknowledgments")
class CoverageAcknowledgments(MethodView):
    @blp.response(200, AcknowledgmentSchema(many=True))
    def get(self, pathway_id: int) -> list[CoverageAcknowledgment]:
        """Signed self-pay agreements and advance beneficiary notices"""
        return services.acknowledgments(session(), actor(), pathway_id)

    @blp.writing(AcknowledgmentCreateArgs, AcknowledgmentSchema)
    def post(self, data: dict[str, Any], pathway_id: int) -> CoverageAcknowledgment:
        """Record a signed self-pay agreement or ABN (for a service not covered)"""
        return committed(
            services.add_coverage_acknowledgment(session(), actor(), now(), pathway_id, **data)
        )


@blp.route("/pathways/<int:pathway_id>/eligibility")
class Eligibility(MethodView):
    @blp.arguments(EligibilityQueryArgs, location="query")
    @blp.response(200, EligibilitySchema)
    def get(self, args: dict[str, Any], pathway_id: int) -> dict[str, Any]:
        """Every prerequisite rule of the pinned policy, passed or not, and why"""
        pathway = services.get_pathway(session(), actor(), pathway_id)
        on = args.get("on") or services.site_today(session(), pathway, now())
        method = args.get("method") or pathway.method
        evaluation = gates.eligibility(session(), pathway, on, method)
        return {
            "pathway_id": pathway.id,
            "policy": pathway.policy,
            "on": on,
            "method": method,
            "eligible": evaluation.passed,
            "rules": evaluation.results,
        }


@blp.route("/pathways/<int:pathway_id>/events")
class Events(MethodView):
    @blp.listing(EventSchema)
    def get(self, pathway_id: int) -> Statement[PathwayEvent]:
        """The pathway's history: every transition, oldest first"""
        pathway = services.get_pathway(session(), actor(), pathway_id)
        return services.events_statement(pathway)
