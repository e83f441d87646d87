"""The pathway state machine of SPEC §2 as one table.

``apply(state, trigger)`` returns the next state or raises :class:`IllegalTransition`.
Services call it before changing anything, so a refused trigger changes nothing.

Cancelling an appointment, or a no-show, returns the pathway to the state it was in
before that appointment was booked. That state is not in the table (a block can be
booked from ``referred`` or from ``ineligible``), so those triggers take it as
``previous`` and the table checks it is a state the booking could have started from.

After a positive diagnostic block that does not yet complete the policy's count, the
pathway returns to ``referred`` (it needs another block), so the "needs a block" work
queue is simply the ``referred`` state.
Pure module: no Flask, no SQLAlchemy.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from scheduler.errors import IllegalTransition
from scheduler.vocabulary import AppointmentKind


class PathwayState(StrEnum):
    REFERRED = "referred"
    BLOCK_SCHEDULED = "block_scheduled"
    ELIGIBLE = "eligible"
    INELIGIBLE = "ineligible"
    PROCEDURE_SCHEDULED = "procedure_scheduled"
    CHECKED_IN = "checked_in"
    IN_PROCEDURE = "in_procedure"
    IN_RECOVERY = "in_recovery"
    DISCHARGED = "discharged"
    ADMITTED = "admitted"
    FOLLOW_UP_SCHEDULED = "follow_up_scheduled"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class Trigger(StrEnum):
    CREATE = "create"
    BOOK_BLOCK = "book_block"
    BLOCK_POSITIVE = "block_positive"
    BLOCK_POSITIVE_MORE_NEEDED = "block_positive_more_needed"
    BLOCK_NEGATIVE = "block_negative"
    BOOK_PROCEDURE = "book_procedure"
    CHECK_IN = "check_in"
    START_PROCEDURE = "start_procedure"
    FINISH_PROCEDURE = "finish_procedure"
    DISCHARGE = "discharge"
    ADMIT = "admit"
    BOOK_FOLLOW_UP = "book_follow_up"
    RECORD_FOLLOW_UP_OUTCOME = "record_follow_up_outcome"
    CANCEL_APPOINTMENT = "cancel_appointment"
    NO_SHOW = "no_show"
    CANCEL_PATHWAY = "cancel_pathway"
    # Events that record something without moving the pathway (state stays the same).
    RESCHEDULE_APPOINTMENT = "reschedule_appointment"
    # The waitlist (SPEC §10): recorded in the history, never fired through the table.
    JOIN_WAITLIST = "join_waitlist"
    CHANGE_WAITLIST = "change_waitlist"
    LEAVE_WAITLIST = "leave_waitlist"
    OFFER_SLOT = "offer_slot"
    ACCEPT_OFFER = "accept_offer"
    DECLINE_OFFER = "decline_offer"
    EXPIRE_OFFER = "expire_offer"
    WITHDRAW_OFFER = "withdraw_offer"


S = PathwayState
T = Trigger

# The trigger that books each kind of appointment; its event carries the appointment's id.
BOOKING_TRIGGER: Final = {
    AppointmentKind.DIAGNOSTIC_BLOCK: T.BOOK_BLOCK,
    AppointmentKind.PROCEDURE: T.BOOK_PROCEDURE,
    AppointmentKind.FOLLOW_UP: T.BOOK_FOLLOW_UP,
}
BOOKING_TRIGGERS: Final = frozenset(BOOKING_TRIGGER.values())

# (state, trigger) -> next state, for every trigger with a fixed target.
TRANSITIONS: Final[dict[tuple[PathwayState, Trigger], PathwayState]] = {
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
    # Moving an appointment keeps the pathway where it is.
    (S.BLOCK_SCHEDULED, T.RESCHEDULE_APPOINTMENT): S.BLOCK_SCHEDULED,
    (S.PROCEDURE_SCHEDULED, T.RESCHEDULE_APPOINTMENT): S.PROCEDURE_SCHEDULED,
    (S.FOLLOW_UP_SCHEDULED, T.RESCHEDULE_APPOINTMENT): S.FOLLOW_UP_SCHEDULED,
}

# SPEC §2: any state before in_procedure may be cancelled (with a reason).
CANCELLABLE: Final = frozenset(
    {
        S.REFERRED,
        S.BLOCK_SCHEDULED,
        S.ELIGIBLE,
        S.INELIGIBLE,
        S.PROCEDURE_SCHEDULED,
        S.CHECKED_IN,
    }
)
for _state in CANCELLABLE:
    TRANSITIONS[(_state, T.CANCEL_PATHWAY)] = S.CANCELLED

# Triggers whose target is "the state before that booking": the states they may fire
# from, and the booking trigger that led there (whose source states are legal targets).
RETURNING: Final[dict[Trigger, dict[PathwayState, Trigger]]] = {
    T.CANCEL_APPOINTMENT: {
        S.BLOCK_SCHEDULED: T.BOOK_BLOCK,
        S.PROCEDURE_SCHEDULED: T.BOOK_PROCEDURE,
        S.CHECKED_IN: T.BOOK_PROCEDURE,
        S.FOLLOW_UP_SCHEDULED: T.BOOK_FOLLOW_UP,
    },
    T.NO_SHOW: {
        S.BLOCK_SCHEDULED: T.BOOK_BLOCK,
        S.PROCEDURE_SCHEDULED: T.BOOK_PROCEDURE,
        S.FOLLOW_UP_SCHEDULED: T.BOOK_FOLLOW_UP,
    },
}

TERMINAL: Final = frozenset({S.COMPLETED, S.CANCELLED})

# What the waitlist records on a pathway's history: facts beside the state machine, never
# a move (``apply`` refuses them; pathways.services.record writes them).
WAITLIST_EVENTS: Final = frozenset(
    {
        T.JOIN_WAITLIST,
        T.CHANGE_WAITLIST,
        T.LEAVE_WAITLIST,
        T.OFFER_SLOT,
        T.ACCEPT_OFFER,
        T.DECLINE_OFFER,
        T.EXPIRE_OFFER,
        T.WITHDRAW_OFFER,
    }
)


def sources(trigger: Trigger) -> frozenset[PathwayState]:
    """The states a fixed-target trigger may fire from."""
    return frozenset(state for (state, t) in TRANSITIONS if t is trigger)


def apply(
    state: PathwayState, trigger: Trigger, *, previous: PathwayState | None = None
) -> PathwayState:
    """The state after ``trigger`` fires in ``state``; raises IllegalTransition otherwise.

    ``previous`` is required for cancel/no-show: the state before the booking.
    """
    if trigger in RETURNING:
        booking = RETURNING[trigger].get(state)
        if booking is None:
            raise IllegalTransition(state.value, trigger.value)
        if previous is None or previous not in sources(booking):
            raise IllegalTransition(
                state.value,
                trigger.value,
                detail=f"'{previous}' is not a state before a {booking.value} booking",
            )
        return previous
    target = TRANSITIONS.get((state, trigger))
    if target is None:
        raise IllegalTransition(state.value, trigger.value)
    return target


def allowed_triggers(state: PathwayState) -> list[Trigger]:
    """Triggers that may fire in ``state``, in table order (for clients and pages)."""
    fixed = [t for (s, t) in TRANSITIONS if s is state]
    returning = [t for t, table in RETURNING.items() if state in table]
    return fixed + returning


# ---------------------------------------------------------------------------------------
# Tables derived from the transitions, for the code that needs to know where a state lies


def _reachable(start: PathwayState, through: frozenset[Trigger]) -> frozenset[PathwayState]:
    """``start`` and every state reached from it by firing triggers of ``through``."""
    seen = {start}
    frontier = [start]
    while frontier:
        state = frontier.pop()
        for (source, trigger), target in TRANSITIONS.items():
            if source is state and trigger in through and target not in seen:
                seen.add(target)
                frontier.append(target)
    return frozenset(seen)


# Triggers that move the pathway along (not cancelling it, not undoing a booking).
FORWARD: Final = frozenset(T) - {T.CANCEL_PATHWAY} - frozenset(RETURNING) - WAITLIST_EVENTS

# The procedure is premature in these states: the patient can still become eligible.
BEFORE_ELIGIBLE: Final = frozenset(
    state for state in S if S.ELIGIBLE in _reachable(state, FORWARD) and state is not S.ELIGIBLE
)
# Eligibility has been established (and not undone) in these states.
ELIGIBLE_OR_LATER: Final = _reachable(S.ELIGIBLE, FORWARD)

# A negative block ends the run: the clinician decides whether another block is worth
# trying, so an ineligible pathway waits for no one at the desk.
AWAITING_CLINICIAN: Final = frozenset({S.INELIGIBLE})


def next_booking(state: PathwayState) -> AppointmentKind | None:
    """The kind of appointment the desk books next for a pathway in ``state``, if any."""
    if state in AWAITING_CLINICIAN:
        return None
    for kind, trigger in BOOKING_TRIGGER.items():
        if state in sources(trigger):
            return kind
    return None


# A pathway may wait on the list for an earlier slot while its next step is a block or the
# procedure and nothing is booked (SPEC §10); it leaves the list in any other state.
WAITLISTABLE: Final = frozenset(
    state
    for state in S
    if next_booking(state) in (AppointmentKind.DIAGNOSTIC_BLOCK, AppointmentKind.PROCEDURE)
)
