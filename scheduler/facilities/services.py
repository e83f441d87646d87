"""Sites, rooms, equipment and recovery bays (admin set-up)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TypeVar

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from scheduler.access import Actor
from scheduler.db import found, referenced, saved, unique
from scheduler.facilities.models import Equipment, RecoveryBay, Room, Site
from scheduler.vocabulary import EquipmentKind, RoomKind

AtSite = TypeVar("AtSite", Room, Equipment, RecoveryBay)


def get_site(session: Session, site_id: int) -> Site:
    return found(session.get(Site, site_id), "site", site_id)


def sites_statement() -> Select[Site]:
    return select(Site).order_by(Site.id)


def sites_by_name(session: Session) -> list[Site]:
    return list(session.scalars(select(Site).order_by(Site.name, Site.id)))


def site_or_first(session: Session, site_id: int | None) -> Site | None:
    """The site asked for (404 when there is none), else the first one, if any."""
    if site_id is None:
        return session.scalars(sites_statement().limit(1)).first()
    return get_site(session, site_id)


def at_site_statement(model: type[AtSite], site_id: int | None = None) -> Select[AtSite]:
    """Rooms, equipment units or recovery bays, of one site or all, in creation order."""
    statement = select(model).order_by(model.id)
    if site_id is not None:
        statement = statement.where(model.site_id == site_id)
    return statement


def by_site(session: Session, model: type[AtSite]) -> dict[int, list[AtSite]]:
    """Every room, unit or bay, grouped by site, by name within each."""
    grouped: dict[int, list[AtSite]] = {}
    for row in session.scalars(select(model).order_by(model.name, model.id)):
        grouped.setdefault(row.site_id, []).append(row)
    return grouped


def create_site(
    session: Session,
    actor: Actor,
    now: datetime,
    *,
    name: str,
    timezone: str,
    address: str,
    display_name: str | None = None,
    phone: str | None = None,
    turnover_minutes: int = 15,
    recovery_minutes: int = 120,
    min_notice_minutes: int = 60,
) -> Site:
    unique(session, "A site with this name already exists.", Site.name == name)
    return saved(
        session,
        Site(
            name=name,
            display_name=display_name,
            timezone=timezone,
            address=address,
            phone=phone,
            turnover_minutes=turnover_minutes,
            recovery_minutes=recovery_minutes,
            min_notice_minutes=min_notice_minutes,
        ),
    )


def update_site(
    session: Session, actor: Actor, now: datetime, site_id: int, changes: Mapping[str, object]
) -> Site:
    """Change the settings ``changes`` names (validated by the API's schema). Later
    searches and bookings follow them; what is booked stays as it is."""
    site = found(session.get(Site, site_id, with_for_update=True), "site", site_id)
    name = changes.get("name", site.name)
    if name != site.name:
        unique(session, "A site with this name already exists.", Site.name == name)
    for setting, value in changes.items():
        setattr(site, setting, value)
    session.flush()
    return site


def _unique_at_site(session: Session, model: type[AtSite], site_id: int, name: str) -> None:
    referenced(session, Site, site_id, "site_id")
    what = model.__tablename__.rstrip("s")
    message = f"The site already has a {what} named {name!r}."
    unique(session, message, model.site_id == site_id, model.name == name)


def create_room(
    session: Session,
    actor: Actor,
    now: datetime,
    *,
    site_id: int,
    name: str,
    kind: RoomKind,
    fluoroscopy: bool = False,
) -> Room:
    _unique_at_site(session, Room, site_id, name)
    return saved(session, Room(site_id=site_id, name=name, kind=kind, fluoroscopy=fluoroscopy))


def create_equipment(
    session: Session, actor: Actor, now: datetime, *, site_id: int, name: str, kind: EquipmentKind
) -> Equipment:
    _unique_at_site(session, Equipment, site_id, name)
    return saved(session, Equipment(site_id=site_id, name=name, kind=kind))


def create_recovery_bay(
    session: Session, actor: Actor, now: datetime, *, site_id: int, name: str
) -> RecoveryBay:
    _unique_at_site(session, RecoveryBay, site_id, name)
    return saved(session, RecoveryBay(site_id=site_id, name=name))


def room_names(session: Session, site_id: int) -> dict[int, str]:
    """Each room of the site by id (pages name rooms in slots and appointments)."""
    return names_at_site(session, Room, site_id)


def names_at_site(session: Session, model: type[AtSite], site_id: int) -> dict[int, str]:
    """Each room, unit of equipment or recovery bay of the site, by id."""
    return {row.id: row.name for row in session.scalars(at_site_statement(model, site_id))}
