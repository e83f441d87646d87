"""factory_boy factories per domain; ``bind(session)`` points them at the test's session."""

from __future__ import annotations

from datetime import date, time

import factory
from factory.alchemy import SQLAlchemyModelFactory
from sqlalchemy.orm import Session

from scheduler.clinicians.models import Clinician, WorkingHours
from scheduler.facilities.models import Equipment, RecoveryBay, Room, Site
from scheduler.patients.models import Patient
from scheduler.vocabulary import EquipmentKind, RoomKind
from tests.support import FROZEN_NOW


class _Base(SQLAlchemyModelFactory):  # type: ignore[misc]
    class Meta:
        abstract = True
        sqlalchemy_session_persistence = "flush"


class SiteFactory(_Base):
    class Meta:
        model = Site

    name = factory.Sequence(lambda n: f"Clinic {n}")
    timezone = "America/New_York"
    address = factory.Sequence(lambda n: f"{n} Main Street, Springfield")
    phone = "+1 555 0100"


class RoomFactory(_Base):
    class Meta:
        model = Room

    site_id = factory.LazyFunction(lambda: SiteFactory().id)
    name = factory.Sequence(lambda n: f"Procedure room {n}")
    kind = RoomKind.PROCEDURE
    fluoroscopy = True


class EquipmentFactory(_Base):
    class Meta:
        model = Equipment

    site_id = factory.LazyFunction(lambda: SiteFactory().id)
    name = factory.Sequence(lambda n: f"Unit {n}")
    kind = EquipmentKind.RF_GENERATOR


class RecoveryBayFactory(_Base):
    class Meta:
        model = RecoveryBay

    site_id = factory.LazyFunction(lambda: SiteFactory().id)
    name = factory.Sequence(lambda n: f"Bay {n}")


class ClinicianFactory(_Base):
    class Meta:
        model = Clinician

    given_name = factory.Sequence(lambda n: f"Surgeon{n}")
    family_name = "Doe"
    email = factory.Sequence(lambda n: f"surgeon{n}@clinic.example")


class WorkingHoursFactory(_Base):
    class Meta:
        model = WorkingHours

    weekday = 0
    start_time = time(8)
    end_time = time(17)


class PatientFactory(_Base):
    class Meta:
        model = Patient

    mrn = factory.Sequence(lambda n: f"MRN{n:05d}")
    given_name = factory.Sequence(lambda n: f"Given{n}")
    family_name = factory.Sequence(lambda n: f"Family{n}")
    birth_date = date(1960, 5, 17)
    email = factory.Sequence(lambda n: f"patient{n}@mail.example")
    phone = "+1 555 0111"
    created_at = FROZEN_NOW


FACTORIES = (
    SiteFactory,
    RoomFactory,
    EquipmentFactory,
    RecoveryBayFactory,
    ClinicianFactory,
    WorkingHoursFactory,
    PatientFactory,
)


def bind(session: Session) -> None:
    for item in FACTORIES:
        item._meta.sqlalchemy_session = session
