"""The nurse's day: a site's procedure patients by arrival time, and each one's procedure day.

Check-in, recovery scores, discharge and admission are loaded through the API's own
schemas and recorded by the same services as ``POST /api/v1/appointments/{id}/...``, so
a form is refused exactly when the API would refuse the same data, and the page shows the
service's reason beside the form. The roles that may record are the API's permission
table's; the others (admins) see the page without its forms.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from functools import partial
from typing import Any, Final
from zoneinfo import ZoneInfo

from flask import Blueprint, render_template, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import BadRequest

from scheduler import context
from scheduler.clinical import services as records
from scheduler.clinical.cases import ProcedureDay, procedure_day, procedure_patients
from scheduler.clinical.schemas import (
    AdmitArgs,
    CheckInArgs,
    DischargeArgs,
    FinishArgs,
    RecoveryScoreArgs,
    StartArgs,
)
from scheduler.clock import local_date
from scheduler.errors import NotFound
from scheduler.facilities import services as facilities
from scheduler.pathways.states import PathwayState
from scheduler.policies.services import policy_of
from scheduler.scheduling.booking import get_appointment
from scheduler.scheduling.readiness import READINESS_FLAGS
from scheduler.vocabulary import (
    RECOVERY_ITEMS,
    AnticoagulationStatus,
    AppointmentKind,
    AppointmentStatus,
    Complication,
    Method,
    RecoveryScale,
    Role,
)
from scheduler.web.forms import (
    Problem,
    api_roles,
    form_input,
    local_instant,
    may_record,
    record_on_page,
    recording,
    whole,
)
from scheduler.web.signin import page

blp = Blueprint("nurse", __name__, url_prefix="/nurse")

VIEWERS: Final = (Role.NURSE, Role.CLINICIAN, Role.ADMIN)

# Each form of the case page and the API action it records (its roles come from there).
FORM_ACTIONS: Final = {
    "check_in": "check-in",
    "start": "start",
    "finish": "finish",
    RecoveryScale.ALDRETE.value: "recovery-scores",
    RecoveryScale.PADSS.value: "recovery-scores",
    "discharge": "discharge",
    "admit": "admit",
}
# The forms each pathway state offers (the services still decide).
STATE_FORMS: Final = {
    PathwayState.PROCEDURE_SCHEDULED: ("check_in",),
    PathwayState.CHECKED_IN: ("start",),
    PathwayState.IN_PROCEDURE: ("finish",),
    PathwayState.IN_RECOVERY: (
        RecoveryScale.ALDRETE.value,
        RecoveryScale.PADSS.value,
        "discharge",
        "admit",
    ),
}

CHECK_IN_FLAGS: Final = ("consent_signed", "fasting_confirmed", "anticoagulation_reviewed")
CHECK_IN_TIMES: Final = ("last_clear_fluids_at", "last_light_meal_at", "last_heavy_meal_at")
DISCHARGE_FLAGS: Final = ("escort_present", "written_instructions_given")

SCALE_NAMES: Final = {RecoveryScale.ALDRETE: "Modified Aldrete", RecoveryScale.PADSS: "PADSS"}

# What each score of each item means (index = score), shown beside its choice: the
# modified Aldrete score (Aldrete, J Clin Anesth 1995;7:89-91) and Chung's Post-Anesthetic
# Discharge Scoring System (Chung et al., J Clin Anesth 1995;7:500-6).
ITEM_LEVELS: Final[dict[RecoveryScale, dict[str, tuple[str, str, str]]]] = {
    RecoveryScale.ALDRETE: {
        "activity": ("Moves no limbs", "Moves 2 limbs", "Moves all 4 limbs on command"),
        "respiration": ("Apnoeic", "Dyspnoea or shallow breathing", "Breathes deeply, coughs"),
        "circulation": (
            "Blood pressure 50% or more from baseline",
            "Blood pressure 20-49% from baseline",
            "Blood pressure within 20% of baseline",
        ),
        "consciousness": ("Not responding", "Arousable on calling", "Fully awake"),
        "oxygen_saturation": (
            "SpO2 below 90% even with oxygen",
            "Needs oxygen to keep SpO2 above 90%",
            "SpO2 above 92% on room air",
        ),
    },
    RecoveryScale.PADSS: {
        "vital_signs": (
            "More than 40% from baseline",
            "20-40% from baseline",
            "Within 20% of baseline",
        ),
        "activity": ("Unable to walk", "Walks with assistance", "Steady gait, no dizziness"),
        "nausea_vomiting": ("Severe", "Moderate", "Minimal"),
        "pain": ("Severe", "Moderate", "Minimal, controlled by oral analgesics"),
        "surgical_bleeding": ("Severe", "Moderate", "Minimal"),
    },
}


# ---------------------------------------------------------------------------------------
# The nurse's day


def _chosen_site_id() -> int | None:
    """The site asked for with ``?site_id=`` (None: the first one)."""
    wanted = request.args.get("site_id")
    if wanted is None:
        return None
    if not (wanted.isdecimal() and len(wanted) < 10):
        raise NotFound("site", wanted)
    return int(wanted)


def _chosen_day(today: date) -> date:
    """The day asked for with ``?date=YYYY-MM-DD``, else today."""
    wanted = request.args.get("date")
    if wanted is None:
        return today
    try:
        return date.fromisoformat(wanted)
    except ValueError:
        raise BadRequest("Use a date such as 2026-03-10.") from None


@blp.get("/")
@page(*VIEWERS)
def day() -> str:
    """Who arrives when today: the list a procedure-day nurse works down."""
    session = context.session()
    site = facilities.site_or_first(session, _chosen_site_id())
    zone = site.timezone if site else "UTC"
    today = local_date(context.now(), zone)
    on = _chosen_day(today)
    return render_template(
        "web/nurse_day.html",
        site=site,
        sites=facilities.sites_by_name(session),
        zone=zone,
        day=on,
        today=today,
        previous_day=on - timedelta(days=1),
        next_day=on + timedelta(days=1),
        arrivals=procedure_patients(session, site, on) if site else [],
    )


# ---------------------------------------------------------------------------------------
# One patient's procedure day


@dataclass(frozen=True)
class ItemChoice:
    """One item of a recovery scale with the meaning of each score and the one chosen."""

    name: str
    levels: tuple[str, str, str]
    chosen: str | None


@dataclass(frozen=True)
class ScoreForm:
    """A recovery-scale form; ``total`` is the chosen scores' sum once every item has one."""

    scale: RecoveryScale
    title: str
    items: list[ItemChoice]
    total: int | None
    maximum: int


def score_form(scale: RecoveryScale, values: Mapping[str, str]) -> ScoreForm:
    items = [
        ItemChoice(name, ITEM_LEVELS[scale][name], values.get(name))
        for name in RECOVERY_ITEMS[scale]
    ]
    chosen = [item.chosen for item in items]
    complete = all(value in {"0", "1", "2"} for value in chosen)
    return ScoreForm(
        scale=scale,
        title=SCALE_NAMES[scale],
        items=items,
        total=sum(int(value or 0) for value in chosen) if complete else None,
        maximum=2 * len(items),
    )


def _render_case(
    appointment_id: int,
    problem: Problem | None = None,
    values: Mapping[str, str] | None = None,
) -> tuple[str, int]:
    """The case page; after a refusal, with the reason beside its form and what was typed."""
    day: ProcedureDay = procedure_day(context.session(), context.actor(), appointment_id)
    appointment, pathway = day.appointment, day.pathway
    open_day = appointment.status is AppointmentStatus.BOOKED
    forms = {
        form
        for form in STATE_FORMS.get(pathway.state, ())
        if open_day and may_record(context.actor(), appointment, FORM_ACTIONS[form])
    }
    refill = values or {}
    zone = ZoneInfo(appointment.timezone)
    latest = {score.scale: score for score in day.scores}
    return render_template(
        "web/nurse_case.html",
        appointment=appointment,
        pathway=pathway,
        patient=day.patient,
        clinician=day.clinician,
        room=day.room,
        zone=appointment.timezone,
        local=lambda at: at.astimezone(zone),
        arrive=day.arrive.astimezone(zone),
        start=appointment.start_at.astimezone(zone),
        end=appointment.end_at.astimezone(zone),
        age=day.patient.age_on(appointment.start_at.astimezone(zone).date()),
        readiness=day.readiness,
        flags=READINESS_FLAGS,
        check_in=day.check_in,
        procedure=day.procedure,
        scores=list(reversed(day.scores)),
        latest=[latest[scale] for scale in RecoveryScale if scale in latest],
        scale_names=SCALE_NAMES,
        phase_one_complete=day.recovery.phase_one_complete,
        ready_for_discharge=day.recovery.ready_for_discharge,
        discharge_waits_for=day.recovery.discharge_waits_for,
        closing=day.closing,
        parameters=policy_of(pathway.policy).parameters,
        forms=forms,
        score_forms=[
            score_form(scale, refill if problem and problem.form == scale.value else {})
            for scale in RecoveryScale
        ],
        anticoagulation_statuses=list(AnticoagulationStatus),
        methods=list(Method),
        complications=list(Complication),
        problem=problem,
        values=refill,
    ), problem.status if problem else 200


@blp.get("/appointments/<int:appointment_id>")
@page(*VIEWERS)
def case(appointment_id: int) -> ResponseReturnValue:
    """One patient's procedure day: check-in, recovery scores, discharge or admission."""
    return _render_case(appointment_id)


# ---------------------------------------------------------------------------------------
# Recording: each form through the API's schema and service


# Each form of the page: the API's schema and service, back to this page either way.
_record = partial(record_on_page, "web.nurse.case", _render_case)


@blp.post("/appointments/<int:appointment_id>/check-in")
@page(*api_roles("check-in"))
def record_check_in(appointment_id: int) -> ResponseReturnValue:
    # The site's zone, for the times typed on its wall clock (one read, not the whole day).
    appointment = get_appointment(context.session(), context.actor(), appointment_id)
    if appointment.kind is not AppointmentKind.PROCEDURE:
        raise NotFound("procedure appointment", appointment_id)
    data = form_input(request.form, CHECK_IN_FLAGS)
    for name in CHECK_IN_TIMES:
        if name in data:
            data[name] = local_instant(data[name], appointment.timezone)
    said = "Checked in: every check-in rule of the policy is met."
    step = recording(records.check_in, appointment_id, said)
    return _record(appointment_id, "check_in", CheckInArgs(), data, step)


@blp.post("/appointments/<int:appointment_id>/start")
@page(*api_roles("start"))
def record_start(appointment_id: int) -> ResponseReturnValue:
    """The treating clinician starts the procedure (the method as booked, or another)."""
    step = recording(records.start_procedure, appointment_id, "Procedure started.")
    return _record(appointment_id, "start", StartArgs(), form_input(request.form), step)


@blp.post("/appointments/<int:appointment_id>/finish")
@page(*api_roles("finish"))
def record_finish(appointment_id: int) -> ResponseReturnValue:
    """The treating clinician finishes: the levels treated and any complication."""
    data = {
        "levels_treated": request.form.getlist("levels_treated"),
        "complications": request.form.getlist("complications"),
    }
    said = "Procedure finished: the patient is in recovery."
    step = recording(records.finish_procedure, appointment_id, said)
    return _record(appointment_id, "finish", FinishArgs(), data, step)


@blp.post("/appointments/<int:appointment_id>/recovery-scores")
@page(*api_roles("recovery-scores"))
def record_recovery_score(appointment_id: int) -> ResponseReturnValue:
    chosen = form_input(request.form)
    scale = chosen.pop("scale", None)
    data: dict[str, Any] = {"items": {name: whole(value) for name, value in chosen.items()}}
    if scale is not None:
        data["scale"] = scale

    step = recording(
        records.record_recovery_score,
        appointment_id,
        lambda recorded: f"{SCALE_NAMES[recorded[0].scale]} score recorded.",
    )
    form = scale if scale in set(RecoveryScale) else RecoveryScale.ALDRETE.value
    # Every error of a score form is shown above it: its items are radio groups.
    return _record(appointment_id, form, RecoveryScoreArgs(), data, step, inline=frozenset())


@blp.post("/appointments/<int:appointment_id>/discharge")
@page(*api_roles("discharge"))
def record_discharge(appointment_id: int) -> ResponseReturnValue:
    said = "Discharged home: the discharge criteria are met."
    step = recording(records.discharge, appointment_id, said)
    data = form_input(request.form, DISCHARGE_FLAGS)
    return _record(appointment_id, "discharge", DischargeArgs(), data, step)


@blp.post("/appointments/<int:appointment_id>/admit")
@page(*api_roles("admit"))
def record_admission(appointment_id: int) -> ResponseReturnValue:
    step = recording(records.admit, appointment_id, "Admission recorded.")
    return _record(appointment_id, "admit", AdmitArgs(), form_input(request.form), step)
