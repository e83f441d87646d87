"""Policy documents (SPEC §3): the builtins validate; a bad document names the bad field."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Mapping
from dataclasses import FrozenInstanceError, fields, is_dataclass
from enum import Enum
from pathlib import Path
from typing import Any

import pytest
from marshmallow import ValidationError

from scheduler.errors import flatten_errors
from scheduler.policies import rules as policy_module
from scheduler.policies.document import parse_parameters, parse_policy, validate_parameters
from scheduler.policies.parameters import FastingHours
from scheduler.policies.rules import RULE_IDS

BUILTIN = Path(policy_module.__file__).parent / "builtin"
NAMES = ["medicare_facet", "single_block_50"]


def builtin(name: str = "medicare_facet") -> dict[str, Any]:
    data: dict[str, Any] = json.loads((BUILTIN / f"{name}.json").read_text())
    return data


Mutation = Callable[[dict[str, Any]], None]


def set_at(path: str, value: Any) -> Mutation:
    def mutate(document: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node = document
        for key in parents:
            node = node[key]
        node[last] = value

    return mutate


def delete_at(path: str) -> Mutation:
    def mutate(document: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node = document
        for key in parents:
            node = node[key]
        del node[last]

    return mutate


@pytest.mark.parametrize("name", NAMES)
def test_builtin_document_validates(name: str) -> None:
    assert validate_parameters(builtin(name)) == {}


@pytest.mark.parametrize("name", NAMES)
def test_builtin_document_parses_with_a_source_for_every_rule(name: str) -> None:
    document = builtin(name)
    parsed = parse_policy(name, 1, document)
    assert (parsed.name, parsed.version) == (name, 1)
    assert set(parsed.parameters.sources) == set(RULE_IDS)
    assert parsed.parameters.sources == document["sources"]


BAD_DOCUMENTS: list[tuple[Mutation, str]] = [
    # Unknown fields, at the top and in a section.
    (set_at("bonus", 1), "bonus"),
    (
        set_at("diagnostic_blocks.max_relief_percent", 100),
        "diagnostic_blocks.max_relief_percent",
    ),
    (set_at("check_in.fasting_hours.water", 1), "check_in.fasting_hours.water"),
    # Missing sections and fields.
    (delete_at("recovery"), "recovery"),
    (delete_at("follow_up"), "follow_up"),
    (delete_at("neurotomy.repeat_min_days"), "neurotomy.repeat_min_days"),
    (delete_at("check_in.fasting_hours"), "check_in.fasting_hours"),
    # Wrong types.
    (set_at("pain_duration.min_days", "90"), "pain_duration.min_days"),
    (set_at("pain_duration.min_days", 90.5), "pain_duration.min_days"),
    (set_at("discharge.escort_required", "yes"), "discharge.escort_required"),
    (set_at("discharge.escort_required", None), "discharge.escort_required"),
    (set_at("levels", 2), "levels"),
    (set_at("coverage.not_covered_methods", "laser"), "coverage.not_covered_methods"),
    # Bad enum values.
    (set_at("coverage.not_covered_methods", ["cryo"]), "coverage.not_covered_methods.0"),
    (
        set_at("indications.facet_joint_syndrome.target_nerve", "dorsal_ramus"),
        "indications.facet_joint_syndrome.value.target_nerve",
    ),
    (
        set_at("check_in.anticoagulation_hold_regions", ["cervical", "knee"]),
        "check_in.anticoagulation_hold_regions.1",
    ),
    (
        set_at("indications.knee_pain", {"target_nerve": "medial_branch", "regions": ["lumbar"]}),
        "indications.knee_pain.key",
    ),
    # Out of range.
    (
        set_at("diagnostic_blocks.min_relief_percent", 101),
        "diagnostic_blocks.min_relief_percent",
    ),
    (set_at("diagnostic_blocks.required", 0), "diagnostic_blocks.required"),
    (set_at("recovery.min_aldrete", 11), "recovery.min_aldrete"),
    (set_at("coverage.acknowledgment_kinds", []), "coverage.acknowledgment_kinds"),
    # A follow-up window that closes before it opens.
    (set_at("follow_up.max_days", 13), "follow_up.max_days"),
    # A rule without a source.
    (delete_at("sources.coverage"), "sources"),
    (set_at("sources.unknown_rule", "Somewhere"), "sources.unknown_rule.key"),
    (set_at("sources.pain_duration", ""), "sources.pain_duration.value"),
]


@pytest.mark.parametrize(
    ("mutation", "field"), BAD_DOCUMENTS, ids=[field for _, field in BAD_DOCUMENTS]
)
def test_bad_document_fails_naming_the_field(mutation: Mutation, field: str) -> None:
    document = builtin()
    mutation(document)
    errors = flatten_errors(validate_parameters(document))
    assert list(errors) == [field]
    assert all(message.strip() for message in errors[field])
    with pytest.raises(ValidationError):
        parse_parameters(document)


def test_missing_source_names_the_rule() -> None:
    document = builtin()
    del document["sources"]["coverage"]
    del document["sources"]["follow_up.window"]
    errors = validate_parameters(document)
    (message,) = errors["sources"]
    assert "coverage" in message
    assert "follow_up.window" in message
    assert "pain_duration" not in message


@pytest.mark.parametrize(("minimum", "maximum", "valid"), [(14, 13, False), (14, 14, True)])
def test_follow_up_max_below_min_is_refused_equal_is_accepted(
    minimum: int, maximum: int, valid: bool
) -> None:
    document = builtin()
    document["follow_up"] = {"min_days": minimum, "max_days": maximum}
    errors = validate_parameters(document)
    assert (errors == {}) is valid
    if not valid:
        assert errors == {"follow_up": {"max_days": ["Must not be less than min_days."]}}


def test_validation_does_not_change_the_document() -> None:
    document = builtin()
    document["follow_up"]["max_days"] = 1
    before = copy.deepcopy(document)
    validate_parameters(document)
    assert document == before


def _as_document(value: Any) -> Any:
    """Parsed parameters written back as the document's JSON values (sets as sorted lists)."""
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _as_document(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, Mapping):
        return {_as_document(key): _as_document(item) for key, item in value.items()}
    if isinstance(value, frozenset):
        return sorted(_as_document(item) for item in value)
    if isinstance(value, Enum):
        return value.value
    return value


def _sorted_lists(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _sorted_lists(item) for key, item in value.items()}
    if isinstance(value, list):
        return sorted(value)
    return value


@pytest.mark.parametrize("name", NAMES)
def test_every_value_of_the_document_is_parsed_into_frozen_parameters(name: str) -> None:
    document = builtin(name)
    parameters = parse_parameters(document)
    assert _as_document(parameters) == _sorted_lists(document)
    assert isinstance(parameters.check_in.fasting_hours, FastingHours)
    assert isinstance(parameters.coverage.acknowledgment_kinds, frozenset)
    with pytest.raises(FrozenInstanceError):
        parameters.discharge.min_padss = 0  # type: ignore[misc]
