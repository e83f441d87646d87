"""Pathways: creation, transitions with their events, records, and policy snapshots.

Every state change goes through :func:`transition`, which applies the pure state
machine and writes the event in the caller's transaction, so the state and its
history can never disagree (SPEC §2).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.interfaces import ORMOption

from scheduler.access import Actor, require_case_write
from scheduler.clinicians.models import Clinician
from scheduler.db import referenced
from scheduler.errors import Forbidden, InvalidInput, NotFound
from scheduler.facilities.models import Site
from scheduler.outbox import services as outbox
from scheduler.pathways import policy as rules
from scheduler.pathways.models import (
    BlockResult,
    ConservativeTreatment,
    CoverageAcknowledgment,
    FollowUpOutcome,
    Pathway,
    PathwayEvent,
)
from scheduler.pathways.policy import Evaluation, Gate, PathwaySnapshot
from scheduler.pathways.states import BOOKING_TRIGGERS, PathwayState, Trigger, apply
from scheduler.patients.models import Patient
from scheduler.policies.services import DEFAULT_POLICY, latest_policy, policy_of
from scheduler.scheduling.models import Appointment, release_allocations
from scheduler.vocabulary import (
    AppointmentKind,
    AppointmentStatus,
    Indication,
    Method,
    Region,
    Side,
    TargetNerve,
    level_problem,
)

# Appointments that happened or will happen (cancelled and no-show ones never did).
LIVE_STATUSES = (AppointmentStatus.BOOKED, AppointmentStatus.COMPLETED)


def local_date(at: datetime, zone: str) -> date:
    return at.astimezone(ZoneInfo(zone)).date()


def site_today(session: Session, pathway: Pathway, now: datetime) -> date:
    site = session.get(Site, pathway.site_id)
    assert site is not None  # noqa: S101 (foreign key)
    return local_date(now, site.timezone)


# ---------------------------------------------------------------------------------------
# Loading with access rules


def get_pathway(
    session: Session,
    actor: Actor,
    pathway_id: int,
    *,
    lock: bool = False,
    load: Sequence[ORMOption] = (),
) -> Pathway:
    """The pathway, if ``actor`` may see it; ``lock`` serialises writers on PostgreSQL,
    ``load`` brings related rows in the same query.

    A patient asking for someone else's pathway and for a missing one gets the same
    403, so ids reveal nothing.
    """
    # FOR UPDATE OF the pathway only: the policy row joined in is shared by every pathway
    # under that version, and locking it would queue unrelated bookings behind each other.
    lock_row = {"of": Pathway} if lock else None
    pathway = session.get(Pathway, pathway_id, with_for_update=lock_row, options=load)
    if actor.is_patient and (pathway is None or pathway.patient_id != actor.patient_id):
        raise Forbidden("You can only see your own records.")
    if pathway is None:
        raise NotFound("pathway", pathway_id)
    return pathway


def list_statement(actor: Actor, filters: dict[str, Any]) -> Select[Pathway]:
    statement = select(Pathway).order_by(Pathway.id)
    if actor.is_patient:
        statement = statement.where(Pathway.patient_id == actor.patient_id)
    for name in ("patient_id", "clinician_id", "state"):
        if name in filters:
            statement = statement.where(getattr(Pathway, name) == filters[name])
    return statement


# ---------------------------------------------------------------------------------------
# Transitions


def transition(
    session: Session,
    pathway: Pathway,
    trigger: Trigger,
    actor: Actor,
    now: datetime,
    *,
    reason: str | None = None,
    data: dict[str, Any] | None = None,
    appointment_id: int | None = None,
    previous: PathwayState | None = None,
) -> PathwayEvent:
    """Fire ``trigger``: move the pathway and append its event (raises when illegal)."""
    target = apply(pathway.state, trigger, previous=previous)
    event = PathwayEvent(
        pathway_id=pathway.id,
        from_state=pathway.state,
        to_state=target,
        trigger=trigger,
        actor_id=actor.user_id,
        at=now,
        reason=reason,
        data=data or {},
        appointment_id=appointment_id,
    )
    pathway.state = target
    pathway.updated_at = now
    session.add(event)
    session.flush()
    return event


def state_before_booking(session: Session, appointment: Appointment) -> PathwayState:
    """The pathway's state before ``appointment`` was booked (where cancel returns to)."""
    before = session.scalar(
        select(PathwayEvent.from_state)
        .where(
            PathwayEvent.appointment_id == appointment.id,
            PathwayEvent.trigger.in_(BOOKING_TRIGGERS),
        )
        .order_by(PathwayEvent.id)
        .limit(1)
    )
    if before is None:
        raise InvalidInput.field("appointment_id", "This appointment has no booking event.")
    return before


def events_statement(pathway: Pathway) -> Select[PathwayEvent]:
    return (
        select(PathwayEvent).where(PathwayEvent.pathway_id == pathway.id).order_by(PathwayEvent.id)
    )


# ---------------------------------------------------------------------------------------
# Creation and records


def create_pathway(
    session: Session,
    actor: Actor,
    now: datetime,
    *,
    patient_id: int,
    clinician_id: int,
    site_id: int,
    indication: Indication,
    region: Region,
    side: Side,
    levels: list[str],
    pain_onset_date: date,
    policy: str | None = None,
    method: Method = Method.RFA,
    target_nerve: TargetNerve | None = None,
    sedation: bool = True,
) -> Pathway:
    """A referral: the pathway starts in ``referred`` under the policy's latest version."""
    referenced(session, Patient, patient_id, "patient_id")
    referenced(session, Clinician, clinician_id, "clinician_id")
    site = referenced(session, Site, site_id, "site_id")
    record = latest_policy(session, policy or DEFAULT_POLICY)
    parameters = policy_of(record).parameters

    errors: dict[str, list[str]] = {}
    level_errors = [p for p in (level_problem(level, region) for level in levels) if p]
    if level_errors:
        errors["levels"] = [problem + "." for problem in level_errors]
    elif len(set(levels)) != len(levels):
        errors["levels"] = ["List each level once."]
    target = parameters.indications.get(indication)
    if target is None:
        errors["indication"] = [f"The {record.name} policy does not cover this indication."]
    elif region not in target.regions:
        allowed = ", ".join(sorted(r.value for r in target.regions))
        errors["region"] = [f"For {indication.value} the region must be one of: {allowed}."]
    if pain_onset_date > local_date(now, site.timezone):
        errors["pain_onset_date"] = ["Must not be in the future."]
    if errors:
        raise InvalidInput(errors)
    assert target is not None  # noqa: S101 (checked above)

    pathway = Pathway(
        patient_id=patient_id,
        clinician_id=clinician_id,
        site_id=site_id,
        policy_id=record.id,
        indication=indication,
        region=region,
        side=side,
        levels=list(levels),
        target_nerve=target_nerve or target.target_nerve,
        method=method,
        sedation=sedation,
        pain_onset_date=pain_onset_date,
        state=PathwayState.REFERRED,
        created_at=now,
        updated_at=now,
    )
    session.add(pathway)
    session.flush()
    session.add(
        PathwayEvent(
            pathway_id=pathway.id,
            from_state=None,
            to_state=PathwayState.REFERRED,
            trigger=Trigger.CREATE,
            actor_id=actor.user_id,
            at=now,
            reason=None,
            data={"policy": record.name, "policy_version": record.version},
            appointment_id=None,
        )
    )
    session.flush()
    return pathway


def require_open(pathway: Pathway) -> None:
    if pathway.state in (PathwayState.COMPLETED, PathwayState.CANCELLED):
        raise InvalidInput.field("pathway_id", f"The pathway is {pathway.state.value}.")


def add_conservative_treatment(
    session: Session, actor: Actor, now: datetime, pathway: Pathway, **fields: Any
) -> ConservativeTreatment:
    require_case_write(actor, pathway.clinician_id)
    require_open(pathway)
    today = site_today(session, pathway, now)
    errors: dict[str, list[str]] = {}
    if fields["start_date"] > today:
        errors["start_date"] = ["Must not be in the future."]
    if fields.get("end_date") and fields["end_date"] > today:
        errors["end_date"] = ["Must not be in the future."]
    if errors:
        raise InvalidInput(errors)
    treatment = ConservativeTreatment(
        pathway_id=pathway.id, recorded_at=now, recorded_by_id=actor.user_id, **fields
    )
    session.add(treatment)
    session.flush()
    return treatment


def add_coverage_acknowledgment(
    session: Session, actor: Actor, now: datetime, pathway: Pathway, **fields: Any
) -> CoverageAcknowledgment:
    require_open(pathway)
    if fields["signed_on"] > site_today(session, pathway, now):
        raise InvalidInput.field("signed_on", "Must not be in the future.")
    acknowledgment = CoverageAcknowledgment(
        pathway_id=pathway.id, recorded_at=now, recorded_by_id=actor.user_id, **fields
    )
    session.add(acknowledgment)
    session.flush()
    return acknowledgment


def cancel_pathway(
    session: Session, actor: Actor, now: datetime, pathway: Pathway, reason: str
) -> Pathway:
    """Cancel the pathway and every appointment still booked on it (SPEC §2)."""
    open_appointments = list(
        session.scalars(
            select(Appointment).where(
                Appointment.pathway_id == pathway.id,
                Appointment.status == AppointmentStatus.BOOKED,
            )
        )
    )
    transition(
        session,
        pathway,
        Trigger.CANCEL_PATHWAY,
        actor,
        now,
        reason=reason,
        data={"cancelled_appointments": [a.id for a in open_appointments]},
    )
    for appointment in open_appointments:
        appointment.status = AppointmentStatus.CANCELLED
        appointment.cancel_reason = reason
        appointment.version += 1
        appointment.updated_at = now
        outbox.announce_released(session, appointment, now)
    if open_appointments:
        session.execute(release_allocations(a.id for a in open_appointments))
    session.flush()
    return pathway


# ---------------------------------------------------------------------------------------
# Policy snapshots


@dataclass(frozen=True)
class _Sessions:
    blocks: tuple[rules.Block, ...]
    other_blocks: tuple[date, ...]
    other_neurotomies: tuple[rules.Neurotomy, ...]


def _sessions(session: Session, pathway: Pathway, exclude: int | None) -> _Sessions:
    """The patient's blocks and neurotomies in the pathway's region, in one read.

    This pathway's blocks come with their results; the other pathways give their block
    sessions and their neurotomies, whose relief is the percent relief their follow-up
    recorded. ``exclude`` leaves one appointment out (the one being moved).
    """
    rows = session.execute(
        select(
            Appointment.pathway_id,
            Appointment.kind,
            Appointment.start_at,
            Site.timezone,
            Appointment.side,
            Appointment.levels,
            BlockResult.pre_block_pain,
            BlockResult.post_block_pain,
        )
        .join(Pathway, Pathway.id == Appointment.pathway_id)
        .join(Site, Site.id == Appointment.site_id)
        .outerjoin(BlockResult, BlockResult.appointment_id == Appointment.id)
        .where(
            Appointment.patient_id == pathway.patient_id,
            Pathway.region == pathway.region,
            Appointment.status.in_(LIVE_STATUSES),
            Appointment.kind.in_((AppointmentKind.DIAGNOSTIC_BLOCK, AppointmentKind.PROCEDURE)),
            Appointment.id != (exclude or 0),
        )
        .order_by(Appointment.start_at)
    ).all()
    procedure_pathways = {
        row.pathway_id
        for row in rows
        if row.kind is AppointmentKind.PROCEDURE and row.pathway_id != pathway.id
    }
    relief_by_pathway: dict[int, int] = (
        dict(
            session.execute(
                select(Appointment.pathway_id, FollowUpOutcome.percent_relief)
                .join(FollowUpOutcome, FollowUpOutcome.appointment_id == Appointment.id)
                .where(Appointment.pathway_id.in_(procedure_pathways))
            ).all()
        )
        if procedure_pathways
        else {}
    )
    blocks: list[rules.Block] = []
    other_blocks: list[date] = []
    neurotomies: list[rules.Neurotomy] = []
    for row in rows:
        on = local_date(row.start_at, row.timezone)
        if row.pathway_id == pathway.id:
            if row.kind is AppointmentKind.DIAGNOSTIC_BLOCK:
                relief = (
                    rules.relief_percent(row.pre_block_pain, row.post_block_pain)
                    if row.pre_block_pain is not None
                    else None
                )
                blocks.append(
                    rules.Block(
                        on=on, side=row.side, levels=tuple(row.levels), relief_percent=relief
                    )
                )
        elif row.kind is AppointmentKind.DIAGNOSTIC_BLOCK:
            other_blocks.append(on)
        else:
            percent = relief_by_pathway.get(row.pathway_id)
            neurotomies.append(
                rules.Neurotomy(
                    on=on,
                    region=pathway.region,
                    side=row.side,
                    relief_percent=None if percent is None else float(percent),
                )
            )
    return _Sessions(tuple(blocks), tuple(other_blocks), tuple(neurotomies))


def snapshot(
    session: Session,
    pathway: Pathway,
    on: date,
    method: Method | None = None,
    *,
    exclude: int | None = None,
) -> PathwaySnapshot:
    """The pathway as its policy's rules see it, for a step on site-local date ``on``.

    ``exclude`` leaves one appointment out (the one being moved).
    """
    treatments = session.scalars(
        select(ConservativeTreatment)
        .where(ConservativeTreatment.pathway_id == pathway.id)
        .order_by(ConservativeTreatment.start_date)
    )
    acknowledgments = session.scalars(
        select(CoverageAcknowledgment.kind).where(CoverageAcknowledgment.pathway_id == pathway.id)
    )
    sessions = _sessions(session, pathway, exclude)
    return PathwaySnapshot(
        on=on,
        indication=pathway.indication,
        region=pathway.region,
        side=pathway.side,
        levels=tuple(pathway.levels),
        target_nerve=pathway.target_nerve,
        method=method or pathway.method,
        pain_onset=pathway.pain_onset_date,
        treatments=tuple(
            rules.Treatment(t.kind, t.start_date, t.end_date, t.outcome) for t in treatments
        ),
        blocks=sessions.blocks,
        other_block_sessions=sessions.other_blocks,
        other_neurotomies=sessions.other_neurotomies,
        acknowledgments=frozenset(acknowledgments),
    )


def evaluate_gate(
    session: Session,
    pathway: Pathway,
    gate: Gate,
    on: date,
    method: Method | None = None,
    *,
    exclude: int | None = None,
) -> Evaluation:
    """Run ``gate``'s rules; for a block booking the new block is part of the picture."""
    return evaluate_gate_on_days(session, pathway, gate, [on], method, exclude=exclude)[on]


def evaluate_gate_on_days(
    session: Session,
    pathway: Pathway,
    gate: Gate,
    days: Sequence[date],
    method: Method | None = None,
    *,
    exclude: int | None = None,
) -> dict[date, Evaluation]:
    """``gate``'s rules for each candidate site-local day, from one load of the pathway."""
    base = snapshot(session, pathway, days[0], method, exclude=exclude)
    policy = policy_of(pathway.policy)
    evaluations = {}
    for day in days:
        current = replace(base, on=day)
        if gate is Gate.BOOK_BLOCK:
            new_block = rules.Block(on=day, side=pathway.side, levels=tuple(pathway.levels))
            current = replace(
                current,
                blocks=(*current.blocks, new_block),
                other_block_sessions=tuple(
                    sorted((*current.other_block_sessions, *(b.on for b in current.blocks)))
                ),
            )
        evaluations[day] = rules.evaluate_pathway(policy, gate, current)
    return evaluations


def eligibility(
    session: Session, pathway: Pathway, on: date, method: Method | None = None
) -> Evaluation:
    """Every rule for booking the procedure on ``on`` with ``method`` (SPEC §3)."""
    return evaluate_gate(session, pathway, Gate.BOOK_PROCEDURE, on, method)


def pathways_by_id(session: Session, ids: Iterable[int]) -> dict[int, Pathway]:
    return {p.id: p for p in session.scalars(select(Pathway).where(Pathway.id.in_(set(ids))))}
