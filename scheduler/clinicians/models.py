"""Clinicians, their weekly working hours per site (site-local wall clock), the hours they
had before (for the reports) and time off."""

from __future__ import annotations

from datetime import datetime, time

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from scheduler.db import Base, enum_type
from scheduler.vocabulary import AppointmentKind


class Clinician(Base):
    __tablename__ = "clinicians"

    id: Mapped[int] = mapped_column(primary_key=True)
    given_name: Mapped[str] = mapped_column(String(80))
    family_name: Mapped[str] = mapped_column(String(80))
    email: Mapped[str | None] = mapped_column(String(254))
    # The calendar feed's secret is shown once; only its SHA-256 is kept (feeds/services.py).
    feed_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True, index=True)
    feed_token_created_at: Mapped[datetime | None]


class WorkingHours(Base):
    """A weekly interval at a site, in that site's wall-clock time (stays 08:00 over DST)."""

    __tablename__ = "working_hours"
    __table_args__ = (
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday"),
        CheckConstraint("end_time > start_time", name="end_after_start"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    clinician_id: Mapped[int] = mapped_column(
        ForeignKey("clinicians.id", ondelete="CASCADE"), index=True
    )
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="RESTRICT"), index=True)
    weekday: Mapped[int]  # 0 = Monday, as datetime.date.weekday()
    start_time: Mapped[time]
    end_time: Mapped[time]
    # When these hours were set (None: before this was recorded, so as if always).
    since_at: Mapped[datetime | None]


class PastWorkingHours(Base):
    """Weekly hours a replacement ended, with when they held: the reports measure a past
    day against the hours of that day, not today's. Written only when hours are replaced;
    nothing that books reads them."""

    __tablename__ = "working_hours_past"
    __table_args__ = (
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday"),
        CheckConstraint("end_time > start_time", name="end_after_start"),
        CheckConstraint(
            "valid_from IS NULL OR valid_until > valid_from", name="valid_until_after_from"
        ),
        Index("ix_working_hours_past_site_id_valid_until", "site_id", "valid_until"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    clinician_id: Mapped[int] = mapped_column(
        ForeignKey("clinicians.id", ondelete="CASCADE"), index=True
    )
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="RESTRICT"))
    weekday: Mapped[int]
    start_time: Mapped[time]
    end_time: Mapped[time]
    valid_from: Mapped[datetime | None]  # None: since before this was recorded
    valid_until: Mapped[datetime]


class TimeOff(Base):
    __tablename__ = "time_off"
    __table_args__ = (CheckConstraint("end_at > start_at", name="end_after_start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    clinician_id: Mapped[int] = mapped_column(
        ForeignKey("clinicians.id", ondelete="CASCADE"), index=True
    )
    start_at: Mapped[datetime]
    end_at: Mapped[datetime]
    reason: Mapped[str | None] = mapped_column(String(200))


class ClinicianDuration(Base):
    """A clinician's own length for one appointment kind, instead of the default."""

    __tablename__ = "clinician_durations"
    __table_args__ = (CheckConstraint("minutes BETWEEN 5 AND 480", name="minutes"),)

    clinician_id: Mapped[int] = mapped_column(
        ForeignKey("clinicians.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[AppointmentKind] = mapped_column(
        enum_type(AppointmentKind, "kind"), primary_key=True
    )
    minutes: Mapped[int]
