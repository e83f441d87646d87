"""Each report on a small history written by hand, with the answers worked out by hand.

The range is October 2026 at a New York clinic; rows just outside it (the evening of
30 September, the first minutes of 1 November, site-local) must not count.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy.orm import Session

from scheduler.access import SYSTEM
from scheduler.clinicians.models import TimeOff
from scheduler.clinicians.services import replace_working_hours
from scheduler.errors import InvalidInput, NotFound
from scheduler.reports.services import REPORTS, build, days_asked
from scheduler.reports.tables import Report
from scheduler.vocabulary import AppointmentStatus, OfferStatus, VacancySource, VacancyStatus
from tests.conftest import QueryCounter
from tests.factories import ClinicianFactory, WorkingHoursFactory
from tests.reports_history import History, K, S, T, at

OCTOBER = (date(2026, 10, 1), date(2026, 10, 31))
# When the reports are read: after October (a range given outright does not depend on it).
NOW = datetime(2026, 11, 20, 15, tzinfo=UTC)


def report(db: Session, history: History, name: str, days: tuple[date, date] = OCTOBER) -> Report:
    return build(db, NOW, name, history.site.id, *days)


@pytest.fixture
def pathway_history(db: Session) -> History:
    """Pathways referred in October and how far they got, with blocks, procedures and
    follow-ups around them (see each line)."""
    h = History.open(db)
    # Completed: two blocks, procedure (two complications), discharged, follow-up in Nov.
    p1 = h.pathway(at("2026-10-02"), S.COMPLETED)
    h.block(p1, at("2026-10-05"), T.BLOCK_POSITIVE_MORE_NEEDED)
    h.block(p1, at("2026-10-20"), T.BLOCK_POSITIVE)
    h.procedure(p1, at("2026-10-27"), complications=["temporary_pain", "numbness_weakness"])
    h.follow_up(p1, at("2026-11-15"), relief=90)
    # Ineligible after a negative block.
    p2 = h.pathway(at("2026-10-03"), S.INELIGIBLE)
    h.block(p2, at("2026-10-10"), T.BLOCK_NEGATIVE)
    # Cancelled before any block, the same reason typed two ways.
    for day, reason in (("2026-10-04", "Patient  declined"), ("2026-10-05", "patient declined")):
        cancelled = h.pathway(at(day), S.CANCELLED)
        h.event(cancelled, T.CANCEL_PATHWAY, S.CANCELLED, at(day, 12), reason=reason)
    # Admitted after the procedure.
    p5 = h.pathway(at("2026-10-06"), S.ADMITTED)
    h.block(p5, at("2026-10-08"), T.BLOCK_POSITIVE)
    h.procedure(p5, at("2026-10-28"), admitted="Urinary retention")
    # Still waiting for a block.
    h.pathway(at("2026-10-07"), S.REFERRED)
    # Referred just outside October (site-local), with a block inside it.
    p7 = h.pathway(at("2026-09-30", 23, 30), S.ELIGIBLE)
    h.block(p7, at("2026-10-01"), T.BLOCK_POSITIVE)
    h.pathway(at("2026-11-01", 0, 10), S.REFERRED)
    # Referred in August, procedure in October, follow-up in October.
    p9 = h.pathway(at("2026-08-01"), S.COMPLETED)
    h.block(p9, at("2026-09-01"), T.BLOCK_POSITIVE)
    h.procedure(p9, at("2026-10-15"), complications=["temporary_pain"])
    h.follow_up(p9, at("2026-10-30"), relief=85, complications=["swelling_bruising"])
    # Follow-ups in October of pathways treated earlier.
    for day, relief in (("2026-10-12", 40), ("2026-10-13", 100)):
        h.follow_up(h.pathway(at("2026-06-01"), S.COMPLETED), at(day), relief=relief)
    # A procedure booked in October but not performed, and one in November.
    h.appointment(
        h.pathway(at("2026-06-01"), S.PROCEDURE_SCHEDULED),
        K.PROCEDURE,
        at("2026-10-29"),
        90,
        AppointmentStatus.BOOKED,
    )
    p12 = h.pathway(at("2026-06-01"), S.IN_RECOVERY)
    h.procedure(p12, at("2026-11-02"))
    return h


def test_the_funnel_counts_october_referrals_by_the_furthest_stage_reached_in_order(
    db: Session, pathway_history: History
) -> None:
    funnel = report(db, pathway_history, "funnel")

    assert funnel.table("stages").rows == (
        ("Referred", 6, None, 1.0),
        ("First block result", 3, 0.5, 0.5),
        ("Eligible", 2, 0.6667, 0.3333),
        ("Procedure", 2, 1.0, 0.3333),
        ("Discharged same day", 1, 0.5, 0.1667),
        ("Completed", 1, 1.0, 0.1667),
    )
    assert funnel.table("drop_outs").rows == (
        ("Referred", "cancelled", "Patient declined", 2),
        ("Referred", "still open", "referred", 1),
        ("First block result", "ineligible", "diagnostic_blocks", 1),
        ("Procedure", "admitted", "Urinary retention", 1),
    )
    assert funnel.figure("referred_to_procedure").value == 0.3333


def test_time_to_treatment_measures_procedures_performed_in_october(
    db: Session, pathway_history: History
) -> None:
    waits = report(db, pathway_history, "time-to-treatment")

    # From referral: 25 (p1), 22 (p5), 75 (p9) days; from the last block: 7, 20, 44.
    assert waits.figure("procedures").value == 3
    assert waits.figure("referral_median").value == 25.0
    assert waits.figure("referral_p90").value == 75.0
    assert waits.figure("block_median").value == 20.0
    assert waits.figure("block_p90").value == 44.0
    assert waits.table("months").rows == (("2026-10", 3, 25.0, 75.0, 20.0, 44.0),)
    spread = {row[0]: row[1:] for row in waits.table("spread").rows}
    assert spread["under 30 days"] == (2, 2)
    assert spread["30-59 days"] == (0, 1)
    assert spread["60-89 days"] == (1, 0)


def test_outcomes_count_blocks_discharges_complications_and_relief_in_october(
    db: Session, pathway_history: History
) -> None:
    outcomes = report(db, pathway_history, "outcomes")

    # Blocks on 1, 5, 8, 10 and 20 October: one negative.
    assert outcomes.table("blocks").rows == (("medicare_facet v1", 5, 4, 1, 0.8),)
    assert outcomes.figure("same_day_discharge").value == 0.6667
    assert outcomes.table("admissions").rows == (("Urinary retention", 1),)
    assert outcomes.table("complications").rows == (
        ("temporary_pain", 2, 0),
        ("numbness_weakness", 1, 0),
        ("swelling_bruising", 0, 1),
    )
    relief = {row[0]: row[1:] for row in outcomes.table("relief").rows}
    assert relief["40-49%"] == (1, 0.3333)
    assert relief["80-89%"] == (1, 0.3333)
    assert relief["90-100%"] == (1, 0.3333)
    assert sum(row[1] for row in outcomes.table("relief").rows) == 3
    assert outcomes.figure("procedures").value == 3


def test_attendance_rates_leave_out_cancellations_made_48_hours_ahead(db: Session) -> None:
    h = History.open(db)
    pathway = h.pathway(at("2026-06-01"), S.REFERRED)
    start = at("2026-10-14", 10)
    for status in [AppointmentStatus.COMPLETED] * 3 + [
        AppointmentStatus.NO_SHOW,
        AppointmentStatus.BOOKED,
    ]:
        h.appointment(pathway, K.DIAGNOSTIC_BLOCK, start, 30, status)
    cancelled = AppointmentStatus.CANCELLED
    h.appointment(
        pathway, K.DIAGNOSTIC_BLOCK, start, 30, cancelled, changed=start - timedelta(hours=24)
    )
    h.appointment(
        pathway, K.DIAGNOSTIC_BLOCK, start, 30, cancelled, changed=start - timedelta(hours=72)
    )
    h.appointment(pathway, K.PROCEDURE, start, 90)
    # Exactly 48 hours ahead is not late.
    h.appointment(pathway, K.PROCEDURE, start, 90, cancelled, changed=start - timedelta(hours=48))
    h.appointment(
        pathway, K.DIAGNOSTIC_BLOCK, at("2026-11-01", 0, 30), 30, AppointmentStatus.NO_SHOW
    )

    attendance = report(db, h, "attendance")

    assert attendance.table("kinds").rows == (
        ("Diagnostic block", 6, 3, 1, 0.1667, 1, 0.1667, 1, 1),
        ("Procedure", 1, 1, 0, 0.0, 0, 0.0, 1, 0),
        ("Follow-up", 0, 0, 0, None, 0, None, 0, 0),
        ("All", 7, 4, 1, 0.1429, 1, 0.1429, 2, 1),
    )


def test_room_use_is_booked_minutes_over_staffed_minutes_and_first_cases_on_time(
    db: Session,
) -> None:
    h = History.open(db)
    # A second clinician works Thursday afternoons into the evening; the first is away
    # Wednesday afternoon. Open: 480 + 480 + 240 + 600 + 480 minutes, Monday to Friday.
    other = ClinicianFactory()
    WorkingHoursFactory(
        clinician_id=other.id, site_id=h.site.id, weekday=3, start_time=time(14), end_time=time(18)
    )
    db.add(
        TimeOff(
            clinician_id=h.clinician_id, start_at=at("2026-10-07", 12), end_at=at("2026-10-07", 18)
        )
    )
    pathway = h.pathway(at("2026-06-01"), S.REFERRED)
    h.procedure(pathway, at("2026-10-05", 9), late_by=5)
    h.appointment(pathway, K.DIAGNOSTIC_BLOCK, at("2026-10-05", 11), 30)
    h.procedure(pathway, at("2026-10-06", 8), late_by=20)
    h.procedure(pathway, at("2026-10-06", 13), late_by=30)  # not the first case
    h.appointment(pathway, K.PROCEDURE, at("2026-10-07", 9), 90, AppointmentStatus.CANCELLED)
    h.appointment(pathway, K.FOLLOW_UP, at("2026-10-08", 10), 20, room=1)
    h.appointment(pathway, K.PROCEDURE, at("2026-10-09", 9), 90, AppointmentStatus.NO_SHOW, room=1)

    rooms = report(db, h, "rooms", (date(2026, 10, 5), date(2026, 10, 11)))

    first, second = (room.name for room in h.rooms)
    assert rooms.table("rooms").rows == (
        (first, 300, 2280, 0.1316, 2, 1, 0.5),
        (second, 110, 2280, 0.0482, 0, 0, None),
    )
    assert rooms.table("weeks").rows == ((date(2026, 10, 5), 410, 4560, 0.0899),)
    days = {(row[0], row[1]): row[2:] for row in rooms.table("days").rows}
    assert len(days) == 14
    assert days[date(2026, 10, 5), first] == (120, 480, 0.25, "yes")
    assert days[date(2026, 10, 6), first] == (180, 480, 0.375, "no")
    assert days[date(2026, 10, 7), first] == (0, 240, 0.0, "")
    assert days[date(2026, 10, 8), second] == (20, 600, 0.0333, "")
    assert days[date(2026, 10, 10), second] == (0, 0, None, "")
    assert rooms.figure("first_case_on_time").value == 0.5


def test_backfill_counts_freed_slots_offers_fills_and_minutes_recovered(db: Session) -> None:
    h = History.open(db)
    pathway = h.pathway(at("2026-06-01"), S.PROCEDURE_SCHEDULED)
    booked = h.appointment(pathway, K.PROCEDURE, at("2026-10-12"), 90, AppointmentStatus.BOOKED)
    o = OfferStatus
    cancelled, moved, hours = VacancySource.CANCELLED, VacancySource.MOVED, VacancySource.HOURS
    h.vacancy(
        at("2026-10-10"),
        cancelled,
        VacancyStatus.FILLED,
        90,
        [o.DECLINED, o.ACCEPTED],
        filled_by=booked,
    )
    h.vacancy(at("2026-10-11"), cancelled, VacancyStatus.UNFILLED, 30, [o.EXPIRED, o.EXPIRED])
    h.vacancy(at("2026-10-12"), moved, VacancyStatus.OPEN, 60, [o.OPEN])
    h.vacancy(at("2026-10-13"), hours, VacancyStatus.UNFILLED, 120, [])
    h.vacancy(at("2026-09-30", 23), cancelled, VacancyStatus.UNFILLED, 30, [o.EXPIRED])

    backfill = report(db, h, "backfill")

    assert backfill.table("sources").rows == (
        ("Cancellation", 2, 120, 4, 1, 1, 2, 1, 0.5, 90),
        ("Moved appointment", 1, 60, 1, 0, 0, 0, 0, 0.0, 0),
        ("New working hours", 1, 120, 0, 0, 0, 0, 0, 0.0, 0),
        ("All", 4, 300, 5, 1, 1, 2, 1, 0.25, 90),
    )
    assert backfill.figure("minutes_recovered").value == 90


# Statements: the site, then each report's own reads (rooms: rooms, hours, time off,
# booked minutes, first cases).
STATEMENTS = {
    "funnel": 2,
    "time-to-treatment": 2,
    "outcomes": 4,
    "attendance": 2,
    "rooms": 6,
    "backfill": 3,
}


@pytest.mark.parametrize("name", list(REPORTS))
def test_a_report_runs_the_same_statements_for_a_day_or_two_years(
    db: Session, pathway_history: History, count_queries: QueryCounter, name: str
) -> None:
    counts = []
    for days in ((date(2026, 10, 1), date(2026, 10, 1)), (date(2025, 1, 1), date(2026, 12, 31))):
        db.expunge_all()
        before = count_queries.count
        report(db, pathway_history, name, days)
        counts.append(count_queries.count - before)

    assert counts == [STATEMENTS[name]] * 2


def test_a_report_refuses_an_unknown_name_site_or_a_bad_range(
    db: Session, pathway_history: History
) -> None:
    site = pathway_history.site.id
    with pytest.raises(NotFound):
        build(db, NOW, "payroll", site, *OCTOBER)
    with pytest.raises(NotFound):
        build(db, NOW, "funnel", site + 1000, *OCTOBER)
    with pytest.raises(InvalidInput):
        build(db, NOW, "funnel", site, date(2026, 10, 2), date(2026, 10, 1))
    with pytest.raises(InvalidInput):
        build(db, NOW, "funnel", site, date(2024, 9, 30), date(2026, 10, 1))


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ((None, None), (date(2026, 8, 20), date(2026, 11, 17))),
        ((None, date(2026, 10, 31)), (date(2026, 8, 3), date(2026, 10, 31))),
        ((date(2026, 11, 1), None), (date(2026, 11, 1), date(2026, 11, 17))),
        ((date(2026, 10, 1), date(2026, 10, 2)), (date(2026, 10, 1), date(2026, 10, 2))),
    ],
)
def test_a_day_left_out_is_the_default_ranges_on_the_sites_calendar(
    db: Session,
    pathway_history: History,
    given: tuple[date | None, date | None],
    expected: tuple[date, date],
) -> None:
    """At 03:00 UTC on 19 November it is still the 18th in New York: yesterday is the
    17th, and the default range is the 90 days up to it."""
    late_evening = datetime(2026, 11, 19, 3, tzinfo=UTC)

    assert days_asked(pathway_history.site, late_evening, *given) == expected
    built = build(db, late_evening, "funnel", pathway_history.site.id, *given)
    assert (built.first_day, built.last_day) == expected


@pytest.mark.parametrize(
    ("changeover", "before", "after"),
    [("2026-11-01", "2026-10-31", "2026-11-02"), ("2026-03-08", "2026-03-07", "2026-03-09")],
)
def test_room_use_counts_each_minute_in_its_site_local_day_across_a_clock_change(
    db: Session, changeover: str, before: str, after: str
) -> None:
    h = History.open(db)
    pathway = h.pathway(at("2026-01-01"), S.REFERRED)
    for day, hour, minutes in (
        (before, 23, 10),
        (changeover, 0, 20),
        (changeover, 23, 30),
        (after, 0, 40),
        (after, 23, 50),
    ):
        h.appointment(pathway, K.FOLLOW_UP, at(day, hour, 30), minutes)

    rooms = report(db, h, "rooms", (date.fromisoformat(before), date.fromisoformat(after)))

    first = h.rooms[0].name
    booked = {row[0].isoformat(): row[2] for row in rooms.table("days").rows if row[1] == first}
    assert booked == {before: 10, changeover: 50, after: 90}


def test_room_use_measures_each_day_against_the_hours_that_held_that_day(db: Session) -> None:
    """The clinician worked 8-16 on weekdays; on Wednesday 7 October at 10:00 the hours
    became 12-18, on Friday 9 October at 10:00 7-19. Each change counts from the next day
    (a day has the hours that held at its start); days before the first change keep the
    first hours although they were replaced."""
    h = History.open(db, rooms=1)

    def weekdays(start: int, end: int) -> list[dict[str, object]]:
        return [
            {"site_id": h.site.id, "weekday": day, "start": time(start), "end": time(end)}
            for day in range(5)
        ]

    replace_working_hours(db, SYSTEM, at("2026-10-07", 10), h.clinician_id, weekdays(12, 18))
    replace_working_hours(db, SYSTEM, at("2026-10-09", 10), h.clinician_id, weekdays(7, 19))

    days = report(db, h, "rooms", (date(2026, 10, 5), date(2026, 10, 12))).table("days").rows
    assert [row[3] for row in days] == [480, 480, 480, 360, 360, 0, 0, 720]
    before = report(db, h, "rooms", (date(2026, 9, 28), date(2026, 10, 4)))
    assert before.table("rooms").rows[0][2] == 2400
    after = report(db, h, "rooms", (date(2026, 10, 12), date(2026, 10, 16)))
    assert after.table("rooms").rows[0][2] == 3600
