"""Sites, rooms, equipment and recovery bays: ``/sites``, ``/rooms``, ``/equipment``,
``/recovery-bays``."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from scheduler.api import Blueprint, Statement
from scheduler.context import actor, committed, now, session
from scheduler.facilities import services
from scheduler.facilities.models import Equipment, RecoveryBay, Room, Site
from scheduler.facilities.schemas import (
    EquipmentCreateArgs,
    EquipmentSchema,
    RecoveryBayCreateArgs,
    RecoveryBaySchema,
    RoomCreateArgs,
    RoomSchema,
    SiteCreateArgs,
    SiteFilterArgs,
    SiteSchema,
    SiteUpdateArgs,
)

blp = Blueprint("facilities", __name__, description="Sites, rooms, equipment, recovery bays")


@blp.route("/sites")
class Sites(MethodView):
    @blp.listing(SiteSchema)
    def get(self) -> Statement[Site]:
        """List sites"""
        return services.sites_statement()

    @blp.writing(SiteCreateArgs, SiteSchema)
    def post(self, data: dict[str, Any]) -> Site:
        """Create a site (IANA time zone, address)"""
        return committed(services.create_site(session(), actor(), now(), **data))


@blp.route("/sites/<int:site_id>")
class SiteById(MethodView):
    @blp.response(200, SiteSchema)
    def get(self, site_id: int) -> Site:
        """Get a site"""
        return services.get_site(session(), site_id)

    @blp.writing(SiteUpdateArgs(partial=True), SiteSchema, status=200)
    def patch(self, changes: dict[str, Any], site_id: int) -> Site:
        """Change a site's settings (e.g. its patient-facing display name); not its zone"""
        return committed(services.update_site(session(), actor(), now(), site_id, changes))


@blp.route("/rooms")
class Rooms(MethodView):
    @blp.listing(RoomSchema, SiteFilterArgs)
    def get(self, args: dict[str, Any]) -> Statement[Room]:
        """List rooms, optionally of one site"""
        return services.at_site_statement(Room, args.get("site_id"))

    @blp.writing(RoomCreateArgs, RoomSchema)
    def post(self, data: dict[str, Any]) -> Room:
        """Create a room (procedure rooms need fluoroscopy for blocks and procedures)"""
        return committed(services.create_room(session(), actor(), now(), **data))


@blp.route("/equipment")
class EquipmentList(MethodView):
    @blp.listing(EquipmentSchema, SiteFilterArgs)
    def get(self, args: dict[str, Any]) -> Statement[Equipment]:
        """List equipment units, optionally of one site"""
        return services.at_site_statement(Equipment, args.get("site_id"))

    @blp.writing(EquipmentCreateArgs, EquipmentSchema)
    def post(self, data: dict[str, Any]) -> Equipment:
        """Add an equipment unit (endoscope tower, RF generator, laser unit, shaver)"""
        return committed(services.create_equipment(session(), actor(), now(), **data))


@blp.route("/recovery-bays")
class RecoveryBays(MethodView):
    @blp.listing(RecoveryBaySchema, SiteFilterArgs)
    def get(self, args: dict[str, Any]) -> Statement[RecoveryBay]:
        """List recovery bays, optionally of one site"""
        return services.at_site_statement(RecoveryBay, args.get("site_id"))

    @blp.writing(RecoveryBayCreateArgs, RecoveryBaySchema)
    def post(self, data: dict[str, Any]) -> RecoveryBay:
        """Add a recovery bay (every procedure occupies one while the patient recovers)"""
        return committed(services.create_recovery_bay(session(), actor(), now(), **data))
