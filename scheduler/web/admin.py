"""Admin basics: users and roles, sites and their rooms, equipment and recovery bays,
clinicians' weekly hours and time off, policies (read; publish a new version).

Every form is loaded by the API's own request schema and saved by the API's own service
(``web/forms.py``), so a form accepts and refuses exactly what the API does. A refused
form comes back with the reason and what was typed (passwords excepted).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import time
from typing import Any, Final
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import marshmallow as ma
from flask import Blueprint, flash, render_template, request, url_for
from flask.typing import ResponseReturnValue

from scheduler import context
from scheduler.auth import services as auth
from scheduler.auth.permissions import roles_of
from scheduler.auth.schemas import UserCreateArgs
from scheduler.clinicians import services as clinicians
from scheduler.clinicians.schemas import ClinicianCreateArgs, TimeOffCreateArgs, WorkingHoursArgs
from scheduler.errors import InvalidInput, NotFound
from scheduler.facilities import services as facilities
from scheduler.facilities.models import Equipment, RecoveryBay, Room
from scheduler.facilities.schemas import (
    EquipmentCreateArgs,
    RecoveryBayCreateArgs,
    RoomCreateArgs,
    SiteCreateArgs,
    SiteUpdateArgs,
)
from scheduler.patients.models import Patient
from scheduler.patients.services import get_patient
from scheduler.policies import services as policies
from scheduler.policies.document import document_diff, pretty
from scheduler.policies.schemas import PolicyCreateArgs
from scheduler.scheduling.desk import find_patients
from scheduler.scheduling.time_off import add_time_off
from scheduler.vocabulary import EquipmentKind, Role, RoomKind
from scheduler.web.forms import Done, Problem, local_instant, problem_of, whole, write
from scheduler.web.signin import page

blp = Blueprint("admin", __name__, url_prefix="/admin")
# Whoever the API lets manage users and set-up (admins).
ADMINS: Final = roles_of("POST /users")
WEEKDAYS: Final = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
# The weekly hours form's fields: one site, then each weekday's from and until.
HOURS_FIELDS: Final = (
    "site_id",
    *(f"{end}-{day}" for day in range(len(WEEKDAYS)) for end in ("start", "end")),
)
# Admin forms list every error above the form, each with its field's name.
ABOVE: Final = frozenset[str]()
# Patients a search on the users page offers to link to a new login.
PATIENT_RESULTS: Final = 20
Choices = Callable[[], list[tuple[str, str]]]
Save = Callable[[dict[str, Any], int | None], object]


@dataclass(frozen=True)
class Input:
    """One labelled field of a form; ``name`` is the API schema's field name."""

    name: str
    label: str
    kind: str = "text"  # an <input> type, or "select" / "textarea" / "patient" (radios)
    choices: Choices | None = None
    required: bool = False


@dataclass(frozen=True)
class Form:
    title: str
    schema: type[ma.Schema]
    save: Save  # (the loaded body, the clinician of a per-clinician form)
    inputs: tuple[Input, ...]
    back: str  # the page the form lives on
    per_clinician: bool = False  # posted to /admin/clinicians/<id>/forms/<key>
    # Saving may strand booked patients: the page asks to confirm (confirm_stranded).
    confirmable: bool = False


def _sites() -> list[tuple[str, str]]:
    return [(str(s.id), s.name) for s in facilities.sites_by_name(context.session())]


def _clinicians() -> list[tuple[str, str]]:
    rows = clinicians.list_clinicians(context.session())
    return [("", "—")] + [(str(c.id), f"{c.family_name}, {c.given_name}") for c in rows]


def _enum(values: Any, *, pick: str | None = None) -> Choices:
    """An enum's values as choices; with ``pick``, a first empty choice (no default)."""
    first = [("", pick)] if pick else []
    return lambda: first + [(v.value, v.value.replace("_", " ")) for v in values]


def patient_choice(patient: Patient) -> tuple[str, str]:
    """A patient as a choice: the record id and what the admin recognises them by."""
    born = patient.birth_date.isoformat()
    return str(
        patient.id
    ), f"{patient.family_name}, {patient.given_name} · MRN {patient.mrn} · born {born}"


def _by(service: Callable[..., object]) -> Save:
    """Save by calling a create service with the acting user and the clock."""
    return lambda data, _clinician_id: service(
        context.session(), context.actor(), context.now(), **data
    )


def _time_off(data: dict[str, Any], clinician_id: int | None) -> object:
    assert clinician_id is not None  # noqa: S101 (a per-clinician form)
    time_off, stranded = add_time_off(
        context.session(), context.actor(), context.now(), clinician_id, **data
    )
    if stranded:
        flash(_sent_to_rebook(len(stranded)), "info")
    return time_off


def _sent_to_rebook(count: int) -> str:
    return (
        f"{count} booked appointment(s) now need a new time: they are in the board's "
        "Rebook queue and flagged on every list until moved."
    )


FORMS: Final[dict[str, Form]] = {
    "user": Form(
        "Add a user",
        UserCreateArgs,
        _by(auth.create_user),
        (
            Input("email", "E-mail", "email", required=True),
            Input(
                "password",
                f"Password (at least {auth.MIN_PASSWORD_LENGTH} characters)",
                "password",
                required=True,
            ),
            Input("role", "Role", "select", _enum(Role, pick="Choose a role"), required=True),
            Input("clinician_id", "Clinician (clinician logins)", "select", _clinicians),
            Input("patient_id", "Patient (patient logins)", "patient"),
        ),
        "web.admin.users",
    ),
    "site": Form(
        "Add a site",
        SiteCreateArgs,
        _by(facilities.create_site),
        (
            Input("name", "Name", required=True),
            Input("display_name", "Name shown to patients (if not the name)"),
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
        _by(facilities.create_room),
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
        _by(facilities.create_equipment),
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
        _by(facilities.create_recovery_bay),
        (
            Input("site_id", "Site", "select", _sites, required=True),
            Input("name", "Name", required=True),
        ),
        "web.admin.facilities_overview",
    ),
    "clinician": Form(
        "Add a clinician",
        ClinicianCreateArgs,
        _by(clinicians.create_clinician),
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
        confirmable=True,
    ),
    "policy": Form(
        "Publish a new version",
        PolicyCreateArgs,
        _by(policies.publish_policy),
        (
            Input("name", "Name", required=True),
            Input("title", "Title", required=True),
            Input("parameters", "Parameters (JSON)", "textarea", required=True),
        ),
        "web.admin.policy_list",
    ),
}


# Changing a site (PATCH /sites/{id}): posted to /admin/sites/<id>, not to /admin/forms.
SITE_FORM: Final = Form(
    "Change this site",
    SiteUpdateArgs,
    lambda _data, _clinician_id: None,  # edit_site saves it: it knows which site
    (
        Input("name", "Name", required=True),
        Input("display_name", "Name shown to patients (blank: the name)"),
        Input("address", "Address", "textarea", required=True),
        Input("phone", "Phone", "tel"),
        Input("turnover_minutes", "Room turnover after a procedure (minutes)", "number"),
        Input("recovery_minutes", "Recovery bay time after a procedure (minutes)", "number"),
        Input("min_notice_minutes", "Minimum notice for a booking (minutes)", "number"),
    ),
    "web.admin.facilities_overview",
)


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


def _linkable_patients(chosen: str) -> list[tuple[str, str]]:
    """The patient already chosen on a refused user form, to offer it again."""
    if not chosen.isdecimal():
        return []
    try:
        return [patient_choice(get_patient(context.session(), context.actor(), int(chosen)))]
    except NotFound:
        return []


def _refused(
    key: str,
    form: Form,
    problem: Problem,
    clinician_id: int | None,
    *,
    action: str | None = None,
) -> ResponseReturnValue:
    """The form again, with the reason above it and what was typed (never a password);
    or, when saving would strand booked patients, the confirmation naming them."""
    typed: dict[str, Any] = {
        field.name: request.form.get(field.name, "")
        for field in form.inputs
        if field.kind != "password"
    }
    if any(field.kind == "patient" for field in form.inputs):
        typed["patients"] = _linkable_patients(typed.get("patient_id", ""))
    action = action or url_for("web.admin.submit", key=key, clinician_id=clinician_id)
    if problem.stranded and clinician_id is not None:
        return _confirm_stranded(clinician_id, form.title, action, problem, typed)
    back = (
        url_for(form.back, clinician_id=clinician_id) if form.per_clinician else url_for(form.back)
    )
    return render_template(
        "web/admin/refused.html",
        key=key,
        form=form,
        action=action,
        back=back,
        problem=problem,
        typed=typed,
    ), problem.status


@blp.post("/forms/<key>")
@blp.post("/clinicians/<int:clinician_id>/forms/<key>")
@page(*ADMINS)
def submit(key: str, clinician_id: int | None = None) -> ResponseReturnValue:
    form = FORMS.get(key)
    if form is None or form.per_clinician != (clinician_id is not None):
        raise NotFound("form", key)
    if clinician_id is not None:
        clinicians.get_clinician(context.session(), clinician_id)
    back = (
        url_for(form.back, clinician_id=clinician_id) if form.per_clinician else url_for(form.back)
    )
    zone = clinicians.home_zone(context.session(), clinician_id) if clinician_id else "UTC"
    try:
        data = _form_values(form, zone)
    except InvalidInput as error:
        return _refused(key, form, problem_of(key, error, ABOVE), clinician_id)
    if form.confirmable and request.form.get("confirm_stranded") == "true":
        data["confirm_stranded"] = True

    def save(args: dict[str, Any]) -> Done:
        form.save(args, clinician_id)
        return Done(back, f"{form.title}: saved.")

    return write(
        key,
        form.schema(),
        data,
        save,
        lambda problem: _refused(key, form, problem, clinician_id),
        inline=ABOVE,
    )


# ---------------------------------------------------------------------------------------
# Pages


@blp.get("/")
@page(*ADMINS)
def index() -> str:
    return render_template("web/admin/index.html")


@blp.post("/sites/<int:site_id>")
@page(*ADMINS)
def edit_site(site_id: int) -> ResponseReturnValue:
    """Change a site's settings as ``PATCH /sites/{id}`` does (not its zone); a blank
    patient-facing name or phone clears it."""
    facilities.get_site(context.session(), site_id)
    form = SITE_FORM
    action = url_for("web.admin.edit_site", site_id=site_id)
    data = {"display_name": None, "phone": None} | _form_values(form, "UTC")

    def save(changes: dict[str, Any]) -> Done:
        facilities.update_site(context.session(), context.actor(), context.now(), site_id, changes)
        return Done(url_for(form.back), "Site saved.")

    return write(
        "site_edit",
        SiteUpdateArgs(partial=True),
        data,
        save,
        lambda problem: _refused("site_edit", form, problem, None, action=action),
        inline=ABOVE,
    )


@blp.get("/users")
@page(*ADMINS)
def users() -> str:
    """Users, and the form to add one; ``?patient=`` searches the patients a patient
    login may be linked to (by name, MRN or date of birth), offered as choices."""
    session = context.session()
    query = request.args.get("patient", "").strip()[:80]
    found = find_patients(session, context.actor(), query, limit=PATIENT_RESULTS) if query else []
    everyone = auth.users_by_role(session)
    return render_template(
        "web/admin/users.html",
        users=everyone,
        records=auth.linked_records(session, everyone),
        forms=FORMS,
        keys=["user"],
        patient_query=query,
        patients=[patient_choice(each.patient) for each in found],
    )


@blp.get("/facilities")
@page(*ADMINS)
def facilities_overview() -> str:
    session = context.session()
    return render_template(
        "web/admin/facilities.html",
        sites=facilities.sites_by_name(session),
        rooms=facilities.by_site(session, Room),
        equipment=facilities.by_site(session, Equipment),
        bays=facilities.by_site(session, RecoveryBay),
        forms=FORMS,
        site_form=SITE_FORM,
        keys=["site", "room", "equipment", "recovery_bay"],
    )


@blp.get("/clinicians")
@page(*ADMINS)
def clinician_list() -> str:
    return render_template(
        "web/admin/clinicians.html",
        clinicians=clinicians.list_clinicians(context.session()),
        forms=FORMS,
        keys=["clinician"],
    )


@blp.get("/clinicians/<int:clinician_id>")
@page(*ADMINS)
def clinician(clinician_id: int) -> ResponseReturnValue:
    return _clinician_page(clinician_id)


def _clinician_page(
    clinician_id: int, problem: Problem | None = None, typed: Mapping[str, str] | None = None
) -> ResponseReturnValue:
    """The clinician's hours and time off; ``typed`` (default: the query, as "Go back" from
    a confirmation sends it) fills the forms with what was typed instead."""
    session = context.session()
    person = clinicians.get_clinician(session, clinician_id)
    hours = clinicians.working_hours(session, clinician_id)
    typed = request.args if typed is None else typed
    typed_hours = (
        {name: typed.get(name, "") for name in HOURS_FIELDS} if "site_id" in typed else None
    )
    typed_time_off = {i.name: typed[i.name] for i in FORMS["time_off"].inputs if i.name in typed}
    return render_template(
        "web/admin/clinician.html",
        clinician=person,
        by_day={row.weekday: row for row in hours},
        weekdays=WEEKDAYS,
        sites=_sites(),
        site_id=typed_hours["site_id"] if typed_hours else hours[0].site_id if hours else None,
        typed_hours=typed_hours,
        typed_time_off=typed_time_off,
        time_off=clinicians.time_off_ahead(session, clinician_id, context.now()),
        zone=ZoneInfo(clinicians.home_zone(session, clinician_id)),
        forms=FORMS,
        problem=problem,
    ), problem.status if problem else 200


def _confirm_stranded(
    clinician_id: int, change: str, action: str, problem: Problem, typed: Mapping[str, str]
) -> ResponseReturnValue:
    """Saving would leave booked patients without the clinician: name them, and offer to
    save anyway (they go to the Rebook queue) or to go back to the form as typed."""
    return render_template(
        "web/admin/stranded.html",
        clinician=clinicians.get_clinician(context.session(), clinician_id),
        change=change,
        action=action,
        back=url_for("web.admin.clinician", clinician_id=clinician_id) + "?" + urlencode(typed),
        problem=problem,
        rows=[(s, s.start.astimezone(ZoneInfo(s.timezone))) for s in problem.stranded],
        typed=typed,
    ), problem.status


@blp.post("/clinicians/<int:clinician_id>/hours")
@page(*ADMINS)
def set_hours(clinician_id: int) -> ResponseReturnValue:
    """One interval per weekday (blank: not working), all at one site."""
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

    confirmed = request.form.get("confirm_stranded") == "true"
    typed = {name: request.form.get(name, "") for name in HOURS_FIELDS}

    def save(loaded: list[dict[str, Any]]) -> Done:
        _hours, stranded = clinicians.replace_working_hours(
            context.session(),
            context.actor(),
            context.now(),
            clinician_id,
            loaded,
            confirm_stranded=confirmed,
        )
        said = "Weekly hours saved." + (f" {_sent_to_rebook(len(stranded))}" if stranded else "")
        return Done(url_for("web.admin.clinician", clinician_id=clinician_id), said)

    def refused(problem: Problem) -> ResponseReturnValue:
        if problem.stranded:
            action = url_for("web.admin.set_hours", clinician_id=clinician_id)
            return _confirm_stranded(clinician_id, "Weekly hours", action, problem, typed)
        return _clinician_page(clinician_id, problem, typed)

    return write(
        "hours",
        WorkingHoursArgs(many=True),
        intervals,
        save,
        refused,
        inline=ABOVE,
        # An interval's errors name its weekday ("Tuesday end: ..."), not its position.
        labels={str(index): interval["weekday"] for index, interval in enumerate(intervals)},
    )


@blp.get("/policies")
@page(*ADMINS)
def policy_list() -> str:
    rows = policies.list_policies(context.session())
    return render_template("web/admin/policies.html", policies=rows)


@blp.get("/policies/<name>/<int:version>")
@page(*ADMINS)
def policy(name: str, version: int) -> str:
    """A version's document, what changed since the version before, and the form that
    publishes the next one from an edited copy."""
    session = context.session()
    record = policies.get_policy(session, name, version)
    previous = policies.get_policy(session, name, version - 1) if version > 1 else None
    changes = document_diff(previous.parameters if previous else None, record.parameters)
    return render_template(
        "web/admin/policy.html",
        policy=record,
        document=pretty(record.parameters),
        previous=previous,
        changes=changes,
        form=FORMS["policy"],
    )


@blp.app_template_global()
def clock_text(value: time | None) -> str:
    return value.strftime("%H:%M") if value else ""
