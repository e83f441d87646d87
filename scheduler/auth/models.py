"""Users and their API tokens. Passwords are argon2 hashes; tokens are stored as SHA-256."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from scheduler.db import Base, enum_type
from scheduler.vocabulary import Role


class User(Base):
    __tablename__ = "users"
    __table_args__ = (
        # A clinician or patient login is always linked to its record; others never are.
        CheckConstraint("(role = 'clinician') = (clinician_id IS NOT NULL)", name="clinician_link"),
        CheckConstraint("(role = 'patient') = (patient_id IS NOT NULL)", name="patient_link"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(enum_type(Role, "role"))
    clinician_id: Mapped[int | None] = mapped_column(
        ForeignKey("clinicians.id", ondelete="RESTRICT"), unique=True
    )
    patient_id: Mapped[int | None] = mapped_column(
        ForeignKey("patients.id", ondelete="RESTRICT"), unique=True
    )
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
