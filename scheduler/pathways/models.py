"""Pathways, their append-only event history, and the clinical records along the way."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from scheduler.db import Base, enum_type
from scheduler.pathways.states import PathwayState, Trigger, allowed_triggers
from scheduler.vocabulary import (
    AcknowledgmentKind,
    AnticoagulationStatus,
    DischargeOutcome,
    Indication,
    Method,
    RecoveryScale,
    Region,
    Side,
    TargetNerve,
    TreatmentKind,
    TreatmentOutcome,
)

if TYPE_CHECKING:
    from scheduler.facilities.models import Site
    from scheduler.patients.models import Patient


class PolicyRecord(Base):
    """A published policy version; never updated (publish a new version instead)."""

    __tablename__ = "policies"
    __table_args__ = (
        UniqueConstraint("name", "version"),
        CheckConstraint("version >= 1", name="version_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    version: Mapped[int]
    title: Mapped[str] = mapped_column(String(200))
    parameters: Mapped[dict[str, Any]]
    published_at: Mapped[datetime]
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class Pathway(Base):
    __tablename__ = "pathways"

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
    __table_args__ = (Index(None, "pathway_id", "id"),)

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


class ConservativeTreatment(Base):
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
    recorded_at: Mapped[datetime]
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))


class CoverageAcknowledgment(Base):
    """Self-pay agreement or Advance Beneficiary Notice signed for a non-covered service."""

    __tablename__ = "coverage_acknowledgments"

    id: Mapped[int] = mapped_column(primary_key=True)
    pathway_id: Mapped[int] = mapped_column(
        ForeignKey("pathways.id", ondelete="RESTRICT"), index=True
    )
    kind: Mapped[AcknowledgmentKind] = mapped_column(enum_type(AcknowledgmentKind, "kind"))
    signed_on: Mapped[date]
    recorded_at: Mapped[datetime]
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))


class BlockResult(Base):
    """Pain before and after a diagnostic block (0-10) and how long relief lasted."""

    __tablename__ = "block_results"
    __table_args__ = (
        CheckConstraint("pre_block_pain BETWEEN 1 AND 10", name="pre_block_pain"),
        CheckConstraint("post_block_pain BETWEEN 0 AND 10", name="post_block_pain"),
        CheckConstraint("relief_duration_hours >= 0", name="relief_duration"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    appointment_id: Mapped[int] = mapped_column(
        ForeignKey("appointments.id", ondelete="RESTRICT"), unique=True
    )
    pre_block_pain: Mapped[int]
    post_block_pain: Mapped[int]
    relief_duration_hours: Mapped[float]
    recorded_at: Mapped[datetime]
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))


class CheckIn(Base):
    __tablename__ = "check_ins"

    id: Mapped[int] = mapped_column(primary_key=True)
    appointment_id: Mapped[int] = mapped_column(
        ForeignKey("appointments.id", ondelete="RESTRICT"), unique=True
    )
    consent_signed: Mapped[bool]
    escort_name: Mapped[str | None] = mapped_column(String(120))
    escort_phone: Mapped[str | None] = mapped_column(String(40))
    fasting_confirmed: Mapped[bool]
    last_clear_fluids_at: Mapped[datetime | None]
    last_light_meal_at: Mapped[datetime | None]
    last_heavy_meal_at: Mapped[datetime | None]
    anticoagulation_reviewed: Mapped[bool]
    anticoagulation_status: Mapped[AnticoagulationStatus | None] = mapped_column(
        enum_type(AnticoagulationStatus, "anticoagulation_status")
    )
    checked_in_at: Mapped[datetime]
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))


class ProcedureRecord(Base):
    __tablename__ = "procedure_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    appointment_id: Mapped[int] = mapped_column(
        ForeignKey("appointments.id", ondelete="RESTRICT"), unique=True
    )
    method: Mapped[Method] = mapped_column(enum_type(Method, "method"))
    levels_treated: Mapped[list[str] | None]
    complications: Mapped[list[str] | None]
    started_at: Mapped[datetime]
    started_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    finished_at: Mapped[datetime | None]
    finished_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))


class RecoveryScore(Base):
    """One scoring of a recovery scale; items are 0-2 each, total 0-10."""

    __tablename__ = "recovery_scores"
    __table_args__ = (
        CheckConstraint("total BETWEEN 0 AND 10", name="total"),
        Index(None, "appointment_id", "scale", "recorded_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    appointment_id: Mapped[int] = mapped_column(ForeignKey("appointments.id", ondelete="RESTRICT"))
    scale: Mapped[RecoveryScale] = mapped_column(enum_type(RecoveryScale, "scale"))
    items: Mapped[dict[str, Any]]
    total: Mapped[int]
    recorded_at: Mapped[datetime]
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))


class DischargeRecord(Base):
    """Same-day discharge, or admission recorded as the exception (with its reason)."""

    __tablename__ = "discharges"
    __table_args__ = (
        CheckConstraint("outcome = 'discharged' OR reason IS NOT NULL", name="admission_reason"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    appointment_id: Mapped[int] = mapped_column(
        ForeignKey("appointments.id", ondelete="RESTRICT"), unique=True
    )
    outcome: Mapped[DischargeOutcome] = mapped_column(enum_type(DischargeOutcome, "outcome"))
    escort_present: Mapped[bool | None]
    written_instructions_given: Mapped[bool | None]
    reason: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime]
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))


class FollowUpOutcome(Base):
    __tablename__ = "follow_up_outcomes"
    __table_args__ = (
        CheckConstraint("pain_score BETWEEN 0 AND 10", name="pain_score"),
        CheckConstraint("percent_relief BETWEEN 0 AND 100", name="percent_relief"),
        CheckConstraint("odi BETWEEN 0 AND 100", name="odi"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    appointment_id: Mapped[int] = mapped_column(
        ForeignKey("appointments.id", ondelete="RESTRICT"), unique=True
    )
    pain_score: Mapped[int]
    percent_relief: Mapped[int]
    odi: Mapped[int | None]
    complications: Mapped[list[str]]
    physical_therapy_referred: Mapped[bool]
    recorded_at: Mapped[datetime]
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
