"""Feed token output: shown once, when it is made."""

from __future__ import annotations

from marshmallow import fields

from scheduler.schemas import Instant, Out


class FeedTokenSchema(Out):
    url = fields.String(metadata={"description": "Paste into a calendar app's 'subscribe'"})
    webcal_url = fields.String(metadata={"description": "The same feed, as a webcal:// link"})
    created_at = Instant()
