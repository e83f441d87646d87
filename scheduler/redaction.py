"""What may be written to a log about a request.

Two kinds of address carry a secret in the path itself: a clinician's calendar feed
(``/feeds/<token>.ics``) and a patient's signed invite link (``/i/<token>.ics``). Anyone
who reads a log line with one of them could subscribe to the feed or fetch the invite,
so the access log and the error log show such paths with the token replaced.
Pure module: no Flask, no SQLAlchemy.
"""

from __future__ import annotations

import re

REDACTED = "<redacted>"
_SECRET_PATHS = re.compile(r"^(?P<head>/(?:feeds|i)/)[^/]+(?P<tail>\.ics)$")


def loggable_path(path: str) -> str:
    """``path`` with any secret token in it replaced by ``<redacted>``."""
    return _SECRET_PATHS.sub(rf"\g<head>{REDACTED}\g<tail>", path)
