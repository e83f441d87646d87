"""Whatever arrives at ``$find``, ``$hold`` and ``$book``, the answer is FHIR: a Bundle or
an OperationOutcome with a 4xx, never a 500, and a refused request writes nothing.

Hypothesis builds Parameters-shaped bodies from the operations' own parameter names and
value types and from wrong ones (other names, other value[x] elements, values of the
wrong JSON type, odd text, nested resources), reproducibly (derandomized).
"""

from __future__ import annotations

import os
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from scheduler.pathways.models import Pathway
from tests.api.conftest import Clinic
from tests.api.test_fhir_appointments import writes
from tests.api.test_full_pathway import refer
from tests.fhir_support import FHIR, resource
from tests.support import Api

NAMES = (
    "start",
    "end",
    "patient",
    "practitioner",
    "service-type",
    "_count",
    "reschedule",
    "appointment-reference",
    "appointment",
)
ELEMENTS = (
    "valueDateTime",
    "valueInstant",
    "valueString",
    "valueCode",
    "valueInteger",
    "valueReference",
    "valueCoding",
    "valueBoolean",
    "resource",
    "part",
)
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**40), max_value=2**40)
    | st.text(max_size=30)
    | st.sampled_from(
        [
            "2026-03-03T07:00:00-05:00",
            "2026-03-03",
            "2026-03-03T07:00:00",
            "Patient/1",
            "Appointment/prop-1.b.2.u.3.4.0.5-abc",
            "Appointment/hold-1-deadbeef",
            "urn:neurotomy-scheduler:service-type|procedure-rfa",
        ]
    )
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                ["reference", "resourceType", "id", "status", "system", "code", "text"]
            ),
            inner,
            max_size=3,
        )
    ),
    max_leaves=8,
)
parameter = st.fixed_dictionaries(
    {"name": st.sampled_from(NAMES) | st.text(max_size=12)},
    optional=dict.fromkeys(ELEMENTS, values),
)
bodies = (
    st.fixed_dictionaries(
        {"resourceType": st.just("Parameters"), "parameter": st.lists(parameter, max_size=5)}
    )
    | st.fixed_dictionaries({"resourceType": st.sampled_from(["Parameters", "Patient", 7])})
    | values
)


@settings(
    max_examples=int(os.environ.get("FHIR_FUZZ_EXAMPLES", "120")),
    derandomize="FHIR_FUZZ_EXAMPLES" not in os.environ,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(operation=st.sampled_from(["find", "hold", "book"]), body=bodies)
def test_any_body_gets_fhir_back_and_a_refusal_writes_nothing(
    api: Api, clinic: Clinic, db: Session, operation: str, body: Any
) -> None:
    if not db.scalar(select(func.count()).select_from(Pathway)):
        refer(api, clinic)  # a referred pathway, so that the patient has a next step
    before = writes(db)

    response = api.client.post(
        f"/fhir/R4/Appointment/${operation}",
        json=body,
        headers={"Authorization": f"Bearer {api.tokens['scheduler']}", "Content-Type": FHIR},
    )

    assert response.status_code < 500, response.get_data(as_text=True)
    assert response.mimetype == FHIR
    resource(response.get_json())
    if response.status_code >= 400:
        assert writes(db) == before


query_values = st.text(max_size=25) | st.sampled_from(
    [
        "2026-03-03",
        "ge2026-03-03",
        "lt2026-03-03T09:00:00-05:00",
        "2026-03-03T09:00:00",
        "Patient/1",
        "Location/room-1",
        "Location/site-99999999999",
        "booked,cancelled",
        "urn:neurotomy-scheduler:service-type|procedure-rfa",
        "0",
        "-1",
    ]
)
queries = st.lists(
    st.tuples(
        st.sampled_from(["patient", "actor", "date", "status", "service-type", "_count", "_offset"])
        | st.text(max_size=8),
        query_values,
    ),
    max_size=4,
)


@settings(
    max_examples=int(os.environ.get("FHIR_FUZZ_EXAMPLES", "120")),
    deadline=None,
    derandomize="FHIR_FUZZ_EXAMPLES" not in os.environ,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(query=queries, as_=st.sampled_from(["scheduler", "patient"]))
def test_any_appointment_search_gets_a_bundle_or_an_outcome(
    api: Api, clinic: Clinic, query: list[tuple[str, str]], as_: str
) -> None:
    response = api.client.get(
        "/fhir/R4/Appointment",
        query_string=query,
        headers={"Authorization": f"Bearer {api.tokens[as_]}"},
    )

    assert response.status_code in (200, 400), response.get_data(as_text=True)
    assert response.mimetype == FHIR
    resource(response.get_json())
