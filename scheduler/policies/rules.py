"""Prerequisites as policy (SPEC §3): which rules guard which step, in one table.

A policy is data: every threshold and source text comes from its document
(``document.py`` validates and parses one into ``parameters.py``'s types). The rules are
the fixed vocabulary a document parameterises: the booking rules in ``booking_rules.py``,
the procedure day's in ``procedure_day_rules.py``. :data:`GATES` lists, for each step of
the pathway, the rules that must hold and the order the answer gives them in;
:func:`evaluate` runs them. The rule ids (and so the sources a document must cite) come
from this table.
Pure module: no Flask, no SQLAlchemy.
"""

from __future__ import annotations

from typing import Any, Final

from scheduler.policies import booking_rules as booking
from scheduler.policies import procedure_day_rules as day
from scheduler.policies.evaluation import Evaluation, Gate, Rule, run_gate
from scheduler.policies.parameters import Policy

GATES: Final[dict[Gate, tuple[Rule[Any], ...]]] = {
    Gate.BOOK_BLOCK: (
        booking.indication_target,
        booking.levels_per_session,
        booking.block_interval,
        booking.block_sessions,
    ),
    Gate.BOOK_PROCEDURE: (
        booking.indication_target,
        booking.pain_duration,
        booking.conservative_care,
        booking.diagnostic_blocks,
        booking.block_interval,
        booking.levels_per_session,
        booking.neurotomy_sessions,
        booking.repeat_neurotomy,
        booking.coverage,
    ),
    # A method changed on the day must still be covered (or acknowledged).
    Gate.START_PROCEDURE: (booking.coverage,),
    # Check-in judged fasting against the booked start; a procedure started earlier
    # must still be fasted at the moment it starts.
    Gate.START_NOW: (day.fasting,),
    Gate.CHECK_IN: (day.consent, day.escort, day.fasting, day.anticoagulation),
    Gate.END_PHASE_ONE: (day.aldrete,),
    Gate.DISCHARGE: (day.padss, day.aldrete_at_discharge, day.discharge_escort, day.instructions),
    Gate.BOOK_FOLLOW_UP: (day.follow_up_window,),
}

# Every rule id, each once, in table order: a policy document cites a source for each.
RULE_IDS: Final = tuple(dict.fromkeys(each.id for rules in GATES.values() for each in rules))


def evaluate(policy: Policy, gate: Gate, snapshot: Any) -> Evaluation:
    """Run ``gate``'s rules against ``snapshot`` (the snapshot type its rules read)."""
    return run_gate(policy, gate, GATES[gate], snapshot)


def eligibility(policy: Policy, snapshot: booking.PathwaySnapshot) -> Evaluation:
    """Every prerequisite of booking the procedure (GET .../eligibility)."""
    return evaluate(policy, Gate.BOOK_PROCEDURE, snapshot)
