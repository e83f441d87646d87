"""The reports page (SPEC §11) through the Flask client: managers and admins see every
report of a site with its charts and tables; other roles are refused; a query the page
cannot use shows the form with the reason; each table downloads as RFC 4180 CSV."""

from __future__ import annotations

import csv
import html
import io
import re

import pytest
from sqlalchemy.orm import Session

from scheduler.auth.models import User
from scheduler.patients.models import Patient
from scheduler.reports.services import REPORTS
from scheduler.vocabulary import Role
from tests.api.conftest import Clinic
from tests.reports_history import History, S, T, at
from tests.support import Browser, make_user, text_of

# October 2026 at the history's New York site.
OCTOBER = {"from": "2026-10-01", "to": "2026-10-31"}


@pytest.fixture
def manager(db: Session) -> User:
    user = make_user(db, Role.MANAGER)
    db.commit()
    return user


@pytest.fixture
def history(db: Session) -> History:
    """Four pathways referred in October: one completed, one ineligible after a negative
    block, one cancelled, one still waiting."""
    h = History.open(db)
    done = h.pathway(at("2026-10-02"), S.COMPLETED)
    h.block(done, at("2026-10-05"), T.BLOCK_POSITIVE)
    h.procedure(done, at("2026-10-20"))
    h.follow_up(done, at("2026-10-30"), relief=80)
    refused = h.pathway(at("2026-10-03"), S.INELIGIBLE)
    h.block(refused, at("2026-10-10"), T.BLOCK_NEGATIVE)
    cancelled = h.pathway(at("2026-10-04"), S.CANCELLED)
    h.event(cancelled, T.CANCEL_PATHWAY, S.CANCELLED, at("2026-10-04", 12), reason="Moved away")
    h.pathway(at("2026-10-07"), S.REFERRED)
    db.commit()
    return h


def signed_in(browser: Browser, email: str) -> Browser:
    browser.sign_in(email)
    return browser


def query(site_id: int, **more: str) -> str:
    params = {"site_id": str(site_id), **OCTOBER, **more}
    return "&".join(f"{name}={value}" for name, value in params.items())


def section(page: str, name: str) -> str:
    """One report's section of the page."""
    found = re.search(rf'<section class="report" id="report-{name}".*?</section>', page, re.S)
    assert found, f"no section {name}"
    return found.group(0)


# ---------------------------------------------------------------------------------------
# Who sees it


def test_a_manager_lands_on_the_reports_after_signing_in(
    browser: Browser, manager: User, clinic: Clinic
) -> None:
    response = browser.sign_in(manager.email)

    assert response.status_code == 302
    assert response.headers["Location"] == "/reports/"
    page = text_of(browser.get("/", follow_redirects=True))
    assert "<h1>Reports" in page


def test_a_manager_sees_every_report_of_the_site_with_charts_tables_and_downloads(
    browser: Browser, manager: User, history: History
) -> None:
    response = signed_in(browser, manager.email).get(f"/reports/?{query(history.site.id)}")
    page = text_of(response)

    assert response.status_code == 200
    assert [html.unescape(t) for t in re.findall(r'<h2 id="report-[^"]+">([^<]+)<', page)] == (
        list(REPORTS.values())
    )
    nav = re.search(r'<nav class="reports-nav".*?</nav>', page, re.S)
    assert nav is not None
    assert re.findall(r'href="#report-([^"]+)"', nav.group(0)) == list(REPORTS)
    funnel = section(page, "funnel")
    assert '<svg xmlns="http://www.w3.org/2000/svg" class="chart chart-bars" role="img"' in funnel
    assert 'aria-labelledby="chart-funnel-stages-title chart-funnel-stages-desc"' in funnel
    assert re.search(
        r'<th scope="row" class="kind-text">Referred</th>\s*<td class="kind-count">4</td>', funnel
    )
    assert '<th scope="col" class="kind-count">Pathways</th>' in funnel
    site = history.site.id
    link = (
        f"/reports/funnel.csv?site_id={site}&amp;from=2026-10-01&amp;to=2026-10-31&amp;table=stages"
    )
    assert f'href="{link}"' in funnel
    assert "Pathways referred</dt><dd>4</dd>" in funnel
    assert "01 October 2026 to 31 October 2026" in page
    assert ' style="' not in page  # the CSP forbids inline styles, charts included


def test_the_reports_name_no_patient(
    browser: Browser, manager: User, history: History, db: Session
) -> None:
    page = text_of(signed_in(browser, manager.email).get(f"/reports/?{query(history.site.id)}"))

    patient = db.get(Patient, history.patient_id)
    assert patient is not None
    assert patient.family_name not in page
    assert patient.mrn not in page


def test_an_admin_sees_the_reports_too(
    browser: Browser, people: dict[str, str], history: History
) -> None:
    response = signed_in(browser, people["admin"]).get(f"/reports/?{query(history.site.id)}")

    assert response.status_code == 200
    assert 'id="report-rooms"' in text_of(response)


@pytest.mark.parametrize("role", ["scheduler", "clinician", "nurse", "patient"])
@pytest.mark.parametrize("path", ["/reports/", "/reports/funnel.csv?table=stages"])
def test_other_roles_cannot_open_the_reports(
    browser: Browser, people: dict[str, str], clinic: Clinic, role: str, path: str
) -> None:
    response = signed_in(browser, people[role]).get(path)

    assert (response.status_code, response.mimetype) == (403, "text/html")
    assert "Not yours to see" in text_of(response)


def test_signed_out_the_reports_ask_to_sign_in(browser: Browser, clinic: Clinic) -> None:
    response = browser.get("/reports/?report=funnel")

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/signin?next=/reports/")


def test_a_manager_is_shown_the_reports_and_no_patient_pages(
    browser: Browser, manager: User, clinic: Clinic
) -> None:
    page = text_of(signed_in(browser, manager.email).get("/reports/"))
    nav = re.search(r'<nav aria-label="Main">(.*?)</nav>', page, re.S)

    assert nav is not None
    assert re.findall(r">([^<]+)</a>", nav.group(1)) == ["Reports"]
    for path in ("/board/", "/board/waitlist/", "/clinicians", "/nurse/"):
        assert browser.get(path).status_code == 403, path


# ---------------------------------------------------------------------------------------
# The form


def test_the_page_opens_on_the_first_site_and_the_default_range(
    browser: Browser, manager: User, clinic: Clinic
) -> None:
    page = text_of(signed_in(browser, manager.email).get("/reports/"))

    # The frozen clock says 2 March 2026 in New York: the 90 days up to yesterday.
    assert 'name="from" value="2025-12-02"' in page
    assert 'name="to" value="2026-03-01"' in page
    assert f'<option value="{clinic.site_id}" selected>' in page
    assert len(re.findall(r'<section class="report"', page)) == len(REPORTS)


def test_one_report_alone(browser: Browser, manager: User, history: History) -> None:
    page = text_of(
        signed_in(browser, manager.email).get(f"/reports/?{query(history.site.id, report='rooms')}")
    )

    assert re.findall(r'<section class="report" id="report-([^"]+)"', page) == ["rooms"]
    assert '<option value="rooms" selected>' in page
    assert "All reports for this range" in page


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"from": "2026-13-40"}, "from", "Enter a date."),
        ({"to": "yesterday"}, "to", "Enter a date."),
        ({"from": "2026-10-31", "to": "2026-10-01"}, "to", "The last day comes before the first."),
        ({"from": "2024-01-01", "to": "2026-10-31"}, "to", "A report covers at most 731 days."),
        # The clock's yesterday (1 March 2026) is the last day when none is typed.
        (
            {"from": "2026-10-01", "to": ""},
            "from",
            "Comes after yesterday, the last day unless 'to' names another.",
        ),
        ({"report": "profits"}, "report", "Choose one of the reports listed."),
        ({"site_id": "first"}, "site_id", "Enter a number, in digits."),
    ],
)
def test_a_query_the_page_cannot_use_shows_the_form_with_the_reason_beside_the_field(
    browser: Browser,
    manager: User,
    history: History,
    params: dict[str, str],
    field: str,
    message: str | None,
) -> None:
    chosen = {"site_id": str(history.site.id), **OCTOBER, **params}
    response = signed_in(browser, manager.email).get("/reports/", query_string=chosen)
    page = text_of(response)

    assert (response.status_code, response.mimetype) == (422, "text/html")
    assert "No report shown: please correct the form." in page
    error = re.search(rf'<span class="field-error" id="{field}-error">([^<]+)<', page)
    assert error is not None
    if message:
        assert html.unescape(error.group(1)) == message
    assert re.search(rf'id="{field}" name="{field}"[^>]*aria-invalid="true"', page)
    assert '<section class="report"' not in page
    if field in {"from", "to"}:
        assert f'value="{chosen[field]}"' in page  # what was typed stays in the field


def test_an_unknown_site_is_said_above_the_form(
    browser: Browser, manager: User, clinic: Clinic
) -> None:
    response = signed_in(browser, manager.email).get("/reports/?site_id=999999")

    assert response.status_code == 404
    assert "No site with id 999999." in text_of(response)
    assert 'class="reports-form"' in text_of(response)


# ---------------------------------------------------------------------------------------
# CSV downloads


def test_a_table_downloads_as_rfc_4180_csv_named_by_report_table_and_range(
    browser: Browser, manager: User, history: History
) -> None:
    response = signed_in(browser, manager.email).get(
        f"/reports/funnel.csv?{query(history.site.id, table='stages')}"
    )

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="funnel-stages-2026-10-01-2026-10-31.csv"'
    )
    body = response.get_data(as_text=True)
    assert "\r\n" in body  # RFC 4180 line ends
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0][:2] == ["stage", "pathways"]
    assert rows[1][:2] == ["Referred", "4"]


def test_a_download_only_table_is_linked_from_the_page(
    browser: Browser, manager: User, history: History
) -> None:
    page = text_of(
        signed_in(browser, manager.email).get(f"/reports/?{query(history.site.id, report='rooms')}")
    )
    downloads = re.search(r'<div class="report-downloads">.*?</div>', page, re.S)

    assert downloads is not None
    (link,) = re.findall(r'href="([^"]+)"', downloads.group(0))
    response = browser.get(html.unescape(link))
    assert response.status_code == 200
    assert response.mimetype == "text/csv"


@pytest.mark.parametrize(
    ("path", "status", "said"),
    [
        (
            "/reports/funnel.csv?table=nothing",
            422,
            "This report's tables are: stages, drop_outs.",
        ),
        ("/reports/profits.csv?table=stages", 404, "No report with id profits."),
        ("/reports/funnel.csv?table=stages&from=2026-02-30", 422, "From: Enter a date."),
        ("/reports/funnel.csv?table=stages&site_id=0", 422, "Site: Enter a number from 1"),
        (
            "/reports/funnel.csv?table=stages&from=2026-10-31&to=2026-10-01",
            422,
            "The last day comes before the first.",
        ),
    ],
)
def test_a_bad_download_link_answers_plainly(
    browser: Browser, manager: User, history: History, path: str, status: int, said: str
) -> None:
    response = signed_in(browser, manager.email).get(path)

    assert (response.status_code, response.mimetype) == (status, "text/plain")
    assert said in text_of(response)
