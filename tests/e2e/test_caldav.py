"""Invites in a real CalDAV server: Radicale on 127.0.0.1, its storage in a temp dir.

A calendar server expands TZID times with the invite's own VTIMEZONE. Finding each
event by a time-range query at its true UTC instant, and not an hour off, shows that
the VTIMEZONE we write means the same as the IANA zone, on both sides of DST changes.
"""

from __future__ import annotations

import http.client
import os
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from scheduler.invites.ics import Clinic, Invite, Preparation, build_invite
from scheduler.vocabulary import AppointmentKind
from tests.mailbox import free_port

HOST = "127.0.0.1"
DAV = "{DAV:}"
CLINIC = Clinic(
    name="Riverside Spine & Pain Center",
    email="appointments@riverside.example",
    address="200 River Road, Springfield, NY 10001",
    phone="+1 555 0100",
)
PREPARATION = Preparation(
    arrival_minutes_before=60,
    sedation=True,
    clear_fluids_hours=2,
    light_meal_hours=6,
    heavy_meal_hours=8,
)


@dataclass(frozen=True)
class Radicale:
    port: int

    def request(
        self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        connection = http.client.HTTPConnection(HOST, self.port, timeout=10)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()


@pytest.fixture(scope="module")
def radicale(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Radicale]:
    """Radicale with no authentication, started by this fixture and stopped by its pid."""
    directory = tmp_path_factory.mktemp("radicale")
    port = free_port()
    config = directory / "config"
    config.write_text(
        f"[server]\nhosts = {HOST}:{port}\n"
        "[auth]\ntype = none\n"
        "[rights]\ntype = authenticated\n"
        f"[storage]\nfilesystem_folder = {directory / 'storage'}\n"
        "[web]\ntype = none\n"
        "[logging]\nlevel = warning\n"
    )
    log = (directory / "radicale.log").open("wb")
    process = subprocess.Popen(  # noqa: S603 (our own interpreter and arguments)
        [sys.executable, "-m", "radicale", "--config", str(config)],
        env={**os.environ, "HOME": str(directory)},
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    server = Radicale(port)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, (directory / "radicale.log").read_text()
            try:
                server.request("OPTIONS", "/")
                break
            except OSError:
                assert time.monotonic() < deadline, "Radicale did not start"
                time.sleep(0.1)
        assert server.request("MKCOL", "/clinic/")[0] == 201
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def calendar_object(invite_bytes: bytes) -> bytes:
    """The invite as a stored calendar object: RFC 4791 §4.1 forbids METHOD there."""
    lines = invite_bytes.split(b"\r\n")
    return b"\r\n".join(line for line in lines if not line.startswith(b"METHOD:"))


def found(server: Radicale, collection: str, start: datetime, end: datetime) -> set[str]:
    """Hrefs of the events a CalDAV time-range query finds in [start, end)."""
    stamp = "%Y%m%dT%H%M%SZ"
    query = (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
        "<D:prop><D:getetag/></D:prop>"
        '<C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT">'
        f'<C:time-range start="{start.astimezone(UTC).strftime(stamp)}"'
        f' end="{end.astimezone(UTC).strftime(stamp)}"/>'
        "</C:comp-filter></C:comp-filter></C:filter></C:calendar-query>"
    )
    status, body = server.request(
        "REPORT",
        collection,
        query.encode(),
        {"Depth": "1", "Content-Type": "application/xml; charset=utf-8"},
    )
    assert status == 207, body
    answer = ET.fromstring(body)  # noqa: S314 (our own local test server's reply)
    return {href.text or "" for href in answer.iter(f"{DAV}href")}


CASES = [
    # (zone, site-local start (y, m, d, h[, min]), kind, cancelled)
    ("America/New_York", (2026, 3, 6, 9), AppointmentKind.DIAGNOSTIC_BLOCK, False),
    ("America/New_York", (2026, 3, 10, 9), AppointmentKind.DIAGNOSTIC_BLOCK, False),
    ("America/New_York", (2026, 3, 24, 8, 30), AppointmentKind.PROCEDURE, False),
    ("America/New_York", (2026, 11, 2, 7), AppointmentKind.FOLLOW_UP, False),
    ("America/New_York", (2026, 4, 14, 9), AppointmentKind.FOLLOW_UP, True),
    ("Europe/London", (2026, 3, 27, 10), AppointmentKind.PROCEDURE, False),
    ("Europe/London", (2026, 3, 30, 10), AppointmentKind.PROCEDURE, False),
    ("Australia/Lord_Howe", (2026, 4, 6, 9), AppointmentKind.DIAGNOSTIC_BLOCK, False),
]


def invite(
    n: int, zone: str, wall: tuple[int, ...], kind: AppointmentKind, cancelled: bool, fold: int = 0
) -> Invite:
    """``fold=1``: the second occurrence of a wall time in a fall-back night's repeated hour."""
    start = datetime(*wall, tzinfo=ZoneInfo(zone), fold=fold).astimezone(UTC)
    return Invite(
        uid=f"caldav-test-{n}",
        sequence=2 if cancelled else 1,
        kind=kind,
        start=start,
        end=start + timedelta(minutes=30),
        timezone=zone,
        room="Procedure room 1",
        patient_name="Lena Fischer",
        patient_email="patient@mail.example",
        cancelled=cancelled,
        preparation=PREPARATION,
    )


def test_invites_are_found_by_time_range_at_their_true_instants(radicale: Radicale) -> None:
    collection = "/clinic/invites/"
    assert radicale.request("MKCALENDAR", collection)[0] == 201
    invites = [invite(n, *case) for n, case in enumerate(CASES)]
    # The second 01:30 of New York's fall-back night: an hour after the first.
    invites.append(
        invite(
            len(CASES),
            "America/New_York",
            (2027, 11, 7, 1, 30),
            AppointmentKind.DIAGNOSTIC_BLOCK,
            cancelled=False,
            fold=1,
        )
    )
    now = datetime(2026, 3, 2, 19, tzinfo=UTC)
    for item in invites:
        status, body = radicale.request(
            "PUT",
            f"{collection}{item.uid}.ics",
            calendar_object(build_invite(item, CLINIC, now=now)),
            {"Content-Type": "text/calendar; charset=utf-8"},
        )
        assert status == 201, body

    for item in invites:
        href = f"{collection}{item.uid}.ics"
        minute = timedelta(minutes=1)
        assert found(radicale, collection, item.start, item.start + minute) == {href}
        # An hour either side of the true start (a wrong offset) finds nothing; the
        # event is 30 minutes long, so these windows miss it.
        for hour in (timedelta(hours=-1), timedelta(hours=1)):
            window = item.start + hour
            assert href not in found(radicale, collection, window, window + minute)


def test_a_stored_invite_reads_back_with_its_uid_and_sequence(radicale: Radicale) -> None:
    collection = "/clinic/readback/"
    assert radicale.request("MKCALENDAR", collection)[0] == 201
    item = invite(99, "America/New_York", (2026, 3, 9, 9), AppointmentKind.PROCEDURE, False)
    body = calendar_object(build_invite(item, CLINIC, now=datetime(2026, 3, 2, tzinfo=UTC)))
    assert radicale.request("PUT", f"{collection}a.ics", body)[0] == 201

    status, stored = radicale.request("GET", f"{collection}a.ics")

    assert status == 200
    assert b"UID:caldav-test-99" in stored
    assert b"SEQUENCE:1" in stored
    assert b"TZID:America/New_York" in stored
