"""Clinical steps along the pathway, each recorded on its appointment (SPEC §1, §3).

Block result -> eligible / another block / ineligible; procedure day: check-in, start,
finish, recovery scores (modified Aldrete, then Chung's PADSS), discharge or admission;
follow-up outcome -> completed. Each step checks the pathway's state and its policy gate,
writes its record and the transition in one transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from scheduler.access import Actor, require_case_write
from scheduler.clinical.models import (
    BlockResult,
    CheckIn,
    DischargeRecord,
    FollowUpOutcome,
    ProcedureRecord,
    RecoveryScore,
)
from scheduler.clock import local_date
from scheduler.db import saved
from scheduler.errors import IllegalTransition, InvalidInput
from scheduler.hl7v2 import services as hl7
from scheduler.hl7v2.messages import FillerStatus, SiuEvent
from scheduler.pathways import services as pathways
from scheduler.pathways.gates import evaluate_gate, snapshot
from scheduler.pathways.models import Pathway
from scheduler.pathways.states import Trigger, sources
from scheduler.policies import rules
from scheduler.policies.booking_rules import BlockOutcome, BlockReading, block_outcome
from scheduler.policies.evaluation import Evaluation, Gate
from scheduler.policies.parameters import Policy
from scheduler.policies.procedure_day_rules import (
    DISCHARGE_SCORE_RULES,
    CheckInAnswers,
    CheckInSnapshot,
    RecoverySnapshot,
)
from scheduler.policies.services import policy_of
from scheduler.scheduling.booking import get_appointment
from scheduler.scheduling.models import Appointment
from scheduler.vocabulary import (
    AppointmentKind,
    AppointmentStatus,
    Complication,
    DischargeOutcome,
    Method,
    RecoveryScale,
    level_problem,
)


@dataclass(frozen=True)
class _Open:
    """An appointment on which a step may be recorded now, and its locked pathway."""

    appointment: Appointment
    pathway: Pathway

    def advance(
        self,
        session: Session,
        actor: Actor,
        now: datetime,
        trigger: Trigger,
        *,
        reason: str | None = None,
        **data: object,
    ) -> None:
        """Fire ``trigger`` on the pathway, the event naming this appointment."""
        pathways.transition(
            session,
            self.pathway,
            trigger,
            actor,
            now,
            reason=reason,
            appointment_id=self.appointment.id,
            data=data or None,
        )

    def complete(self, session: Session, now: datetime, record: object) -> None:
        """Write the record that ends the visit; the appointment is done (the EHR is told:
        an S14 saying Complete)."""
        session.add(record)
        self.appointment.status = AppointmentStatus.COMPLETED
        self.appointment.updated_at = now
        hl7.report(session, self.appointment, SiuEvent.MODIFIED, now)
        session.flush()


def _step(
    session: Session,
    actor: Actor,
    appointment_id: int,
    kind: AppointmentKind,
    trigger: Trigger,
    *,
    refused_as: str | None = None,
) -> _Open:
    """The appointment and its locked pathway, if ``trigger`` may fire on them now (the
    pathway in the state it fires from, the appointment of ``kind`` and still booked).

    ``refused_as`` names a record that moves no state, for the refusal.
    """
    appointment = get_appointment(session, actor, appointment_id, lock=True)
    require_case_write(actor, appointment.clinician_id)
    pathway = pathways.get_pathway(session, actor, appointment.pathway_id, lock=True)
    if appointment.kind is not kind:
        raise InvalidInput.field(
            "appointment_id", f"This step is recorded on a {kind.value} appointment."
        )
    if appointment.status is not AppointmentStatus.BOOKED or pathway.state not in sources(trigger):
        raise IllegalTransition(pathway.state.value, refused_as or trigger.value)
    return _Open(appointment, pathway)


def _require_started(appointment: Appointment, now: datetime) -> None:
    if now < appointment.start_at:
        raise InvalidInput.field(
            "appointment_id", "This can be recorded only once the appointment has started."
        )


BLOCK: Final = AppointmentKind.DIAGNOSTIC_BLOCK
PROCEDURE: Final = AppointmentKind.PROCEDURE
FOLLOW_UP: Final = AppointmentKind.FOLLOW_UP
# What a block result means for the pathway, as the state machine's trigger.
BLOCK_TRIGGERS: Final = {
    BlockOutcome.POSITIVE: Trigger.BLOCK_POSITIVE,
    BlockOutcome.POSITIVE_MORE_NEEDED: Trigger.BLOCK_POSITIVE_MORE_NEEDED,
    BlockOutcome.NEGATIVE: Trigger.BLOCK_NEGATIVE,
}


def record_block_result(
    session: Session, actor: Actor, now: datetime, appointment_id: int, reading: BlockReading
) -> tuple[BlockResult, BlockOutcome, Pathway]:
    """Record pain before/after; the policy decides eligible, another block, or ineligible."""
    step = _step(session, actor, appointment_id, BLOCK, Trigger.BLOCK_POSITIVE)
    appointment, pathway = step.appointment, step.pathway
    _require_started(appointment, now)
    result = BlockResult(
        appointment_id=appointment.id,
        recorded_at=now,
        recorded_by_id=actor.user_id,
        outcome=BlockOutcome.NEGATIVE,  # until the policy reads it with the others below
        **vars(reading),
    )
    step.complete(session, now, result)
    on = local_date(appointment.start_at, appointment.timezone)
    outcome = block_outcome(policy_of(pathway.policy), snapshot(session, pathway, on))
    result.outcome = outcome
    step.advance(
        session,
        actor,
        now,
        BLOCK_TRIGGERS[outcome],
        relief_percent=reading.relief_percent,
        outcome=outcome.value,
    )
    return result, outcome, pathway


def check_in(
    session: Session, actor: Actor, now: datetime, appointment_id: int, answers: CheckInAnswers
) -> tuple[CheckIn, Evaluation]:
    """Consent, escort, fasting and anticoagulation reviewed against the policy, and the
    procedure still justified: what was recorded since booking (conservative care that
    resolved the pain, say) can undo eligibility, so the booking rules are judged again
    for the procedure's date, and every unmet rule of both is named at once."""
    step = _step(session, actor, appointment_id, PROCEDURE, Trigger.CHECK_IN)
    appointment, pathway = step.appointment, step.pathway
    if local_date(now, appointment.timezone) != local_date(
        appointment.start_at, appointment.timezone
    ):
        raise InvalidInput.field("appointment_id", "Check-in is on the day of the procedure.")
    for name in ("last_clear_fluids_at", "last_light_meal_at", "last_heavy_meal_at"):
        at = getattr(answers, name)
        if at is not None and at > now:
            raise InvalidInput.field(name, "Must not be in the future.")
    snapshot = CheckInSnapshot.of(
        answers,
        region=pathway.region,
        sedation=pathway.sedation,
        procedure_start=appointment.start_at,
    )
    on = local_date(appointment.start_at, appointment.timezone)
    still = evaluate_gate(
        session, pathway, Gate.BOOK_PROCEDURE, [on], appointment.method, exclude=appointment.id
    )[on]
    evaluation = rules.evaluate(policy_of(pathway.policy), Gate.CHECK_IN, snapshot)
    Evaluation(Gate.CHECK_IN, still.unmet + evaluation.results).require()
    record = CheckIn(
        appointment_id=appointment.id,
        checked_in_at=now,
        recorded_by_id=actor.user_id,
        **vars(answers),
    )
    saved(session, record)
    step.advance(session, actor, now, Trigger.CHECK_IN)
    hl7.report(session, appointment, SiuEvent.MODIFIED, now, status=FillerStatus.STARTED)
    return record, evaluation


def start_procedure(
    session: Session, actor: Actor, now: datetime, appointment_id: int, method: Method | None
) -> ProcedureRecord:
    """Start; fasting is judged again at this moment (check-in judged it against the booked
    start, and a procedure may start earlier), and a change of method re-checks coverage
    (laser/mechanical need a signed notice)."""
    step = _step(session, actor, appointment_id, PROCEDURE, Trigger.START_PROCEDURE)
    appointment, pathway = step.appointment, step.pathway
    assert appointment.method is not None  # noqa: S101 (CHECK procedure_method)
    checked_in = session.scalar(select(CheckIn).where(CheckIn.appointment_id == appointment.id))
    if checked_in is None:
        raise IllegalTransition(
            pathway.state.value,
            Trigger.START_PROCEDURE.value,
            detail="This procedure has no check-in.",
        )
    at_start = CheckInSnapshot.of(
        CheckInAnswers.recorded(checked_in),
        region=pathway.region,
        sedation=pathway.sedation,
        procedure_start=now,
    )
    rules.evaluate(policy_of(pathway.policy), Gate.START_NOW, at_start).require()
    used = method or appointment.method
    if used is not appointment.method:
        on = local_date(appointment.start_at, appointment.timezone)
        evaluate_gate(session, pathway, Gate.START_PROCEDURE, [on], used)[on].require()
        appointment.method = used
    record = ProcedureRecord(
        appointment_id=appointment.id,
        method=used,
        levels_treated=None,
        complications=None,
        started_at=now,
        started_by_id=actor.user_id,
    )
    saved(session, record)
    step.advance(session, actor, now, Trigger.START_PROCEDURE, method=used.value)
    return record


def finish_procedure(
    session: Session,
    actor: Actor,
    now: datetime,
    appointment_id: int,
    *,
    levels_treated: list[str],
    complications: Iterable[Complication],
) -> ProcedureRecord:
    step = _step(session, actor, appointment_id, PROCEDURE, Trigger.FINISH_PROCEDURE)
    region = step.pathway.region
    problems = [p for p in (level_problem(level, region) for level in levels_treated) if p]
    if problems:
        raise InvalidInput({"levels_treated": [p + "." for p in problems]})
    record = session.scalar(
        select(ProcedureRecord).where(ProcedureRecord.appointment_id == step.appointment.id)
    )
    assert record is not None  # noqa: S101 (written by start_procedure)
    record.levels_treated = list(levels_treated)
    record.complications = sorted({c.value for c in complications})
    record.finished_at = now
    record.finished_by_id = actor.user_id
    session.flush()
    step.advance(session, actor, now, Trigger.FINISH_PROCEDURE, complications=record.complications)
    return record


@dataclass(frozen=True)
class RecoveryStatus:
    """Where recovery stands by the latest score of each scale, as the gates judge it."""

    phase_one_complete: bool  # the end-of-phase-I gate holds: PADSS may start
    ready_for_discharge: bool  # the discharge gate's score rules hold (latest PADSS and Aldrete)
    discharge_waits_for: tuple[str, ...]  # why not, in the rules' words


def latest_totals(scores: Iterable[RecoveryScore]) -> dict[RecoveryScale, int]:
    """The latest total of each scale, from scores in the order they were recorded."""
    return {score.scale: score.total for score in scores}


def _recovery_snapshot(
    latest: Mapping[RecoveryScale, int],
    *,
    escort_present: bool = False,
    written_instructions_given: bool = False,
) -> RecoverySnapshot:
    return RecoverySnapshot(
        latest_aldrete=latest.get(RecoveryScale.ALDRETE),
        latest_padss=latest.get(RecoveryScale.PADSS),
        escort_present=escort_present,
        written_instructions_given=written_instructions_given,
    )


def recovery_status(policy: Policy, latest: Mapping[RecoveryScale, int]) -> RecoveryStatus:
    """The gates' verdict on the latest scores, so that a later, lower score shows at once
    (the discharge gate's other rules are what the nurse confirms at discharge)."""
    snapshot = _recovery_snapshot(latest)
    scores = [
        result
        for result in rules.evaluate(policy, Gate.DISCHARGE, snapshot).results
        if result.id in DISCHARGE_SCORE_RULES
    ]
    return RecoveryStatus(
        phase_one_complete=rules.evaluate(policy, Gate.END_PHASE_ONE, snapshot).passed,
        ready_for_discharge=all(result.passed for result in scores),
        discharge_waits_for=tuple(result.message for result in scores if not result.passed),
    )


def scores_statement(appointment_id: int) -> Select[RecoveryScore]:
    """A procedure's recovery scores, oldest observation first."""
    return (
        select(RecoveryScore)
        .where(RecoveryScore.appointment_id == appointment_id)
        .order_by(RecoveryScore.observed_at, RecoveryScore.recorded_at, RecoveryScore.id)
    )


def latest_score(
    session: Session, actor: Actor, appointment_id: int, scale: RecoveryScale
) -> RecoveryScore | None:
    """The procedure's latest observed score on ``scale`` (to repeat it), if any."""
    appointment = get_appointment(session, actor, appointment_id)
    latest_first = (
        select(RecoveryScore)
        .where(RecoveryScore.appointment_id == appointment.id, RecoveryScore.scale == scale)
        .order_by(
            RecoveryScore.observed_at.desc(),
            RecoveryScore.recorded_at.desc(),
            RecoveryScore.id.desc(),
        )
    )
    return session.scalars(latest_first.limit(1)).first()


def _latest_scores(session: Session, appointment_id: int) -> dict[RecoveryScale, int]:
    return latest_totals(session.scalars(scores_statement(appointment_id)))


def record_recovery_score(
    session: Session,
    actor: Actor,
    now: datetime,
    appointment_id: int,
    *,
    scale: RecoveryScale,
    items: dict[str, int],
    observed_at: datetime | None = None,
) -> tuple[RecoveryScore, RecoveryStatus]:
    """Score recovery; PADSS starts only once phase I has ended (Aldrete at threshold).

    ``observed_at`` is when the patient was assessed (default: now); a score written up
    after the fact keeps its place among the others, and a time still to come is refused.
    Returns the score and where recovery stands with it.
    """
    if observed_at is not None and observed_at > now:
        raise InvalidInput.field(
            "observed_at",
            "The observation time is in the future: enter the time the patient was "
            "assessed, now or earlier.",
        )
    step = _step(
        session,
        actor,
        appointment_id,
        PROCEDURE,
        Trigger.DISCHARGE,
        refused_as="record_recovery_score",
    )
    appointment, policy = step.appointment, policy_of(step.pathway.policy)
    if scale is RecoveryScale.PADSS:
        latest = _latest_scores(session, appointment.id)
        rules.evaluate(policy, Gate.END_PHASE_ONE, _recovery_snapshot(latest)).require()
    score = RecoveryScore(
        appointment_id=appointment.id,
        scale=scale,
        items=dict(items),
        total=sum(items.values()),
        observed_at=observed_at or now,
        recorded_at=now,
        recorded_by_id=actor.user_id,
    )
    saved(session, score)
    return score, recovery_status(policy, _latest_scores(session, appointment.id))


def discharge(
    session: Session,
    actor: Actor,
    now: datetime,
    appointment_id: int,
    *,
    escort_present: bool,
    written_instructions_given: bool,
) -> DischargeRecord:
    """Same-day discharge when the latest PADSS, the latest Aldrete (still at phase I's
    threshold), the escort and the instructions meet the policy."""
    step = _step(session, actor, appointment_id, PROCEDURE, Trigger.DISCHARGE)
    latest = _latest_scores(session, step.appointment.id)
    rules.evaluate(
        policy_of(step.pathway.policy),
        Gate.DISCHARGE,
        _recovery_snapshot(
            latest,
            escort_present=escort_present,
            written_instructions_given=written_instructions_given,
        ),
    ).require()
    record = _closing(actor, now, step, DischargeOutcome.DISCHARGED)
    record.escort_present = escort_present
    record.written_instructions_given = written_instructions_given
    step.complete(session, now, record)
    step.advance(session, actor, now, Trigger.DISCHARGE)
    return record


def admit(
    session: Session, actor: Actor, now: datetime, appointment_id: int, *, reason: str
) -> DischargeRecord:
    """Admission instead of same-day discharge: the exception, always with its reason."""
    step = _step(session, actor, appointment_id, PROCEDURE, Trigger.ADMIT)
    record = _closing(actor, now, step, DischargeOutcome.ADMITTED)
    record.reason = reason
    step.complete(session, now, record)
    step.advance(session, actor, now, Trigger.ADMIT, reason=reason)
    return record


def _closing(
    actor: Actor, now: datetime, step: _Open, outcome: DischargeOutcome
) -> DischargeRecord:
    """How the procedure day ends: discharged home, or admitted (the exception)."""
    return DischargeRecord(
        appointment_id=step.appointment.id,
        outcome=outcome,
        escort_present=None,
        written_instructions_given=None,
        reason=None,
        at=now,
        recorded_by_id=actor.user_id,
    )


def record_follow_up_outcome(
    session: Session,
    actor: Actor,
    now: datetime,
    appointment_id: int,
    *,
    pain_score: int,
    percent_relief: int,
    physical_therapy_referred: bool,
    odi: int | None = None,
    complications: Iterable[Complication] = (),
) -> FollowUpOutcome:
    """The follow-up visit's outcome (SPEC §1 step 5): the pathway is completed."""
    step = _step(session, actor, appointment_id, FOLLOW_UP, Trigger.RECORD_FOLLOW_UP_OUTCOME)
    _require_started(step.appointment, now)
    outcome = FollowUpOutcome(
        appointment_id=step.appointment.id,
        pain_score=pain_score,
        percent_relief=percent_relief,
        odi=odi,
        complications=sorted({c.value for c in complications}),
        physical_therapy_referred=physical_therapy_referred,
        recorded_at=now,
        recorded_by_id=actor.user_id,
    )
    step.complete(session, now, outcome)
    step.advance(
        session, actor, now, Trigger.RECORD_FOLLOW_UP_OUTCOME, percent_relief=percent_relief
    )
    return outcome
