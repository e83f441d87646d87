"""Admin basics: users and roles, sites and their rooms, equipment and recovery bays,
clinicians' weekly hours and time off, policies (read; publish a new version).

Every form is loaded by the API's own request schema and saved by the API's own service,
so a form accepts and refuses exactly what the API does.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import time
from typing import Any
from zoneinfo import ZoneInfo

import marshmallow as ma
from flask import Blueprint, flash, redirect, render_template, request, url_for
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from scheduler import context
from scheduler.auth import services as auth
from scheduler.auth.models import User
from scheduler.auth.schemas import UserCreateArgs
from scheduler.clinicians import services as clinicians
from scheduler.clinicians.models import Clinician, TimeOff, WorkingHours
from scheduler.clinicians.schemas import ClinicianCreateArgs, TimeOffCreateArgs, WorkingHoursArgs
from scheduler.errors import DomainError, InvalidInput, NotFound
from scheduler.facilities import services as facilities
from scheduler.facilities.models import Equipment, RecoveryBay, Room, Site
from scheduler.facilities.schemas import (
    EquipmentCreateArgs,
    RecoveryBayCreateArgs,
    RoomCreateArgs,
    SiteCreateArgs,
)
from scheduler.pathways.models import PolicyRecord
from scheduler.policies import services as policies
from scheduler.policies.schemas import PolicyCreateArgs
from scheduler.vocabulary import EquipmentKind, Role, RoomKind
from scheduler.web.board import explain
from scheduler.web.forms import local_instant, whole
from scheduler.web.signin import page

blp = Blueprint("admin", __name__, url_prefix="/admin")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
Choices = Callable[[], list[tuple[str, str]]]


@dataclass(frozen=True)
class Input:
    """One labelled field of a form; ``name`` is the API schema's field name."""

    name: str
    label: str
    kind: str = "text"  # an <input> type, or "select" / "textarea"
    choices: Choices | None = None
    required: bool = False


@dataclass(frozen=True)
class Form:
    title: str
    schema: type[ma.Schema]
    save: Callable[[Session, dict[str, Any], dict[str, Any]], object]
    inputs: tuple[Input, ...]
    back: str  # the page the form lives on
    per_clinician: bool = False  # posted to /admin/clinicians/<id>/forms/<key>


def _sites() -> list[tuple[str, str]]:
    return [
        (str(s.id), s.name) for s in context.session().scalars(select(Site).order_by(Site.name))
    ]


def _clinicians() -> list[tuple[str, str]]:
    rows = context.session().scalars(select(Clinician).order_by(Clinician.family_name))
    return [("", "—")] + [(str(c.id), f"{c.family_name}, {c.given_name}") for c in rows]


def _enum(values: Any) -> Choices:
    return lambda: [(v.value, v.value.replace("_", " ")) for v in values]


def _publish(session: Session, data: dict[str, Any], _url: dict[str, Any]) -> object:
    return policies.publish_policy(session, context.actor(), context.now(), **data)


def _time_off(session: Session, data: dict[str, Any], url: dict[str, Any]) -> object:
    time_off, conflicts = clinicians.add_time_off(
        session, url["clinician_id"], data["start"], data["end"], data["reason"]
    )
    if conflicts:
        flash(
            f"{len(conflicts)} booked appointment(s) fall in this time off: rebook them.", "error"
        )
    return time_off


FORMS: dict[str, Form] = {
    "user": Form(
        "Add a user",
        UserCreateArgs,
        lambda s, d, _u: auth.create_user(s, context.now(), **d),
        (
            Input("email", "E-mail", "email", required=True),
            Input("password", "Password (at least 12 characters)", "password", required=True),
            Input("role", "Role", "select", _enum(Role), required=True),
            Input("clinician_id", "Clinician (clinician logins)", "select", _clinicians),
            Input("patient_id", "Patient record id (patient logins)", "number"),
        ),
        "web.admin.users",
    ),
    "site": Form(
        "Add a site",
        SiteCreateArgs,
        lambda s, d, _u: facilities.create_site(s, **d),
        (
            Input("name", "Name", required=True),
            Input("timezone", "Time zone (IANA, e.g. America/New_York)", required=True),
            Input("address", "Address", "textarea", required=True),
            Input("phone", "Phone", "tel"),
            Input("turnover_minutes", "Room turnover after a procedure (minutes)", "number"),
            Input("recovery_minutes", "Recovery bay time after a procedure (minutes)", "number"),
            Input("min_notice_minutes", "Minimum notice for a booking (minutes)", "number"),
        ),
        "web.admin.facilities_overview",
    ),
    "room": Form(
        "Add a room",
        RoomCreateArgs,
        lambda s, d, _u: facilities.create_room(s, **d),
        (
            Input("site_id", "Site", "select", _sites, required=True),
            Input("name", "Name", required=True),
            Input("kind", "Kind", "select", _enum(RoomKind), required=True),
            Input("fluoroscopy", "Has fluoroscopy", "checkbox"),
        ),
        "web.admin.facilities_overview",
    ),
    "equipment": Form(
        "Add equipment",
        EquipmentCreateArgs,
        lambda s, d, _u: facilities.create_equipment(s, **d),
        (
            Input("site_id", "Site", "select", _sites, required=True),
            Input("name", "Name", required=True),
            Input("kind", "Kind", "select", _enum(EquipmentKind), required=True),
        ),
        "web.admin.facilities_overview",
    ),
    "recovery_bay": Form(
        "Add a recovery bay",
        RecoveryBayCreateArgs,
        lambda s, d, _u: facilities.create_recovery_bay(s, **d),
        (
            Input("site_id", "Site", "select", _sites, required=True),
            Input("name", "Name", required=True),
        ),
        "web.admin.facilities_overview",
    ),
    "clinician": Form(
        "Add a clinician",
        ClinicianCreateArgs,
        lambda s, d, _u: clinicians.create_clinician(s, **d),
        (
            Input("given_name", "Given name", required=True),
            Input("family_name", "Family name", required=True),
            Input("email", "E-mail", "email"),
        ),
        "web.admin.clinician_list",
    ),
    "time_off": Form(
        "Add time off",
        TimeOffCreateArgs,
        _time_off,
        (
            Input("start", "From", "datetime-local", required=True),
            Input("end", "Until", "datetime-local", required=True),
            Input("reason", "Reason"),
        ),
        "web.admin.clinician",
        per_clinician=True,
    ),
    "policy": Form(
        "Publish a new version",
        PolicyCreateArgs,
        _publish,
        (
            Input("name", "Name", required=True),
            Input("title", "Title", required=True),
            Input("parameters", "Parameters (JSON)", "textarea", required=True),
        ),
        "web.admin.policy_list",
    ),
}


def _form_values(form: Form, zone: str) -> dict[str, Any]:
    """The posted fields as the API would receive them: blanks left out, checkboxes as
    booleans, local date-times with the site's offset, the JSON field parsed."""
    values: dict[str, Any] = {}
    for field in form.inputs:
        raw = request.form.get(field.name, "")
        if field.kind == "checkbox":
            values[field.name] = field.name in request.form
        elif raw.strip() == "":
            continue
        elif field.kind == "datetime-local":
            values[field.name] = local_instant(raw, zone)
        elif field.name == "parameters":
            try:
                values[field.name] = json.loads(raw)
            except ValueError as error:
                raise InvalidInput.field("parameters", f"Not valid JSON: {error}.") from None
        elif field.kind == "password":
            values[field.name] = raw
        else:
            # Form fields are text; the API's id and count fields take JSON numbers.
            numeric = field.kind == "number" or field.name.endswith("_id")
            values[field.name] = whole(raw) if numeric else raw.strip()
    return values


@blp.post("/forms/<key>")
@blp.post("/clinicians/<int:clinician_id>/forms/<key>")
@page(Role.ADMIN)
def submit(key: str, clinician_id: int | None = None) -> Response:
    form = FORMS.get(key)
    if form is None or form.per_clinician != (clinician_id is not None):
        raise NotFound("form", key)
    if clinician_id is not None:
        clinicians.get_clinician(context.session(), clinician_id)
    url: dict[str, Any] = {"clinician_id": clinician_id} if clinician_id else {}
    back = url_for(form.back, **url)
    zone = clinicians.home_zone(context.session(), clinician_id) if clinician_id else "UTC"
    try:
        data = form.schema().load(_form_values(form, zone))
        form.save(context.session(), data, url)
    except ma.ValidationError as error:
        context.session().rollback()
        _flash_errors(_messages(error))
        return redirect(back)
    except InvalidInput as error:
        context.session().rollback()
        _flash_errors(error.errors)
        return redirect(back)
    except DomainError as error:
        context.session().rollback()
        for message in explain(error):
            flash(message, "error")
        return redirect(back)
    context.session().commit()
    flash(f"{form.title}: saved.", "info")
    return redirect(back)


def _messages(error: ma.ValidationError) -> dict[Any, Any]:
    return error.messages if isinstance(error.messages, dict) else {"": error.messages}


def _flash_errors(messages: dict[Any, Any], prefix: str = "") -> None:
    for name, problem in messages.items():
        if isinstance(problem, dict):
            _flash_errors(problem, f"{prefix}{name}.")
        else:
            flash(f"{prefix}{name}: {' '.join(map(str, problem))}", "error")


# ---------------------------------------------------------------------------------------
# Pages


@blp.get("/")
@page(Role.ADMIN)
def index() -> str:
    return render_template("web/admin/index.html")


@blp.get("/users")
@page(Role.ADMIN)
def users() -> str:
    rows = context.session().scalars(select(User).order_by(User.role, User.email))
    return render_template("web/admin/users.html", users=list(rows), forms=FORMS, keys=["user"])


@blp.get("/facilities")
@page(Role.ADMIN)
def facilities_overview() -> str:
    session = context.session()
    sites = list(session.scalars(select(Site).order_by(Site.name)))

    def at(model: Any) -> dict[int, list[Any]]:
        grouped: dict[int, list[Any]] = {}
        for row in session.scalars(select(model).order_by(model.name)):
            grouped.setdefault(row.site_id, []).append(row)
        return grouped

    return render_template(
        "web/admin/facilities.html",
        sites=sites,
        rooms=at(Room),
        equipment=at(Equipment),
        bays=at(RecoveryBay),
        forms=FORMS,
        keys=["site", "room", "equipment", "recovery_bay"],
    )


@blp.get("/clinicians")
@page(Role.ADMIN)
def clinician_list() -> str:
    rows = context.session().scalars(select(Clinician).order_by(Clinician.family_name))
    return render_template(
        "web/admin/clinicians.html", clinicians=list(rows), forms=FORMS, keys=["clinician"]
    )


@blp.get("/clinicians/<int:clinician_id>")
@page(Role.ADMIN)
def clinician(clinician_id: int) -> str:
    session = context.session()
    person = clinicians.get_clinician(session, clinician_id)
    hours = clinicians.working_hours(session, clinician_id)
    zone = ZoneInfo(clinicians.home_zone(session, clinician_id))
    time_off = session.scalars(
        select(TimeOff)
        .where(TimeOff.clinician_id == clinician_id, TimeOff.end_at > context.now())
        .order_by(TimeOff.start_at)
    )
    by_day: dict[int, WorkingHours] = {row.weekday: row for row in hours}
    return render_template(
        "web/admin/clinician.html",
        clinician=person,
        by_day=by_day,
        weekdays=WEEKDAYS,
        sites=_sites(),
        site_id=hours[0].site_id if hours else None,
        time_off=list(time_off),
        zone=zone,
        forms=FORMS,
    )


@blp.post("/clinicians/<int:clinician_id>/hours")
@page(Role.ADMIN)
def set_hours(clinician_id: int) -> Response:
    """One interval per weekday (blank: not working), all at one site."""
    back = url_for("web.admin.clinician", clinician_id=clinician_id)
    intervals: list[dict[str, Any]] = [
        {
            "site_id": whole(request.form.get("site_id", "")),
            "weekday": WEEKDAYS[day].lower(),
            "start": request.form.get(f"start-{day}", ""),
            "end": request.form.get(f"end-{day}", ""),
        }
        for day in range(7)
        if request.form.get(f"start-{day}") or request.form.get(f"end-{day}")
    ]
    try:
        loaded = WorkingHoursArgs(many=True).load(intervals)
        clinicians.set_working_hours(context.session(), clinician_id, loaded)
    except ma.ValidationError as error:
        context.session().rollback()
        for index, problems in _messages(error).items():
            day = intervals[index]["weekday"].title() if isinstance(index, int) else index
            _flash_errors(problems if isinstance(problems, dict) else {"": problems}, f"{day} ")
        return redirect(back)
    except DomainError as error:
        context.session().rollback()
        for message in explain(error):
            flash(message, "error")
        return redirect(back)
    context.session().commit()
    flash("Weekly hours saved.", "info")
    return redirect(back)


@blp.get("/policies")
@page(Role.ADMIN)
def policy_list() -> str:
    rows = context.session().scalars(
        select(PolicyRecord).order_by(PolicyRecord.name, PolicyRecord.version.desc())
    )
    return render_template("web/admin/policies.html", policies=list(rows))


@blp.get("/policies/<name>/<int:version>")
@page(Role.ADMIN)
def policy(name: str, version: int) -> str:
    record = policies.get_policy(context.session(), name, version)
    document = json.dumps(record.parameters, indent=2, sort_keys=True)
    return render_template(
        "web/admin/policy.html", policy=record, document=document, form=FORMS["policy"]
    )


@blp.app_template_global()
def clock_text(value: time | None) -> str:
    return value.strftime("%H:%M") if value else ""
