"""Reading an operation's Parameters resource: each parameter by name, of the one type
the operation defines for it, at most once; anything else is refused with the name.

No Flask here: a decoded JSON body in, plain values out (aware datetimes, reference
strings, ``(system, code)`` tokens, whole numbers, resources as dicts).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final, Literal

from fhir.resources.R4B.parameters import Parameters
from pydantic import ValidationError

from scheduler.errors import InvalidInput

Kind = Literal["instant", "reference", "token", "integer", "string", "Appointment"]
# The value[x] elements each kind of parameter may arrive in.
VALUE_ELEMENTS: Final[dict[str, tuple[str, ...]]] = {
    "instant": ("valueDateTime", "valueInstant"),
    "reference": ("valueReference",),
    "token": ("valueString", "valueCode", "valueCoding", "valueToken"),
    "integer": ("valueInteger", "valuePositiveInt"),
    "string": ("valueString",),
    "Appointment": ("resource",),
}
MAX_TEXT: Final = 500
# The JSON shape of each kind's value (the model library is lenient with some).
SHAPES: Final[dict[str, type | tuple[type, ...]]] = {
    "instant": str,
    "reference": dict,
    "token": (str, dict),
    "integer": int,
    "string": str,
    "Appointment": dict,
}


def read(body: Any, accepted: Mapping[str, Kind]) -> dict[str, Any]:
    """The values of the parameters in ``body`` (a Parameters resource), by name."""
    if not isinstance(body, dict) or body.get("resourceType") != "Parameters":
        kind = body.get("resourceType") if isinstance(body, dict) else None
        got = f"a {kind}" if isinstance(kind, str) else "something else"
        raise InvalidInput.field("resourceType", f"Send a Parameters resource, not {got}.")
    try:
        Parameters.model_validate(body)
    except ValidationError as error:
        raise InvalidInput.field("Parameters", _first_problem(error)) from None
    except (KeyError, TypeError, ValueError, AttributeError):
        # The model library trips over some shapes (a nested resource without a valid
        # resourceType) instead of refusing them: they are no Parameters either.
        raise InvalidInput.field("Parameters", "Not a valid Parameters resource.") from None
    values: dict[str, Any] = {}
    for parameter in body.get("parameter") or []:
        name = parameter["name"]
        if name not in accepted:
            known = ", ".join(sorted(accepted))
            raise InvalidInput.field(name, f"Not a parameter of this operation ({known}).")
        if name in values:
            raise InvalidInput.field(name, "Send this parameter once.")
        values[name] = _value(name, parameter, accepted[name])
    return values


def _value(name: str, parameter: Mapping[str, Any], kind: Kind) -> Any:
    sent = [key for key in parameter if key.startswith("value") or key in ("resource", "part")]
    allowed = VALUE_ELEMENTS[kind]
    if len(sent) != 1 or sent[0] not in allowed:
        raise InvalidInput.field(name, f"Send it as {' or '.join(allowed)}.")
    value: Any = parameter[sent[0]]
    if not _shaped(value, kind):
        raise InvalidInput.field(name, f"Send it as {' or '.join(allowed)}.")
    if kind == "instant":
        return _instant(name, value)
    if kind == "reference":
        reference = value.get("reference")
        if not isinstance(reference, str) or not reference:
            raise InvalidInput.field(name, "Send a reference (e.g. Patient/12).")
        return reference
    if kind == "token":
        return _token(name, value)
    if kind == "integer":
        return value
    if kind == "string":
        return _text(name, value)
    if value.get("resourceType") != kind:
        raise InvalidInput.field(name, f"Send a {kind} resource.")
    return value


def _shaped(value: Any, kind: Kind) -> bool:
    """Whether ``value`` has the JSON shape of ``kind`` (true and false are no numbers)."""
    return not isinstance(value, bool) and isinstance(value, SHAPES[kind])


def _instant(name: str, value: str) -> datetime:
    """A date and time with its offset: a date alone or a time without a zone is not an
    instant anywhere in particular."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        moment = None
    if moment is None or "T" not in value or moment.utcoffset() is None:
        raise InvalidInput.field(
            name, "Send a date and time with its offset, e.g. 2026-03-03T08:00:00-05:00."
        )
    return moment


def _token(name: str, value: Any) -> tuple[str | None, str]:
    if isinstance(value, dict):  # a Coding
        system, code = value.get("system"), value.get("code")
    else:
        system, bar, code = str(value).rpartition("|")
        system = system if bar else None
    if not code:
        raise InvalidInput.field(name, "Send a code (system|code, or the code alone).")
    return system or None, _text(name, code)


def _text(name: str, value: str) -> str:
    if len(value) > MAX_TEXT:
        raise InvalidInput.field(name, f"At most {MAX_TEXT} characters.")
    return value


def _first_problem(error: ValidationError) -> str:
    """Where and what, without echoing the value sent."""
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"])
    return f"{where}: {first['msg']}"
