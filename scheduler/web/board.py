"""The scheduler's board: work queues, patient search, pathway pages, booking.

Booking follows the API's path exactly: slot search, then a hold on the picked slot
(its countdown shown), then the booking that consumes the hold. Every form is loaded by
the API's own request schema and handed to the API's own service, so the board accepts
and refuses what the API does, with the same status; a refusal is shown on the pathway
page in the service's words (an unmet prerequisite shows its rule's message).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any, Final

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from marshmallow import Schema, ValidationError

from scheduler import context
from scheduler.api import etag_of
from scheduler.auth.permissions import roles_of
from scheduler.errors import DomainError, NotFound, PreconditionFailed
from scheduler.pathways.queues import QUEUE_TITLES, work_queues
from scheduler.patients.schemas import PatientQueryArgs
from scheduler.scheduling import booking, cancellation, desk, holds
from scheduler.scheduling.schemas import (
    AppointmentCreateArgs,
    AppointmentSchema,
    AppointmentUpdateArgs,
    HoldCreateArgs,
    ReasonArgs,
    SlotQueryArgs,
)
from scheduler.scheduling.search import search_slots
from scheduler.scheduling.slots import Slot
from scheduler.schemas import NoArgs
from scheduler.vocabulary import AppointmentKind, AppointmentStatus, Method
from scheduler.web.forms import (
    Action,
    Done,
    Problem,
    form_input,
    local_instant,
    problem_of,
    whole,
    write,
)
from scheduler.web.signin import page

blp = Blueprint("board", __name__, url_prefix="/board")
# The desk: whoever the API lets book.
DESK: Final = roles_of("POST /appointments")
SEARCH_LIMIT: Final = 50
SLOTS_SHOWN: Final = 12
# The board lists every error above the form it came from: its forms are one line each.
ABOVE: Final = frozenset[str]()


@blp.get("/")
@page(*DESK)
def queues() -> str:
    found = work_queues(context.session(), context.now())
    return render_template("web/board.html", queues=found, titles=QUEUE_TITLES)


@blp.get("/patients")
@page(*DESK)
def patients() -> ResponseReturnValue:
    query = request.args.get("q", "")
    problem: Problem | None = None
    found: list[desk.Found] = []
    if query.strip():
        try:
            args = PatientQueryArgs().load({"q": query})
            found = desk.find_patients(
                context.session(), context.actor(), args["q"], limit=SEARCH_LIMIT
            )
        except ValidationError as error:
            problem = problem_of("search", error, ABOVE)
    return render_template(
        "web/patients.html", query=query.strip(), found=found, problem=problem
    ), problem.status if problem else 200


@blp.get("/pathways/<int:pathway_id>")
@page(*DESK)
def pathway_page(pathway_id: int) -> ResponseReturnValue:
    return _pathway(pathway_id)


def _pathway(pathway_id: int, problem: Problem | None = None) -> ResponseReturnValue:
    """The pathway page; after a refusal, with the reason at the top (and its status)."""
    overview = desk.pathway_overview(context.session(), context.actor(), pathway_id, context.now())
    booked = [a for a in overview.appointments if a.status is AppointmentStatus.BOOKED]
    return render_template(
        "web/pathway.html",
        overview=overview,
        pathway=overview.pathway,
        patient=overview.patient,
        zone=overview.zone,
        etags={a.id: etag_of(a, AppointmentSchema) for a in booked},
        kinds=list(AppointmentKind),
        methods=list(Method),
        problem=problem,
    ), problem.status if problem else 200


@blp.get("/pathways/<int:pathway_id>/slots")
@page(*DESK)
def slots(pathway_id: int) -> ResponseReturnValue:
    """Slot search with the API's query schema; ``after`` is a site-local date here."""
    session, actor, now = context.session(), context.actor(), context.now()
    overview = desk.pathway_overview(session, actor, pathway_id, now)
    query: dict[str, Any] = form_input(request.args) | {"limit": SLOTS_SHOWN}
    try:
        after_day = date.fromisoformat(query.get("after", overview.today.isoformat()))
        start_of_day = datetime.combine(after_day, datetime.min.time(), overview.zone)
        query["after"] = max(now, start_of_day).isoformat()
    except ValueError:
        after_day = overview.today  # the schema refuses the text as the API would
    try:
        args = SlotQueryArgs().load(query)
    except ValidationError as error:
        return _pathway(pathway_id, problem_of("search", error, ABOVE))
    found: list[Slot] = []
    problem: Problem | None = None
    try:
        found, _zone = search_slots(session, actor, now, pathway_id, **args)
    except DomainError as error:
        problem = problem_of("search", error, ABOVE)
    return render_template(
        "web/slots.html",
        pathway=overview.pathway,
        kind=args["kind"],
        method=args.get("method"),
        zone=overview.zone,
        slots=found,
        problem=problem,
        after=after_day,
        rooms=overview.rooms,
    ), problem.status if problem else 200


@blp.post("/pathways/<int:pathway_id>/holds")
@page(*DESK)
def hold(pathway_id: int) -> ResponseReturnValue:
    data = form_input(request.form) | {"pathway_id": pathway_id}
    if "room_id" in data:
        data["room_id"] = whole(data["room_id"])
    ttl = timedelta(seconds=current_app.config["HOLD_TTL_SECONDS"])

    def place(args: dict[str, Any]) -> Done:
        placed, _slot, _zone = holds.place_hold(
            context.session(), context.actor(), context.now(), ttl=ttl, **args
        )
        return Done(url_for("web.board.held", hold_id=placed.id))

    return _write_on_pathway(pathway_id, "hold", HoldCreateArgs(), data, place)


@blp.get("/holds/<hold_id>")
@page(*DESK)
def held(hold_id: str) -> ResponseReturnValue:
    now = context.now()
    try:
        found = desk.held_slot(context.session(), context.actor(), hold_id, now)
    except NotFound:
        flash("That hold has expired or was let go; search again.", "error")
        return redirect(url_for("web.board.queues"))
    remaining = max(0, int((found.hold.expires_at - now).total_seconds()))
    return render_template("web/hold.html", held=found, remaining=remaining)


@blp.post("/pathways/<int:pathway_id>/holds/<hold_id>/book")
@page(*DESK)
def book(pathway_id: int, hold_id: str) -> ResponseReturnValue:
    data = form_input(request.form) | {"pathway_id": pathway_id, "hold_id": hold_id}

    def confirm(args: dict[str, Any]) -> Done:
        booking.book_appointment(
            context.session(),
            context.actor(),
            context.now(),
            **args,
            reminder_before=context.reminder_before(),
        )
        return Done(_pathway_url(pathway_id), "Booked. The patient's invitation is on its way.")

    return _write_on_pathway(pathway_id, "book", AppointmentCreateArgs(), data, confirm)


@blp.post("/pathways/<int:pathway_id>/holds/<hold_id>/release")
@page(*DESK)
def release(pathway_id: int, hold_id: str) -> ResponseReturnValue:
    def let_go(_args: dict[str, Any]) -> Done:
        holds.release_hold(context.session(), context.actor(), hold_id)
        return Done(_pathway_url(pathway_id), "The slot was let go.")

    return _write_on_pathway(pathway_id, "release", NoArgs(), form_input(request.form), let_go)


@blp.post("/appointments/<int:appointment_id>/reschedule")
@page(*DESK)
def reschedule(appointment_id: int) -> ResponseReturnValue:
    """Move with the API's body and its If-Match check (the page sends the ETag it showed)."""
    session, actor = context.session(), context.actor()
    appointment = booking.get_appointment(session, actor, appointment_id)
    data = form_input(request.form)
    sent_etag = data.pop("etag", None)
    if "start" in data:
        data["start"] = local_instant(data["start"], appointment.timezone)

    def move(args: dict[str, Any]) -> Done:
        current = booking.get_appointment(session, actor, appointment_id, lock=True)
        if sent_etag != etag_of(current, AppointmentSchema):
            raise PreconditionFailed(
                "The appointment changed since this page was opened; look again."
            )
        booking.reschedule_appointment(
            session,
            actor,
            context.now(),
            appointment_id,
            **args,
            reminder_before=context.reminder_before(),
        )
        return Done(
            _pathway_url(appointment.pathway_id),
            "Moved. The patient gets the updated invitation.",
        )

    return _write_on_pathway(appointment.pathway_id, "move", AppointmentUpdateArgs(), data, move)


@blp.post("/appointments/<int:appointment_id>/cancel")
@page(*DESK)
def cancel(appointment_id: int) -> ResponseReturnValue:
    session, actor = context.session(), context.actor()
    appointment = booking.get_appointment(session, actor, appointment_id)
    # The reason as typed: a blank one is refused as the API refuses it.
    data = {"reason": request.form.get("reason", "")}

    def take_off(args: dict[str, Any]) -> Done:
        cancellation.cancel_appointment(session, actor, context.now(), appointment_id, **args)
        return Done(
            _pathway_url(appointment.pathway_id), "Cancelled. The patient gets the cancellation."
        )

    return _write_on_pathway(appointment.pathway_id, "cancel", ReasonArgs(), data, take_off)


def _pathway_url(pathway_id: int) -> str:
    return url_for("web.board.pathway_page", pathway_id=pathway_id)


def _write_on_pathway(
    pathway_id: int, form: str, schema: Schema, data: dict[str, Any], action: Action
) -> ResponseReturnValue:
    """A board write whose refusal is shown on the pathway's page."""
    return write(
        form,
        schema,
        data,
        action,
        lambda problem: _pathway(pathway_id, problem),
        inline=ABOVE,
    )
