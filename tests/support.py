"""Test helpers: a frozen clock, a small clinic with one login per role, an API caller."""

from __future__ import annotations

import html
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from flask.testing import FlaskClient
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from scheduler.auth.models import User
from scheduler.auth.services import hash_password, issue_token
from scheduler.vocabulary import Role

# A Monday afternoon in New York (UTC-5), away from DST changes.
FROZEN_NOW = datetime(2026, 3, 2, 19, 0, tzinfo=UTC)
NEW_YORK = ZoneInfo("America/New_York")
PASSWORD = "correct horse battery staple"


@dataclass
class FrozenClock:
    """The app's clock in tests: fixed until a test moves it."""

    now: datetime = FROZEN_NOW

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now

    def set(self, when: datetime) -> None:
        self.now = when


@cache
def password_hash() -> str:
    """One argon2 hash for every test user (hashing is slow on purpose)."""
    return hash_password(PASSWORD)


def make_user(
    db: Session,
    role: Role,
    *,
    email: str | None = None,
    clinician_id: int | None = None,
    patient_id: int | None = None,
) -> User:
    user = User(
        email=email or f"{role.value}-{clinician_id or patient_id or 0}-{id(db)}@test.example",
        password_hash=password_hash(),
        role=role,
        clinician_id=clinician_id,
        patient_id=patient_id,
        active=True,
        created_at=FROZEN_NOW,
    )
    db.add(user)
    db.flush()
    return user


def token_for(db: Session, user: User) -> str:
    raw, _token = issue_token(db, user, FROZEN_NOW - timedelta(minutes=1), timedelta(days=365))
    return raw


def local(day: str, hh: int, mm: int = 0) -> datetime:
    """A wall-clock time in New York as an aware datetime ("2026-03-03", 9)."""
    return datetime.combine(datetime.fromisoformat(day).date(), time(hh, mm), NEW_YORK)


@dataclass
class Api:
    """Calls ``/api/v1`` as a role (or with no token), JSON in and out."""

    client: FlaskClient
    tokens: dict[str, str] = field(default_factory=dict)

    def call(
        self,
        method: str,
        path: str,
        as_: str | None = "admin",
        json: Any = None,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> TestResponse:
        all_headers = dict(headers or {})
        if as_ is not None:
            all_headers["Authorization"] = f"Bearer {self.tokens[as_]}"
        return self.client.open(
            "/api/v1" + path, method=method, json=json, headers=all_headers, **kwargs
        )

    def get(self, path: str, as_: str | None = "admin", **kwargs: Any) -> TestResponse:
        return self.call("GET", path, as_, **kwargs)

    def post(
        self, path: str, json: Any = None, as_: str | None = "admin", **kw: Any
    ) -> TestResponse:
        return self.call("POST", path, as_, json=json if json is not None else {}, **kw)

    def ok(self, method: str, path: str, as_: str | None = "admin", **kwargs: Any) -> Any:
        """The JSON of a 2xx response; fails with the problem document otherwise."""
        response = self.call(method, path, as_, **kwargs)
        assert response.status_code < 300, (response.status_code, response.get_json())
        return response.get_json()


def scratch_postgresql_database(suffix: str) -> Iterator[str]:
    """A new, empty database beside TEST_DATABASE_URL's, dropped (WITH FORCE) at the end."""
    base = os.environ.get("TEST_DATABASE_URL")
    assert base
    url = make_url(base)
    name = f"{url.database}_{suffix}_{os.getpid()}"
    maintenance = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    quoted = maintenance.dialect.identifier_preparer.quote(name)
    try:
        with maintenance.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)"))
            connection.execute(text(f"CREATE DATABASE {quoted}"))
        try:
            yield url.set(database=name).render_as_string(hide_password=False)
        finally:
            with maintenance.connect() as connection:
                connection.execute(text(f"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)"))
    finally:
        maintenance.dispose()


CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Browser:
    """A Flask test client used like a browser: it reads forms' CSRF tokens from pages."""

    client: FlaskClient
    csrf: str = ""

    def get(self, path: str, **kwargs: Any) -> TestResponse:
        response = self.client.get(path, **kwargs)
        found = CSRF_FIELD.search(response.get_data(as_text=True))
        if found:
            self.csrf = found.group(1)
        return response

    def post(
        self, path: str, data: dict[str, str] | None = None, *, csrf: bool = True
    ) -> TestResponse:
        form = dict(data or {})
        if csrf:
            form["csrf_token"] = self.csrf or self._fresh_token()
        return self.client.post(path, data=form)

    def _fresh_token(self) -> str:
        """Any page has one: the sign-in form, or the sign-out form of a signed-in page."""
        self.get("/", follow_redirects=True)
        return self.csrf

    def sign_in(self, email: str, password: str = PASSWORD) -> TestResponse:
        self.get("/signin")
        response = self.post("/signin", {"email": email, "password": password})
        self.csrf = ""  # signing in starts a new session, with a new token
        return response


def text_of(response: TestResponse) -> str:
    return response.get_data(as_text=True)


def flashes(response: TestResponse) -> list[str]:
    """The flashed messages a page shows."""
    return re.findall(r'class="flash [^"]*"[^>]*>([^<]*)<', text_of(response))


def refusal(response: TestResponse) -> list[str]:
    """What a page's refusal box says (web/_problem.html): its title, then each message."""
    box = re.search(r'<div class="problem" role="alert">(.*?)</div>', text_of(response), re.S)
    if box is None:
        return []
    parts = re.findall(r"<(?:strong|li|p)>([^<]+)<", box.group(1))
    return [html.unescape(part.strip()) for part in parts if part.strip()]
