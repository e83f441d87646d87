"""Waitlist backfill: capacity freed, offers made from it, what the waitlist filled."""

from __future__ import annotations

from collections import Counter
from typing import Any, Final

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, aliased

from scheduler.db import minutes_between
from scheduler.facilities.models import Site
from scheduler.reports.figures import Period
from scheduler.reports.reading import Built, in_period
from scheduler.reports.tables import Chart, Column, Figure, Kind, Table, rate
from scheduler.scheduling.models import Appointment
from scheduler.vocabulary import OfferStatus, VacancySource, VacancyStatus
from scheduler.waitlist.models import Offer, Vacancy

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
        .where(Vacancy.site_id == site.id, in_period(Vacancy.created_at, period))
        .group_by(Vacancy.source, Vacancy.status)
    )


def _offers_statement(site: Site, period: Period) -> Select[VacancySource, OfferStatus, int]:
    return (
        select(Vacancy.source, Offer.status, func.count())
        .join(Vacancy, Vacancy.id == Offer.vacancy_id)
        .where(Vacancy.site_id == site.id, in_period(Vacancy.created_at, period))
        .group_by(Vacancy.source, Offer.status)
    )


def backfill(session: Session, site: Site, period: Period) -> Built:
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
