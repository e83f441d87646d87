"""The daily list's readiness flags (SPEC §5): after check-in, the check-in rules' verdicts."""

from __future__ import annotations

from typing import Any

import pytest

from scheduler.pathways.states import PathwayState
from scheduler.scheduling.readiness import CHECK_IN_RULES, READINESS_FLAGS, readiness

ALL_PASSED = dict.fromkeys(CHECK_IN_RULES.values(), True)


def flags(**changes: Any) -> dict[str, Any]:
    arguments: dict[str, Any] = {
        "procedure": True,
        "state": PathwayState.PROCEDURE_SCHEDULED,
        "sedation": True,
        "check_in": None,
        "covered": True,
    }
    return readiness(**(arguments | changes))


@pytest.mark.parametrize(
    ("changes", "summary", "unknown"),
    [
        ({}, "amber", {"consent", "escort", "fasting", "anticoagulation"}),
        ({"sedation": False}, "amber", {"consent", "anticoagulation"}),
        ({"check_in": ALL_PASSED}, "green", set()),
        ({"procedure": False}, "green", set(READINESS_FLAGS)),
    ],
)
def test_flags_are_unknown_before_check_in_and_known_after(
    changes: dict[str, Any], summary: str, unknown: set[str]
) -> None:
    result = flags(**changes)

    assert result["summary"] == summary
    assert {flag for flag in READINESS_FLAGS if result[flag] is None} == unknown


@pytest.mark.parametrize(("flag", "rule_id"), list(CHECK_IN_RULES.items()))
def test_a_check_in_rule_that_failed_makes_its_flag_red(flag: str, rule_id: str) -> None:
    result = flags(check_in=ALL_PASSED | {rule_id: False})

    assert result["summary"] == "red"
    assert [name for name in READINESS_FLAGS if result[name] is False] == [flag]


@pytest.mark.parametrize(
    ("changes", "flag"),
    [
        ({"state": PathwayState.REFERRED}, "eligibility"),
        ({"covered": False}, "coverage"),
    ],
)
def test_eligibility_and_coverage_flags_are_red_when_not_met(
    changes: dict[str, Any], flag: str
) -> None:
    result = flags(check_in=ALL_PASSED, **changes)

    assert (result["summary"], result[flag]) == ("red", False)


@pytest.mark.parametrize(
    "changes",
    [{"check_in": ALL_PASSED}, {"procedure": False}, {}],
    ids=["procedure ready", "other visit", "procedure before check-in"],
)
def test_a_case_that_needs_rebooking_is_red_with_the_reason_whatever_else(
    changes: dict[str, Any],
) -> None:
    result = flags(rebook="Dr Okafor away 3\u20135 Dec", **changes)

    assert (result["summary"], result["rebook"]) == ("red", "Dr Okafor away 3\u20135 Dec")
    assert flags(**changes)["rebook"] is None
