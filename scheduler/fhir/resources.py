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
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.patient import Patient as FhirPatient

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
PAGING: Final = {"_count": "number"}
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
    """What this server implements, and nothing more: read and search of Patient with
    the search parameters above; JSON only."""
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
                            "type": "Patient",
                            "interaction": [{"code": "read"}, {"code": "search-type"}],
                            "searchParam": [
                                {"name": name, "type": kind}
                                for name, kind in (PATIENT_SEARCH | PAGING).items()
                            ],
                        }
                    ],
                }
            ],
        },
    )


def _valid(model: Any, data: dict[str, Any]) -> dict[str, Any]:
    """``data`` checked by its FHIR model (a ValidationError is our bug, not the client's)."""
    checked: dict[str, Any] = model.model_validate(data).model_dump(mode="json", exclude_none=True)
    return checked
