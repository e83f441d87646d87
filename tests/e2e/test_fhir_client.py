"""A FHIR client we did not write (``fhirpy``) schedules through IHE ITI Scheduling
against the app under gunicorn: ``$find -> $hold -> $book``, then a cancel through
``$book``, and the searches an EHR would run to see the result (SPEC §8).

The database and clinic are test_concurrent_booking's (a site open every day, referred
pathways, scheduler tokens), on SQLite and, with TEST_DATABASE_URL, PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fhirpy import SyncFHIRClient
from fhirpy.base.exceptions import OperationOutcome
from sqlalchemy import Engine, select

from scheduler.pathways.models import Pathway
from scheduler.scheduling.models import Appointment, Hold
from tests.e2e import test_concurrent_booking as concurrency
from tests.e2e.gunicorn import serve
from tests.fhir_support import resource

database_url = concurrency.database_url
clinic = concurrency.clinic
engine = concurrency.engine


@pytest.fixture(scope="module")
def base_url(
    database_url: str, clinic: concurrency.Clinic, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    with serve(database_url, tmp_path_factory.mktemp("gunicorn"), workers=2) as served:
        yield f"{served.base_url}/fhir/R4"


def parameters(**values: dict[str, Any]) -> dict[str, Any]:
    return {
        "resourceType": "Parameters",
        "parameter": [{"name": name, **value} for name, value in values.items()],
    }


def reference(ident: str) -> dict[str, Any]:
    return {"valueReference": {"reference": f"Appointment/{ident}"}}


def only_appointment(bundle: Any) -> dict[str, Any]:
    """The one Appointment of an operation's Bundle, checked by the FHIR models."""
    resource(bundle)
    [found] = [
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Appointment"
    ]
    return dict(found)


def test_a_fhir_client_finds_holds_books_and_cancels(
    base_url: str, clinic: concurrency.Clinic, engine: Engine
) -> None:
    client = SyncFHIRClient(base_url, authorization=f"Bearer {clinic.tokens[0]}")
    pathway_id = clinic.pathway_ids[-1]  # the contenders of the other module leave it free
    with engine.connect() as connection:
        patient_id = connection.scalar(select(Pathway.patient_id).where(Pathway.id == pathway_id))
    patient = client.reference("Patient", str(patient_id)).to_resource()
    resource(patient.serialize())
    start = datetime.now(UTC) + timedelta(hours=1)

    found = client.execute(
        "Appointment/$find",
        data=parameters(
            start={"valueDateTime": start.isoformat(timespec="seconds")},
            end={"valueDateTime": (start + timedelta(days=2)).isoformat(timespec="seconds")},
            patient={"valueReference": {"reference": f"Patient/{patient.id}"}},
            **{"_count": {"valueInteger": 3}},
        ),
    )
    resource(found)
    proposals = [e["resource"] for e in found["entry"]]
    assert len(proposals) == 3
    assert {p["status"] for p in proposals} == {"proposed"}
    chosen = proposals[1]

    held = only_appointment(
        client.execute(
            "Appointment/$hold",
            data=parameters(**{"appointment-reference": reference(chosen["id"])}),
        )
    )
    assert (held["status"], held["start"]) == ("pending", chosen["start"])

    booked = only_appointment(
        client.execute(
            "Appointment/$book", data=parameters(**{"appointment-reference": reference(held["id"])})
        )
    )
    assert (booked["status"], booked["start"]) == ("booked", chosen["start"])
    read = client.reference("Appointment", booked["id"]).to_resource()
    assert read["status"] == "booked"

    with pytest.raises(OperationOutcome) as twice:
        client.execute(
            "Appointment/$book", data=parameters(**{"appointment-reference": reference(held["id"])})
        )
    assert twice.value.resource["issue"][0]["code"] == "conflict"

    cancelled = only_appointment(
        client.execute(
            "Appointment/$book",
            data={
                "resourceType": "Parameters",
                "parameter": [
                    {
                        "name": "appointment",
                        "resource": {
                            **read.serialize(),
                            "status": "cancelled",
                            "cancelationReason": {"text": "Patient asked to cancel"},
                        },
                    }
                ],
            },
        )
    )
    assert cancelled["status"] == "cancelled"

    mine = client.resources("Appointment").search(patient=f"Patient/{patient.id}").fetch_all()
    assert [(a.id, a["status"]) for a in mine] == [(booked["id"], "cancelled")]
    with engine.connect() as connection:
        rows = connection.execute(
            select(Appointment.status).where(Appointment.pathway_id == pathway_id)
        ).all()
        holds_left = connection.execute(select(Hold.id).where(Hold.pathway_id == pathway_id)).all()
    assert [row.status.value for row in rows] == ["cancelled"]
    assert holds_left == []
