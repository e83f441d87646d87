"""The scheduler board's waitlist (SPEC §10): who waits, in the order offers are made;
the offers in flight with their countdowns; today's freed slots and what came of them;
a manual offer of a freed slot.

As on the rest of the board, every form is loaded by the API's own request schema and
handed to the API's own service (``scheduler.waitlist.services``), so the pages accept and
refuse what the API does, with its status and in its words. Each page opens to the roles
of the API endpoint doing the same; the forms show only to those who may send them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, render_template, request, url_for
from flask.typing import ResponseReturnValue
from marshmallow import ValidationError
from werkzeug.datastructures import MultiDict

from scheduler import context
from scheduler.auth.permissions import roles_of
from scheduler.clinicians import services as clinicians
from scheduler.clinicians.schemas import WEEKDAYS
from scheduler.facilities.models import Site
from scheduler.facilities.services import sites_by_name
from scheduler.pathways.states import next_booking
from scheduler.schemas import NoArgs
from scheduler.settings import backfill_settings
from scheduler.vocabulary import (
    AppointmentKind,
    OfferStatus,
    TimeOfDay,
    VacancySource,
    VacancyStatus,
    WaitlistPriority,
)
from scheduler.waitlist import board, services
from scheduler.waitlist.models import WaitlistEntry
from scheduler.waitlist.schemas import (
    EntryCreateArgs,
    EntryFilterArgs,
    EntryRemoveArgs,
    EntryUpdateArgs,
    OfferCreateArgs,
)
from scheduler.web.board import ABOVE, render_pathway
from scheduler.web.forms import Done, Problem, form_input, problem_of, whole, write
from scheduler.web.signin import page

blp = Blueprint("waitlist", __name__, url_prefix="/board/waitlist")

READERS: Final = roles_of("GET /waitlist")
ADDERS: Final = roles_of("POST /waitlist")
EDITORS: Final = roles_of("PATCH /waitlist/{entry_id}")
REMOVERS: Final = roles_of("DELETE /waitlist/{entry_id}")
OFFERERS: Final = roles_of("POST /waitlist/offers")
WITHDRAWERS: Final = roles_of("POST /waitlist/offers/{offer_id}/withdraw")

NEXT_STEPS: Final = (AppointmentKind.DIAGNOSTIC_BLOCK, AppointmentKind.PROCEDURE)
SOURCES: Final = {
    VacancySource.CANCELLED: "Cancelled",
    VacancySource.MOVED: "Moved",
    VacancySource.HOURS: "New hours",
}
FLAGS: Final = ("any_clinician",)
MINUTE: Final = 60
HOUR: Final = 3600


@blp.app_template_filter("time_left")
def time_left(seconds: int) -> str:
    """A countdown in words, to the minute (never more than is left): ``1 h 12 min``.

    scheduler/static/app.js writes the same words as the time runs.
    """
    if seconds < MINUTE:
        return "less than a minute"
    hours, minutes = seconds // HOUR, seconds % HOUR // MINUTE
    return f"{hours} h {minutes} min" if hours else f"{minutes} min"


@blp.app_template_filter("weekday_name")
def weekday_name(weekday: int) -> str:
    """0 -> Mon: a stored weekday, short."""
    return WEEKDAYS[weekday][:3].capitalize()


@blp.app_template_filter("at_site")
def at_site(at: datetime, site: Site) -> datetime:
    """An instant on the site's wall clock."""
    return at.astimezone(ZoneInfo(site.timezone))


# ---------------------------------------------------------------------------------------
# The waitlist page


@blp.get("/")
@page(*READERS)
def index() -> ResponseReturnValue:
    return _index()


def _index(problem: Problem | None = None) -> ResponseReturnValue:
    """The waitlist (filtered by the GET form), the offers in flight and today's outcomes;
    after a refused write, with the reason at the top (and its status)."""
    session, now, actor = context.session(), context.now(), context.actor()
    chosen = form_input(request.args)
    try:
        filters = EntryFilterArgs().load(chosen)
    except ValidationError as error:
        problem = problem or problem_of("filters", error, ABOVE)
        filters = {}
    site_id = filters.get("site_id")
    everyone = board.listed(session, {"site_id": site_id} if site_id else {})
    offers = board.in_flight(session, site_id)
    outcomes = board.day_outcomes(session, now, site_id)
    # Who a freed slot may be offered to by hand: waiting at its site, holding no offer.
    holding = {item.offer.pathway_id for item in offers}
    waiting_at: dict[int, list[board.Listed]] = {}
    for row in everyone:
        if row.entry.pathway_id not in holding:
            waiting_at.setdefault(row.site.id, []).append(row)
    page = render_template(
        "web/waitlist.html",
        problem=problem,
        chosen=chosen,
        sites=sites_by_name(session),
        clinicians=clinicians.list_clinicians(session),
        priorities=list(WaitlistPriority),
        next_steps=NEXT_STEPS,
        entries=board.listed(session, filters),
        offers=offers,
        left={item.offer.id: _seconds(item.offer.expires_at, now) for item in offers},
        outcomes=outcomes,
        recovered=sum(outcome.recovered_minutes for outcome in outcomes),
        offerable={o.vacancy.id for o in outcomes if _offerable(o, now)},
        waiting_at=waiting_at,
        sources=SOURCES,
        weekdays=WEEKDAYS,
        now=now,
        may_edit=actor.role in EDITORS,
        may_remove=actor.role in REMOVERS,
        may_offer=actor.role in OFFERERS,
        may_withdraw=actor.role in WITHDRAWERS,
    )
    return page, problem.status if problem else 200


def _seconds(until: datetime, now: datetime) -> int:
    return max(0, int((until - now).total_seconds()))


def _offerable(outcome: board.Outcome, now: datetime) -> bool:
    """A freed slot a scheduler may still offer by hand: not filled, not over, and no
    offer waiting for its answer."""
    vacancy = outcome.vacancy
    return (
        vacancy.status is not VacancyStatus.FILLED
        and vacancy.end_at > now
        and not outcome.offers.get(OfferStatus.OPEN)
    )


def _on_index(form: str, schema: Any, data: Any, action: Any) -> ResponseReturnValue:
    """A write from the waitlist page, whose refusal the page shows at its top."""
    return write(form, schema, data, action, _index, inline=ABOVE)


# ---------------------------------------------------------------------------------------
# Entries: add (from the pathway page), edit, remove


def _wish(form: MultiDict[str, str]) -> dict[str, Any]:
    """The entry form as the API's JSON body: ticked weekdays and parts of the day as
    lists (none ticked: any), the notice as a number; other text left for the schema."""
    data = form_input(form, FLAGS)
    data["weekdays"] = form.getlist("weekdays")
    data["times_of_day"] = form.getlist("times_of_day")
    if "min_notice_hours" in data:
        data["min_notice_hours"] = whole(data["min_notice_hours"])
    return data


@blp.post("/pathways/<int:pathway_id>")
@page(*ADDERS)
def add(pathway_id: int) -> ResponseReturnValue:
    """Put the pathway on the list; refused, its page says why."""
    data = _wish(request.form) | {"pathway_id": pathway_id}

    def join(args: dict[str, Any]) -> Done:
        entry = services.add_entry(context.session(), context.actor(), context.now(), **args)
        return Done(
            url_for("web.board.pathway_page", pathway_id=pathway_id) + "#waitlist-title",
            f"On the waitlist ({entry.priority.value}).",
        )

    return write(
        "waitlist",
        EntryCreateArgs(),
        data,
        join,
        lambda problem: render_pathway(pathway_id, problem),
        inline=ABOVE,
    )


@blp.get("/entries/<int:entry_id>")
@page(*EDITORS)
def entry(entry_id: int) -> ResponseReturnValue:
    return _entry(entry_id)


def _entry(entry_id: int, problem: Problem | None = None) -> ResponseReturnValue:
    """The entry's edit form; refused, with the reason and what was sent."""
    row = board.listed_entry(context.session(), entry_id)
    sent = _values_sent(request.form) if problem else _values_of(row.entry)
    page = render_template(
        "web/waitlist_entry.html",
        row=row,
        next_step=next_booking(row.entry.pathway.state),
        values=sent,
        priorities=list(WaitlistPriority),
        times=list(TimeOfDay),
        weekdays=WEEKDAYS,
        waiting_days=row.waiting_days(context.now()),
        problem=problem,
    )
    return page, problem.status if problem else 200


def _values_of(entry: WaitlistEntry) -> dict[str, Any]:
    """What the edit form shows for an entry as stored."""
    return {
        "priority": entry.priority.value,
        "earliest_date": entry.earliest_date.isoformat() if entry.earliest_date else "",
        "weekdays": [WEEKDAYS[day] for day in entry.weekdays],
        "times_of_day": list(entry.times_of_day),
        "min_notice_hours": str(entry.min_notice_hours),
        "any_clinician": entry.any_clinician,
    }


def _values_sent(form: MultiDict[str, str]) -> dict[str, Any]:
    """What the edit form shows again after a refusal: what was sent."""
    return {
        "priority": form.get("priority", ""),
        "earliest_date": form.get("earliest_date", ""),
        "weekdays": form.getlist("weekdays"),
        "times_of_day": form.getlist("times_of_day"),
        "min_notice_hours": form.get("min_notice_hours", ""),
        "any_clinician": "any_clinician" in form,
    }


@blp.post("/entries/<int:entry_id>")
@page(*EDITORS)
def update(entry_id: int) -> ResponseReturnValue:
    """Save what the entry asks for: every field of the form (a blank date: none)."""
    data = {"earliest_date": None} | _wish(request.form)

    def change(args: dict[str, Any]) -> Done:
        services.update_entry(context.session(), context.actor(), context.now(), entry_id, args)
        return Done(url_for("web.waitlist.index"), "The waitlist entry was saved.")

    return write(
        "entry",
        EntryUpdateArgs(partial=True),
        data,
        change,
        lambda problem: _entry(entry_id, problem),
        inline=ABOVE,
    )


@blp.post("/entries/<int:entry_id>/remove")
@page(*REMOVERS)
def remove(entry_id: int) -> ResponseReturnValue:
    """Take the pathway off the list (with an optional reason); its open offers go."""

    def take_off(args: dict[str, Any]) -> Done:
        services.remove_entry(
            context.session(), context.actor(), context.now(), entry_id, args["reason"]
        )
        return Done(url_for("web.waitlist.index"), "Taken off the waitlist.")

    return _on_index("remove", EntryRemoveArgs(), form_input(request.form), take_off)


# ---------------------------------------------------------------------------------------
# Offers: withdraw one in flight, offer a freed slot by hand


@blp.post("/offers/<int:offer_id>/withdraw")
@page(*WITHDRAWERS)
def withdraw(offer_id: int) -> ResponseReturnValue:
    def take_back(_args: dict[str, Any]) -> Done:
        services.withdraw(context.session(), context.actor(), context.now(), offer_id)
        return Done(
            url_for("web.waitlist.index"),
            "The offer was withdrawn; the next patient on the list gets the slot.",
        )

    return _on_index("withdraw", NoArgs(), form_input(request.form), take_back)


@blp.post("/vacancies/<int:vacancy_id>/offer")
@page(*OFFERERS)
def offer(vacancy_id: int) -> ResponseReturnValue:
    """Offer the freed slot to the waitlisted pathway chosen (their preferred days and
    times aside; the notice, the availability and the gates apply)."""
    data = form_input(request.form) | {"vacancy_id": vacancy_id}
    if "pathway_id" in data:
        data["pathway_id"] = whole(data["pathway_id"])
    settings = backfill_settings(current_app.config)

    def make(args: dict[str, Any]) -> Done:
        services.offer_manually(
            context.session(), context.actor(), context.now(), **args, settings=settings
        )
        return Done(
            url_for("web.waitlist.index") + "#offers-title",
            "Offered. The patient gets the offer by e-mail.",
        )

    return _on_index("offer", OfferCreateArgs(), data, make)
