"""Settings that need more than a type conversion, parsed once and checked at start.

``config.py`` holds the defaults and reads the environment; this module turns the values
that combine or constrain each other into typed settings, and refuses a bad one when the
app (or the worker) starts rather than when it is first used.
Pure module: no Flask, no SQLAlchemy.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from typing import Any, Literal

Security = Literal["none", "starttls", "ssl"]


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    security: Security = "none"
    username: str = ""
    password: str = field(default="", repr=False)
    timeout: float = 30.0


@dataclass(frozen=True)
class DeliverySettings:
    smtp: SmtpSettings
    sender: str  # the clinic's address: the e-mail's From: and the invite's ORGANIZER
    public_base_url: str  # where the invite links in the e-mails point
    secret_key: str = field(repr=False)  # signs those links
    alarms: tuple[timedelta, ...]
    max_attempts: int
    retry_base: timedelta  # the wait after the first failure; doubled after each next one
    retry_cap: timedelta


SECURITIES: tuple[Security, ...] = ("none", "starttls", "ssl")


def alarm_minutes(setting: object) -> tuple[timedelta, ...]:
    """INVITE_ALARM_MINUTES ("1440,120") as lead times; a bad value fails at start."""
    try:
        alarms = tuple(
            timedelta(minutes=int(part)) for part in str(setting).split(",") if part.strip()
        )
    except ValueError:
        raise ValueError(
            "INVITE_ALARM_MINUTES must be minutes separated by commas, e.g. 1440,120."
        ) from None
    if any(alarm <= timedelta(0) for alarm in alarms):
        raise ValueError("INVITE_ALARM_MINUTES must be positive.")
    return alarms


def delivery_settings(config: Mapping[str, Any]) -> DeliverySettings:
    """The worker's settings from the app's configuration; a bad value fails at start."""
    security = config["MAIL_SECURITY"]
    if security not in SECURITIES:
        raise ValueError(f"MAIL_SECURITY must be one of {', '.join(SECURITIES)}.")
    alarms = alarm_minutes(config["INVITE_ALARM_MINUTES"])
    if "@" not in config["MAIL_FROM"]:
        raise ValueError("MAIL_FROM must be an e-mail address.")
    if config["OUTBOX_MAX_ATTEMPTS"] < 1:
        raise ValueError("OUTBOX_MAX_ATTEMPTS must be at least 1.")
    return DeliverySettings(
        smtp=SmtpSettings(
            host=config["MAIL_HOST"],
            port=int(config["MAIL_PORT"]),
            security=security,
            username=config["MAIL_USERNAME"],
            password=config["MAIL_PASSWORD"],
            timeout=float(config["MAIL_TIMEOUT_SECONDS"]),
        ),
        sender=config["MAIL_FROM"],
        public_base_url=config["PUBLIC_BASE_URL"],
        secret_key=config["SECRET_KEY"],
        alarms=alarms,
        max_attempts=int(config["OUTBOX_MAX_ATTEMPTS"]),
        retry_base=timedelta(seconds=int(config["OUTBOX_RETRY_BASE_SECONDS"])),
        retry_cap=timedelta(seconds=int(config["OUTBOX_RETRY_MAX_SECONDS"])),
    )


class PatientDetail(StrEnum):
    """How much of the patient a feed shows (FEED_PATIENT_DETAIL): calendars sync to
    phones and laptops that are less guarded than the clinic's own systems.

    The SUMMARY (what lock screens and shared calendars show) is "Clinic appointment" in
    NEUTRAL, the kind of case in NONE, and the kind with the patient's initials or name
    and MRN in INITIALS and FULL. The case's details stay in the DESCRIPTION.
    """

    NEUTRAL = "neutral"
    NONE = "none"
    INITIALS = "initials"
    FULL = "full"


def check_settings(config: Mapping[str, Any]) -> None:
    """Refuse to start with a setting that would only fail later, in a worker or a feed."""
    delivery_settings(config)
    try:
        PatientDetail(config["FEED_PATIENT_DETAIL"])
    except ValueError:
        choices = ", ".join(detail.value for detail in PatientDetail)
        raise ValueError(f"FEED_PATIENT_DETAIL must be one of {choices}.") from None
