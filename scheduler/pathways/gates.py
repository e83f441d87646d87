"""The pathway as its policy's rules see it, and the verdict of each gate (SPEC §3).

The rules are pure (``policies/``); this module reads what they look at from the
database: the pathway's blocks with their results, the patient's other block sessions
and neurotomies in the region (with the relief their follow-up recorded), conservative
care and coverage acknowledgments, all frozen into a snapshot.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from functools import cache
from typing import Any, NamedTuple

from sqlalchemy import (
    CompoundSelect,
    Date,
    Integer,
    String,
    bindparam,
    cast,
    literal,
    null,
    select,
    union_all,
)
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


class _Visit(NamedTuple):
    """One of the patient's live blocks and procedures in the pathway's region."""

    pathway_id: int
    kind: AppointmentKind
    start_at: datetime
    timezone: str
    side: Side
    levels: list[str]
    pre_block_pain: int | None
    post_block_pain: int | None


def _sessions(session: Session, pathway: Pathway, rows: Sequence[_Visit]) -> _Sessions:
    """The patient's blocks and neurotomies in the pathway's region.

    This pathway's blocks come with their results; the other pathways give their block
    sessions and their neurotomies, whose relief is the percent relief their follow-up
    recorded (read only when there are such neurotomies).
    """
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


@cache
def _history_statement() -> CompoundSelect[Any]:
    """The history's UNION ALL, built once with bound parameters (building it cost more
    than running it): each branch fills its own columns, typed in the first."""
    text, number, day = String(), Integer(), Date()
    instant = Appointment.__table__.c.start_at.type
    levels = Appointment.__table__.c.levels.type

    def nothing(type_: Any) -> Any:
        return cast(null(), type_)

    visit: tuple[Any, ...] = (
        literal("visit", text).label("tag"),
        cast(Appointment.kind, text).label("kind"),
        nothing(day).label("first_day"),
        nothing(day).label("last_day"),
        cast(Appointment.side, text).label("detail"),
        Appointment.pathway_id.label("pathway_id"),
        Appointment.start_at.label("start_at"),
        Site.timezone.label("timezone"),
        Appointment.levels.label("levels"),
        BlockResult.pre_block_pain.label("pre_pain"),
        BlockResult.post_block_pain.label("post_pain"),
    )
    nothing_of_a_visit = (
        nothing(number),
        nothing(instant),
        nothing(text),
        nothing(levels),
        nothing(number),
        nothing(number),
    )
    treatment: tuple[Any, ...] = (
        literal("treatment", text),
        cast(ConservativeTreatment.kind, text),
        ConservativeTreatment.start_date,
        ConservativeTreatment.end_date,
        cast(ConservativeTreatment.outcome, text),
        *nothing_of_a_visit,
    )
    acknowledgment: tuple[Any, ...] = (
        literal("acknowledgment", text),
        cast(CoverageAcknowledgment.kind, text),
        nothing(day),
        nothing(day),
        nothing(text),
        *nothing_of_a_visit,
    )
    branches = [
        select(*visit)
        .join(Pathway, Pathway.id == Appointment.pathway_id)
        .join(Site, Site.id == Appointment.site_id)
        .outerjoin(BlockResult, BlockResult.appointment_id == Appointment.id)
        .where(
            Appointment.patient_id == bindparam("patient_id"),
            Pathway.region == bindparam("region"),
            Appointment.status.in_(LIVE_STATUSES),
            Appointment.kind.in_((AppointmentKind.DIAGNOSTIC_BLOCK, AppointmentKind.PROCEDURE)),
            Appointment.id != bindparam("exclude"),
        ),
        select(*treatment).where(ConservativeTreatment.pathway_id == bindparam("pathway_id")),
        select(*acknowledgment).where(CoverageAcknowledgment.pathway_id == bindparam("pathway_id")),
    ]
    return union_all(*branches).order_by("tag", "first_day", "start_at")


def _history(
    session: Session, pathway: Pathway, exclude: int | None
) -> tuple[tuple[Treatment, ...], frozenset[AcknowledgmentKind], list[_Visit]]:
    """What the gate reads besides the pathway, in one statement: its conservative
    treatments (by start), its signed coverage acknowledgments, and the patient's live
    blocks and procedures in its region (by start) with their block results: a UNION ALL
    of tagged rows. ``exclude`` leaves one appointment out (the one being moved)."""
    statement = _history_statement()
    parameters = {
        "patient_id": pathway.patient_id,
        "region": pathway.region,
        "exclude": exclude or 0,
        "pathway_id": pathway.id,
    }
    treatments: list[Treatment] = []
    acknowledgments: set[AcknowledgmentKind] = set()
    visits: list[_Visit] = []
    for tag, kind, first, last, detail, *seen in session.execute(statement, parameters):
        if tag == "visit":
            pathway_id, start_at, timezone, levels_seen, pre, post = seen
            visits.append(
                _Visit(
                    pathway_id,
                    AppointmentKind(kind),
                    start_at,
                    timezone,
                    Side(detail),
                    levels_seen,
                    pre,
                    post,
                )
            )
        elif tag == "treatment":
            outcome = None if detail is None else TreatmentOutcome(detail)
            treatments.append(Treatment(TreatmentKind(kind), first, last, outcome))
        else:
            acknowledgments.add(AcknowledgmentKind(kind))
    return tuple(treatments), frozenset(acknowledgments), visits


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
    treatments, acknowledgments, visits = _history(session, pathway, exclude)
    sessions = _sessions(session, pathway, visits)
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
