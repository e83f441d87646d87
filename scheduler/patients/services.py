"""Patient registration and search."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Final

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


# Dates of birth as a search may type them: ISO (1960-05-17), the US month first with
# slashes (5/17/1960) and the European day first with dots (17.05.1960). The separator
# tells the order, so none is ambiguous; two-digit years are (1920 or 2020?), so no.
BIRTH_DATES: Final = (
    re.compile(r"(?P<y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})"),
    re.compile(r"(?P<m>\d{1,2})/(?P<d>\d{1,2})/(?P<y>\d{4})"),
    re.compile(r"(?P<d>\d{1,2})\.(?P<m>\d{1,2})\.(?P<y>\d{4})"),
)
LIKE_ESCAPE: Final = "\\"


def birth_date_in(token: str) -> date | None:
    """The date ``token`` spells in one of the layouts of :data:`BIRTH_DATES`, if any."""
    for pattern in BIRTH_DATES:
        spelled = pattern.fullmatch(token)
        if spelled is None:
            continue
        try:
            return date(int(spelled["y"]), int(spelled["m"]), int(spelled["d"]))
        except ValueError:
            return None
    return None


def _literal(token: str) -> str:
    """``token`` for a LIKE pattern: its own ``%``, ``_`` and escape match themselves."""
    return "".join(LIKE_ESCAPE + c if c in {"%", "_", LIKE_ESCAPE} else c for c in token)


def search_statement(actor: Actor, query: str | None) -> Select[Patient]:
    """Patients matching every word of ``query``, by name.

    A word is a date of birth (see :data:`BIRTH_DATE_FORMATS`), or the start of the given
    or family name ("ann smi" finds Ann Smith; "Smith, Ann", the pages' own way to write a
    name, too), or a part of the MRN ("0042" finds MRN00042). What is typed is matched
    literally: ``%`` and ``_`` are no wildcards.
    """
    if actor.is_patient:
        raise Forbidden("Patients cannot search patients.")
    statement = select(Patient).order_by(Patient.family_name, Patient.given_name, Patient.id)
    for token in (query or "").replace(",", " ").split():
        born = birth_date_in(token)
        if born is not None:
            statement = statement.where(Patient.birth_date == born)
            continue
        word = _literal(token.lower())
        statement = statement.where(
            or_(
                func.lower(Patient.mrn).like(f"%{word}%", escape=LIKE_ESCAPE),
                func.lower(Patient.family_name).like(word + "%", escape=LIKE_ESCAPE),
                func.lower(Patient.given_name).like(word + "%", escape=LIKE_ESCAPE),
            )
        )
    return statement


def match_statement(
    actor: Actor,
    *,
    mrn: str | None = None,
    family: str | None = None,
    given: str | None = None,
    born: tuple[str, date] | None = None,
) -> Select[Patient]:
    """Patients by field, as a standard search asks (FHIR Patient): the MRN exactly, the
    family and given names by their start in any case, the birth date compared by
    ``born`` = (eq|ne|gt|lt|ge|le, day). A patient finds only themselves."""
    statement = select(Patient).order_by(Patient.family_name, Patient.given_name, Patient.id)
    if actor.is_patient:
        statement = statement.where(Patient.id == actor.patient_id)
    if mrn is not None:
        statement = statement.where(Patient.mrn == mrn)
    for column, start in ((Patient.family_name, family), (Patient.given_name, given)):
        if start is not None:
            pattern = _literal(start.lower()) + "%"
            statement = statement.where(func.lower(column).like(pattern, escape=LIKE_ESCAPE))
    if born is not None:
        op, day = born
        compared = {
            "eq": Patient.birth_date == day,
            "ne": Patient.birth_date != day,
            "gt": Patient.birth_date > day,
            "lt": Patient.birth_date < day,
            "ge": Patient.birth_date >= day,
            "le": Patient.birth_date <= day,
        }
        statement = statement.where(compared[op])
    return statement
