"""Authentication and the role check, run before every v1 API request."""

from __future__ import annotations

import logging

from flask import g, request

from scheduler import context
from scheduler.api import require_json_body
from scheduler.auth.permissions import PERMISSIONS, endpoint_key
from scheduler.auth.services import actor_for, resolve_token
from scheduler.errors import Forbidden, Unauthorized

log = logging.getLogger(__name__)

API_PREFIX = "/api/v1/"
# The OpenAPI document and the docs page describe the API; they hold no data.
PUBLIC_DOCUMENTATION = ("api-docs.", "docs.")


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def guard_api_request() -> None:
    """Authenticate the bearer token and apply the permission table (fail closed)."""
    rule = request.url_rule
    if rule is None or request.method == "OPTIONS" or not request.path.startswith(API_PREFIX):
        return  # routing errors and CORS preflight are answered without a token
    if rule.endpoint.startswith(PUBLIC_DOCUMENTATION):
        return
    key = endpoint_key(request.method, rule.rule)
    roles = PERMISSIONS.get(key)
    if roles is None:
        log.error("no permission rule for %s; refused", key)
        raise Forbidden("This endpoint has no permission rule.")
    if roles:  # PUBLIC is the empty set: no token needed
        raw = bearer_token()
        if raw is None:
            raise Unauthorized("Send a bearer token from POST /api/v1/auth/tokens.")
        user = resolve_token(context.session(), raw, context.now())
        if user is None:
            raise Unauthorized("The token is invalid or has expired.")
        if user.role not in roles:
            raise Forbidden(f"The {user.role.value} role cannot do this.")
        g.actor = actor_for(user)
        g.raw_token = raw
    require_json_body()
