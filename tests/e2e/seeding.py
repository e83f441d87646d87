"""A small clinic for end-to-end tests, made through the services: one site, one
fluoroscopy room, one surgeon working every day from 07:00 to 17:00."""

from __future__ import annotations

from datetime import datetime, time

from sqlalchemy.orm import Session

from scheduler.access import Actor
from scheduler.clinicians import services as clinicians
from scheduler.clinicians.models import Clinician
from scheduler.facilities import services as facilities
from scheduler.facilities.models import Room, Site
from scheduler.vocabulary import Role, RoomKind

DESK = Actor(user_id=None, role=Role.SCHEDULER)


def one_room_clinic(
    session: Session, now: datetime, *, name: str, zone: str, address: str
) -> tuple[Site, Room, Clinician]:
    site = facilities.create_site(
        session, DESK, now, name=name, timezone=zone, address=address, phone=None
    )
    room = facilities.create_room(
        session,
        DESK,
        now,
        site_id=site.id,
        name="Room 1",
        kind=RoomKind.PROCEDURE,
        fluoroscopy=True,
    )
    surgeon = clinicians.create_clinician(
        session, DESK, now, given_name="Sam", family_name="Surgeon", email=None
    )
    clinicians.set_working_hours(
        session,
        DESK,
        now,
        surgeon.id,
        [{"site_id": site.id, "weekday": d, "start": time(7), "end": time(17)} for d in range(7)],
    )
    return site, room, surgeon
