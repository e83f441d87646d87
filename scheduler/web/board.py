"""The scheduler's board: work queues, patient search, pathway pages, booking.

Booking follows the API's path exactly: slot search, then a hold on the picked slot
(its countdown shown), then the booking that consumes the hold. Every form is loaded by
the API's own request schema and handed to the API's own service, so the board accepts
and refuses what the API does, with the same status; a refusal is shown on the pathway
page in the service's words (an unmet prerequisite shows its rule's message).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from marshmallow import Schema, ValidationError

from scheduler import context
from scheduler.auth.permissions import roles_of
from scheduler.clinicians import services as clinicians
from scheduler.clinicians.schemas import WEEKDAYS
from scheduler.errors import DomainError, NotFound
from scheduler.pathways.queues import QUEUE_TITLES, work_queues
from scheduler.pathways.states import WAITLISTABLE, Trigger
from scheduler.patients.schemas import PatientQueryArgs
from scheduler.scheduling import booking, cancellation, desk, holds
from scheduler.scheduling.models import Appointment
from scheduler.scheduling.schemas import (
    AppointmentCreateArgs,
    AppointmentUpdateArgs,
    HoldCreateArgs,
    ReasonArgs,
    SlotQueryArgs,
)
from scheduler.scheduling.search import search_slots
from scheduler.scheduling.slots import Slot
from scheduler.schemas import NoArgs
from scheduler.vocabulary import (
    CANCEL_REASONS,
    OTHER,
    AppointmentKind,
    AppointmentStatus,
    Method,
    TimeOfDay,
    WaitlistPriority,
)
from scheduler.waitlist import board as waitlist_board
from scheduler.web.forms import (
    Action,
    Done,
    Problem,
    form_input,
    problem_of,
    whole,
    write,
)
from scheduler.web.signin import page

blp = Blueprint("board", __name__, url_prefix="/board")
# The desk: whoever the API lets book.
DESK: Final = roles_of("POST /appointments")
SEARCH_LIMIT: Final = 50
# Slot search shows a week at a time (every free start of one clinician fits in the
# limit); an empty week looks further for the next day with a free slot.
WEEK_DAYS: Final = 7
WEEK_LIMIT: Final = 500
NEXT_FREE_DAYS: Final = 90
NOON: Final = 12
PARTS: Final = ("morning", "afternoon")
# The board lists every error above the form it came from: its forms are one line each.
ABOVE: Final = frozenset[str]()


@blp.app_template_filter("instant")
def instant(value: str) -> datetime:
    """An RFC 3339 text an event recorded (its ``start``, ``from``, ``to``) as an instant."""
    return datetime.fromisoformat(value)


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
    return render_pathway(pathway_id)


def render_pathway(pathway_id: int, problem: Problem | None = None) -> ResponseReturnValue:
    """The pathway page; after a refusal, with the reason at the top (and its status)."""
    session = context.session()
    overview = desk.pathway_overview(session, context.actor(), pathway_id, context.now())
    pathway = overview.pathway
    return render_template(
        "web/pathway.html",
        overview=overview,
        pathway=overview.pathway,
        patient=overview.patient,
        zone=overview.zone,
        kinds=list(AppointmentKind),
        methods=list(Method),
        problem=problem,
        waitlist_entry=waitlist_board.entry_of_pathway(session, pathway.id)
        if pathway.waitlisted
        else None,
        waitlistable=pathway.state in WAITLISTABLE and not pathway.waitlisted,
        priorities=list(WaitlistPriority),
        times=list(TimeOfDay),
        weekdays=WEEKDAYS,
    ), problem.status if problem else 200


@dataclass(frozen=True)
class Week:
    """A week of slot search on the board: seven site-local days from ``first``."""

    first: date
    today: date
    part: str  # "", "morning" or "afternoon"

    @property
    def days(self) -> list[date]:
        return [self.first + timedelta(days=n) for n in range(WEEK_DAYS)]

    @property
    def earlier(self) -> date | None:
        """The week before (from today at the earliest), unless this one starts today."""
        if self.first <= self.today:
            return None
        return max(self.today, self.first - timedelta(days=WEEK_DAYS))

    @property
    def later(self) -> date:
        return self.first + timedelta(days=WEEK_DAYS)

    def in_part(self, start: datetime) -> bool:
        """A slot starting at ``start`` (site-local) is in the part of the day asked for."""
        return {"morning": start.hour < NOON, "afternoon": start.hour >= NOON}.get(self.part, True)

    def shows(self, start: datetime) -> bool:
        """A slot starting at ``start`` (site-local) is in this week and part of the day."""
        return self.first <= start.date() < self.later and self.in_part(start)


@blp.get("/pathways/<int:pathway_id>/slots")
@page(*DESK)
def slots(pathway_id: int) -> ResponseReturnValue:
    """A week of free slots, by day, with the API's query schema (``after`` is a site-local
    date here; ``move`` the booked appointment a new time is wanted for)."""
    session, actor, now = context.session(), context.actor(), context.now()
    overview = desk.pathway_overview(session, actor, pathway_id, now)
    moving = _moving(overview, request.args.get("move", ""))
    query: dict[str, Any] = form_input(request.args) | {"days": WEEK_DAYS}
    part = query.pop("part", "")
    query.pop("move", None)
    if moving is not None:
        query |= {"appointment_id": moving.id, "kind": moving.kind.value}
        query.pop("clinician_id", None)
    first = overview.today
    try:
        first = max(overview.today, date.fromisoformat(query.get("after", first.isoformat())))
        query["after"] = _start_of(first, overview.zone, now).isoformat()
    except ValueError:
        pass  # the schema refuses the text as the API would
    try:
        args = SlotQueryArgs().load(query)
    except ValidationError as error:
        return render_pathway(pathway_id, problem_of("search", error, ABOVE))
    week = Week(first, overview.today, part if part in PARTS else "")
    found: list[Slot] = []
    next_free: date | None = None
    problem: Problem | None = None
    try:
        week_args = args | {"limit": WEEK_LIMIT}
        offered, _zone = search_slots(session, actor, now, pathway_id, **week_args)
        found = [s for s in offered if week.shows(s.start.astimezone(overview.zone))]
        if not found:
            next_free = _next_free(pathway_id, args, week, overview.zone)
    except DomainError as error:
        problem = problem_of("search", error, ABOVE)
    by_day: dict[date, list[Slot]] = {day: [] for day in week.days}
    for slot in found:
        by_day[slot.start.astimezone(overview.zone).date()].append(slot)
    return render_template(
        "web/slots.html",
        overview=overview,
        pathway=overview.pathway,
        patient=overview.patient,
        kind=args["kind"],
        method=args.get("method"),
        clinician_id=args.get("clinician_id") or overview.pathway.clinician_id,
        clinicians=clinicians.list_clinicians(session),
        zone=overview.zone,
        week=week,
        by_day=by_day,
        count=len(found),
        next_free=next_free,
        moving=moving,
        problem=problem,
        resources=desk.site_resources(session, overview.site.id),
    ), problem.status if problem else 200


def _moving(overview: desk.PathwayOverview, asked: str) -> Appointment | None:
    """The booked appointment of this pathway a move is searching for (``?move=<id>``)."""
    for appointment in overview.appointments:
        if str(appointment.id) == asked and appointment.status is AppointmentStatus.BOOKED:
            return appointment
    if asked:
        raise NotFound("appointment", asked)
    return None


def _start_of(day: date, zone: ZoneInfo, now: datetime) -> datetime:
    """The first instant of a site-local day, not before now."""
    return max(now, datetime.combine(day, datetime.min.time(), zone))


def _next_free(pathway_id: int, args: dict[str, Any], week: Week, zone: ZoneInfo) -> date | None:
    """The first day after ``week`` with a free slot (the same search, further on)."""
    later = args | {
        "after": _start_of(week.later, zone, context.now()),
        "days": NEXT_FREE_DAYS,
        # The first slot will do, unless it must fall in a part of the day.
        "limit": WEEK_LIMIT if week.part else 1,
    }
    offered, _zone = search_slots(
        context.session(), context.actor(), context.now(), pathway_id, **later
    )
    starts = (slot.start.astimezone(zone) for slot in offered)
    return next((start.date() for start in starts if week.in_part(start)), None)


@blp.post("/pathways/<int:pathway_id>/holds")
@page(*DESK)
def hold(pathway_id: int) -> ResponseReturnValue:
    data = form_input(request.form) | {"pathway_id": pathway_id}
    for name in ("room_id", "appointment_id"):
        if name in data:
            data[name] = whole(data[name])
    ttl = timedelta(seconds=current_app.config["HOLD_TTL_SECONDS"])

    def place(args: dict[str, Any]) -> Done:
        placed, _slot, _zone = holds.place_hold(
            context.session(), context.actor(), context.now(), ttl=ttl, **args
        )
        return Done(url_for("web.board.held", pathway_id=pathway_id, hold_id=placed.id))

    return _write_on_pathway(pathway_id, "hold", HoldCreateArgs(), data, place)


@blp.get("/pathways/<int:pathway_id>/holds/<hold_id>")
@page(*DESK)
def held(pathway_id: int, hold_id: str) -> ResponseReturnValue:
    now = context.now()
    try:
        found = desk.held_slot(context.session(), context.actor(), hold_id, now)
    except NotFound:
        return _gone(pathway_id, hold_id)
    if found.pathway.id != pathway_id:
        return _gone(pathway_id, hold_id)
    remaining = max(0, int((found.hold.expires_at - now).total_seconds()))
    response = make_response(render_template("web/hold.html", held=found, remaining=remaining))
    # Back after confirming asks again (and learns the slot is booked), never a stale copy.
    response.headers["Cache-Control"] = "no-store"
    return response


def _gone(pathway_id: int, hold_id: str, problem: Problem | None = None) -> ResponseReturnValue:
    """A hold that is no longer there: already booked (or moved) with it, or let go."""
    used = desk.consumed_by(context.session(), context.actor(), pathway_id, hold_id)
    if used is not None:
        done = "moved" if used.trigger is Trigger.RESCHEDULE_APPOINTMENT else "booked"
        flash(f"Already {done}: the appointment is marked below.", "info")
        return redirect(_pathway_url(pathway_id) + f"#appointment-{used.appointment_id}")
    if problem is not None:
        return render_pathway(pathway_id, problem)
    flash("That hold has expired or was let go; search again.", "error")
    return redirect(_pathway_url(pathway_id))


@blp.post("/pathways/<int:pathway_id>/holds/<hold_id>/book")
@page(*DESK)
def book(pathway_id: int, hold_id: str) -> ResponseReturnValue:
    data = form_input(request.form) | {"pathway_id": pathway_id, "hold_id": hold_id}

    def confirm(args: dict[str, Any]) -> Done:
        booked = booking.book_appointment(
            context.session(),
            context.actor(),
            context.now(),
            **args,
            reminder_before=context.reminder_before(),
        )
        return Done(
            _pathway_url(pathway_id) + f"#appointment-{booked.id}",
            "Booked. The patient's invitation is on its way.",
        )

    return write(
        "book",
        AppointmentCreateArgs(),
        data,
        confirm,
        lambda problem: _gone(pathway_id, hold_id, problem),
        inline=ABOVE,
    )


@blp.post("/pathways/<int:pathway_id>/holds/<hold_id>/move")
@page(*DESK)
def move(pathway_id: int, hold_id: str) -> ResponseReturnValue:
    """Confirm a move with its hold: the appointment leaves its old time only now."""
    data = form_input(request.form)
    appointment_id = whole(data.pop("appointment_id", ""))
    if not isinstance(appointment_id, int):
        raise NotFound("appointment", appointment_id)

    def confirm(args: dict[str, Any]) -> Done:
        session = context.session()
        before = booking.get_appointment(session, context.actor(), appointment_id).start_at
        moved = booking.reschedule_appointment(
            session,
            context.actor(),
            context.now(),
            appointment_id,
            **args,
            reminder_before=context.reminder_before(),
        )
        zone = ZoneInfo(moved.timezone)
        said = f"Moved from {_when(before, zone)} to {_when(moved.start_at, zone)}."
        return Done(
            _pathway_url(pathway_id) + f"#appointment-{moved.id}",
            said + " The patient gets the updated invitation.",
        )

    return write(
        "move",
        AppointmentUpdateArgs(),
        data | {"hold_id": hold_id},
        confirm,
        lambda problem: _gone(pathway_id, hold_id, problem),
        inline=ABOVE,
    )


def _when(at: datetime, zone: ZoneInfo) -> str:
    return at.astimezone(zone).strftime("%a %d %b %Y, %H:%M")


@blp.post("/pathways/<int:pathway_id>/holds/<hold_id>/release")
@page(*DESK)
def release(pathway_id: int, hold_id: str) -> ResponseReturnValue:
    def let_go(_args: dict[str, Any]) -> Done:
        holds.release_hold(context.session(), context.actor(), hold_id)
        return Done(_pathway_url(pathway_id), "The slot was let go.")

    return _write_on_pathway(pathway_id, "release", NoArgs(), form_input(request.form), let_go)


@blp.get("/appointments/<int:appointment_id>/cancel")
@page(*DESK)
def cancel_page(appointment_id: int) -> ResponseReturnValue:
    """Cancelling asks first: the appointment, the patient, and why."""
    return _cancel_form(appointment_id)


def _cancel_form(appointment_id: int, problem: Problem | None = None) -> ResponseReturnValue:
    """The cancel page; refused, with the reason and the choice and words as sent."""
    session, actor = context.session(), context.actor()
    appointment = booking.get_appointment(session, actor, appointment_id)
    overview = desk.pathway_overview(session, actor, appointment.pathway_id, context.now())
    page = render_template(
        "web/cancel.html",
        appointment=appointment,
        overview=overview,
        reasons=(*CANCEL_REASONS, OTHER),
        problem=problem,
    )
    return page, problem.status if problem else 200


@blp.post("/appointments/<int:appointment_id>/cancel")
@page(*DESK)
def cancel(appointment_id: int) -> ResponseReturnValue:
    session, actor = context.session(), context.actor()
    appointment = booking.get_appointment(session, actor, appointment_id)
    # A common reason as chosen, or "Other" as typed; none is refused as the API refuses it.
    chosen = request.form.get("choice", "")
    other = request.form.get("reason", "").strip()
    reason = other if chosen in ("", OTHER) else chosen + (f": {other}" if other else "")
    data = {"reason": reason if chosen in (*CANCEL_REASONS, OTHER, "") else ""}

    def take_off(args: dict[str, Any]) -> Done:
        cancellation.cancel_appointment(session, actor, context.now(), appointment_id, **args)
        return Done(
            _pathway_url(appointment.pathway_id), "Cancelled. The patient gets the cancellation."
        )

    return write(
        "cancel",
        ReasonArgs(),
        data,
        take_off,
        lambda problem: _cancel_form(appointment_id, problem),
        inline=ABOVE,
    )


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
        lambda problem: render_pathway(pathway_id, problem),
        inline=ABOVE,
    )
