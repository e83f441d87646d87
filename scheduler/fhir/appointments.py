"""``/fhir/R4/Appointment`` read and search, over the v1 API's services and permission
table; and the Appointment resources of our records, holds and ``$find``'s proposals,
which the operations (:mod:`scheduler.fhir.operations`) answer with too.

A booked appointment's id is its number; a hold's ``hold-<pathway>-<hold>``; a
proposal's ``prop-…`` (:mod:`scheduler.fhir.proposals`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any, Final

from flask import Response, current_app
from sqlalchemy.orm import Session

from scheduler import context
from scheduler.auth.permissions import roles_of
from scheduler.clinicians import services as clinicians
from scheduler.errors import NotFound
from scheduler.fhir import proposals, resources
from scheduler.fhir.routes import (
    allowed,
    bad_search,
    base_url,
    blp,
    fhir_json,
    paging,
    search_args,
    search_bundle,
)
from scheduler.pathways import services as pathways
from scheduler.pathways.models import Pathway
from scheduler.scheduling import booking, desk
from scheduler.scheduling.models import Appointment, Hold
from scheduler.scheduling.slots import Slot
from scheduler.vocabulary import AppointmentKind, Method

# The roles of the v1 endpoint each interaction stands for (one permission table).
READ: Final = roles_of("GET /appointments/{appointment_id}")
SEARCH: Final = roles_of("GET /appointments")
FIND: Final = roles_of("GET /pathways/{pathway_id}/slots")
HOLD: Final = roles_of("POST /holds")
# A date search value: a prefix, then a day or an instant with its offset.
DATE_VALUE: Final = re.compile(r"(?P<op>eq|ne|gt|lt|ge|le)?(?P<when>\d{4}-\d\d-\d\d(T.+)?)\Z")


# ---------------------------------------------------------------------------------------
# Read and search


@blp.get("/Appointment/<appointment_id>")
def read_appointment(appointment_id: str) -> Response:
    """A booked appointment by number; a hold (``hold-…``) or a proposal (``prop-…``)
    to whoever may hold or book it."""
    session, actor, now = context.session(), context.actor(), context.now()
    if appointment_id.startswith(proposals.PROPOSED):
        allowed(FIND)
        proposal = decoded_proposal(appointment_id, now)
        pathway = pathways.get_pathway(session, actor, proposal.pathway_id)
        visit = proposed_visit(proposal, pathway.patient_id, None)
        return fhir_json(resources.appointment(visit, display_names(session, [pathway.site_id])))
    if appointment_id.startswith(proposals.PENDING):
        allowed(HOLD)
        _pathway_id, hold_id = pending_ids(appointment_id)
        held = desk.held_slot(session, actor, hold_id, now)
        visit = pending_visit(held.hold, held.pathway.patient_id, held)
        return fhir_json(
            resources.appointment(visit, display_names(session, [held.pathway.site_id]))
        )
    allowed(READ)
    record = booking.get_appointment(session, actor, appointment_number(appointment_id))
    state = session.get_one(Pathway, record.pathway_id).state
    visit = booked_visit(record, arrived=state in booking.ARRIVED)
    return fhir_json(resources.appointment(visit, display_names(session, [record.site_id])))


@blp.get("/Appointment")
def search_appointments() -> Response:
    """Appointments by ``patient``, ``actor`` (patient, practitioner, room or site),
    ``date`` (start; prefixes; a day at the appointment's site, or an instant with its
    offset; repeat for a range), ``status`` and ``service-type`` (comma: any of them), in
    start order, ``_count`` a page (patients: only their own)."""
    allowed(SEARCH)
    args = search_args("Appointment")
    for name in set(args) - {"date"}:
        if len(args.getlist(name)) > 1:
            raise bad_search(name, "send it once (commas separate alternatives).")
    count, offset = paging(args.get("_count"), args.get("_offset"))
    criteria: dict[str, Any] = {}
    if "patient" in args:
        criteria["patient_id"] = _reference_id(args["patient"], "Patient", "patient")
    if "actor" in args:
        criteria.update(_actor(args["actor"]))
    statuses = [_status(code) for code in _alternatives(args.get("status"))]
    services = [s for code in _alternatives(args.get("service-type")) if (s := _service(code))]
    if ("status" in args and not any(statuses)) or ("service-type" in args and not services):
        return search_bundle("Appointment", [], count, offset)  # e.g. status=pending: none stored
    session = context.session()
    statement = booking.search_statement(
        session,
        context.actor(),
        **criteria,
        services=services,
        statuses=[pair for pairs in statuses for pair in pairs],
        starts=[_date_bound(value) for value in args.getlist("date")],
    )
    rows = list(session.execute(statement.offset(offset).limit(count + 1)))
    names = display_names(session, {record.site_id for record, _state in rows})
    found = [
        resources.appointment(booked_visit(record, arrived=state in booking.ARRIVED), names)
        for record, state in rows
    ]
    return search_bundle("Appointment", found, count, offset)


def _actor(reference: str) -> dict[str, int]:
    kind, _, ident = reference.rpartition("/")
    if kind == "Patient":
        return {"patient_id": _reference_id(reference, "Patient", "actor")}
    if kind == "Practitioner":
        return {"clinician_id": _reference_id(reference, "Practitioner", "actor")}
    place, _, number = ident.partition("-")
    if kind == "Location" and place in ("room", "site") and number.isdecimal():
        return {f"{place}_id": checked_id(int(number), "actor")}
    raise bad_search(
        "actor", "send Patient/<id>, Practitioner/<id>, Location/room-<id> or Location/site-<id>."
    )


def _alternatives(value: str | None) -> list[str]:
    return [] if value is None else [part for part in value.split(",") if part]


def _status(code: str) -> tuple[Any, ...]:
    if code not in resources.STATUS_SEARCH:
        raise bad_search("status", f"{code!r} is not an appointment status of FHIR R4.")
    return resources.STATUS_SEARCH[code]


def _service(token: str) -> tuple[AppointmentKind, Method | None] | None:
    """The kind and method a service-type token names (None: another system's code)."""
    system, bar, code = token.rpartition("|")
    if bar and system not in ("", resources.SERVICE_SYSTEM):
        return None
    if code not in resources.SERVICES:
        known = ", ".join(resources.SERVICES)
        raise bad_search("service-type", f"{code!r} is none of our service types ({known}).")
    return resources.SERVICES[code]


def _date_bound(value: str) -> booking.StartBound:
    spelled = DATE_VALUE.match(value)
    problem = "send YYYY-MM-DD or a date and time with its offset, after a prefix if any."
    if spelled is None:
        raise bad_search("date", problem)
    op, when = spelled["op"] or "eq", spelled["when"]
    try:
        if "T" not in when:
            return op, date.fromisoformat(when)
        moment = datetime.fromisoformat(when)
    except ValueError:
        raise bad_search("date", problem) from None
    if moment.utcoffset() is None:
        raise bad_search("date", "a time needs its offset (e.g. -05:00 or Z).")
    return op, moment


def decoded_proposal(ident: str, now: datetime) -> proposals.Proposal:
    return proposals.decode(ident, current_app.config["SECRET_KEY"], now)


def proposed_visit(
    proposal: proposals.Proposal, patient_id: int, slot: Slot | None
) -> resources.Visit:
    """A proposal as an Appointment (with the units the search chose, when known)."""
    secret = current_app.config["SECRET_KEY"]
    return resources.Visit(
        id=proposals.encode(proposal, secret),
        status="proposed",
        kind=proposal.kind,
        method=proposal.method,
        start=proposal.start,
        end=proposal.end,
        patient_id=patient_id,
        clinician_id=proposal.clinician_id,
        room_id=proposal.room_id,
        equipment_ids=tuple(slot.equipment_ids) if slot else (),
        recovery_bay_id=slot.recovery_bay_id if slot else None,
    )


def pending_visit(
    placed: Hold,
    patient_id: int,
    held: desk.HeldSlot | None,
    slot: Slot | None = None,
    status: str = "pending",
) -> resources.Visit:
    units = held.unit_ids if held else tuple(slot.equipment_ids) if slot else ()
    bay = held.recovery_bay_id if held else slot.recovery_bay_id if slot else None
    return resources.Visit(
        id=proposals.pending_id(placed.pathway_id, placed.id),
        status=status,
        kind=placed.kind,
        method=placed.method,
        start=placed.start_at,
        end=placed.end_at,
        patient_id=patient_id,
        clinician_id=placed.clinician_id,
        room_id=placed.room_id,
        equipment_ids=units,
        recovery_bay_id=bay,
        created=placed.created_at,
        hold_expires=placed.expires_at if status == "pending" else None,
    )


def booked_visit(record: Appointment, *, arrived: bool) -> resources.Visit:
    return resources.Visit(
        id=str(record.id),
        status=resources.appointment_status(record.status, arrived=arrived),
        kind=record.kind,
        method=record.method,
        start=record.start_at,
        end=record.end_at,
        patient_id=record.patient_id,
        clinician_id=record.clinician_id,
        room_id=record.room_id,
        equipment_ids=tuple(record.equipment_ids),
        recovery_bay_id=record.recovery_bay_id,
        created=record.created_at,
        cancel_reason=record.cancel_reason,
    )


def display_names(session: Session, site_ids: Iterable[int]) -> dict[str, str]:
    """Display texts of the clinicians and of the sites' rooms, equipment and bays."""
    names = {
        f"Practitioner/{c.id}": f"{c.given_name} {c.family_name}"
        for c in clinicians.list_clinicians(session)
    }
    for site_id in set(site_ids):
        at = desk.site_resources(session, site_id)
        names |= {f"Location/room-{i}": name for i, name in at.rooms.items()}
        names |= {f"equipment-{i}": name for i, name in at.equipment.items()}
        names |= {f"bay-{i}": name for i, name in at.bays.items()}
    return names


def pending_ids(ident: str) -> tuple[int, str]:
    parts = proposals.pending_parts(ident)
    if parts is None:
        raise NotFound("Appointment", ident)
    return parts


def _reference_id(value: str, kind: str, name: str) -> int:
    """The record id a reference search value names (``Kind/<id>`` or ``<id>``)."""
    ident = value.removeprefix(base_url() + "/").removeprefix(f"{kind}/")
    if not ident.isdecimal():
        raise bad_search(name, f"send {kind}/<id>.")
    return checked_id(int(ident), name)


def checked_id(number: int, name: str) -> int:
    if not 0 < number < 2**31:
        raise bad_search(name, "no such record.")
    return number


def appointment_number(ident: str) -> int:
    if not ident.isdecimal() or not 0 < int(ident) < 2**31:
        raise NotFound("Appointment", ident)
    return int(ident)
