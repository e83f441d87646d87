"""Reports: ``/reports`` names them, ``/reports/{name}`` answers one as JSON or a table of
it as CSV. Admins and managers only; aggregate figures, never a patient's row."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask.views import MethodView

from scheduler.api import Blueprint
from scheduler.context import now, session
from scheduler.downloads import CSV, report_csv
from scheduler.reports import services
from scheduler.reports.schemas import ReportNameSchema, ReportQueryArgs, ReportSchema
from scheduler.reports.tables import Report

blp = Blueprint("reports", __name__, description="Reports for clinic managers (SPEC §11)")


@blp.route("/reports")
class Reports(MethodView):
    @blp.response(200, ReportNameSchema(many=True))
    def get(self) -> list[dict[str, str]]:
        """The reports there are, in the order the reports page shows them"""
        return [{"name": name, "title": title} for name, title in services.REPORTS.items()]


@blp.route("/reports/<name>")
class OneReport(MethodView):
    @blp.arguments(ReportQueryArgs, location="query")
    @blp.response(200, ReportSchema)
    @blp.doc(
        responses={
            "200": {
                "description": "The report (``format=csv``: one of its tables as CSV)",
                "content": {CSV: {"schema": {"type": "string"}}},
            }
        }
    )
    def get(self, args: dict[str, Any], name: str) -> Report | Response:
        """One report for a site over a range of site-local days

        ``funnel``, ``time-to-treatment``, ``outcomes``, ``attendance``, ``rooms`` or
        ``backfill`` (``GET /reports`` lists them). Without ``from`` and ``to``, the last 90
        days up to yesterday on the site's calendar. Counts and rates only: no row names a
        patient. With ``format=csv`` the answer is one table (``table``, default the
        first) as RFC 4180 CSV with a header row.
        """
        report = services.build(
            session(), now(), name, args["site_id"], args.get("first_day"), args.get("last_day")
        )
        if args["format"] != "csv":
            return report
        return report_csv(report, args["table"])
