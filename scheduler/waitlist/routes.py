"""The waitlist (``/waitlist``): entries, the vacancies capacity left, and the offers made
from them (SPEC §10)."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask.views import MethodView

from scheduler.api import Blueprint, Statement
from scheduler.context import actor, committed, now, session
from scheduler.schemas import NoArgs
from scheduler.settings import backfill_settings
from scheduler.waitlist import services
from scheduler.waitlist.models import Offer, Vacancy, WaitlistEntry
from scheduler.waitlist.schemas import (
    EntryCreateArgs,
    EntryFilterArgs,
    EntryRemoveArgs,
    EntrySchema,
    EntryUpdateArgs,
    OfferCreateArgs,
    OfferFilterArgs,
    OfferSchema,
    VacancyFilterArgs,
    VacancySchema,
)

blp = Blueprint(
    "waitlist", __name__, description="The waitlist: freed slots offered to waiting patients"
)


@blp.route("/waitlist")
class Entries(MethodView):
    @blp.listing(EntrySchema, EntryFilterArgs)
    def get(self, filters: dict[str, Any]) -> Statement[WaitlistEntry]:
        """List the waitlist in the order offers are made (priority, then time waited)"""
        return services.list_statement(filters)

    @blp.writing(EntryCreateArgs, EntrySchema)
    @blp.alt_response(409, description="Already on the waitlist")
    def post(self, data: dict[str, Any]) -> WaitlistEntry:
        """Put a pathway waiting for a block or the procedure on the waitlist"""
        return committed(services.add_entry(session(), actor(), now(), **data))


@blp.route("/waitlist/<int:entry_id>")
class EntryById(MethodView):
    @blp.response(200, EntrySchema)
    def get(self, entry_id: int) -> WaitlistEntry:
        """Get a waitlist entry"""
        return services.get_entry(session(), entry_id)

    @blp.writing(EntryUpdateArgs(partial=True), EntrySchema, status=200)
    def patch(self, data: dict[str, Any], entry_id: int) -> WaitlistEntry:
        """Change what the entry asks for (a new priority records who set it)"""
        return committed(services.update_entry(session(), actor(), now(), entry_id, data))

    @blp.arguments(EntryRemoveArgs, location="query")
    @blp.response(204)
    def delete(self, args: dict[str, Any], entry_id: int) -> None:
        """Take the pathway off the waitlist (``?reason=``); its open offers are withdrawn"""
        services.remove_entry(session(), actor(), now(), entry_id, args["reason"])
        session().commit()


@blp.route("/waitlist/vacancies")
class Vacancies(MethodView):
    @blp.listing(VacancySchema, VacancyFilterArgs)
    def get(self, filters: dict[str, Any]) -> Statement[Vacancy]:
        """List freed capacity, newest first: open, filled or unfilled"""
        return services.vacancies_statement(filters)


@blp.route("/waitlist/offers")
class Offers(MethodView):
    @blp.listing(OfferSchema, OfferFilterArgs)
    def get(self, filters: dict[str, Any]) -> Statement[Offer]:
        """List offers, newest first"""
        return services.offers_statement(filters)

    @blp.writing(OfferCreateArgs, OfferSchema)
    @blp.alt_response(409, description="The vacancy is filled or has an offer in flight")
    def post(self, data: dict[str, Any]) -> Offer:
        """Offer a vacancy to a waitlisted pathway of your choice (preferences aside)"""
        settings = backfill_settings(current_app.config)
        return committed(
            services.offer_manually(session(), actor(), now(), **data, settings=settings)
        )


@blp.route("/waitlist/offers/<int:offer_id>/withdraw")
class WithdrawOffer(MethodView):
    @blp.writing(NoArgs, OfferSchema, status=200)
    @blp.alt_response(409, description="The offer is no longer open")
    def post(self, _data: dict[str, Any], offer_id: int) -> Offer:
        """Withdraw an open offer; the slot goes to the next candidate"""
        return committed(services.withdraw(session(), actor(), now(), offer_id))
