"""The clinician's record of a visit: a diagnostic block's result, a follow-up's outcome.

Procedures have their own procedure-day page (``nurse.py``); blocks and follow-ups come
here from the daily list. Forms go through the API's schemas and ``pathways/records.py``,
and are offered only to the treating clinician, as the API allows.
"""

from __future__ import annotations

from contextlib import suppress
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from marshmallow import Schema
from sqlalchemy import select

from scheduler import context
from scheduler.access import STAFF
from scheduler.clinicians.models import Clinician
from scheduler.pathways import records
from scheduler.pathways import services as pathways
from scheduler.pathways.models import BlockResult, FollowUpOutcome
from scheduler.pathways.policy import relief_percent
from scheduler.pathways.schemas import BlockResultArgs, FollowUpOutcomeArgs
from scheduler.pathways.states import PathwayState
from scheduler.patients.models import Patient
from scheduler.scheduling import services as scheduling
from scheduler.vocabulary import AppointmentKind, AppointmentStatus, Complication
from scheduler.web.forms import Problem, Step, api_roles, form_input, may_record, record, whole
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
    status: int = 200,
) -> ResponseReturnValue:
    session, actor = context.session(), context.actor()
    appointment = scheduling.get_appointment(session, actor, appointment_id)
    if appointment.kind is AppointmentKind.PROCEDURE:
        return redirect(url_for("web.nurse.case", appointment_id=appointment_id))
    pathway = pathways.get_pathway(session, actor, appointment.pathway_id)
    form, action, due_in = VISIT_FORMS[appointment.kind]
    result = session.scalar(select(BlockResult).where(BlockResult.appointment_id == appointment.id))
    outcome = session.scalar(
        select(FollowUpOutcome).where(FollowUpOutcome.appointment_id == appointment.id)
    )
    open_visit = (
        appointment.status is AppointmentStatus.BOOKED
        and pathway.state is due_in
        and result is None
        and outcome is None
    )
    zone = ZoneInfo(appointment.timezone)
    patient = session.get_one(Patient, appointment.patient_id)
    start = appointment.start_at.astimezone(zone)
    return render_template(
        "web/visit.html",
        appointment=appointment,
        pathway=pathway,
        patient=patient,
        age=patient.age_on(start.date()),
        clinician=session.get_one(Clinician, appointment.clinician_id),
        start=start,
        end=appointment.end_at.astimezone(zone),
        result=result,
        relief=relief_percent(result.pre_block_pain, result.post_block_pain) if result else None,
        outcome=outcome,
        form=form if open_visit and may_record(actor, appointment, action) else None,
        started=context.now() >= appointment.start_at,
        complications=list(Complication),
        problem=problem,
        values=values or {},
    ), status


@blp.get("/<int:appointment_id>")
@page(*STAFF)
def case(appointment_id: int) -> ResponseReturnValue:
    """A block or follow-up visit, and the clinician's form for it when it is due."""
    return _render(appointment_id)


def _record(
    appointment_id: int, form: str, schema: Schema, data: dict[str, Any], step: Step
) -> ResponseReturnValue:
    return record(
        form,
        schema,
        data,
        step,
        url_for("web.clinical.case", appointment_id=appointment_id),
        lambda problem, status: _render(appointment_id, problem, request.form.to_dict(), status),
    )


@blp.post("/<int:appointment_id>/block-result")
@page(*api_roles("block-result"))
def record_block_result(appointment_id: int) -> ResponseReturnValue:
    session, actor = context.session(), context.actor()
    data = form_input(request.form)
    for name in ("pre_block_pain", "post_block_pain"):
        if name in data:
            data[name] = whole(data[name])
    if "relief_duration_hours" in data:
        with suppress(ValueError):  # else the schema says what is wrong
            data["relief_duration_hours"] = float(data["relief_duration_hours"])

    def step(args: dict[str, Any]) -> str:
        _result, _outcome, pathway = records.record_block_result(
            session, actor, context.now(), appointment_id, **args
        )
        return f"Block result recorded: the pathway is now {pathway.state.value.replace('_', ' ')}."

    return _record(appointment_id, "block_result", BlockResultArgs(), data, step)


@blp.post("/<int:appointment_id>/follow-up-outcome")
@page(*api_roles("follow-up-outcome"))
def record_follow_up(appointment_id: int) -> ResponseReturnValue:
    session, actor = context.session(), context.actor()
    data = form_input(request.form, ("physical_therapy_referred",))
    data.pop("complications", None)
    data["complications"] = request.form.getlist("complications")
    for name in ("pain_score", "percent_relief", "odi"):
        if name in data:
            data[name] = whole(data[name])

    def step(args: dict[str, Any]) -> str:
        records.record_follow_up_outcome(session, actor, context.now(), appointment_id, **args)
        return "Follow-up outcome recorded: the pathway is completed."

    return _record(appointment_id, "follow_up", FollowUpOutcomeArgs(), data, step)
