"""Pathways: referral, reading with access rules, transitions with their events, and what
the referral documents (conservative care, coverage acknowledgments).

Every state change goes through :func:`transition`, which applies the pure state
machine and writes the event in the caller's transaction, so the state and its
history can never disagree (SPEC §2).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any, TypeVar

from sqlalchemy import Select, delete, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.interfaces import ORMOption

from scheduler.access import Actor, require_case_write, require_patient_access
from scheduler.clinicians.models import Clinician
from scheduler.clock import local_date
from scheduler.db import found, referenced, saved
from scheduler.errors import InvalidInput
from scheduler.facilities.models import Site
from scheduler.pathways.models import (
    ConservativeTreatment,
    CoverageAcknowledgment,
    Pathway,
    PathwayEvent,
)
from scheduler.pathways.referral import Referral, referral_target
from scheduler.pathways.states import (
    BOOKING_TRIGGERS,
    TERMINAL,
    WAITLIST_EVENTS,
    WAITLISTABLE,
    PathwayState,
    Trigger,
    apply,
)
from scheduler.patients.models import Patient
from scheduler.policies.booking_rules import Treatment
from scheduler.policies.services import DEFAULT_POLICY, latest_policy, policy_of
from scheduler.vocabulary import AcknowledgmentKind
from scheduler.waitlist.models import WaitlistEntry


def site_today(session: Session, pathway: Pathway, now: datetime) -> date:
    site = session.get_one(Site, pathway.site_id)
    return local_date(now, site.timezone)


# ---------------------------------------------------------------------------------------
# Reading with access rules


def get_pathway(
    session: Session,
    actor: Actor,
    pathway_id: int,
    *,
    lock: bool = False,
    load: Sequence[ORMOption] = (),
) -> Pathway:
    """The pathway, if ``actor`` may see it; ``lock`` serialises writers on PostgreSQL,
    ``load`` brings related rows in the same query.

    A patient asking for someone else's pathway and for a missing one gets the same
    403, so ids reveal nothing.
    """
    # FOR UPDATE OF the pathway only: the policy row joined in is shared by every pathway
    # under that version, and locking it would queue unrelated bookings behind each other.
    lock_row = {"of": Pathway} if lock else None
    pathway = session.get(Pathway, pathway_id, with_for_update=lock_row, options=load)
    require_patient_access(actor, pathway.patient_id if pathway else None)
    return found(pathway, "pathway", pathway_id)


def list_statement(actor: Actor, filters: dict[str, Any]) -> Select[Pathway]:
    statement = select(Pathway).order_by(Pathway.id)
    if actor.is_patient:
        statement = statement.where(Pathway.patient_id == actor.patient_id)
    for name in ("patient_id", "clinician_id", "state"):
        if name in filters:
            statement = statement.where(getattr(Pathway, name) == filters[name])
    return statement


def pathways_of_patients(session: Session, patient_ids: Iterable[int]) -> dict[int, list[Pathway]]:
    """Each patient's pathways, oldest first, in one query (a search result's links)."""
    grouped: dict[int, list[Pathway]] = {}
    for pathway in session.scalars(
        select(Pathway).where(Pathway.patient_id.in_(set(patient_ids))).order_by(Pathway.id)
    ):
        grouped.setdefault(pathway.patient_id, []).append(pathway)
    return grouped


def events_statement(pathway: Pathway) -> Select[PathwayEvent]:
    return (
        select(PathwayEvent).where(PathwayEvent.pathway_id == pathway.id).order_by(PathwayEvent.id)
    )


Documented = TypeVar("Documented", ConservativeTreatment, CoverageAcknowledgment)


def _documented(
    session: Session, actor: Actor, pathway_id: int, model: type[Documented], *order: Any
) -> list[Documented]:
    pathway = get_pathway(session, actor, pathway_id)
    statement = select(model).where(model.pathway_id == pathway.id).order_by(*order, model.id)
    return list(session.scalars(statement))


def treatments(session: Session, actor: Actor, pathway_id: int) -> list[ConservativeTreatment]:
    """The conservative care recorded on the pathway, by start date."""
    model = ConservativeTreatment
    return _documented(session, actor, pathway_id, model, model.start_date)


def acknowledgments(
    session: Session, actor: Actor, pathway_id: int
) -> list[CoverageAcknowledgment]:
    """The self-pay agreements and ABNs signed for the pathway, as recorded."""
    return _documented(session, actor, pathway_id, CoverageAcknowledgment)


# ---------------------------------------------------------------------------------------
# Transitions


def transition(
    session: Session,
    pathway: Pathway,
    trigger: Trigger,
    actor: Actor,
    now: datetime,
    *,
    reason: str | None = None,
    data: dict[str, Any] | None = None,
    appointment_id: int | None = None,
    previous: PathwayState | None = None,
) -> PathwayEvent:
    """Fire ``trigger``: move the pathway and append its event (raises when illegal)."""
    target = apply(pathway.state, trigger, previous=previous)
    event = _event(
        pathway,
        pathway.state,
        target,
        trigger,
        actor,
        now,
        data,
        reason=reason,
        appointment_id=appointment_id,
    )
    pathway.state = target
    pathway.updated_at = now
    saved(session, event)
    if pathway.waitlisted and target not in WAITLISTABLE:
        leave_waitlist(session, pathway, actor, now, reason=f"pathway {target.value}")
    return event


def record(
    session: Session,
    pathway: Pathway,
    trigger: Trigger,
    actor: Actor,
    now: datetime,
    *,
    data: dict[str, Any] | None = None,
    reason: str | None = None,
    appointment_id: int | None = None,
) -> PathwayEvent:
    """Append a waitlist fact to the pathway's history; the state stays where it is."""
    if trigger not in WAITLIST_EVENTS:
        raise ValueError(f"{trigger.value} moves the pathway: use transition()")
    event = _event(
        pathway,
        pathway.state,
        pathway.state,
        trigger,
        actor,
        now,
        data,
        reason=reason,
        appointment_id=appointment_id,
    )
    return saved(session, event)


def leave_waitlist(
    session: Session, pathway: Pathway, actor: Actor, now: datetime, *, reason: str
) -> None:
    """Take the pathway off the waitlist (booked, closed, or taken off), with its event.

    Offers still open for it are withdrawn by the backfill when it next looks (they can
    no longer be accepted: an acceptance needs the pathway on the list).
    """
    session.execute(delete(WaitlistEntry).where(WaitlistEntry.pathway_id == pathway.id))
    pathway.waitlisted = False
    record(session, pathway, Trigger.LEAVE_WAITLIST, actor, now, reason=reason)


def _event(
    pathway: Pathway,
    before: PathwayState | None,
    after: PathwayState,
    trigger: Trigger,
    actor: Actor,
    now: datetime,
    data: dict[str, Any] | None,
    *,
    reason: str | None = None,
    appointment_id: int | None = None,
) -> PathwayEvent:
    """One line of the pathway's history (appended, never changed: SPEC §2)."""
    return PathwayEvent(
        pathway_id=pathway.id,
        from_state=before,
        to_state=after,
        trigger=trigger,
        actor_id=actor.user_id,
        at=now,
        reason=reason,
        data=data or {},
        appointment_id=appointment_id,
    )


def state_before_booking(session: Session, appointment_id: int) -> PathwayState:
    """The pathway's state before the appointment was booked (where a cancel returns to)."""
    before = session.scalar(
        select(PathwayEvent.from_state)
        .where(
            PathwayEvent.appointment_id == appointment_id,
            PathwayEvent.trigger.in_(BOOKING_TRIGGERS),
        )
        .order_by(PathwayEvent.id)
        .limit(1)
    )
    if before is None:
        raise InvalidInput.field("appointment_id", "This appointment has no booking event.")
    return before


def require_open(pathway: Pathway) -> None:
    """Nothing more can be recorded or booked on a completed or cancelled pathway."""
    if pathway.state in TERMINAL:
        raise InvalidInput.field("pathway_id", f"The pathway is {pathway.state.value}.")


# ---------------------------------------------------------------------------------------
# Referral and what it documents


def create_pathway(session: Session, actor: Actor, now: datetime, referral: Referral) -> Pathway:
    """A referral: the pathway starts in ``referred`` under the policy's latest version."""
    referenced(session, Patient, referral.patient_id, "patient_id")
    referenced(session, Clinician, referral.clinician_id, "clinician_id")
    site = referenced(session, Site, referral.site_id, "site_id")
    record = latest_policy(session, referral.policy or DEFAULT_POLICY)
    today = local_date(now, site.timezone)
    target = referral_target(record.name, policy_of(record).parameters, referral, today)
    # The referral's fields are the pathway's columns, but for the policy (pinned by id).
    columns = {name: value for name, value in vars(referral).items() if name != "policy"}
    nerve = referral.target_nerve or target.target_nerve
    columns |= {"levels": list(referral.levels), "target_nerve": nerve}
    pathway = Pathway(
        **columns, policy_id=record.id, state=PathwayState.REFERRED, created_at=now, updated_at=now
    )
    saved(session, pathway)
    pinned = {"policy": record.name, "policy_version": record.version}
    saved(session, _event(pathway, None, pathway.state, Trigger.CREATE, actor, now, pinned))
    return pathway


def add_conservative_treatment(
    session: Session, actor: Actor, now: datetime, pathway_id: int, treatment: Treatment
) -> ConservativeTreatment:
    """A course of physical therapy, medication or injections before the referral."""
    pathway = get_pathway(session, actor, pathway_id, lock=True)
    require_case_write(actor, pathway.clinician_id)
    require_open(pathway)
    today = site_today(session, pathway, now)
    errors: dict[str, list[str]] = {}
    if treatment.start_date > today:
        errors["start_date"] = ["Must not be in the future."]
    if treatment.end_date and treatment.end_date > today:
        errors["end_date"] = ["Must not be in the future."]
    if errors:
        raise InvalidInput(errors)
    recorded = ConservativeTreatment(
        pathway_id=pathway.id, recorded_at=now, recorded_by_id=actor.user_id, **vars(treatment)
    )
    return saved(session, recorded)


def add_coverage_acknowledgment(
    session: Session,
    actor: Actor,
    now: datetime,
    pathway_id: int,
    *,
    kind: AcknowledgmentKind,
    signed_on: date,
) -> CoverageAcknowledgment:
    """A signed self-pay agreement or ABN, for a service the policy marks not covered."""
    pathway = get_pathway(session, actor, pathway_id, lock=True)
    require_open(pathway)
    if signed_on > site_today(session, pathway, now):
        raise InvalidInput.field("signed_on", "Must not be in the future.")
    return saved(
        session,
        CoverageAcknowledgment(
            pathway_id=pathway.id,
            kind=kind,
            signed_on=signed_on,
            recorded_at=now,
            recorded_by_id=actor.user_id,
        ),
    )
