"""The pathway as its policy's rules see it, and the verdict of each gate (SPEC §3).

The rules are pure (``policies/``); this module reads what they look at from the
database: the pathway's blocks with their results, the patient's other block sessions
and neurotomies in the region (with the relief their follow-up recorded), conservative
care and coverage acknowledgments, all frozen into a snapshot.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from sqlalchemy import Date, String, cast, literal, null, select, union_all
from sqlalchemy.orm import Session

from scheduler.clinical.models import BlockResult, FollowUpOutcome
from scheduler.clock import local_date
from scheduler.errors import InvalidInput
from scheduler.facilities.models import Site
from scheduler.pathways.models import ConservativeTreatment, CoverageAcknowledgment, Pathway
from scheduler.policies import rules
from scheduler.policies.booking_rules import (
    Block,
    Neurotomy,
    PathwaySnapshot,
    Treatment,
    relief_percent,
)
from scheduler.policies.evaluation import Evaluation, Gate
from scheduler.policies.procedure_day_rules import FollowUpSnapshot
from scheduler.policies.services import policy_of
from scheduler.scheduling.models import Appointment
from scheduler.vocabulary import (
    AcknowledgmentKind,
    AppointmentKind,
    AppointmentStatus,
    Method,
    Side,
    TreatmentKind,
    TreatmentOutcome,
)

# Appointments that happened or will happen (cancelled and no-show ones never did).
LIVE_STATUSES = (AppointmentStatus.BOOKED, AppointmentStatus.COMPLETED)


@dataclass(frozen=True)
class _Sessions:
    blocks: tuple[Block, ...]
    other_blocks: tuple[date, ...]
    other_neurotomies: tuple[Neurotomy, ...]


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
    relief_by_pathway = _follow_up_relief(
        session,
        {
            row.pathway_id
            for row in rows
            if row.kind is AppointmentKind.PROCEDURE and row.pathway_id != pathway.id
        },
    )
    blocks: list[Block] = []
    other_blocks: list[date] = []
    neurotomies: list[Neurotomy] = []
    for row in rows:
        on = local_date(row.start_at, row.timezone)
        if row.pathway_id == pathway.id:
            if row.kind is AppointmentKind.DIAGNOSTIC_BLOCK:
                blocks.append(
                    _block(on, row.side, row.levels, row.pre_block_pain, row.post_block_pain)
                )
        elif row.kind is AppointmentKind.DIAGNOSTIC_BLOCK:
            other_blocks.append(on)
        else:
            percent = relief_by_pathway.get(row.pathway_id)
            neurotomies.append(
                Neurotomy(
                    on=on,
                    region=pathway.region,
                    side=row.side,
                    relief_percent=None if percent is None else float(percent),
                )
            )
    return _Sessions(tuple(blocks), tuple(other_blocks), tuple(neurotomies))


def _block(
    on: date, side: Side, levels: list[str], pre_pain: int | None, post_pain: int | None
) -> Block:
    """One of this pathway's blocks, with its relief once its result is recorded."""
    relief = (
        relief_percent(pre_pain, post_pain)
        if pre_pain is not None and post_pain is not None
        else None
    )
    return Block(on=on, side=side, levels=tuple(levels), relief_percent=relief)


def _follow_up_relief(session: Session, pathway_ids: set[int]) -> dict[int, int]:
    """The percent relief each pathway's follow-up recorded (its neurotomy's outcome)."""
    if not pathway_ids:
        return {}
    return dict(
        session.execute(
            select(Appointment.pathway_id, FollowUpOutcome.percent_relief)
            .join(FollowUpOutcome, FollowUpOutcome.appointment_id == Appointment.id)
            .where(Appointment.pathway_id.in_(pathway_ids))
        ).all()
    )


def _care_and_coverage(
    session: Session, pathway_id: int
) -> tuple[tuple[Treatment, ...], frozenset[AcknowledgmentKind]]:
    """The pathway's conservative treatments (by start) and signed acknowledgments, in
    one read: a UNION ALL of tagged rows (an acknowledgment has only its kind)."""
    text = String()
    treatment: tuple[Any, ...] = (
        literal("treatment", text).label("tag"),
        cast(ConservativeTreatment.kind, text).label("kind"),
        ConservativeTreatment.start_date.label("start"),
        ConservativeTreatment.end_date.label("end"),
        cast(ConservativeTreatment.outcome, text).label("outcome"),
    )
    acknowledgment: tuple[Any, ...] = (
        literal("acknowledgment", text),
        cast(CoverageAcknowledgment.kind, text),
        cast(null(), Date),
        cast(null(), Date),
        cast(null(), text),
    )
    branches = [
        select(*treatment).where(ConservativeTreatment.pathway_id == pathway_id),
        select(*acknowledgment).where(CoverageAcknowledgment.pathway_id == pathway_id),
    ]
    statement = union_all(*branches).order_by("tag", "start")
    treatments: list[Treatment] = []
    acknowledgments: set[AcknowledgmentKind] = set()
    for tag, kind, start, end, outcome in session.execute(statement):
        if tag == "treatment":
            treatments.append(
                Treatment(
                    TreatmentKind(kind),
                    start,
                    end,
                    None if outcome is None else TreatmentOutcome(outcome),
                )
            )
        else:
            acknowledgments.add(AcknowledgmentKind(kind))
    return tuple(treatments), frozenset(acknowledgments)


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
    treatments, acknowledgments = _care_and_coverage(session, pathway.id)
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
        treatments=treatments,
        blocks=sessions.blocks,
        other_block_sessions=sessions.other_blocks,
        other_neurotomies=sessions.other_neurotomies,
        acknowledgments=frozenset(acknowledgments),
    )


def evaluate_gate(
    session: Session,
    pathway: Pathway,
    gate: Gate,
    days: Sequence[date],
    method: Method | None = None,
    *,
    exclude: int | None = None,
) -> dict[date, Evaluation]:
    """``gate``'s rules for each candidate site-local day, from one load of the pathway;
    for a block booking the new block is part of the picture."""
    base = snapshot(session, pathway, days[0], method, exclude=exclude)
    policy = policy_of(pathway.policy)
    evaluations = {}
    for day in days:
        current = replace(base, on=day)
        if gate is Gate.BOOK_BLOCK:
            new_block = Block(on=day, side=pathway.side, levels=tuple(pathway.levels))
            current = replace(
                current,
                blocks=(*current.blocks, new_block),
                other_block_sessions=tuple(
                    sorted((*current.other_block_sessions, *(b.on for b in current.blocks)))
                ),
            )
        evaluations[day] = rules.evaluate(policy, gate, current)
    return evaluations


def eligibility(
    session: Session, pathway: Pathway, on: date, method: Method | None = None
) -> Evaluation:
    """Every rule for booking the procedure on ``on`` with ``method`` (SPEC §3)."""
    return evaluate_gate(session, pathway, Gate.BOOK_PROCEDURE, [on], method)[on]


def booking_verdicts(
    session: Session,
    pathway: Pathway,
    kind: AppointmentKind,
    days: Sequence[date],
    method: Method | None,
    *,
    ignore: int | None = None,
) -> dict[date, Evaluation]:
    """The policy's verdict on booking ``kind`` on each site-local day.

    ``ignore`` is the appointment being moved: it is judged as if it were not booked.
    A follow-up's window counts from the pathway's completed procedure.
    """
    if kind is AppointmentKind.DIAGNOSTIC_BLOCK:
        return evaluate_gate(session, pathway, Gate.BOOK_BLOCK, days, exclude=ignore)
    if kind is AppointmentKind.PROCEDURE:
        return evaluate_gate(session, pathway, Gate.BOOK_PROCEDURE, days, method, exclude=ignore)
    procedure = session.scalar(
        select(Appointment)
        .where(
            Appointment.pathway_id == pathway.id,
            Appointment.kind == AppointmentKind.PROCEDURE,
            Appointment.status == AppointmentStatus.COMPLETED,
        )
        .order_by(Appointment.start_at.desc())
        .limit(1)
    )
    if procedure is None:
        raise InvalidInput.field("kind", "The pathway has no completed procedure.")
    policy = policy_of(pathway.policy)
    procedure_on = local_date(procedure.start_at, procedure.timezone)
    return {
        day: rules.evaluate(
            policy,
            Gate.BOOK_FOLLOW_UP,
            FollowUpSnapshot(procedure_on=procedure_on, follow_up_on=day),
        )
        for day in days
    }
