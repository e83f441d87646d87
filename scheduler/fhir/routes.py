"""``/fhir/R4``: FHIR R4 over the v1 API's services, tokens and permission table.

Every answer under ``/fhir/R4`` is FHIR JSON (``application/fhir+json``): a refusal of
any kind (no token, a role the permission table refuses, an unknown resource type, a
method not allowed, a bad search parameter, the database away) is an OperationOutcome
with the status the v1 API answers for the same thing.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

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
from scheduler.scheduling import search as scheduling
from scheduler.scheduling.slots import Interval, Slot
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


def allowed(roles: tuple[Role, ...]) -> None:
    role = context.actor().role
    if role not in roles:
        raise Forbidden(f"The {role.value} role cannot do this.")


@blp.get("/metadata")
def metadata() -> Response:
    published = datetime.now(UTC).date().isoformat()
    return fhir_json(resources.capability_statement(base_url(), SOFTWARE, published))


@blp.get("/Patient/<patient_id>")
def read_patient(patient_id: str) -> Response:
    allowed(READ_PATIENT)
    record = get_patient(context.session(), context.actor(), _record_id("Patient", patient_id))
    return fhir_json(resources.patient(record))


@blp.get("/Patient")
def search_patients() -> Response:
    """Patients by ``identifier`` (our MRN system, or no system), ``family`` and ``given``
    (starts with, any case), ``birthdate`` (eq, ne, ge, le, gt, lt); ``_count`` per page."""
    allowed(SEARCH_PATIENTS)
    args = search_args("Patient")
    count, offset = paging(args.get("_count"), args.get("_offset"))
    statement = match_statement(
        context.actor(),
        mrn=_identifier(args.get("identifier")),
        family=args.get("family"),
        given=args.get("given"),
        born=_date_search(args.get("birthdate")),
    )
    found = list(context.session().scalars(statement.offset(offset).limit(count + 1)))
    return search_bundle("Patient", [resources.patient(p) for p in found], count, offset)


@blp.get("/Practitioner/<practitioner_id>")
def read_practitioner(practitioner_id: str) -> Response:
    allowed(READ_CLINICIAN)
    record = clinicians.get_clinician(
        context.session(), _record_id("Practitioner", practitioner_id)
    )
    return fhir_json(resources.practitioner(record))


@blp.get("/Practitioner")
def search_practitioners() -> Response:
    """Clinicians by ``family`` and ``given`` (starts with, any case)."""
    allowed(READ_CLINICIAN)
    args = search_args("Practitioner")
    count, offset = paging(args.get("_count"), args.get("_offset"))
    matching = [
        c
        for c in clinicians.list_clinicians(context.session())
        if _starts(c.family_name, args.get("family")) and _starts(c.given_name, args.get("given"))
    ]
    page = matching[offset : offset + count + 1]  # only the page is built (and validated)
    return search_bundle("Practitioner", [resources.practitioner(c) for c in page], count, offset)


@blp.get("/Location/<location_id>")
def read_location(location_id: str) -> Response:
    allowed(READ_SITE)
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
    allowed(READ_SITE)
    args = search_args("Location")
    count, offset = paging(args.get("_count"), args.get("_offset"))
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
    return search_bundle("Location", found, count, offset)


def _site_and_rooms(site: Site, rooms: list[Room]) -> list[Site | Room]:
    return [site, *rooms]


def _record_id(kind: str, text: str) -> int:
    """A record's id in a FHIR id; anything else is a resource that does not exist."""
    if not text.isdecimal() or not 0 < int(text) < 2**31:
        raise NotFound(kind, text)
    return int(text)


def _starts(value: str, start: str | None) -> bool:
    return start is None or value.lower().startswith(start.lower())


def search_args(kind: str) -> Any:
    """The query of a search of ``kind``: only its parameters, each plain text."""
    args = request.args
    unknown = sorted(set(args) - {*resources.SEARCHES[kind], *resources.PAGING, "_offset"})
    if unknown:
        raise bad_search(unknown[0], f"not a search parameter of {kind} here (see /metadata).")
    for name, value in args.items():
        wrong = problem_in_text(value)
        if wrong or len(value) > MAX_VALUE:
            raise bad_search(name, wrong or f"at most {MAX_VALUE} characters.")
    return args


def search_bundle(kind: str, found: list[dict[str, Any]], count: int, offset: int) -> Response:
    """One page of a search (``found`` holds one more than the page when there is more)."""
    return _page(kind, found, count, [("_offset", str(offset + count))])


def paging(count_text: str | None, offset_text: str | None) -> tuple[int, int]:
    count = DEFAULT_COUNT if count_text is None else _whole("_count", count_text)
    offset = 0 if offset_text is None else _whole("_offset", offset_text)
    return max(1, min(count, MAX_COUNT)), offset


def _whole(name: str, text: str) -> int:
    if not text.isdecimal() or len(text) > 9:
        raise bad_search(name, "send a whole number.")
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
        raise bad_search("birthdate", "send YYYY-MM-DD, after ge, le, gt or lt if any.")
    try:
        day = date.fromisoformat(spelled["day"])
    except ValueError:
        raise bad_search("birthdate", "not a date.") from None
    return spelled["op"] or "eq", day


def bad_search(name: str, message: str) -> BadRequest:
    """A search FHIR cannot run: 400 (an OperationOutcome, code "invalid")."""
    return BadRequest(f"{name}: {message}")


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


# Schedule and Slot

READ_SCHEDULE: Final = READ_CLINICIAN
SEARCH_SLOTS: Final = roles_of("GET /pathways/{pathway_id}/slots")
SLOT_DAYS: Final = timedelta(days=7)  # a Slot search without an end looks this far
MAX_SLOT_RANGE: Final = timedelta(days=31)
# A ``start`` search value: a prefix (eq when none), then a date or a dateTime with offset.
START_VALUE: Final = re.compile(r"(?P<op>[a-z]{2})?(?P<value>[0-9].*)\Z")
DAY_VALUE: Final = re.compile(r"\d{4}-\d\d-\d\d\Z")
INSTANT_VALUE: Final = re.compile(
    r"\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d{1,6})?)?(Z|[+-]\d\d:\d\d)\Z"
)
LOWER_PREFIXES: Final = ("ge", "gt")
UPPER_PREFIXES: Final = ("le", "lt")
TICK: Final = timedelta(microseconds=1)


@blp.get("/Schedule/<schedule_id>")
def read_schedule(schedule_id: str) -> Response:
    allowed(READ_SCHEDULE)
    found = _schedule(schedule_id)
    if found is None:
        raise NotFound("Schedule", schedule_id)
    return fhir_json(_schedule_resource(found))


@blp.get("/Schedule")
def search_schedules() -> Response:
    """Schedules by ``actor``: ``Practitioner/<id>``, ``Location/site-<id>`` or a bare id
    (either); a comma between references is "or", a repeated ``actor`` is "and"."""
    allowed(READ_SCHEDULE)
    args = search_args("Schedule")
    count, offset = paging(args.get("_count"), args.get("_offset"))
    wanted = [_references(value) for value in args.getlist("actor")]
    matching = [
        found
        for found in scheduling.schedules(context.session())
        if all(_actors(found) & references for references in wanted)
    ]
    page = [_schedule_resource(s) for s in matching[offset : offset + count + 1]]
    return _page("Schedule", page, count, [("_offset", str(offset + count))])


@blp.get("/Slot/<slot_id>")
def read_slot(slot_id: str) -> Response:
    """A slot while it is still free (and far enough ahead); taken or past, it is gone."""
    allowed(SEARCH_SLOTS)
    key = resources.slot_key(slot_id)
    found = _schedule(resources.schedule_id(*key[:2])) if key else None
    if key is None or found is None or key[2] not in _codes(found):
        raise NotFound("Slot", slot_id)
    start = key[3]
    free = _free(found, key[2], start, start + TICK, 1)
    if not free:
        raise NotFound("Slot", slot_id)
    return fhir_json(_slot_resource(found, key[2], free[0]))


@blp.get("/Slot")
def search_slot() -> Response:
    """The free slots of one ``schedule``, earliest first, in a ``start`` range (ge/gt and
    le/lt; a bare date is that day at the site; default: from now for 7 days, at most 31).
    Without ``service-type``, a slot of every service the schedule offers at each free
    start (services at one start compete for the same resources: book one of them)."""
    allowed(SEARCH_SLOTS)
    args = search_args("Slot")
    for name in ("schedule", "status", "service-type"):
        if len(args.getlist(name)) > 1:
            raise bad_search(name, "send it once.")
    count, offset = paging(args.get("_count"), args.get("_offset"))
    if args.get("status", "free") != "free":
        raise bad_search("status", "only free slots are served here: send status=free or none.")
    asked = _service_codes(args.get("service-type"))
    bounds = [_start_bound(value) for value in args.getlist("start")]
    reference = args.get("schedule")
    if reference is None:
        raise bad_search("schedule", "required: Schedule/<id> or <id>.")
    found = _schedule(_schedule_reference(reference))
    window = _slot_window(bounds, found.site.timezone if found else "UTC", context.now())
    if found is None:
        return _page("Slot", [], count, [])
    codes = [code for code in _codes(found) if asked is None or code in asked]
    merged = _merged_slots(found, codes, window, offset + count + 1)
    page = [_slot_resource(found, code, slot) for code, slot in merged[offset:]]
    if len(page) <= count:
        return _page("Slot", page, count, [])
    return _page("Slot", page, count, _slot_cursor(found, merged[: offset + count], window))


def _merged_slots(
    found: scheduling.Schedule, codes: list[str], window: Interval, wanted: int
) -> list[tuple[str, Slot]]:
    """The first ``wanted`` free slots of all ``codes``, by start, then in ``codes`` order
    (the first ``wanted`` of each code hold the first ``wanted`` of all)."""
    each = [
        (slot.start, n, code, slot)
        for n, code in enumerate(codes)
        for slot in _free(found, code, window.start, window.end, wanted)
    ]
    return [(code, slot) for _start, _n, code, slot in sorted(each, key=lambda s: s[:2])][:wanted]


def _slot_cursor(
    found: scheduling.Schedule, shown: list[tuple[str, Slot]], window: Interval
) -> list[tuple[str, str]]:
    """Where the next page starts: at the last start shown, past the slots already shown
    at that start (a booking of an earlier time between pages makes it skip nothing), up
    to the same end."""
    last = shown[-1][1].start
    zone = ZoneInfo(found.site.timezone)
    return [
        ("start", "ge" + last.astimezone(zone).isoformat()),
        ("start", "lt" + window.end.astimezone(zone).isoformat()),
        ("_offset", str(sum(1 for _code, slot in shown if slot.start == last))),
    ]


def _schedule(text: str) -> scheduling.Schedule | None:
    key = resources.schedule_key(text)
    if key is None:
        return None
    clinician_id, site_id = key
    found = scheduling.schedules(context.session(), clinician_id=clinician_id, site_id=site_id)
    return found[0] if found else None


def _codes(found: scheduling.Schedule) -> list[str]:
    return [resources.service_code(kind, method) for kind, method in found.services]


def _schedule_resource(found: scheduling.Schedule) -> dict[str, Any]:
    planned_from = context.now() + timedelta(minutes=found.site.min_notice_minutes)
    return resources.schedule(found.clinician, found.site, _codes(found), planned_from)


def _slot_resource(found: scheduling.Schedule, code: str, slot: Slot) -> dict[str, Any]:
    return resources.slot(
        found.clinician.id, found.site.id, code, slot.start, slot.end, found.site.timezone
    )


def _free(
    found: scheduling.Schedule, code: str, after: datetime, until: datetime, limit: int
) -> list[Slot]:
    kind, method = resources.SERVICES[code]
    return scheduling.free_slots(
        context.session(),
        context.now(),
        clinician_id=found.clinician.id,
        site_id=found.site.id,
        kind=kind,
        method=method,
        after=after,
        until=until,
        limit=limit,
    )


def _actors(found: scheduling.Schedule) -> set[str]:
    return {f"Practitioner/{found.clinician.id}", f"Location/site-{found.site.id}"}


def _references(value: str) -> set[str]:
    """What an ``actor`` value matches: each reference of a comma list, a bare id being
    that id of either type, an absolute URL of this server as its relative reference."""
    matched: set[str] = set()
    for reference in value.split(","):
        relative = reference.removeprefix(base_url() + "/")
        if "/" in relative:
            matched.add(relative)
        else:
            matched |= {f"Practitioner/{relative}", f"Location/{relative}"}
    return matched


def _schedule_reference(value: str) -> str:
    """The Schedule id a ``schedule`` value names (``Schedule/<id>``, a bare id, or this
    server's absolute URL of one)."""
    kind, slash, ident = value.removeprefix(base_url() + "/").rpartition("/")
    if slash and kind != "Schedule":
        raise bad_search("schedule", "send Schedule/<id> or <id>.")
    return ident


def _service_codes(value: str | None) -> set[str] | None:
    """Our service codes from ``<code>`` or ``<system>|<code>`` (our system), a comma
    between them meaning "or"; None: every service."""
    if value is None:
        return None
    codes = set()
    for token in value.split(","):
        system, bar, code = token.rpartition("|")
        if (bar and system not in ("", resources.SERVICE_SYSTEM)) or code not in resources.SERVICES:
            known = ", ".join(resources.SERVICES)
            raise bad_search(
                "service-type", f"send one of {known} (system {resources.SERVICE_SYSTEM})."
            )
        codes.add(code)
    return codes


@dataclass(frozen=True)
class StartBound:
    """One ``start`` value: its prefix, and a site-local day or an instant."""

    op: str
    moment: date | datetime

    def edges(self, zone: ZoneInfo) -> tuple[datetime, datetime]:
        """The first instant it means and the first after it (a day: midnight to midnight
        at the site; an instant: that second)."""
        if isinstance(self.moment, datetime):
            return self.moment, self.moment + timedelta(seconds=1)
        first = datetime.combine(self.moment, time(), zone)
        return first, datetime.combine(self.moment + timedelta(days=1), time(), zone)


def _start_bound(value: str) -> StartBound:
    spelled = START_VALUE.match(value)
    op = (spelled["op"] if spelled else None) or "eq"
    if spelled is None or op not in ("eq", *LOWER_PREFIXES, *UPPER_PREFIXES):
        raise bad_search(
            "start", "send ge, gt, le, lt or eq (or no prefix) and a date or dateTime."
        )
    text = spelled["value"]
    try:
        if DAY_VALUE.match(text):
            return _in_years(StartBound(op, date.fromisoformat(text)))
        if INSTANT_VALUE.match(text):
            return _in_years(StartBound(op, datetime.fromisoformat(text)))
    except ValueError:
        raise bad_search("start", f"{text} is not a date.") from None
    raise bad_search(
        "start",
        "send YYYY-MM-DD or a dateTime with its offset, e.g. 2026-03-03T09:00:00-05:00 "
        "(a + in the offset is sent as %2B).",
    )


def _in_years(bound: StartBound) -> StartBound:
    years = resources.SLOT_YEARS
    if bound.moment.year not in years:
        raise bad_search("start", f"a year from {years.start} to {years.stop - 1}.")
    return bound


def _slot_window(bounds: list[StartBound], zone_name: str, now: datetime) -> Interval:
    """The [start, end) a Slot search's ``start`` values ask for (one lower and one upper
    bound at most, or one eq); from now for 7 days by default, 31 days at most."""
    zone = ZoneInfo(zone_name)
    lower = [b for b in bounds if b.op in LOWER_PREFIXES]
    upper = [b for b in bounds if b.op in UPPER_PREFIXES]
    equal = [b for b in bounds if b.op == "eq"]
    if len(bounds) > 2 or len(lower) > 1 or len(upper) > 1 or (equal and len(bounds) > 1):
        raise bad_search(
            "start", "send one lower bound (ge, gt) and one upper bound (le, lt) at most."
        )
    if equal:
        start, end = equal[0].edges(zone)
    else:
        start = now
        if lower:
            first, after = lower[0].edges(zone)
            start = first if lower[0].op == "ge" else after
        end = start + SLOT_DAYS
        if upper:
            first, after = upper[0].edges(zone)
            end = first if upper[0].op == "lt" else after
    if end - max(start, now) > MAX_SLOT_RANGE:
        raise bad_search("start", f"a range of at most {MAX_SLOT_RANGE.days} days, please.")
    return Interval(start, end)


def _page(
    kind: str, found: list[dict[str, Any]], count: int, following: list[tuple[str, str]]
) -> Response:
    """One page of a search (``found`` holds one more than the page when there is more):
    ``self`` is the query as sent (repeated parameters too), ``next`` is it with
    ``following`` in place of its paging (and, for a cursor, its ``start``)."""
    sent = list(request.args.items(multi=True))
    links = {"self": f"{base_url()}/{kind}?" + urlencode(sent)}
    if len(found) > count:
        replaced = {"_count", "_offset"} | {name for name, _value in following}
        kept = [(k, v) for k, v in sent if k not in replaced]
        query = [*kept, *following, ("_count", str(count))]
        links["next"] = f"{base_url()}/{kind}?" + urlencode(query)
    return fhir_json(resources.searchset(found[:count], links, base_url()))
