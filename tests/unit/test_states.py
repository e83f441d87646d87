"""The pathway state machine (SPEC §2): every (state, trigger) pair, by table.

The expected tables below are written from the SPEC, not copied from the module, so a
changed transition table shows up here as a failing pair.
"""

from __future__ import annotations

import itertools

import pytest

from scheduler.errors import IllegalTransition
from scheduler.pathways import states
from scheduler.pathways.states import PathwayState, Trigger, allowed_triggers, apply

S = PathwayState
T = Trigger

# Fixed-target transitions: (state, trigger) -> next state.
FIXED: dict[tuple[PathwayState, Trigger], PathwayState] = {
    (S.REFERRED, T.BOOK_BLOCK): S.BLOCK_SCHEDULED,
    (S.INELIGIBLE, T.BOOK_BLOCK): S.BLOCK_SCHEDULED,
    (S.BLOCK_SCHEDULED, T.BLOCK_POSITIVE): S.ELIGIBLE,
    (S.BLOCK_SCHEDULED, T.BLOCK_POSITIVE_MORE_NEEDED): S.REFERRED,
    (S.BLOCK_SCHEDULED, T.BLOCK_NEGATIVE): S.INELIGIBLE,
    (S.ELIGIBLE, T.BOOK_PROCEDURE): S.PROCEDURE_SCHEDULED,
    (S.PROCEDURE_SCHEDULED, T.CHECK_IN): S.CHECKED_IN,
    (S.CHECKED_IN, T.START_PROCEDURE): S.IN_PROCEDURE,
    (S.IN_PROCEDURE, T.FINISH_PROCEDURE): S.IN_RECOVERY,
    (S.IN_RECOVERY, T.DISCHARGE): S.DISCHARGED,
    (S.IN_RECOVERY, T.ADMIT): S.ADMITTED,
    (S.DISCHARGED, T.BOOK_FOLLOW_UP): S.FOLLOW_UP_SCHEDULED,
    (S.ADMITTED, T.BOOK_FOLLOW_UP): S.FOLLOW_UP_SCHEDULED,
    (S.FOLLOW_UP_SCHEDULED, T.RECORD_FOLLOW_UP_OUTCOME): S.COMPLETED,
    (S.BLOCK_SCHEDULED, T.RESCHEDULE_APPOINTMENT): S.BLOCK_SCHEDULED,
    (S.PROCEDURE_SCHEDULED, T.RESCHEDULE_APPOINTMENT): S.PROCEDURE_SCHEDULED,
    (S.FOLLOW_UP_SCHEDULED, T.RESCHEDULE_APPOINTMENT): S.FOLLOW_UP_SCHEDULED,
}

# SPEC §2: "Any state before in_procedure -> cancelled".
BEFORE_PROCEDURE = (
    S.REFERRED,
    S.BLOCK_SCHEDULED,
    S.ELIGIBLE,
    S.INELIGIBLE,
    S.PROCEDURE_SCHEDULED,
    S.CHECKED_IN,
)
FROM_PROCEDURE_ON = tuple(s for s in S if s not in BEFORE_PROCEDURE)
FIXED.update({(state, T.CANCEL_PATHWAY): S.CANCELLED for state in BEFORE_PROCEDURE})

# States a booking can start from; a cancelled or missed appointment returns there.
BEFORE_BLOCK = frozenset({S.REFERRED, S.INELIGIBLE})
BEFORE_PROCEDURE_BOOKING = frozenset({S.ELIGIBLE})
BEFORE_FOLLOW_UP = frozenset({S.DISCHARGED, S.ADMITTED})

# Returning triggers: state they fire in -> legal `previous` states.
RETURNING: dict[Trigger, dict[PathwayState, frozenset[PathwayState]]] = {
    T.CANCEL_APPOINTMENT: {
        S.BLOCK_SCHEDULED: BEFORE_BLOCK,
        S.PROCEDURE_SCHEDULED: BEFORE_PROCEDURE_BOOKING,
        S.CHECKED_IN: BEFORE_PROCEDURE_BOOKING,
        S.FOLLOW_UP_SCHEDULED: BEFORE_FOLLOW_UP,
    },
    # A patient who checked in has shown up: no no-show from checked_in.
    T.NO_SHOW: {
        S.BLOCK_SCHEDULED: BEFORE_BLOCK,
        S.PROCEDURE_SCHEDULED: BEFORE_PROCEDURE_BOOKING,
        S.FOLLOW_UP_SCHEDULED: BEFORE_FOLLOW_UP,
    },
}

ALL_PAIRS = list(itertools.product(S, T))
FIXED_ILLEGAL = [(s, t) for s, t in ALL_PAIRS if t not in RETURNING and (s, t) not in FIXED]
RETURNING_ILLEGAL = [(s, t) for s, t in ALL_PAIRS if t in RETURNING and s not in RETURNING[t]]
RETURNING_CASES = [
    (trigger, state, previous, previous in legal)
    for trigger, by_state in RETURNING.items()
    for state, legal in by_state.items()
    for previous in [*S, None]
]


def expected_allowed(state: PathwayState) -> set[Trigger]:
    fixed = {t for (s, t) in FIXED if s is state}
    return fixed | {t for t, by_state in RETURNING.items() if state in by_state}


def assert_refused(
    state: PathwayState, trigger: Trigger, previous: PathwayState | None = None
) -> IllegalTransition:
    table_before = dict(states.TRANSITIONS)
    with pytest.raises(IllegalTransition) as caught:
        apply(state, trigger, previous=previous)
    assert caught.value.state == state.value
    assert caught.value.trigger == trigger.value
    assert caught.value.extensions() == {"state": state.value, "trigger": trigger.value}
    assert caught.value.status == 409
    assert dict(states.TRANSITIONS) == table_before
    return caught.value


@pytest.mark.parametrize(("state", "trigger"), list(FIXED))
def test_legal_fixed_pair_moves_to_the_expected_state(
    state: PathwayState, trigger: Trigger
) -> None:
    assert apply(state, trigger) is FIXED[(state, trigger)]


@pytest.mark.parametrize(("state", "trigger"), FIXED_ILLEGAL)
def test_illegal_fixed_pair_is_refused_and_changes_nothing(
    state: PathwayState, trigger: Trigger
) -> None:
    error = assert_refused(state, trigger)
    assert trigger.value in error.detail
    assert state.value in error.detail


@pytest.mark.parametrize(("state", "trigger"), RETURNING_ILLEGAL)
@pytest.mark.parametrize("previous", [S.REFERRED, S.ELIGIBLE, S.DISCHARGED, None])
def test_cancel_or_no_show_refused_in_a_state_without_an_appointment(
    state: PathwayState, trigger: Trigger, previous: PathwayState | None
) -> None:
    assert_refused(state, trigger, previous)


@pytest.mark.parametrize(("trigger", "state", "previous", "legal"), RETURNING_CASES)
def test_cancel_or_no_show_returns_to_the_state_before_the_booking(
    trigger: Trigger, state: PathwayState, previous: PathwayState | None, legal: bool
) -> None:
    if legal:
        assert previous is not None
        assert apply(state, trigger, previous=previous) is previous
    else:
        error = assert_refused(state, trigger, previous)
        assert f"'{previous}'" in error.detail


@pytest.mark.parametrize(
    ("state", "trigger", "previous"),
    [
        (S.BLOCK_SCHEDULED, T.CANCEL_APPOINTMENT, S.ELIGIBLE),
        (S.PROCEDURE_SCHEDULED, T.CANCEL_APPOINTMENT, S.REFERRED),
        (S.FOLLOW_UP_SCHEDULED, T.NO_SHOW, S.IN_RECOVERY),
    ],
)
def test_invalid_previous_names_the_booking_it_could_not_precede(
    state: PathwayState, trigger: Trigger, previous: PathwayState
) -> None:
    booking = {
        S.BLOCK_SCHEDULED: T.BOOK_BLOCK,
        S.PROCEDURE_SCHEDULED: T.BOOK_PROCEDURE,
        S.FOLLOW_UP_SCHEDULED: T.BOOK_FOLLOW_UP,
    }[state]
    error = assert_refused(state, trigger, previous)
    assert booking.value in error.detail


@pytest.mark.parametrize("state", BEFORE_PROCEDURE)
def test_cancel_pathway_allowed_from_every_state_before_in_procedure(
    state: PathwayState,
) -> None:
    assert apply(state, T.CANCEL_PATHWAY) is S.CANCELLED


@pytest.mark.parametrize("state", FROM_PROCEDURE_ON)
def test_cancel_pathway_refused_from_in_procedure_on(state: PathwayState) -> None:
    assert_refused(state, T.CANCEL_PATHWAY)


@pytest.mark.parametrize("state", [S.COMPLETED, S.CANCELLED])
@pytest.mark.parametrize("trigger", list(T))
def test_terminal_state_refuses_every_trigger(state: PathwayState, trigger: Trigger) -> None:
    assert_refused(state, trigger, previous=S.REFERRED)
    assert allowed_triggers(state) == []


@pytest.mark.parametrize("state", list(S))
def test_allowed_triggers_lists_exactly_the_legal_ones(state: PathwayState) -> None:
    allowed = allowed_triggers(state)
    assert len(allowed) == len(set(allowed))
    assert set(allowed) == expected_allowed(state)


@pytest.mark.parametrize("state", list(S))
def test_allowed_triggers_agree_with_apply(state: PathwayState) -> None:
    allowed = set(allowed_triggers(state))
    for trigger in T:
        previous = None
        if trigger in RETURNING:
            previous = min(RETURNING[trigger].get(state, {S.REFERRED}))
        try:
            apply(state, trigger, previous=previous)
        except IllegalTransition:
            assert trigger not in allowed
        else:
            assert trigger in allowed


@pytest.mark.parametrize(
    ("trigger", "expected"),
    [
        (T.BOOK_BLOCK, BEFORE_BLOCK),
        (T.BOOK_PROCEDURE, BEFORE_PROCEDURE_BOOKING),
        (T.BOOK_FOLLOW_UP, BEFORE_FOLLOW_UP),
        (T.CANCEL_PATHWAY, frozenset(BEFORE_PROCEDURE)),
        (T.CREATE, frozenset()),
    ],
)
def test_sources_are_the_states_a_trigger_fires_from(
    trigger: Trigger, expected: frozenset[PathwayState]
) -> None:
    assert states.sources(trigger) == expected


SPEC_CHAIN = [
    (T.BOOK_BLOCK, S.BLOCK_SCHEDULED),
    (T.BLOCK_POSITIVE_MORE_NEEDED, S.REFERRED),
    (T.BOOK_BLOCK, S.BLOCK_SCHEDULED),
    (T.BLOCK_POSITIVE, S.ELIGIBLE),
    (T.BOOK_PROCEDURE, S.PROCEDURE_SCHEDULED),
    (T.CHECK_IN, S.CHECKED_IN),
    (T.START_PROCEDURE, S.IN_PROCEDURE),
    (T.FINISH_PROCEDURE, S.IN_RECOVERY),
    (T.DISCHARGE, S.DISCHARGED),
    (T.BOOK_FOLLOW_UP, S.FOLLOW_UP_SCHEDULED),
    (T.RECORD_FOLLOW_UP_OUTCOME, S.COMPLETED),
]


@pytest.mark.parametrize("after_recovery", [(T.DISCHARGE, S.DISCHARGED), (T.ADMIT, S.ADMITTED)])
def test_spec_chain_walks_from_referred_to_completed(
    after_recovery: tuple[Trigger, PathwayState],
) -> None:
    chain = [after_recovery if t is T.DISCHARGE else (t, s) for t, s in SPEC_CHAIN]
    state = S.REFERRED
    visited = [state]
    for trigger, expected in chain:
        state = apply(state, trigger)
        assert state is expected, f"{trigger} led to {state}, expected {expected}"
        visited.append(state)
    assert state is S.COMPLETED
    assert after_recovery[1] in visited
    assert allowed_triggers(state) == []


def test_negative_block_then_new_block_and_cancelled_booking_returns_before_it() -> None:
    state = apply(S.REFERRED, T.BOOK_BLOCK)
    state = apply(state, T.BLOCK_NEGATIVE)
    assert state is S.INELIGIBLE
    booked = apply(state, T.BOOK_BLOCK)
    assert booked is S.BLOCK_SCHEDULED
    assert apply(booked, T.CANCEL_APPOINTMENT, previous=state) is S.INELIGIBLE
    assert apply(booked, T.NO_SHOW, previous=state) is S.INELIGIBLE
