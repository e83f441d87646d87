"""Sites, rooms, equipment and recovery bays: ``/sites``, ``/rooms``, ``/equipment``,
``/recovery-bays``."""

from __future__ import annotations

from typing import Any, TypeVar

from flask.views import MethodView
from flask_smorest.pagination import PaginationParameters
from sqlalchemy import Select, select

from scheduler.api import Blueprint, paginated
from scheduler.context import session
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
)

AtSite = TypeVar("AtSite", Room, Equipment, RecoveryBay)

blp = Blueprint("facilities", __name__, description="Sites, rooms, equipment, recovery bays")


@blp.route("/sites")
class Sites(MethodView):
    @blp.response(200, SiteSchema(many=True))
    @blp.paginate()
    def get(self, pagination_parameters: PaginationParameters) -> list[Site]:
        """List sites"""
        return paginated(session(), select(Site).order_by(Site.id), pagination_parameters)

    @blp.arguments(SiteCreateArgs)
    @blp.response(201, SiteSchema)
    def post(self, data: dict[str, Any]) -> Site:
        """Create a site (IANA time zone, address)"""
        site = services.create_site(session(), **data)
        session().commit()
        return site


@blp.route("/sites/<int:site_id>")
class SiteById(MethodView):
    @blp.response(200, SiteSchema)
    def get(self, site_id: int) -> Site:
        """Get a site"""
        return services.get_site(session(), site_id)


@blp.route("/rooms")
class Rooms(MethodView):
    @blp.arguments(SiteFilterArgs, location="query")
    @blp.response(200, RoomSchema(many=True))
    @blp.paginate()
    def get(self, args: dict[str, Any], pagination_parameters: PaginationParameters) -> list[Room]:
        """List rooms, optionally of one site"""
        return paginated(session(), _at_site(Room, args), pagination_parameters)

    @blp.arguments(RoomCreateArgs)
    @blp.response(201, RoomSchema)
    def post(self, data: dict[str, Any]) -> Room:
        """Create a room (procedure rooms need fluoroscopy for blocks and procedures)"""
        room = services.create_room(session(), **data)
        session().commit()
        return room


@blp.route("/equipment")
class EquipmentList(MethodView):
    @blp.arguments(SiteFilterArgs, location="query")
    @blp.response(200, EquipmentSchema(many=True))
    @blp.paginate()
    def get(
        self, args: dict[str, Any], pagination_parameters: PaginationParameters
    ) -> list[Equipment]:
        """List equipment units, optionally of one site"""
        return paginated(session(), _at_site(Equipment, args), pagination_parameters)

    @blp.arguments(EquipmentCreateArgs)
    @blp.response(201, EquipmentSchema)
    def post(self, data: dict[str, Any]) -> Equipment:
        """Add an equipment unit (endoscope tower, RF generator, laser unit, shaver)"""
        unit = services.create_equipment(session(), **data)
        session().commit()
        return unit


@blp.route("/recovery-bays")
class RecoveryBays(MethodView):
    @blp.arguments(SiteFilterArgs, location="query")
    @blp.response(200, RecoveryBaySchema(many=True))
    @blp.paginate()
    def get(
        self, args: dict[str, Any], pagination_parameters: PaginationParameters
    ) -> list[RecoveryBay]:
        """List recovery bays, optionally of one site"""
        return paginated(session(), _at_site(RecoveryBay, args), pagination_parameters)

    @blp.arguments(RecoveryBayCreateArgs)
    @blp.response(201, RecoveryBaySchema)
    def post(self, data: dict[str, Any]) -> RecoveryBay:
        """Add a recovery bay (every procedure occupies one while the patient recovers)"""
        bay = services.create_recovery_bay(session(), **data)
        session().commit()
        return bay


def _at_site(model: type[AtSite], args: dict[str, Any]) -> Select[AtSite]:
    statement = select(model).order_by(model.id)
    if "site_id" in args:
        statement = statement.where(model.site_id == args["site_id"])
    return statement
