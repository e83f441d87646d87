"""A pathway's events are its history: append-only in the database, and in step with its
state (SPEC §2).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from scheduler.access import SYSTEM
from scheduler.errors import IllegalTransition
from scheduler.pathways.models import Pathway, PathwayEvent
from scheduler.pathways.referral import Referral
from scheduler.pathways.services import create_pathway, transition
from scheduler.pathways.states import PathwayState, Trigger
from scheduler.scheduling.cancellation import cancel_pathway
from scheduler.vocabulary import Indication, Region, Side
from tests.factories import ClinicianFactory, PatientFactory, SiteFactory
from tests.support import FROZEN_NOW


@pytest.fixture
def pathway(db: Session) -> Pathway:
    return create_pathway(
        db,
        SYSTEM,
        FROZEN_NOW,
        Referral(
            patient_id=PatientFactory().id,
            clinician_id=ClinicianFactory().id,
            site_id=SiteFactory().id,
            indication=Indication.FACET_JOINT_SYNDROME,
            region=Region.LUMBAR,
            side=Side.RIGHT,
            levels=["L4-L5"],
            pain_onset_date=date(2025, 10, 1),
        ),
    )


def stored_events(db: Session, pathway_id: int) -> list[tuple[Any, ...]]:
    """The rows as the database holds them, read past the session's identity map."""
    rows = db.execute(
        text(
            "SELECT id, from_state, to_state, trigger, reason FROM pathway_events "
            "WHERE pathway_id = :id ORDER BY id"
        ),
        {"id": pathway_id},
    )
    return [tuple(row) for row in rows]


def stored_state(db: Session, pathway_id: int) -> str:
    state: str = db.execute(
        text("SELECT state FROM pathways WHERE id = :id"), {"id": pathway_id}
    ).scalar_one()
    return state


def test_database_refuses_to_update_a_pathway_event(db: Session, pathway: Pathway) -> None:
    before = stored_events(db, pathway.id)
    assert len(before) == 1

    with pytest.raises(DBAPIError), db.begin_nested():
        db.execute(
            text("UPDATE pathway_events SET reason = 'x' WHERE pathway_id = :id"),
            {"id": pathway.id},
        )

    assert stored_events(db, pathway.id) == before


def test_database_refuses_to_delete_a_pathway_event(db: Session, pathway: Pathway) -> None:
    before = stored_events(db, pathway.id)

    with pytest.raises(DBAPIError), db.begin_nested():
        db.execute(text("DELETE FROM pathway_events WHERE pathway_id = :id"), {"id": pathway.id})

    assert stored_events(db, pathway.id) == before


def test_database_refuses_an_orm_change_to_a_pathway_event(db: Session, pathway: Pathway) -> None:
    event = db.scalars(select(PathwayEvent).where(PathwayEvent.pathway_id == pathway.id)).one()
    before = stored_events(db, pathway.id)

    savepoint = db.begin_nested()
    event.reason = "rewritten history"

    with pytest.raises(DBAPIError):
        db.flush()
    savepoint.rollback()

    assert stored_events(db, pathway.id) == before


def test_pathway_state_is_always_the_last_events_target(db: Session, pathway: Pathway) -> None:
    now = FROZEN_NOW
    steps = (
        Trigger.BOOK_BLOCK,
        Trigger.BLOCK_NEGATIVE,
        Trigger.BOOK_BLOCK,
        Trigger.BLOCK_POSITIVE_MORE_NEEDED,
        Trigger.BOOK_BLOCK,
        Trigger.BLOCK_POSITIVE,
    )
    assert stored_state(db, pathway.id) == stored_events(db, pathway.id)[-1][2] == "referred"

    for trigger in steps:
        now += timedelta(days=1)
        transition(db, pathway, trigger, SYSTEM, now)
        assert stored_state(db, pathway.id) == stored_events(db, pathway.id)[-1][2]
    now += timedelta(days=1)
    cancel_pathway(db, SYSTEM, now, pathway.id, "Patient moved away.")

    events = stored_events(db, pathway.id)
    assert stored_state(db, pathway.id) == events[-1][2] == PathwayState.CANCELLED.value
    assert [row[3] for row in events] == ["create", *steps, "cancel_pathway"]
    # Each event starts where the one before it ended.
    assert [row[1] for row in events] == [None] + [row[2] for row in events[:-1]]


def test_refused_trigger_writes_no_event_and_keeps_the_state(db: Session, pathway: Pathway) -> None:
    cancel_pathway(db, SYSTEM, FROZEN_NOW, pathway.id, "Duplicate referral.")
    before = stored_events(db, pathway.id)

    with pytest.raises(IllegalTransition):
        transition(db, pathway, Trigger.BOOK_BLOCK, SYSTEM, FROZEN_NOW + timedelta(hours=1))

    assert stored_events(db, pathway.id) == before
    assert stored_state(db, pathway.id) == before[-1][2] == PathwayState.CANCELLED.value
