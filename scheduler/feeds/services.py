"""Feed tokens (only their hash is stored) and the feed's entries (SPEC §5).

A clinician subscribes their calendar app to ``/feeds/<token>.ics``. The token is the
only credential, so it is long and random, shown once, and stored as a SHA-256 digest:
a copy of the database does not give anyone the feeds. A new token replaces the old.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from scheduler.access import Actor
from scheduler.clinicians.models import Clinician
from scheduler.clinicians.services import get_clinician
from scheduler.errors import Forbidden
from scheduler.facilities.models import Room
from scheduler.invites.ics import Clinic, FeedEntry
from scheduler.patients.models import Patient
from scheduler.scheduling.models import Appointment
from scheduler.settings import PatientDetail
from scheduler.vocabulary import AppointmentStatus, Role

FEED_PAST: Final = timedelta(days=30)
FEED_AHEAD: Final = timedelta(days=90)
# secrets.token_urlsafe(32): 43 characters of [A-Za-z0-9_-].
TOKEN_BYTES: Final = 32
TOKEN_PATTERN: Final = r"[A-Za-z0-9_-]{43}"  # noqa: S105 (a shape, not a secret)

KIND_LABELS: Final = {
    "diagnostic_block": "Diagnostic block",
    "procedure": "Endoscopic neurotomy",
    "follow_up": "Follow-up",
}


def feed_urls(base_url: str, token: str) -> dict[str, str]:
    """The feed's address, and the same as ``webcal://`` (calendar apps subscribe to it)."""
    url = f"{base_url.rstrip('/')}/feeds/{token}.ics"
    return {"url": url, "webcal_url": re.sub(r"^https?://", "webcal://", url)}


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _require_own_feed(actor: Actor, clinician_id: int) -> None:
    if actor.role is Role.CLINICIAN and actor.clinician_id != clinician_id:
        raise Forbidden("Clinicians can only manage their own feed.")


def issue_token(session: Session, actor: Actor, now: datetime, clinician_id: int) -> str:
    """A new feed token for the clinician; the previous one stops working."""
    _require_own_feed(actor, clinician_id)
    clinician = get_clinician(session, clinician_id)
    token = secrets.token_urlsafe(TOKEN_BYTES)
    clinician.feed_token_hash = _digest(token)
    clinician.feed_token_created_at = now
    session.flush()
    return token


def revoke_token(session: Session, actor: Actor, clinician_id: int) -> None:
    _require_own_feed(actor, clinician_id)
    clinician = get_clinician(session, clinician_id)
    clinician.feed_token_hash = None
    clinician.feed_token_created_at = None
    session.flush()


def clinician_for_token(session: Session, token: str) -> Clinician | None:
    return session.scalar(select(Clinician).where(Clinician.feed_token_hash == _digest(token)))


@dataclass(frozen=True)
class Feed:
    name: str
    entries: list[FeedEntry]


# The SUMMARY in the neutral mode: it says neither what the case is nor who.
NEUTRAL_SUMMARY: Final = "Clinic appointment"


def _patient_label(patient: Patient, detail: PatientDetail) -> str | None:
    if detail in {PatientDetail.NEUTRAL, PatientDetail.NONE}:
        return None
    if detail is PatientDetail.INITIALS:
        return f"{patient.given_name[:1]}.{patient.family_name[:1]}."
    return f"{patient.given_name} {patient.family_name} (MRN {patient.mrn})"


def _summary(kind: str, who: str | None, detail: PatientDetail) -> str:
    """SUMMARY, the line lock screens and shared calendars show: as much as ``detail`` allows."""
    if detail is PatientDetail.NEUTRAL:
        return NEUTRAL_SUMMARY
    return f"{kind} — {who}" if who else kind


def feed_of(
    session: Session,
    clinician: Clinician,
    now: datetime,
    detail: PatientDetail,
    organizer_email: str,
) -> Feed:
    """The clinician's cases from 30 days back to 90 days ahead, in one query.

    Each case's ORGANIZER is its site, at ``organizer_email`` (the clinic's address, as on
    the patients' invites). The feed is for staff, so the site goes by its own name.

    Cancelled and no-show appointments are left out: a published feed is the whole
    truth on every refresh, so calendars drop what is no longer in it (see build_feed).
    """
    rows = session.execute(
        select(Appointment, Patient, Room)
        .join(Patient, Patient.id == Appointment.patient_id)
        .join(Room, Room.id == Appointment.room_id)
        .where(
            Appointment.clinician_id == clinician.id,
            Appointment.status.in_([AppointmentStatus.BOOKED, AppointmentStatus.COMPLETED]),
            Appointment.start_at >= now - FEED_PAST,
            Appointment.start_at < now + FEED_AHEAD,
        )
        .order_by(Appointment.start_at, Appointment.id)
    ).all()
    entries = []
    for appointment, patient, room in rows:
        site = appointment.site
        label = KIND_LABELS[appointment.kind.value]
        who = _patient_label(patient, detail)
        details = [label]
        if appointment.method is not None:
            details.append(f"Method: {appointment.method.value}")
        details.append(f"Side: {appointment.side.value}; levels: {', '.join(appointment.levels)}")
        entries.append(
            FeedEntry(
                uid=f"feed-{appointment.ical_uid}",
                start=appointment.start_at,
                end=appointment.end_at,
                timezone=appointment.timezone,
                summary=_summary(label, who, detail),
                location=f"{room.name}, {site.name}",
                description="\n".join(details),
                organizer=Clinic(
                    name=site.name, email=organizer_email, address=site.address, phone=site.phone
                ),
            )
        )
    name = f"{clinician.given_name} {clinician.family_name}: cases"
    return Feed(name=name, entries=entries)
