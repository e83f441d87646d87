"""Appointment values in, RFC 5545 bytes out: patient invites and clinician feeds (SPEC §5).

An invite is an iTIP message (RFC 5546): METHOD:REQUEST for a new or changed appointment,
METHOD:CANCEL when it is cancelled. Its UID never changes and its SEQUENCE is the
appointment's version, so a calendar updates or removes the entry it already holds instead
of adding a second one (RFC 5546 §2.1.4, RFC 5545 §3.8.7.4). Everything a lock screen may
show (SUMMARY, alarm text) names only the clinic: no diagnosis, procedure or patient name.
The preparation for the kind of appointment goes in DESCRIPTION, worded in templates under
``scheduler/templates/invites/``.

Serialisation is icalendar's: CRLF line ends and lines folded at 75 octets without splitting
a UTF-8 character (RFC 5545 §3.1), which the tests hold it to.
Pure module: no Flask, no SQLAlchemy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import icalendar
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from scheduler.clock import ambiguous_wall_time
from scheduler.invites.vtimezone import vtimezone
from scheduler.vocabulary import AppointmentKind

PRODID = "-//Neurotomy pathway scheduler//EN"
DEFAULT_ALARMS = (timedelta(days=1), timedelta(hours=2))


@dataclass(frozen=True)
class Clinic:
    """The site: ORGANIZER of an invite or a feed's case, and where it takes place."""

    name: str
    email: str
    address: str
    phone: str | None


@dataclass(frozen=True)
class Preparation:
    """What the pathway's policy asks of the patient before and after an appointment."""

    arrival_minutes_before: int
    sedation: bool
    clear_fluids_hours: int
    light_meal_hours: int
    heavy_meal_hours: int


@dataclass(frozen=True)
class Invite:
    """One appointment as the patient should see it."""

    uid: str
    sequence: int
    kind: AppointmentKind
    start: datetime
    end: datetime
    timezone: str
    room: str | None
    patient_name: str  # the ATTENDEE's CN: the invite goes to this patient alone
    patient_email: str | None
    cancelled: bool
    preparation: Preparation

    def __post_init__(self) -> None:
        _check_interval(self.start, self.end)


@dataclass(frozen=True)
class FeedEntry:
    """A clinician's case in their subscribed feed, already reduced to the detail shown."""

    uid: str
    start: datetime
    end: datetime
    timezone: str
    summary: str
    location: str
    description: str
    organizer: Clinic  # RFC 5546 §3.2.1: a published event names its organizer too

    def __post_init__(self) -> None:
        _check_interval(self.start, self.end)


def _check_interval(start: datetime, end: datetime) -> None:
    if start.utcoffset() is None or end.utcoffset() is None:
        raise ValueError("appointment times must be timezone-aware")
    if end <= start:
        raise ValueError(f"appointment ends ({end}) before it starts ({start})")


def clock(moment: datetime) -> str:
    """Wall-clock time with the zone named, as patients read it: ``8:45 AM EDT``."""
    hour = moment.hour % 12 or 12
    return f"{hour}:{moment:%M} {'AM' if moment.hour < 12 else 'PM'} {moment:%Z}"


def day(moment: datetime) -> str:
    """The date written out: ``Friday, March 6, 2026``.

    English names: ``%A`` and ``%B`` in the C locale, which nothing in the service changes.
    """
    return f"{moment:%A}, {moment:%B} {moment.day}, {moment.year}"


templates = Environment(
    loader=FileSystemLoader(Path(__file__).resolve().parent.parent / "templates"),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
templates.filters["clock"] = clock
templates.filters["day"] = day


def render(name: str, **context: object) -> str:
    """Render a template from ``scheduler/templates`` without surrounding blank lines."""
    return templates.get_template(name).render(**context).strip()


def summary(clinic: Clinic) -> str:
    """The neutral SUMMARY: lock screens and shared calendars show it to anyone."""
    return render("invites/summary.txt", clinic=clinic)


def preparation_text(invite: Invite, clinic: Clinic) -> str:
    """The DESCRIPTION: preparation for this kind of appointment, or the cancellation notice.

    Times are the site's wall-clock times with the zone named. Each is computed as elapsed
    time before the start in UTC, then shown locally, so that "8 hours before" stays 8 hours
    on the night the clocks change.
    """
    zone = ZoneInfo(invite.timezone)
    preparation = invite.preparation

    def before(delta: timedelta) -> datetime:
        return (invite.start - delta).astimezone(zone)

    context = {
        "clinic": clinic,
        "preparation": preparation,
        "start": invite.start.astimezone(zone),
        "arrival": arrival(invite),
        "heavy_meal_until": before(timedelta(hours=preparation.heavy_meal_hours)),
        "light_meal_until": before(timedelta(hours=preparation.light_meal_hours)),
        "clear_fluids_until": before(timedelta(hours=preparation.clear_fluids_hours)),
    }
    if invite.cancelled:
        return render("invites/cancelled.txt", **context)
    return render(f"invites/preparation/{invite.kind.value}.txt", **context)


def arrival(invite: Invite) -> datetime:
    """When the patient should arrive: the preparation's "Please arrive by", site-local."""
    minutes = timedelta(minutes=invite.preparation.arrival_minutes_before)
    return (invite.start - minutes).astimezone(ZoneInfo(invite.timezone))


def zone_words(timezone: str) -> str:
    """The site's zone as patients say it: ``America/New_York`` -> ``New York time``."""
    return timezone.rsplit("/", 1)[-1].replace("_", " ") + " time"


# ---------------------------------------------------------------------------------------
# Links that add the appointment to a web calendar (Google, Outlook.com): their public
# "new event" templates, filled with what the invite shows anyone (the neutral title, the
# place, the arrival time), times in UTC. Nothing about the patient or the treatment.

GOOGLE_TEMPLATE = "https://calendar.google.com/calendar/render"
OUTLOOK_COMPOSE = "https://outlook.live.com/calendar/0/deeplink/compose"


def _web_event(invite: Invite, clinic: Clinic) -> dict[str, str]:
    return {
        "title": summary(clinic),
        "details": f"Please arrive by {clock(arrival(invite))}.",
        "location": location(invite, clinic),
    }


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def google_calendar_url(invite: Invite, clinic: Clinic) -> str:
    """Google Calendar's event template (``dates`` as UTC basic format, start/end)."""
    event = _web_event(invite, clinic)
    dates = f"{_utc(invite.start):%Y%m%dT%H%M%SZ}/{_utc(invite.end):%Y%m%dT%H%M%SZ}"
    query = {"action": "TEMPLATE", "text": event["title"], "dates": dates}
    return f"{GOOGLE_TEMPLATE}?" + urlencode(
        query | {"details": event["details"], "location": event["location"]}
    )


def outlook_calendar_url(invite: Invite, clinic: Clinic) -> str:
    """Outlook.com's compose deep link (``startdt``/``enddt`` as UTC ISO 8601)."""
    event = _web_event(invite, clinic)
    query = {
        "path": "/calendar/action/compose",
        "rru": "addevent",
        "subject": event["title"],
        "startdt": f"{_utc(invite.start):%Y-%m-%dT%H:%M:%SZ}",
        "enddt": f"{_utc(invite.end):%Y-%m-%dT%H:%M:%SZ}",
        "body": event["details"],
        "location": event["location"],
    }
    return f"{OUTLOOK_COMPOSE}?" + urlencode(query)


def location(invite: Invite, clinic: Clinic) -> str:
    """LOCATION: where to go, from the site down to the room."""
    return ", ".join(part for part in (clinic.name, clinic.address, invite.room) if part)


def build_invite(
    invite: Invite,
    clinic: Clinic,
    *,
    now: datetime,
    alarms: Sequence[timedelta] = DEFAULT_ALARMS,
) -> bytes:
    """The iTIP message for ``invite``: REQUEST, or CANCEL once it is cancelled (RFC 5546).

    ``alarms`` are lead times before the start; each becomes a VALARM with a neutral text.
    A cancellation carries STATUS:CANCELLED, the same UID and the SEQUENCE given, and no
    alarms (RFC 5546 §3.2.5). The ATTENDEE is the patient, named by CN as calendars show
    invitees (RFC 5545 §3.2.2): the invite goes to that patient alone, and the name is
    never in the SUMMARY. Without a patient address there is no ATTENDEE; the caller can
    still offer the file for download.
    """
    if any(lead <= timedelta(0) for lead in alarms):
        raise ValueError("alarms are lead times before the start and must be positive")
    calendar = _calendar("CANCEL" if invite.cancelled else "REQUEST")
    calendar.add_component(_vtimezone(invite.timezone, [invite.start, invite.end]))
    event = _event(invite.uid, invite.start, invite.end, invite.timezone, now)
    event.add("sequence", invite.sequence)
    event.add("summary", summary(clinic))
    event.add("location", location(invite, clinic))
    event.add("description", preparation_text(invite, clinic))
    event.add("status", "CANCELLED" if invite.cancelled else "CONFIRMED")
    # A family calendar the patient shares shows others only that the time is busy.
    event.add("class", "PRIVATE")
    _organizer(event, clinic)
    if invite.patient_email is not None:
        event.add(
            "attendee",
            f"mailto:{invite.patient_email}",
            parameters={
                "CN": invite.patient_name,
                "ROLE": "REQ-PARTICIPANT",
                "PARTSTAT": "NEEDS-ACTION",
                "RSVP": "TRUE",
            },
        )
    if not invite.cancelled:
        for lead in alarms:
            event.add_component(_alarm(lead, summary(clinic)))
    calendar.add_component(event)
    return _serialise(calendar)


def build_feed(
    entries: Sequence[FeedEntry],
    *,
    name: str,
    now: datetime,
    refresh: timedelta = timedelta(minutes=15),
) -> bytes:
    """A subscribable calendar of a clinician's cases (METHOD:PUBLISH, RFC 5546 §3.2.1).

    Every entry is a live case (STATUS:CONFIRMED). A published feed is the whole truth on
    each refresh, so a case cancelled since is left out and every subscribed calendar
    drops it; clients differ on STATUS:CANCELLED in a subscription (struck through,
    hidden, or shown as if still booked), while a case that is gone is gone in all of them.

    How often to refresh is said twice: REFRESH-INTERVAL (RFC 7986 §5.7) and
    X-PUBLISHED-TTL, the older name Outlook reads. The name likewise: NAME (RFC 7986 §5.1)
    and X-WR-CALNAME.
    """
    calendar = _calendar("PUBLISH")
    calendar.add("name", name)
    calendar.add("x-wr-calname", name)
    calendar.add("refresh-interval", refresh, parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", icalendar.vDuration(refresh))
    for zone in sorted({entry.timezone for entry in entries}):
        instants = [
            moment
            for entry in entries
            if entry.timezone == zone
            for moment in (entry.start, entry.end)
        ]
        calendar.add_component(_vtimezone(zone, instants))
    for entry in entries:
        event = _event(entry.uid, entry.start, entry.end, entry.timezone, now)
        event.add("summary", entry.summary)
        event.add("location", entry.location)
        event.add("description", entry.description)
        event.add("status", "CONFIRMED")
        _organizer(event, entry.organizer)
        calendar.add_component(event)
    return _serialise(calendar)


def _serialise(calendar: icalendar.Calendar) -> bytes:
    """The bytes: CRLF line ends, lines folded at 75 octets between characters (RFC 5545 §3.1)."""
    data: bytes = calendar.to_ical()
    return data


def _calendar(method: str) -> icalendar.Calendar:
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", method)
    return calendar


def _vtimezone(zone: str, instants: Sequence[datetime]) -> icalendar.Timezone:
    """The VTIMEZONE covering the site-local dates of ``instants``."""
    dates = [moment.astimezone(ZoneInfo(zone)).date() for moment in instants]
    return vtimezone(zone, min(dates), max(dates))


def _event(uid: str, start: datetime, end: datetime, zone: str, now: datetime) -> icalendar.Event:
    """A VEVENT with its times in the site's zone (TZID) and DTSTAMP in UTC (RFC 5545 §3.8.7.2).

    A start or end in the repeated hour of a fall-back night cannot be written with TZID:
    its wall time names two instants and readers take the first (RFC 5545 §3.3.5), an hour
    early for the second. Such an event has both times in UTC (``...Z``), which every
    reader places right and shows in its own zone.
    """
    if now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    site = ZoneInfo(zone)
    ambiguous = ambiguous_wall_time(start, site) or ambiguous_wall_time(end, site)
    written_in = UTC if ambiguous else site
    event = icalendar.Event()
    event.add("uid", uid)
    event.add("dtstamp", now.astimezone(UTC))
    event.add("dtstart", start.astimezone(written_in))
    event.add("dtend", end.astimezone(written_in))
    return event


def _organizer(event: icalendar.Event, clinic: Clinic) -> None:
    """ORGANIZER: the clinic's address, with its name as CN (RFC 5545 §3.8.4.3)."""
    event.add("organizer", f"mailto:{clinic.email}", parameters={"CN": clinic.name})


def _alarm(lead: timedelta, text: str) -> icalendar.Alarm:
    """A display reminder ``lead`` before the start (RFC 5545 §3.6.6)."""
    alarm = icalendar.Alarm()
    alarm.add("action", "DISPLAY")
    alarm.add("description", text)
    alarm.add("trigger", -lead)
    return alarm
