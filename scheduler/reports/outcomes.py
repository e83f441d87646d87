"""Clinical outcomes: blocks by policy, discharges, complications, follow-up relief."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any, Final

from sqlalchemy import Integer, Select, String, func, literal, select, union_all
from sqlalchemy.orm import Session

from scheduler.clinical.models import BlockResult, DischargeRecord, FollowUpOutcome, ProcedureRecord
from scheduler.facilities.models import Site
from scheduler.pathways.models import Pathway
from scheduler.policies.booking_rules import BlockOutcome
from scheduler.policies.models import PolicyRecord
from scheduler.reports.figures import Bucket, Period
from scheduler.reports.reading import Built, appointments_at, by_reason, tidy
from scheduler.reports.tables import Chart, Column, Figure, Kind, Table, rate
from scheduler.scheduling.models import Appointment
from scheduler.vocabulary import DischargeOutcome

RELIEF: Final = tuple(
    Bucket(f"{low}-{low + 9}%" if low < 90 else "90-100%", low, low + 10 if low < 90 else None)
    for low in range(0, 100, 10)
)


def _blocks_statement(site: Site, period: Period) -> Select[str, int, BlockOutcome, int]:
    return (
        select(PolicyRecord.name, PolicyRecord.version, BlockResult.outcome, func.count())
        .select_from(BlockResult)
        .join(Appointment, Appointment.id == BlockResult.appointment_id)
        .join(Pathway, Pathway.id == Appointment.pathway_id)
        .join(PolicyRecord, PolicyRecord.id == Pathway.policy_id)
        .where(appointments_at(site, period))
        .group_by(PolicyRecord.name, PolicyRecord.version, BlockResult.outcome)
        .order_by(PolicyRecord.name, PolicyRecord.version)
    )


def _discharges_statement(site: Site, period: Period) -> Select[DischargeOutcome, str | None, int]:
    return (
        select(DischargeRecord.outcome, DischargeRecord.reason, func.count())
        .join(Appointment, Appointment.id == DischargeRecord.appointment_id)
        .where(appointments_at(site, period))
        .group_by(DischargeRecord.outcome, DischargeRecord.reason)
    )


def _records_statement(site: Site, period: Period) -> Any:
    """Procedure records and follow-up outcomes on the site's appointments in the period,
    counted by their list of complications (and a follow-up's tenth of relief, 0-9 with
    100% as 10): one pass over each table, a handful of rows back."""
    tenth = FollowUpOutcome.percent_relief // 10
    on_the_day = (
        select(
            literal("procedure", String),
            literal(None, Integer),
            ProcedureRecord.complications,
            func.count(),
        )
        .select_from(ProcedureRecord)
        .join(Appointment, Appointment.id == ProcedureRecord.appointment_id)
        .where(appointments_at(site, period))
        .group_by(ProcedureRecord.complications)
    )
    at_follow_up = (
        select(literal("follow_up", String), tenth, FollowUpOutcome.complications, func.count())
        .select_from(FollowUpOutcome)
        .join(Appointment, Appointment.id == FollowUpOutcome.appointment_id)
        .where(appointments_at(site, period))
        .group_by(tenth, FollowUpOutcome.complications)
    )
    return union_all(on_the_day, at_follow_up)


def outcomes(session: Session, site: Site, period: Period) -> Built:
    by_policy: dict[str, Counter[BlockOutcome]] = defaultdict(Counter)
    for name, version, verdict, count in session.execute(_blocks_statement(site, period)):
        by_policy[f"{name} v{version}"][verdict] += count
    discharged = 0
    admissions: Counter[str] = Counter()
    for outcome, reason, count in session.execute(_discharges_statement(site, period)):
        if outcome is DischargeOutcome.DISCHARGED:
            discharged += count
        else:
            admissions[tidy(reason)] += count
    complications: dict[str, Counter[str]] = {"procedure": Counter(), "follow_up": Counter()}
    procedures = 0
    relief = [0] * len(RELIEF)
    for source, tenth, codes, count in session.execute(_records_statement(site, period)):
        for code in codes or ():
            complications[source][code] += count
        if source == "procedure":
            procedures += count
        else:
            relief[min(int(tenth), len(RELIEF) - 1)] += count
    follow_ups = sum(relief)

    def positive(counts: Counter[BlockOutcome]) -> int:
        return counts[BlockOutcome.POSITIVE] + counts[BlockOutcome.POSITIVE_MORE_NEEDED]

    blocks = Table(
        "blocks",
        "Diagnostic block positivity by policy",
        (
            Column("policy", "Policy", Kind.TEXT),
            Column("blocks", "Blocks with a result", Kind.COUNT),
            Column("positive", "Positive", Kind.COUNT),
            Column("negative", "Negative", Kind.COUNT),
            Column("positivity", "Positivity", Kind.RATE),
        ),
        tuple(
            (
                policy,
                counts.total(),
                positive(counts),
                counts[BlockOutcome.NEGATIVE],
                rate(positive(counts), counts.total()),
            )
            for policy, counts in by_policy.items()
        ),
        Chart("bars", "policy", ("positivity",)),
    )
    admitted = sum(admissions.values())
    admission_reasons = Table(
        "admissions",
        "Admissions instead of same-day discharge, by reason",
        (Column("reason", "Reason", Kind.TEXT), Column("admissions", "Admissions", Kind.COUNT)),
        tuple(by_reason(admissions)),
    )
    codes = sorted(
        set(complications["procedure"]) | set(complications["follow_up"]),
        key=lambda code: (
            -complications["procedure"][code] - complications["follow_up"][code],
            code,
        ),
    )
    complication_table = Table(
        "complications",
        "Complications by code",
        (
            Column("code", "Complication", Kind.TEXT),
            Column("procedure_day", "On the procedure day", Kind.COUNT),
            Column("follow_up", "At follow-up", Kind.COUNT),
        ),
        tuple(
            (code, complications["procedure"][code], complications["follow_up"][code])
            for code in codes
        ),
        Chart("bars", "code", ("procedure_day", "follow_up")),
    )
    relief_table = Table(
        "relief",
        "Pain relief reported at follow-up",
        (
            Column("relief", "Relief", Kind.TEXT),
            Column("follow_ups", "Follow-ups", Kind.COUNT),
            Column("share", "Share", Kind.RATE),
        ),
        tuple(
            (bucket.title, count, rate(count, follow_ups))
            for bucket, count in zip(RELIEF, relief, strict=True)
        ),
        Chart("bars", "relief", ("follow_ups",)),
    )
    all_blocks = sum(counts.total() for counts in by_policy.values())
    figures = [
        Figure(
            "block_positivity",
            "Block positivity",
            Kind.RATE,
            rate(sum(positive(c) for c in by_policy.values()), all_blocks),
        ),
        Figure("procedures", "Procedures performed", Kind.COUNT, procedures),
        Figure(
            "same_day_discharge",
            "Same-day discharge",
            Kind.RATE,
            rate(discharged, discharged + admitted),
        ),
        Figure("admissions", "Admissions", Kind.COUNT, admitted),
        Figure("follow_ups", "Follow-up outcomes", Kind.COUNT, follow_ups),
    ]
    return (
        "Blocks, procedures and follow-ups booked in the range: what they found and how "
        "patients did.",
        figures,
        [blocks, admission_reasons, complication_table, relief_table],
    )
