"""The waitlist and backfill (SPEC §10).

Schedulers put a pathway whose next step is a block or the procedure on the list. When
capacity appears (a cancellation or a move writes a vacancy; so do new working hours),
the backfill ranks the waitlisted pathways that could take it (``ranking``), asks the one
availability function and the policy gates where each could go inside it (the slot
search, as the desk's), and offers the first that fits: a hold on the slot, an e-mail in
the outbox with signed accept and decline links, an event on the pathway. One offer at a
time, or the first ``fanout`` candidates that fit the same slot with the first acceptance
winning. An offer expires (the worker), is declined or withdrawn, and the next candidate
gets it. Accepting books it like any booking, in one transaction with closing the offers.

One module past 600 lines, on purpose: every writer here (joining, leaving, offering,
answering, expiring) takes the same rows in one lock order (vacancy before offer,
vacancies in id order), and keeping them side by side keeps that order checkable in one
read. What the board and monitoring only read is in ``board``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import Select, case, delete, exists, select, update
from sqlalchemy.orm import Session, aliased

from scheduler.access import SYSTEM, Actor
from scheduler.db import found, saved
from scheduler.errors import Conflict, DomainError, InvalidInput, NotFound, OfferClosed
from scheduler.facilities.models import Site
from scheduler.outbox import services as outbox
from scheduler.pathways import services as pathways
from scheduler.pathways.models import Pathway
from scheduler.pathways.states import WAITLISTABLE, Trigger, next_booking
from scheduler.patients.models import Patient
from scheduler.scheduling import booking, checks, holds, search, slots
from scheduler.scheduling.models import Appointment, Hold
from scheduler.settings import BackfillSettings
from scheduler.vocabulary import (
    AppointmentKind,
    OfferStatus,
    TimeOfDay,
    VacancyStatus,
    WaitlistPriority,
)
from scheduler.waitlist import ranking
from scheduler.waitlist.models import Offer, Vacancy, WaitlistEntry

# The entries' order on the board and the API: the order candidates are tried in.
PRIORITY_RANK: Final = case(
    {priority.value: order for priority, order in ranking.PRIORITY_ORDER.items()},
    value=WaitlistEntry.priority,
)


# ---------------------------------------------------------------------------------------
# Entries


def list_statement(filters: dict[str, Any]) -> Select[WaitlistEntry]:
    """Waitlist entries (with their pathways), in the order offers would be made."""
    statement = (
        select(WaitlistEntry)
        .join(Pathway, Pathway.id == WaitlistEntry.pathway_id)
        .order_by(PRIORITY_RANK, WaitlistEntry.created_at, WaitlistEntry.id)
    )
    for name in ("site_id", "clinician_id"):
        if name in filters:
            statement = statement.where(getattr(Pathway, name) == filters[name])
    if "priority" in filters:
        statement = statement.where(WaitlistEntry.priority == filters["priority"])
    if "next_step" in filters:
        states = [s for s in WAITLISTABLE if next_booking(s) is filters["next_step"]]
        statement = statement.where(Pathway.state.in_(states))
    return statement


def get_entry(session: Session, entry_id: int, *, lock: bool = False) -> WaitlistEntry:
    lock_row = {"of": WaitlistEntry} if lock else None
    return found(
        session.get(WaitlistEntry, entry_id, with_for_update=lock_row), "waitlist entry", entry_id
    )


def _wish_data(entry: WaitlistEntry) -> dict[str, Any]:
    """What an entry asks for, as its events record it (no patient data)."""
    return {
        "priority": entry.priority.value,
        "earliest_date": entry.earliest_date.isoformat() if entry.earliest_date else None,
        "weekdays": list(entry.weekdays),
        "times_of_day": list(entry.times_of_day),
        "min_notice_hours": entry.min_notice_hours,
        "any_clinician": entry.any_clinician,
    }


def add_entry(
    session: Session, actor: Actor, now: datetime, *, pathway_id: int, **wish: Any
) -> WaitlistEntry:
    """Put a pathway on the list: its next step must be a block or the procedure, with
    nothing booked (a referred or eligible pathway); once only."""
    pathway = checks.pathway_for_booking(session, actor, pathway_id)
    if pathway.state not in WAITLISTABLE:
        raise InvalidInput.field(
            "pathway_id",
            f"The pathway is {pathway.state.value}: only a pathway waiting for a block or "
            "eligible for the procedure, with nothing booked, can wait on the list.",
        )
    if pathway.waitlisted:
        raise Conflict(f"Pathway {pathway.id} is already on the waitlist.")
    entry = WaitlistEntry(
        pathway_id=pathway.id,
        earliest_date=wish.get("earliest_date"),
        weekdays=sorted(set(wish.get("weekdays", ()))),
        times_of_day=sorted({TimeOfDay(t).value for t in wish.get("times_of_day", ())}),
        min_notice_hours=wish.get("min_notice_hours", 24),
        any_clinician=wish.get("any_clinician", False),
        priority=wish.get("priority", WaitlistPriority.ROUTINE),
        priority_set_by_id=actor.user_id,
        priority_set_at=now,
        created_by_id=actor.user_id,
        created_at=now,
        updated_at=now,
    )
    saved(session, entry)
    pathway.waitlisted = True
    pathways.record(session, pathway, Trigger.JOIN_WAITLIST, actor, now, data=_wish_data(entry))
    _reopen_unfilled(session, [pathway.site_id], now)
    return entry


def _reopen_unfilled(session: Session, site_ids: Iterable[int | None], now: datetime) -> None:
    """Capacity at these sites that nobody could take is still ahead: a patient who joins
    the list, or whose offer closed without a booking (they were passed over while it was
    open), may take it, so the worker searches it again (those offered it before are not
    asked twice). One statement; the rows are locked in id order, as every writer of
    them does."""
    sites = sorted({site for site in site_ids if site is not None})
    if not sites:
        return
    unfilled = aliased(Vacancy)
    ahead = (
        select(unfilled.id)
        .where(
            unfilled.site_id.in_(sites),
            unfilled.status == VacancyStatus.UNFILLED,
            unfilled.end_at > now,
        )
        .order_by(unfilled.id)
        .with_for_update()
    )
    session.execute(
        update(Vacancy)
        .where(Vacancy.id.in_(ahead))
        .values(status=VacancyStatus.OPEN, searched_at=None, closed_at=None)
        .execution_options(synchronize_session=False)
    )


def update_entry(
    session: Session, actor: Actor, now: datetime, entry_id: int, changes: dict[str, Any]
) -> WaitlistEntry:
    """Change what the entry asks for; a new priority records who set it."""
    entry = get_entry(session, entry_id, lock=True)
    pathway = pathways.get_pathway(session, actor, entry.pathway_id, lock=True)
    if "weekdays" in changes:
        changes["weekdays"] = sorted(set(changes["weekdays"]))
    if "times_of_day" in changes:
        changes["times_of_day"] = sorted({TimeOfDay(t).value for t in changes["times_of_day"]})
    changed = {name: value for name, value in changes.items() if getattr(entry, name) != value}
    if not changed:
        return entry
    for name, value in changed.items():
        setattr(entry, name, value)
    if "priority" in changed:
        entry.priority_set_by_id = actor.user_id
        entry.priority_set_at = now
    entry.updated_at = now
    session.flush()
    data = {name: value for name, value in _wish_data(entry).items() if name in changed}
    pathways.record(session, pathway, Trigger.CHANGE_WAITLIST, actor, now, data=data)
    return entry


def remove_entry(
    session: Session, actor: Actor, now: datetime, entry_id: int, reason: str | None
) -> None:
    """Take the pathway off the list (its open offers are withdrawn at once)."""
    entry = get_entry(session, entry_id, lock=True)
    pathway = pathways.get_pathway(session, actor, entry.pathway_id, lock=True)
    pathways.leave_waitlist(session, pathway, actor, now, reason=reason or "taken off the list")
    # The vacancies' rows first, as an answer takes them (``_answering``): no deadlock.
    held = select(Offer.vacancy_id).where(
        Offer.pathway_id == pathway.id, Offer.status == OfferStatus.OPEN
    )
    session.scalars(
        select(Vacancy.id).where(Vacancy.id.in_(held)).order_by(Vacancy.id).with_for_update()
    ).all()
    for offer in _open_offers(session, Offer.pathway_id == pathway.id):
        _close(session, now, offer, OfferStatus.WITHDRAWN, actor=actor, reason="left the list")


# ---------------------------------------------------------------------------------------
# Vacancies and offers: reading


def vacancies_statement(filters: dict[str, Any]) -> Select[Vacancy]:
    """Freed capacity, newest first (``status``, ``site_id``, ``since``)."""
    statement = select(Vacancy).order_by(Vacancy.id.desc())
    for name in ("status", "site_id"):
        if name in filters:
            statement = statement.where(getattr(Vacancy, name) == filters[name])
    if "since" in filters:
        statement = statement.where(Vacancy.created_at >= filters["since"])
    return statement


def offers_statement(filters: dict[str, Any]) -> Select[Offer]:
    """Offers, newest first (``status``, ``vacancy_id``, ``pathway_id``, ``since``)."""
    statement = select(Offer).order_by(Offer.id.desc())
    for name in ("status", "vacancy_id", "pathway_id"):
        if name in filters:
            statement = statement.where(getattr(Offer, name) == filters[name])
    if "since" in filters:
        statement = statement.where(Offer.created_at >= filters["since"])
    return statement


def get_offer(session: Session, offer_id: int, *, lock: bool = False) -> Offer:
    """The offer; locked, it is read again (the page may have read it before the lock)."""
    lock_row = {"of": Offer} if lock else None
    offer = session.get(Offer, offer_id, with_for_update=lock_row, populate_existing=lock)
    return found(offer, "offer", offer_id)


def _open_offers(session: Session, *where: Any) -> list[Offer]:
    return list(
        session.scalars(
            select(Offer)
            .where(Offer.status == OfferStatus.OPEN, *where)
            .order_by(Offer.id)
            .with_for_update(of=Offer)
        )
    )


# ---------------------------------------------------------------------------------------
# Backfill: from a vacancy to offers


def wish_of(entry: WaitlistEntry) -> ranking.Wish:
    """What the entry asks for, as the ranking reads it."""
    return ranking.Wish(
        entry_id=entry.id,
        pathway_id=entry.pathway_id,
        priority=entry.priority,
        waiting_since=entry.created_at,
        earliest_date=entry.earliest_date,
        weekdays=frozenset(entry.weekdays),
        times_of_day=frozenset(TimeOfDay(t) for t in entry.times_of_day),
        min_notice=timedelta(hours=entry.min_notice_hours),
    )


def candidates(session: Session, vacancy: Vacancy) -> list[ranking.Wish]:
    """The waitlisted pathways that may take ``vacancy``, in the order they are tried: at
    its site, with its clinician (unless any clinician will do), reachable by e-mail, not
    already offered this vacancy, and holding no other offer."""
    offered_here = select(Offer.pathway_id).where(Offer.vacancy_id == vacancy.id)
    holding_one = exists().where(Offer.pathway_id == Pathway.id, Offer.status == OfferStatus.OPEN)
    rows = session.scalars(
        select(WaitlistEntry)
        .join(Pathway, Pathway.id == WaitlistEntry.pathway_id)
        .join(Patient, Patient.id == Pathway.patient_id)
        .where(
            Pathway.site_id == vacancy.site_id,
            Pathway.state.in_(WAITLISTABLE),
            (Pathway.clinician_id == vacancy.clinician_id) | WaitlistEntry.any_clinician,
            Patient.email.is_not(None),
            Pathway.id.not_in(offered_here),
            ~holding_one,
        )
    )
    return ranking.ranked(wish_of(entry) for entry in rows)


@dataclass(frozen=True)
class _Fit:
    kind: AppointmentKind
    slot: slots.Slot
    expires_at: datetime


def _first_fit(
    session: Session,
    now: datetime,
    vacancy: Vacancy,
    wish: ranking.Wish,
    site: Site,
    settings: BackfillSettings,
) -> _Fit | None:
    """Where in the vacancy the pathway's next step could go, by the slot search (the one
    availability function and the policy gates), suiting what the patient asked for.

    The clinician's time is what came free; the room is the search's (the first free one
    at that start, which is the freed room unless another is free too)."""
    pathway = session.get_one(Pathway, wish.pathway_id)
    kind = next_booking(pathway.state)
    if kind is None:
        return None
    after = max(vacancy.start_at, now)
    notice = timedelta(minutes=site.min_notice_minutes)
    if not ranking.may_suit(
        wish, after, vacancy.end_at, site.timezone, now, ttl=settings.offer_ttl, site_notice=notice
    ):
        return None
    days = max(1, math.ceil((vacancy.end_at - after) / timedelta(days=1)))
    try:
        offered, zone = search.search_slots(
            session,
            SYSTEM,
            now,
            pathway.id,
            kind=kind,
            after=after,
            days=days,
            limit=200,
            clinician_id=vacancy.clinician_id,
        )
    except DomainError:  # not bookable now (a gate, a missing resource): not a candidate
        return None
    for slot in offered:
        if slot.end > vacancy.end_at:
            break
        if ranking.suits(wish, slot.start, zone, now, ttl=settings.offer_ttl, site_notice=notice):
            expires = ranking.offer_deadline(
                wish, slot.start, now, ttl=settings.offer_ttl, site_notice=notice
            )
            return _Fit(kind, slot, expires)
    return None


def _fits_held(
    session: Session,
    now: datetime,
    hold: Hold,
    wish: ranking.Wish,
    site: Site,
    settings: BackfillSettings,
) -> _Fit | None:
    """Whether another candidate could take the slot already held for a first one (every
    booking check, as if the hold were not there)."""
    pathway = session.get_one(Pathway, wish.pathway_id)
    kind = next_booking(pathway.state)
    if kind is None:
        return None
    notice = timedelta(minutes=site.min_notice_minutes)
    if not ranking.suits(
        wish, hold.start_at, site.timezone, now, ttl=settings.offer_ttl, site_notice=notice
    ):
        return None
    try:
        want = checks.wanted(session, SYSTEM, pathway.id, kind, None)
        fitted = checks.fit_start(
            session,
            now,
            want,
            hold.start_at,
            clinician_id=hold.clinician_id,
            room_id=hold.room_id,
            ignore_hold=hold.id,
        )
    except DomainError:
        return None
    expires = ranking.offer_deadline(
        wish, hold.start_at, now, ttl=settings.offer_ttl, site_notice=notice
    )
    return _Fit(kind, fitted.slot, expires)


def _make_offer(
    session: Session,
    actor: Actor,
    now: datetime,
    vacancy: Vacancy,
    wish: ranking.Wish,
    fit: _Fit,
    hold: Hold,
) -> Offer:
    rank = len(session.scalars(select(Offer.id).where(Offer.vacancy_id == vacancy.id)).all())
    pathway = session.get_one(Pathway, wish.pathway_id)
    offer = saved(
        session,
        Offer(
            vacancy_id=vacancy.id,
            pathway_id=pathway.id,
            status=OfferStatus.OPEN,
            rank=rank + 1,
            kind=fit.kind,
            method=checks.method_for(pathway, fit.kind, None),
            clinician_id=hold.clinician_id,
            room_id=hold.room_id,
            start_at=hold.start_at,
            end_at=fit.slot.end,
            hold_id=hold.id,
            created_by_id=actor.user_id,
            created_at=now,
            expires_at=fit.expires_at,
        ),
    )
    hold.expires_at = max(hold.expires_at, offer.expires_at)
    outbox.announce_offer(session, offer.id, now)
    pathways.record(
        session,
        pathway,
        Trigger.OFFER_SLOT,
        actor,
        now,
        data={
            "offer_id": offer.id,
            "vacancy_id": vacancy.id,
            "kind": fit.kind.value,
            "start": offer.start_at.isoformat(),
            "expires_at": offer.expires_at.isoformat(),
            "rank": offer.rank,
            "priority": wish.priority.value,
        },
    )
    return offer


def _hold_for(
    session: Session, now: datetime, vacancy: Vacancy, wish: ranking.Wish, fit: _Fit
) -> Hold | None:
    """Hold the fitted slot for the offer (the same checks as a booking), or None when
    another booking took it meanwhile (a savepoint: the search goes on to the next)."""
    try:
        with session.begin_nested():
            hold, _slot, _zone = holds.place_hold(
                session,
                SYSTEM,
                now,
                pathway_id=wish.pathway_id,
                kind=fit.kind,
                start=fit.slot.start,
                ttl=fit.expires_at - now,
                clinician_id=vacancy.clinician_id,
                room_id=fit.slot.room_id,
            )
    except DomainError:
        return None
    return hold


def offer_vacancy(
    session: Session,
    now: datetime,
    vacancy: Vacancy,
    settings: BackfillSettings,
    *,
    actor: Actor = SYSTEM,
) -> list[Offer]:
    """Offer the vacancy to the next candidates (up to ``fanout`` for one held slot); when
    none fits and no offer is in flight, the vacancy is closed unfilled."""
    vacancy.searched_at = now
    site = session.get_one(Site, vacancy.site_id)
    made: list[Offer] = []
    hold: Hold | None = None
    if vacancy.end_at > now:
        for wish in candidates(session, vacancy):
            if hold is None:
                fit = _first_fit(session, now, vacancy, wish, site, settings)
                hold = _hold_for(session, now, vacancy, wish, fit) if fit else None
            else:
                fit = _fits_held(session, now, hold, wish, site, settings)
            if fit is None or hold is None:
                continue
            made.append(_make_offer(session, actor, now, vacancy, wish, fit, hold))
            if len(made) >= settings.fanout:
                break
    if not made and not _open_offers(session, Offer.vacancy_id == vacancy.id):
        vacancy.status = VacancyStatus.UNFILLED
        vacancy.closed_at = now
    session.flush()
    return made


def offer_manually(
    session: Session,
    actor: Actor,
    now: datetime,
    *,
    vacancy_id: int,
    pathway_id: int,
    settings: BackfillSettings,
) -> Offer:
    """A scheduler offers a vacancy to a waitlisted pathway of their choice (after a phone
    call, say): the patient's preferred days and times are theirs to overrule; the notice,
    the availability and the gates are not."""
    vacancy = found(
        session.get(Vacancy, vacancy_id, with_for_update={"of": Vacancy}), "vacancy", vacancy_id
    )
    if vacancy.status is VacancyStatus.FILLED:
        raise Conflict(f"Vacancy {vacancy.id} is already filled.")
    if _open_offers(session, Offer.vacancy_id == vacancy.id):
        raise Conflict(f"Vacancy {vacancy.id} has an offer in flight; wait for its answer.")
    entry = session.scalar(select(WaitlistEntry).where(WaitlistEntry.pathway_id == pathway_id))
    if entry is None:
        raise InvalidInput.field("pathway_id", "The pathway is not on the waitlist.")
    if _open_offers(session, Offer.pathway_id == pathway_id):
        raise Conflict(f"Pathway {pathway_id} already holds an offer.")
    pathway = session.get_one(Pathway, pathway_id)
    if not session.get_one(Patient, pathway.patient_id).email:
        raise InvalidInput.field(
            "pathway_id",
            "The patient has no e-mail address to answer an offer: the time is free, book "
            "it with them by phone.",
        )
    wish = replace(
        wish_of(entry), earliest_date=None, weekdays=frozenset(), times_of_day=frozenset()
    )
    site = session.get_one(Site, vacancy.site_id)
    fit = _first_fit(session, now, vacancy, wish, site, settings)
    hold = _hold_for(session, now, vacancy, wish, fit) if fit else None
    if fit is None or hold is None:
        raise InvalidInput.field(
            "pathway_id",
            "No time in this vacancy suits the pathway's next step now (availability, the "
            "policy's gates, or the patient's notice).",
        )
    vacancy.status, vacancy.closed_at, vacancy.searched_at = VacancyStatus.OPEN, None, now
    return _make_offer(session, actor, now, vacancy, wish, fit, hold)


# ---------------------------------------------------------------------------------------
# Answers


def _close(
    session: Session,
    now: datetime,
    offer: Offer,
    status: OfferStatus,
    *,
    actor: Actor = SYSTEM,
    reason: str | None = None,
) -> int | None:
    """Close an open offer with its event; the vacancy's hold goes with its last open
    offer, and the vacancy is searched again for the next candidate. Returns the site of
    a patient still waiting (free again for what they were passed over for there)."""
    trigger = {
        OfferStatus.DECLINED: Trigger.DECLINE_OFFER,
        OfferStatus.EXPIRED: Trigger.EXPIRE_OFFER,
        OfferStatus.WITHDRAWN: Trigger.WITHDRAW_OFFER,
    }[status]
    offer.status = status
    offer.answered_at = now if status is OfferStatus.DECLINED else None
    hold_id, offer.hold_id = offer.hold_id, None
    session.flush()
    if hold_id is not None:
        sharing = session.scalar(
            select(Offer.id).where(Offer.hold_id == hold_id, Offer.status == OfferStatus.OPEN)
        )
        if sharing is None:
            session.execute(delete(Hold).where(Hold.id == hold_id))
    vacancy = session.get_one(Vacancy, offer.vacancy_id)
    if vacancy.status is VacancyStatus.OPEN:
        vacancy.searched_at = None
    pathway = session.get_one(Pathway, offer.pathway_id)
    pathways.record(
        session, pathway, trigger, actor, now, reason=reason, data={"offer_id": offer.id}
    )
    return vacancy.site_id if pathway.waitlisted else None


def _answering(session: Session, offer_id: int) -> tuple[Offer, Vacancy]:
    """The offer and its vacancy, both locked: the vacancy's row first.

    Answers to offers of one vacancy queue on its row. The first acceptance deletes the
    shared hold (which sets the other offers' ``hold_id`` to NULL) and closes the other
    offers: it writes their rows. An answer that held its own offer's row while waiting
    for the vacancy's would deadlock with it, so no answer takes an offer's row first.
    """
    vacancy_id = found(
        session.scalar(select(Offer.vacancy_id).where(Offer.id == offer_id)), "offer", offer_id
    )
    vacancy = session.get_one(
        Vacancy, vacancy_id, with_for_update={"of": Vacancy}, populate_existing=True
    )
    return get_offer(session, offer_id, lock=True), vacancy


def _require_open(offer: Offer, now: datetime) -> None:
    if offer.status is not OfferStatus.OPEN:
        raise OfferClosed(offer.id, f"is {offer.status.value}")
    if offer.expires_at <= now:
        raise OfferClosed(offer.id, "has expired")


def accept(
    session: Session, now: datetime, offer_id: int, settings: BackfillSettings
) -> Appointment:
    """Book the offered slot for the patient (every check of a booking, the invite sent),
    and close the vacancy's other offers; a second or late acceptance is refused."""
    # The vacancy's row serialises acceptances of offers sharing one slot.
    offer, vacancy = _answering(session, offer_id)
    _require_open(offer, now)
    if vacancy.status is not VacancyStatus.OPEN:
        raise OfferClosed(offer.id, "was taken by someone else")
    pathway = session.get_one(Pathway, offer.pathway_id)
    if not pathway.waitlisted:
        raise OfferClosed(offer.id, "no longer applies: the pathway left the waitlist")
    if offer.hold_id is not None:
        session.execute(delete(Hold).where(Hold.id == offer.hold_id))
        offer.hold_id = None
        session.flush()
    pathways.record(
        session, pathway, Trigger.ACCEPT_OFFER, SYSTEM, now, data={"offer_id": offer.id}
    )
    try:
        appointment = booking.book_appointment(
            session,
            SYSTEM,
            now,
            pathway_id=offer.pathway_id,
            kind=offer.kind,
            start=offer.start_at,
            room_id=offer.room_id,
            clinician_id=offer.clinician_id,
            method=offer.method,
            reminder_before=settings.reminder_before,
        )
    except DomainError as error:
        raise OfferClosed(offer.id, "can no longer be booked") from error
    offer.status = OfferStatus.ACCEPTED
    offer.answered_at = now
    offer.appointment_id = appointment.id
    vacancy.status = VacancyStatus.FILLED
    vacancy.filled_appointment_id = appointment.id
    vacancy.closed_at = now
    freed = [
        _close(session, now, other, OfferStatus.WITHDRAWN, reason="taken by another patient")
        for other in _open_offers(session, Offer.vacancy_id == vacancy.id, Offer.id != offer.id)
    ]
    _reopen_unfilled(session, freed, now)
    session.flush()
    return appointment


def decline(session: Session, now: datetime, offer_id: int) -> Offer:
    """The patient does not want this slot; they stay on the list, the next one gets it."""
    offer, _vacancy = _answering(session, offer_id)
    _require_open(offer, now)
    _reopen_unfilled(session, [_close(session, now, offer, OfferStatus.DECLINED)], now)
    return offer


def withdraw(session: Session, actor: Actor, now: datetime, offer_id: int) -> Offer:
    """A scheduler takes an open offer back; the next candidate gets the slot."""
    offer, _vacancy = _answering(session, offer_id)
    _require_open(offer, now)
    freed = _close(
        session, now, offer, OfferStatus.WITHDRAWN, actor=actor, reason="withdrawn by the desk"
    )
    _reopen_unfilled(session, [freed], now)
    return offer


# ---------------------------------------------------------------------------------------
# The worker's steps


def expire_due(session: Session, now: datetime) -> int:
    """Close offers past their time, and offers whose pathway left the list; each such
    vacancy is searched again. SKIP LOCKED, the offer with its vacancy: workers never
    wait on each other's rows, nor on an answer holding the vacancy (``_answering``)."""
    stale = list(
        session.scalars(
            select(Offer)
            .join(Pathway, Pathway.id == Offer.pathway_id)
            .join(Vacancy, Vacancy.id == Offer.vacancy_id)
            .where(
                Offer.status == OfferStatus.OPEN,
                (Offer.expires_at <= now) | ~Pathway.waitlisted,
            )
            .order_by(Offer.id)
            .limit(100)
            .with_for_update(skip_locked=True, of=(Offer, Vacancy))
        )
    )
    freed = [
        _close(session, now, offer, OfferStatus.EXPIRED)
        if offer.expires_at <= now
        else _close(session, now, offer, OfferStatus.WITHDRAWN, reason="left the list")
        for offer in stale
    ]
    _reopen_unfilled(session, freed, now)  # once for the pass, not once an offer
    return len(stale)


def claim_vacancy(session: Session) -> Vacancy | None:
    """The oldest open vacancy waiting for a search (none of its offers in flight)."""
    in_flight = exists().where(Offer.vacancy_id == Vacancy.id, Offer.status == OfferStatus.OPEN)
    return session.scalars(
        select(Vacancy)
        .where(Vacancy.status == VacancyStatus.OPEN, Vacancy.searched_at.is_(None), ~in_flight)
        .order_by(Vacancy.id)
        .limit(1)
        .with_for_update(skip_locked=True, of=Vacancy)
    ).first()


def offer_of_token(session: Session, offer_id: int | None) -> Offer:
    """The offer a signed link names (404 for a token that is not ours)."""
    if offer_id is None:
        raise NotFound("offer", "link")
    return get_offer(session, offer_id)
