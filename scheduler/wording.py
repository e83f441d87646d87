"""Refusals in the words of the clinic, for the pages: what happened and what to do next.

The API keeps its slugs and details ("'book_block' is not possible while the pathway is
'block_scheduled'"; "Missing data for required field."): clients match on them. A page
shows the same refusal as a sentence a scheduler or nurse can act on, made here from the
error's values (the pathway's state and the refused step; a field and marshmallow's
message). Nothing here names a patient.
Pure module: no Flask, no SQLAlchemy.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Final

from scheduler.pathways.states import PathwayState, Trigger

S = PathwayState
T = Trigger

# Each step a refusal can name, as what the user tried to do.
STEPS: Final[dict[str, str]] = {
    T.CREATE: "open this pathway",
    T.BOOK_BLOCK: "book a diagnostic block",
    T.BLOCK_POSITIVE: "record the result of the block",
    T.BLOCK_POSITIVE_MORE_NEEDED: "record the result of the block",
    T.BLOCK_NEGATIVE: "record the result of the block",
    T.BOOK_PROCEDURE: "book the procedure",
    T.CHECK_IN: "check the patient in",
    T.START_PROCEDURE: "start the procedure",
    T.FINISH_PROCEDURE: "finish the procedure",
    T.DISCHARGE: "discharge the patient",
    T.ADMIT: "admit the patient",
    T.BOOK_FOLLOW_UP: "book the follow-up",
    T.RECORD_FOLLOW_UP_OUTCOME: "record the outcome of the follow-up",
    T.CANCEL_APPOINTMENT: "cancel the appointment",
    T.NO_SHOW: "record a no-show",
    T.CANCEL_PATHWAY: "cancel the pathway",
    T.RESCHEDULE_APPOINTMENT: "move the appointment",
    T.JOIN_WAITLIST: "put the pathway on the waitlist",
    T.CHANGE_WAITLIST: "change the waitlist entry",
    T.LEAVE_WAITLIST: "take the pathway off the waitlist",
    T.OFFER_SLOT: "offer the slot",
    T.ACCEPT_OFFER: "accept the offer",
    T.DECLINE_OFFER: "decline the offer",
    T.EXPIRE_OFFER: "let the offer expire",
    T.WITHDRAW_OFFER: "withdraw the offer",
    # Steps that move no state but are refused by it (services name them so).
    "change_appointment": "change the appointment",
    "record_recovery_score": "record a recovery score",
}

# Where the pathway stands, and the step that comes next from there.
SITUATIONS: Final[dict[PathwayState, str]] = {
    S.REFERRED: "This pathway is waiting for a diagnostic block: book one first.",
    S.BLOCK_SCHEDULED: "A block is already booked for this pathway: record its result, "
    "or move or cancel it.",
    S.ELIGIBLE: "The patient is eligible for the procedure: book the procedure next.",
    S.INELIGIBLE: "The last block was negative: the clinician decides whether another "
    "block is worth booking.",
    S.PROCEDURE_SCHEDULED: "The procedure is booked: check the patient in on the day, "
    "or move or cancel it.",
    S.CHECKED_IN: "The patient is already checked in: the surgeon starts the procedure next.",
    S.IN_PROCEDURE: "The procedure is under way: record its end when it finishes.",
    S.IN_RECOVERY: "The patient is in recovery: record the scores, then discharge or admit.",
    S.DISCHARGED: "The patient has been discharged: book the follow-up next.",
    S.ADMITTED: "The patient was admitted after the procedure: book the follow-up next.",
    S.FOLLOW_UP_SCHEDULED: "The follow-up is booked: record its outcome after the visit, "
    "or move it.",
    S.COMPLETED: "This pathway is complete: nothing more is recorded on it. Refer the "
    "patient again for a new episode.",
    S.CANCELLED: "This pathway was cancelled: refer the patient again to start over.",
}


def cannot(step: str) -> str:
    """The heading of a refused step: "Cannot book a diagnostic block now." """
    words = STEPS.get(step)
    return f"Cannot {words} now." if words else "This is not possible now."


def situation(state: str) -> str | None:
    """Where a pathway in ``state`` stands and what to do next; None for other things
    (an outbox message's status is no pathway state)."""
    try:
        return SITUATIONS[PathwayState(state)]
    except ValueError:
        return None


# ---------------------------------------------------------------------------------------
# Field messages


def field_name(name: str) -> str:
    """A field as a label: ``escort_phone`` -> ``Escort phone``; ``patient_id`` ->
    ``Patient`` (the page offers a choice, never a record id)."""
    return name.removesuffix("_id").replace("_", " ").capitalize()


def _missing(name: str) -> str:
    if name.endswith("_id"):
        thing = field_name(name).lower()
        return f"Choose {'an' if thing[:1] in 'aeiou' else 'a'} {thing}."
    return "Required: fill it in."


def _between(found: re.Match[str]) -> str:
    low, high = found["low"], found["high"]
    if low and high:
        return f"Enter a number from {low} to {high}."
    return f"Enter {low} or more." if low else f"Enter {high} or less."


# marshmallow's (and this service's) field messages a page rewords, by pattern.
_PLAIN: Final[list[tuple[re.Pattern[str], Callable[[str, re.Match[str]], str]]]] = [
    (
        re.compile(r"Missing data for required field\.|Field may not be null\."),
        lambda n, _: _missing(n),
    ),
    (
        re.compile(r"Required for the (?P<role>\w+) role, and only for it\."),
        lambda n, m: f"{_missing(n)[:-1]} for a {m['role']} login, and none for any other role.",
    ),
    (re.compile(r"Not a valid (integer|number)\."), lambda n, _: "Enter a number, in digits."),
    (re.compile(r"Not a valid datetime\."), lambda n, _: "Enter a date and a time."),
    (re.compile(r"Not a valid date\."), lambda n, _: "Enter a date."),
    (re.compile(r"Not a valid time\."), lambda n, _: "Enter a time."),
    (re.compile(r"Not a valid boolean\."), lambda n, _: "Tick the box or leave it empty."),
    (
        re.compile(r"Not a valid email address\."),
        lambda n, _: "Enter an e-mail address such as name@example.org.",
    ),
    (
        re.compile(r"Must be one of: .*|Not a valid choice\.|Invalid enum member .*"),
        lambda n, _: "Choose one of the options offered.",
    ),
    (
        re.compile(r"Unknown field\."),
        lambda n, _: "This form is out of date: reload the page and try again.",
    ),
    (
        re.compile(r"String does not match expected pattern\."),
        lambda n, _: "Check what was typed: it is not in the expected form.",
    ),
    (
        re.compile(
            r"Must be (greater than or equal to (?P<low>[\d.]+))?( and )?"
            r"(less than or equal to (?P<high>[\d.]+))?\."
        ),
        lambda n, m: _between(m),
    ),
    (
        re.compile(r"Missing item '(?P<item>\w+)'\."),
        lambda n, m: f"Score every item: {m['item'].replace('_', ' ')} has no score.",
    ),
    (
        re.compile(r"Unknown item '(?P<item>\w+)'\."),
        lambda n, m: "This form is out of date: reload the page and try again.",
    ),
    (re.compile(r"Shorter than minimum length 1\."), lambda n, _: _missing(n)),
    (
        re.compile(r"Longer than maximum length (?P<max>\d+)\."),
        lambda n, m: f"Shorten it to at most {m['max']} characters.",
    ),
]


def plain_message(name: str, message: str) -> str:
    """marshmallow's ``message`` about field ``name`` as a page says it (the field's label
    is put in front by the page); a message already in plain words stays as it is."""
    for pattern, say in _PLAIN:
        found = pattern.fullmatch(message)
        if found:
            return say(name, found)
    return message
