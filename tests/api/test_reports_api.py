"""``/api/v1/reports``: one report as JSON or a table of it as CSV, for admins and managers."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy.orm import Session

from tests.reports_history import History, S, T, at
from tests.support import Api

OCTOBER = "from=2026-10-01&to=2026-10-31"


@pytest.fixture
def history(db: Session) -> History:
    """Two pathways referred in October: one cancelled with a reason a spreadsheet would
    run as a formula, one ineligible after a negative block."""
    h = History.open(db)
    cancelled = h.pathway(at("2026-10-02"), S.CANCELLED)
    h.event(cancelled, T.CANCEL_PATHWAY, S.CANCELLED, at("2026-10-03"), reason="=HYPERLINK(1)")
    ineligible = h.pathway(at("2026-10-04"), S.INELIGIBLE)
    h.block(ineligible, at("2026-10-06"), T.BLOCK_NEGATIVE)
    db.commit()
    return h


def test_a_manager_reads_a_report_as_json_with_site_local_days(api: Api, history: History) -> None:
    body = api.ok("GET", f"/reports/funnel?site_id={history.site.id}&{OCTOBER}", as_="manager")

    assert (body["name"], body["from"], body["to"]) == ("funnel", "2026-10-01", "2026-10-31")
    assert body["timezone"] == "America/New_York"
    stages = next(table for table in body["tables"] if table["name"] == "stages")
    assert [c["name"] for c in stages["columns"]] == [
        "stage",
        "pathways",
        "conversion",
        "of_referred",
    ]
    assert stages["rows"][0] == {
        "stage": "Referred",
        "pathways": 2,
        "conversion": None,
        "of_referred": 1.0,
    }
    assert stages["rows"][1]["pathways"] == 1
    figures = {figure["name"]: figure["value"] for figure in body["figures"]}
    assert figures["referred"] == 2


def test_a_day_column_is_written_in_iso_8601(api: Api, history: History) -> None:
    body = api.ok("GET", f"/reports/rooms?site_id={history.site.id}&{OCTOBER}", as_="admin")

    weeks = next(table for table in body["tables"] if table["name"] == "weeks")
    assert weeks["rows"][0]["week"] == "2026-09-28"


def test_a_table_downloads_as_rfc_4180_csv_with_formulas_defused(
    api: Api, history: History
) -> None:
    response = api.get(
        f"/reports/funnel?site_id={history.site.id}&{OCTOBER}&format=csv&table=drop_outs",
        as_="manager",
    )

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="funnel-drop_outs-2026-10-01-2026-10-31.csv"'
    )
    text = response.get_data(as_text=True)
    assert text.startswith("after_stage,cause,detail,pathways\r\n")
    rows = list(csv.reader(io.StringIO(text)))
    assert ["Referred", "cancelled", "'=HYPERLINK(1)", "1"] in rows
    assert ["First block result", "ineligible", "diagnostic_blocks", "1"] in rows


def test_csv_without_a_table_is_the_first_table(api: Api, history: History) -> None:
    response = api.get(
        f"/reports/attendance?site_id={history.site.id}&{OCTOBER}&format=csv", as_="admin"
    )

    lines = response.get_data(as_text=True).split("\r\n")
    assert lines[0].startswith("kind,due,attended,no_shows,no_show_rate")
    assert lines[1].startswith("Diagnostic block,")


def test_the_reports_are_listed_in_page_order(api: Api) -> None:
    names = [each["name"] for each in api.ok("GET", "/reports", as_="manager")]

    assert names == ["funnel", "time-to-treatment", "outcomes", "attendance", "rooms", "backfill"]


@pytest.mark.parametrize("role", ["scheduler", "clinician", "nurse", "patient"])
def test_only_admins_and_managers_read_reports(api: Api, history: History, role: str) -> None:
    response = api.get(f"/reports/funnel?site_id={history.site.id}&{OCTOBER}", as_=role)

    assert response.status_code == 403
    assert response.mimetype == "application/problem+json"


def test_a_manager_sees_the_sites_but_no_patient(api: Api, history: History) -> None:
    assert api.get("/sites", as_="manager").status_code == 200
    assert api.get("/patients", as_="manager").status_code == 403
    assert api.get("/appointments", as_="manager").status_code == 403
    assert (
        api.get(f"/reports/funnel?site_id={history.site.id}&{OCTOBER}", as_=None).status_code == 401
    )


@pytest.mark.parametrize(
    ("query", "status", "field"),
    [
        ("from=2026-10-31&to=2026-10-01", 422, "to"),
        ("from=2024-01-01&to=2026-10-01", 422, "to"),
        ("from=2026-10-01", 422, "from"),  # up to yesterday (March): before the first
        ("from=&to=2026-10-01", 422, "from"),
        ("from=2026-13-01&to=2026-10-01", 422, "from"),
        (f"{OCTOBER}&format=xml", 422, "format"),
        (f"{OCTOBER}&format=csv&table=payroll", 422, "table"),
    ],
)
def test_bad_queries_are_refused_with_the_field_named(
    api: Api, history: History, query: str, status: int, field: str
) -> None:
    response = api.get(f"/reports/funnel?site_id={history.site.id}&{query}", as_="manager")

    assert response.status_code == status
    assert response.mimetype == "application/problem+json"
    assert field in str(response.get_json()["errors"])


def test_without_days_a_report_covers_the_90_days_up_to_yesterday(
    api: Api, history: History
) -> None:
    """The API's clock: 2 March 2026, 14:00 in New York."""
    site = history.site.id

    body = api.ok("GET", f"/reports/attendance?site_id={site}", as_="manager")
    assert (body["from"], body["to"]) == ("2025-12-02", "2026-03-01")
    body = api.ok("GET", f"/reports/attendance?site_id={site}&to=2026-10-31", as_="manager")
    assert (body["from"], body["to"]) == ("2026-08-03", "2026-10-31")


def test_an_unknown_report_or_site_is_404(api: Api, history: History) -> None:
    assert api.get(f"/reports/payroll?site_id={history.site.id}&{OCTOBER}").status_code == 404
    assert api.get(f"/reports/funnel?site_id={history.site.id + 99}&{OCTOBER}").status_code == 404


def test_the_openapi_document_describes_reports_and_their_csv(api: Api) -> None:
    document = api.ok("GET", "/openapi.json", as_=None)

    operation = document["paths"]["/api/v1/reports/{name}"]["get"]
    assert "text/csv" in operation["responses"]["200"]["content"]
    parameters = {parameter["name"] for parameter in operation["parameters"]}
    assert {"site_id", "from", "to", "format", "table"} <= parameters
