"""Browser-facing protections: security headers, CSRF on every form, error pages.

The API is called with bearer tokens, never cookies, so CSRF does not apply to it; the
pages use a session cookie and every POST from them carries a CSRF token (Flask-WTF).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask, Response, render_template, request
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException

from scheduler.errors import DomainError

# No inline script or style anywhere: everything comes from /static.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    # Feed and invite links carry their token in the path: never send it onwards.
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
# The pages' blueprint; each group of pages is a blueprint nested in it ("web.board").
PAGE_BLUEPRINT = "web"
# The JSON API and the calendar links answer errors in their own formats.
NON_PAGE_PREFIXES = ("/api/", "/feeds/", "/fhir/", "/i/", "/static/")

ErrorHandler = Callable[[Any], Any]

csrf = CSRFProtect()


def init_app(app: Flask) -> None:
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)  # pages check; the API does not
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)  # valid for the whole session
    csrf.init_app(app)
    app.after_request(_add_security_headers)
    _route_errors_to_pages(app)


def protect_form() -> None:
    """Refuse a page's POST without a valid CSRF token (400, shown as an error page)."""
    if request.method == "POST":
        csrf.protect()


def _add_security_headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if PAGE_BLUEPRINT in request.blueprints:
        # Pages show patient data: never keep them in a shared cache or the back button's.
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def is_page_request() -> bool:
    if PAGE_BLUEPRINT in request.blueprints:
        return True
    return request.url_rule is None and not request.path.startswith(NON_PAGE_PREFIXES)


ERROR_TEXTS = {
    400: ("Something was wrong with that request", "Go back, reload the page and try again."),
    403: ("Not yours to see", "Your account cannot open this page."),
    404: ("Page not found", "The address may be mistyped, or the record may be gone."),
    405: ("Not allowed", "This page cannot be used that way."),
    413: ("Too much data", "The form sent more than the server accepts."),
    429: ("Too many attempts", "Wait a minute, then try again."),
    409: ("Someone else changed this at the same moment", "Nothing was saved. Try again."),
    500: ("Something went wrong on our side", "Nothing was saved. Try again in a moment."),
    503: ("Briefly unavailable", "Nothing was saved. Try again in a few seconds."),
}


def error_page(status: int, detail: str | None = None) -> tuple[str, int]:
    title, advice = ERROR_TEXTS.get(status, ERROR_TEXTS[500] if status >= 500 else ERROR_TEXTS[400])
    return render_template(
        "web/error.html", status=status, title=title, advice=advice, detail=detail
    ), status


def _route_errors_to_pages(app: Flask) -> None:
    """Pages get a friendly HTML error page; everything else keeps its problem+json."""
    handlers = app.error_handler_spec[None][None]

    def dispatch(api_handler: ErrorHandler) -> ErrorHandler:
        def handle(error: Exception) -> Any:
            if not is_page_request():
                return api_handler(error)
            if isinstance(error, CSRFError):
                return error_page(400, "The form had expired or was not sent from this site.")
            if isinstance(error, DomainError):
                return error_page(error.status)
            if isinstance(error, HTTPException):
                return error_page(error.code or 500)
            # The API's answer (and its log line): 503 while the database is away, 500...
            answer = api_handler(error)
            page, status = error_page(answer.status_code)
            retry_after = answer.headers.get("Retry-After")
            return page, status, {"Retry-After": retry_after} if retry_after else {}

        return handle

    # Every handler the API registered (HTTP errors, domain errors, the database's, the
    # last resort), each answering pages with a page.
    for kind, existing in list(handlers.items()):
        app.register_error_handler(kind, dispatch(existing))
