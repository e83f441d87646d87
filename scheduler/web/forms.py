"""Pages' forms recorded through the API's schemas and services.

A form is turned into the API's JSON body, loaded by the API's request schema and handed
to the same service; a refusal comes back as a :class:`Problem` shown beside the form.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

from flask import flash, redirect
from flask.typing import ResponseReturnValue
from marshmallow import Schema, ValidationError
from werkzeug.datastructures import MultiDict

from scheduler import context
from scheduler.access import Actor, require_case_write
from scheduler.auth.permissions import PERMISSIONS
from scheduler.errors import (
    Forbidden,
    IllegalTransition,
    InvalidInput,
    PrerequisitesUnmet,
    flatten_errors,
)
from scheduler.scheduling.models import Appointment
from scheduler.vocabulary import Role

# Errors about the request as a whole: shown without a field name in front.
GENERAL_ERRORS: Final = frozenset({"appointment_id", "_body", "_schema", "items"})


@dataclass(frozen=True)
class Problem:
    """Why a form was refused: a heading, general messages, and messages per field."""

    form: str
    title: str
    messages: list[str] = field(default_factory=list)
    fields: dict[str, list[str]] = field(default_factory=dict)


def field_label(name: str) -> str:
    """``escort_phone`` -> ``Escort phone``, as the ``label`` template filter writes it."""
    return name.replace("_", " ").capitalize()


def problem_of(form: str, errors: Mapping[str, list[str]], inline: frozenset[str]) -> Problem:
    """Field errors beside their fields; the rest (and item errors) above the form."""
    messages = []
    for name, field_messages in errors.items():
        if name in inline:
            continue
        parts = [p for p in name.split(".") if p not in {"items", "value", "key"}]
        prefix = "" if name in GENERAL_ERRORS or not parts else field_label(parts[0]) + ": "
        messages += [prefix + message for message in field_messages]
    return Problem(
        form=form,
        title="Nothing was recorded: please correct the form.",
        messages=messages,
        fields={name: list(m) for name, m in errors.items() if name in inline},
    )


def form_input(form: MultiDict[str, str], flags: tuple[str, ...] = ()) -> dict[str, Any]:
    """A form as the API's JSON body: ticked boxes true, unticked false (a browser sends
    nothing for them), blank fields left out (the schema's default or "required" applies)."""
    return {
        name: value
        for name, value in form.items()
        if name != "csrf_token" and name not in flags and value.strip()
    } | {name: name in form for name in flags}


def local_instant(value: str, zone: str) -> str:
    """A ``datetime-local`` value (site wall clock) as RFC 3339 with the site's offset.

    Anything else is passed on unchanged for the schema to refuse with its own message.
    """
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        return value
    return (at if at.tzinfo else at.replace(tzinfo=ZoneInfo(zone))).isoformat()


def whole(value: str) -> int | str:
    """A number typed in a form as the JSON integer the schema expects; other text is
    left for it to refuse."""
    text = value.strip()
    return int(text) if text.isdecimal() else value


Step = Callable[[dict[str, Any]], str]


def api_roles(action: str) -> tuple[Role, ...]:
    """The roles the API's permission table lets record ``action`` on an appointment."""
    return tuple(PERMISSIONS[f"POST /appointments/{{appointment_id}}/{action}"])


def may_record(actor: Actor, appointment: Appointment, action: str) -> bool:
    """The API's role for this step, and (clinicians) the case is theirs."""
    if actor.role not in api_roles(action):
        return False
    try:
        require_case_write(actor, appointment.clinician_id)
    except Forbidden:
        return False
    return True


def record(
    form: str,
    schema: Schema,
    data: dict[str, Any],
    step: Step,
    done_url: str,
    refused: Callable[[Problem, int], ResponseReturnValue],
    *,
    inline: frozenset[str] | None = None,
) -> ResponseReturnValue:
    """Load ``data`` through ``schema``, run ``step``; commit and redirect, or show why not.

    A refusal rolls the session back (a service may have flushed before refusing) and
    re-renders the page with the reason beside the form: 422 for input or unmet rules,
    409 when the pathway is no longer in the step's state.
    """
    beside_fields = frozenset(schema.fields) if inline is None else inline
    try:
        done = step(schema.load(data))
    except ValidationError as error:
        problem = problem_of(form, flatten_errors(error.messages), beside_fields)
        status = 422
    except InvalidInput as error:
        problem = problem_of(form, error.errors, beside_fields)
        status = 422
    except PrerequisitesUnmet as error:
        problem = Problem(form, f"Cannot {error.action}:", [rule.message for rule in error.unmet])
        status = 422
    except IllegalTransition as error:
        problem = Problem(form, "Not possible in the pathway's current state:", [error.detail])
        status = 409
    else:
        context.session().commit()
        # Flash messages travel in the (signed, readable) session cookie: no clinical data.
        flash(done, "info")
        return redirect(done_url)
    context.session().rollback()
    return refused(problem, status)
