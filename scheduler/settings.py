"""Settings that need more than a type conversion, parsed once and checked at start.

``config.py`` holds the defaults and reads the environment; this module turns the values
that combine or constrain each other into typed settings, and refuses a bad one when the
app (or the worker) starts rather than when it is first used.
Pure module: no Flask, no SQLAlchemy.
"""

from __future__ import annotations

import re
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


@dataclass(frozen=True)
class Hl7Receiver:
    """One system that gets our SIU messages over MLLP (an EHR, a portal)."""

    name: str  # ours: the deliveries of this receiver carry it
    host: str
    port: int
    receiving_application: str = ""  # MSH-5
    receiving_facility: str = ""  # MSH-6


@dataclass(frozen=True)
class Hl7Settings:
    """HL7 v2 SIU out: who receives, who we are, how hard the worker tries."""

    receivers: tuple[Hl7Receiver, ...]
    sending_application: str  # MSH-3
    sending_facility: str  # MSH-4
    mrn_authority: str  # PID-3.4: whose medical record numbers
    ack_timeout: float  # seconds to wait for an ACK
    max_attempts: int
    retry_base: timedelta  # the wait after the first failure; doubled after each next one
    retry_cap: timedelta

    @property
    def receiver_names(self) -> tuple[str, ...]:
        return tuple(receiver.name for receiver in self.receivers)


_RECEIVER_NAME = re.compile(r"[A-Za-z0-9_-]{1,40}")
# HL7's delimiters (MSH-1, MSH-2): an identifier holding one would change the message.
_HL7_DELIMITERS = frozenset("|^~\\&\r\n")
_RECEIVERS_FORMAT = (
    "HL7_RECEIVERS must be name=host:port[/RECEIVING_APPLICATION[/RECEIVING_FACILITY]] "
    "entries separated by commas, e.g. ehr=10.0.0.7:2575/EHR/MAIN."
)


def _hl7_identifier(name: str, value: str) -> str:
    """An application or facility name (HD-1, an IS of 20 characters in HL7 v2.5.1)."""
    if any(char in _HL7_DELIMITERS for char in value) or len(value) > 20:
        raise ValueError(f"{name} must be at most 20 characters, without | ^ ~ \\ &.")
    return value


def _hl7_receiver(entry: str) -> Hl7Receiver:
    name, equals, rest = entry.strip().partition("=")
    address, *names = rest.split("/")
    host, colon, port = address.rpartition(":")
    if not (equals and colon and host and _RECEIVER_NAME.fullmatch(name)) or len(names) > 2:
        raise ValueError(_RECEIVERS_FORMAT)
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"HL7_RECEIVERS: the port of {name} must be 1 to 65535.")
    application, facility = (*names, "", "")[:2]
    return Hl7Receiver(
        name=name,
        host=host.strip("[]"),
        port=int(port),
        receiving_application=_hl7_identifier("HL7_RECEIVERS", application),
        receiving_facility=_hl7_identifier("HL7_RECEIVERS", facility),
    )


def hl7_receivers(setting: object) -> tuple[Hl7Receiver, ...]:
    """HL7_RECEIVERS as receivers, each name once; a bad value fails at start."""
    receivers = tuple(_hl7_receiver(entry) for entry in str(setting).split(",") if entry.strip())
    names = [receiver.name for receiver in receivers]
    if len(set(names)) != len(names):
        raise ValueError("HL7_RECEIVERS: each receiver needs its own name.")
    return receivers


def hl7_settings(config: Mapping[str, Any]) -> Hl7Settings:
    """The SIU settings from the app's configuration; a bad value fails at start."""
    if int(config["HL7_MAX_ATTEMPTS"]) < 1:
        raise ValueError("HL7_MAX_ATTEMPTS must be at least 1.")
    for name in ("HL7_ACK_TIMEOUT_SECONDS", "HL7_RETRY_BASE_SECONDS"):
        if int(config[name]) < 1:  # no wait before a retry would retry at once, forever
            raise ValueError(f"{name} must be at least 1.")
    if int(config["HL7_RETRY_MAX_SECONDS"]) < int(config["HL7_RETRY_BASE_SECONDS"]):
        raise ValueError("HL7_RETRY_MAX_SECONDS must be at least HL7_RETRY_BASE_SECONDS.")
    for name in ("HL7_SENDING_APPLICATION", "HL7_SENDING_FACILITY", "HL7_MRN_AUTHORITY"):
        if not str(config[name]).strip():
            raise ValueError(f"{name} must not be empty.")
        _hl7_identifier(name, str(config[name]))
    return Hl7Settings(
        receivers=hl7_receivers(config["HL7_RECEIVERS"]),
        sending_application=str(config["HL7_SENDING_APPLICATION"]),
        sending_facility=str(config["HL7_SENDING_FACILITY"]),
        mrn_authority=str(config["HL7_MRN_AUTHORITY"]),
        ack_timeout=float(config["HL7_ACK_TIMEOUT_SECONDS"]),
        max_attempts=int(config["HL7_MAX_ATTEMPTS"]),
        retry_base=timedelta(seconds=int(config["HL7_RETRY_BASE_SECONDS"])),
        retry_cap=timedelta(seconds=int(config["HL7_RETRY_MAX_SECONDS"])),
    )


@dataclass(frozen=True)
class BackfillSettings:
    """How waitlist offers are made (SPEC §10)."""

    offer_ttl: timedelta = timedelta(hours=2)  # an offer expires this long after it is made
    fanout: int = 1  # offers made at once for one slot; the first acceptance wins
    reminder_before: timedelta = timedelta(hours=48)  # the booked appointment's reminder


# An offer must leave the patient some time to answer; at most this many at once.
MIN_OFFER_MINUTES = 15
MAX_OFFERS_AT_ONCE = 10


def backfill_settings(config: Mapping[str, Any]) -> BackfillSettings:
    """The waitlist's settings from the app's configuration; a bad value fails at start."""
    minutes = int(config["WAITLIST_OFFER_MINUTES"])
    if minutes < MIN_OFFER_MINUTES:
        raise ValueError(f"WAITLIST_OFFER_MINUTES must be at least {MIN_OFFER_MINUTES}.")
    fanout = int(config["WAITLIST_OFFERS_AT_ONCE"])
    if not 1 <= fanout <= MAX_OFFERS_AT_ONCE:
        raise ValueError(f"WAITLIST_OFFERS_AT_ONCE must be between 1 and {MAX_OFFERS_AT_ONCE}.")
    return BackfillSettings(
        offer_ttl=timedelta(minutes=minutes),
        fanout=fanout,
        reminder_before=timedelta(hours=int(config["REMINDER_HOURS_BEFORE"])),
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
    hl7_settings(config)
    backfill_settings(config)
    try:
        PatientDetail(config["FEED_PATIENT_DETAIL"])
    except ValueError:
        choices = ", ".join(detail.value for detail in PatientDetail)
        raise ValueError(f"FEED_PATIENT_DETAIL must be one of {choices}.") from None
