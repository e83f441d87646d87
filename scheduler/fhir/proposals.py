"""The ids of ``$find``'s proposed appointments and ``$hold``'s pending ones.

A proposal is not stored: its id carries what ``$hold`` and ``$book`` need (pathway,
service, start, clinician, room, the appointment a move is for, when it was made) and a
MAC under the app's secret, so a forged, altered or foreign id is refused and ``$find``
writes nothing. A FHIR id is at most 64 characters of ``[A-Za-z0-9-.]``: numbers are
written in base 36 (times in minutes since 1970), the MAC is 64 bits; with every id
below 2**31 the whole stays within 64 characters.
Pure module: no Flask, no SQLAlchemy.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from scheduler.errors import InvalidInput
from scheduler.vocabulary import AppointmentKind, Method

PROPOSED: Final = "prop-"
PENDING: Final = "hold-"
# How long a proposal may be held or booked after $find made it.
PROPOSAL_TTL: Final = timedelta(minutes=30)
_DIGITS: Final = "0123456789abcdefghijklmnopqrstuvwxyz"
_SERVICES: Final[dict[str, tuple[AppointmentKind, Method | None]]] = {
    "b": (AppointmentKind.DIAGNOSTIC_BLOCK, None),
    "r": (AppointmentKind.PROCEDURE, Method.RFA),
    "l": (AppointmentKind.PROCEDURE, Method.LASER),
    "m": (AppointmentKind.PROCEDURE, Method.MECHANICAL),
    "f": (AppointmentKind.FOLLOW_UP, None),
}
_MINUTE: Final = 60
FHIR_ID: Final = re.compile(r"[A-Za-z0-9\-.]{1,64}\Z")


@dataclass(frozen=True)
class Proposal:
    """One slot ``$find`` offered for one pathway's next step (or a move)."""

    pathway_id: int
    kind: AppointmentKind
    method: Method | None
    start: datetime
    end: datetime
    clinician_id: int
    room_id: int
    appointment_id: int | None  # the booked appointment this slot would move
    made: datetime


def encode(proposal: Proposal, secret: str) -> str:
    """The proposal's FHIR id: ``prop-`` and dot-separated fields, then its MAC."""
    service = next(c for c, meant in _SERVICES.items() if meant == (proposal.kind, proposal.method))
    fields = [
        _b36(proposal.pathway_id),
        service,
        _b36(int(proposal.start.timestamp()) // _MINUTE),
        _b36(int((proposal.end - proposal.start).total_seconds()) // _MINUTE),
        _b36(proposal.clinician_id),
        _b36(proposal.room_id),
        _b36(proposal.appointment_id or 0),
        _b36(int(proposal.made.timestamp()) // _MINUTE),
    ]
    body = ".".join(fields)
    return f"{PROPOSED}{body}-{_mac(body, secret)}"


def decode(text: str, secret: str, now: datetime) -> Proposal:
    """The proposal an id stands for; refused when it is not ours or is too old."""
    body, _, mac = text.removeprefix(PROPOSED).rpartition("-")
    ours = FHIR_ID.match(text) and text.startswith(PROPOSED)
    if not ours or not hmac.compare_digest(mac, _mac(body, secret)):
        raise _refused("is not a proposal of this server's $find.")
    pathway, service, start, minutes, clinician, room, moving, made = body.split(".")
    kind, method = _SERVICES[service]
    proposal = Proposal(
        pathway_id=int(pathway, 36),
        kind=kind,
        method=method,
        start=_at(start),
        end=_at(start) + timedelta(minutes=int(minutes, 36)),
        clinician_id=int(clinician, 36),
        room_id=int(room, 36),
        appointment_id=int(moving, 36) or None,
        made=_at(made),
    )
    if now - proposal.made > PROPOSAL_TTL:
        lasts = int(PROPOSAL_TTL.total_seconds()) // _MINUTE
        raise _refused(f"has expired (proposals last {lasts} minutes): run $find again.")
    return proposal


def pending_id(pathway_id: int, hold_id: str) -> str:
    """A hold's FHIR id: its pathway (a used hold is found by its pathway's events)."""
    return f"{PENDING}{pathway_id}-{hold_id}"


def pending_parts(text: str) -> tuple[int, str] | None:
    """The pathway and hold of a pending appointment's id, or None when it is not one."""
    pathway, _, hold = text.removeprefix(PENDING).partition("-")
    if not text.startswith(PENDING) or not pathway.isdecimal() or not hold.isalnum():
        return None
    return int(pathway), hold


def _refused(why: str) -> InvalidInput:
    return InvalidInput.field("appointment-reference", f"The appointment {why}")


def _mac(body: str, secret: str) -> str:
    digest = hmac.new(secret.encode(), f"fhir-proposal:{body}".encode(), hashlib.sha256)
    return _b36(int.from_bytes(digest.digest()[:8], "big"))


def _b36(number: int) -> str:
    text = ""
    while True:
        number, digit = divmod(number, 36)
        text = _DIGITS[digit] + text
        if number == 0:
            return text


def _at(minutes: str) -> datetime:
    return datetime.fromtimestamp(int(minutes, 36) * _MINUTE, UTC)
