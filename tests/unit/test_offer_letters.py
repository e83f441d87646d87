"""The offer e-mail and its signed links (waitlist/letters.py). Pure: no database."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from scheduler.invites.ics import Clinic
from scheduler.waitlist.letters import (
    OfferLetter,
    build_offer_message,
    offer_id_of,
    offer_token,
    offer_url,
)

SECRET = "a-secret"
CLINIC = Clinic(
    name="Riverside Spine Clinic",
    email="desk@clinic.example",
    address="1 Main St",
    phone="+1 555 0100",
)
NOW = datetime(2026, 3, 2, 19, 0, tzinfo=UTC)


def test_a_token_names_its_offer_and_nothing_else_reads_as_one() -> None:
    token = offer_token(SECRET, 42)
    assert offer_id_of(SECRET, token) == 42
    assert offer_id_of("another-secret", token) is None
    assert offer_id_of(SECRET, token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]) is None
    assert offer_id_of(SECRET, "not-a-token") is None
    assert offer_id_of(SECRET, "") is None


@pytest.mark.parametrize("payload", [0, -1, 2**31, True, "7", None, [7], 1.5])
def test_a_signed_value_that_is_not_an_offer_id_is_refused(payload: object) -> None:
    from itsdangerous import URLSafeSerializer

    from scheduler.waitlist.letters import OFFER_SALT

    forged = URLSafeSerializer(SECRET, salt=OFFER_SALT).dumps(payload)
    assert offer_id_of(SECRET, forged) is None


def test_the_links_open_the_offer_page_with_the_answer_preselected() -> None:
    url = offer_url("https://clinic.example/", SECRET, 42, "accept")
    token = url.removeprefix("https://clinic.example/offers/").split("?")[0]
    assert url.endswith("?answer=accept")
    assert offer_id_of(SECRET, token) == 42


def test_the_message_is_neutral_and_carries_the_time_the_deadline_and_both_links() -> None:
    letter = OfferLetter(
        patient_email="pat@mail.example",
        clinic=CLINIC,
        start=datetime(2026, 3, 4, 14, 0, tzinfo=UTC),  # 09:00 in New York
        expires_at=datetime(2026, 3, 2, 21, 0, tzinfo=UTC),  # 16:00 in New York
        timezone="America/New_York",
        accept_url="https://clinic.example/offers/T?answer=accept",
        decline_url="https://clinic.example/offers/T?answer=decline",
    )

    message = build_offer_message(letter, message_id="<k@clinic.example>", now=NOW)

    assert (
        message["Subject"]
        == "An earlier appointment at Riverside Spine Clinic on Wednesday, March 4, 2026"
    )
    assert message["To"] == "pat@mail.example"
    assert message["From"] == "Riverside Spine Clinic <desk@clinic.example>"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    for body in (text, html):
        assert "9:00 AM EST" in body
        assert "4:00 PM EST" in body
        assert letter.accept_url.replace("&", "&amp;") in body or letter.accept_url in body
        assert "answer=decline" in body
        for clinical in ("block", "procedure", "neurotomy", "ablation", "diagnos"):
            assert clinical not in body.lower()
    assert [part.get_content_type() for part in message.walk()] == [
        "multipart/alternative",
        "text/plain",
        "text/html",
    ]


def test_a_naive_now_is_refused() -> None:
    letter = OfferLetter("p@mail.example", CLINIC, NOW, NOW, "UTC", "a", "d")
    with pytest.raises(ValueError, match="timezone-aware"):
        build_offer_message(letter, message_id="<k@x>", now=NOW.replace(tzinfo=None))
