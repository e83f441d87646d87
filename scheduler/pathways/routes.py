"""Pathways (``/pathways``) and the clinical steps recorded on their appointments."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest.pagination import PaginationParameters
from sqlalchemy import select

from scheduler.api import Blueprint, paginated, with_extra
from scheduler.context import actor, now, session
from scheduler.pathways import records, services
from scheduler.pathways.models import (
    ConservativeTreatment,
    CoverageAcknowledgment,
    Pathway,
    PathwayEvent,
    RecoveryScore,
)
from scheduler.pathways.policy import relief_percent
from scheduler.pathways.schemas import (
    AcknowledgmentCreateArgs,
    AcknowledgmentSchema,
    AdmitArgs,
    BlockResultArgs,
    BlockResultSchema,
    CancelArgs,
    CheckInArgs,
    CheckInSchema,
    DischargeArgs,
    DischargeSchema,
    EligibilityQueryArgs,
    EligibilitySchema,
    EventSchema,
    FinishArgs,
    FollowUpOutcomeArgs,
    FollowUpOutcomeSchema,
    PathwayCreateArgs,
    PathwayQueryArgs,
    PathwaySchema,
    ProcedureRecordSchema,
    RecoveryScoreArgs,
    RecoveryScoreSchema,
    StartArgs,
    TreatmentCreateArgs,
    TreatmentSchema,
)
from scheduler.scheduling.services import get_appointment

blp = Blueprint("pathways", __name__, description="Pathways and their clinical steps")


@blp.route("/pathways")
class Pathways(MethodView):
    @blp.arguments(PathwayQueryArgs, location="query")
    @blp.response(200, PathwaySchema(many=True))
    @blp.paginate()
    def get(
        self, args: dict[str, Any], pagination_parameters: PaginationParameters
    ) -> list[Pathway]:
        """List pathways (patients: their own)"""
        statement = services.list_statement(actor(), args)
        return paginated(session(), statement, pagination_parameters)

    @blp.arguments(PathwayCreateArgs)
    @blp.response(201, PathwaySchema)
    def post(self, data: dict[str, Any]) -> Pathway:
        """Refer a patient: a pathway pinned to the policy's latest version"""
        pathway = services.create_pathway(session(), actor(), now(), **data)
        session().commit()
        return pathway


@blp.route("/pathways/<int:pathway_id>")
class PathwayById(MethodView):
    @blp.response(200, PathwaySchema)
    def get(self, pathway_id: int) -> Pathway:
        """Get a pathway with its state and the triggers it accepts"""
        return services.get_pathway(session(), actor(), pathway_id)


@blp.route("/pathways/<int:pathway_id>/cancel")
class CancelPathway(MethodView):
    @blp.arguments(CancelArgs)
    @blp.response(200, PathwaySchema)
    def post(self, data: dict[str, Any], pathway_id: int) -> Pathway:
        """Cancel the pathway (before the procedure starts) and its booked appointments"""
        pathway = services.get_pathway(session(), actor(), pathway_id, lock=True)
        services.cancel_pathway(session(), actor(), now(), pathway, data["reason"])
        session().commit()
        return pathway


@blp.route("/pathways/<int:pathway_id>/conservative-treatments")
class ConservativeTreatments(MethodView):
    @blp.response(200, TreatmentSchema(many=True))
    def get(self, pathway_id: int) -> list[ConservativeTreatment]:
        """Conservative treatments recorded on the pathway"""
        pathway = services.get_pathway(session(), actor(), pathway_id)
        return list(
            session().scalars(
                select(ConservativeTreatment)
                .where(ConservativeTreatment.pathway_id == pathway.id)
                .order_by(ConservativeTreatment.start_date, ConservativeTreatment.id)
            )
        )

    @blp.arguments(TreatmentCreateArgs)
    @blp.response(201, TreatmentSchema)
    def post(self, data: dict[str, Any], pathway_id: int) -> ConservativeTreatment:
        """Record a conservative treatment (physical therapy, medication, injections...)"""
        pathway = services.get_pathway(session(), actor(), pathway_id, lock=True)
        treatment = services.add_conservative_treatment(session(), actor(), now(), pathway, **data)
        session().commit()
        return treatment


@blp.route("/pathways/<int:pathway_id>/coverage-acknowledgments")
class CoverageAcknowledgments(MethodView):
    @blp.response(200, AcknowledgmentSchema(many=True))
    def get(self, pathway_id: int) -> list[CoverageAcknowledgment]:
        """Signed self-pay agreements and advance beneficiary notices"""
        pathway = services.get_pathway(session(), actor(), pathway_id)
        return list(
            session().scalars(
                select(CoverageAcknowledgment)
                .where(CoverageAcknowledgment.pathway_id == pathway.id)
                .order_by(CoverageAcknowledgment.id)
            )
        )

    @blp.arguments(AcknowledgmentCreateArgs)
    @blp.response(201, AcknowledgmentSchema)
    def post(self, data: dict[str, Any], pathway_id: int) -> CoverageAcknowledgment:
        """Record a signed self-pay agreement or ABN (for a service not covered)"""
        pathway = services.get_pathway(session(), actor(), pathway_id, lock=True)
        acknowledgment = services.add_coverage_acknowledgment(
            session(), actor(), now(), pathway, **data
        )
        session().commit()
        return acknowledgment


@blp.route("/pathways/<int:pathway_id>/eligibility")
class Eligibility(MethodView):
    @blp.arguments(EligibilityQueryArgs, location="query")
    @blp.response(200, EligibilitySchema)
    def get(self, args: dict[str, Any], pathway_id: int) -> dict[str, Any]:
        """Every prerequisite rule of the pinned policy, passed or not, and why"""
        pathway = services.get_pathway(session(), actor(), pathway_id)
        on = args.get("on") or services.site_today(session(), pathway, now())
        method = args.get("method") or pathway.method
        evaluation = services.eligibility(session(), pathway, on, method)
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
    @blp.response(200, EventSchema(many=True))
    @blp.paginate()
    def get(
        self, pathway_id: int, pagination_parameters: PaginationParameters
    ) -> list[PathwayEvent]:
        """The pathway's history: every transition, oldest first"""
        pathway = services.get_pathway(session(), actor(), pathway_id)
        return paginated(session(), services.events_statement(pathway), pagination_parameters)


# Clinical steps, recorded on the appointment they belong to


@blp.route("/appointments/<int:appointment_id>/block-result")
class BlockResultView(MethodView):
    @blp.arguments(BlockResultArgs)
    @blp.response(201, BlockResultSchema)
    def post(self, data: dict[str, Any], appointment_id: int) -> dict[str, Any]:
        """Record a diagnostic block's result; the policy decides what comes next"""
        result, outcome, pathway = records.record_block_result(
            session(), actor(), now(), appointment_id, **data
        )
        session().commit()
        return {
            "id": result.id,
            "appointment_id": result.appointment_id,
            "pre_block_pain": result.pre_block_pain,
            "post_block_pain": result.post_block_pain,
            "relief_duration_hours": result.relief_duration_hours,
            "relief_percent": relief_percent(result.pre_block_pain, result.post_block_pain),
            "outcome": outcome.value,
            "pathway_state": pathway.state,
        }


@blp.route("/appointments/<int:appointment_id>/check-in")
class CheckInView(MethodView):
    @blp.arguments(CheckInArgs)
    @blp.response(201, CheckInSchema)
    def post(self, data: dict[str, Any], appointment_id: int) -> Any:
        """Check the patient in (consent, escort, fasting, anticoagulation)"""
        record, evaluation = records.check_in(session(), actor(), now(), appointment_id, **data)
        session().commit()
        return with_extra(record, rules=evaluation.results)


@blp.route("/appointments/<int:appointment_id>/start")
class StartView(MethodView):
    @blp.arguments(StartArgs)
    @blp.response(201, ProcedureRecordSchema)
    def post(self, data: dict[str, Any], appointment_id: int) -> Any:
        """Start the procedure"""
        record = records.start_procedure(session(), actor(), now(), appointment_id, data["method"])
        session().commit()
        return record


@blp.route("/appointments/<int:appointment_id>/finish")
class FinishView(MethodView):
    @blp.arguments(FinishArgs)
    @blp.response(200, ProcedureRecordSchema)
    def post(self, data: dict[str, Any], appointment_id: int) -> Any:
        """Finish the procedure: levels treated and complications; recovery begins"""
        record = records.finish_procedure(session(), actor(), now(), appointment_id, **data)
        session().commit()
        return record


def _score_view(score: RecoveryScore, appointment_id: int) -> Any:
    appointment = get_appointment(session(), actor(), appointment_id)
    pathway = services.get_pathway(session(), actor(), appointment.pathway_id)
    phase_one, ready = records.recovery_status(session(), pathway, appointment.id)
    return with_extra(score, phase_one_complete=phase_one, ready_for_discharge=ready)


@blp.route("/appointments/<int:appointment_id>/recovery-scores")
class RecoveryScores(MethodView):
    @blp.response(200, RecoveryScoreSchema(many=True))
    def get(self, appointment_id: int) -> list[RecoveryScore]:
        """Recovery scores of the procedure, oldest first"""
        appointment = get_appointment(session(), actor(), appointment_id)
        return list(
            session().scalars(
                select(RecoveryScore)
                .where(RecoveryScore.appointment_id == appointment.id)
                .order_by(RecoveryScore.recorded_at, RecoveryScore.id)
            )
        )

    @blp.arguments(RecoveryScoreArgs)
    @blp.response(201, RecoveryScoreSchema)
    def post(self, data: dict[str, Any], appointment_id: int) -> Any:
        """Score recovery: modified Aldrete (phase I), then PADSS (home readiness)"""
        score = records.record_recovery_score(session(), actor(), now(), appointment_id, **data)
        view = _score_view(score, appointment_id)
        session().commit()
        return view


@blp.route("/appointments/<int:appointment_id>/discharge")
class DischargeView(MethodView):
    @blp.arguments(DischargeArgs)
    @blp.response(201, DischargeSchema)
    def post(self, data: dict[str, Any], appointment_id: int) -> Any:
        """Same-day discharge (PADSS, escort present, written instructions)"""
        record = records.discharge(session(), actor(), now(), appointment_id, **data)
        session().commit()
        return record


@blp.route("/appointments/<int:appointment_id>/admit")
class AdmitView(MethodView):
    @blp.arguments(AdmitArgs)
    @blp.response(201, DischargeSchema)
    def post(self, data: dict[str, Any], appointment_id: int) -> Any:
        """Admit instead of discharging (with the reason)"""
        record = records.admit(session(), actor(), now(), appointment_id, **data)
        session().commit()
        return record


@blp.route("/appointments/<int:appointment_id>/follow-up-outcome")
class FollowUpOutcomeView(MethodView):
    @blp.arguments(FollowUpOutcomeArgs)
    @blp.response(201, FollowUpOutcomeSchema)
    def post(self, data: dict[str, Any], appointment_id: int) -> Any:
        """Record the follow-up outcome; the pathway is completed"""
        outcome = records.record_follow_up_outcome(
            session(), actor(), now(), appointment_id, **data
        )
        session().commit()
        return outcome
