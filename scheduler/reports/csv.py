"""A report's table as CSV (RFC 4180): a header row of column names, CRLF line ends,
site-local days in ISO 8601, rates as fractions, nothing as an empty field.

Text that a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@``, tab or carriage
return first) is written with a leading apostrophe: reasons are typed by people.
Pure module: no Flask, no SQLAlchemy.
"""

from __future__ import annotations

import csv
import io
from datetime import date

from scheduler.reports.tables import Cell, Report, Table

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _field(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        return f"'{value}" if value.startswith(_FORMULA_START) else value
    return str(value)


def table_csv(table: Table) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(column.name for column in table.columns)
    writer.writerows([_field(value) for value in row] for row in table.rows)
    return out.getvalue()


def filename(report: Report, table: Table) -> str:
    """``funnel-stages-2026-09-01-2026-11-30.csv``: report, table and the days covered."""
    return f"{report.name}-{table.name}-{report.first_day}-{report.last_day}.csv"
