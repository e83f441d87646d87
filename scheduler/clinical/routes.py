"""Clinical steps, each recorded on the appointment it belongs to (``/appointments/{id}/...``)."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from scheduler.api import Blueprint, with_extra
from scheduler.clinical import services
from scheduler.clinical.models import RecoveryScore
from scheduler.clinical.schemas import (
    AdmitArgs,
    BlockResultArgs,
    BlockResultSchema,
    CheckInArgs,
    CheckInSchema,
    DischargeArgs,
    DischargeSchema,
    FinishArgs,
    FollowUpOutcomeArgs,
    FollowUpOutcomeSchema,
    ProcedureRecordSchema,
    RecoveryScoreArgs,
    RecoveryScoreSchema,
    StartArgs,
)
from scheduler.context import actor, committed, now, session
from scheduler.policies.booking_rules import BlockReading
from scheduler.policies.procedure_day_rules import CheckInAnswers
from scheduler.scheduling.booking import get_appointment

blp = Blueprint("clinical", __name__, description="Clinical steps recorded on appointments")


@blp.route("/appointments/<int:appointment_id>/block-result")
class BlockResultView(MethodView):
    @blp.writing(BlockResultArgs, BlockResultSchema)
    def post(self, reading: BlockReading, appointment_id: int) -> Any:
        """Record a diagnostic block's result; the policy decides what comes next"""
        result, _outcome, pathway = services.record_block_result(
            session(), actor(), now(), appointment_id, reading
        )
        session().commit()
        return with_extra(
            result, relief_percent=reading.relief_percent, pathway_state=pathway.state
        )


@blp.route("/appointments/<int:appointment_id>/check-in")
class CheckInView(MethodView):
    @blp.writing(CheckInArgs, CheckInSchema)
    def post(self, answers: CheckInAnswers, appointment_id: int) -> Any:
        """Check the patient in (consent, escort, fasting, anticoagulation)"""
        record, evaluation = services.check_in(session(), actor(), now(), appointment_id, answers)
        session().commit()
        return with_extra(record, rules=evaluation.results)


@blp.route("/appointments/<int:appointment_id>/start")
class StartView(MethodView):
    @blp.writing(StartArgs, ProcedureRecordSchema)
    def post(self, data: dict[str, Any], appointment_id: int) -> Any:
        """Start the procedure"""
        return committed(
            services.start_procedure(session(), actor(), now(), appointment_id, data["method"])
        )


@blp.route("/appointments/<int:appointment_id>/finish")
class FinishView(MethodView):
    @blp.writing(FinishArgs, ProcedureRecordSchema, status=200)
    def post(self, data: dict[str, Any], appointment_id: int) -> Any:
        """Finish the procedure: levels treated and complications; recovery begins"""
        return committed(
            services.finish_procedure(session(), actor(), now(), appointment_id, **data)
        )


@blp.route("/appointments/<int:appointment_id>/recovery-scores")
class RecoveryScores(MethodView):
    @blp.response(200, RecoveryScoreSchema(many=True))
    def get(self, appointment_id: int) -> list[RecoveryScore]:
        """Recovery scores of the procedure, oldest first"""
        appointment = get_appointment(session(), actor(), appointment_id)
        return list(session().scalars(services.scores_statement(appointment.id)))

    @blp.writing(RecoveryScoreArgs, RecoveryScoreSchema)
    def post(self, data: dict[str, Any], appointment_id: int) -> Any:
        """Score recovery: modified Aldrete (phase I), then PADSS (home readiness)"""
        score, status = services.record_recovery_score(
            session(), actor(), now(), appointment_id, **data
        )
        session().commit()
        return with_extra(
            score,
            phase_one_complete=status.phase_one_complete,
            ready_for_discharge=status.ready_for_discharge,
        )


@blp.route("/appointments/<int:appointment_id>/discharge")
class DischargeView(MethodView):
    @blp.writing(DischargeArgs, DischargeSchema)
    def post(self, data: dict[str, Any], appointment_id: int) -> Any:
        """Same-day discharge (latest PADSS and Aldrete, escort present, instructions)"""
        return committed(services.discharge(session(), actor(), now(), appointment_id, **data))


@blp.route("/appointments/<int:appointment_id>/admit")
class AdmitView(MethodView):
    @blp.writing(AdmitArgs, DischargeSchema)
    def post(self, data: dict[str, Any], appointment_id: int) -> Any:
        """Admit instead of discharging (with the reason)"""
        return committed(services.admit(session(), actor(), now(), appointment_id, **data))


@blp.route("/appointments/<int:appointment_id>/follow-up-outcome")
class FollowUpOutcomeView(MethodView):
    @blp.writing(FollowUpOutcomeArgs, FollowUpOutcomeSchema)
    def post(self, data: dict[str, Any], appointment_id: int) -> Any:
        """Record the follow-up outcome; the pathway is completed"""
        return committed(
            services.record_follow_up_outcome(session(), actor(), now(), appointment_id, **data)
        )
