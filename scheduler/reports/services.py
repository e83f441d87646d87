"""The reports of SPEC §11, read from the events, appointments and records the service
already keeps: nothing is counted twice or kept on the side.

Each report covers one site and a range of site-local days, and runs a fixed number of
statements whatever the range (aggregates are computed by the database; Python only
shapes the few rows that come back). What each one counts:

- ``funnel``: the pathways referred in the range (their creation), how far each got, in
  order: first block result, eligible, procedure started, discharged the same day,
  completed. A pathway that stopped is a drop-out, by cause: ineligible (the rule that
  failed), cancelled (the reason given), admitted (the reason), or still open (its state).
- ``time-to-treatment``: procedures performed in the range (booked start in it): days
  from referral, and from the block that made the pathway eligible, to the procedure.
- ``outcomes``: block results on blocks in the range by policy, discharges and
  admissions, complications on the procedure day and at follow-up, follow-up relief.
- ``attendance``: appointments due in the range (not cancelled 48 hours or more ahead):
  no-shows and late cancellations (under 48 hours before the start) by kind.
- ``rooms``: booked minutes against open minutes (while a clinician works at the site)
  per room and day, and first-case on-time starts (the day's first procedure in a room
  started within 10 minutes of its booked start).
- ``backfill``: capacity freed in the range, the offers made from it, how much the
  waitlist filled and the minutes recovered.

Free-text reasons (cancellations, admissions) are grouped as typed (spacing and case
folded); reports never carry a row per patient.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Final

from sqlalchemy import (
    Integer,
    Select,
    String,
    Text,
    case,
    cast,
    column,
    func,
    literal,
    select,
    union_all,
    values,
)
from sqlalchemy.orm import Session, aliased

from scheduler.clinical.models import DischargeRecord, FollowUpOutcome, ProcedureRecord
from scheduler.clinicians.models import TimeOff, WorkingHours
from scheduler.db import UTCDateTime, minutes_between
from scheduler.errors import InvalidInput, NotFound
from scheduler.facilities.models import Room, Site
from scheduler.facilities.services import get_site
from scheduler.pathways.models import Pathway, PathwayEvent
from scheduler.pathways.states import PathwayState, Trigger
from scheduler.policies.models import PolicyRecord
from scheduler.reports.figures import (
    Away,
    Bucket,
    Hours,
    Period,
    bucket_counts,
    open_minutes,
    percentile,
)
from scheduler.reports.tables import Chart, Column, Figure, Kind, Report, Table, rate
from scheduler.scheduling.models import Appointment
from scheduler.vocabulary import (
    AppointmentKind,
    AppointmentStatus,
    DischargeOutcome,
    OfferStatus,
    VacancySource,
    VacancyStatus,
)
from scheduler.waitlist.models import Offer, Vacancy

REPORTS: Final = {
    "funnel": "Pathway funnel",
    "time-to-treatment": "Time to treatment",
    "outcomes": "Clinical outcomes",
    "attendance": "No-shows and late cancellations",
    "rooms": "Room use",
    "backfill": "Waitlist backfill",
}
MAX_DAYS: Final = 731  # two years, leap day included
LATE_CANCELLATION_MINUTES: Final = 48 * 60
ON_TIME_MINUTES: Final = 10
TOP_REASONS: Final = 10  # further free-text reasons are summed as "other reasons"


def build(session: Session, name: str, site_id: int, first_day: date, last_day: date) -> Report:
    """The report ``name`` for ``site_id`` over site-local days first..last (inclusive)."""
    builder = _BUILDERS.get(name)
    if builder is None:
        raise NotFound("report", name)
    if last_day < first_day:
        raise InvalidInput.field("to", "The last day comes before the first.")
    if (last_day - first_day).days >= MAX_DAYS:
        raise InvalidInput.field("to", f"A report covers at most {MAX_DAYS} days.")
    site = get_site(session, site_id)
    period = Period(first_day, last_day, site.timezone)
    description, figures, tables = builder(session, site, period)
    return Report(
        name=name,
        title=REPORTS[name],
        description=description,
        site_id=site.id,
        site_name=site.display_name or site.name,
        timezone=site.timezone,
        first_day=first_day,
        last_day=last_day,
        figures=tuple(figures),
        tables=tuple(tables),
    )


Built = tuple[str, list[Figure], list[Table]]


def _in_period(at: Any, period: Period) -> Any:
    return (at >= period.start) & (at < period.end)


def _appointments_at(site: Site, period: Period) -> Any:
    """Appointments of the site whose booked start lies in the period."""
    return (Appointment.site_id == site.id) & _in_period(Appointment.start_at, period)


def _tidy(reason: str | None) -> str:
    return " ".join((reason or "").split())[:120] or "(no reason given)"


def _by_reason(counts: Counter[str]) -> list[tuple[str, int]]:
    """Reasons by count (most first), spacing and case folded; beyond the first
    ``TOP_REASONS`` summed as one line."""
    shown: dict[str, str] = {}
    folded: Counter[str] = Counter()
    for reason, count in counts.items():
        key = _tidy(reason).casefold()
        shown.setdefault(key, _tidy(reason))
        folded[key] += count
    ranked = sorted(folded.items(), key=lambda item: (-item[1], item[0]))
    rows = [(shown[key], count) for key, count in ranked[:TOP_REASONS]]
    rest = sum(count for _key, count in ranked[TOP_REASONS:])
    return [*rows, ("other reasons", rest)] if rest else rows


# ---------------------------------------------------------------------------------------
# The pathway funnel

STAGES: Final = (
    ("referred", "Referred"),
    ("blocked", "First block result"),
    ("eligible", "Eligible"),
    ("procedure", "Procedure"),
    ("discharged", "Discharged same day"),
    ("completed", "Completed"),
)
BLOCK_RESULTS: Final = (
    Trigger.BLOCK_POSITIVE,
    Trigger.BLOCK_POSITIVE_MORE_NEEDED,
    Trigger.BLOCK_NEGATIVE,
)
# A negative block is what makes a pathway ineligible: its policy's block rule failed.
INELIGIBLE_RULE: Final = "diagnostic_blocks"


def _ever(condition: Any, name: str) -> Any:
    return func.max(case((condition, 1), else_=0)).label(name)


def _funnel_statement(site: Site, period: Period) -> Select[Any]:
    event = PathwayEvent
    reached = (
        select(
            Pathway.state,
            _ever(event.trigger.in_(BLOCK_RESULTS), "blocked"),
            _ever(event.to_state == PathwayState.ELIGIBLE, "eligible"),
            _ever(event.trigger == Trigger.START_PROCEDURE, "procedure"),
            _ever(event.trigger == Trigger.DISCHARGE, "discharged"),
            _ever(event.trigger == Trigger.RECORD_FOLLOW_UP_OUTCOME, "completed"),
            func.max(case((event.trigger == Trigger.CANCEL_PATHWAY, event.reason))).label(
                "cancelled"
            ),
            func.max(case((event.trigger == Trigger.ADMIT, event.reason))).label("admitted"),
        )
        .join(event, event.pathway_id == Pathway.id)
        .where(Pathway.site_id == site.id, _in_period(Pathway.created_at, period))
        .group_by(Pathway.id, Pathway.state)
        .subquery()
    )
    shape = [reached.c[name] for name in reached.c.keys()]  # noqa: SIM118 (a column list)
    return select(*shape, func.count()).group_by(*shape)


def _funnel(session: Session, site: Site, period: Period) -> Built:
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
            for detail, count in _by_reason(reasons)
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


# ---------------------------------------------------------------------------------------
# Time to treatment

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
        .where(_appointments_at(site, period), Appointment.kind == AppointmentKind.PROCEDURE)
    )


def _time_to_treatment(session: Session, site: Site, period: Period) -> Built:
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


# ---------------------------------------------------------------------------------------
# Clinical outcomes

RELIEF: Final = tuple(
    Bucket(f"{low}-{low + 9}%" if low < 90 else "90-100%", low, low + 10 if low < 90 else None)
    for low in range(0, 100, 10)
)


def _blocks_statement(site: Site, period: Period) -> Select[str, int, Trigger, int]:
    return (
        select(PolicyRecord.name, PolicyRecord.version, PathwayEvent.trigger, func.count())
        .join(Appointment, Appointment.id == PathwayEvent.appointment_id)
        .join(Pathway, Pathway.id == PathwayEvent.pathway_id)
        .join(PolicyRecord, PolicyRecord.id == Pathway.policy_id)
        .where(PathwayEvent.trigger.in_(BLOCK_RESULTS), _appointments_at(site, period))
        .group_by(PolicyRecord.name, PolicyRecord.version, PathwayEvent.trigger)
        .order_by(PolicyRecord.name, PolicyRecord.version)
    )


def _discharges_statement(site: Site, period: Period) -> Select[DischargeOutcome, str | None, int]:
    return (
        select(DischargeRecord.outcome, DischargeRecord.reason, func.count())
        .join(Appointment, Appointment.id == DischargeRecord.appointment_id)
        .where(_appointments_at(site, period))
        .group_by(DischargeRecord.outcome, DischargeRecord.reason)
    )


def _any(complications: Any) -> Any:
    """Rows whose list of complications is not empty (JSON text on both databases)."""
    return complications.is_not(None) & (cast(complications, Text) != "[]")


def _complications_statement(site: Site, period: Period) -> Any:
    on_the_day = (
        select(literal("procedure", String), ProcedureRecord.complications)
        .select_from(ProcedureRecord)
        .join(Appointment, Appointment.id == ProcedureRecord.appointment_id)
        .where(_appointments_at(site, period), _any(ProcedureRecord.complications))
    )
    at_follow_up = (
        select(literal("follow_up", String), FollowUpOutcome.complications)
        .select_from(FollowUpOutcome)
        .join(Appointment, Appointment.id == FollowUpOutcome.appointment_id)
        .where(_appointments_at(site, period), _any(FollowUpOutcome.complications))
    )
    return union_all(on_the_day, at_follow_up)


def _counts_statement(site: Site, period: Period) -> Any:
    """Procedures performed, and follow-ups by tenth of relief (0-9; 100% is 10)."""
    procedures = (
        select(literal("procedure", String), literal(None, Integer), func.count())
        .select_from(ProcedureRecord)
        .join(Appointment, Appointment.id == ProcedureRecord.appointment_id)
        .where(_appointments_at(site, period))
    )
    tenth = FollowUpOutcome.percent_relief // 10
    follow_ups = (
        select(literal("follow_up", String), tenth, func.count())
        .select_from(FollowUpOutcome)
        .join(Appointment, Appointment.id == FollowUpOutcome.appointment_id)
        .where(_appointments_at(site, period))
        .group_by(tenth)
    )
    return union_all(procedures, follow_ups)


def _outcomes(session: Session, site: Site, period: Period) -> Built:
    by_policy: dict[str, Counter[Trigger]] = defaultdict(Counter)
    for name, version, trigger, count in session.execute(_blocks_statement(site, period)):
        by_policy[f"{name} v{version}"][trigger] += count
    discharged = 0
    admissions: Counter[str] = Counter()
    for outcome, reason, count in session.execute(_discharges_statement(site, period)):
        if outcome is DischargeOutcome.DISCHARGED:
            discharged += count
        else:
            admissions[_tidy(reason)] += count
    complications: dict[str, Counter[str]] = {"procedure": Counter(), "follow_up": Counter()}
    for source, codes in session.execute(_complications_statement(site, period)):
        complications[source].update(codes)
    procedures = 0
    relief = [0] * len(RELIEF)
    for source, tenth, count in session.execute(_counts_statement(site, period)):
        if source == "procedure":
            procedures = count
        else:
            relief[min(int(tenth), len(RELIEF) - 1)] += count
    follow_ups = sum(relief)

    def positive(counts: Counter[Trigger]) -> int:
        return counts[Trigger.BLOCK_POSITIVE] + counts[Trigger.BLOCK_POSITIVE_MORE_NEEDED]

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
                counts[Trigger.BLOCK_NEGATIVE],
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
        tuple(_by_reason(admissions)),
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


# ---------------------------------------------------------------------------------------
# No-shows and late cancellations

KIND_TITLES: Final = {
    AppointmentKind.DIAGNOSTIC_BLOCK: "Diagnostic block",
    AppointmentKind.PROCEDURE: "Procedure",
    AppointmentKind.FOLLOW_UP: "Follow-up",
}


def _attendance_statement(site: Site, period: Period) -> Select[Any]:
    late = case(
        (
            (Appointment.status == AppointmentStatus.CANCELLED)
            & (
                minutes_between(Appointment.updated_at, Appointment.start_at)
                < LATE_CANCELLATION_MINUTES
            ),
            1,
        ),
        else_=0,
    ).label("late")
    return (
        select(Appointment.kind, Appointment.status, late, func.count())
        .where(_appointments_at(site, period))
        .group_by(Appointment.kind, Appointment.status, late)
    )


def _attendance(session: Session, site: Site, period: Period) -> Built:
    counts: dict[AppointmentKind, Counter[str]] = {kind: Counter() for kind in KIND_TITLES}
    for kind, status, late, count in session.execute(_attendance_statement(site, period)):
        if status is AppointmentStatus.CANCELLED:
            counts[kind]["late" if late else "early"] += count
        else:
            counts[kind][status.value] += count
    total: Counter[str] = sum(counts.values(), Counter())

    def row(title: str, c: Counter[str]) -> tuple[Any, ...]:
        due = c.total() - c["early"]
        return (
            title,
            due,
            c[AppointmentStatus.COMPLETED.value],
            c[AppointmentStatus.NO_SHOW.value],
            rate(c[AppointmentStatus.NO_SHOW.value], due),
            c["late"],
            rate(c["late"], due),
            c["early"],
            c[AppointmentStatus.BOOKED.value],
        )

    table = Table(
        "kinds",
        "Attendance by kind of appointment",
        (
            Column("kind", "Kind", Kind.TEXT),
            Column("due", "Due", Kind.COUNT),
            Column("attended", "Attended", Kind.COUNT),
            Column("no_shows", "No-shows", Kind.COUNT),
            Column("no_show_rate", "No-show rate", Kind.RATE),
            Column("late_cancellations", "Cancelled under 48 h ahead", Kind.COUNT),
            Column("late_cancellation_rate", "Late cancellation rate", Kind.RATE),
            Column("early_cancellations", "Cancelled 48 h or more ahead", Kind.COUNT),
            Column("still_booked", "Booked, not yet recorded", Kind.COUNT),
        ),
        (
            *(row(title, counts[kind]) for kind, title in KIND_TITLES.items()),
            row("All", total),
        ),
        Chart("bars", "kind", ("no_show_rate", "late_cancellation_rate")),
        note="Due: booked to start in the range and not cancelled 48 hours or more ahead.",
    )
    due = total.total() - total["early"]
    figures = [
        Figure("due", "Appointments due", Kind.COUNT, due),
        Figure(
            "no_show_rate",
            "No-show rate",
            Kind.RATE,
            rate(total[AppointmentStatus.NO_SHOW.value], due),
        ),
        Figure(
            "late_cancellation_rate", "Late cancellation rate", Kind.RATE, rate(total["late"], due)
        ),
    ]
    return (
        "Appointments booked to start in the range: who came, who did not, and who "
        "cancelled too late for the slot to be used.",
        figures,
        [table],
    )


# ---------------------------------------------------------------------------------------
# Room use


def _days_of(period: Period) -> Any:
    return (
        values(
            column("day", Integer),
            column("starts", UTCDateTime()),
            column("ends", UTCDateTime()),
            name="days",
        )
        .data(period.day_bounds())
        .cte("days")
    )


def _booked_statement(site: Site, period: Period) -> Select[Any]:
    day = _days_of(period)
    return (
        select(
            day.c.day,
            Appointment.room_id,
            func.sum(minutes_between(Appointment.start_at, Appointment.end_at)),
        )
        .join(day, (Appointment.start_at >= day.c.starts) & (Appointment.start_at < day.c.ends))
        .where(
            Appointment.site_id == site.id,
            _in_period(Appointment.start_at, period),
            Appointment.status != AppointmentStatus.CANCELLED,
        )
        .group_by(day.c.day, Appointment.room_id)
    )


def _first_cases_statement(site: Site, period: Period) -> Select[Any]:
    day = _days_of(period)
    ranked = (
        select(
            day.c.day,
            Appointment.room_id,
            minutes_between(Appointment.start_at, ProcedureRecord.started_at).label("late_by"),
            func.row_number()
            .over(partition_by=(day.c.day, Appointment.room_id), order_by=Appointment.start_at)
            .label("nth"),
        )
        .join(ProcedureRecord, ProcedureRecord.appointment_id == Appointment.id)
        .join(day, (Appointment.start_at >= day.c.starts) & (Appointment.start_at < day.c.ends))
        .where(
            Appointment.site_id == site.id,
            Appointment.kind == AppointmentKind.PROCEDURE,
            _in_period(Appointment.start_at, period),
        )
        .subquery()
    )
    return select(ranked.c.day, ranked.c.room_id, ranked.c.late_by).where(ranked.c.nth == 1)


def _staffing(session: Session, site: Site, period: Period) -> tuple[list[Hours], list[Away]]:
    hours = [
        Hours(clinician_id, weekday, start, end)
        for clinician_id, weekday, start, end in session.execute(
            select(
                WorkingHours.clinician_id,
                WorkingHours.weekday,
                WorkingHours.start_time,
                WorkingHours.end_time,
            ).where(WorkingHours.site_id == site.id)
        )
    ]
    clinicians = {each.clinician_id for each in hours}
    away = [
        Away(clinician_id, start, end)
        for clinician_id, start, end in session.execute(
            select(TimeOff.clinician_id, TimeOff.start_at, TimeOff.end_at).where(
                TimeOff.clinician_id.in_(clinicians),
                TimeOff.start_at < period.end,
                TimeOff.end_at > period.start,
            )
        )
    ]
    return hours, away


def _rooms(session: Session, site: Site, period: Period) -> Built:
    rooms = list(
        session.execute(select(Room.id, Room.name).where(Room.site_id == site.id).order_by(Room.id))
    )
    hours, away = _staffing(session, site, period)
    day_list = period.days
    opened = [open_minutes(day, site.timezone, hours, away) for day in day_list]
    booked: dict[tuple[int, int], float] = {
        (day, room): minutes or 0.0
        for day, room, minutes in session.execute(_booked_statement(site, period))
    }
    late_by: dict[tuple[int, int], float | None] = {
        (day, room): late
        for day, room, late in session.execute(_first_cases_statement(site, period))
    }

    def on_time(key: tuple[int, int]) -> bool:
        late = late_by[key]
        return late is not None and late <= ON_TIME_MINUTES

    per_room = []
    for room_id, name in rooms:
        room_booked = round(sum(booked.get((n, room_id), 0.0) for n in range(len(day_list))))
        room_open = sum(opened)
        firsts = [key for key in late_by if key[1] == room_id]
        kept = sum(1 for key in firsts if on_time(key))
        per_room.append(
            (
                name,
                room_booked,
                room_open,
                rate(room_booked, room_open),
                len(firsts),
                kept,
                rate(kept, len(firsts)),
            )
        )
    room_table = Table(
        "rooms",
        "Utilization and first-case starts by room",
        (
            Column("room", "Room", Kind.TEXT),
            Column("booked_minutes", "Booked minutes", Kind.MINUTES),
            Column("open_minutes", "Open minutes", Kind.MINUTES),
            Column("utilization", "Utilization", Kind.RATE),
            Column("first_cases", "First cases", Kind.COUNT),
            Column("on_time", "Started on time", Kind.COUNT),
            Column("on_time_rate", "On-time rate", Kind.RATE),
        ),
        tuple(per_room),
        Chart("bars", "room", ("utilization", "on_time_rate")),
        note="Open: while at least one clinician works at the site (their hours less time "
        "off). On time: started within 10 minutes of the booked start.",
    )
    weekly = []
    for monday in period.weeks():
        indexes = [n for n, day in enumerate(day_list) if 0 <= (day - monday).days < 7]
        week_booked = round(sum(booked.get((n, r), 0.0) for n in indexes for r, _ in rooms))
        week_open = sum(opened[n] for n in indexes) * len(rooms)
        weekly.append((monday, week_booked, week_open, rate(week_booked, week_open)))
    week_table = Table(
        "weeks",
        "Utilization of all rooms by week",
        (
            Column("week", "Week of", Kind.DATE),
            Column("booked_minutes", "Booked minutes", Kind.MINUTES),
            Column("open_minutes", "Open minutes", Kind.MINUTES),
            Column("utilization", "Utilization", Kind.RATE),
        ),
        tuple(weekly),
        Chart("line", "week", ("utilization",)),
    )
    daily = Table(
        "days",
        "Utilization per room and day",
        (
            Column("day", "Day", Kind.DATE),
            Column("room", "Room", Kind.TEXT),
            Column("booked_minutes", "Booked minutes", Kind.MINUTES),
            Column("open_minutes", "Open minutes", Kind.MINUTES),
            Column("utilization", "Utilization", Kind.RATE),
            Column("first_case_on_time", "First case on time", Kind.TEXT),
        ),
        tuple(
            (
                day,
                name,
                round(booked.get((n, room_id), 0.0)),
                opened[n],
                rate(round(booked.get((n, room_id), 0.0)), opened[n]),
                ("yes" if on_time((n, room_id)) else "no") if (n, room_id) in late_by else "",
            )
            for n, day in enumerate(day_list)
            for room_id, name in rooms
        ),
        on_page=False,
        note="A row per room and day, as a download.",
    )
    all_booked = sum(row[1] for row in per_room)
    all_open = sum(opened) * len(rooms)
    first_cases = sum(row[4] for row in per_room)
    figures = [
        Figure("utilization", "Room utilization", Kind.RATE, rate(all_booked, all_open)),
        Figure("booked_minutes", "Booked minutes", Kind.MINUTES, all_booked),
        Figure(
            "first_case_on_time",
            "First cases on time",
            Kind.RATE,
            rate(sum(row[5] for row in per_room), first_cases),
        ),
    ]
    return (
        "Booked minutes (every appointment not cancelled) against the minutes the site was "
        "open, and whether each day's first procedure in a room started on time.",
        figures,
        [room_table, week_table, daily],
    )


# ---------------------------------------------------------------------------------------
# Waitlist backfill

SOURCE_TITLES: Final = {
    VacancySource.CANCELLED: "Cancellation",
    VacancySource.MOVED: "Moved appointment",
    VacancySource.HOURS: "New working hours",
}


def _vacancies_statement(
    site: Site, period: Period
) -> Select[VacancySource, VacancyStatus, int, float, float]:
    filled = aliased(Appointment)
    return (
        select(
            Vacancy.source,
            Vacancy.status,
            func.count(),
            func.sum(minutes_between(Vacancy.start_at, Vacancy.end_at)),
            func.sum(minutes_between(filled.start_at, filled.end_at)),
        )
        .outerjoin(filled, filled.id == Vacancy.filled_appointment_id)
        .where(Vacancy.site_id == site.id, _in_period(Vacancy.created_at, period))
        .group_by(Vacancy.source, Vacancy.status)
    )


def _offers_statement(site: Site, period: Period) -> Select[VacancySource, OfferStatus, int]:
    return (
        select(Vacancy.source, Offer.status, func.count())
        .join(Vacancy, Vacancy.id == Offer.vacancy_id)
        .where(Vacancy.site_id == site.id, _in_period(Vacancy.created_at, period))
        .group_by(Vacancy.source, Offer.status)
    )


def _backfill(session: Session, site: Site, period: Period) -> Built:
    slots: dict[VacancySource, Counter[str]] = {source: Counter() for source in SOURCE_TITLES}
    for source, status, count, freed, recovered in session.execute(
        _vacancies_statement(site, period)
    ):
        slots[source][status.value] += count
        slots[source]["freed_minutes"] += round(freed or 0)
        slots[source]["recovered_minutes"] += round(recovered or 0)
    offers: dict[VacancySource, Counter[str]] = {source: Counter() for source in SOURCE_TITLES}
    for source, answer, count in session.execute(_offers_statement(site, period)):
        offers[source][answer.value] += count

    def row(title: str, s: Counter[str], o: Counter[str]) -> tuple[Any, ...]:
        freed = sum(s[each.value] for each in VacancyStatus)
        filled = s[VacancyStatus.FILLED.value]
        return (
            title,
            freed,
            s["freed_minutes"],
            o.total(),
            o[OfferStatus.ACCEPTED.value],
            o[OfferStatus.DECLINED.value],
            o[OfferStatus.EXPIRED.value],
            filled,
            rate(filled, freed),
            s["recovered_minutes"],
        )

    rows = [row(title, slots[source], offers[source]) for source, title in SOURCE_TITLES.items()]
    total = row("All", sum(slots.values(), Counter()), sum(offers.values(), Counter()))
    table = Table(
        "sources",
        "Freed capacity and how much the waitlist filled",
        (
            Column("source", "Freed by", Kind.TEXT),
            Column("freed", "Freed slots", Kind.COUNT),
            Column("freed_minutes", "Freed minutes", Kind.MINUTES),
            Column("offers", "Offers", Kind.COUNT),
            Column("accepted", "Accepted", Kind.COUNT),
            Column("declined", "Declined", Kind.COUNT),
            Column("expired", "Expired", Kind.COUNT),
            Column("filled", "Filled", Kind.COUNT),
            Column("fill_rate", "Fill rate", Kind.RATE),
            Column("minutes_recovered", "Minutes recovered", Kind.MINUTES),
        ),
        (*rows, total),
        Chart("bars", "source", ("freed", "filled")),
    )
    figures = [
        Figure("freed", "Freed slots", Kind.COUNT, total[1]),
        Figure("offers", "Offers made", Kind.COUNT, total[3]),
        Figure("filled", "Filled from the waitlist", Kind.COUNT, total[7]),
        Figure("fill_rate", "Fill rate", Kind.RATE, total[8]),
        Figure("minutes_recovered", "Minutes recovered", Kind.MINUTES, total[9]),
    ]
    return (
        "Capacity that appeared in the range (cancellations, moves, new hours), the offers "
        "made from it and the appointments the waitlist booked into it.",
        figures,
        [table],
    )


_BUILDERS: Final[dict[str, Callable[[Session, Site, Period], Built]]] = {
    "funnel": _funnel,
    "time-to-treatment": _time_to_treatment,
    "outcomes": _outcomes,
    "attendance": _attendance,
    "rooms": _rooms,
    "backfill": _backfill,
}


@dataclass(frozen=True)
class Defaults:
    """The range a report opens on: the last 90 days up to yesterday, site-local."""

    first_day: date
    last_day: date


def default_range(today: date) -> Defaults:
    return Defaults(today - timedelta(days=90), today - timedelta(days=1))
