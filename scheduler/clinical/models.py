"""Clinical records along the pathway, each on its appointment (SPEC §1).

A diagnostic block's result, the procedure day (check-in, procedure, recovery scores,
discharge or admission) and the follow-up outcome. Each row is written once by the step
that records it; a recovery score is one scoring, so a patient has many.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from scheduler.db import Base, Recorded, RecordedBy, enum_type
from scheduler.policies.booking_rules import BlockOutcome
from scheduler.vocabulary import AnticoagulationStatus, DischargeOutcome, Method, RecoveryScale


class OnAppointment:
    """Mixin: a record of which an appointment has one, and only one."""

    id: Mapped[int] = mapped_column(primary_key=True)
    appointment_id: Mapped[int] = mapped_column(
        ForeignKey("appointments.id", ondelete="RESTRICT"), unique=True
    )


class BlockResult(OnAppointment, Recorded, Base):
    """Pain before and after a diagnostic block (0-10), how long relief lasted, and the
    policy's verdict (positive, positive with more needed, negative)."""

    __tablename__ = "block_results"
    __table_args__ = (
        CheckConstraint("pre_block_pain BETWEEN 1 AND 10", name="pre_block_pain"),
        CheckConstraint("post_block_pain BETWEEN 0 AND 10", name="post_block_pain"),
        CheckConstraint("relief_duration_hours >= 0", name="relief_duration"),
    )

    pre_block_pain: Mapped[int]
    post_block_pain: Mapped[int]
    relief_duration_hours: Mapped[float]
    # What the pathway's policy made of it when recorded (its event says the same).
    outcome: Mapped[BlockOutcome] = mapped_column(enum_type(BlockOutcome, "outcome"))


class CheckIn(OnAppointment, RecordedBy, Base):
    __tablename__ = "check_ins"

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


class ProcedureRecord(OnAppointment, Base):
    __tablename__ = "procedure_records"

    method: Mapped[Method] = mapped_column(enum_type(Method, "method"))
    levels_treated: Mapped[list[str] | None]
    complications: Mapped[list[str] | None]
    started_at: Mapped[datetime]
    started_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    finished_at: Mapped[datetime | None]
    finished_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))


class RecoveryScore(Recorded, Base):
    """One scoring of a recovery scale; items are 0-2 each, total 0-10.

    ``observed_at`` is when the nurse assessed the patient (what "latest" means);
    ``recorded_at`` when it was saved, which at a busy bay can be minutes later.
    """

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
    observed_at: Mapped[datetime]


class DischargeRecord(OnAppointment, RecordedBy, Base):
    """Same-day discharge, or admission recorded as the exception (with its reason)."""

    __tablename__ = "discharges"
    __table_args__ = (
        CheckConstraint("outcome = 'discharged' OR reason IS NOT NULL", name="admission_reason"),
    )

    outcome: Mapped[DischargeOutcome] = mapped_column(enum_type(DischargeOutcome, "outcome"))
    escort_present: Mapped[bool | None]
    written_instructions_given: Mapped[bool | None]
    reason: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime]


class FollowUpOutcome(OnAppointment, Recorded, Base):
    __tablename__ = "follow_up_outcomes"
    __table_args__ = (
        CheckConstraint("pain_score BETWEEN 0 AND 10", name="pain_score"),
        CheckConstraint("percent_relief BETWEEN 0 AND 100", name="percent_relief"),
        CheckConstraint("odi BETWEEN 0 AND 100", name="odi"),
    )

    pain_score: Mapped[int]
    percent_relief: Mapped[int]
    odi: Mapped[int | None]
    complications: Mapped[list[str]]
    physical_therapy_referred: Mapped[bool]
