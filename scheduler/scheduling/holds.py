"""Holds: one offered slot's resources reserved for a few minutes while the desk confirms,
and the allocation rows that make any double booking impossible (SPEC §4)."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from scheduler.access import Actor
from scheduler.db import saved
from scheduler.errors import InvalidInput, NotFound, SlotTaken
from scheduler.pathways.models import Pathway
from scheduler.scheduling import checks, slots
from scheduler.scheduling.models import Allocation, Appointment, Hold
from scheduler.vocabulary import AppointmentKind, Method, ResourceKind

# The PostgreSQL exclusion constraints are named allocations_no_overlapping_<kind>.
OVERLAP_CONSTRAINT = "allocations_no_overlapping_"


def allocate(
    session: Session,
    slot: slots.Slot,
    calendars: slots.Calendars,
    patient_id: int,
    *,
    appointment_id: int | None = None,
    hold_id: str | None = None,
    beside: Iterable[Allocation] = (),
) -> list[Allocation]:
    """Write the slot's allocations; the database refuses an overlap another request won.

    ``beside`` are rows the same booking already holds (a move's hold keeps the old time
    until it is confirmed): what they cover is left out, as it is already reserved.
    """
    kept: dict[tuple[ResourceKind, int], list[slots.Interval]] = {}
    for row in beside:
        key = (row.resource_kind, row.resource_id)
        kept.setdefault(key, []).append(slots.Interval(row.start_at, row.end_at))
    wanted = [
        (kind, resource_id, piece)
        for kind, resource_id, interval in slot.allocations(calendars, patient_id)
        for piece in interval.minus(kept.get((kind, resource_id), ()))
    ]
    lapsed = slots.lapsed_in_the_way(wanted, calendars)
    if lapsed:  # past their time, their rows would still be refused as overlaps
        session.execute(delete(Hold).where(Hold.id.in_(sorted(lapsed))))
    rows = [
        Allocation(
            appointment_id=appointment_id,
            hold_id=hold_id,
            resource_kind=kind,
            resource_id=resource_id,
            start_at=piece.start,
            end_at=piece.end,
            active=True,
        )
        for kind, resource_id, piece in wanted
    ]
    session.add_all(rows)
    try:
        session.flush()
    except IntegrityError as error:
        constraint = getattr(getattr(error.orig, "diag", None), "constraint_name", None) or ""
        if not constraint.startswith(OVERLAP_CONSTRAINT):
            raise
        raise SlotTaken([constraint.removeprefix(OVERLAP_CONSTRAINT)]) from None
    return rows


def release_expired_holds(session: Session, now: datetime) -> None:
    """Expired holds cost nothing: placing a hold sweeps them all. Bookings and moves do
    not (a statement less on their way); they release only a lapsed hold in their way
    (``allocate``), and the reads already treat every lapsed hold as free."""
    session.execute(delete(Hold).where(Hold.expires_at <= now))


def _placed_by(actor: Actor, hold: Hold) -> bool:
    """Holds are personal: the desk member who placed one books it or lets it go."""
    return actor.user_id is None or hold.created_by_id in (None, actor.user_id)


def claim_hold(
    session: Session,
    actor: Actor,
    now: datetime,
    hold_id: str,
    pathway: Pathway,
    kind: AppointmentKind,
) -> Hold:
    """The live hold a booking takes over (one past its time is as good as gone)."""
    hold = session.get(Hold, hold_id)
    if (
        hold is None
        or hold.expires_at <= now
        or hold.pathway_id != pathway.id
        or hold.kind is not kind
    ):
        raise InvalidInput.field(
            "hold_id", "No such hold for this pathway and kind; it may have expired."
        )
    if not _placed_by(actor, hold):
        raise InvalidInput.field("hold_id", "The hold was placed by someone else.")
    return hold


def get_hold(session: Session, actor: Actor, hold_id: str, now: datetime) -> Hold:
    """A live hold of the actor's own (404 for anyone else's, or one that has expired)."""
    hold = session.get(Hold, hold_id)
    if hold is None or hold.expires_at <= now or not _placed_by(actor, hold):
        raise NotFound("hold", hold_id)
    return hold


def place_hold(
    session: Session,
    actor: Actor,
    now: datetime,
    *,
    pathway_id: int,
    kind: AppointmentKind,
    start: datetime,
    ttl: timedelta,
    method: Method | None = None,
    clinician_id: int | None = None,
    room_id: int | None = None,
    appointment_id: int | None = None,
) -> tuple[Hold, slots.Slot, str]:
    """Reserve one slot's resources for ``ttl`` while the scheduler confirms: the same
    checks as a booking, the same allocations, only shorter-lived.

    With ``appointment_id`` the hold is a new time for that booked appointment (a move):
    the checks are the move's, and the appointment keeps its time until the move is
    confirmed with this hold.
    """
    release_expired_holds(session, now)
    moving: Appointment | None = None
    if appointment_id is None:
        want = checks.wanted(session, actor, pathway_id, kind, method)
        fitted = checks.fit_start(
            session, now, want, start, clinician_id=clinician_id, room_id=room_id
        )
        slot, found, clinician = fitted.slot, fitted.calendars, fitted.clinician_id
        pathway, zone, method = want.pathway, want.site.timezone, want.method
    else:
        moving, pathway = checks.open_appointment(session, actor, appointment_id)
        if pathway.id != pathway_id:
            raise InvalidInput.field("appointment_id", "Not an appointment of this pathway.")
        checks.require_movable(moving, pathway, kind, method=method, clinician_id=clinician_id)
        slot, found = checks.fit_move(session, now, moving, pathway, start, room_id=room_id)
        clinician, zone, method = moving.clinician_id, moving.timezone, moving.method
    hold = Hold(
        id=secrets.token_hex(16),
        pathway_id=pathway.id,
        kind=kind,
        method=method,
        clinician_id=clinician,
        room_id=slot.room_id,
        start_at=slot.start,
        end_at=slot.end,
        appointment_id=appointment_id,
        created_by_id=actor.user_id,
        created_at=now,
        expires_at=now + ttl,
    )
    saved(session, hold)
    beside = moving.allocations if moving else ()
    allocate(session, slot, found, pathway.patient_id, hold_id=hold.id, beside=beside)
    return hold, slot, zone


def release_hold(session: Session, actor: Actor, hold_id: str) -> Hold:
    """Let a held slot go before it expires; returns the hold that was let go."""
    hold = session.get(Hold, hold_id)
    if hold is None or not _placed_by(actor, hold):
        raise NotFound("hold", hold_id)
    session.delete(hold)
    session.flush()
    return hold
