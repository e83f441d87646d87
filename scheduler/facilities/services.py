"""Sites, rooms and equipment (admin set-up)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from scheduler.db import referenced
from scheduler.errors import Conflict, NotFound
from scheduler.facilities.models import Equipment, RecoveryBay, Room, Site


def get_site(session: Session, site_id: int) -> Site:
    site = session.get(Site, site_id)
    if site is None:
        raise NotFound("site", site_id)
    return site


def create_site(session: Session, **fields: Any) -> Site:
    if session.scalar(select(Site.id).where(Site.name == fields["name"])) is not None:
        raise Conflict("A site with this name already exists.")
    site = Site(**fields)
    session.add(site)
    session.flush()
    return site


def _unique_at_site(
    session: Session,
    model: type[Room] | type[Equipment] | type[RecoveryBay],
    site_id: int,
    name: str,
) -> None:
    referenced(session, Site, site_id, "site_id")
    taken = session.scalar(select(model.id).where(model.site_id == site_id, model.name == name))
    if taken is not None:
        raise Conflict(f"The site already has a {model.__tablename__.rstrip('s')} named {name!r}.")


def create_room(session: Session, **fields: Any) -> Room:
    _unique_at_site(session, Room, fields["site_id"], fields["name"])
    room = Room(**fields)
    session.add(room)
    session.flush()
    return room


def create_equipment(session: Session, **fields: Any) -> Equipment:
    _unique_at_site(session, Equipment, fields["site_id"], fields["name"])
    unit = Equipment(**fields)
    session.add(unit)
    session.flush()
    return unit


def create_recovery_bay(session: Session, **fields: Any) -> RecoveryBay:
    _unique_at_site(session, RecoveryBay, fields["site_id"], fields["name"])
    bay = RecoveryBay(**fields)
    session.add(bay)
    session.flush()
    return bay
