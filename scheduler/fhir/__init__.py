"""The FHIR R4 face (``/fhir/R4``, SPEC §8): the same services and permissions as the
v1 API, resources built and validated by ``fhir.resources`` (R4B models)."""
