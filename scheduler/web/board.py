"""The scheduler's board: work queues, patient search, pathway pages, booking.

Booking follows the API's path exactly: slot search, then a hold on the picked slot
(its countdown shown), then the booking that consumes the hold. Every refusal is the
service's own words (an unmet prerequisite shows its rule's message).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from sqlalchemy import select
from werkzeug.wrappers import Response

from scheduler import context
from scheduler.clinicians.models import Clinician
from scheduler.errors import DomainError, InvalidInput, NotFound, PrerequisitesUnmet
from scheduler.facilities.models import Room, Site
from scheduler.pathways import services as pathways
from scheduler.pathways.models import Pathway
from scheduler.pathways.queues import QUEUE_TITLES, work_queues
from scheduler.pathways.states import PathwayState
from scheduler.patients.models import Patient
from scheduler.patients.services import search_statement
from scheduler.scheduling import services as scheduling
from scheduler.scheduling.models import Appointment, Hold
from scheduler.scheduling.slots import Slot
from scheduler.vocabulary import AppointmentKind, Method, Role
from scheduler.web.signin import page

blp = Blueprint("board", __name__, url_prefix="/board")
DESK = (Role.SCHEDULER, Role.ADMIN)
SEARCH_LIMIT = 50
SLOTS_SHOWN = 12

# The step the desk books next, by pathway state.
NEXT_KIND = {
    PathwayState.REFERRED: AppointmentKind.DIAGNOSTIC_BLOCK,
    PathwayState.ELIGIBLE: AppointmentKind.PROCEDURE,
    PathwayState.DISCHARGED: AppointmentKind.FOLLOW_UP,
    PathwayState.ADMITTED: AppointmentKind.FOLLOW_UP,
}


def explain(error: DomainError) -> list[str]:
    """A refusal in words a scheduler can act on."""
    if isinstance(error, PrerequisitesUnmet):
        return [rule.message for rule in error.unmet]
    if isinstance(error, InvalidInput):
        return [message for messages in error.errors.values() for message in messages]
    return [error.detail]


def _refused(error: DomainError) -> None:
    context.session().rollback()
    for message in explain(error):
        flash(message, "error")


@blp.get("/")
@page(*DESK)
def queues() -> str:
    found = work_queues(context.session(), context.now())
    return render_template("web/board.html", queues=found, titles=QUEUE_TITLES)


@blp.get("/patients")
@page(*DESK)
def patients() -> str:
    query = request.args.get("q", "").strip()[:100]
    found: list[Patient] = []
    by_patient: dict[int, list[Pathway]] = {}
    if query:
        found = list(
            context.session().scalars(search_statement(context.actor(), query).limit(SEARCH_LIMIT))
        )
        for pathway in context.session().scalars(
            select(Pathway)
            .where(Pathway.patient_id.in_([p.id for p in found]))
            .order_by(Pathway.id)
        ):
            by_patient.setdefault(pathway.patient_id, []).append(pathway)
    return render_template("web/patients.html", query=query, patients=found, pathways=by_patient)


def _site(pathway: Pathway) -> Site:
    return context.session().get_one(Site, pathway.site_id)


def _room_names(site: Site) -> dict[int, str]:
    rooms = context.session().scalars(select(Room).where(Room.site_id == site.id))
    return {room.id: room.name for room in rooms}


@blp.get("/pathways/<int:pathway_id>")
@page(*DESK)
def pathway_page(pathway_id: int) -> str:
    session = context.session()
    pathway = pathways.get_pathway(session, context.actor(), pathway_id)
    site = _site(pathway)
    zone = ZoneInfo(site.timezone)
    today = context.now().astimezone(zone).date()
    events = list(session.scalars(pathways.events_statement(pathway)))
    appointments = list(
        session.scalars(
            select(Appointment)
            .where(Appointment.pathway_id == pathway.id)
            .order_by(Appointment.start_at)
        )
    )
    return render_template(
        "web/pathway.html",
        pathway=pathway,
        patient=session.get_one(Patient, pathway.patient_id),
        clinician=session.get_one(Clinician, pathway.clinician_id),
        site=site,
        zone=zone,
        events=events,
        appointments=appointments,
        rooms=_room_names(site),
        eligibility=pathways.eligibility(session, pathway, today, pathway.method),
        next_kind=NEXT_KIND.get(pathway.state),
        kinds=list(AppointmentKind),
        methods=list(Method),
        today=today,
    )


@blp.get("/pathways/<int:pathway_id>/slots")
@page(*DESK)
def slots(pathway_id: int) -> Any:
    session = context.session()
    pathway = pathways.get_pathway(session, context.actor(), pathway_id)
    site = _site(pathway)
    zone = ZoneInfo(site.timezone)
    try:
        kind = AppointmentKind(request.args.get("kind", ""))
        method = Method(request.args["method"]) if request.args.get("method") else None
        after_day = date.fromisoformat(
            request.args.get("after") or context.now().astimezone(zone).date().isoformat()
        )
    except ValueError:
        flash("Choose a kind of appointment, a method and a date from the lists.", "error")
        return redirect(url_for("web.board.pathway_page", pathway_id=pathway_id))
    after = max(context.now(), datetime.combine(after_day, datetime.min.time(), zone))
    status, refusals = 200, []
    found: list[Slot] = []
    try:
        found, _zone = scheduling.search_slots(
            session,
            context.actor(),
            context.now(),
            pathway_id,
            kind=kind,
            after=after,
            limit=SLOTS_SHOWN,
            method=method,
        )
    except DomainError as error:
        status, refusals = error.status, explain(error)
    return render_template(
        "web/slots.html",
        pathway=pathway,
        kind=kind,
        method=method,
        zone=zone,
        slots=found,
        refusals=refusals,
        after=after_day,
        rooms=_room_names(site),
    ), status


@blp.post("/pathways/<int:pathway_id>/holds")
@page(*DESK)
def hold(pathway_id: int) -> Response:
    form = request.form
    try:
        kind = AppointmentKind(form.get("kind", ""))
        start = datetime.fromisoformat(form.get("start", ""))
        method = Method(form["method"]) if form.get("method") else None
        room_id = int(form.get("room_id", ""))
        if start.tzinfo is None:
            raise ValueError(start)
    except ValueError:
        flash("That slot could not be read; search again.", "error")
        return redirect(url_for("web.board.pathway_page", pathway_id=pathway_id))
    ttl = timedelta(seconds=current_app.config["HOLD_TTL_SECONDS"])
    try:
        placed, _slot, _zone = scheduling.place_hold(
            context.session(),
            context.actor(),
            context.now(),
            pathway_id=pathway_id,
            kind=kind,
            start=start,
            ttl=ttl,
            method=method,
            room_id=room_id,
        )
    except DomainError as error:
        _refused(error)
        return redirect(url_for("web.board.pathway_page", pathway_id=pathway_id))
    context.session().commit()
    return redirect(url_for("web.board.held", hold_id=placed.id))


def _own_hold(hold_id: str) -> Hold:
    held = context.session().get(Hold, hold_id)
    if held is None or held.created_by_id != context.actor().user_id:
        raise NotFound("hold", hold_id)
    return held


@blp.get("/holds/<hold_id>")
@page(*DESK)
def held(hold_id: str) -> Any:
    session = context.session()
    try:
        placed = _own_hold(hold_id)
    except NotFound:
        flash("That hold has expired or was let go; search again.", "error")
        return redirect(url_for("web.board.queues"))
    pathway = session.get_one(Pathway, placed.pathway_id)
    zone = ZoneInfo(_site(pathway).timezone)
    remaining = max(0, int((placed.expires_at - context.now()).total_seconds()))
    return render_template(
        "web/hold.html",
        hold=placed,
        pathway=pathway,
        patient=session.get_one(Patient, pathway.patient_id),
        room=session.get_one(Room, placed.room_id),
        clinician=session.get_one(Clinician, placed.clinician_id),
        zone=zone,
        remaining=remaining,
    )


@blp.post("/holds/<hold_id>/book")
@page(*DESK)
def book(hold_id: str) -> Response:
    session = context.session()
    placed = session.get(Hold, hold_id)
    pathway_id = placed.pathway_id if placed is not None else None
    try:
        if placed is None or placed.expires_at <= context.now():
            raise InvalidInput.field("hold_id", "The hold has expired; search again.")
        appointment = scheduling.book_appointment(
            session,
            context.actor(),
            context.now(),
            pathway_id=placed.pathway_id,
            kind=placed.kind,
            hold_id=hold_id,
            reminder_before=context.reminder_before(),
        )
    except DomainError as error:
        _refused(error)
        if pathway_id is None:
            return redirect(url_for("web.board.queues"))
        return redirect(url_for("web.board.pathway_page", pathway_id=pathway_id))
    session.commit()
    flash("Booked. The patient's invitation is on its way.", "info")
    return redirect(url_for("web.board.pathway_page", pathway_id=appointment.pathway_id))


@blp.post("/holds/<hold_id>/release")
@page(*DESK)
def release(hold_id: str) -> Response:
    placed = _own_hold(hold_id)
    pathway_id = placed.pathway_id
    scheduling.release_hold(context.session(), context.actor(), hold_id)
    context.session().commit()
    flash("The slot was let go.", "info")
    return redirect(url_for("web.board.pathway_page", pathway_id=pathway_id))


def _booked(appointment_id: int) -> Appointment:
    return scheduling.get_appointment(context.session(), context.actor(), appointment_id)


@blp.post("/appointments/<int:appointment_id>/reschedule")
@page(*DESK)
def reschedule(appointment_id: int) -> Response:
    session = context.session()
    appointment = _booked(appointment_id)
    back = url_for("web.board.pathway_page", pathway_id=appointment.pathway_id)
    if request.form.get("version") != str(appointment.version):
        flash("The appointment changed since this page was opened; look again.", "error")
        return redirect(back)
    try:
        local = datetime.fromisoformat(request.form.get("start", ""))
    except ValueError:
        flash("Give the new date and time.", "error")
        return redirect(back)
    start = local.replace(tzinfo=ZoneInfo(appointment.timezone))
    try:
        scheduling.reschedule_appointment(
            session,
            context.actor(),
            context.now(),
            appointment_id,
            start=start,
            reminder_before=context.reminder_before(),
        )
    except DomainError as error:
        _refused(error)
        return redirect(back)
    session.commit()
    flash("Moved. The patient gets the updated invitation.", "info")
    return redirect(back)


@blp.post("/appointments/<int:appointment_id>/cancel")
@page(*DESK)
def cancel(appointment_id: int) -> Response:
    session = context.session()
    appointment = _booked(appointment_id)
    back = url_for("web.board.pathway_page", pathway_id=appointment.pathway_id)
    reason = request.form.get("reason", "").strip()
    if not reason:
        flash("Give a reason for the cancellation.", "error")
        return redirect(back)
    try:
        scheduling.cancel_appointment(
            session, context.actor(), context.now(), appointment_id, reason[:500]
        )
    except DomainError as error:
        _refused(error)
        return redirect(back)
    session.commit()
    flash("Cancelled. The patient gets the cancellation.", "info")
    return redirect(back)
