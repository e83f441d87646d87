"""The board refuses what the API refuses, with the same status and the same reasons.

One table drives the test: each case is a bad form on the scheduler's board and the same
bad input sent to the API. Both answers carry the same HTTP status; every message of the
API's problem appears in the page's refusal box (as the page words it: plain words for
marshmallow's messages); and neither wrote anything.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from scheduler.outbox.models import OutboxMessage
from scheduler.pathways.models import PathwayEvent
from scheduler.scheduling.models import Appointment, Hold
from scheduler.wording import plain_message
from tests.api.conftest import Clinic
from tests.api.test_full_pathway import book, refer
from tests.support import Api, Browser, local, refusal

START = local("2026-03-04", 9)  # a free slot: inside hours, after the notice
PAST = local("2026-03-01", 9)
NIGHT = local("2026-03-04", 23)


@dataclass
class World:
    """What a case's forms and bodies refer to."""

    clinic: Clinic
    pathway_id: int  # referred: a block can be held and booked
    appointment_id: int  # a diagnostic block of another pathway, on 2026-03-03 at 09:00
    booked_pathway_id: int  # that pathway
    cancelled_id: int  # a cancelled one


@dataclass(frozen=True)
class Case:
    name: str
    status: int  # what both faces answer
    page: Callable[[World], tuple[str, dict[str, str]]]  # path, form
    api: Callable[[World], tuple[str, str, dict[str, Any]]]  # method, path, body


def hold_form(w: World, **changes: str) -> tuple[str, dict[str, str]]:
    form = {
        "kind": "diagnostic_block",
        "start": START.isoformat(),
        "room_id": str(w.clinic.room_id),
    }
    return f"/board/pathways/{w.pathway_id}/holds", {**form, **changes}


def hold_body(w: World, **changes: Any) -> tuple[str, str, dict[str, Any]]:
    body = {
        "pathway_id": w.pathway_id,
        "kind": "diagnostic_block",
        "start": START.isoformat(),
        "room_id": w.clinic.room_id,
    }
    return "POST", "/holds", {**body, **changes}


def move_form(w: World, start: str) -> tuple[str, dict[str, str]]:
    """A new time held for the booked block (a move begins with a hold, as a booking)."""
    _path, form = hold_form(w, start=start, appointment_id=str(w.appointment_id))
    return f"/board/pathways/{w.booked_pathway_id}/holds", form


def cancel(appointment: Callable[[World], int], reason: str, status: int = 422) -> Case:
    return Case(
        f"cancel {reason[:12]!r}",
        status,
        lambda w: (f"/board/appointments/{appointment(w)}/cancel", {"reason": reason}),
        lambda w: ("POST", f"/appointments/{appointment(w)}/cancel", {"reason": reason}),
    )


MISSING_HOLD = "0" * 32

CASES = [
    cancel(lambda w: w.appointment_id, ""),
    cancel(lambda w: w.appointment_id, "   "),
    cancel(lambda w: w.appointment_id, "x" * 501),
    cancel(lambda w: w.appointment_id, "ill\x07"),
    cancel(lambda w: w.cancelled_id, "Asked twice", 409),
    Case(
        "hold in the past",
        422,
        lambda w: hold_form(w, start=PAST.isoformat()),
        lambda w: hold_body(w, start=PAST.isoformat()),
    ),
    Case(
        "hold at night",
        422,
        lambda w: hold_form(w, start=NIGHT.isoformat()),
        lambda w: hold_body(w, start=NIGHT.isoformat()),
    ),
    Case(
        "hold without an offset",
        422,
        lambda w: hold_form(w, start="2026-03-04T09:00:00"),
        lambda w: hold_body(w, start="2026-03-04T09:00:00"),
    ),
    Case(
        "hold of an unknown kind",
        422,
        lambda w: hold_form(w, kind="surgery"),
        lambda w: hold_body(w, kind="surgery"),
    ),
    Case(
        "hold in a missing room",
        422,
        lambda w: hold_form(w, room_id="999999"),
        lambda w: hold_body(w, room_id=999_999),
    ),
    Case(
        "hold in a consult room",
        422,
        lambda w: hold_form(w, room_id=str(w.clinic.consult_room_id)),
        lambda w: hold_body(w, room_id=w.clinic.consult_room_id),
    ),
    Case(
        "premature procedure",
        422,
        lambda w: hold_form(w, kind="procedure"),
        lambda w: hold_body(w, kind="procedure"),
    ),
    Case(
        "book a hold that is gone",
        422,
        lambda w: (
            f"/board/pathways/{w.pathway_id}/holds/{MISSING_HOLD}/book",
            {"kind": "diagnostic_block"},
        ),
        lambda w: (
            "POST",
            "/appointments",
            {"pathway_id": w.pathway_id, "kind": "diagnostic_block", "hold_id": MISSING_HOLD},
        ),
    ),
    Case(
        "book a malformed hold id",
        422,
        lambda w: (f"/board/pathways/{w.pathway_id}/holds/xyz/book", {"kind": "diagnostic_block"}),
        lambda w: (
            "POST",
            "/appointments",
            {"pathway_id": w.pathway_id, "kind": "diagnostic_block", "hold_id": "xyz"},
        ),
    ),
    Case(
        "move to a non-time",
        422,
        lambda w: move_form(w, "half past nine"),
        lambda w: ("PATCH", f"/appointments/{w.appointment_id}", {"start": "half past nine"}),
    ),
    Case(
        "move into the past",
        422,
        lambda w: move_form(w, PAST.isoformat()),
        lambda w: ("PATCH", f"/appointments/{w.appointment_id}", {"start": PAST.isoformat()}),
    ),
    Case(
        "move outside hours",
        422,
        lambda w: move_form(w, NIGHT.isoformat()),
        lambda w: ("PATCH", f"/appointments/{w.appointment_id}", {"start": NIGHT.isoformat()}),
    ),
]


def written(db: Session) -> tuple[int, ...]:
    """Rows any write would add or change."""
    db.expire_all()
    counts = [
        db.scalar(select(func.count()).select_from(model)) or 0
        for model in (Appointment, Hold, PathwayEvent, OutboxMessage)
    ]
    return (*counts, db.scalar(select(func.sum(Appointment.version))) or 0)


def api_messages(problem: dict[str, Any]) -> list[str]:
    """What the API says is wrong, as a page says it: each field's messages, or the detail."""
    if "errors" in problem:
        return [
            plain_message(name.rsplit(".", 1)[-1], message)
            for name, messages in problem["errors"].items()
            for message in messages
        ]
    if "rules" in problem:
        return [rule["message"] for rule in problem["rules"]]
    return [problem["detail"]]


@pytest.fixture
def world(api: Api, clinic: Clinic, browser: Browser, people: dict[str, str]) -> World:
    referred = refer(api, clinic)["id"]
    booked_pathway = refer(api, clinic)["id"]
    booked = book(api, clinic, booked_pathway, "diagnostic_block", local("2026-03-03", 9))
    other = refer(api, clinic, side="left")["id"]
    cancelled = book(api, clinic, other, "diagnostic_block", local("2026-03-03", 11))["id"]
    api.ok("POST", f"/appointments/{cancelled}/cancel", "scheduler", json={"reason": "ill"})
    browser.sign_in(people["scheduler"])
    return World(clinic, referred, booked["id"], booked_pathway, cancelled)


def etag_of(api: Api, appointment_id: int) -> str:
    return str(api.call("GET", f"/appointments/{appointment_id}", "scheduler").headers["ETag"])


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_the_board_refuses_as_the_api_does(
    case: Case, world: World, api: Api, browser: Browser, db: Session
) -> None:
    method, api_path, body = case.api(world)
    page_path, form = case.page(world)
    etag = etag_of(api, world.appointment_id)
    before = written(db)

    answer = api.call(method, api_path, "scheduler", json=body, headers={"If-Match": etag})
    page = browser.post(page_path, form)

    assert answer.status_code == case.status, answer.get_json()
    assert page.status_code == case.status, refusal(page)
    shown = " ".join(refusal(page))
    for message in api_messages(answer.get_json()):
        assert message in shown, (message, refusal(page))
    assert written(db) == before


def test_a_stale_etag_is_refused_by_the_api_with_412(world: World, api: Api, db: Session) -> None:
    stale = etag_of(api, world.appointment_id)
    api.ok(
        "PATCH",
        f"/appointments/{world.appointment_id}",
        "scheduler",
        json={"start": local("2026-03-03", 10).isoformat()},
        headers={"If-Match": stale},
    )
    before = written(db)

    answer = api.call(
        "PATCH",
        f"/appointments/{world.appointment_id}",
        "scheduler",
        json={"start": START.isoformat()},
        headers={"If-Match": stale},
    )

    assert answer.status_code == 412
    assert written(db) == before


def test_a_move_confirmed_after_the_appointment_was_cancelled_changes_nothing(
    world: World, api: Api, browser: Browser, db: Session
) -> None:
    """The page's move needs no ETag: its hold is the new time, and the appointment must
    still be booked when the move is confirmed."""
    path, form = move_form(world, START.isoformat())
    held = browser.post(path, form)
    hold_id = held.headers["Location"].rsplit("/", 1)[1]
    api.ok(
        "POST", f"/appointments/{world.appointment_id}/cancel", "scheduler", json={"reason": "x"}
    )
    before = written(db)

    page = browser.post(
        f"/board/pathways/{world.booked_pathway_id}/holds/{hold_id}/move",
        {"appointment_id": str(world.appointment_id)},
    )

    assert page.status_code == 409, refusal(page)
    assert "The appointment is cancelled." in " ".join(refusal(page))
    assert written(db) == before


def test_a_hold_without_a_room_is_taken_on_both_faces(
    world: World, api: Api, browser: Browser, db: Session
) -> None:
    path, form = hold_form(world, start=START.isoformat())
    del form["room_id"]
    _method, _path, body = hold_body(world, start=local("2026-03-04", 10).isoformat())
    del body["room_id"]

    answer = api.call("POST", "/holds", "scheduler", json=body)
    page = browser.post(path, form)

    assert answer.status_code == 201, answer.get_json()
    assert page.status_code == 302, refusal(page)
    assert db.scalar(select(func.count()).select_from(Hold)) == 2
