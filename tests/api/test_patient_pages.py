"""The patient's pages: when to arrive first, the zone in words, tap-to-call, web calendar
links, and blood-thinner advice in the preparation."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from tests.api.conftest import Clinic
from tests.api.test_full_pathway import book, refer
from tests.support import Api, Browser, local, text_of

DAY = "2026-03-03"
BLOOD_THINNERS = (
    "If you take blood thinners (such as warfarin, apixaban or clopidogrel), tell the clinic "
    "at least 7 days before your appointment"
)


def _query(html: str, prefix: str) -> dict[str, list[str]]:
    start = html.index(f'href="{prefix}')
    url = html[start + len('href="') : html.index('"', start + len('href="'))]
    return parse_qs(urlsplit(url.replace("&amp;", "&")).query)


def test_the_list_says_when_to_arrive_before_the_appointment_time_in_plain_words(
    api: Api, browser: Browser, people: dict[str, str], clinic: Clinic
) -> None:
    pathway = refer(api, clinic)["id"]
    book(api, clinic, pathway, "diagnostic_block", local(DAY, 9, 30))
    browser.sign_in(people["patient"])

    listing = text_of(browser.get("/me"))

    assert "<strong>Arrive at 09:15</strong>, appointment at 09:30 (New York time)" in listing
    assert "America/New_York" not in listing
    assert "(.ics)" not in listing
    assert "Add to calendar (Apple, Outlook desktop)" in listing
    assert 'Questions? Call <a href="tel:' in listing


def test_the_appointment_page_links_phone_google_and_outlook_and_advises_on_blood_thinners(
    api: Api, browser: Browser, people: dict[str, str], clinic: Clinic
) -> None:
    pathway = refer(api, clinic)["id"]
    appointment = book(api, clinic, pathway, "diagnostic_block", local(DAY, 9, 30))
    site = api.ok("GET", f"/sites/{clinic.site_id}")
    browser.sign_in(people["patient"])

    html = text_of(browser.get(f"/me/appointments/{appointment['id']}"))
    google = _query(html, "https://calendar.google.com/calendar/render?")
    outlook = _query(html, "https://outlook.live.com/calendar/0/deeplink/compose?")
    digits = "".join(c for c in site["phone"] if c.isdigit() or c == "+")

    assert "<dt>Arrive at</dt><dd><strong>09:15</strong></dd>" in html
    assert f'<a href="tel:{digits}">{site["phone"]}</a>' in html
    assert google["action"] == ["TEMPLATE"]
    assert google["dates"] == ["20260303T143000Z/20260303T150000Z"]
    assert google["text"] == [f"Appointment at {site['display_name'] or site['name']}"]
    assert outlook["startdt"] == ["2026-03-03T14:30:00Z"]
    assert outlook["subject"] == google["text"]
    assert outlook["location"] == google["location"]
    for query in (google, outlook):
        shown = " ".join(value for values in query.values() for value in values)
        assert "Given" not in shown
        assert "Family" not in shown
        assert "MRN" not in shown
    assert BLOOD_THINNERS in html
    assert "do not stop them on your own." in html
