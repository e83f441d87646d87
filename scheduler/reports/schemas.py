"""Reports over the API: the query (site, days, format) and the report as JSON."""

from __future__ import annotations

from datetime import date
from typing import Any

from marshmallow import fields, validate

from scheduler.reports.tables import Cell
from scheduler.schemas import Args, Day, Out, QueryId


class ReportQueryArgs(Args):
    site_id = QueryId(required=True)
    first_day = Day(
        data_key="from",
        metadata={"description": "First day, site-local (default: 90 days before ``to``)"},
    )
    last_day = Day(
        data_key="to",
        metadata={
            "description": "Last day, site-local (inclusive; default: yesterday); at most "
            "731 days after ``from``"
        },
    )
    format = fields.String(
        load_default="json",
        validate=validate.OneOf(["json", "csv"]),
        metadata={"description": "``csv``: one table as RFC 4180 CSV (see ``table``)"},
    )
    table = fields.String(
        load_default=None,
        validate=validate.Length(min=1, max=40),
        metadata={"description": "With ``format=csv``: which table (default: the first)"},
    )


class CellField(fields.Field[Any]):
    """A table cell: text, a whole number, a number, a site-local day (ISO 8601) or null."""

    def _serialize(self, value: Cell, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        return value.isoformat() if isinstance(value, date) else value


class ReportColumnSchema(Out):
    name = fields.String()
    title = fields.String()
    kind = fields.String(
        metadata={"description": "text, date, count, rate (0..1), days or minutes"}
    )


class ReportTableSchema(Out):
    name = fields.String()
    title = fields.String()
    note = fields.String()
    on_page = fields.Boolean(metadata={"description": "False: a long table, a download"})
    columns = fields.List(fields.Nested(ReportColumnSchema))
    rows = fields.Method("records", metadata={"description": "Objects keyed by column name"})

    def records(self, table: Any) -> list[dict[str, Any]]:
        cell = CellField()
        return [
            {name: cell.serialize(name, record) for name in record} for record in table.records()
        ]


class ReportFigureSchema(Out):
    name = fields.String()
    title = fields.String()
    kind = fields.String()
    value = fields.Raw(
        allow_none=True,
        metadata={"type": "number", "description": "null: nothing to measure in the range"},
    )


class ReportSchema(Out):
    name = fields.String()
    title = fields.String()
    description = fields.String()
    site_id = fields.Integer()
    site_name = fields.String()
    timezone = fields.String()
    first_day = fields.Date(data_key="from")
    last_day = fields.Date(data_key="to")
    figures = fields.List(fields.Nested(ReportFigureSchema))
    tables = fields.List(fields.Nested(ReportTableSchema))


class ReportNameSchema(Out):
    name = fields.String()
    title = fields.String()
