"""Clinician feeds: ``/clinicians/{id}/feed-token`` (API) and ``/feeds/<token>.ics``.

The feed is fetched by calendar apps with no login: the token in the URL is the only
credential. Unknown and revoked tokens get the same 404.
"""

from __future__ import annotations

import re
from typing import Any

import flask
from flask import Response, abort, current_app
from flask.views import MethodView

from scheduler.api import Blueprint
from scheduler.context import actor, now, session
from scheduler.feeds import services
from scheduler.feeds.schemas import FeedTokenSchema
from scheduler.invites.ics import build_feed
from scheduler.schemas import NoArgs
from scheduler.settings import PatientDetail

blp = Blueprint("feeds", __name__, description="Clinicians' calendar feeds")
public = flask.Blueprint("feeds_public", __name__)


@blp.route("/clinicians/<int:clinician_id>/feed-token")
class FeedToken(MethodView):
    @blp.writing(NoArgs, FeedTokenSchema)
    def post(self, _data: dict[str, Any], clinician_id: int) -> dict[str, Any]:
        """A new feed URL for the clinician (shown once); the previous one stops working"""
        at = now()
        token = services.issue_token(session(), actor(), at, clinician_id)
        session().commit()
        urls = services.feed_urls(current_app.config["PUBLIC_BASE_URL"], token)
        return {**urls, "created_at": at}

    @blp.response(204)
    def delete(self, clinician_id: int) -> None:
        """Revoke the clinician's feed URL"""
        services.revoke_token(session(), actor(), clinician_id)
        session().commit()


@public.get("/feeds/<token>.ics")
def feed(token: str) -> Response:
    clinician = (
        services.clinician_for_token(session(), token)
        if re.fullmatch(services.TOKEN_PATTERN, token)
        else None
    )
    if clinician is None:
        abort(404)
    detail = PatientDetail(current_app.config["FEED_PATIENT_DETAIL"])
    at = now()
    result = services.feed_of(
        session(), clinician, at, detail, organizer_email=current_app.config["MAIL_FROM"]
    )
    body = build_feed(result.entries, name=result.name, now=at)
    return Response(
        body,
        mimetype="text/calendar",
        headers={"Cache-Control": "private, no-store", "X-Robots-Tag": "noindex"},
    )
