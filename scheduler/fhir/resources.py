"""FHIR R4 resources built from our records, each validated by its ``fhir.resources``
model, so what we emit is valid FHIR by construction; and the OperationOutcome every
refusal under ``/fhir/R4`` becomes.

No Flask here: records and plain values in, JSON-ready dicts out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.location import Location
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.patient import Patient as FhirPatient
from fhir.resources.R4B.practitioner import Practitioner

from scheduler.clinicians.models import Clinician
from scheduler.facilities.models import Room, Site
from scheduler.patients.models import Patient

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
PAGING: Final = {"_count": "number"}
# What each resource type offers (the CapabilityStatement is made from this).
SEARCHES: Final = {
    "Patient": PATIENT_SEARCH,
    "Practitioner": PRACTITIONER_SEARCH,
    "Location": LOCATION_SEARCH,
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


def searchset(
    found: Iterable[Mapping[str, Any]], links: Mapping[str, str], base: str
) -> dict[str, Any]:
    """A searchset Bundle: one page of matches, with its ``self`` (and ``next``) links."""
    entries = [
        {
            "fullUrl": f"{base}/{r['resourceType']}/{r['id']}",
            "resource": r,
            "search": {"mode": "match"},
        }
        for r in found
    ]
    return _valid(
        Bundle,
        {
            "resourceType": "Bundle",
            "type": "searchset",
            "link": [{"relation": name, "url": url} for name, url in links.items()],
            "entry": entries,
        },
    )


def outcome(status: int, diagnostics: str, details: Iterable[str] = ()) -> dict[str, Any]:
    """A refusal as OperationOutcome: the issue code for ``status``, our words, and the
    rule ids of unmet prerequisites (or taken resources) as ``details.coding``."""
    codes = [{"system": "urn:neurotomy-scheduler:rule", "code": code} for code in details]
    issue: dict[str, Any] = {
        "severity": "error",
        "code": ISSUE_CODES.get(status, "exception" if status >= 500 else "invalid"),
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
