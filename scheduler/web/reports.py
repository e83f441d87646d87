"""The reports page for clinic managers (SPEC §11): a site's reports over a range of days,
as headline figures, tables, SVG charts and CSV downloads.

One page holds all six reports, as sections under an in-page list of links, because a
manager's review (the month's figures, the pack for a meeting) reads them together: one
form sets the site and the range for all of them, nothing has to be opened six times,
and the page prints as one document. ``?report=<name>`` narrows the page to one report
(each section links to it) for a quick look or a one-report print.

The page builds nothing itself: the query is loaded by the API's own schema
(``ReportQueryArgs``; blanks take the first site and the default range), the report
services compute every figure, the charts are drawn by :mod:`scheduler.reports.charts`
(which escapes every text), and each table's CSV is the file the API answers
(:mod:`scheduler.reports.csv`). A query the page cannot use (a date that is not one, a
range the services refuse) shows the form again with the reason beside the field; a CSV
link with bad values answers in plain text (404 unknown report or site, 422 bad values).
Reports carry counts and rates only, never a row that names a patient.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Final

from flask import Blueprint, Response, render_template, request, url_for
from flask.typing import ResponseReturnValue
from markupsafe import Markup
from marshmallow import ValidationError

from scheduler import context
from scheduler.auth.permissions import roles_of
from scheduler.downloads import report_csv
from scheduler.errors import DomainError, NotFound
from scheduler.facilities import services as facilities
from scheduler.facilities.models import Site
from scheduler.reports import charts
from scheduler.reports import services as reports
from scheduler.reports.schemas import ReportQueryArgs
from scheduler.reports.tables import Report, Table
from scheduler.web.forms import Problem, form_input, problem_of
from scheduler.web.signin import page

blp = Blueprint("reports", __name__, url_prefix="/reports")

# Whoever the API lets read reports (managers and admins): aggregate figures only.
READERS: Final = roles_of("GET /reports/{name}")
FORM: Final = "reports"
# The form's fields, whose errors stand beside them.
FIELDS: Final = frozenset({"site_id", "from", "to", "report"})
QUERY: Final = ("site_id", "from", "to")


@dataclass(frozen=True)
class Shown:
    """A report as the page shows it: the report, and each table's chart (SVG markup)."""

    report: Report
    charts: dict[str, Markup]


@blp.app_template_filter("report_value")
def report_value(value: Any, kind: Any) -> str:
    """A figure or table cell as the chart writes it (a rate as a percentage...)."""
    return charts.display(value, kind)


@blp.get("/")
@page(*READERS)
def index() -> ResponseReturnValue:
    session = context.session()
    sites = facilities.sites_by_name(session)
    typed = {name: request.args.get(name, "") for name in (*QUERY, "report")}
    given = form_input(request.args)
    problem: Problem | None = None
    shown: list[Shown] = []
    site: Site | None = None
    first_day = last_day = None
    try:
        chosen = given.get("report")
        if chosen is not None and chosen not in reports.REPORTS:
            raise ValidationError({"report": ["Choose one of the reports listed."]})
        if sites:
            site, asked_first, asked_last = _query(sites, given)
            names = [chosen] if chosen else list(reports.REPORTS)
            now = context.now()
            shown = [
                _shown(reports.build(session, now, name, site.id, asked_first, asked_last))
                for name in names
            ]
            # The days the reports cover, blanks filled the way the service fills them.
            first_day, last_day = shown[0].report.first_day, shown[0].report.last_day
            typed |= {"from": first_day.isoformat(), "to": last_day.isoformat()}
    except (ValidationError, DomainError) as error:
        refused = problem_of(FORM, error, FIELDS)
        problem = Problem(
            FORM,
            "No report shown: please correct the form.",
            refused.messages,
            refused.fields,
            refused.status,
        )
        shown = []
    return render_template(
        "web/reports.html",
        sites=sites,
        site=site,
        first_day=first_day,
        last_day=last_day,
        typed=typed,
        titles=reports.REPORTS,
        shown=shown,
        single=len(shown) == 1,
        problem=problem,
    ), problem.status if problem else 200


@blp.get("/<name>.csv")
@page(*READERS)
def download(name: str) -> Response:
    """One table of one report as an RFC 4180 CSV file: the file the API answers for
    ``GET /reports/{name}?format=csv`` (the first table when none is named)."""
    session = context.session()
    given = form_input(request.args)
    try:
        site, first_day, last_day = _query(facilities.sites_by_name(session), given)
        report = reports.build(session, context.now(), name, site.id, first_day, last_day)
        return report_csv(report, given.get("table"))
    except (ValidationError, DomainError) as error:
        problem = problem_of(FORM, error, frozenset())
        return _plain(problem.status, problem.messages)


def csv_url(report: Report, table: Table) -> str:
    """The page's download link of one table, for the report's site and days."""
    query: dict[str, Any] = {
        "site_id": report.site_id,
        "from": report.first_day.isoformat(),
        "to": report.last_day.isoformat(),
        "table": table.name,
    }
    return url_for("web.reports.download", name=report.name, **query)


blp.add_app_template_global(csv_url, "report_csv_url")


def _query(sites: list[Site], given: Mapping[str, Any]) -> tuple[Site, date | None, date | None]:
    """The site and days asked for, loaded by the API's own query schema; a blank site is
    the first by name, a blank day None (the report fills it: ``reports.days_asked``)."""
    query = {name: given[name] for name in QUERY if name in given}
    if "site_id" not in query and sites:
        query["site_id"] = str(sites[0].id)
    args = ReportQueryArgs().load(query)
    site = next((each for each in sites if each.id == args["site_id"]), None)
    if site is None:
        raise NotFound("site", args["site_id"])
    return site, args.get("first_day"), args.get("last_day")


def _shown(report: Report) -> Shown:
    drawn = {}
    for table in report.tables:
        picture = charts.svg(table, f"{report.name}-{table.name}") if table.on_page else None
        if picture is not None:
            # charts.svg escapes every text of the table: the markup is safe to inline.
            drawn[table.name] = Markup(picture)  # noqa: S704
    return Shown(report, drawn)


def _plain(status: int, messages: list[str]) -> Response:
    return Response("\n".join(messages) + "\n", status=status, mimetype="text/plain")
