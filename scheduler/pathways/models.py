"""Pathways, their append-only event history, and what the referral documents (SPEC §1)."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, Text, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from scheduler.db import Base, Recorded, enum_type
from scheduler.pathways.states import PathwayState, Trigger, allowed_triggers
from scheduler.policies.models import PolicyRecord
from scheduler.vocabulary import (
    AcknowledgmentKind,
    Indication,
    Method,
    Region,
    Side,
    TargetNerve,
    TreatmentKind,
    TreatmentOutcome,
)

if TYPE_CHECKING:
    from scheduler.facilities.models import Site
    from scheduler.patients.models import Patient


class Pathway(Base):
    __tablename__ = "pathways"
    # The reports' funnel: the pathways a site referred in a range of days.
    __table_args__ = (Index(None, "site_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(
        ForeignKey("patients.id", ondelete="RESTRICT"), index=True
    )
    clinician_id: Mapped[int] = mapped_column(
        ForeignKey("clinicians.id", ondelete="RESTRICT"), index=True
    )
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="RESTRICT"))
    policy_id: Mapped[int] = mapped_column(ForeignKey("policies.id", ondelete="RESTRICT"))
    indication: Mapped[Indication] = mapped_column(enum_type(Indication, "indication"))
    region: Mapped[Region] = mapped_column(enum_type(Region, "region"))
    side: Mapped[Side] = mapped_column(enum_type(Side, "side"))
    levels: Mapped[list[str]]
    target_nerve: Mapped[TargetNerve] = mapped_column(enum_type(TargetNerve, "target_nerve"))
    method: Mapped[Method] = mapped_column(enum_type(Method, "method"))
    sedation: Mapped[bool] = mapped_column(default=True)
    pain_onset_date: Mapped[date]
    state: Mapped[PathwayState] = mapped_column(enum_type(PathwayState, "state"), index=True)
    # On the waitlist (a waitlist_entries row exists): a booking or closing transition
    # takes it off without a query when this is false, as it nearly always is.
    waitlisted: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    policy: Mapped[PolicyRecord] = relationship(lazy="joined", innerjoin=True)
    # Loaded only when asked for (booking joins both into the pathway's locking read).
    site: Mapped[Site] = relationship(lazy="select", viewonly=True)
    patient: Mapped[Patient] = relationship(lazy="select", viewonly=True)

    @property
    def allowed_triggers(self) -> list[str]:
        return [trigger.value for trigger in allowed_triggers(self.state)]


class PathwayEvent(Base):
    """One transition; rows are only ever inserted (the database refuses updates/deletes)."""

    __tablename__ = "pathway_events"
    __table_args__ = (
        Index(None, "pathway_id", "id"),
        # The reports' funnel: each pathway's milestones (and reasons) from the index alone.
        Index(None, "pathway_id", "trigger", postgresql_include=["reason"]),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    pathway_id: Mapped[int] = mapped_column(ForeignKey("pathways.id", ondelete="RESTRICT"))
    from_state: Mapped[PathwayState | None] = mapped_column(enum_type(PathwayState, "from_state"))
    to_state: Mapped[PathwayState] = mapped_column(enum_type(PathwayState, "to_state"))
    trigger: Mapped[Trigger] = mapped_column(enum_type(Trigger, "trigger"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    at: Mapped[datetime]
    reason: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any]]
    appointment_id: Mapped[int | None] = mapped_column(
        ForeignKey("appointments.id", ondelete="RESTRICT"), index=True
    )


class ConservativeTreatment(Recorded, Base):
    __tablename__ = "conservative_treatments"
    __table_args__ = (
        CheckConstraint("end_date IS NULL OR end_date >= start_date", name="end_after_start"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    pathway_id: Mapped[int] = mapped_column(
        ForeignKey("pathways.id", ondelete="RESTRICT"), index=True
    )
    kind: Mapped[TreatmentKind] = mapped_column(enum_type(TreatmentKind, "kind"))
    start_date: Mapped[date]
    end_date: Mapped[date | None]
    outcome: Mapped[TreatmentOutcome | None] = mapped_column(enum_type(TreatmentOutcome, "outcome"))


class CoverageAcknowledgment(Recorded, Base):
    """Self-pay agreement or Advance Beneficiary Notice signed for a non-covered service."""

    __tablename__ = "coverage_acknowledgments"

    id: Mapped[int] = mapped_column(primary_key=True)
    pathway_id: Mapped[int] = mapped_column(
        ForeignKey("pathways.id", ondelete="RESTRICT"), index=True
    )
    kind: Mapped[AcknowledgmentKind] = mapped_column(enum_type(AcknowledgmentKind, "kind"))
    signed_on: Mapped[date]
