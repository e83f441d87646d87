"""The FHIR R4 face: the CapabilityStatement, Patient read and search, and every refusal
as an OperationOutcome with the v1 API's status (SPEC §8).

What the server emits is parsed back by the ``fhir.resources`` R4B models, so a test
fails on invalid FHIR as well as on a wrong value.
"""

from __future__ import annotations

from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.location import Location
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.patient import Patient as FhirPatient
from fhir.resources.R4B.practitioner import Practitioner
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from scheduler.api import RETRY_AFTER_SECONDS
from scheduler.clinicians.models import Clinician
from scheduler.facilities.models import Room, Site
from scheduler.fhir.resources import MRN_SYSTEM
from scheduler.patients.models import Patient
from tests.api.conftest import Clinic
from tests.fhir_support import parsed
from tests.support import Api


def fhir(api: Api, path: str, as_: str | None = "scheduler", method: str = "GET") -> Any:
    headers = {"Authorization": f"Bearer {api.tokens[as_]}"} if as_ else {}
    return api.client.open("/fhir/R4" + path, method=method, headers=headers)


def outcome_of(response: Any, status: int, code: str) -> OperationOutcome:
    checked: OperationOutcome = parsed(response, status)
    assert checked.issue[0].code == code
    return checked


def test_the_capability_statement_lists_exactly_what_is_implemented(client: FlaskClient) -> None:
    response = client.get("/fhir/R4/metadata")

    statement: CapabilityStatement = parsed(response)
    assert statement.fhirVersion == "4.0.1"
    [rest] = statement.rest
    offered = {r.type: r for r in rest.resource}
    assert set(offered) == {
        "Patient",
        "Practitioner",
        "Location",
        "Appointment",
        "Schedule",
        "Slot",
    }
    for resource in offered.values():
        assert {i.code for i in resource.interaction} == {"read", "search-type"}
    searches = {kind: {p.name for p in r.searchParam} for kind, r in offered.items()}
    assert searches == {
        "Patient": {"identifier", "family", "given", "birthdate", "_count"},
        "Practitioner": {"family", "given", "_count"},
        "Location": {"name", "partof", "_count"},
        "Appointment": {"patient", "actor", "date", "status", "service-type", "_count"},
        "Schedule": {"actor", "_count"},
        "Slot": {"schedule", "start", "status", "service-type", "_count"},
    }
    operations = {kind: {o.name for o in r.operation or []} for kind, r in offered.items()}
    assert {kind: names for kind, names in operations.items() if names} == {
        "Appointment": {"find", "hold", "book"}
    }
    assert statement.instantiates == [
        "https://profiles.ihe.net/ITI/Scheduling/CapabilityStatement/IHE.Scheduling.server"
    ]


def test_a_patient_is_read_with_the_mrn_as_identifier(
    api: Api, clinic: Clinic, db: Session
) -> None:
    record = db.get(Patient, clinic.patient_id)
    assert record is not None

    response = fhir(api, f"/Patient/{clinic.patient_id}")

    patient: FhirPatient = parsed(response)
    assert patient.id == str(record.id)
    assert (patient.identifier[0].system, patient.identifier[0].value) == (MRN_SYSTEM, record.mrn)
    assert patient.name[0].family == record.family_name
    assert patient.birthDate == record.birth_date


def search(api: Api, query: str, as_: str = "scheduler") -> list[str]:
    bundle: Bundle = parsed(fhir(api, "/Patient?" + query, as_))
    assert bundle.type == "searchset"
    return [entry.resource.id for entry in bundle.entry or []]  # type: ignore[union-attr]


def test_patients_are_searched_by_identifier_names_and_birth_date(
    api: Api, clinic: Clinic, db: Session
) -> None:
    record = db.get(Patient, clinic.patient_id)
    other = db.get(Patient, clinic.other_patient_id)
    assert record is not None
    assert other is not None
    mine = str(record.id)
    born = record.birth_date.isoformat()

    assert search(api, f"identifier={MRN_SYSTEM}|{record.mrn}") == [mine]
    assert search(api, f"identifier={record.mrn}") == [mine]
    assert search(api, f"identifier=urn:other|{record.mrn}") == []
    assert search(api, f"family={record.family_name[:4].upper()}&given={record.given_name}") == [
        mine
    ]
    assert mine in search(api, f"birthdate={born}")
    assert mine in search(api, f"birthdate=ge{born}&family={record.family_name}")
    assert search(api, f"birthdate=lt{born}&family={record.family_name}") == []
    assert search(api, "family=%25") == []  # a literal percent sign, not a wildcard


def test_search_pages_with_count_and_a_next_link(api: Api, clinic: Clinic) -> None:
    bundle: Bundle = parsed(fhir(api, "/Patient?_count=1"))

    assert len(bundle.entry or []) == 1
    links = {link.relation: link.url for link in bundle.link or []}
    assert "_offset=1" in links["next"]
    second = fhir(api, links["next"].split("/fhir/R4", 1)[1])
    assert parsed(second).entry[0].resource.id != (  # type: ignore[index]
        bundle.entry[0].resource.id  # type: ignore[index]
    )


def test_a_patient_token_reads_and_finds_only_that_patient(api: Api, clinic: Clinic) -> None:
    own = fhir(api, f"/Patient/{clinic.patient_id}", "patient")
    other = fhir(api, f"/Patient/{clinic.other_patient_id}", "patient")

    assert own.status_code == 200
    outcome_of(other, 403, "forbidden")
    assert search(api, "", "patient") == [str(clinic.patient_id)]


@pytest.mark.parametrize(
    ("path", "as_", "method", "status", "code"),
    [
        ("/Patient/1", None, "GET", 401, "login"),
        ("/Patient/999999", "scheduler", "GET", 404, "not-found"),
        ("/Patient/abc", "scheduler", "GET", 404, "not-found"),
        ("/Appointmentx", "scheduler", "GET", 404, "not-found"),
        ("/Patient/1", "scheduler", "DELETE", 405, "not-supported"),
        ("/Patient?name=x", "scheduler", "GET", 400, "invalid"),
        ("/Patient?birthdate=01.02.1960", "scheduler", "GET", 400, "invalid"),
        ("/Patient?birthdate=1960-02-30", "scheduler", "GET", 400, "invalid"),
        ("/Patient?_count=many", "scheduler", "GET", 400, "invalid"),
        ("/Patient?family=a%00b", "scheduler", "GET", 400, "invalid"),
        ("/Patient?family=a%07b", "scheduler", "GET", 400, "invalid"),
        ("/Patient?given=" + "x" * 201, "scheduler", "GET", 400, "invalid"),
    ],
)
def test_every_refusal_is_an_operation_outcome(
    api: Api, clinic: Clinic, path: str, as_: str | None, method: str, status: int, code: str
) -> None:
    parsed = outcome_of(fhir(api, path, as_, method), status, code)
    assert parsed.issue[0].diagnostics


def test_the_database_away_is_a_transient_outcome_with_retry_after(
    api: Api, database_away: None
) -> None:
    response = fhir(api, "/Patient?family=a")

    parsed = outcome_of(response, 503, "transient")
    assert response.headers["Retry-After"] == str(RETRY_AFTER_SECONDS)
    assert parsed.issue[0].diagnostics == (
        "The database is briefly unavailable; try again in a few seconds."
    )


def test_a_clinician_is_a_practitioner_read_and_found_by_name(
    api: Api, clinic: Clinic, db: Session
) -> None:
    record = db.get(Clinician, clinic.clinician_id)
    assert record is not None

    read = fhir(api, f"/Practitioner/{clinic.clinician_id}")
    found = fhir(api, f"/Practitioner?given={record.given_name.lower()}")

    practitioner: Practitioner = parsed(read)
    assert practitioner.name[0].family == record.family_name
    bundle: Bundle = parsed(found)
    assert [e.resource.id for e in bundle.entry or []] == [str(record.id)]  # type: ignore[union-attr]
    outcome_of(fhir(api, f"/Practitioner/{clinic.clinician_id}", "patient"), 403, "forbidden")


def test_sites_and_rooms_are_locations_rooms_part_of_their_site(
    api: Api, clinic: Clinic, db: Session
) -> None:
    site = db.get(Site, clinic.site_id)
    room = db.get(Room, clinic.room_id)
    assert site is not None
    assert room is not None

    read_site: Location = parsed(fhir(api, f"/Location/site-{site.id}"))
    read_room: Location = parsed(fhir(api, f"/Location/room-{room.id}"))
    rooms: Bundle = parsed(fhir(api, f"/Location?partof=site-{site.id}"))

    assert read_site.name == site.name
    assert read_site.address.text == site.address  # type: ignore[union-attr]
    assert read_site.extension[0].valueCode == site.timezone  # type: ignore[index]
    assert read_room.partOf.reference == f"Location/site-{site.id}"  # type: ignore[union-attr]
    found = {e.resource.id for e in rooms.entry or []}  # type: ignore[union-attr]
    assert f"room-{room.id}" in found
    assert f"site-{site.id}" not in found
    for missing in ("site-999999", "room-999999", "bay-1", "site-x"):
        outcome_of(fhir(api, f"/Location/{missing}"), 404, "not-found")
