"""Who is acting, and the ownership rules every service applies (SPEC §1, §7).

The role check of each endpoint is the permission table (``auth/permissions.py``);
these functions add the row-level rules: a patient reaches only their own records,
and a clinician writes only on their own cases.
Pure module: no Flask, no SQLAlchemy.
"""

from __future__ import annotations

from dataclasses import dataclass

from scheduler.errors import Forbidden
from scheduler.vocabulary import Role

STAFF = frozenset({Role.ADMIN, Role.SCHEDULER, Role.CLINICIAN, Role.NURSE})


@dataclass(frozen=True)
class Actor:
    """The user behind a request or command (``user_id`` None: the system itself)."""

    user_id: int | None
    role: Role
    clinician_id: int | None = None
    patient_id: int | None = None

    @property
    def is_patient(self) -> bool:
        return self.role is Role.PATIENT


SYSTEM = Actor(user_id=None, role=Role.ADMIN)


def require_patient_access(actor: Actor, patient_id: int | None) -> None:
    """Patients see only their own records; staff see every patient.

    ``patient_id`` None is a record that does not exist: a patient gets the same 403 as
    for someone else's, so ids reveal nothing."""
    if actor.is_patient and actor.patient_id != patient_id:
        raise Forbidden("You can only see your own records.")


def require_case_write(actor: Actor, clinician_id: int) -> None:
    """Clinicians record only on cases where they are the treating clinician."""
    if actor.role is Role.CLINICIAN and actor.clinician_id != clinician_id:
        raise Forbidden("Clinicians can only record on their own cases.")
