"""Refusals in plain words for the pages (scheduler/wording.py)."""

from __future__ import annotations

import pytest

from scheduler.errors import IllegalTransition
from scheduler.pathways.states import TRANSITIONS, PathwayState, Trigger
from scheduler.wording import STEPS, cannot, field_name, plain_message, situation

REFUSED_PAIRS = [
    (state, trigger)
    for state in PathwayState
    for trigger in Trigger
    if (state, trigger) not in TRANSITIONS
]


def is_plain(sentence: str) -> bool:
    return bool(sentence) and not any(mark in sentence for mark in "_'\"") and sentence[0].isupper()


@pytest.mark.parametrize(("state", "trigger"), REFUSED_PAIRS)
def test_every_refused_step_in_every_state_reads_as_plain_sentences(
    state: PathwayState, trigger: Trigger
) -> None:
    heading, next_step = cannot(trigger), situation(state)

    assert is_plain(heading), heading
    assert next_step is not None
    assert is_plain(next_step), next_step
    assert next_step.endswith(".")


def test_every_trigger_and_state_has_its_own_words() -> None:
    assert set(Trigger) <= set(STEPS)
    assert all(situation(state) for state in PathwayState)


def test_the_api_detail_stays_the_developers_and_the_page_says_what_next() -> None:
    error = IllegalTransition("block_scheduled", "book_block")

    assert error.detail == "'book_block' is not possible while the pathway is 'block_scheduled'."
    assert cannot(error.trigger) == "Cannot book a diagnostic block now."
    assert situation(error.state) == (
        "A block is already booked for this pathway: record its result, or move or cancel it."
    )


def test_steps_and_states_outside_the_pathway_get_a_neutral_heading_and_no_next_step() -> None:
    assert cannot("requeue") == "This is not possible now."
    assert situation("dead") is None


@pytest.mark.parametrize(
    ("name", "label"),
    [("patient_id", "Patient"), ("escort_phone", "Escort phone"), ("reason", "Reason")],
)
def test_fields_are_named_as_labels_never_as_record_ids(name: str, label: str) -> None:
    assert field_name(name) == label


@pytest.mark.parametrize(
    ("name", "message", "plain"),
    [
        ("patient_id", "Missing data for required field.", "Choose a patient."),
        ("reason", "Missing data for required field.", "Required: fill it in."),
        ("reason", "Field may not be null.", "Required: fill it in."),
        (
            "patient_id",
            "Required for the patient role, and only for it.",
            "Choose a patient for a patient login, and none for any other role.",
        ),
        ("start", "Not a valid datetime.", "Enter a date and a time."),
        ("room_id", "Not a valid integer.", "Enter a number, in digits."),
        (
            "kind",
            "Must be one of: diagnostic_block, procedure.",
            "Choose one of the options offered.",
        ),
        (
            "pain",
            "Must be greater than or equal to 0 and less than or equal to 10.",
            "Enter a number from 0 to 10.",
        ),
        ("hours", "Must be greater than or equal to 1.", "Enter 1 or more."),
        ("aldrete", "Missing item 'circulation'.", "Score every item: circulation has no score."),
        ("reason", "Longer than maximum length 500.", "Shorten it to at most 500 characters."),
        ("start", "Must be in the future.", "Must be in the future."),
    ],
)
def test_marshmallow_messages_read_as_what_to_do(name: str, message: str, plain: str) -> None:
    assert plain_message(name, message) == plain
