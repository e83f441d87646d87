"""Appointments: one booked time for one pathway step, at a site, room and clinician."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from scheduler.db import Base, enum_type
from scheduler.facilities.models import Site
from scheduler.vocabulary import AppointmentKind, AppointmentStatus, Method, Side


class Appointment(Base):
    __tablename__ = "appointments"
    __table_args__ = (
        CheckConstraint("end_at > start_at", name="end_after_start"),
        CheckConstraint("(kind = 'procedure') = (method IS NOT NULL)", name="procedure_method"),
        CheckConstraint("version >= 1", name="version_positive"),
        Index(None, "clinician_id", "start_at"),
        Index(None, "room_id", "start_at"),
        Index(None, "patient_id", "start_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
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
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    booked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))

    site: Mapped[Site] = relationship(lazy="joined", innerjoin=True)

    @property
    def timezone(self) -> str:
        """The site's IANA zone, in which the appointment is shown."""
        return self.site.timezone
