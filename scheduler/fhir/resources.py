"""FHIR R4 resources built from our records, each validated by its ``fhir.resources``
model, so what we emit is valid FHIR by construction; and the OperationOutcome every
refusal under ``/fhir/R4`` becomes.

No Flask here: records and plain values in, JSON-ready dicts out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

from fhir.resources.R4B.appointment import Appointment as FhirAppointment
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.location import Location
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.patient import Patient as FhirPatient
from fhir.resources.R4B.practitioner import Practitioner
from fhir.resources.R4B.schedule import Schedule
from fhir.resources.R4B.slot import Slot

from scheduler.clinicians.models import Clinician
from scheduler.facilities.models import Room, Site
from scheduler.patients.models import Patient
from scheduler.vocabulary import AppointmentKind, AppointmentStatus, Method

FHIR_VERSION: Final = "4.0.1"
DESCRIPTION: Final = "Outpatient neurotomy pathway scheduler"
# The identifier system of our medical record numbers.
MRN_SYSTEM: Final = "urn:neurotomy-scheduler:mrn"
# Search parameters implemented per resource type (the CapabilityStatement lists exactly
# these; any other name is refused with 400).
PATIENT_SEARCH: Final = {
    "identifier": "token",
    "family": "string",
    "given": "string",
    "birthdate": "date",
}
PRACTITIONER_SEARCH: Final = {"family": "string", "given": "string"}
LOCATION_SEARCH: Final = {"name": "string", "partof": "reference"}
APPOINTMENT_SEARCH: Final = {
    "patient": "reference",
    "actor": "reference",
    "date": "date",
    "status": "token",
    "service-type": "token",
}
PAGING: Final = {"_count": "number"}
# What each resource type offers (the CapabilityStatement is made from this).
SEARCHES: Final = {
    "Patient": PATIENT_SEARCH,
    "Practitioner": PRACTITIONER_SEARCH,
    "Location": LOCATION_SEARCH,
    "Appointment": APPOINTMENT_SEARCH,
    "Schedule": {"actor": "reference"},
    "Slot": {"schedule": "reference", "start": "date", "status": "token", "service-type": "token"},
}
# IHE ITI Scheduling 1.0: the server this one is, and the operations it implements.
IHE_SCHEDULING: Final = "https://profiles.ihe.net/ITI/Scheduling"
IHE_SERVER: Final = f"{IHE_SCHEDULING}/CapabilityStatement/IHE.Scheduling.server"
OPERATIONS: Final = {
    "Appointment": {
        "find": f"{IHE_SCHEDULING}/OperationDefinition/appointment-find",
        "hold": f"{IHE_SCHEDULING}/OperationDefinition/appointment-hold",
        "book": f"{IHE_SCHEDULING}/OperationDefinition/appointment-book",
    }
}
# What an appointment is for, as one code of our service-type system: the kind, and for
# a procedure its method (a slot or a booking differs by method: equipment, duration).
SERVICE_SYSTEM: Final = "urn:neurotomy-scheduler:service-type"
SERVICES: Final[dict[str, tuple[AppointmentKind, Method | None]]] = {
    "diagnostic-block": (AppointmentKind.DIAGNOSTIC_BLOCK, None),
    "procedure-rfa": (AppointmentKind.PROCEDURE, Method.RFA),
    "procedure-laser": (AppointmentKind.PROCEDURE, Method.LASER),
    "procedure-mechanical": (AppointmentKind.PROCEDURE, Method.MECHANICAL),
    "follow-up": (AppointmentKind.FOLLOW_UP, None),
}
SERVICE_NAMES: Final = {
    "diagnostic-block": "Diagnostic nerve block",
    "procedure-rfa": "Endoscopic neurotomy (radiofrequency)",
    "procedure-laser": "Endoscopic neurotomy (laser)",
    "procedure-mechanical": "Endoscopic neurotomy (mechanical)",
    "follow-up": "Follow-up visit",
}
# Equipment units and recovery bays are named by identifier (we serve no Device).
EQUIPMENT_SYSTEM: Final = "urn:neurotomy-scheduler:equipment"
BAY_SYSTEM: Final = "urn:neurotomy-scheduler:recovery-bay"
# How long a held (pending) appointment is kept for the client that holds it.
HOLD_EXPIRY_EXTENSION: Final = "urn:neurotomy-scheduler:hold-expires"
# Our appointment statuses in FHIR's (a booked procedure whose patient has checked in is
# "arrived"; proposed and pending are $find's proposals and $hold's holds).
APPOINTMENT_STATUSES: Final = {
    AppointmentStatus.BOOKED: "booked",
    AppointmentStatus.COMPLETED: "fulfilled",
    AppointmentStatus.CANCELLED: "cancelled",
    AppointmentStatus.NO_SHOW: "noshow",
}
# The other way: the stored statuses a FHIR status search means (with whether the
# patient must have arrived); proposals and holds are not stored appointments.
STATUS_SEARCH: Final[dict[str, tuple[tuple[AppointmentStatus, bool | None], ...]]] = {
    "proposed": (),
    "pending": (),
    "booked": ((AppointmentStatus.BOOKED, False),),
    "arrived": ((AppointmentStatus.BOOKED, True),),
    "checked-in": ((AppointmentStatus.BOOKED, True),),
    "fulfilled": ((AppointmentStatus.COMPLETED, None),),
    "cancelled": ((AppointmentStatus.CANCELLED, None),),
    "noshow": ((AppointmentStatus.NO_SHOW, None),),
    "entered-in-error": (),
    "waitlist": (),
}
# A refusal's problem type, when it says more than its HTTP status (FHIR issue types).
PROBLEM_CODES: Final = {
    "invalid-input": "invalid",
    "prerequisites-unmet": "business-rule",
    "illegal-transition": "business-rule",
    "slot-taken": "conflict",
}
TIMEZONE_EXTENSION: Final = "http://hl7.org/fhir/StructureDefinition/timezone"
PHYSICAL_TYPE: Final = "http://terminology.hl7.org/CodeSystem/location-physical-type"
# The OperationOutcome issue code for an HTTP status (FHIR issue-type value set).
ISSUE_CODES: Final = {
    400: "invalid",
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    406: "not-supported",
    409: "conflict",
    412: "conflict",
    413: "too-costly",
    415: "not-supported",
    422: "processing",
    428: "required",
    429: "throttled",
    503: "transient",
}


def patient(record: Patient) -> dict[str, Any]:
    """A patient as FHIR Patient: MRN identifier (our system), name, birth date, e-mail."""
    telecom = [{"system": "email", "value": record.email}] if record.email else []
    return _valid(
        FhirPatient,
        {
            "resourceType": "Patient",
            "id": str(record.id),
            "identifier": [{"use": "usual", "system": MRN_SYSTEM, "value": record.mrn}],
            "name": [
                {"use": "official", "family": record.family_name, "given": [record.given_name]}
            ],
            "birthDate": record.birth_date.isoformat(),
            **({"telecom": telecom} if telecom else {}),
        },
    )


def practitioner(record: Clinician) -> dict[str, Any]:
    """A clinician as FHIR Practitioner: name and e-mail."""
    telecom = [{"system": "email", "value": record.email}] if record.email else []
    return _valid(
        Practitioner,
        {
            "resourceType": "Practitioner",
            "id": str(record.id),
            "active": True,
            "name": [{"family": record.family_name, "given": [record.given_name]}],
            **({"telecom": telecom} if telecom else {}),
        },
    )


def site_location(site: Site) -> dict[str, Any]:
    """A site as a FHIR Location ``site-<id>``: name, patient-facing name as alias,
    address, phone, and its IANA time zone (the core timezone extension)."""
    return _valid(
        Location,
        {
            "resourceType": "Location",
            "id": f"site-{site.id}",
            "status": "active",
            "name": site.name,
            **({"alias": [site.display_name]} if site.display_name else {}),
            "address": {"text": site.address},
            **({"telecom": [{"system": "phone", "value": site.phone}]} if site.phone else {}),
            "physicalType": {"coding": [{"system": PHYSICAL_TYPE, "code": "si"}]},
            "extension": [{"url": TIMEZONE_EXTENSION, "valueCode": site.timezone}],
        },
    )


def room_location(room: Room) -> dict[str, Any]:
    """A room as a FHIR Location ``room-<id>``, part of its site's Location."""
    return _valid(
        Location,
        {
            "resourceType": "Location",
            "id": f"room-{room.id}",
            "status": "active",
            "name": room.name,
            "physicalType": {"coding": [{"system": PHYSICAL_TYPE, "code": "ro"}]},
            "partOf": {"reference": f"Location/site-{room.site_id}"},
        },
    )


def service_code(kind: AppointmentKind, method: Method | None) -> str:
    """Our service-type code for an appointment of ``kind`` (and ``method``)."""
    return next(code for code, meant in SERVICES.items() if meant == (kind, method))


def service_type(kind: AppointmentKind, method: Method | None) -> dict[str, Any]:
    code = service_code(kind, method)
    return {"coding": [{"system": SERVICE_SYSTEM, "code": code, "display": SERVICE_NAMES[code]}]}


def appointment_status(status: AppointmentStatus, *, arrived: bool) -> str:
    """The FHIR status of one of our appointments (``arrived``: its patient is here, by
    the pathway's state)."""
    if status is AppointmentStatus.BOOKED and arrived:
        return "arrived"
    return APPOINTMENT_STATUSES[status]


@dataclass(frozen=True)
class Visit:
    """What an Appointment resource says, whether it stands for a booked appointment, a
    hold (pending) or a proposal of ``$find`` (proposed)."""

    id: str
    status: str
    kind: AppointmentKind
    method: Method | None
    start: datetime
    end: datetime
    patient_id: int
    clinician_id: int
    room_id: int
    equipment_ids: tuple[int, ...] = ()
    recovery_bay_id: int | None = None
    created: datetime | None = None
    cancel_reason: str | None = None
    hold_expires: datetime | None = None
    description: str | None = None


def appointment(visit: Visit, names: Mapping[str, str]) -> dict[str, Any]:
    """A FHIR Appointment naming the patient, the clinician, the room, the equipment and
    the recovery bay; ``names`` gives a display text to a reference (or identifier) when
    known (e.g. ``{"Location/room-3": "Fluoro 1", "equipment-4": "RF generator 1"}``)."""

    def actor(reference: str) -> dict[str, Any]:
        return {"reference": reference, **_display(names, reference)}

    def unit(system: str, key: str, value: int, kind: str) -> dict[str, Any]:
        named = _display(names, f"{key}-{value}")
        return {"type": kind, "identifier": {"system": system, "value": str(value)}, **named}

    participants = [
        actor(f"Patient/{visit.patient_id}"),
        actor(f"Practitioner/{visit.clinician_id}"),
        actor(f"Location/room-{visit.room_id}"),
        *(unit(EQUIPMENT_SYSTEM, "equipment", u, "Device") for u in visit.equipment_ids),
        *(
            [unit(BAY_SYSTEM, "bay", visit.recovery_bay_id, "Location")]
            if visit.recovery_bay_id is not None
            else []
        ),
    ]
    answer = "tentative" if visit.status in ("proposed", "pending") else "accepted"
    extension = (
        [{"url": HOLD_EXPIRY_EXTENSION, "valueInstant": _instant(visit.hold_expires)}]
        if visit.hold_expires is not None
        else []
    )
    return _valid(
        FhirAppointment,
        {
            "resourceType": "Appointment",
            "id": visit.id,
            **({"extension": extension} if extension else {}),
            "status": visit.status,
            "serviceType": [service_type(visit.kind, visit.method)],
            **({"description": visit.description} if visit.description else {}),
            "start": _instant(visit.start),
            "end": _instant(visit.end),
            "minutesDuration": int((visit.end - visit.start).total_seconds() // 60),
            **({"created": _instant(visit.created)} if visit.created else {}),
            **(
                {"cancelationReason": {"text": visit.cancel_reason}}
                if visit.cancel_reason and visit.status in ("cancelled", "noshow")
                else {}
            ),
            "participant": [
                {"actor": who, "required": "required", "status": answer} for who in participants
            ],
        },
    )


def _display(names: Mapping[str, str], key: str) -> dict[str, str]:
    return {"display": names[key]} if key in names else {}


def _instant(moment: datetime) -> str:
    """An instant with its offset (UTC), as FHIR requires of ``start`` and ``end``."""
    return moment.isoformat(timespec="seconds")


def information(diagnostics: str) -> dict[str, Any]:
    """An OperationOutcome that only informs (e.g. until when a hold lasts)."""
    issue = {"severity": "information", "code": "informational", "diagnostics": diagnostics}
    return _valid(OperationOutcome, {"resourceType": "OperationOutcome", "issue": [issue]})


def searchset(
    found: Iterable[Mapping[str, Any]],
    links: Mapping[str, str],
    base: str,
    outcomes: Iterable[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """A searchset Bundle: one page of matches, with its ``self`` (and ``next``) links,
    and any OperationOutcome about them (search mode "outcome")."""
    entries = [
        {
            "fullUrl": f"{base}/{r['resourceType']}/{r['id']}",
            "resource": r,
            "search": {"mode": "match"},
        }
        for r in found
    ] + [{"resource": o, "search": {"mode": "outcome"}} for o in outcomes]
    return _valid(
        Bundle,
        {
            "resourceType": "Bundle",
            "type": "searchset",
            "link": [{"relation": name, "url": url} for name, url in links.items()],
            "entry": entries,
        },
    )


def outcome(
    status: int, diagnostics: str, details: Iterable[str] = (), problem: str | None = None
) -> dict[str, Any]:
    """A refusal as OperationOutcome: the issue code for the ``problem`` type or else for
    ``status``, our words, and the rule ids of unmet prerequisites (or taken resources) as
    ``details.coding``."""
    codes = [{"system": "urn:neurotomy-scheduler:rule", "code": code} for code in details]
    fallback = ISSUE_CODES.get(status, "exception" if status >= 500 else "invalid")
    issue: dict[str, Any] = {
        "severity": "error",
        "code": PROBLEM_CODES.get(problem or "", fallback),
        "diagnostics": diagnostics,
    }
    if codes:
        issue["details"] = {"coding": codes}
    return _valid(OperationOutcome, {"resourceType": "OperationOutcome", "issue": [issue]})


def capability_statement(base: str, software: str, published: str) -> dict[str, Any]:
    """What this server implements, and nothing more: read and search of each type of
    :data:`SEARCHES` with its search parameters; JSON only."""
    return _valid(
        CapabilityStatement,
        {
            "resourceType": "CapabilityStatement",
            "status": "active",
            "date": published,
            "kind": "instance",
            "instantiates": [IHE_SERVER],
            "software": {"name": software},
            "implementation": {
                "description": "Outpatient neurotomy pathway scheduler",
                "url": base,
            },
            "fhirVersion": FHIR_VERSION,
            "format": ["application/fhir+json", "application/json"],
            "rest": [
                {
                    "mode": "server",
                    "security": {
                        "service": [
                            {
                                "coding": [
                                    {
                                        "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                                        "code": "OAuth",
                                    }
                                ]
                            }
                        ],
                        "description": "Bearer tokens from POST /api/v1/auth/tokens; a "
                        "patient's token reads only that patient.",
                    },
                    "resource": [
                        {
                            "type": kind,
                            "interaction": [{"code": "read"}, {"code": "search-type"}],
                            "searchParam": [
                                {"name": name, "type": type_}
                                for name, type_ in (params | PAGING).items()
                            ],
                            **(
                                {
                                    "operation": [
                                        {"name": name, "definition": url}
                                        for name, url in OPERATIONS[kind].items()
                                    ]
                                }
                                if kind in OPERATIONS
                                else {}
                            ),
                        }
                        for kind, params in SEARCHES.items()
                    ],
                }
            ],
        },
    )


def _valid(model: Any, data: dict[str, Any]) -> dict[str, Any]:
    """``data`` checked by its FHIR model (a ValidationError is our bug, not the client's)."""
    checked: dict[str, Any] = model.model_validate(data).model_dump(mode="json", exclude_none=True)
    return checked


# Schedule and Slot
# A schedule is a clinician at a site, "<clinician>-<site>"; a slot is a free start of one
# service on it, "<clinician>-<site>-<service code>-<UTC start as yyyymmddThhmm>Z", so
# its id says all it takes to ask the availability function about it again.
SCHEDULE_ID: Final = re.compile(r"(?P<clinician>\d{1,9})-(?P<site>\d{1,9})\Z")
SLOT_ID: Final = re.compile(
    r"(?P<clinician>\d{1,9})-(?P<site>\d{1,9})-(?P<code>"
    + "|".join(map(re.escape, SERVICES))
    + r")-(?P<start>\d{8}T\d{4})Z\Z"
)
SLOT_STAMP: Final = "%Y%m%dT%H%M"
# The years a Slot's start may fall in (beyond them, date arithmetic would overflow).
SLOT_YEARS: Final = range(1900, 3000)


def schedule_id(clinician_id: int, site_id: int) -> str:
    return f"{clinician_id}-{site_id}"


def schedule_key(text: str) -> tuple[int, int] | None:
    """The clinician and site of a Schedule id (None: not one of ours)."""
    spelled = SCHEDULE_ID.match(text)
    return (int(spelled["clinician"]), int(spelled["site"])) if spelled else None


def slot_id(clinician_id: int, site_id: int, code: str, start: datetime) -> str:
    return f"{schedule_id(clinician_id, site_id)}-{code}-{start.astimezone(UTC):{SLOT_STAMP}}Z"


def slot_key(text: str) -> tuple[int, int, str, datetime] | None:
    """The clinician, site, service code and start of a Slot id (None: not one of ours)."""
    spelled = SLOT_ID.match(text)
    if spelled is None:
        return None
    try:
        start = datetime.strptime(spelled["start"], SLOT_STAMP).replace(tzinfo=UTC)
    except ValueError:
        return None
    if start.year not in SLOT_YEARS:
        return None
    return int(spelled["clinician"]), int(spelled["site"]), spelled["code"], start


def schedule(
    clinician: Clinician, site: Site, codes: Iterable[str], planned_from: datetime
) -> dict[str, Any]:
    """A clinician's schedule at a site: both as actors, the services it offers (none,
    and no ``serviceType``, when the site has nothing to host them), and its planning
    horizon from the earliest bookable start (no end: searches are open-ended)."""
    name = f"{clinician.given_name} {clinician.family_name}"
    return _valid(
        Schedule,
        {
            "resourceType": "Schedule",
            "id": schedule_id(clinician.id, site.id),
            "active": True,
            "serviceType": [_service(code) for code in codes],
            "actor": [
                {"reference": f"Practitioner/{clinician.id}", "display": name},
                {"reference": f"Location/site-{site.id}", "display": site.name},
            ],
            "planningHorizon": {"start": planned_from.isoformat(timespec="seconds")},
        },
    )


def slot(
    clinician_id: int, site_id: int, code: str, start: datetime, end: datetime, zone: str
) -> dict[str, Any]:
    """A free slot of one service on a schedule, its times in the site's time zone."""
    local = ZoneInfo(zone)
    return _valid(
        Slot,
        {
            "resourceType": "Slot",
            "id": slot_id(clinician_id, site_id, code, start),
            "schedule": {"reference": f"Schedule/{schedule_id(clinician_id, site_id)}"},
            "status": "free",
            "serviceType": [_service(code)],
            "start": start.astimezone(local).isoformat(timespec="seconds"),
            "end": end.astimezone(local).isoformat(timespec="seconds"),
        },
    )


def _service(code: str) -> dict[str, Any]:
    kind, method = SERVICES[code]
    return service_type(kind, method)
