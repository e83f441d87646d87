"""What a report is, whatever it measures: headline figures and tables of plain values.

Every face shows the same object: the API as JSON, each table as a CSV file
(:mod:`scheduler.reports.csv`), the page as tables and SVG charts
(:mod:`scheduler.reports.charts`). A report holds counts and rates only, never a row
that names a patient.
Pure module: no Flask, no SQLAlchemy.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

Cell = str | int | float | date | None


class Kind(StrEnum):
    """How a value reads: the CSV writes and the page formats each kind its own way."""

    TEXT = "text"
    DATE = "date"  # a site-local day (ISO 8601)
    COUNT = "count"
    RATE = "rate"  # a fraction 0..1, shown as a percentage; None when nothing to divide
    DAYS = "days"  # elapsed days, one decimal
    MINUTES = "minutes"


@dataclass(frozen=True)
class Column:
    name: str
    title: str
    kind: Kind


@dataclass(frozen=True)
class Chart:
    """How the page draws a table: ``bars`` (one bar per row, a group per series) or
    ``line`` (rows in order along the x axis, one line per series)."""

    style: str  # "bars" | "line"
    label: str  # the column naming each row (x axis / bar label)
    series: tuple[str, ...]  # the value columns drawn


@dataclass(frozen=True)
class Table:
    name: str
    title: str
    columns: tuple[Column, ...]
    rows: tuple[tuple[Cell, ...], ...]
    chart: Chart | None = None
    # Long tables (a row per room per day) are downloads: the page links the CSV.
    on_page: bool = True
    note: str = ""

    def column(self, name: str) -> Column:
        return next(each for each in self.columns if each.name == name)

    def values(self, name: str) -> list[Cell]:
        index = [each.name for each in self.columns].index(name)
        return [row[index] for row in self.rows]

    def records(self) -> list[dict[str, Cell]]:
        names = [each.name for each in self.columns]
        return [dict(zip(names, row, strict=True)) for row in self.rows]


@dataclass(frozen=True)
class Figure:
    """A headline number (``value`` None: nothing to measure in the range)."""

    name: str
    title: str
    kind: Kind
    value: float | int | None


@dataclass(frozen=True)
class Report:
    name: str
    title: str
    description: str
    site_id: int
    site_name: str
    timezone: str
    first_day: date  # site-local, inclusive
    last_day: date  # site-local, inclusive
    figures: tuple[Figure, ...]
    tables: tuple[Table, ...]

    def table(self, name: str) -> Table:
        return next(each for each in self.tables if each.name == name)

    def figure(self, name: str) -> Figure:
        return next(each for each in self.figures if each.name == name)


def rate(part: int, whole: int) -> float | None:
    """``part / whole`` to four places, None when ``whole`` is 0 (no rate, not 0%)."""
    return round(part / whole, 4) if whole else None
