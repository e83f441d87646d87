"""Who is signed in to the pages.

Signing in issues the same kind of token as ``POST /api/v1/auth/tokens`` (only its hash
is stored) and keeps the raw token in the signed session cookie. Each page resolves it
again, so signing out, an expired token or a deactivated account ends the session at
once, on every device.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import g, redirect, request, session, url_for

from scheduler import context
from scheduler.auth.models import User
from scheduler.auth.services import actor_for, resolve_token
from scheduler.errors import Forbidden
from scheduler.vocabulary import Role

TOKEN_KEY = "token"  # noqa: S105 (the session key it is kept under, not a secret)
F = TypeVar("F", bound=Callable[..., Any])


def signed_in_user() -> User | None:
    """The user of the session cookie's token, if it is still good; sets ``g.actor``."""
    if "web_user" in g:
        user: User | None = g.web_user
        return user
    raw = session.get(TOKEN_KEY)
    user = resolve_token(context.session(), raw, context.now()) if isinstance(raw, str) else None
    if user is None:
        session.pop(TOKEN_KEY, None)
    else:
        g.actor = actor_for(user)
    g.web_user = user
    return user


def safe_next(target: str | None) -> str | None:
    """A local path to return to after signing in (never another site)."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def page(*roles: Role) -> Callable[[F], F]:
    """A page for signed-in users with one of ``roles`` (any role when none are given)."""

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            user = signed_in_user()
            if user is None:
                return redirect(url_for("web.signin", next=request.full_path.rstrip("?")))
            if roles and user.role not in roles:
                raise Forbidden(f"The {user.role.value} role cannot open this page.")
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate
