"""A local SMTP server for trying the outbox out: keeps every message in a folder.

``flask outbox catch`` (``make mail``) listens on 127.0.0.1 and writes each message it
receives as ``<n>.eml``, and its calendar attachment as ``<n>.ics``, so a developer can
open the invite in a calendar app. For development only: it needs aiosmtpd from
requirements-dev.txt.
"""

from __future__ import annotations

import itertools
import threading
from email.parser import BytesParser
from email.policy import default
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller


class FolderHandler:
    """aiosmtpd handler: every message (and its .ics) to a file in ``folder``."""

    def __init__(self, folder: Path, announce: Any = print) -> None:
        self.folder = folder
        self.announce = announce
        self._numbers = itertools.count(1 + len(list(folder.glob("*.eml"))))
        self._lock = threading.Lock()

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:  # noqa: N802
        message = BytesParser(policy=default).parsebytes(envelope.content)
        with self._lock:
            number = next(self._numbers)
        (self.folder / f"{number}.eml").write_bytes(envelope.content)
        saved = [f"{number}.eml"]
        attachment = next(
            (part for part in message.walk() if part.get_filename() == "invite.ics"), None
        )
        payload = attachment.get_payload(decode=True) if attachment is not None else None
        if isinstance(payload, bytes):
            (self.folder / f"{number}.ics").write_bytes(payload)
            saved.append(f"{number}.ics")
        self.announce(f"{message['Subject']}  ->  {', '.join(saved)}")
        return "250 Message accepted for delivery"


def serve(folder: Path, host: str, port: int, stop: threading.Event) -> None:
    """Receive until ``stop`` is set."""
    folder.mkdir(parents=True, exist_ok=True)
    controller = Controller(FolderHandler(folder), hostname=host, port=port)
    controller.start()
    try:
        stop.wait()
    finally:
        controller.stop()
