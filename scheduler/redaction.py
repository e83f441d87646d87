"""What may be written to a log about a request.

Three kinds of address carry a secret in the path itself: a clinician's calendar feed
(``/feeds/<token>.ics``), a patient's signed invite link (``/i/<token>.ics``) and a
waitlist offer's answer page (``/offers/<token>``). Anyone who reads a log line with one
of them could subscribe to the feed, fetch the invite or answer the offer, so the access
log and the error log show such paths with the token replaced.
Pure module: no Flask, no SQLAlchemy.
"""

from __future__ import annotations

import re

REDACTED = "<redacted>"
_SECRET_PATHS = re.compile(
    r"^(?P<head>/(?:feeds|i)/)[^/]+(?P<tail>\.ics)$|^(?P<offer>/offers/)[^/]+$"
)


def _redacted(match: re.Match[str]) -> str:
    if match["offer"]:
        return f"{match['offer']}{REDACTED}"
    return f"{match['head']}{REDACTED}{match['tail']}"


def loggable_path(path: str) -> str:
    """``path`` with any secret token in it replaced by ``<redacted>``."""
    return _SECRET_PATHS.sub(_redacted, path)


# A query string after a path or URL ("/patients?q=Ada" -> "/patients"); a "?" that ends a
# sentence is followed by a space or nothing, and stays.
_QUERY = re.compile(r"(?<=\S)\?[^\s'\"<>]+")
_SECRET_IN_TEXT = re.compile(
    r"(?P<head>/(?:feeds|i)/)[^/\s'\"?]+(?P<tail>\.ics)|(?P<offer>/offers/)[^/\s'\"?]+"
)


def scrubbed(text: str) -> str:
    """A log message with no query string and no feed, invite-link or offer token in it
    (gunicorn writes request lines and URIs into its error messages)."""
    return _SECRET_IN_TEXT.sub(_redacted, _QUERY.sub("", text))
