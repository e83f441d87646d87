"""The pages: sign-in, each role's start page, clinicians' daily lists."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_limiter.errors import RateLimitExceeded
from werkzeug.wrappers import Response

from scheduler import context, wording
from scheduler.access import Actor
from scheduler.auth import services as auth
from scheduler.auth.permissions import roles_of
from scheduler.clinicians import services as clinicians
from scheduler.clock import local_date
from scheduler.downloads import invite_download
from scheduler.errors import NotFound, Unauthorized
from scheduler.feeds import services as feeds
from scheduler.invites.ics import (
    arrival,
    google_calendar_url,
    outlook_calendar_url,
    preparation_text,
    zone_words,
)
from scheduler.invites.services import clinic_of, invite_for, link_url
from scheduler.scheduling.booking import get_appointment, list_statement
from scheduler.scheduling.daily_list import Case
from scheduler.scheduling.daily_list import daily_list as cases_of_day
from scheduler.scheduling.models import Appointment
from scheduler.scheduling.readiness import READINESS_FLAGS
from scheduler.schemas import NoArgs
from scheduler.vocabulary import AppointmentKind, AppointmentStatus, Method, Role
from scheduler.web import admin, board, clinical, nurse, offers, reports, waitlist
from scheduler.web.forms import Done, form_input, write
from scheduler.web.security import error_page, protect_form
from scheduler.web.signin import TOKEN_KEY, page, safe_next, signed_in_user

blp = Blueprint("web", __name__)
blp.before_request(protect_form)
blp.register_blueprint(board.blp)
blp.register_blueprint(admin.blp)
blp.register_blueprint(nurse.blp)
blp.register_blueprint(clinical.blp)
blp.register_blueprint(offers.blp)
blp.register_blueprint(waitlist.blp)
blp.register_blueprint(reports.blp)


@blp.app_template_filter("label")
def label(value: str) -> str:
    """A vocabulary value as words: ``diagnostic_block`` -> ``Diagnostic block``."""
    return value.replace("_", " ").capitalize()


@blp.app_template_filter("field_name")
def field_name(value: str) -> str:
    """A form field as a label: ``patient_id`` -> ``Patient``."""
    return wording.field_name(value)


@blp.app_template_filter("tel")
def tel(phone: str) -> str:
    """A phone number as a ``tel:`` link (RFC 3966): its digits and a leading +."""
    return "tel:" + "".join(c for c in phone if c.isdigit() or c == "+")


@blp.app_template_filter("method_name")
def method_name(method: Method) -> str:
    """An ablation method as clinicians write it: RFA, Laser, Mechanical."""
    return "RFA" if method is Method.RFA else label(method.value)


FEED_MANAGERS = roles_of("POST /clinicians/{clinician_id}/feed-token")
LIST_READERS = roles_of("GET /clinicians/{clinician_id}/daily-list")


# ---------------------------------------------------------------------------------------
# Signing in and out


@blp.route("/signin", methods=["GET", "POST"])
def signin() -> Any:
    target = safe_next(request.values.get("next"))
    if request.method == "GET":
        if signed_in_user() is not None:
            return redirect(target or home_url(context.actor()))
        return render_template("web/signin.html", next=target, email="")
    email = request.form.get("email", "").strip()
    password = request.form.get("password", "")
    try:
        with context.limiter().limit(current_app.config["LOGIN_RATE_LIMIT"]):
            user = auth.authenticate(context.session(), email, password)
    except Unauthorized:
        flash("Wrong e-mail or password.", "error")
        return render_template("web/signin.html", next=target, email=email), 401
    except RateLimitExceeded:
        flash("Too many sign-in attempts. Wait a minute, then try again.", "error")
        return render_template("web/signin.html", next=target, email=email), 429
    ttl = timedelta(hours=current_app.config["TOKEN_TTL_HOURS"])
    raw, _token = auth.issue_token(context.session(), user, context.now(), ttl)
    context.session().commit()
    session.clear()  # a fresh session (and CSRF token) for the signed-in user
    session[TOKEN_KEY] = raw
    session.permanent = True
    return redirect(target or home_url(auth.actor_for(user)))


@blp.post("/signout")
def signout() -> Response:
    raw = session.get(TOKEN_KEY)
    if isinstance(raw, str):
        auth.revoke_token(context.session(), raw, context.now())
        context.session().commit()
    session.clear()
    flash("You have signed out.", "info")
    return redirect(url_for("web.signin"))


# Each role's home page, where signing in lands (README "Pages"): whoever may book gets
# the board; a clinician their own list today (a clinician login not linked to a
# clinician gets every list); a manager the reports (they see no patient's page).
HOMES: Final = {
    Role.NURSE: "web.nurse.day",
    Role.PATIENT: "web.my_appointments",
    Role.MANAGER: "web.reports.index",
}


def home_url(actor: Actor) -> str:
    """The actor's home page."""
    if actor.role is Role.CLINICIAN and actor.clinician_id is not None:
        return url_for("web.clinician_today", clinician_id=actor.clinician_id)
    if actor.role in board.DESK:
        return url_for("web.board.queues")
    return url_for(HOMES.get(actor.role, "web.daily_lists"))


@blp.get("/")
@page()
def start() -> Response:
    """Each role's own start page."""
    return redirect(home_url(context.actor()))


# ---------------------------------------------------------------------------------------
# The patient's own page


def _visit(appointment: Appointment) -> dict[str, Any]:
    """An appointment as its patient sees it, with the invite's preparation text."""
    clinic = clinic_of(appointment.site, current_app.config["MAIL_FROM"])
    invite = invite_for(context.session(), appointment)
    zone = ZoneInfo(appointment.timezone)
    return {
        "appointment": appointment,
        "start": appointment.start_at.astimezone(zone),
        "end": appointment.end_at.astimezone(zone),
        "arrival": arrival(invite),
        "zone": zone_words(appointment.timezone),
        "clinic": clinic,
        "room": invite.room,
        "preparation": preparation_text(invite, clinic),
        "google": google_calendar_url(invite, clinic),
        "outlook": outlook_calendar_url(invite, clinic),
    }


@blp.get("/me")
@page(Role.PATIENT)
def my_appointments() -> str:
    """The patient's upcoming and past appointments (theirs only: the API's own query)."""
    actor = context.actor()
    current = context.now()
    appointments = list(context.session().scalars(list_statement(actor, {})))
    upcoming = [
        _visit(a)
        for a in appointments
        if a.status is AppointmentStatus.BOOKED and a.end_at > current
    ]
    past = [
        _visit(a)
        for a in reversed(appointments)
        if not (a.status is AppointmentStatus.BOOKED and a.end_at > current)
    ]
    return render_template("web/me.html", upcoming=upcoming, past=past)


@blp.get("/me/appointments/<int:appointment_id>")
@page(Role.PATIENT)
def my_appointment(appointment_id: int) -> str:
    appointment = get_appointment(context.session(), context.actor(), appointment_id)
    live = appointment.status is AppointmentStatus.BOOKED and appointment.end_at > context.now()
    link = (
        link_url(
            current_app.config["PUBLIC_BASE_URL"], current_app.config["SECRET_KEY"], appointment
        )
        if live
        else None
    )
    return render_template(
        "web/my_appointment.html", visit=_visit(appointment), link=link, live=live
    )


@blp.get("/me/appointments/<int:appointment_id>/invite.ics")
@page(Role.PATIENT)
def my_invite(appointment_id: int) -> Response:
    appointment = get_appointment(context.session(), context.actor(), appointment_id)
    return invite_download(appointment)


# ---------------------------------------------------------------------------------------
# Daily lists


def _today(zone: str) -> date:
    return local_date(context.now(), zone)


@blp.get("/clinicians")
@page(*LIST_READERS)
def daily_lists() -> str:
    everyone = clinicians.list_clinicians(context.session())
    return render_template("web/daily_lists.html", clinicians=everyone)


@blp.get("/clinicians/<int:clinician_id>/today")
@page(*LIST_READERS)
def clinician_today(clinician_id: int) -> Response:
    day = _today(clinicians.home_zone(context.session(), clinician_id))
    return redirect(url_for("web.daily_list", clinician_id=clinician_id, day=day.isoformat()))


# Each kind of visit as the timeline's bars name it (short: a bar is narrow).
KIND_WORDS: Final = {
    AppointmentKind.DIAGNOSTIC_BLOCK: "block",
    AppointmentKind.PROCEDURE: "procedure",
    AppointmentKind.FOLLOW_UP: "follow-up",
}


@dataclass(frozen=True)
class Lane:
    """One room's row on the day's time axis."""

    name: str
    index: int


@dataclass(frozen=True)
class Axis:
    """The day's time axis: whole hours from ``first`` to ``last`` (site-local)."""

    first: int
    last: int
    width: float = 1000.0

    def x(self, at: datetime) -> float:
        minutes = (at.hour - self.first) * 60 + at.minute
        return round(minutes / ((self.last - self.first) * 60) * self.width, 1)

    @property
    def hours(self) -> list[tuple[int, float]]:
        span = self.last - self.first
        return [
            (h, round((h - self.first) / span * self.width, 1))
            for h in range(self.first, self.last + 1)
        ]


@dataclass(frozen=True)
class Row:
    """One case of the daily list, with its site-local times and its room's lane."""

    case: Case
    start: datetime
    end: datetime
    lane: Lane
    age: int


@blp.get("/clinicians/<int:clinician_id>/days")
@page(*LIST_READERS)
def pick_day(clinician_id: int) -> ResponseReturnValue:
    """The date picker's GET form (``?day=YYYY-MM-DD``): on to that day's list."""
    try:
        on = date.fromisoformat(request.args.get("day", ""))
    except ValueError:
        return error_page(400, "Choose a date, such as 2026-03-10, then Go.")
    return redirect(url_for("web.daily_list", clinician_id=clinician_id, day=on.isoformat()))


@blp.get("/clinicians/<int:clinician_id>/days/<day>")
@page(*LIST_READERS)
def daily_list(clinician_id: int, day: str) -> str:
    try:
        on = date.fromisoformat(day)
    except ValueError:
        raise NotFound("day", day) from None
    session = context.session()
    clinician = clinicians.get_clinician(session, clinician_id)
    cases = cases_of_day(session, clinician_id, on)
    zone = cases[0].appointment.timezone if cases else clinicians.home_zone(session, clinician_id)
    lanes: dict[int, Lane] = {}
    rows = []
    for case in cases:
        local = ZoneInfo(case.appointment.timezone)
        rows.append(
            Row(
                case=case,
                start=case.appointment.start_at.astimezone(local),
                end=case.appointment.end_at.astimezone(local),
                lane=lanes.setdefault(case.room.id, Lane(case.room.name, len(lanes))),
                age=case.patient.age_on(on),
            )
        )
    first = min([7, *(row.start.hour for row in rows)])
    last = max([19, *(row.end.hour + (1 if row.end.minute else 0) for row in rows)])
    actor = context.actor()
    may_manage_feed = actor.role is Role.ADMIN or actor.clinician_id == clinician_id
    sites = list(dict.fromkeys(case.appointment.site.name for case in cases))
    return render_template(
        "web/daily_list.html",
        clinician=clinician,
        day=on,
        zone=zone,
        rows=rows,
        lanes=list(lanes.values()),
        axis=Axis(first, last),
        flags=READINESS_FLAGS,
        previous_day=on - timedelta(days=1),
        next_day=on + timedelta(days=1),
        today=_today(zone),
        sites=sites,
        printed_at=context.now().astimezone(ZoneInfo(zone)),
        kinds=KIND_WORDS,
        may_manage_feed=may_manage_feed,
        feed_created_at=clinician.feed_token_created_at,
    )


@blp.post("/clinicians/<int:clinician_id>/feed")
@page(*FEED_MANAGERS)
def rotate_feed(clinician_id: int) -> str:
    """A new subscription address (the old one stops working); shown once, here.

    The one page write that renders instead of redirecting: the address is a secret,
    and neither a URL nor a flash message (a cookie) may carry it.
    """
    token = feeds.issue_token(context.session(), context.actor(), context.now(), clinician_id)
    context.session().commit()
    clinician = clinicians.get_clinician(context.session(), clinician_id)
    urls = feeds.feed_urls(current_app.config["PUBLIC_BASE_URL"], token)
    return render_template("web/feed_created.html", clinician=clinician, **urls)


@blp.post("/clinicians/<int:clinician_id>/feed/revoke")
@page(*FEED_MANAGERS)
def revoke_feed(clinician_id: int) -> ResponseReturnValue:
    def revoke(_args: dict[str, Any]) -> Done:
        feeds.revoke_token(context.session(), context.actor(), clinician_id)
        return Done(
            url_for("web.clinician_today", clinician_id=clinician_id),
            "The calendar subscription address no longer works.",
        )

    return write(
        "feed",
        NoArgs(),
        form_input(request.form),
        revoke,
        lambda problem: error_page(problem.status, " ".join(problem.messages)),
    )
