"""The pathway funnel and the time to treatment: how referrals flow to the procedure."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any, Final

from sqlalchemy import Integer, Select, case, func, literal, select
from sqlalchemy.orm import Session, aliased

from scheduler.clinical.models import ProcedureRecord
from scheduler.clinical.services import BLOCK_TRIGGERS
from scheduler.db import minutes_between
from scheduler.facilities.models import Site
from scheduler.pathways.models import Pathway, PathwayEvent
from scheduler.pathways.states import PathwayState, Trigger
from scheduler.reports.figures import Bucket, Period, bucket_counts, percentile
from scheduler.reports.reading import Built, appointments_at, by_reason, in_period
from scheduler.reports.tables import Chart, Column, Figure, Kind, Table, rate
from scheduler.scheduling.models import Appointment
from scheduler.vocabulary import AppointmentKind, AppointmentStatus

STAGES: Final = (
    ("referred", "Referred"),
    ("blocked", "First block result"),
    ("eligible", "Eligible"),
    ("procedure", "Procedure"),
    ("discharged", "Discharged same day"),
    ("completed", "Completed"),
)
# A negative block is what makes a pathway ineligible: its policy's block rule failed.
INELIGIBLE_RULE: Final = "diagnostic_blocks"


def _ever(condition: Any, name: str) -> Any:
    return func.max(case((condition, 1), else_=0)).label(name)


# The triggers of a block result (the funnel's first stage).
BLOCK_RESULTS: Final = tuple(BLOCK_TRIGGERS.values())
# The events that say how far a pathway got (a first positive block is what makes it
# eligible); only these are read, so a year's cohort reads a fraction of its history.
MILESTONES: Final = (
    *BLOCK_RESULTS,
    Trigger.START_PROCEDURE,
    Trigger.DISCHARGE,
    Trigger.ADMIT,
    Trigger.RECORD_FOLLOW_UP_OUTCOME,
    Trigger.CANCEL_PATHWAY,
)


def _funnel_statement(site: Site, period: Period) -> Select[Any]:
    event = PathwayEvent
    trigger = event.trigger
    reached = (
        select(
            Pathway.state,
            _ever(trigger.in_(BLOCK_RESULTS), "blocked"),
            _ever(trigger == Trigger.BLOCK_POSITIVE, "eligible"),
            _ever(trigger == Trigger.START_PROCEDURE, "procedure"),
            _ever(trigger == Trigger.DISCHARGE, "discharged"),
            _ever(trigger == Trigger.RECORD_FOLLOW_UP_OUTCOME, "completed"),
            func.max(case((trigger == Trigger.CANCEL_PATHWAY, event.reason))).label("cancelled"),
            func.max(case((trigger == Trigger.ADMIT, event.reason))).label("admitted"),
        )
        .outerjoin(event, (event.pathway_id == Pathway.id) & trigger.in_(MILESTONES))
        .where(Pathway.site_id == site.id, in_period(Pathway.created_at, period))
        .group_by(Pathway.id, Pathway.state)
        .subquery()
    )
    shape = [reached.c[name] for name in reached.c.keys()]  # noqa: SIM118 (a column list)
    return select(*shape, func.count()).group_by(*shape)


def funnel(session: Session, site: Site, period: Period) -> Built:
    reached = [0] * len(STAGES)
    drop_outs: dict[tuple[int, str], Counter[str]] = defaultdict(Counter)
    for state, *flags, cancelled, admitted, count in session.execute(
        _funnel_statement(site, period)
    ):
        stage = 0
        while stage + 1 < len(STAGES) and flags[stage]:
            stage += 1
        for n in range(stage + 1):
            reached[n] += count
        if stage == len(STAGES) - 1:
            continue
        if state is PathwayState.CANCELLED:
            drop_outs[stage, "cancelled"][cancelled] += count
        elif state is PathwayState.INELIGIBLE:
            drop_outs[stage, "ineligible"][INELIGIBLE_RULE] += count
        elif admitted is not None:
            drop_outs[stage, "admitted"][admitted] += count
        else:
            drop_outs[stage, "still open"][state.value] += count
    stages = Table(
        "stages",
        "Pathways by the furthest stage reached in order",
        (
            Column("stage", "Stage", Kind.TEXT),
            Column("pathways", "Pathways", Kind.COUNT),
            Column("conversion", "From the stage before", Kind.RATE),
            Column("of_referred", "Of referred", Kind.RATE),
        ),
        tuple(
            (
                title,
                reached[n],
                rate(reached[n], reached[n - 1]) if n else None,
                rate(reached[n], reached[0]),
            )
            for n, (_name, title) in enumerate(STAGES)
        ),
        Chart("bars", "stage", ("pathways",)),
    )
    leaving = Table(
        "drop_outs",
        "Where and why pathways stopped",
        (
            Column("after_stage", "After stage", Kind.TEXT),
            Column("cause", "Cause", Kind.TEXT),
            Column("detail", "Rule, reason or state", Kind.TEXT),
            Column("pathways", "Pathways", Kind.COUNT),
        ),
        tuple(
            (STAGES[stage][1], cause, detail, count)
            for (stage, cause), reasons in sorted(drop_outs.items())
            for detail, count in by_reason(reasons)
        ),
        note="Still open: not dropped out, waiting at the state shown.",
    )
    figures = [
        Figure("referred", "Pathways referred", Kind.COUNT, reached[0]),
        Figure("procedures", "Went on to the procedure", Kind.COUNT, reached[3]),
        Figure("completed", "Completed", Kind.COUNT, reached[-1]),
        Figure(
            "referred_to_procedure",
            "Referred to procedure",
            Kind.RATE,
            rate(reached[3], reached[0]),
        ),
    ]
    return (
        "The pathways referred in the range and how far each got, stage after stage.",
        figures,
        [stages, leaving],
    )


WAITS: Final = (
    Bucket("under 30 days", 0, 30),
    Bucket("30-59 days", 30, 60),
    Bucket("60-89 days", 60, 90),
    Bucket("90-179 days", 90, 180),
    Bucket("180-364 days", 180, 365),
    Bucket("365 days or more", 365, None),
)


def _month_of(at: Any, period: Period) -> Any:
    """The index of the period's month ``at`` falls in (0: the first)."""
    edges = period.month_starts()
    if not edges:
        return literal(0, Integer)
    return case(*((at < edge, n) for n, edge in enumerate(edges)), else_=len(edges))


def _waits_statement(site: Site, period: Period) -> Select[Any]:
    block = aliased(Appointment)
    eligible_block = (
        select(func.max(block.start_at))
        .where(
            block.pathway_id == Appointment.pathway_id,
            block.kind == AppointmentKind.DIAGNOSTIC_BLOCK,
            block.status == AppointmentStatus.COMPLETED,
            block.start_at < Appointment.start_at,
        )
        .scalar_subquery()
    )
    return (
        select(
            _month_of(Appointment.start_at, period),
            minutes_between(Pathway.created_at, Appointment.start_at),
            minutes_between(eligible_block, Appointment.start_at),
        )
        .join(ProcedureRecord, ProcedureRecord.appointment_id == Appointment.id)
        .join(Pathway, Pathway.id == Appointment.pathway_id)
        .where(appointments_at(site, period), Appointment.kind == AppointmentKind.PROCEDURE)
    )


def time_to_treatment(session: Session, site: Site, period: Period) -> Built:
    months = period.months()
    referral: list[list[float]] = [[] for _ in months]
    from_block: list[list[float]] = [[] for _ in months]
    for month, since_referral, since_block in session.execute(_waits_statement(site, period)):
        referral[month].append(since_referral / 1440)
        if since_block is not None:
            from_block[month].append(since_block / 1440)
    every_referral = [value for month in referral for value in month]
    every_block = [value for month in from_block for value in month]

    def rounded(values: Sequence[float], fraction: float) -> float | None:
        value = percentile(values, fraction)
        return None if value is None else round(value, 1)

    by_month = Table(
        "months",
        "Days to the procedure, by month",
        (
            Column("month", "Month", Kind.TEXT),
            Column("procedures", "Procedures", Kind.COUNT),
            Column("referral_median", "From referral, median", Kind.DAYS),
            Column("referral_p90", "From referral, 90th percentile", Kind.DAYS),
            Column("block_median", "From eligible block, median", Kind.DAYS),
            Column("block_p90", "From eligible block, 90th percentile", Kind.DAYS),
        ),
        tuple(
            (
                month.strftime("%Y-%m"),
                len(referral[n]),
                rounded(referral[n], 0.5),
                rounded(referral[n], 0.9),
                rounded(from_block[n], 0.5),
                rounded(from_block[n], 0.9),
            )
            for n, month in enumerate(months)
        ),
        Chart("line", "month", ("referral_median", "referral_p90", "block_median")),
    )
    spread = Table(
        "spread",
        "How long patients waited",
        (
            Column("wait", "Wait", Kind.TEXT),
            Column("from_referral", "From referral", Kind.COUNT),
            Column("from_block", "From eligible block", Kind.COUNT),
        ),
        tuple(
            zip(
                (bucket.title for bucket in WAITS),
                bucket_counts(every_referral, WAITS),
                bucket_counts(every_block, WAITS),
                strict=True,
            )
        ),
        Chart("bars", "wait", ("from_referral", "from_block")),
    )
    figures = [
        Figure("procedures", "Procedures performed", Kind.COUNT, len(every_referral)),
        Figure(
            "referral_median",
            "Referral to procedure, median days",
            Kind.DAYS,
            rounded(every_referral, 0.5),
        ),
        Figure(
            "referral_p90",
            "Referral to procedure, 90th percentile",
            Kind.DAYS,
            rounded(every_referral, 0.9),
        ),
        Figure(
            "block_median",
            "Eligible block to procedure, median days",
            Kind.DAYS,
            rounded(every_block, 0.5),
        ),
        Figure(
            "block_p90",
            "Eligible block to procedure, 90th percentile",
            Kind.DAYS,
            rounded(every_block, 0.9),
        ),
    ]
    return (
        "Procedures performed in the range (by booked start): elapsed days from the "
        "referral, and from the last completed diagnostic block before it.",
        figures,
        [by_month, spread],
    )
