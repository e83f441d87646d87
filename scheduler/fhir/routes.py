"""``/fhir/R4``: FHIR R4 over the v1 API's services, tokens and permission table.

Every answer under ``/fhir/R4`` is FHIR JSON (``application/fhir+json``): a refusal of
any kind (no token, a role the permission table refuses, an unknown resource type, a
method not allowed, a bad search parameter, the database away) is an OperationOutcome
with the status the v1 API answers for the same thing.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from typing import Any, Final
from urllib.parse import urlencode

from flask import Blueprint, Flask, Response, current_app, g, request
from werkzeug.exceptions import BadRequest

from scheduler import context
from scheduler.auth.guard import bearer_token
from scheduler.auth.permissions import roles_of
from scheduler.auth.services import actor_for, resolve_token
from scheduler.clinicians import services as clinicians
from scheduler.errors import Forbidden, NotFound, Unauthorized
from scheduler.facilities import services as facilities
from scheduler.facilities.models import Room, Site
from scheduler.fhir import resources
from scheduler.patients.services import get_patient, match_statement
from scheduler.schemas import problem_in_text
from scheduler.vocabulary import Role

PREFIX: Final = "/fhir/R4"
FHIR_JSON: Final = "application/fhir+json"
DEFAULT_COUNT: Final = 20
MAX_COUNT: Final = 100
SOFTWARE: Final = "neurotomy-scheduler"
# What a refusal's answer keeps when it becomes an OperationOutcome.
KEPT_HEADERS: Final = ("Retry-After", "WWW-Authenticate", "Allow")
MAX_VALUE: Final = 200  # characters of one search value
# The roles of the v1 endpoint each FHIR interaction stands for (one permission table);
# a patient may also search, and finds only themselves.
READ_PATIENT: Final = roles_of("GET /patients/{patient_id}")
READ_CLINICIAN: Final = roles_of("GET /clinicians/{clinician_id}")
READ_SITE: Final = roles_of("GET /sites/{site_id}")
SEARCH_PATIENTS: Final = (*roles_of("GET /patients"), Role.PATIENT)
# A FHIR date search value: an optional prefix and a full date (eq when none).
DATE_SEARCH: Final = re.compile(r"(?P<op>eq|ne|gt|lt|ge|le)?(?P<day>\d{4}-\d\d-\d\d)\Z")

blp = Blueprint("fhir", __name__, url_prefix=PREFIX)


def fhir_json(body: dict[str, Any], status: int = 200, headers: Any = None) -> Response:
    return Response(json.dumps(body), status=status, mimetype=FHIR_JSON, headers=headers)


def base_url() -> str:
    return str(current_app.config["PUBLIC_BASE_URL"]).rstrip("/") + PREFIX


@blp.before_request
def authenticate() -> None:
    """The v1 API's bearer token, for everything but the CapabilityStatement."""
    if request.endpoint == "fhir.metadata":
        return
    raw = bearer_token()
    if raw is None:
        raise Unauthorized("Send a bearer token from POST /api/v1/auth/tokens.")
    user = resolve_token(context.session(), raw, context.now())
    if user is None:
        raise Unauthorized("The token is invalid or has expired.")
    g.actor = actor_for(user)


def _allowed(roles: tuple[Role, ...]) -> None:
    role = context.actor().role
    if role not in roles:
        raise Forbidden(f"The {role.value} role cannot do this.")


@blp.get("/metadata")
def metadata() -> Response:
    published = datetime.now(UTC).date().isoformat()
    return fhir_json(resources.capability_statement(base_url(), SOFTWARE, published))


@blp.get("/Patient/<patient_id>")
def read_patient(patient_id: str) -> Response:
    _allowed(READ_PATIENT)
    record = get_patient(context.session(), context.actor(), _record_id("Patient", patient_id))
    return fhir_json(resources.patient(record))


@blp.get("/Patient")
def search_patients() -> Response:
    """Patients by ``identifier`` (our MRN system, or no system), ``family`` and ``given``
    (starts with, any case), ``birthdate`` (eq, ne, ge, le, gt, lt); ``_count`` per page."""
    _allowed(SEARCH_PATIENTS)
    args = _search_args("Patient")
    count, offset = _paging(args.get("_count"), args.get("_offset"))
    statement = match_statement(
        context.actor(),
        mrn=_identifier(args.get("identifier")),
        family=args.get("family"),
        given=args.get("given"),
        born=_date_search(args.get("birthdate")),
    )
    found = list(context.session().scalars(statement.offset(offset).limit(count + 1)))
    return _bundle("Patient", [resources.patient(p) for p in found], count, offset)


@blp.get("/Practitioner/<practitioner_id>")
def read_practitioner(practitioner_id: str) -> Response:
    _allowed(READ_CLINICIAN)
    record = clinicians.get_clinician(
        context.session(), _record_id("Practitioner", practitioner_id)
    )
    return fhir_json(resources.practitioner(record))


@blp.get("/Practitioner")
def search_practitioners() -> Response:
    """Clinicians by ``family`` and ``given`` (starts with, any case)."""
    _allowed(READ_CLINICIAN)
    args = _search_args("Practitioner")
    count, offset = _paging(args.get("_count"), args.get("_offset"))
    matching = [
        c
        for c in clinicians.list_clinicians(context.session())
        if _starts(c.family_name, args.get("family")) and _starts(c.given_name, args.get("given"))
    ]
    page = matching[offset : offset + count + 1]  # only the page is built (and validated)
    return _bundle("Practitioner", [resources.practitioner(c) for c in page], count, offset)


@blp.get("/Location/<location_id>")
def read_location(location_id: str) -> Response:
    _allowed(READ_SITE)
    kind, _, number = location_id.partition("-")
    session = context.session()
    if kind == "site":
        site = facilities.get_site(session, _record_id("Location", number))
        return fhir_json(resources.site_location(site))
    if kind == "room":
        room = session.get(Room, _record_id("Location", number))
        if room is None:
            raise NotFound("Location", location_id)
        return fhir_json(resources.room_location(room))
    raise NotFound("Location", location_id)


@blp.get("/Location")
def search_locations() -> Response:
    """Sites and their rooms by ``name`` (starts with, any case) and ``partof`` (the rooms
    of ``Location/site-<id>``)."""
    _allowed(READ_SITE)
    args = _search_args("Location")
    count, offset = _paging(args.get("_count"), args.get("_offset"))
    session = context.session()
    rooms = facilities.by_site(session, Room)
    partof = args.get("partof")
    parents = {partof, f"Location/{partof}"}
    # Each site, then its rooms; a room is part of "Location/site-<id>".
    matching: list[Site | Room] = [
        place
        for site in facilities.sites_by_name(session)
        for place in _site_and_rooms(site, rooms.get(site.id, []))
        if _starts(place.name, args.get("name"))
        and (
            partof is None
            or (isinstance(place, Room) and f"Location/site-{place.site_id}" in parents)
        )
    ]
    page = matching[offset : offset + count + 1]  # only the page is built (and validated)
    found = [
        resources.room_location(p) if isinstance(p, Room) else resources.site_location(p)
        for p in page
    ]
    return _bundle("Location", found, count, offset)


def _site_and_rooms(site: Site, rooms: list[Room]) -> list[Site | Room]:
    return [site, *rooms]


def _record_id(kind: str, text: str) -> int:
    """A record's id in a FHIR id; anything else is a resource that does not exist."""
    if not text.isdecimal() or not 0 < int(text) < 2**31:
        raise NotFound(kind, text)
    return int(text)


def _starts(value: str, start: str | None) -> bool:
    return start is None or value.lower().startswith(start.lower())


def _search_args(kind: str) -> Any:
    """The query of a search of ``kind``: only its parameters, each plain text."""
    args = request.args
    unknown = sorted(set(args) - {*resources.SEARCHES[kind], *resources.PAGING, "_offset"})
    if unknown:
        raise _bad(unknown[0], f"not a search parameter of {kind} here (see /metadata).")
    for name, value in args.items():
        wrong = problem_in_text(value)
        if wrong or len(value) > MAX_VALUE:
            raise _bad(name, wrong or f"at most {MAX_VALUE} characters.")
    return args


def _bundle(kind: str, found: list[dict[str, Any]], count: int, offset: int) -> Response:
    """One page of a search (``found`` holds one more than the page when there is more)."""
    links = {"self": _page_url(kind, count, offset)}
    if len(found) > count:
        links["next"] = _page_url(kind, count, offset + count)
    return fhir_json(resources.searchset(found[:count], links, base_url()))


def _paging(count_text: str | None, offset_text: str | None) -> tuple[int, int]:
    count = DEFAULT_COUNT if count_text is None else _whole("_count", count_text)
    offset = 0 if offset_text is None else _whole("_offset", offset_text)
    return max(1, min(count, MAX_COUNT)), offset


def _whole(name: str, text: str) -> int:
    if not text.isdecimal() or len(text) > 9:
        raise _bad(name, "send a whole number.")
    return int(text)


def _identifier(value: str | None) -> str | None:
    """The MRN an ``identifier`` search asks for: ``system|value`` with our system, or a
    bare value; another system's identifier is no MRN (an empty one matches nobody)."""
    if value is None:
        return None
    system, bar, code = value.rpartition("|")
    if not bar:
        return value
    return code if system in ("", resources.MRN_SYSTEM) else ""


def _date_search(value: str | None) -> tuple[str, date] | None:
    if value is None:
        return None
    spelled = DATE_SEARCH.match(value)
    if spelled is None:
        raise _bad("birthdate", "send YYYY-MM-DD, after ge, le, gt or lt if any.")
    try:
        day = date.fromisoformat(spelled["day"])
    except ValueError:
        raise _bad("birthdate", "not a date.") from None
    return spelled["op"] or "eq", day


def _bad(name: str, message: str) -> BadRequest:
    """A search FHIR cannot run: 400 (an OperationOutcome, code "invalid")."""
    return BadRequest(f"{name}: {message}")


def _page_url(kind: str, count: int, offset: int) -> str:
    kept = [(k, v) for k, v in request.args.items(multi=True) if k not in ("_count", "_offset")]
    return f"{base_url()}/{kind}?" + urlencode([*kept, ("_count", count), ("_offset", offset)])


def init_app(app: Flask) -> None:
    """Answer every error under ``/fhir/R4`` as an OperationOutcome: the handler the rest
    of the app uses decides the status and the words (and logs), FHIR gives the shape."""
    handlers = app.error_handler_spec[None][None]

    def outcome_of(existing: Any) -> Any:
        def handle(error: Exception) -> Any:
            answer = existing(error)
            if not request.path.startswith(PREFIX + "/") and request.path != PREFIX:
                return answer
            problem = answer.get_json(silent=True) or {}
            details = [*problem.get("unmet", []), *problem.get("resources", [])]
            words = [problem.get("detail") or problem.get("title") or "Refused."]
            for name, messages in (problem.get("errors") or {}).items():
                words += [f"{name}: {m}" for m in messages if f"{name}: {m}" not in words[0]]
            kept = {
                k: v
                for k, v in answer.headers.items()
                if k in ("Retry-After", "WWW-Authenticate", "Allow")
            }
            problem_type = str(problem.get("type") or "").rpartition("/")[2]
            body = resources.outcome(answer.status_code, " ".join(words), details, problem_type)
            return fhir_json(body, answer.status_code, kept)

        return handle

    for kind, existing in list(handlers.items()):
        app.register_error_handler(kind, outcome_of(existing))
