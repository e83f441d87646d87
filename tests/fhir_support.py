"""One strict check for everything the FHIR face emits: the FHIR media type, and the
body parsed back by the ``fhir.resources`` R4B model of its ``resourceType`` (unknown
elements refused), each entry of a Bundle and each parameter of Parameters included."""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B import get_fhir_model_class

FHIR = "application/fhir+json"


def parsed(response: Any, status: int = 200) -> Any:
    """The response's resource, checked: ``status``, FHIR JSON, valid by its model."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == FHIR
    return resource(response.get_json())


def resource(body: dict[str, Any]) -> Any:
    """``body`` parsed by its model (which refuses unknown elements), nested resources
    too; the model object is returned."""
    model = get_fhir_model_class(body["resourceType"])
    checked = model.model_validate(body)
    for entry in body.get("entry", []):
        if "resource" in entry:
            resource(entry["resource"])
    for parameter in body.get("parameter", []):
        if "resource" in parameter:
            resource(parameter["resource"])
    return checked
