"""The board's waitlist pages through the Flask client (SPEC §10): the list and its
filters, adding from the pathway page, editing and removing, offers in flight with their
countdowns, withdrawing, today's outcomes, a manual offer, and who may do what.

The clinic of tests/api/conftest.py (New York, both clinicians every day 07:00-17:00);
the clock stands at Monday 2026-03-02 14:00 EST. A cancelled block on Wednesday 09:00 is
the freed slot (tests/api/test_waitlist.py).
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict
from werkzeug.test import TestResponse

from scheduler.pathways.models import PathwayEvent
from scheduler.scheduling.models import Appointment
from scheduler.vocabulary import OfferStatus, VacancyStatus
from scheduler.waitlist import board
from scheduler.waitlist.letters import offer_token
from scheduler.waitlist.models import Offer, Vacancy, WaitlistEntry
from tests.api.conftest import Clinic
from tests.api.test_full_pathway import book, refer
from tests.api.test_waitlist import (
    backfill,
    freed_block,
    offered_to_the_first_of_two,
    waiting,
    waitlist,
)
from tests.conftest import QueryCounter
from tests.factories import PatientFactory
from tests.support import Api, Browser, FrozenClock, flashes, local, refusal, text_of

PAGE = "/board/waitlist/"


def send(browser: Browser, path: str, pairs: list[tuple[str, str]]) -> TestResponse:
    """A form with repeated fields (ticked boxes), with the page's CSRF token."""
    if not browser.csrf:
        browser.get(PAGE)
    form = MultiDict([*pairs, ("csrf_token", browser.csrf)])
    return browser.client.post(path, data=form)


def named(db: Session, pathway_id: int) -> str:
    """The patient of a pathway as the pages write them: "Family, Given"."""
    entry = next(row for row in board.listed(db, {}) if row.entry.pathway_id == pathway_id)
    return f"{entry.patient.family_name}, {entry.patient.given_name}"


def section(html: str, heading: str, until: str | None = None) -> str:
    part = html[html.index(heading) :]
    return part[: part.index(until)] if until else part


def offer_of(db: Session) -> Offer:
    db.expire_all()
    return db.scalars(select(Offer).where(Offer.status == OfferStatus.OPEN)).one()


# ---------------------------------------------------------------------------------------
# The list


def test_the_waitlist_lists_in_offer_order_with_names_mrn_preferences_and_filters(
    api: Api, browser: Browser, people: dict[str, str], clinic: Clinic, db: Session
) -> None:
    routine = waiting(api, clinic, db, min_notice_hours=48, weekdays=["monday", "friday"])
    urgent = waiting(api, clinic, db, priority="urgent", times_of_day=["morning"])
    patient = PatientFactory()
    db.commit()
    other = refer(api, clinic, patient_id=patient.id, clinician_id=clinic.other_clinician_id)
    waitlist(api, other["id"], earliest_date="2026-03-09")
    browser.sign_in(people["scheduler"])

    html = text_of(browser.get(PAGE))
    urgent_only = text_of(browser.get(PAGE + "?priority=urgent"))
    others = text_of(browser.get(PAGE + f"?clinician_id={clinic.other_clinician_id}"))
    procedures = text_of(browser.get(PAGE + "?next_step=procedure&site_id="))
    wrong = browser.get(PAGE + "?priority=whenever")

    listed = section(html, "Waiting", "Offers in flight")
    names = [named(db, pathway) for pathway in (urgent, routine, other["id"])]
    # Urgent first, then by time on the list.
    assert [listed.index(name) for name in names] == sorted(listed.index(n) for n in names)
    assert patient.mrn in listed
    assert "Diagnostic block" in listed
    assert "Mon, Fri · 48 h notice at least" in listed
    assert "morning · 24 h notice at least" in listed
    assert "from Mon 09 Mar 2026" in listed
    assert "0 days" in listed
    assert names[0] in urgent_only
    assert names[1] not in urgent_only
    assert names[2] in others
    assert names[0] not in others
    assert "Nobody waiting with these filters." in procedures
    assert wrong.status_code == 422
    assert "Priority:" in refusal(wrong)[1]


def test_days_waiting_count_on_the_sites_calendar(
    api: Api,
    browser: Browser,
    people: dict[str, str],
    clinic: Clinic,
    db: Session,
    clock: FrozenClock,
) -> None:
    waiting(api, clinic, db)
    clock.set(local("2026-03-04", 8))
    browser.sign_in(people["scheduler"])

    html = text_of(browser.get(PAGE))

    assert "2 days" in section(html, "Waiting", "Offers in flight")


# ---------------------------------------------------------------------------------------
# Add, edit, remove


def test_adding_from_the_pathway_page_records_the_wish_and_the_page_then_links_the_entry(
    api: Api, browser: Browser, people: dict[str, str], clinic: Clinic, db: Session
) -> None:
    pathway = refer(api, clinic)["id"]
    browser.sign_in(people["scheduler"])
    before = text_of(browser.get(f"/board/pathways/{pathway}"))

    added = send(
        browser,
        f"/board/waitlist/pathways/{pathway}",
        [
            ("priority", "soon"),
            ("earliest_date", "2026-03-05"),
            ("min_notice_hours", "48"),
            ("weekdays", "monday"),
            ("weekdays", "wednesday"),
            ("times_of_day", "afternoon"),
            ("any_clinician", "true"),
        ],
    )
    after = browser.get(added.headers["Location"])

    assert "Add to the waitlist" in before
    assert added.status_code == 302
    [entry] = api.ok("GET", "/waitlist", "scheduler")
    assert entry["pathway_id"] == pathway
    assert (entry["priority"], entry["earliest_date"], entry["min_notice_hours"]) == (
        "soon",
        "2026-03-05",
        48,
    )
    assert (entry["weekdays"], entry["times_of_day"], entry["any_clinician"]) == (
        ["monday", "wednesday"],
        ["afternoon"],
        True,
    )
    assert "On the waitlist (soon)." in flashes(after)
    assert "Add to the waitlist" not in text_of(after)
    assert "On the waitlist since 02 Mar 2026, priority <strong>soon</strong>" in text_of(after)
    assert f'href="/board/waitlist/entries/{entry["id"]}"' in text_of(after)


def test_a_refused_add_is_shown_on_the_pathway_page_in_the_services_words(
    api: Api, browser: Browser, people: dict[str, str], clinic: Clinic, db: Session
) -> None:
    booked = refer(api, clinic)["id"]
    book(api, clinic, booked, "diagnostic_block", local("2026-03-04", 9))
    pathway = refer(api, clinic, side="left")["id"]
    browser.sign_in(people["scheduler"])

    scheduled = send(browser, f"/board/waitlist/pathways/{booked}", [("priority", "routine")])
    bad_day = send(browser, f"/board/waitlist/pathways/{pathway}", [("weekdays", "someday")])
    send(browser, f"/board/waitlist/pathways/{pathway}", [("priority", "routine")])
    twice = send(browser, f"/board/waitlist/pathways/{pathway}", [("priority", "urgent")])

    assert scheduled.status_code == 422
    assert "The pathway is block_scheduled" in refusal(scheduled)[1]
    assert "Not on the waitlist: only a pathway waiting" in text_of(scheduled)
    assert bad_day.status_code == 422
    assert refusal(bad_day)[0] == "Nothing was recorded: please correct the form."
    assert refusal(bad_day)[1].startswith("Weekdays")
    assert twice.status_code == 409
    assert f"Pathway {pathway} is already on the waitlist." in refusal(twice)
    assert db.scalar(select(func.count()).select_from(WaitlistEntry)) == 1


def test_editing_an_entry_saves_every_field_and_a_refusal_keeps_what_was_sent(
    api: Api, browser: Browser, people: dict[str, str], clinic: Clinic, db: Session
) -> None:
    pathway = waiting(api, clinic, db, weekdays=["tuesday"], earliest_date="2026-03-10")
    [entry] = api.ok("GET", "/waitlist", "scheduler")
    path = f"/board/waitlist/entries/{entry['id']}"
    browser.sign_in(people["scheduler"])
    form = text_of(browser.get(path))

    saved = send(
        browser,
        path,
        [("priority", "urgent"), ("min_notice_hours", "12"), ("weekdays", "thursday")],
    )
    refused = send(browser, path, [("priority", "urgent"), ("min_notice_hours", "1000")])

    assert 'id="entry-tuesday" name="weekdays" value="tuesday" checked' in form
    assert 'value="2026-03-10"' in form
    assert saved.headers["Location"] == PAGE
    changed = api.ok("GET", f"/waitlist/{entry['id']}", "scheduler")
    # The blank date clears it; unticked days are gone.
    assert (changed["priority"], changed["min_notice_hours"]) == ("urgent", 12)
    assert (changed["weekdays"], changed["earliest_date"]) == (["thursday"], None)
    assert refused.status_code == 422
    assert refusal(refused)[1].startswith("Min notice hours")
    assert 'value="1000"' in text_of(refused)
    assert api.ok("GET", f"/waitlist/{entry['id']}", "scheduler")["min_notice_hours"] == 12
    assert pathway == entry["pathway_id"]


def test_removing_with_a_reason_takes_the_pathway_off_and_its_history_says_why(
    api: Api, browser: Browser, people: dict[str, str], clinic: Clinic, db: Session
) -> None:
    pathway = waiting(api, clinic, db)
    [entry] = api.ok("GET", "/waitlist", "scheduler")
    browser.sign_in(people["scheduler"])
    browser.get(PAGE)

    removed = browser.post(
        f"/board/waitlist/entries/{entry['id']}/remove", {"reason": "Moved away"}
    )
    after = browser.get(PAGE)
    again = browser.post(f"/board/waitlist/entries/{entry['id']}/remove", {"reason": ""})

    assert removed.headers["Location"] == PAGE
    assert "Taken off the waitlist." in flashes(after)
    assert "Nobody waiting." in text_of(after)
    assert db.scalar(select(func.count()).select_from(WaitlistEntry)) == 0
    last = db.scalars(
        select(PathwayEvent)
        .where(PathwayEvent.pathway_id == pathway)
        .order_by(PathwayEvent.id.desc())
    ).first()
    assert last is not None
    assert (last.trigger.value, last.reason) == ("leave_waitlist", "Moved away")
    assert again.status_code == 404


# ---------------------------------------------------------------------------------------
# Offers in flight


def test_an_offer_in_flight_shows_its_slot_rank_and_countdown_and_can_be_withdrawn(
    api: Api,
    browser: Browser,
    people: dict[str, str],
    clinic: Clinic,
    db: Session,
    app: Flask,
    clock: FrozenClock,
) -> None:
    pathway = waiting(api, clinic, db)
    freed_block(api, clinic)
    backfill(app, clock)
    offer = offer_of(db)
    browser.sign_in(people["scheduler"])

    html = section(text_of(browser.get(PAGE)), "Offers in flight", "Today's backfill")
    clock.advance(minutes=48)
    later = section(text_of(browser.get(PAGE)), "Offers in flight", "Today's backfill")
    withdrawn = browser.post(f"/board/waitlist/offers/{offer.id}/withdraw")
    again = browser.post(f"/board/waitlist/offers/{offer.id}/withdraw")

    assert named(db, pathway) in html
    assert "Wed 04 Mar 2026, 09:00" in html
    assert ">1<" in html  # its rank
    assert 'data-countdown="7200"' in html
    assert "expires in <strong>2 h 0 min</strong>" in html
    assert '<time datetime="2026-03-02T21:00:00+00:00">16:00</time>' in html
    assert "expires in <strong>1 h 12 min</strong>" in later
    assert withdrawn.headers["Location"] == PAGE
    assert offer_of_id(db, offer.id).status is OfferStatus.WITHDRAWN
    assert again.status_code == 409
    assert any("is withdrawn" in message for message in refusal(again))
    assert "No offer waiting for an answer." in text_of(again)


def offer_of_id(db: Session, offer_id: int) -> Offer:
    db.expire_all()
    return db.get_one(Offer, offer_id)


# ---------------------------------------------------------------------------------------
# Today's outcomes and manual offers


def test_todays_outcomes_count_the_offers_and_the_minutes_a_filled_slot_recovered(
    api: Api,
    browser: Browser,
    people: dict[str, str],
    clinic: Clinic,
    db: Session,
    app: Flask,
    clock: FrozenClock,
    client: FlaskClient,
    count_queries: QueryCounter,
) -> None:
    first = waiting(api, clinic, db, priority="urgent")
    second = waiting(api, clinic, db)
    freed_block(api, clinic)
    backfill(app, clock)
    patient_page = Browser(client)
    token = offer_token(app.config["SECRET_KEY"], offer_of(db).id)
    patient_page.post(f"/offers/{token}", {"answer": "decline"})
    backfill(app, clock)
    offer = offer_of(db)
    assert offer.pathway_id == second
    accepted = patient_page.post(
        f"/offers/{offer_token(app.config['SECRET_KEY'], offer.id)}", {"answer": "accept"}
    )
    assert accepted.status_code == 200
    db.expire_all()
    booked = db.scalars(select(Appointment).where(Appointment.pathway_id == second)).one()
    minutes = int((booked.end_at - booked.start_at).total_seconds() // 60)
    browser.sign_in(people["scheduler"])

    html = section(text_of(browser.get(PAGE)), "Today's backfill")
    db.expire_all()
    count_queries.statements.clear()
    outcomes = board.day_outcomes(db, clock(), clinic.site_id)
    reads = count_queries.count
    clock.advance(days=1)
    browser.sign_in(people["scheduler"])
    tomorrow = section(text_of(browser.get(PAGE)), "Today's backfill")

    assert "1 slot freed today · 1 filled" in html
    assert f"<strong>{minutes} minutes recovered</strong>" in html
    row = html[html.index('id="vacancy-') :]
    cells = [cell.strip() for cell in row.split("<td>")[3:7]]
    assert cells == ["2</td>", "1</td>", "0</td>", f"{minutes}</td>"]
    assert "Cancelled" in row
    assert "<strong>Filled</strong>: booked 09:00" in row
    assert "Wed 04 Mar, 09:00" in row
    assert [o.offers for o in outcomes] == [{OfferStatus.DECLINED: 1, OfferStatus.ACCEPTED: 1}]
    assert reads == 3  # the site, the vacancies with their names, the offers counted
    assert "0 slots freed today · 0 filled" in tomorrow
    assert first != second


def test_a_scheduler_offers_a_freed_slot_by_hand_and_the_refusals_show_on_the_page(
    api: Api,
    browser: Browser,
    people: dict[str, str],
    clinic: Clinic,
    db: Session,
    app: Flask,
    clock: FrozenClock,
) -> None:
    freed_block(api, clinic)
    backfill(app, clock)  # nobody waits: the slot goes unfilled
    vacancy = db.scalars(select(Vacancy)).one()
    assert vacancy.status is VacancyStatus.UNFILLED
    browser.sign_in(people["scheduler"])
    nobody = section(text_of(browser.get(PAGE)), "Today's backfill")
    # Only Fridays, by the patient's wish: the scheduler overrules it after a call.
    pathway = waiting(api, clinic, db, weekdays=["friday"])
    outsider = refer(api, clinic, side="left")["id"]
    html = section(text_of(browser.get(PAGE)), "Today's backfill")

    not_listed = browser.post(
        f"/board/waitlist/vacancies/{vacancy.id}/offer", {"pathway_id": str(outsider)}
    )
    made = browser.post(
        f"/board/waitlist/vacancies/{vacancy.id}/offer", {"pathway_id": str(pathway)}
    )
    twice = browser.post(
        f"/board/waitlist/vacancies/{vacancy.id}/offer", {"pathway_id": str(pathway)}
    )

    assert f'<option value="{pathway}">{named(db, pathway)}' in html
    assert "<strong>Unfilled</strong>" in nobody
    # The newcomer reopened it: the worker would search it again (and pass this one over).
    assert "<strong>Open</strong>: the next pass searches it" in html
    assert not_listed.status_code == 422
    assert "Pathway: The pathway is not on the waitlist." in refusal(not_listed)
    assert made.headers["Location"] == PAGE + "#offers-title"
    offer = offer_of(db)
    assert (offer.pathway_id, offer.vacancy_id, offer.start_at) == (
        pathway,
        vacancy.id,
        local("2026-03-04", 9),
    )
    assert offer.created_by_id is not None
    assert twice.status_code == 409
    assert f"Vacancy {vacancy.id} has an offer in flight; wait for its answer." in refusal(twice)
    shown = text_of(browser.get(PAGE))
    assert "<strong>Open</strong>: offer in flight" in shown
    assert f'action="/board/waitlist/vacancies/{vacancy.id}/offer"' not in shown


def test_a_pathway_holding_an_offer_is_not_offered_another_slot_by_hand(
    api: Api,
    browser: Browser,
    people: dict[str, str],
    clinic: Clinic,
    db: Session,
    app: Flask,
    clock: FrozenClock,
) -> None:
    pathway = waiting(api, clinic, db)
    freed_block(api, clinic)
    other = refer(api, clinic, patient_id=clinic.other_patient_id)["id"]
    thursday = book(api, clinic, other, "diagnostic_block", local("2026-03-05", 9))
    api.ok("POST", f"/appointments/{thursday['id']}/cancel", "scheduler", json={"reason": "ill"})
    backfill(app, clock)  # Wednesday's slot is offered; Thursday's finds nobody else
    browser.sign_in(people["scheduler"])

    html = section(text_of(browser.get(PAGE)), "Today's backfill")

    assert offer_of(db).pathway_id == pathway
    assert f'<option value="{pathway}">' not in html
    assert "Nobody waiting at this site without an offer in flight." in html


# ---------------------------------------------------------------------------------------
# Who may do what


@pytest.mark.parametrize("role", ["nurse", "clinician"])
def test_nurses_and_clinicians_see_the_waitlist_but_cannot_change_it(
    role: str,
    api: Api,
    browser: Browser,
    people: dict[str, str],
    clinic: Clinic,
    db: Session,
    app: Flask,
    clock: FrozenClock,
) -> None:
    pathway = waiting(api, clinic, db)
    [entry] = api.ok("GET", "/waitlist", "scheduler")
    freed_block(api, clinic)
    backfill(app, clock)
    offer = offer_of(db)
    browser.sign_in(people[role])

    html = text_of(browser.get(PAGE))
    writes: dict[str, dict[str, Any]] = {
        f"/board/waitlist/pathways/{pathway}": {"priority": "urgent"},
        f"/board/waitlist/entries/{entry['id']}": {"priority": "urgent"},
        f"/board/waitlist/entries/{entry['id']}/remove": {},
        f"/board/waitlist/offers/{offer.id}/withdraw": {},
        f"/board/waitlist/vacancies/{offer.vacancy_id}/offer": {"pathway_id": str(pathway)},
    }
    answers = {path: browser.post(path, data).status_code for path, data in writes.items()}
    edit_page = browser.get(f"/board/waitlist/entries/{entry['id']}")

    assert named(db, pathway) in html
    assert "expires in" in html
    for control in ("Remove", "Withdraw", "Edit", "Offer to"):
        assert control not in html
    assert set(answers.values()) == {403}
    assert edit_page.status_code == 403
    assert offer_of_id(db, offer.id).status is OfferStatus.OPEN
    assert db.scalar(select(func.count()).select_from(WaitlistEntry)) == 1


def test_a_patient_cannot_open_the_waitlist(
    api: Api, browser: Browser, people: dict[str, str], clinic: Clinic, db: Session
) -> None:
    waiting(api, clinic, db)
    browser.sign_in(people["patient"])

    response = browser.get(PAGE)

    assert response.status_code == 403
    assert "MRN" not in text_of(response)


def test_the_pathway_history_names_each_waitlist_step_without_a_state_change(
    api: Api,
    browser: Browser,
    clinic: Clinic,
    db: Session,
    app: Flask,
    clock: FrozenClock,
    people: dict[str, str],
) -> None:
    first, _second = offered_to_the_first_of_two(api, clinic, db, app, clock)
    browser.sign_in(people["scheduler"])

    html = browser.get(f"/board/pathways/{first}").get_data(as_text=True)

    assert "Join waitlist" in html
    assert "Offer slot: for Wed 04 Mar 09:00" in html
    assert "waitlist →" not in html
    assert "Offer slot →" not in html
    assert "Create → <strong>referred</strong>" in html
