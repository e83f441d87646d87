"""Invite link output."""

from __future__ import annotations

from marshmallow import fields

from scheduler.schemas import Instant, Out


class InviteLinkSchema(Out):
    url = fields.String()
    expires_at = Instant()
