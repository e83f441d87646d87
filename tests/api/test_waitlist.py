"""The waitlist and backfill through the API, the worker's pass and the offer page
(SPEC §10).

The clinic of tests/api/conftest.py: one fluoroscopy room, both clinicians 07:00-17:00
New York time every day; the clock stands at Monday 2026-03-02 14:00 EST and the site
wants 60 minutes' notice. A cancelled block on Wednesday 09:00 is the freed slot.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from scheduler.context import Database
from scheduler.outbox.models import OutboxMessage
from scheduler.pathways.models import PathwayEvent
from scheduler.scheduling.models import Appointment, Hold
from scheduler.settings import backfill_settings
from scheduler.waitlist.letters import offer_token
from scheduler.waitlist.models import Offer, Vacancy, WaitlistEntry
from scheduler.waitlist.worker import PassResult, backfill_pass
from tests.api.conftest import Clinic
from tests.api.test_full_pathway import book, refer, state_of
from tests.factories import PatientFactory
from tests.support import Api, Browser, FrozenClock, local

WEDNESDAY_9 = local("2026-03-04", 9)


def backfill(app: Flask, clock: FrozenClock) -> PassResult:
    settings = backfill_settings(app.config)
    return backfill_pass(Database.of(app).sessionmaker, settings, clock)


def waitlist(api: Api, pathway_id: int, **wish: Any) -> dict[str, Any]:
    entry: dict[str, Any] = api.ok(
        "POST", "/waitlist", "scheduler", json={"pathway_id": pathway_id, **wish}
    )
    return entry


def triggers(db: Session, pathway_id: int) -> list[str]:
    db.expire_all()
    return [
        event.trigger.value
        for event in db.scalars(
            select(PathwayEvent).where(PathwayEvent.pathway_id == pathway_id).order_by(PathwayEvent.id)
        )
    ]


def freed_block(api: Api, clinic: Clinic) -> dict[str, Any]:
    """A block booked for the clinic's patient on Wednesday 09:00, then cancelled."""
    pathway = refer(api, clinic)["id"]
    booked = book(api, clinic, pathway, "diagnostic_block", WEDNESDAY_9)
    api.ok("POST", f"/appointments/{booked['id']}/cancel", "scheduler", json={"reason": "Patient unwell"})
    return booked


def waiting(api: Api, clinic: Clinic, db: Session, **wish: Any) -> int:
    """Another referred patient waiting for a block, on the list."""
    patient = PatientFactory()
    db.commit()
    pathway = refer(api, clinic, patient_id=patient.id)["id"]
    waitlist(api, pathway, **wish)
    return pathway


def test_a_cancelled_block_is_offered_to_the_waiting_patient_who_accepts_through_the_link(
    api: Api, clinic: Clinic, db: Session, app: Flask, clock: FrozenClock, client: Any
) -> None:
    pathway = waiting(api, clinic, db, min_notice_hours=24)
    freed_block(api, clinic)

    result = backfill(app, clock)

    assert (result.searched, result.offered) == (1, 1)
    offer = db.scalars(select(Offer)).one()
    assert (offer.pathway_id, offer.start_at, offer.status.value) == (pathway, WEDNESDAY_9, "open")
    # Two hours to answer (the patient's 24 hours of notice are far off).
    assert offer.expires_at == clock() + timedelta(hours=2)
    assert db.get(Hold, offer.hold_id) is not None
    message = db.scalars(select(OutboxMessage).where(OutboxMessage.offer_id == offer.id)).one()
    assert message.kind.value == "offer"
    assert triggers(db, pathway)[-1] == "offer_slot"

    browser = Browser(client)
    token = offer_token(app.config["SECRET_KEY"], offer.id)
    page = browser.get(f"/offers/{token}?answer=accept")
    assert page.status_code == 200
    answered = browser.post(f"/offers/{token}", {"answer": "accept"})

    assert answered.status_code == 200, answered.get_data(as_text=True)
    assert "It is booked" in answered.get_data(as_text=True)
    assert state_of(api, pathway) == "block_scheduled"
    db.expire_all()
    booked = db.scalars(select(Appointment).where(Appointment.pathway_id == pathway)).one()
    assert (booked.start_at, booked.status.value) == (WEDNESDAY_9, "booked")
    assert db.scalar(select(func.count()).select_from(WaitlistEntry)) == 0
    assert db.scalars(select(Vacancy)).one().status.value == "filled"
    assert triggers(db, pathway)[-3:] == ["accept_offer", "book_block", "leave_waitlist"]
    again = browser.post(f"/offers/{token}", {"answer": "accept"})
    assert again.status_code == 409
    assert "already taken it" in again.get_data(as_text=True)
