"""Web calendar links, the zone in words, arrival, and the blood-thinner advice
(scheduler/invites/ics.py)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

import pytest

from scheduler.invites.ics import (
    Clinic,
    Invite,
    arrival,
    google_calendar_url,
    outlook_calendar_url,
    preparation_text,
    zone_words,
)
from scheduler.vocabulary import AppointmentKind
from tests.unit.test_ics import CLINIC, CLINICAL_WORDS, INVITE

ADVICE = (
    "If you take blood thinners (such as warfarin, apixaban or clopidogrel), tell the "
    "clinic at least 7 days before your appointment on +1 555 0100: do not stop them on "
    "your own."
)


def query_of(url: str) -> dict[str, str]:
    return {name: value for name, [value] in parse_qs(urlsplit(url).query).items()}


def test_google_link_fills_the_template_with_utc_times_and_the_neutral_title() -> None:
    url = google_calendar_url(INVITE, CLINIC)

    assert url.startswith("https://calendar.google.com/calendar/render?")
    assert query_of(url) == {
        "action": "TEMPLATE",
        "text": "Appointment at Riverside Spine & Pain Center",
        "dates": "20260310T130000Z/20260310T143000Z",
        "details": "Please arrive by 8:30 AM EDT.",
        "location": "Riverside Spine & Pain Center, 12 River Rd, Springfield, Room 2",
    }


def test_outlook_link_fills_the_compose_deep_link_with_utc_times() -> None:
    url = outlook_calendar_url(INVITE, CLINIC)

    assert url.startswith("https://outlook.live.com/calendar/0/deeplink/compose?")
    query = query_of(url)
    assert (query["rru"], query["startdt"], query["enddt"]) == (
        "addevent",
        "2026-03-10T13:00:00Z",
        "2026-03-10T14:30:00Z",
    )
    assert query["subject"] == "Appointment at Riverside Spine & Pain Center"


@pytest.mark.parametrize("make", [google_calendar_url, outlook_calendar_url])
def test_web_calendar_links_carry_no_patient_and_no_clinical_word(
    make: Callable[[Invite, Clinic], str],
) -> None:
    words = " ".join(query_of(make(INVITE, CLINIC)).values()).lower()

    assert "lena" not in words
    assert "fischer" not in words
    assert "patient@example.org" not in words
    assert not [word for word in CLINICAL_WORDS if word in words]


def test_arrival_is_the_start_less_the_preparations_minutes_on_the_site_clock() -> None:
    assert arrival(INVITE).isoformat() == "2026-03-10T08:30:00-04:00"


@pytest.mark.parametrize(
    ("zone", "words"),
    [
        ("America/New_York", "New York time"),
        ("America/Argentina/Buenos_Aires", "Buenos Aires time"),
        ("UTC", "UTC time"),
    ],
)
def test_zones_are_named_as_patients_say_them(zone: str, words: str) -> None:
    assert zone_words(zone) == words


@pytest.mark.parametrize("kind", [AppointmentKind.DIAGNOSTIC_BLOCK, AppointmentKind.PROCEDURE])
def test_blocks_and_the_procedure_advise_on_blood_thinners(kind: AppointmentKind) -> None:
    text = preparation_text(dataclasses.replace(INVITE, kind=kind), CLINIC)

    assert ADVICE in text


def test_the_follow_up_needs_no_blood_thinner_advice() -> None:
    text = preparation_text(dataclasses.replace(INVITE, kind=AppointmentKind.FOLLOW_UP), CLINIC)

    assert "blood thinners" not in text
