"""Clinical steps along the pathway, each recorded on its appointment (SPEC §1, §3).

Block result -> eligible / another block / ineligible; procedure day: check-in, start,
finish, recovery scores (modified Aldrete, then Chung's PADSS), discharge or admission;
follow-up outcome -> completed. Each step checks the pathway's state and its policy gate,
writes its record and the transition in one transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from scheduler.access import Actor, require_case_write
from scheduler.errors import IllegalTransition, InvalidInput
from scheduler.pathways import policy as rules
from scheduler.pathways import services as pathways
from scheduler.pathways.models import (
    BlockResult,
    CheckIn,
    DischargeRecord,
    FollowUpOutcome,
    Pathway,
    ProcedureRecord,
    RecoveryScore,
)
from scheduler.pathways.policy import Evaluation
from scheduler.pathways.states import PathwayState, Trigger
from scheduler.policies.services import policy_of
from scheduler.scheduling.models import Appointment
from scheduler.scheduling.services import get_appointment
from scheduler.vocabulary import (
    AppointmentKind,
    AppointmentStatus,
    DischargeOutcome,
    Method,
    RecoveryScale,
    level_problem,
)


def _step(
    session: Session,
    actor: Actor,
    appointment_id: int,
    kind: AppointmentKind,
    state: PathwayState,
    step: Trigger | str,
) -> tuple[Appointment, Pathway]:
    """The appointment and its locked pathway, if this step may be recorded on them now.

    ``step`` names what was refused: the trigger, or a record that moves no state.
    """
    appointment = get_appointment(session, actor, appointment_id, lock=True)
    require_case_write(actor, appointment.clinician_id)
    pathway = pathways.get_pathway(session, actor, appointment.pathway_id, lock=True)
    if appointment.kind is not kind:
        raise InvalidInput.field(
            "appointment_id", f"This step is recorded on a {kind.value} appointment."
        )
    if appointment.status is not AppointmentStatus.BOOKED or pathway.state is not state:
        raise IllegalTransition(pathway.state.value, str(step))
    return appointment, pathway


def _require_started(appointment: Appointment, now: datetime) -> None:
    if now < appointment.start_at:
        raise InvalidInput.field(
            "appointment_id", "This can be recorded only once the appointment has started."
        )


def record_block_result(
    session: Session, actor: Actor, now: datetime, appointment_id: int, **fields: Any
) -> tuple[BlockResult, rules.BlockOutcome, Pathway]:
    """Record pain before/after; the policy decides eligible, another block, or ineligible."""
    appointment, pathway = _step(
        session,
        actor,
        appointment_id,
        AppointmentKind.DIAGNOSTIC_BLOCK,
        PathwayState.BLOCK_SCHEDULED,
        Trigger.BLOCK_POSITIVE,
    )
    _require_started(appointment, now)
    result = BlockResult(
        appointment_id=appointment.id, recorded_at=now, recorded_by_id=actor.user_id, **fields
    )
    session.add(result)
    appointment.status = AppointmentStatus.COMPLETED
    appointment.updated_at = now
    session.flush()
    on = pathways.local_date(appointment.start_at, appointment.timezone)
    outcome = rules.block_outcome(
        policy_of(pathway.policy), pathways.snapshot(session, pathway, on)
    )
    trigger = {
        rules.BlockOutcome.POSITIVE: Trigger.BLOCK_POSITIVE,
        rules.BlockOutcome.POSITIVE_MORE_NEEDED: Trigger.BLOCK_POSITIVE_MORE_NEEDED,
        rules.BlockOutcome.NEGATIVE: Trigger.BLOCK_NEGATIVE,
    }[outcome]
    relief = rules.relief_percent(result.pre_block_pain, result.post_block_pain)
    pathways.transition(
        session,
        pathway,
        trigger,
        actor,
        now,
        appointment_id=appointment.id,
        data={"relief_percent": relief, "outcome": outcome.value},
    )
    return result, outcome, pathway


def check_in(
    session: Session, actor: Actor, now: datetime, appointment_id: int, **fields: Any
) -> tuple[CheckIn, Evaluation]:
    """Consent, escort, fasting and anticoagulation reviewed against the policy."""
    appointment, pathway = _step(
        session,
        actor,
        appointment_id,
        AppointmentKind.PROCEDURE,
        PathwayState.PROCEDURE_SCHEDULED,
        Trigger.CHECK_IN,
    )
    if pathways.local_date(now, appointment.timezone) != pathways.local_date(
        appointment.start_at, appointment.timezone
    ):
        raise InvalidInput.field("appointment_id", "Check-in is on the day of the procedure.")
    for name in ("last_clear_fluids_at", "last_light_meal_at", "last_heavy_meal_at"):
        if fields.get(name) and fields[name] > now:
            raise InvalidInput.field(name, "Must not be in the future.")
    evaluation = rules.evaluate_check_in(
        policy_of(pathway.policy),
        rules.CheckInSnapshot(
            region=pathway.region,
            sedation=pathway.sedation,
            procedure_start=appointment.start_at,
            **fields,
        ),
    )
    evaluation.require()
    record = CheckIn(
        appointment_id=appointment.id,
        checked_in_at=now,
        recorded_by_id=actor.user_id,
        **fields,
    )
    session.add(record)
    session.flush()
    pathways.transition(
        session, pathway, Trigger.CHECK_IN, actor, now, appointment_id=appointment.id
    )
    return record, evaluation


def start_procedure(
    session: Session, actor: Actor, now: datetime, appointment_id: int, method: Method | None
) -> ProcedureRecord:
    """Start; a change of method re-checks coverage (laser/mechanical need a signed notice)."""
    appointment, pathway = _step(
        session,
        actor,
        appointment_id,
        AppointmentKind.PROCEDURE,
        PathwayState.CHECKED_IN,
        Trigger.START_PROCEDURE,
    )
    assert appointment.method is not None  # noqa: S101 (CHECK procedure_method)
    used = method or appointment.method
    if used is not appointment.method:
        on = pathways.local_date(appointment.start_at, appointment.timezone)
        pathways.evaluate_gate(session, pathway, rules.Gate.START_PROCEDURE, on, used).require()
        appointment.method = used
    record = ProcedureRecord(
        appointment_id=appointment.id,
        method=used,
        levels_treated=None,
        complications=None,
        started_at=now,
        started_by_id=actor.user_id,
    )
    session.add(record)
    session.flush()
    pathways.transition(
        session,
        pathway,
        Trigger.START_PROCEDURE,
        actor,
        now,
        appointment_id=appointment.id,
        data={"method": used.value},
    )
    return record


def finish_procedure(
    session: Session,
    actor: Actor,
    now: datetime,
    appointment_id: int,
    *,
    levels_treated: list[str],
    complications: list[Any],
) -> ProcedureRecord:
    appointment, pathway = _step(
        session,
        actor,
        appointment_id,
        AppointmentKind.PROCEDURE,
        PathwayState.IN_PROCEDURE,
        Trigger.FINISH_PROCEDURE,
    )
    problems = [p for p in (level_problem(level, pathway.region) for level in levels_treated) if p]
    if problems:
        raise InvalidInput({"levels_treated": [p + "." for p in problems]})
    record = session.scalar(
        select(ProcedureRecord).where(ProcedureRecord.appointment_id == appointment.id)
    )
    assert record is not None  # noqa: S101 (written by start_procedure)
    record.levels_treated = list(levels_treated)
    record.complications = sorted({c.value for c in complications})
    record.finished_at = now
    record.finished_by_id = actor.user_id
    session.flush()
    pathways.transition(
        session,
        pathway,
        Trigger.FINISH_PROCEDURE,
        actor,
        now,
        appointment_id=appointment.id,
        data={"complications": record.complications},
    )
    return record


def _latest_scores(session: Session, appointment_id: int) -> dict[RecoveryScale, int]:
    latest: dict[RecoveryScale, int] = {}
    for scale, total in session.execute(
        select(RecoveryScore.scale, RecoveryScore.total)
        .where(RecoveryScore.appointment_id == appointment_id)
        .order_by(RecoveryScore.recorded_at, RecoveryScore.id)
    ):
        latest[scale] = total
    return latest


def _in_recovery(
    session: Session, actor: Actor, appointment_id: int, step: Trigger | str
) -> tuple[Appointment, Pathway]:
    return _step(
        session,
        actor,
        appointment_id,
        AppointmentKind.PROCEDURE,
        PathwayState.IN_RECOVERY,
        step,
    )


def record_recovery_score(
    session: Session,
    actor: Actor,
    now: datetime,
    appointment_id: int,
    *,
    scale: RecoveryScale,
    items: dict[str, int],
) -> RecoveryScore:
    """Score recovery; PADSS starts only once phase I has ended (Aldrete at threshold)."""
    appointment, pathway = _in_recovery(session, actor, appointment_id, "record_recovery_score")
    policy = policy_of(pathway.policy)
    if scale is RecoveryScale.PADSS:
        latest = _latest_scores(session, appointment.id)
        rules.evaluate_end_of_phase_one(
            policy, rules.RecoverySnapshot(latest_aldrete=latest.get(RecoveryScale.ALDRETE))
        ).require()
    score = RecoveryScore(
        appointment_id=appointment.id,
        scale=scale,
        items=dict(items),
        total=sum(items.values()),
        recorded_at=now,
        recorded_by_id=actor.user_id,
    )
    session.add(score)
    session.flush()
    return score


def recovery_status(session: Session, pathway: Pathway, appointment_id: int) -> tuple[bool, bool]:
    """(phase I complete, PADSS at the discharge threshold) from the latest scores."""
    parameters = policy_of(pathway.policy).parameters
    latest = _latest_scores(session, appointment_id)
    aldrete = latest.get(RecoveryScale.ALDRETE)
    padss = latest.get(RecoveryScale.PADSS)
    return (
        aldrete is not None and aldrete >= parameters.recovery.min_aldrete,
        padss is not None and padss >= parameters.discharge.min_padss,
    )


def discharge(
    session: Session,
    actor: Actor,
    now: datetime,
    appointment_id: int,
    *,
    escort_present: bool,
    written_instructions_given: bool,
) -> DischargeRecord:
    """Same-day discharge when PADSS, escort and instructions meet the policy."""
    appointment, pathway = _in_recovery(session, actor, appointment_id, Trigger.DISCHARGE)
    latest = _latest_scores(session, appointment.id)
    rules.evaluate_discharge(
        policy_of(pathway.policy),
        rules.RecoverySnapshot(
            latest_aldrete=latest.get(RecoveryScale.ALDRETE),
            latest_padss=latest.get(RecoveryScale.PADSS),
            escort_present=escort_present,
            written_instructions_given=written_instructions_given,
        ),
    ).require()
    return _close_procedure_day(
        session,
        actor,
        now,
        appointment,
        pathway,
        DischargeRecord(
            appointment_id=appointment.id,
            outcome=DischargeOutcome.DISCHARGED,
            escort_present=escort_present,
            written_instructions_given=written_instructions_given,
            reason=None,
            at=now,
            recorded_by_id=actor.user_id,
        ),
        Trigger.DISCHARGE,
    )


def admit(
    session: Session, actor: Actor, now: datetime, appointment_id: int, *, reason: str
) -> DischargeRecord:
    """Admission instead of same-day discharge: the exception, always with its reason."""
    appointment, pathway = _in_recovery(session, actor, appointment_id, Trigger.ADMIT)
    return _close_procedure_day(
        session,
        actor,
        now,
        appointment,
        pathway,
        DischargeRecord(
            appointment_id=appointment.id,
            outcome=DischargeOutcome.ADMITTED,
            escort_present=None,
            written_instructions_given=None,
            reason=reason,
            at=now,
            recorded_by_id=actor.user_id,
        ),
        Trigger.ADMIT,
        reason=reason,
    )


def _close_procedure_day(
    session: Session,
    actor: Actor,
    now: datetime,
    appointment: Appointment,
    pathway: Pathway,
    record: DischargeRecord,
    trigger: Trigger,
    reason: str | None = None,
) -> DischargeRecord:
    session.add(record)
    appointment.status = AppointmentStatus.COMPLETED
    appointment.updated_at = now
    session.flush()
    pathways.transition(
        session, pathway, trigger, actor, now, reason=reason, appointment_id=appointment.id
    )
    return record


def record_follow_up_outcome(
    session: Session, actor: Actor, now: datetime, appointment_id: int, **fields: Any
) -> FollowUpOutcome:
    appointment, pathway = _step(
        session,
        actor,
        appointment_id,
        AppointmentKind.FOLLOW_UP,
        PathwayState.FOLLOW_UP_SCHEDULED,
        Trigger.RECORD_FOLLOW_UP_OUTCOME,
    )
    _require_started(appointment, now)
    fields["complications"] = sorted({c.value for c in fields.get("complications", [])})
    outcome = FollowUpOutcome(
        appointment_id=appointment.id, recorded_at=now, recorded_by_id=actor.user_id, **fields
    )
    session.add(outcome)
    appointment.status = AppointmentStatus.COMPLETED
    appointment.updated_at = now
    session.flush()
    pathways.transition(
        session,
        pathway,
        Trigger.RECORD_FOLLOW_UP_OUTCOME,
        actor,
        now,
        appointment_id=appointment.id,
        data={"percent_relief": outcome.percent_relief},
    )
    return outcome
