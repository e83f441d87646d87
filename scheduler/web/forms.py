"""The pages' one way to write: the API's schema, the service, one commit, one refusal.

A form is turned into the API's JSON body and loaded by the API's request schema; the
action calls the same service the API calls. Success commits once and redirects (with a
flash that carries no clinical data). A refusal rolls back whatever the service flushed
and comes back as a :class:`Problem` with the HTTP status the API would have answered,
shown by the page beside the form (``web/_problem.html``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

from flask import flash, redirect, request
from flask.typing import ResponseReturnValue
from marshmallow import Schema, ValidationError
from werkzeug.datastructures import MultiDict

from scheduler import context, metrics, wording
from scheduler.access import Actor, require_case_write
from scheduler.auth.permissions import roles_of
from scheduler.errors import (
    BookingsStranded,
    DomainError,
    Forbidden,
    IllegalTransition,
    InvalidInput,
    PrerequisitesUnmet,
    StrandedBooking,
    flatten_errors,
)
from scheduler.scheduling.models import Appointment
from scheduler.vocabulary import Role

# Errors about the request as a whole: shown without a field name in front.
GENERAL_ERRORS: Final = frozenset({"appointment_id", "_body", "_schema", "items"})
UNPROCESSABLE: Final = 422


@dataclass(frozen=True)
class Problem:
    """Why a form was refused: a heading, general messages, and messages per field."""

    form: str
    title: str
    messages: list[str] = field(default_factory=list)
    fields: dict[str, list[str]] = field(default_factory=dict)
    status: int = UNPROCESSABLE
    # Booked patients the change would leave without their clinician: the page asks to
    # confirm, naming them, instead of showing a refusal.
    stranded: tuple[StrandedBooking, ...] = ()


@dataclass(frozen=True)
class Done:
    """A write that went through: where to go next, and what to say there."""

    url: str
    message: str | None = None


Action = Callable[[dict[str, Any]], Done]
Refused = Callable[[Problem], ResponseReturnValue]


def recording(
    service: Callable[..., Any], target_id: int, said: str | Callable[[Any], str]
) -> Callable[[Any], str]:
    """A step that records through the API's ``service`` on ``target_id`` (an appointment)
    as the acting user, now, with the loaded body as the API passes it (its fields, or the
    one value the schema builds); it says ``said`` (or what ``said`` makes of the result)."""

    def step(body: Any) -> str:
        head = (context.session(), context.actor(), context.now(), target_id)
        result = service(*head, **body) if isinstance(body, Mapping) else service(*head, body)
        return said(result) if callable(said) else said

    return step


def then(url: str, step: Callable[[dict[str, Any]], str]) -> Action:
    """An action that runs ``step`` (which says what it did) and goes on to ``url``."""

    def action(args: dict[str, Any]) -> Done:
        return Done(url, step(args))

    return action


def _invalid(
    form: str,
    errors: Mapping[str, list[str]],
    inline: frozenset[str],
    labels: Mapping[str, str],
) -> Problem:
    """Field errors beside their fields; the rest (and item errors) above the form, each
    named by its field ("Escort phone: ..."; "Tuesday end: ..." with ``labels``); all in
    plain words (``wording.plain_message``), the API's own messages staying the API's."""
    plain = {
        name: [wording.plain_message(name.rsplit(".", 1)[-1], m) for m in field_messages]
        for name, field_messages in errors.items()
    }
    messages = []
    for name, field_messages in plain.items():
        if name in inline:
            continue
        parts = [labels.get(p, p) for p in name.split(".") if p not in {"items", "value", "key"}]
        named = wording.field_name(" ".join(parts).replace(" ", "_")) if parts else ""
        prefix = "" if name in GENERAL_ERRORS or not parts else named + ": "
        messages += [prefix + message for message in field_messages]
    return Problem(
        form=form,
        title="Nothing was recorded: please correct the form.",
        messages=messages,
        fields={name: m for name, m in plain.items() if name in inline},
    )


def _illegal(error: IllegalTransition) -> tuple[str, list[str]]:
    """A refused step in words: what was refused, why (a service's own plain sentence,
    never the API's detail naming the trigger and state) and what to do next."""
    default = IllegalTransition(error.state, error.trigger).detail
    said = [] if error.detail == default or error.detail.startswith("'") else [error.detail]
    next_step = wording.situation(error.state)
    return wording.cannot(error.trigger), said + ([next_step] if next_step else [])


def problem_of(
    form: str,
    error: ValidationError | DomainError,
    inline: frozenset[str],
    labels: Mapping[str, str] | None = None,
) -> Problem:
    """A refusal as the page shows it, with the status the API answers for the same error."""
    if isinstance(error, ValidationError):
        return _invalid(form, flatten_errors(error.messages), inline, labels or {})
    if isinstance(error, InvalidInput):
        return _invalid(form, error.errors, inline, labels or {})
    if isinstance(error, PrerequisitesUnmet):
        metrics.refused(error)
        messages = [rule.message for rule in error.unmet]
        return Problem(form, f"Cannot {error.action}:", messages, status=error.status)
    if isinstance(error, BookingsStranded):
        title = "Nothing was saved yet: booked patients would be left without their clinician."
        advice = (
            "Check the patients below, then save and send them to the Rebook queue, or go back."
        )
        return Problem(form, title, [advice], status=error.status, stranded=tuple(error.stranded))
    if isinstance(error, IllegalTransition):
        return Problem(form, *_illegal(error), status=error.status)
    return Problem(form, "Nothing was recorded:", [error.detail], status=error.status)


def write(
    form: str,
    schema: Schema,
    data: Any,
    action: Callable[[Any], Done],
    refused: Refused,
    *,
    inline: frozenset[str] | None = None,
    labels: Mapping[str, str] | None = None,
) -> ResponseReturnValue:
    """Load ``data`` through the API's ``schema`` and run ``action``; commit and redirect,
    or roll back and let the page show the :class:`Problem` (``refused``).

    ``inline`` names the fields whose errors stand beside them (default: every field of
    the schema); other errors are listed above the form, named by field or by ``labels``.
    """
    beside = frozenset(schema.fields) if inline is None else inline
    try:
        done = action(schema.load(data))
    except (ValidationError, DomainError) as error:
        context.session().rollback()
        return refused(problem_of(form, error, beside, labels))
    context.session().commit()
    if done.message:
        # Flash messages travel in the (signed, readable) session cookie: no clinical data.
        flash(done.message, "info")
    return redirect(done.url)


def record_on_page(
    render: Callable[[int, Problem, dict[str, str]], ResponseReturnValue],
    appointment_id: int,
    form: str,
    schema: Schema,
    data: Any,
    action: Action,
    *,
    inline: frozenset[str] | None = None,
) -> ResponseReturnValue:
    """Record one step on an appointment's page: ``action`` says where to go when done
    (see :func:`then`); refused, the page again (``render``) with the reason and what
    was typed."""
    return write(
        form,
        schema,
        data,
        action,
        lambda problem: render(appointment_id, problem, request.form.to_dict()),
        inline=inline,
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


def api_roles(action: str) -> tuple[Role, ...]:
    """The roles the API's permission table lets record ``action`` on an appointment."""
    return roles_of(f"POST /appointments/{{appointment_id}}/{action}")


def may_record(actor: Actor, appointment: Appointment, action: str) -> bool:
    """The API's role for this step, and (clinicians) the case is theirs."""
    if actor.role not in api_roles(action):
        return False
    try:
        require_case_write(actor, appointment.clinician_id)
    except Forbidden:
        return False
    return True
