"""The offer e-mail and its signed links (SPEC §10).

The links carry the offer's id signed with the install's secret: they need no login, they
cannot be guessed or altered, and they name nothing about the patient. Opening one shows
the offer and a button; nothing is booked or declined by a GET (mail scanners open links).
The wording is neutral: the clinic and the time, nothing clinical (the subject shows in
notifications and inbox lists).
Pure module: no Flask, no SQLAlchemy.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Final
from zoneinfo import ZoneInfo

from itsdangerous import BadSignature, URLSafeSerializer

from scheduler.invites.ics import Clinic, render

OFFER_SALT: Final = "waitlist-offer"
# Ids are database integers; anything else in a token is not ours.
MAX_ID: Final = 2**31


def offer_token(secret_key: str, offer_id: int) -> str:
    return str(URLSafeSerializer(secret_key, salt=OFFER_SALT).dumps(offer_id))


def offer_id_of(secret_key: str, token: str) -> int | None:
    """The offer a token names, or None when it is not one of ours (altered, foreign)."""
    try:
        offer_id = URLSafeSerializer(secret_key, salt=OFFER_SALT).loads(token)
    except (BadSignature, ValueError, TypeError):
        return None
    if isinstance(offer_id, bool) or not isinstance(offer_id, int) or not 0 < offer_id < MAX_ID:
        return None
    return offer_id


def offer_url(base_url: str, secret_key: str, offer_id: int, answer: str) -> str:
    """The page of the offer with ``answer`` (accept or decline) preselected."""
    token = offer_token(secret_key, offer_id)
    return f"{base_url.rstrip('/')}/offers/{token}?answer={answer}"


@dataclass(frozen=True)
class OfferLetter:
    """What the offer e-mail says: where, when, until when, and the two links."""

    patient_email: str
    clinic: Clinic
    start: datetime
    expires_at: datetime
    timezone: str
    accept_url: str
    decline_url: str


def build_offer_message(letter: OfferLetter, *, message_id: str, now: datetime) -> EmailMessage:
    """Text and HTML: an earlier time is free, take it or leave it, held until when."""
    if now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    zone = ZoneInfo(letter.timezone)
    context = {
        "clinic": letter.clinic,
        "start": letter.start.astimezone(zone),
        "expires": letter.expires_at.astimezone(zone),
        "accept_url": letter.accept_url,
        "decline_url": letter.decline_url,
    }
    subject = render("waitlist/offer_subject.txt", **context)
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = Address(display_name=letter.clinic.name, addr_spec=letter.clinic.email)
    message["To"] = Address(addr_spec=letter.patient_email)
    message["Date"] = format_datetime(now.astimezone(UTC))
    message["Message-ID"] = message_id
    message.set_content(render("waitlist/offer.txt", **context), cte="quoted-printable")
    message.add_alternative(
        render("waitlist/offer.html", subject=subject, **context),
        subtype="html",
        cte="quoted-printable",
    )
    return message
