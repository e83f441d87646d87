"""A small clinic with one login per role, reachable through the API."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import time
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from scheduler.auth.models import User
from scheduler.clinicians.models import WorkingHours
from scheduler.context import Database
from scheduler.db import make_sessionmaker
from scheduler.vocabulary import EquipmentKind, Role, RoomKind
from tests.factories import (
    ClinicianFactory,
    EquipmentFactory,
    PatientFactory,
    RecoveryBayFactory,
    RoomFactory,
    SiteFactory,
)
from tests.support import Api, Browser, make_user, token_for


@dataclass
class Clinic:
    site_id: int
    room_id: int
    consult_room_id: int
    equipment_ids: dict[str, int]
    recovery_bay_id: int
    clinician_id: int
    other_clinician_id: int
    patient_id: int
    other_patient_id: int


@pytest.fixture
def clinic(db: Session) -> Clinic:
    site = SiteFactory()
    room = RoomFactory(site_id=site.id)
    consult = RoomFactory(site_id=site.id, kind=RoomKind.CONSULT, fluoroscopy=False)
    units = {kind.value: EquipmentFactory(site_id=site.id, kind=kind).id for kind in EquipmentKind}
    bay = RecoveryBayFactory(site_id=site.id)
    clinician, other_clinician = ClinicianFactory(), ClinicianFactory()
    for surgeon in (clinician, other_clinician):
        for weekday in range(7):
            db.add(
                WorkingHours(
                    clinician_id=surgeon.id,
                    site_id=site.id,
                    weekday=weekday,
                    start_time=time(7),
                    end_time=time(17),
                )
            )
    patient, other_patient = PatientFactory(), PatientFactory()
    db.flush()
    return Clinic(
        site_id=site.id,
        room_id=room.id,
        consult_room_id=consult.id,
        equipment_ids=units,
        recovery_bay_id=bay.id,
        clinician_id=clinician.id,
        other_clinician_id=other_clinician.id,
        patient_id=patient.id,
        other_patient_id=other_patient.id,
    )


@pytest.fixture
def api(client: FlaskClient, db: Session, clinic: Clinic) -> Api:
    users = {
        "admin": make_user(db, Role.ADMIN),
        "scheduler": make_user(db, Role.SCHEDULER),
        "nurse": make_user(db, Role.NURSE),
        "clinician": make_user(db, Role.CLINICIAN, clinician_id=clinic.clinician_id),
        "other_clinician": make_user(db, Role.CLINICIAN, clinician_id=clinic.other_clinician_id),
        "patient": make_user(db, Role.PATIENT, patient_id=clinic.patient_id),
        "other_patient": make_user(db, Role.PATIENT, patient_id=clinic.other_patient_id),
        "manager": make_user(db, Role.MANAGER),
    }
    tokens = {name: token_for(db, user) for name, user in users.items()}
    db.commit()
    return Api(client, tokens)


@pytest.fixture
def browser(client: FlaskClient) -> Browser:
    """The pages through the Flask client, signed in through the form."""
    return Browser(client)


@pytest.fixture
def people(db: Session, clinic: Clinic, api: Api) -> dict[str, str]:
    """The e-mail of each login the ``api`` fixture made (password: tests.support.PASSWORD)."""
    users = {
        "admin": User.role == Role.ADMIN,
        "scheduler": User.role == Role.SCHEDULER,
        "nurse": User.role == Role.NURSE,
        "clinician": User.clinician_id == clinic.clinician_id,
        "patient": User.patient_id == clinic.patient_id,
        "other_patient": User.patient_id == clinic.other_patient_id,
        "manager": User.role == Role.MANAGER,
    }
    return {
        role: db.scalars(select(User.email).where(where)).one() for role, where in users.items()
    }


# ---------------------------------------------------------------------------------------
# A database that is away


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def unreachable_url(backend: str, tmp_path: Path) -> str:
    """A database of the same kind that cannot be reached."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'no-such-directory' / 'gone.sqlite3'}"
    return f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/gone?connect_timeout=2"


@pytest.fixture
def database_away(app: Flask, backend: str, tmp_path: Path) -> Iterator[None]:
    """The app's sessions open on a database that is not there, then on the real one again."""
    database = Database.of(app)
    working = database.sessionmaker
    engine = create_engine(unreachable_url(backend, tmp_path))
    database.sessionmaker = make_sessionmaker(engine)
    yield
    database.sessionmaker = working
    engine.dispose()
