"""The clinician's record of a visit: a diagnostic block's result, a follow-up's outcome.

Procedures have their own procedure-day page (``nurse.py``); blocks and follow-ups come
here from the daily list. Forms go through the API's schemas and ``clinical/services.py``,
and are offered only to the treating clinician, as the API allows.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from scheduler import context
from scheduler.access import STAFF
from scheduler.clinical import services as records
from scheduler.clinical.cases import visit
from scheduler.clinical.schemas import BlockResultArgs, FollowUpOutcomeArgs
from scheduler.pathways.models import Pathway
from scheduler.pathways.states import PathwayState
from scheduler.policies.booking_rules import relief_percent
from scheduler.vocabulary import AppointmentKind, AppointmentStatus, Complication
from scheduler.web.forms import (
    Action,
    Problem,
    api_roles,
    form_input,
    may_record,
    record_on_page,
    recording,
    then,
    whole,
)
from scheduler.web.signin import page

blp = Blueprint("clinical", __name__, url_prefix="/cases")

# Per kind of visit: its form, the API action that records it, the state it is due in.
VISIT_FORMS = {
    AppointmentKind.DIAGNOSTIC_BLOCK: (
        "block_result",
        "block-result",
        PathwayState.BLOCK_SCHEDULED,
    ),
    AppointmentKind.FOLLOW_UP: ("follow_up", "follow-up-outcome", PathwayState.FOLLOW_UP_SCHEDULED),
}


def _render(
    appointment_id: int,
    problem: Problem | None = None,
    values: dict[str, Any] | None = None,
) -> ResponseReturnValue:
    found = visit(context.session(), context.actor(), appointment_id)
    appointment, pathway, result = found.appointment, found.pathway, found.block_result
    if appointment.kind is AppointmentKind.PROCEDURE:
        return redirect(url_for("web.nurse.case", appointment_id=appointment_id))
    form, action, due_in = VISIT_FORMS[appointment.kind]
    open_visit = (
        appointment.status is AppointmentStatus.BOOKED
        and pathway.state is due_in
        and result is None
        and found.follow_up is None
    )
    zone = ZoneInfo(appointment.timezone)
    start = appointment.start_at.astimezone(zone)
    may = open_visit and may_record(context.actor(), appointment, action)
    return render_template(
        "web/visit.html",
        appointment=appointment,
        pathway=pathway,
        patient=found.patient,
        age=found.patient.age_on(start.date()),
        clinician=found.clinician,
        start=start,
        end=appointment.end_at.astimezone(zone),
        result=result,
        relief=relief_percent(result.pre_block_pain, result.post_block_pain) if result else None,
        outcome=found.follow_up,
        form=form if may else None,
        started=context.now() >= appointment.start_at,
        complications=list(Complication),
        problem=problem,
        values=values or {},
    ), problem.status if problem else 200


@blp.get("/<int:appointment_id>")
@page(*STAFF)
def case(appointment_id: int) -> ResponseReturnValue:
    """A block or follow-up visit, and the clinician's form for it when it is due."""
    return _render(appointment_id)


# Each form of the page: the API's schema and service, back to this page either way.
_record = partial(record_on_page, _render)


def _back(appointment_id: int, step: Callable[[Any], str]) -> Action:
    """Record, then back to the visit's page."""
    return then(url_for("web.clinical.case", appointment_id=appointment_id), step)


@blp.post("/<int:appointment_id>/block-result")
@page(*api_roles("block-result"))
def record_block_result(appointment_id: int) -> ResponseReturnValue:
    data = form_input(request.form)
    for name in ("pre_block_pain", "post_block_pain"):
        if name in data:
            data[name] = whole(data[name])
    if "relief_duration_hours" in data:
        with suppress(ValueError):  # else the schema says what is wrong
            data["relief_duration_hours"] = float(data["relief_duration_hours"])

    def said(recorded: tuple[Any, Any, Pathway]) -> str:
        state = recorded[2].state.value.replace("_", " ")
        return f"Block result recorded: the pathway is now {state}."

    step = _back(appointment_id, recording(records.record_block_result, appointment_id, said))
    return _record(appointment_id, "block_result", BlockResultArgs(), data, step)


@blp.post("/<int:appointment_id>/follow-up-outcome")
@page(*api_roles("follow-up-outcome"))
def record_follow_up(appointment_id: int) -> ResponseReturnValue:
    data = form_input(request.form, ("physical_therapy_referred",))
    data.pop("complications", None)
    data["complications"] = request.form.getlist("complications")
    for name in ("pain_score", "percent_relief", "odi"):
        if name in data:
            data[name] = whole(data[name])

    said = "Follow-up outcome recorded: the pathway is completed."
    step = _back(appointment_id, recording(records.record_follow_up_outcome, appointment_id, said))
    return _record(appointment_id, "follow_up", FollowUpOutcomeArgs(), data, step)
