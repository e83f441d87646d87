"""IHE ITI Scheduling's operations on ``/fhir/R4/Appointment`` (ITI-115/116/117), over
the v1 API's services and permission table.

- ``$find`` runs the pathway slot search (the one availability function, the policy's
  gates) and answers proposed Appointments whose ids carry what booking them needs
  (:mod:`scheduler.fhir.proposals`): nothing is written.
- ``$hold`` places a hold on a proposal (as ``POST /holds``): a pending Appointment with
  the hold's expiry.
- ``$book`` books a proposal or a hold (as ``POST /appointments``), moves a booked
  appointment to a proposal or hold made for the move (as ``PATCH``), or, sent an
  Appointment with status ``cancelled``, cancels a booked appointment or lets a hold go.

A refusal is an OperationOutcome with the v1 API's status and the rule ids of unmet
prerequisites (see ``routes.init_app``). The app registers the FHIR blueprint from here,
with every route on it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any, Final

from flask import Response, current_app, request
from sqlalchemy.orm import Session
from werkzeug.exceptions import BadRequest, UnsupportedMediaType

from scheduler import context
from scheduler.auth.permissions import roles_of
from scheduler.errors import Conflict, DomainError, InvalidInput
from scheduler.fhir import parameters, proposals, resources
from scheduler.fhir.appointments import (
    FIND,
    HOLD,
    appointment_number,
    booked_visit,
    checked_id,
    decoded_proposal,
    display_names,
    pending_ids,
    pending_visit,
    proposed_visit,
)
from scheduler.fhir.routes import (
    allowed,
    base_url,
    blp,
    fhir_json,
)
from scheduler.pathways import services as pathways
from scheduler.pathways.models import Pathway
from scheduler.pathways.states import TERMINAL, next_booking
from scheduler.patients.services import get_patient
from scheduler.scheduling import booking, cancellation, desk, holds
from scheduler.scheduling.models import Appointment, Hold
from scheduler.scheduling.search import search_slots
from scheduler.scheduling.slots import Slot
from scheduler.vocabulary import AppointmentKind, Method

# The FHIR blueprint, with every route on it (the app registers it from here).
__all__ = ["blp"]

# The roles of the v1 endpoint each operation stands for (one permission table).
BOOK: Final = roles_of("POST /appointments")
MOVE: Final = roles_of("PATCH /appointments/{appointment_id}")
CANCEL: Final = roles_of("POST /appointments/{appointment_id}/cancel")
RELEASE: Final = roles_of("DELETE /holds/{hold_id}")
# $find: how many proposals by default and at most, and the longest window it searches.
FIND_COUNT: Final = 10
FIND_MAX_COUNT: Final = 50
FIND_MAX_DAYS: Final = 90
FIND_PARAMETERS: Final[dict[str, parameters.Kind]] = {
    "start": "instant",
    "end": "instant",
    "patient": "reference",
    "practitioner": "reference",
    "service-type": "token",
    "reschedule": "reference",
    "_count": "integer",
}
HOLD_PARAMETERS: Final[dict[str, parameters.Kind]] = {"appointment-reference": "reference"}
BOOK_PARAMETERS: Final[dict[str, parameters.Kind]] = {
    "appointment-reference": "reference",
    "appointment": "Appointment",
}
JSON_TYPES: Final = ("application/fhir+json", "application/json")

# ---------------------------------------------------------------------------------------
# $find, $hold, $book


@blp.post("/Appointment/$find")
def find() -> Response:
    """ITI-115: the earliest slots for a patient's next step (or a booked appointment's
    move, ``reschedule``) between ``start`` and ``end``, as proposed Appointments."""
    allowed(FIND)
    values = parameters.read(_body(), FIND_PARAMETERS)
    session, actor, now = context.session(), context.actor(), context.now()
    start, end = _required(values, "start"), _required(values, "end")
    if end <= start:
        raise InvalidInput.field("end", "Send an end after the start.")
    if end - start > timedelta(days=FIND_MAX_DAYS):
        raise InvalidInput.field("end", f"Search at most {FIND_MAX_DAYS} days at once.")
    count = values.get("_count", FIND_COUNT)
    if not 1 <= count <= FIND_MAX_COUNT:
        raise InvalidInput.field("_count", f"Ask for 1 to {FIND_MAX_COUNT} proposals.")
    service = _find_service(values.get("service-type"))
    clinician_id = (
        _parameter_id(values["practitioner"], "Practitioner", "practitioner")
        if "practitioner" in values
        else None
    )
    wanted = _wanted(session, values, service)
    days = math.ceil((end - max(start, now)) / timedelta(days=1))
    offered: list[resources.Visit] = []
    refusals: list[DomainError] = []
    for pathway, kind, method, moving in wanted:
        try:
            found, _zone = search_slots(
                session,
                actor,
                now,
                pathway.id,
                kind=kind,
                after=start,
                limit=count,
                days=max(days, 1),
                method=method if moving is None else None,
                clinician_id=clinician_id if moving is None else None,
                appointment_id=moving.id if moving else None,
            )
        except DomainError as refusal:
            refusals.append(refusal)
            continue
        chosen = method if kind is AppointmentKind.PROCEDURE else None
        offered += [
            proposed_visit(
                _proposal_of(slot, pathway, kind, chosen, moving, now), pathway.patient_id, slot
            )
            for slot in found
            if slot.start < end and (clinician_id is None or slot.clinician_id == clinician_id)
        ]
    if not offered and refusals:
        raise refusals[0]
    offered = sorted(offered, key=lambda visit: (visit.start, visit.id))[:count]
    names = display_names(session, {pathway.site_id for pathway, *_rest in wanted})
    return _operation_answer("$find", [resources.appointment(v, names) for v in offered])


@blp.post("/Appointment/$hold")
def hold() -> Response:
    """ITI-116: hold a proposal of ``$find`` (as ``POST /holds``): the pending
    Appointment, and until when it is held."""
    allowed(HOLD)
    values = parameters.read(_body(), HOLD_PARAMETERS)
    session, actor, now = context.session(), context.actor(), context.now()
    ident = _own_id(_required(values, "appointment-reference"))
    if not ident.startswith(proposals.PROPOSED):
        raise InvalidInput.field(
            "appointment-reference", "Hold a proposed appointment from $find (prop-…)."
        )
    proposal = decoded_proposal(ident, now)
    ttl = timedelta(seconds=current_app.config["HOLD_TTL_SECONDS"])
    placed, slot, _zone = holds.place_hold(
        session,
        actor,
        now,
        pathway_id=proposal.pathway_id,
        kind=proposal.kind,
        start=proposal.start,
        ttl=ttl,
        method=proposal.method,
        clinician_id=proposal.clinician_id if proposal.appointment_id is None else None,
        room_id=proposal.room_id,
        appointment_id=proposal.appointment_id,
    )
    pathway = session.get_one(Pathway, placed.pathway_id)
    visit = pending_visit(placed, pathway.patient_id, None, slot)
    answer = resources.appointment(visit, display_names(session, [pathway.site_id]))
    session.commit()
    until = placed.expires_at.isoformat(timespec="seconds")
    note = resources.information(f"Held until {until}; book it with $book before then.")
    return _operation_answer("$hold", [answer], [note])


@blp.post("/Appointment/$book")
def book() -> Response:
    """ITI-117: book a proposal or a hold (a move's: move the appointment), or cancel."""
    values = parameters.read(_body(), BOOK_PARAMETERS)
    if len(values) != 1:
        raise InvalidInput.field(
            "appointment-reference",
            "Send either appointment-reference (to book) or appointment (status cancelled).",
        )
    if "appointment" in values:
        return _cancel(values["appointment"])
    session, actor, now = context.session(), context.actor(), context.now()
    ident = _own_id(values["appointment-reference"])
    reminder = context.reminder_before()
    if ident.startswith(proposals.PROPOSED):
        proposal = decoded_proposal(ident, now)
        if proposal.appointment_id is not None:
            allowed(MOVE)
            record = booking.reschedule_appointment(
                session,
                actor,
                now,
                proposal.appointment_id,
                start=proposal.start,
                room_id=proposal.room_id,
                reminder_before=reminder,
            )
        else:
            allowed(BOOK)
            record = booking.book_appointment(
                session,
                actor,
                now,
                pathway_id=proposal.pathway_id,
                kind=proposal.kind,
                start=proposal.start,
                room_id=proposal.room_id,
                clinician_id=proposal.clinician_id,
                method=proposal.method,
                reminder_before=reminder,
            )
    elif ident.startswith(proposals.PENDING):
        record = _book_hold(session, ident, reminder)
    else:
        allowed(BOOK)
        raise Conflict(
            f"Appointment/{ident} is already booked; $book takes a proposal or a hold.",
        )
    visit = booked_visit(record, arrived=False)
    answer = resources.appointment(visit, display_names(session, [record.site_id]))
    session.commit()
    return _operation_answer("$book", [answer])


def _book_hold(session: Session, ident: str, reminder: timedelta) -> Appointment:
    """Book a hold (or move the appointment it was placed for); a hold already used says
    which appointment it became."""
    actor, now = context.actor(), context.now()
    pathway_id, hold_id = pending_ids(ident)
    placed = session.get(Hold, hold_id)
    if placed is None or placed.pathway_id != pathway_id or placed.expires_at <= now:
        allowed(BOOK)
        used = desk.consumed_by(session, actor, pathway_id, hold_id)
        if used is not None:
            raise Conflict(f"The hold was already booked: Appointment/{used.appointment_id}.")
        raise InvalidInput.field(
            "appointment-reference", "No such hold: it may have expired. Run $find again."
        )
    if placed.appointment_id is not None:
        allowed(MOVE)
        return booking.reschedule_appointment(
            session, actor, now, placed.appointment_id, hold_id=hold_id, reminder_before=reminder
        )
    allowed(BOOK)
    return booking.book_appointment(
        session,
        actor,
        now,
        pathway_id=placed.pathway_id,
        kind=placed.kind,
        hold_id=hold_id,
        reminder_before=reminder,
    )


def _cancel(sent: dict[str, Any]) -> Response:
    """``$book`` of an Appointment with status cancelled: cancel a booked appointment
    (its ``cancelationReason`` is the reason) or let a hold go."""
    if sent.get("status") != "cancelled":
        raise InvalidInput.field(
            "appointment", "Send status cancelled to cancel (to book, send appointment-reference)."
        )
    ident = sent.get("id")
    if not isinstance(ident, str):
        raise InvalidInput.field("appointment", "Send the id of the appointment to cancel.")
    session, actor = context.session(), context.actor()
    if ident.startswith(proposals.PENDING):
        allowed(RELEASE)
        _pathway_id, hold_id = pending_ids(ident)
        released = holds.release_hold(session, actor, hold_id)
        pathway = session.get_one(Pathway, released.pathway_id)
        _require_same_patient(sent, pathway.patient_id)
        visit = pending_visit(released, pathway.patient_id, None, status="cancelled")
        answer = resources.appointment(visit, display_names(session, [pathway.site_id]))
        session.commit()
        return _operation_answer("$book", [answer])
    allowed(CANCEL)
    reason = _cancel_reason(sent.get("cancelationReason"))
    appointment_id = appointment_number(ident)
    _require_same_patient(sent, booking.get_appointment(session, actor, appointment_id).patient_id)
    record = cancellation.cancel_appointment(session, actor, context.now(), appointment_id, reason)
    answer = resources.appointment(
        booked_visit(record, arrived=False), display_names(session, [record.site_id])
    )
    session.commit()
    return _operation_answer("$book", [answer])


def _require_same_patient(sent: dict[str, Any], patient_id: int) -> None:
    """The patients an Appointment sent to cancel names must be the appointment's own (a
    hold is let go before this check; the refusal rolls it back)."""
    named = {
        actor.get("reference")
        for participant in sent.get("participant") or []
        if isinstance(participant, dict) and isinstance(actor := participant.get("actor"), dict)
    }
    others = {
        reference
        for reference in named
        if isinstance(reference, str)
        and reference.startswith("Patient/")
        and reference != f"Patient/{patient_id}"
    }
    if others:
        raise InvalidInput.field("appointment", "That is not this appointment's patient.")


def _cancel_reason(concept: Any) -> str:
    """The words of a cancelationReason (its text, or its first coding's display)."""
    if isinstance(concept, dict):
        codings = concept.get("coding") or [{}]
        words = concept.get("text") or codings[0].get("display") or codings[0].get("code")
        if isinstance(words, str) and words.strip():
            return words.strip()[: parameters.MAX_TEXT]
    raise InvalidInput.field("appointment", "Say why in cancelationReason.text.")


# ---------------------------------------------------------------------------------------
# What the operations share


def _body() -> Any:
    """The request's JSON (FHIR or plain JSON media type)."""
    if request.mimetype not in JSON_TYPES:
        raise UnsupportedMediaType("Send application/fhir+json.")
    body = request.get_json(silent=True)
    if body is None:
        raise BadRequest("The body is not JSON: send a Parameters resource.")
    return body


def _required(values: dict[str, Any], name: str) -> Any:
    if name not in values:
        raise InvalidInput.field(name, "This parameter is required.")
    return values[name]


def _find_service(
    token: tuple[str | None, str] | None,
) -> tuple[AppointmentKind, Method | None] | None:
    if token is None:
        return None
    system, code = token
    if system not in (None, resources.SERVICE_SYSTEM) or code not in resources.SERVICES:
        known = ", ".join(resources.SERVICES)
        raise InvalidInput.field("service-type", f"Not one of our service types ({known}).")
    return resources.SERVICES[code]


Wanted = tuple[Pathway, AppointmentKind, Method | None, Appointment | None]


def _wanted(
    session: Session, values: dict[str, Any], service: tuple[AppointmentKind, Method | None] | None
) -> list[Wanted]:
    """What to search for: the move of a booked appointment, or the next step of each of
    the patient's open pathways (of the service asked for, if any)."""
    actor = context.actor()
    patient_id = (
        _parameter_id(values["patient"], "Patient", "patient") if "patient" in values else None
    )
    if "reschedule" in values:
        moving = booking.get_appointment(
            session, actor, _parameter_id(values["reschedule"], "Appointment", "reschedule")
        )
        if patient_id is not None and moving.patient_id != patient_id:
            raise InvalidInput.field("reschedule", "Not an appointment of that patient.")
        if service is not None and service != (moving.kind, moving.method):
            raise InvalidInput.field("service-type", "Not the service of that appointment.")
        pathway = pathways.get_pathway(session, actor, moving.pathway_id)
        return [(pathway, moving.kind, moving.method, moving)]
    if patient_id is None:
        raise InvalidInput.field("patient", "Send the patient (or reschedule).")
    get_patient(session, actor, patient_id)
    open_ones = [
        p
        for p in session.scalars(pathways.list_statement(actor, {"patient_id": patient_id}))
        if p.state not in TERMINAL
    ]
    if service is None:
        return [
            (p, kind, p.method if kind is AppointmentKind.PROCEDURE else None, None)
            for p in open_ones
            if (kind := next_booking(p.state)) is not None
        ] or _nothing_to_book()
    kind, method = service
    ready = [p for p in open_ones if next_booking(p.state) is kind]
    # None ready: search anyway, so that the refusal says why (e.g. unmet prerequisites).
    return [(p, kind, method, None) for p in (ready or open_ones)] or _nothing_to_book()


def _nothing_to_book() -> list[Wanted]:
    raise InvalidInput.field("patient", "The patient has no open pathway waiting for a booking.")


def _proposal_of(
    slot: Slot,
    pathway: Pathway,
    kind: AppointmentKind,
    method: Method | None,
    moving: Appointment | None,
    now: datetime,
) -> proposals.Proposal:
    return proposals.Proposal(
        pathway_id=pathway.id,
        kind=kind,
        method=method,
        start=slot.start,
        end=slot.end,
        clinician_id=slot.clinician_id,
        room_id=slot.room_id,
        appointment_id=moving.id if moving else None,
        made=now,
    )


def _operation_answer(
    operation: str, found: list[dict[str, Any]], outcomes: Iterable[dict[str, Any]] = ()
) -> Response:
    """IHE's answer to an operation: a searchset Bundle of the Appointments (and notes)."""
    links = {"self": f"{base_url()}/Appointment/{operation}"}
    return fhir_json(resources.searchset(found, links, base_url(), outcomes))


def _own_id(reference: str) -> str:
    """The id of one of our Appointments in a reference (relative, or absolute with our
    base); an appointment of another server is not ours to hold or book."""
    relative = reference.removeprefix(base_url() + "/")
    kind, _, ident = relative.partition("/")
    if kind != "Appointment" or not proposals.FHIR_ID.match(ident):
        raise InvalidInput.field(
            "appointment-reference", "Send Appointment/<id> of an appointment of this server."
        )
    return ident


def _parameter_id(reference: str, kind: str, name: str) -> int:
    """The record id in a parameter's reference (``Kind/<id>``, relative or ours)."""
    relative = reference.removeprefix(base_url() + "/")
    prefix, _, ident = relative.partition("/")
    if prefix != kind or not ident.isdecimal():
        raise InvalidInput.field(name, f"Send a reference to a {kind} (e.g. {kind}/12).")
    return checked_id(int(ident), name)
