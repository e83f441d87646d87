"""The nurse's day: a site's procedure patients by arrival time, and each one's procedure day.

Check-in, recovery scores, discharge and admission are loaded through the API's own
schemas and recorded by the same services as ``POST /api/v1/appointments/{id}/...``, so
a form is refused exactly when the API would refuse the same data, and the page shows the
service's reason beside the form. The roles that may record are the API's permission
table's; the others (admins) see the page without its forms.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from functools import partial
from typing import Any, Final
from zoneinfo import ZoneInfo

from flask import Blueprint, render_template, request, url_for
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
from scheduler.scheduling.models import Appointment
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
    Action,
    Done,
    Problem,
    api_roles,
    form_input,
    local_instant,
    may_record,
    record_on_page,
    recording,
    then,
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

# The page's sections, by the id each step's form sits under (where saving goes next).
CHECK_IN_STEP: Final = "check-in"
PROCEDURE_STEP: Final = "procedure"
DISCHARGE_STEP: Final = "discharge"
SCORE_STEPS: Final = {scale: f"score-{scale.value}" for scale in RecoveryScale}
# The step each form's refusal sends the reader back to (the top lists what to fix).
FORM_STEPS: Final = {
    "check_in": CHECK_IN_STEP,
    "start": PROCEDURE_STEP,
    "finish": PROCEDURE_STEP,
    "discharge": DISCHARGE_STEP,
    "admit": DISCHARGE_STEP,
    **{scale.value: step for scale, step in SCORE_STEPS.items()},
}
# A procedure patient's state on the nurse's day, in words.
BEDSIDE_STATES: Final = {
    "expected": "Expected",
    "checked_in": "Checked in",
    "in_procedure": "In procedure",
    "in_recovery": "In recovery",
    "discharged": "Discharged",
    "admitted": "Admitted",
    "no_show": "Did not attend",
    "cancelled": "Cancelled",
    "completed": "Completed",
}
# How the datetime-local fields show a site's wall clock.
WALL_CLOCK: Final = "%Y-%m-%dT%H:%M"

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
        now=context.now(),
        states=BEDSIDE_STATES,
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


def _came_from_list() -> bool:
    """Whether the page was opened from a daily list (``?from=list``), and so leads back."""
    return request.args.get("from") == "list"


def _here() -> dict[str, str]:
    """The query that keeps where the reader came from across the page's forms."""
    return {"from": "list"} if _came_from_list() else {}


def back_link(appointment: Appointment, day: date) -> tuple[str, str]:
    """Where "back" leads: the daily list the case was opened from (a surgeon's own by
    default), else the nurse's day at the case's site."""
    if _came_from_list() or (context.actor().role is Role.CLINICIAN and "from" not in request.args):
        url = url_for("web.daily_list", clinician_id=appointment.clinician_id, day=day.isoformat())
        return url, "Daily list"
    url = url_for("web.nurse.day", site_id=appointment.site_id, date=day.isoformat())
    return url, "Nurse day"


def _case_url(appointment_id: int, step: str) -> str:
    query: dict[str, Any] = _here()
    return url_for("web.nurse.case", appointment_id=appointment_id, _anchor=step, **query)


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
    start = appointment.start_at.astimezone(zone)
    wall_now = context.now().astimezone(zone).strftime(WALL_CLOCK)
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
        start=start,
        back=back_link(appointment, start.date()),
        here=_here(),
        recovery_bay=day.recovery_bay,
        wall_now=wall_now,
        last_scores=latest,
        score_steps={scale.value: step for scale, step in SCORE_STEPS.items()},
        problem_step=FORM_STEPS.get(problem.form) if problem else None,
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


# Each form of the page: the API's schema and service; done, on to the next step of the
# page (its anchor, see _next); refused, the page again with the reason at the top.
_record = partial(record_on_page, _render_case)


def _next(appointment_id: int, step: str, record: Callable[[Any], str]) -> Action:
    """Record, then go on to ``step`` of the page (not its top)."""
    return then(_case_url(appointment_id, step), record)


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
    step = _next(appointment_id, PROCEDURE_STEP, recording(records.check_in, appointment_id, said))
    return _record(appointment_id, "check_in", CheckInArgs(), data, step)


@blp.post("/appointments/<int:appointment_id>/start")
@page(*api_roles("start"))
def record_start(appointment_id: int) -> ResponseReturnValue:
    """The treating clinician starts the procedure (the method as booked, or another)."""
    started = recording(records.start_procedure, appointment_id, "Procedure started.")
    step = _next(appointment_id, PROCEDURE_STEP, started)
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
    finished = recording(records.finish_procedure, appointment_id, said)
    step = _next(appointment_id, SCORE_STEPS[RecoveryScale.ALDRETE], finished)
    return _record(appointment_id, "finish", FinishArgs(), data, step)


@blp.post("/appointments/<int:appointment_id>/recovery-scores")
@page(*api_roles("recovery-scores"))
def record_recovery_score(appointment_id: int) -> ResponseReturnValue:
    """A score as chosen, or "same as last" (the latest score of the scale, observed
    again); the observation time is the site's wall clock (blank: now)."""
    appointment = get_appointment(context.session(), context.actor(), appointment_id)
    chosen = form_input(request.form)
    scale = chosen.pop("scale", None)
    observed = chosen.pop("observed_at", None)
    repeat = chosen.pop("same_as_last", None) is not None
    data: dict[str, Any] = {"items": {name: whole(value) for name, value in chosen.items()}}
    if scale is not None:
        data["scale"] = scale
    if observed is not None:
        data["observed_at"] = local_instant(observed, appointment.timezone)
    form = scale if scale in set(RecoveryScale) else RecoveryScale.ALDRETE.value
    if repeat and scale in set(RecoveryScale):
        last = records.latest_score(
            context.session(), context.actor(), appointment_id, RecoveryScale(scale)
        )
        if last is None:
            name = SCALE_NAMES[RecoveryScale(scale)]
            problem = Problem(
                form,
                "Nothing was recorded:",
                [f"There is no earlier {name} score to repeat: choose a score for each item."],
            )
            return _render_case(appointment_id, problem, request.form.to_dict())
        data["items"] = dict(last.items)

    def action(body: dict[str, Any]) -> Done:
        score, status = records.record_recovery_score(
            context.session(), context.actor(), context.now(), appointment_id, **body
        )
        if score.scale is RecoveryScale.ALDRETE and status.phase_one_complete:
            step = SCORE_STEPS[RecoveryScale.PADSS]
        elif score.scale is RecoveryScale.PADSS and status.ready_for_discharge:
            step = DISCHARGE_STEP
        else:
            step = SCORE_STEPS[score.scale]
        return Done(_case_url(appointment_id, step), f"{SCALE_NAMES[score.scale]} score recorded.")

    # The items are radio groups: their errors are listed at the top; the time's beside it.
    inline = frozenset({"observed_at"})
    return _record(appointment_id, form, RecoveryScoreArgs(), data, action, inline=inline)


@blp.post("/appointments/<int:appointment_id>/discharge")
@page(*api_roles("discharge"))
def record_discharge(appointment_id: int) -> ResponseReturnValue:
    said = "Discharged home: the discharge criteria are met."
    step = _next(appointment_id, DISCHARGE_STEP, recording(records.discharge, appointment_id, said))
    data = form_input(request.form, DISCHARGE_FLAGS)
    return _record(appointment_id, "discharge", DischargeArgs(), data, step)


@blp.post("/appointments/<int:appointment_id>/admit")
@page(*api_roles("admit"))
def record_admission(appointment_id: int) -> ResponseReturnValue:
    admitted = recording(records.admit, appointment_id, "Admission recorded.")
    step = _next(appointment_id, DISCHARGE_STEP, admitted)
    return _record(appointment_id, "admit", AdmitArgs(), form_input(request.form), step)
