from __future__ import annotations

from marshmallow import fields

from scheduler.schemas import Args, Choice, Flag, Id, Out, QueryId, Text, Whole, ZoneName
from scheduler.vocabulary import EquipmentKind, RoomKind


class SiteCreateArgs(Args):
    name = Text(120, required=True)
    display_name = Text(
        120,
        load_default=None,
        metadata={
            "description": "What patients' invites, e-mails and pages call the site"
            " (default: the name); set it when the name reveals a specialty"
        },
    )
    timezone = ZoneName(required=True)
    address = Text(500, required=True)
    phone = Text(40, load_default=None)
    turnover_minutes = Whole(
        0, 240, load_default=15, metadata={"description": "Room cleaning after a procedure"}
    )
    recovery_minutes = Whole(
        0, 720, load_default=120, metadata={"description": "Recovery bay time after a procedure"}
    )
    min_notice_minutes = Whole(
        0, 20160, load_default=60, metadata={"description": "Nothing is booked sooner"}
    )


class SiteUpdateArgs(SiteCreateArgs):
    """Some of a site's settings, sent alone (PATCH). Not its time zone: every booked time
    would move on its wall clock. ``display_name`` null: shown by its name again."""

    class Meta:
        exclude = ("timezone",)

    display_name = Text(
        120,
        allow_none=True,
        metadata={"description": "What patients see; null: the site's name"},
    )
    phone = Text(40, allow_none=True)


class SiteSchema(Out):
    id = fields.Integer()
    name = fields.String()
    display_name = fields.String(
        allow_none=True, metadata={"description": "Patient-facing name; null: the name"}
    )
    timezone = fields.String()
    address = fields.String()
    phone = fields.String(allow_none=True)
    turnover_minutes = fields.Integer()
    recovery_minutes = fields.Integer()
    min_notice_minutes = fields.Integer()


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


class RecoveryBayCreateArgs(Args):
    site_id = Id(required=True)
    name = Text(80, required=True)


class RecoveryBaySchema(Out):
    id = fields.Integer()
    site_id = fields.Integer()
    name = fields.String()
