"""Patient registration and search."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from scheduler.access import Actor, require_patient_access
from scheduler.errors import Conflict, Forbidden, InvalidInput, NotFound
from scheduler.patients.models import Patient


def get_patient(session: Session, actor: Actor, patient_id: int) -> Patient:
    require_patient_access(actor, patient_id)
    patient = session.get(Patient, patient_id)
    if patient is None:
        raise NotFound("patient", patient_id)
    return patient


def register_patient(session: Session, now: datetime, **fields: Any) -> Patient:
    birth_date: date = fields["birth_date"]
    if birth_date > now.date() or birth_date.year < 1900:
        raise InvalidInput.field("birth_date", "Must be a real date of birth in the past.")
    if session.scalar(select(Patient.id).where(Patient.mrn == fields["mrn"])) is not None:
        raise Conflict("A patient with this MRN already exists.")
    patient = Patient(created_at=now, **fields)
    session.add(patient)
    session.flush()
    return patient


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
