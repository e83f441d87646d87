"""Passwords, bearer tokens and user accounts.

Passwords are hashed with argon2id (argon2-cffi's defaults follow RFC 9106). A bearer
token is 32 random bytes, shown once; only its SHA-256 is stored, so a database leak
yields no usable token. Unknown e-mail and wrong password take the same time and give
the same answer.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Select, select, update
from sqlalchemy.orm import Session

from scheduler.access import Actor
from scheduler.auth.models import ApiToken, User
from scheduler.clinicians.models import Clinician
from scheduler.db import found, referenced, saved, unique
from scheduler.errors import InvalidInput, Unauthorized
from scheduler.patients.models import Patient
from scheduler.vocabulary import Role

MIN_PASSWORD_LENGTH = 10

_hasher = PasswordHasher()
# Verified against when the e-mail is unknown, so both paths cost one argon2 run.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def token_digest(raw_token: str) -> str:
    return hashlib.sha256(raw_token.encode()).hexdigest()


def normalise_email(email: str) -> str:
    return email.strip().lower()


def actor_for(user: User) -> Actor:
    return Actor(
        user_id=user.id,
        role=user.role,
        clinician_id=user.clinician_id,
        patient_id=user.patient_id,
    )


def authenticate(session: Session, email: str, password: str) -> User:
    user = session.scalar(select(User).where(User.email == normalise_email(email)))
    if user is None:
        verify_password(_DUMMY_HASH, password)
        raise Unauthorized("Wrong e-mail or password.")
    if not verify_password(user.password_hash, password) or not user.active:
        raise Unauthorized("Wrong e-mail or password.")
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


def issue_token(
    session: Session, user: User, now: datetime, ttl: timedelta
) -> tuple[str, ApiToken]:
    """A new bearer token for ``user``; the raw value is returned once and never stored."""
    raw = secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id, token_hash=token_digest(raw), created_at=now, expires_at=now + ttl
    )
    return raw, saved(session, token)


def users_statement() -> Select[User]:
    return select(User).order_by(User.id)


def users_by_role(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.role, User.email)))


def linked_records(session: Session, users: list[User]) -> dict[int, str]:
    """Each linked login's record in words, by user id: "Schmidt, David (MRN DEMO-1004)"
    or "Miriam Alvarez" (clinician); two queries, however many users."""
    patient_ids = {u.patient_id for u in users if u.patient_id is not None}
    clinician_ids = {u.clinician_id for u in users if u.clinician_id is not None}
    patients = {
        p.id: f"{p.family_name}, {p.given_name} (MRN {p.mrn})"
        for p in session.scalars(select(Patient).where(Patient.id.in_(patient_ids)))
    }
    clinicians = {
        c.id: f"{c.given_name} {c.family_name}"
        for c in session.scalars(select(Clinician).where(Clinician.id.in_(clinician_ids)))
    }
    return {
        u.id: patients.get(u.patient_id or 0) or clinicians.get(u.clinician_id or 0, "")
        for u in users
        if u.patient_id is not None or u.clinician_id is not None
    }


def get_user(session: Session, user_id: int | None) -> User:
    user = session.get(User, user_id) if user_id is not None else None
    return found(user, "user", user_id)


def resolve_token(session: Session, raw_token: str, now: datetime) -> User | None:
    """The active user a live token belongs to, or None (expired, revoked, unknown)."""
    return session.scalar(
        select(User)
        .join(ApiToken, ApiToken.user_id == User.id)
        .where(
            ApiToken.token_hash == token_digest(raw_token),
            ApiToken.revoked_at.is_(None),
            ApiToken.expires_at > now,
            User.active.is_(True),
        )
    )


def revoke_token(session: Session, raw_token: str, now: datetime) -> None:
    session.execute(
        update(ApiToken)
        .where(ApiToken.token_hash == token_digest(raw_token), ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def create_user(
    session: Session,
    actor: Actor,
    now: datetime,
    *,
    email: str,
    password: str,
    role: Role,
    clinician_id: int | None = None,
    patient_id: int | None = None,
) -> User:
    """A new login; clinician and patient logins must name the record they belong to."""
    errors: dict[str, list[str]] = {}
    if len(password) < MIN_PASSWORD_LENGTH:
        errors["password"] = [f"Use at least {MIN_PASSWORD_LENGTH} characters."]
    if (role is Role.CLINICIAN) != (clinician_id is not None):
        errors["clinician_id"] = ["Required for the clinician role, and only for it."]
    if (role is Role.PATIENT) != (patient_id is not None):
        errors["patient_id"] = ["Required for the patient role, and only for it."]
    if errors:
        raise InvalidInput(errors)
    if clinician_id is not None:
        referenced(session, Clinician, clinician_id, "clinician_id")
    if patient_id is not None:
        referenced(session, Patient, patient_id, "patient_id")
    email = normalise_email(email)
    unique(session, "A user with this e-mail already exists.", User.email == email)
    for column, value, what in (
        (User.clinician_id, clinician_id, "clinician"),
        (User.patient_id, patient_id, "patient"),
    ):
        if value is not None:
            unique(session, f"That {what} already has a login.", column == value)
    return saved(
        session,
        User(
            email=email,
            password_hash=hash_password(password),
            role=role,
            clinician_id=clinician_id,
            patient_id=patient_id,
            active=True,
            created_at=now,
        ),
    )
