"""Sites (with their IANA time zone), rooms and equipment."""

from __future__ import annotations

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from scheduler.db import Base, enum_type
from scheduler.vocabulary import EquipmentKind, Method, RoomKind


class Site(Base):
    """A clinic location; its scheduling settings apply to every appointment there."""

    __tablename__ = "sites"
    __table_args__ = (
        CheckConstraint("turnover_minutes BETWEEN 0 AND 240", name="turnover_minutes"),
        CheckConstraint("recovery_minutes BETWEEN 0 AND 720", name="recovery_minutes"),
        CheckConstraint("min_notice_minutes BETWEEN 0 AND 20160", name="min_notice_minutes"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    # What patients' invites, e-mails and pages call the site (SPEC §5); None: the name.
    # A name such as "... Spine & Pain Center" tells a lock screen what the visit is for.
    display_name: Mapped[str | None] = mapped_column(String(120))
    timezone: Mapped[str] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(Text)
    phone: Mapped[str | None] = mapped_column(String(40))
    # Room and equipment cleaning after a procedure (SPEC §4: 15 minutes).
    turnover_minutes: Mapped[int] = mapped_column(default=15, server_default=text("15"))
    # A recovery bay is occupied this long after a procedure ends.
    recovery_minutes: Mapped[int] = mapped_column(default=120, server_default=text("120"))
    # Nothing is booked sooner than this after "now".
    min_notice_minutes: Mapped[int] = mapped_column(default=60, server_default=text("60"))


class Room(Base):
    __tablename__ = "rooms"
    __table_args__ = (UniqueConstraint("site_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="RESTRICT"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    kind: Mapped[RoomKind] = mapped_column(enum_type(RoomKind, "kind"))
    fluoroscopy: Mapped[bool] = mapped_column(default=False)


class Equipment(Base):
    __tablename__ = "equipment"
    __table_args__ = (UniqueConstraint("site_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="RESTRICT"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    kind: Mapped[EquipmentKind] = mapped_column(enum_type(EquipmentKind, "kind"))


class RecoveryBay(Base):
    """A post-anaesthesia bed; every procedure needs one from its end for recovery."""

    __tablename__ = "recovery_bays"
    __table_args__ = (UniqueConstraint("site_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="RESTRICT"), index=True)
    name: Mapped[str] = mapped_column(String(80))


class MethodEquipment(Base):
    """Which equipment kinds a procedure method needs (one unit of each), as data."""

    __tablename__ = "method_equipment"

    method: Mapped[Method] = mapped_column(enum_type(Method, "method"), primary_key=True)
    equipment_kind: Mapped[EquipmentKind] = mapped_column(
        enum_type(EquipmentKind, "equipment_kind"), primary_key=True
    )
