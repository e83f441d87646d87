"""Sign-in (bearer tokens), the current user, and user accounts (admin)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import current_app, g
from flask.views import MethodView

from scheduler.api import Blueprint, Statement
from scheduler.auth import services
from scheduler.auth.models import User
from scheduler.auth.schemas import TokenCreateArgs, TokenSchema, UserCreateArgs, UserSchema
from scheduler.context import actor, committed, limiter, now, session

blp = Blueprint("auth", __name__, description="Sign-in and user accounts")


@blp.route("/auth/tokens")
class Tokens(MethodView):
    @blp.writing(TokenCreateArgs, TokenSchema)
    @blp.alt_response(401, description="Wrong e-mail or password")
    @blp.alt_response(429, description="Too many sign-in attempts")
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Sign in with e-mail and password; returns a bearer token"""
        with limiter().limit(current_app.config["LOGIN_RATE_LIMIT"]):
            user = services.authenticate(session(), data["email"], data["password"])
        ttl = timedelta(hours=current_app.config["TOKEN_TTL_HOURS"])
        raw, token = services.issue_token(session(), user, now(), ttl)
        session().commit()
        return {"token": raw, "expires_at": token.expires_at}

    @blp.response(204)
    def delete(self) -> None:
        """Sign out: revoke the token of this request"""
        services.revoke_token(session(), g.raw_token, now())
        session().commit()


@blp.route("/auth/me")
class Me(MethodView):
    @blp.response(200, UserSchema)
    def get(self) -> User:
        """The signed-in user"""
        return services.get_user(session(), actor().user_id)


@blp.route("/users")
class Users(MethodView):
    @blp.listing(UserSchema)
    def get(self) -> Statement[User]:
        """List user accounts"""
        return services.users_statement()

    @blp.writing(UserCreateArgs, UserSchema)
    def post(self, data: dict[str, Any]) -> User:
        """Create a login (clinician and patient logins name their record)"""
        return committed(services.create_user(session(), actor(), now(), **data))
