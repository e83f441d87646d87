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

from scheduler.clinicians.schemas import WEEKDAYS
from scheduler.context import Database
from scheduler.outbox.models import OutboxMessage
from scheduler.pathways.models import Pathway, PathwayEvent
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
            select(PathwayEvent)
            .where(PathwayEvent.pathway_id == pathway_id)
            .order_by(PathwayEvent.id)
        )
    ]


def freed_block(api: Api, clinic: Clinic) -> dict[str, Any]:
    """A block booked for the clinic's patient on Wednesday 09:00, then cancelled."""
    pathway = refer(api, clinic)["id"]
    booked = book(api, clinic, pathway, "diagnostic_block", WEDNESDAY_9)
    api.ok(
        "POST",
        f"/appointments/{booked['id']}/cancel",
        "scheduler",
        json={"reason": "Patient unwell"},
    )
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


def offers_of(db: Session) -> list[tuple[int, str, int]]:
    """(pathway, status, rank) of every offer, oldest first."""
    db.expire_all()
    return [
        (o.pathway_id, o.status.value, o.rank) for o in db.scalars(select(Offer).order_by(Offer.id))
    ]


def holds_count(db: Session) -> int:
    return db.scalar(select(func.count()).select_from(Hold)) or 0


def answer(client: Any, app: Flask, offer_id: int, choice: str) -> Any:
    browser = Browser(client)
    token = offer_token(app.config["SECRET_KEY"], offer_id)
    browser.get(f"/offers/{token}")
    return browser.post(f"/offers/{token}", {"answer": choice})


def open_offer(db: Session) -> Offer:
    db.expire_all()
    return db.scalars(select(Offer).where(Offer.status == "open")).one()


def offered_to_the_first_of_two(
    api: Api, clinic: Clinic, db: Session, app: Flask, clock: FrozenClock
) -> tuple[int, int]:
    """Two pathways waiting (the one that joined later is urgent, so goes first), a block
    freed, and the backfill's pass: the first is offered it. Their ids, first first."""
    second = waiting(api, clinic, db, min_notice_hours=0)
    first = waiting(api, clinic, db, priority="urgent", min_notice_hours=0)
    freed_block(api, clinic)
    backfill(app, clock)
    return first, second


# ---------------------------------------------------------------------------------------
# Entries


def test_the_list_is_in_offer_order_and_filters_by_priority_and_next_step(
    api: Api, clinic: Clinic, db: Session, clock: FrozenClock
) -> None:
    routine = waiting(api, clinic, db)
    clock.advance(minutes=5)
    urgent = waiting(api, clinic, db, priority="urgent")
    clock.advance(minutes=5)
    soon = waiting(api, clinic, db, priority="soon")

    listed = api.ok("GET", "/waitlist", "clinician")

    assert [e["pathway_id"] for e in listed] == [urgent, soon, routine]
    first = listed[0]
    assert first["next_step"] == "diagnostic_block"
    assert first["state"] == "referred"
    assert (first["min_notice_hours"], first["weekdays"], first["times_of_day"]) == (24, [], [])
    assert [e["pathway_id"] for e in api.ok("GET", "/waitlist?priority=soon", "nurse")] == [soon]
    assert api.ok("GET", "/waitlist?next_step=procedure", "scheduler") == []
    assert len(api.ok("GET", f"/waitlist?site_id={clinic.site_id}", "scheduler")) == 3


@pytest.mark.parametrize(
    "body",
    [
        {"weekdays": ["someday"]},
        {"weekdays": [2]},
        {"weekdays": "monday"},
        {"times_of_day": ["noon"]},
        {"min_notice_hours": -1},
        {"min_notice_hours": "24"},
        {"min_notice_hours": 24 * 15},
        {"priority": "asap"},
        {"earliest_date": "next week"},
        {"any_clinician": "yes"},
        {"note": "call after 5"},
    ],
)
def test_bad_wishes_are_refused_with_the_field_named_and_nothing_written(
    api: Api, clinic: Clinic, db: Session, body: dict[str, Any]
) -> None:
    pathway = refer(api, clinic)["id"]
    before = len(triggers(db, pathway))

    response = api.post("/waitlist", {"pathway_id": pathway, **body}, "scheduler")

    assert response.status_code == 422, response.get_json()
    assert response.content_type == "application/problem+json"
    assert {name.split(".")[0] for name in response.get_json()["errors"]} == set(body)
    assert db.scalar(select(func.count()).select_from(WaitlistEntry)) == 0
    assert len(triggers(db, pathway)) == before


def test_only_a_pathway_waiting_for_its_next_booking_joins_and_only_once(
    api: Api, clinic: Clinic, db: Session
) -> None:
    booked = refer(api, clinic)["id"]
    book(api, clinic, booked, "diagnostic_block", WEDNESDAY_9)
    pathway = refer(api, clinic)["id"]
    waitlist(api, pathway)

    scheduled = api.post("/waitlist", {"pathway_id": booked}, "scheduler")
    twice = api.post("/waitlist", {"pathway_id": pathway}, "scheduler")
    missing = api.post("/waitlist", {"pathway_id": 999_999}, "scheduler")

    assert scheduled.status_code == 422
    assert "block_scheduled" in scheduled.get_json()["errors"]["pathway_id"][0]
    assert twice.status_code == 409
    assert missing.status_code == 422
    assert db.scalar(select(func.count()).select_from(WaitlistEntry)) == 1
    assert triggers(db, pathway)[-1] == "join_waitlist"


def test_roles_the_desk_writes_staff_read_patients_see_nothing(api: Api, clinic: Clinic) -> None:
    pathway = refer(api, clinic)["id"]
    for role in ("nurse", "clinician", "patient"):
        assert api.post("/waitlist", {"pathway_id": pathway}, role).status_code == 403
    entry = waitlist(api, pathway)
    assert api.get("/waitlist", "patient").status_code == 403
    assert api.get(f"/waitlist/{entry['id']}", "patient").status_code == 403
    assert api.get("/waitlist/offers", "patient").status_code == 403
    assert api.call("PATCH", f"/waitlist/{entry['id']}", "nurse", json={}).status_code == 403
    assert api.call("DELETE", f"/waitlist/{entry['id']}", "clinician").status_code == 403
    assert api.get("/waitlist", None).status_code == 401


def test_a_new_priority_records_who_set_it_and_the_change_is_an_event(
    api: Api, clinic: Clinic, db: Session, clock: FrozenClock
) -> None:
    pathway = refer(api, clinic)["id"]
    entry = waitlist(api, pathway, weekdays=["wednesday", "monday", "wednesday"])
    assert entry["weekdays"] == ["monday", "wednesday"]
    clock.advance(hours=1)

    changed = api.ok(
        "PATCH",
        f"/waitlist/{entry['id']}",
        "admin",
        json={"priority": "urgent", "min_notice_hours": 0},
    )
    unchanged = api.ok("PATCH", f"/waitlist/{entry['id']}", "admin", json={"priority": "urgent"})

    assert changed["priority"] == "urgent"
    assert changed["priority_set_at"] == clock().isoformat()
    assert changed["priority_set_by_id"] != entry["priority_set_by_id"]
    assert unchanged == changed
    db.expire_all()
    events = list(db.scalars(select(PathwayEvent).where(PathwayEvent.pathway_id == pathway)))
    assert [e.trigger.value for e in events][-2:] == ["join_waitlist", "change_waitlist"]
    assert events[-1].data == {"priority": "urgent", "min_notice_hours": 0}
    assert events[-1].from_state == events[-1].to_state


def test_taking_a_pathway_off_the_list_is_an_event_and_it_may_join_again(
    api: Api, clinic: Clinic, db: Session
) -> None:
    pathway = refer(api, clinic)["id"]
    entry = waitlist(api, pathway)

    removed = api.call("DELETE", f"/waitlist/{entry['id']}?reason=Booked+by+phone", "scheduler")

    assert removed.status_code == 204
    assert api.get(f"/waitlist/{entry['id']}", "scheduler").status_code == 404
    db.expire_all()
    last = db.scalars(
        select(PathwayEvent)
        .where(PathwayEvent.pathway_id == pathway)
        .order_by(PathwayEvent.id.desc())
    ).first()
    assert last is not None
    assert (last.trigger.value, last.reason) == ("leave_waitlist", "Booked by phone")
    waitlist(api, pathway)


def test_booking_or_cancelling_the_pathway_takes_it_off_the_list(
    api: Api, clinic: Clinic, db: Session
) -> None:
    booked, cancelled = refer(api, clinic)["id"], refer(api, clinic)["id"]
    waitlist(api, booked)
    waitlist(api, cancelled)

    book(api, clinic, booked, "diagnostic_block", WEDNESDAY_9)
    api.ok("POST", f"/pathways/{cancelled}/cancel", "scheduler", json={"reason": "Moved away"})

    assert api.ok("GET", "/waitlist", "scheduler") == []
    assert triggers(db, booked)[-2:] == ["book_block", "leave_waitlist"]
    assert triggers(db, cancelled)[-2:] == ["cancel_pathway", "leave_waitlist"]


# ---------------------------------------------------------------------------------------
# Offers: who gets one, and what happens next


def test_a_declined_offer_goes_to_the_next_candidate(
    api: Api, clinic: Clinic, db: Session, app: Flask, clock: FrozenClock, client: Any
) -> None:
    first, second = offered_to_the_first_of_two(api, clinic, db, app, clock)
    assert offers_of(db) == [(first, "open", 1)]

    declined = answer(client, app, open_offer(db).id, "decline")

    assert declined.status_code == 200
    assert "offer this time to someone else" in declined.get_data(as_text=True)
    assert holds_count(db) == 0
    assert triggers(db, first)[-1] == "decline_offer"
    backfill(app, clock)
    assert offers_of(db) == [(first, "declined", 1), (second, "open", 2)]
    assert [e["pathway_id"] for e in api.ok("GET", "/waitlist", "scheduler")] == [first, second]


def test_an_expired_offer_goes_to_the_next_candidate_and_its_link_says_so(
    api: Api, clinic: Clinic, db: Session, app: Flask, clock: FrozenClock, client: Any
) -> None:
    first, second = offered_to_the_first_of_two(api, clinic, db, app, clock)
    expired_id = open_offer(db).id
    clock.advance(hours=2)

    result = backfill(app, clock)

    assert (result.expired, result.offered) == (1, 1)
    assert offers_of(db) == [(first, "expired", 1), (second, "open", 2)]
    assert triggers(db, first)[-1] == "expire_offer"
    late = answer(client, app, expired_id, "accept")
    assert late.status_code == 409
    assert "no longer available" in late.get_data(as_text=True)
    assert (
        db.scalar(
            select(func.count()).select_from(Appointment).where(Appointment.pathway_id == first)
        )
        == 0
    )


def test_nobody_suitable_leaves_the_vacancy_unfilled_and_holds_nothing(
    api: Api, clinic: Clinic, db: Session, app: Flask, clock: FrozenClock
) -> None:
    waiting(
        api, clinic, db, weekdays=["thursday"]
    )  # Thursdays only; the freed block is a Wednesday
    waiting(api, clinic, db, times_of_day=["afternoon"])
    waiting(api, clinic, db, min_notice_hours=72)
    other_clinician = waiting(api, clinic, db)
    db.execute(
        Pathway.__table__.update()
        .where(Pathway.id == other_clinician)
        .values(clinician_id=clinic.other_clinician_id)
    )
    db.commit()
    freed_block(api, clinic)

    result = backfill(app, clock)

    assert (result.searched, result.offered) == (1, 0)
    assert offers_of(db) == []
    assert holds_count(db) == 0
    assert db.scalars(select(Vacancy)).one().status.value == "unfilled"


def test_a_patient_without_an_address_is_passed_over(
    api: Api, clinic: Clinic, db: Session, app: Flask, clock: FrozenClock
) -> None:
    unreachable = PatientFactory(email=None)
    db.commit()
    silent = refer(api, clinic, patient_id=unreachable.id)["id"]
    waitlist(api, silent, priority="urgent", min_notice_hours=0)
    reachable = waiting(api, clinic, db, min_notice_hours=0)
    freed_block(api, clinic)

    backfill(app, clock)

    assert offers_of(db) == [(reachable, "open", 1)]


def test_offers_to_several_at_once_the_first_acceptance_wins(
    api: Api, clinic: Clinic, db: Session, app: Flask, clock: FrozenClock, client: Any
) -> None:
    app.config["WAITLIST_OFFERS_AT_ONCE"] = 2
    third = waiting(api, clinic, db, min_notice_hours=0)
    second = waiting(api, clinic, db, priority="soon", min_notice_hours=0)
    first = waiting(api, clinic, db, priority="urgent", min_notice_hours=0)
    freed_block(api, clinic)

    backfill(app, clock)

    assert offers_of(db) == [(first, "open", 1), (second, "open", 2)]
    shared = {o.hold_id for o in db.scalars(select(Offer))}
    assert len(shared) == 1
    assert holds_count(db) == 1
    won = answer(
        client, app, db.scalars(select(Offer).where(Offer.pathway_id == second)).one().id, "accept"
    )
    lost = answer(
        client, app, db.scalars(select(Offer).where(Offer.pathway_id == first)).one().id, "accept"
    )
    assert (won.status_code, lost.status_code) == (200, 409)
    assert "no longer available" in lost.get_data(as_text=True)
    assert offers_of(db) == [(first, "withdrawn", 1), (second, "accepted", 2)]
    assert triggers(db, first)[-1] == "withdraw_offer"
    assert state_of(api, second) == "block_scheduled"
    assert state_of(api, first) == "referred"
    assert [e["pathway_id"] for e in api.ok("GET", "/waitlist", "scheduler")] == [first, third]
    assert holds_count(db) == 0


def test_an_offer_lapses_when_its_pathway_is_booked_another_way(
    api: Api, clinic: Clinic, db: Session, app: Flask, clock: FrozenClock, client: Any
) -> None:
    first, second = offered_to_the_first_of_two(api, clinic, db, app, clock)
    offer_id = open_offer(db).id
    book(api, clinic, first, "diagnostic_block", local("2026-03-05", 9))  # the desk, by phone

    refused = answer(client, app, offer_id, "accept")
    backfill(app, clock)

    assert refused.status_code == 409
    assert offers_of(db) == [(first, "withdrawn", 1), (second, "open", 2)]


def test_the_desk_withdraws_an_offer_and_the_slot_goes_on(
    api: Api, clinic: Clinic, db: Session, app: Flask, clock: FrozenClock
) -> None:
    first, second = offered_to_the_first_of_two(api, clinic, db, app, clock)
    offer_id = open_offer(db).id

    withdrawn = api.ok("POST", f"/waitlist/offers/{offer_id}/withdraw", "scheduler")
    again = api.post(f"/waitlist/offers/{offer_id}/withdraw", {}, "scheduler")
    backfill(app, clock)

    assert withdrawn["status"] == "withdrawn"
    assert again.status_code == 409
    assert again.get_json()["type"].endswith("/offer-closed")
    assert offers_of(db) == [(first, "withdrawn", 1), (second, "open", 2)]
    listed = api.ok("GET", "/waitlist/offers?status=open", "clinician")
    assert [o["pathway_id"] for o in listed] == [second]


def test_the_desk_offers_a_vacancy_by_hand_overruling_preferences_not_notice(
    api: Api, clinic: Clinic, db: Session, app: Flask, clock: FrozenClock
) -> None:
    thursdays = waiting(api, clinic, db, weekdays=["thursday"], min_notice_hours=0)
    far_notice = waiting(api, clinic, db, min_notice_hours=72)
    not_listed = refer(api, clinic)["id"]
    freed_block(api, clinic)
    backfill(app, clock)
    vacancy = api.ok("GET", "/waitlist/vacancies", "scheduler")[0]
    assert vacancy["status"] == "unfilled"

    refused_notice = api.post(
        "/waitlist/offers", {"vacancy_id": vacancy["id"], "pathway_id": far_notice}, "scheduler"
    )
    refused_unlisted = api.post(
        "/waitlist/offers", {"vacancy_id": vacancy["id"], "pathway_id": not_listed}, "scheduler"
    )
    offered = api.ok(
        "POST",
        "/waitlist/offers",
        "scheduler",
        json={"vacancy_id": vacancy["id"], "pathway_id": thursdays},
    )
    busy = api.post(
        "/waitlist/offers", {"vacancy_id": vacancy["id"], "pathway_id": far_notice}, "scheduler"
    )

    assert refused_notice.status_code == 422
    assert refused_unlisted.status_code == 422
    assert (offered["pathway_id"], offered["status"], offered["start_at"]) == (
        thursdays,
        "open",
        WEDNESDAY_9.astimezone(clock().tzinfo).isoformat(),
    )
    assert offered["created_by_id"] is not None
    assert busy.status_code == 409
    assert api.ok("GET", "/waitlist/vacancies?status=open", "scheduler")[0]["id"] == vacancy["id"]
    assert (
        api.post(
            "/waitlist/offers", {"vacancy_id": 999_999, "pathway_id": thursdays}, "scheduler"
        ).status_code
        == 404
    )


def test_a_move_and_new_hours_open_vacancies_too(
    api: Api, clinic: Clinic, db: Session, app: Flask, clock: FrozenClock
) -> None:
    pathway = refer(api, clinic)["id"]
    booked = book(api, clinic, pathway, "diagnostic_block", WEDNESDAY_9)
    etag = api.get(f"/appointments/{booked['id']}", "scheduler").headers["ETag"]
    api.ok(
        "PATCH",
        f"/appointments/{booked['id']}",
        "scheduler",
        json={"start": local("2026-03-05", 9).isoformat()},
        headers={"If-Match": etag},
    )
    hours = [
        {"site_id": clinic.site_id, "weekday": day, "start": "07:00", "end": "18:00"}
        for day in WEEKDAYS
    ]
    api.ok("PUT", f"/clinicians/{clinic.other_clinician_id}/working-hours", "admin", json=hours)

    vacancies = api.ok("GET", "/waitlist/vacancies", "scheduler")

    assert [(v["source"], v["clinician_id"]) for v in vacancies] == [
        ("hours", clinic.other_clinician_id),
        ("moved", clinic.clinician_id),
    ]
    moved = vacancies[1]
    assert (moved["start_at"], moved["room_id"], moved["freed_appointment_id"]) == (
        WEDNESDAY_9.astimezone(clock().tzinfo).isoformat(),
        clinic.room_id,
        booked["id"],
    )
    assert vacancies[0]["room_id"] is None


def test_a_new_hours_vacancy_offers_the_earliest_suitable_time_in_the_days_ahead(
    api: Api, clinic: Clinic, db: Session, app: Flask, clock: FrozenClock
) -> None:
    pathway = waiting(
        api, clinic, db, weekdays=["friday"], times_of_day=["morning"], min_notice_hours=0
    )
    hours = [
        {"site_id": clinic.site_id, "weekday": day, "start": "07:00", "end": "17:00"}
        for day in WEEKDAYS
    ]
    api.ok("PUT", f"/clinicians/{clinic.clinician_id}/working-hours", "admin", json=hours)

    backfill(app, clock)

    offer = open_offer(db)
    assert (offer.pathway_id, offer.start_at) == (pathway, local("2026-03-06", 7))  # Friday 07:00


# ---------------------------------------------------------------------------------------
# The offer page


def test_the_offer_page_refuses_what_is_not_an_answer(
    api: Api, clinic: Clinic, db: Session, app: Flask, clock: FrozenClock, client: Any
) -> None:
    waiting(api, clinic, db, min_notice_hours=0)
    freed_block(api, clinic)
    backfill(app, clock)
    offer = open_offer(db)
    token = offer_token(app.config["SECRET_KEY"], offer.id)
    browser = Browser(client)

    shown = browser.get(f"/offers/{token}?answer=decline")
    unclear = browser.post(f"/offers/{token}", {"answer": "maybe"})
    forged = browser.post(f"/offers/{token}", {"answer": "accept"}, csrf=False)
    foreign = browser.get(f"/offers/{offer_token('another-secret', offer.id)}")
    missing = browser.get(f"/offers/{offer_token(app.config['SECRET_KEY'], 999_999)}")

    assert shown.status_code == 200
    page = shown.get_data(as_text=True)
    assert "It does not suit me" in page
    assert "Take this appointment" not in page
    assert "Wednesday 04 March 2026 at 09:00" in page
    assert unclear.status_code == 422
    assert forged.status_code == 400
    assert (foreign.status_code, missing.status_code) == (404, 404)
    assert open_offer(db).id == offer.id
    for clinical in ("block", "procedure", "diagnos"):
        assert clinical not in page.lower()


# ---------------------------------------------------------------------------------------
# The offer e-mail, through the outbox


def test_the_offer_e_mail_goes_to_the_patient_and_is_not_sent_once_answered(
    api: Api, clinic: Clinic, db: Session, app: Flask, clock: FrozenClock, client: Any
) -> None:
    from scheduler.outbox.worker import deliver_due
    from scheduler.patients.models import Patient
    from scheduler.settings import delivery_settings
    from tests.mailbox import running_mailbox

    first, second = offered_to_the_first_of_two(api, clinic, db, app, clock)
    declined_id = open_offer(db).id

    with running_mailbox() as mailbox:
        settings = delivery_settings(
            {**app.config, "MAIL_HOST": mailbox.host, "MAIL_PORT": mailbox.port}
        )
        sessions = Database.of(app).sessionmaker
        deliver_due(sessions, settings, clock)  # the cancellation and the first offer
        answer(client, app, declined_id, "decline")
        backfill(app, clock)  # the second offer is queued ...
        db.expire_all()
        second_offer = open_offer(db)
        api.ok("POST", f"/waitlist/offers/{second_offer.id}/withdraw", "scheduler")
        result = deliver_due(sessions, settings, clock)  # ... and withdrawn before it went

    patients = {p.id: p.email for p in db.scalars(select(Patient))}
    first_patient = db.get_one(Pathway, first).patient_id
    offers_sent = [m for m in mailbox.messages if m["Subject"].startswith("An earlier appointment")]
    assert [m["To"] for m in offers_sent] == [patients[first_patient]]
    body = offers_sent[0].get_body(("plain",)).get_content()
    token = offer_token(app.config["SECRET_KEY"], declined_id)
    assert f"/offers/{token}?answer=accept" in body
    assert f"/offers/{token}?answer=decline" in body
    assert "Wednesday, March 4, 2026 at 9:00 AM EST" in body
    assert result.superseded == 1
    db.expire_all()
    offer_messages = db.scalars(
        select(OutboxMessage).where(OutboxMessage.offer_id.is_not(None)).order_by(OutboxMessage.id)
    ).all()
    assert [m.status.value for m in offer_messages] == ["sent", "superseded"]
    assert db.get_one(Offer, offer_messages[1].offer_id).pathway_id == second
    listed = api.ok("GET", "/outbox", "admin")  # the admin's view names the offer
    offer_rows = [m for m in listed if m["kind"] == "offer"]
    assert [(m["appointment_id"], m["offer_id"]) for m in offer_rows] == [
        (None, m.offer_id) for m in reversed(offer_messages)
    ]


def test_taking_a_pathway_with_an_offer_off_the_list_withdraws_it_at_once(
    api: Api, clinic: Clinic, db: Session, app: Flask, clock: FrozenClock
) -> None:
    first, second = offered_to_the_first_of_two(api, clinic, db, app, clock)
    entry = next(e for e in api.ok("GET", "/waitlist", "scheduler") if e["pathway_id"] == first)

    api.call("DELETE", f"/waitlist/{entry['id']}", "scheduler")

    assert offers_of(db) == [(first, "withdrawn", 1)]
    assert holds_count(db) == 0
    assert triggers(db, first)[-2:] == ["leave_waitlist", "withdraw_offer"]
    backfill(app, clock)
    assert offers_of(db) == [(first, "withdrawn", 1), (second, "open", 2)]


def test_a_newcomer_to_the_list_reopens_what_nobody_could_take(
    api: Api, clinic: Clinic, db: Session, app: Flask, clock: FrozenClock
) -> None:
    waiting(api, clinic, db, weekdays=["thursday"])
    freed_block(api, clinic)
    backfill(app, clock)
    assert db.scalars(select(Vacancy)).one().status.value == "unfilled"

    newcomer = waiting(api, clinic, db, min_notice_hours=0)
    db.expire_all()
    assert db.scalars(select(Vacancy)).one().status.value == "open"
    result = backfill(app, clock)

    assert (result.searched, result.offered) == (1, 1)
    assert offers_of(db) == [(newcomer, "open", 1)]


def test_no_manual_offer_to_a_patient_who_cannot_receive_it(
    api: Api, clinic: Clinic, db: Session, app: Flask, clock: FrozenClock
) -> None:
    unreachable = PatientFactory(email=None)
    db.commit()
    pathway = refer(api, clinic, patient_id=unreachable.id)["id"]
    waitlist(api, pathway, min_notice_hours=0)
    freed_block(api, clinic)
    backfill(app, clock)  # passed over: no address
    vacancy = api.ok("GET", "/waitlist/vacancies", "scheduler")[0]

    refused = api.post(
        "/waitlist/offers", {"vacancy_id": vacancy["id"], "pathway_id": pathway}, "scheduler"
    )

    assert refused.status_code == 422
    assert "no e-mail address" in refused.get_json()["errors"]["pathway_id"][0]
    assert offers_of(db) == []
    assert holds_count(db) == 0


def test_a_declined_offer_frees_its_patient_for_what_they_were_passed_over_for(
    api: Api, clinic: Clinic, db: Session, app: Flask, clock: FrozenClock, client: Any
) -> None:
    pathway = waiting(api, clinic, db, min_notice_hours=0)
    freed_block(api, clinic)
    later = book(
        api,
        clinic,
        refer(api, clinic, side="left")["id"],
        "diagnostic_block",
        local("2026-03-04", 11),
    )
    api.ok(
        "POST",
        f"/appointments/{later['id']}/cancel",
        "scheduler",
        json={"reason": "Patient unwell"},
    )
    backfill(app, clock)  # the first slot is offered; the patient is busy for the second
    assert offers_of(db) == [(pathway, "open", 1)]
    assert [v.status.value for v in db.scalars(select(Vacancy).order_by(Vacancy.id))] == [
        "open",
        "unfilled",
    ]

    answer(client, app, open_offer(db).id, "decline")
    db.expire_all()
    reopened = [v.status.value for v in db.scalars(select(Vacancy).order_by(Vacancy.id))]
    result = backfill(app, clock)

    assert reopened == ["open", "open"]
    assert (result.searched, result.offered) == (2, 1)
    offered = open_offer(db)
    assert (offered.pathway_id, offered.start_at) == (pathway, local("2026-03-04", 11))
    assert [v.status.value for v in db.scalars(select(Vacancy).order_by(Vacancy.id))] == [
        "unfilled",
        "open",
    ]
