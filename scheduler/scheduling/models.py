"""Appointments: one booked time for one pathway step, at a site, room and clinician."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from scheduler.db import Base, enum_type
from scheduler.facilities.models import Site
from scheduler.vocabulary import AppointmentKind, AppointmentStatus, Method, ResourceKind, Side


class Appointment(Base):
    __tablename__ = "appointments"
    __table_args__ = (
        CheckConstraint("end_at > start_at", name="end_after_start"),
        CheckConstraint("(kind = 'procedure') = (method IS NOT NULL)", name="procedure_method"),
        CheckConstraint("version >= 1", name="version_positive"),
        Index(None, "clinician_id", "start_at"),
        Index(None, "room_id", "start_at"),
        Index(None, "patient_id", "start_at"),
        Index(None, "site_id", "start_at"),  # the reports: a site's days
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The calendar UID of the patient's invite: random, and never changed by a reschedule,
    # so calendars update the event in place (RFC 5545 §3.8.4.7).
    ical_uid: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    pathway_id: Mapped[int] = mapped_column(
        ForeignKey("pathways.id", ondelete="RESTRICT"), index=True
    )
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="RESTRICT"))
    clinician_id: Mapped[int] = mapped_column(ForeignKey("clinicians.id", ondelete="RESTRICT"))
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="RESTRICT"))
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id", ondelete="RESTRICT"))
    kind: Mapped[AppointmentKind] = mapped_column(enum_type(AppointmentKind, "kind"))
    status: Mapped[AppointmentStatus] = mapped_column(enum_type(AppointmentStatus, "status"))
    start_at: Mapped[datetime]
    end_at: Mapped[datetime]
    method: Mapped[Method | None] = mapped_column(enum_type(Method, "method"))
    side: Mapped[Side] = mapped_column(enum_type(Side, "side"))
    levels: Mapped[list[str]]
    version: Mapped[int] = mapped_column(default=1)
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    # Set when time off or new working hours leave the booked time without its clinician
    # (the admin confirmed it); cleared when the appointment is moved or taken off.
    rebook_reason: Mapped[str | None] = mapped_column(Text)
    rebook_since: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    booked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))

    site: Mapped[Site] = relationship(lazy="joined", innerjoin=True)
    # Loaded for a whole list in one more query; read-only (services write the rows).
    allocations: Mapped[list[Allocation]] = relationship(
        lazy="selectin", viewonly=True, order_by="Allocation.id"
    )

    @property
    def timezone(self) -> str:
        """The site's IANA zone, in which the appointment is shown."""
        return self.site.timezone

    @property
    def equipment_ids(self) -> list[int]:
        return [a.resource_id for a in self._held(ResourceKind.EQUIPMENT)]

    @property
    def recovery_bay_id(self) -> int | None:
        bays = self._held(ResourceKind.RECOVERY_BAY)
        return bays[0].resource_id if bays else None

    def _held(self, kind: ResourceKind) -> list[Allocation]:
        return [a for a in self.allocations if a.resource_kind is kind and a.active]


class Hold(Base):
    """One offered slot's resources, reserved for a short time while a scheduler confirms.

    The id is random (it is the ``hold_id`` clients send back), so holds cannot be guessed.
    """

    __tablename__ = "holds"
    __table_args__ = (CheckConstraint("end_at > start_at", name="end_after_start"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    pathway_id: Mapped[int] = mapped_column(
        ForeignKey("pathways.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[AppointmentKind] = mapped_column(enum_type(AppointmentKind, "kind"))
    method: Mapped[Method | None] = mapped_column(enum_type(Method, "method"))
    clinician_id: Mapped[int] = mapped_column(ForeignKey("clinicians.id", ondelete="CASCADE"))
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"))
    start_at: Mapped[datetime]
    end_at: Mapped[datetime]
    # A move's hold: the booked appointment that takes this slot once the move is confirmed.
    appointment_id: Mapped[int | None] = mapped_column(
        ForeignKey("appointments.id", ondelete="CASCADE")
    )
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)


class Allocation(Base):
    """One resource reserved for one interval, by an appointment or a hold.

    The rows, not the appointments, are what makes double booking impossible: on
    PostgreSQL an exclusion constraint per resource kind forbids two active rows of the
    same resource with overlapping intervals (see the migration). Allocations are never
    longer than a day, which lets interval queries use the (resource, start) index.
    """

    __tablename__ = "allocations"
    __table_args__ = (
        CheckConstraint("end_at > start_at", name="end_after_start"),
        CheckConstraint("(appointment_id IS NULL) <> (hold_id IS NULL)", name="one_owner"),
        Index(None, "resource_kind", "resource_id", "start_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    appointment_id: Mapped[int | None] = mapped_column(
        ForeignKey("appointments.id", ondelete="CASCADE"), index=True
    )
    hold_id: Mapped[str | None] = mapped_column(
        ForeignKey("holds.id", ondelete="CASCADE"), index=True
    )
    resource_kind: Mapped[ResourceKind] = mapped_column(enum_type(ResourceKind, "resource_kind"))
    resource_id: Mapped[int]
    start_at: Mapped[datetime]
    end_at: Mapped[datetime]
    active: Mapped[bool] = mapped_column(default=True)


class IdempotencyKey(Base):
    """The first response to a request sent with an ``Idempotency-Key`` header, replayed."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("user_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(255))
    request_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[int]
    body: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(index=True)
