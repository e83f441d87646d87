"""Domain errors. Services raise them; one handler turns each into problem+json (RFC 9457).

Messages here reach API clients and logs, so they never carry patient data (names, MRN,
dates of birth): they speak of ids, states, rules and resource kinds. Only an extension
member meant for the client that may see the records names a patient (``stranded``).
Pure module: no Flask, no SQLAlchemy.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, ClassVar


class DomainError(Exception):
    """Base of every error a client can cause; never a 500."""

    status: ClassVar[int] = 400
    slug: ClassVar[str] = "bad-request"
    title: ClassVar[str] = "Bad request"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail

    def extensions(self) -> dict[str, Any]:
        """Extra members of the problem document."""
        return {}


class Unauthorized(DomainError):
    status = 401
    slug = "unauthorized"
    title = "Authentication required"


class Forbidden(DomainError):
    status = 403
    slug = "forbidden"
    title = "Not allowed"


class NotFound(DomainError):
    status = 404
    slug = "not-found"
    title = "Not found"

    def __init__(self, resource: str, ident: object) -> None:
        super().__init__(f"No {resource} with id {ident}.")


class Conflict(DomainError):
    status = 409
    slug = "conflict"
    title = "Conflict"


class IllegalTransition(Conflict):
    slug = "illegal-transition"
    title = "Illegal transition"

    def __init__(self, state: str, trigger: str, *, detail: str | None = None) -> None:
        super().__init__(detail or f"'{trigger}' is not possible while the pathway is '{state}'.")
        self.state = state
        self.trigger = trigger

    def extensions(self) -> dict[str, Any]:
        return {"state": self.state, "trigger": self.trigger}


class SlotTaken(Conflict):
    slug = "slot-taken"
    title = "Slot taken"

    def __init__(self, resources: Iterable[str]) -> None:
        self.resources = sorted(set(resources))
        super().__init__(
            "The requested time overlaps another booking for the " + ", ".join(self.resources) + "."
        )

    def extensions(self) -> dict[str, Any]:
        return {"resources": self.resources}


@dataclass(frozen=True)
class StrandedBooking:
    """A booked appointment a change of the clinician's hours or time off would leave
    without its clinician: what the person confirming the change needs to see."""

    appointment_id: int
    start: datetime
    timezone: str  # the site's zone, in which the page shows ``start``
    kind: str
    patient_name: str  # "Family, Given", as the pages write it
    patient_mrn: str
    patient_birth_date: date


class BookingsStranded(Conflict):
    """The change would leave booked appointments outside the clinician's hours. The
    problem names them (``stranded``: id, start, patient, kind) for the admin who must
    confirm; the detail, which reaches logs, keeps to counts and ids."""

    slug = "bookings-stranded"
    title = "Booked appointments would be stranded"

    def __init__(self, stranded: Iterable[StrandedBooking], change: str) -> None:
        self.stranded = list(stranded)
        self.appointment_ids = [s.appointment_id for s in self.stranded]
        super().__init__(
            f"{len(self.appointment_ids)} booked appointment(s) would fall outside {change}: "
            "move or cancel them first, or confirm the change (confirm_stranded) to send "
            "them to the Rebook queue."
        )

    def extensions(self) -> dict[str, Any]:
        return {
            "appointment_ids": self.appointment_ids,
            "stranded": [
                {
                    "appointment_id": s.appointment_id,
                    "start": s.start.isoformat(),
                    "kind": s.kind,
                    "patient_name": s.patient_name,
                }
                for s in self.stranded
            ],
        }


class InviteLinkUnavailable(Conflict):
    """No invite link for an appointment that is no longer booked (cancelled, missed,
    completed) or is over: the link would already be dead (its 404 says nothing).

    409, not 410: the appointment is still there (its invite is the cancellation); it is
    its state that rules a working link out, as the state rules out a change (409).
    """

    slug = "invite-link-unavailable"
    title = "No invite link"

    def __init__(self, appointment_id: int, why: str) -> None:
        super().__init__(f"Appointment {appointment_id} {why}: an invite link would not work.")


class OfferClosed(Conflict):
    """A waitlist offer that can no longer be answered: already answered, expired, or its
    slot went to someone else. The patient's page says so kindly; the API answers 409."""

    slug = "offer-closed"
    title = "Offer closed"

    def __init__(self, offer_id: int, why: str) -> None:
        super().__init__(f"Offer {offer_id} {why}.")
        self.why = why


class PreconditionFailed(DomainError):
    """The thing changed since the client read it (a stale ETag: RFC 9110 §13.1.1)."""

    status = 412
    slug = "precondition-failed"
    title = "Precondition failed"


class InvalidInput(DomainError):
    """Input that passed the schema but not a rule of the domain (422 with ``errors``)."""

    status = 422
    slug = "invalid-input"
    title = "Invalid input"

    def __init__(self, errors: Mapping[str, Sequence[str]]) -> None:
        self.errors = {field: list(messages) for field, messages in errors.items()}
        super().__init__("; ".join(f"{f}: {' '.join(m)}" for f, m in self.errors.items()))

    @classmethod
    def field(cls, name: str, message: str) -> InvalidInput:
        return cls({name: [message]})

    def extensions(self) -> dict[str, Any]:
        return {"errors": self.errors}


@dataclass(frozen=True)
class UnmetRule:
    id: str
    message: str


class PrerequisitesUnmet(DomainError):
    """A step refused because rules of the pathway's policy do not hold (SPEC §3)."""

    status = 422
    slug = "prerequisites-unmet"
    title = "Prerequisites not met"

    def __init__(self, action: str, unmet: Sequence[UnmetRule]) -> None:
        self.action = action
        self.unmet = list(unmet)
        super().__init__(f"Cannot {action}: " + " ".join(rule.message for rule in self.unmet))

    def extensions(self) -> dict[str, Any]:
        return {
            "unmet": [rule.id for rule in self.unmet],
            "rules": [{"id": rule.id, "message": rule.message} for rule in self.unmet],
        }


def flatten_errors(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """marshmallow's nested errors as ``{"a.b.0": [...]}``; schema-level under the parent."""
    if isinstance(messages, list):
        return {prefix or "_body": [str(m) for m in messages]}
    flat: dict[str, list[str]] = {}
    for key, value in messages.items():
        name = prefix if key == "_schema" else f"{prefix}.{key}" if prefix else str(key)
        for field, field_messages in flatten_errors(value, name).items():
            flat.setdefault(field, []).extend(field_messages)
    return flat
