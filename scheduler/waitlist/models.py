"""The waitlist: who waits for an earlier slot, the capacity that appears, and the offers
made from it (SPEC §10)."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from scheduler.db import Base, JSONType, enum_type
from scheduler.pathways.states import next_booking
from scheduler.vocabulary import (
    AppointmentKind,
    Method,
    OfferStatus,
    VacancySource,
    VacancyStatus,
    WaitlistPriority,
)

if TYPE_CHECKING:
    from scheduler.pathways.models import Pathway


class WaitlistEntry(Base):
    """A pathway waiting for an earlier slot for its next step (a block or the procedure).

    One per pathway; the row goes when the pathway leaves the list (booked, closed or
    taken off), and the pathway's history keeps what it said.
    """

    __tablename__ = "waitlist_entries"
    __table_args__ = (
        CheckConstraint("min_notice_hours >= 0", name="notice_not_negative"),
        Index(None, "priority", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    pathway_id: Mapped[int] = mapped_column(
        ForeignKey("pathways.id", ondelete="RESTRICT"), unique=True
    )
    # Site-local: no offer before this day (None: as soon as possible).
    earliest_date: Mapped[date | None]
    # Preferred weekdays (0 = Monday) and parts of the day; empty: any.
    weekdays: Mapped[list[int]] = mapped_column(JSONType)
    times_of_day: Mapped[list[str]] = mapped_column(JSONType)
    # The shortest notice the patient accepts: no offer starts sooner than this after it
    # is made, and an offer expires before the start comes closer than this.
    min_notice_hours: Mapped[int]
    # Whether another clinician than the pathway's own may do it.
    any_clinician: Mapped[bool] = mapped_column(default=False)
    priority: Mapped[WaitlistPriority] = mapped_column(enum_type(WaitlistPriority, "priority"))
    priority_set_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="RESTRICT")
    )
    priority_set_at: Mapped[datetime]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    # Read with the entry (the board and the API show its state, clinician and site).
    pathway: Mapped[Pathway] = relationship(lazy="joined", innerjoin=True, viewonly=True)

    @property
    def next_step(self) -> AppointmentKind | None:
        """What the pathway waits to book: a block or the procedure."""
        return next_booking(self.pathway.state)


class Vacancy(Base):
    """Capacity that appeared: a clinician's time at a site (and room) that waitlisted
    pathways may take; offers are made from it one candidate after another."""

    __tablename__ = "vacancies"
    __table_args__ = (
        CheckConstraint("end_at > start_at", name="end_after_start"),
        Index(None, "status", "id"),
        Index(None, "site_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[VacancySource] = mapped_column(enum_type(VacancySource, "source"))
    status: Mapped[VacancyStatus] = mapped_column(enum_type(VacancyStatus, "status"))
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="RESTRICT"))
    clinician_id: Mapped[int] = mapped_column(ForeignKey("clinicians.id", ondelete="RESTRICT"))
    # The room the freed appointment had (None: any room of the site).
    room_id: Mapped[int | None] = mapped_column(ForeignKey("rooms.id", ondelete="RESTRICT"))
    start_at: Mapped[datetime]
    end_at: Mapped[datetime]
    # The appointment whose cancellation or move freed it.
    freed_appointment_id: Mapped[int | None] = mapped_column(
        ForeignKey("appointments.id", ondelete="RESTRICT")
    )
    # The appointment an accepted offer booked in it.
    filled_appointment_id: Mapped[int | None] = mapped_column(
        ForeignKey("appointments.id", ondelete="RESTRICT")
    )
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    created_at: Mapped[datetime]
    # When the backfill looked last; an open vacancy with nothing in flight is looked at again.
    searched_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]


class Offer(Base):
    """One freed slot offered to one waitlisted pathway: held until it expires.

    The patient answers through signed links (their token is the offer's id, signed);
    several open offers of one vacancy share its hold, and the first acceptance wins.
    """

    __tablename__ = "offers"
    __table_args__ = (
        CheckConstraint("end_at > start_at", name="end_after_start"),
        CheckConstraint("expires_at > created_at", name="expires_after_created"),
        Index(None, "status", "expires_at"),
        Index(None, "vacancy_id", "status"),
        Index(None, "pathway_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    vacancy_id: Mapped[int] = mapped_column(ForeignKey("vacancies.id", ondelete="RESTRICT"))
    pathway_id: Mapped[int] = mapped_column(ForeignKey("pathways.id", ondelete="RESTRICT"))
    status: Mapped[OfferStatus] = mapped_column(enum_type(OfferStatus, "status"))
    # 1 = the first candidate tried for the vacancy.
    rank: Mapped[int]
    kind: Mapped[AppointmentKind] = mapped_column(enum_type(AppointmentKind, "kind"))
    method: Mapped[Method | None] = mapped_column(enum_type(Method, "method"))
    clinician_id: Mapped[int] = mapped_column(ForeignKey("clinicians.id", ondelete="RESTRICT"))
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id", ondelete="RESTRICT"))
    start_at: Mapped[datetime]
    end_at: Mapped[datetime]
    # The hold keeping the slot (gone once answered, expired or let go).
    hold_id: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("holds.id", ondelete="SET NULL")
    )
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    answered_at: Mapped[datetime | None]
    appointment_id: Mapped[int | None] = mapped_column(
        ForeignKey("appointments.id", ondelete="RESTRICT")
    )
