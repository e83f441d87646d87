"""The patient's answer to a waitlist offer: the page behind the e-mail's links (SPEC §10).

No login: the link's signed token is the key. Opening it (GET) shows the offer and one
button; only the button's POST accepts or declines, so a mail scanner that opens links
changes nothing. A late, second or losing acceptance gets a kind page saying the time
is no longer available, never an error.
"""

from __future__ import annotations

from typing import Final
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, render_template, request
from flask.typing import ResponseReturnValue

from scheduler import context
from scheduler.errors import OfferClosed
from scheduler.facilities.models import Site
from scheduler.invites.services import clinic_of
from scheduler.pathways.models import Pathway
from scheduler.settings import backfill_settings
from scheduler.vocabulary import OfferStatus
from scheduler.waitlist import services
from scheduler.waitlist.letters import offer_id_of
from scheduler.waitlist.models import Offer

blp = Blueprint("offers", __name__, url_prefix="/offers")

ANSWERS: Final = ("accept", "decline")


def _offer(token: str) -> Offer:
    """The offer the link names (404 page for a token that is not ours)."""
    secret = current_app.config["SECRET_KEY"]
    return services.offer_of_token(context.session(), offer_id_of(secret, token))


def _render(
    offer: Offer, token: str, *, outcome: str | None = None, status: int = 200
) -> ResponseReturnValue:
    session = context.session()
    pathway = session.get_one(Pathway, offer.pathway_id)
    site = session.get_one(Site, pathway.site_id)
    answer = request.values.get("answer")
    return (
        render_template(
            "web/offer.html",
            offer=offer,
            token=token,
            clinic=clinic_of(site, current_app.config["MAIL_FROM"]),
            zone=ZoneInfo(site.timezone),
            answer=answer if answer in ANSWERS else None,
            outcome=outcome,
            now=context.now(),
            open=offer.status is OfferStatus.OPEN and offer.expires_at > context.now(),
        ),
        status,
    )


@blp.get("/<token>")
def offer_page(token: str) -> ResponseReturnValue:
    """The offer: when and where, until when it is held, and the button for the answer."""
    return _render(_offer(token), token)


@blp.post("/<token>")
def answer_offer(token: str) -> ResponseReturnValue:
    """Accept (book it) or decline; a closed offer's page says so kindly (409)."""
    offer = _offer(token)
    answer = request.form.get("answer")
    if answer not in ANSWERS:
        return _render(offer, token, outcome="unclear", status=422)
    session = context.session()
    try:
        if answer == "accept":
            settings = backfill_settings(current_app.config)
            services.accept(session, context.now(), offer.id, settings)
        else:
            services.decline(session, context.now(), offer.id)
    except OfferClosed:
        session.rollback()
        return _render(services.get_offer(session, offer.id), token, outcome="closed", status=409)
    session.commit()
    return _render(offer, token, outcome="accepted" if answer == "accept" else "declined")
