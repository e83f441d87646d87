"""What evaluating a policy gives: rules with ids, their results, the gates they guard.

A rule is a function of the policy's parameters and a frozen snapshot that says whether
it holds and why, in words a scheduler or nurse can act on; ``@rule("id")`` gives it the
id under which the policy cites its source. Which rules guard which step is one table,
``rules.GATES``.
Pure module: no Flask, no SQLAlchemy.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final, Generic, TypeVar

from scheduler.errors import PrerequisitesUnmet, UnmetRule
from scheduler.policies.parameters import Policy, PolicyParameters

S = TypeVar("S")
Check = Callable[[PolicyParameters, S], tuple[bool, str]]


class Gate(StrEnum):
    """A step of the pathway that a policy guards."""

    BOOK_BLOCK = "book_block"
    BOOK_PROCEDURE = "book_procedure"
    START_PROCEDURE = "start_procedure"
    START_NOW = "start_now"
    CHECK_IN = "check_in"
    END_PHASE_ONE = "end_phase_one"
    DISCHARGE = "discharge"
    BOOK_FOLLOW_UP = "book_follow_up"


# How a refusal names the step: "Cannot book the procedure: ...".
GATE_ACTIONS: Final = {
    Gate.BOOK_BLOCK: "book the diagnostic block",
    Gate.BOOK_PROCEDURE: "book the procedure",
    Gate.START_PROCEDURE: "start the procedure with this method",
    Gate.START_NOW: "start the procedure now",
    Gate.CHECK_IN: "check the patient in",
    Gate.END_PHASE_ONE: "end recovery phase I",
    Gate.DISCHARGE: "discharge the patient",
    Gate.BOOK_FOLLOW_UP: "book the follow-up",
}


@dataclass(frozen=True)
class RuleResult:
    id: str
    passed: bool
    message: str
    source: str


@dataclass(frozen=True)
class Rule(Generic[S]):
    """One rule: its id (the key of its source in the policy document) and its check."""

    id: str
    check: Check[S]

    def run(self, policy: Policy, snapshot: S) -> RuleResult:
        passed, message = self.check(policy.parameters, snapshot)
        return RuleResult(self.id, passed, message, policy.parameters.sources[self.id])


def rule(rule_id: str) -> Callable[[Check[S]], Rule[S]]:
    """Declare a check as the rule ``rule_id``."""

    def declare(check: Check[S]) -> Rule[S]:
        return Rule(rule_id, check)

    return declare


@dataclass(frozen=True)
class Evaluation:
    gate: Gate
    results: tuple[RuleResult, ...]

    @property
    def passed(self) -> bool:
        return all(result.passed for result in self.results)

    @property
    def unmet(self) -> tuple[RuleResult, ...]:
        return tuple(result for result in self.results if not result.passed)

    def require(self) -> None:
        """Raise PrerequisitesUnmet (422 with ``unmet``) unless every rule passed."""
        if not self.passed:
            raise PrerequisitesUnmet(
                GATE_ACTIONS[self.gate], [UnmetRule(r.id, r.message) for r in self.unmet]
            )


def run_gate(policy: Policy, gate: Gate, rules: tuple[Rule[Any], ...], snapshot: Any) -> Evaluation:
    return Evaluation(gate, tuple(each.run(policy, snapshot) for each in rules))
