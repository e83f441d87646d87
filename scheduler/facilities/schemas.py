from __future__ import annotations

from marshmallow import fields

from scheduler.schemas import Args, Choice, Flag, Id, Out, QueryId, Text, ZoneName
from scheduler.vocabulary import EquipmentKind, RoomKind


class SiteCreateArgs(Args):
    name = Text(120, required=True)
    timezone = ZoneName(required=True)
    address = Text(500, required=True)
    phone = Text(40, load_default=None)


class SiteSchema(Out):
    id = fields.Integer()
    name = fields.String()
    timezone = fields.String()
    address = fields.String()
    phone = fields.String(allow_none=True)


class SiteFilterArgs(Args):
    site_id = QueryId()


class RoomCreateArgs(Args):
    site_id = Id(required=True)
    name = Text(80, required=True)
    kind = Choice(RoomKind, required=True)
    fluoroscopy = Flag(load_default=False)


class RoomSchema(Out):
    id = fields.Integer()
    site_id = fields.Integer()
    name = fields.String()
    kind = Choice(RoomKind)
    fluoroscopy = fields.Boolean()


class EquipmentCreateArgs(Args):
    site_id = Id(required=True)
    name = Text(80, required=True)
    kind = Choice(EquipmentKind, required=True)


class EquipmentSchema(Out):
    id = fields.Integer()
    site_id = fields.Integer()
    name = fields.String()
    kind = Choice(EquipmentKind)
