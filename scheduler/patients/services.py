"""Patient registration and search."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from scheduler.access import Actor, require_patient_access
from scheduler.db import found, saved, unique
from scheduler.errors import Forbidden, InvalidInput
from scheduler.patients.models import Patient


def get_patient(session: Session, actor: Actor, patient_id: int) -> Patient:
    require_patient_access(actor, patient_id)
    return found(session.get(Patient, patient_id), "patient", patient_id)


def register_patient(
    session: Session,
    actor: Actor,
    now: datetime,
    *,
    mrn: str,
    given_name: str,
    family_name: str,
    birth_date: date,
    email: str | None = None,
    phone: str | None = None,
) -> Patient:
    if birth_date > now.date() or birth_date.year < 1900:
        raise InvalidInput.field("birth_date", "Must be a real date of birth in the past.")
    unique(session, "A patient with this MRN already exists.", Patient.mrn == mrn)
    return saved(
        session,
        Patient(
            mrn=mrn,
            given_name=given_name,
            family_name=family_name,
            birth_date=birth_date,
            email=email,
            phone=phone,
            created_at=now,
        ),
    )


def search_statement(actor: Actor, query: str | None) -> Select[Patient]:
    """Patients matching an MRN or name prefixes ("ann smi" finds Ann Smith), by name."""
    if actor.is_patient:
        raise Forbidden("Patients cannot search patients.")
    statement = select(Patient).order_by(Patient.family_name, Patient.given_name, Patient.id)
    for token in (query or "").split():
        prefix = token.lower().replace("\\", "").replace("%", "").replace("_", "") + "%"
        statement = statement.where(
            or_(
                func.lower(Patient.mrn) == token.lower(),
                func.lower(Patient.family_name).like(prefix),
                func.lower(Patient.given_name).like(prefix),
            )
        )
    return statement
