"""The patient's invite of an appointment, from the database (the builder is pure: ics.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy.orm import Session

from scheduler.errors import InviteLinkUnavailable
from scheduler.facilities.models import Room, Site
from scheduler.invites.ics import Clinic, Invite, Preparation
from scheduler.pathways.models import Pathway
from scheduler.patients.models import Patient
from scheduler.policies.services import policy_of
from scheduler.scheduling.models import Appointment
from scheduler.vocabulary import AppointmentKind, AppointmentStatus

# Arrive this early for a block or a follow-up; a procedure's time is the policy's.
VISIT_ARRIVAL_MINUTES = 15


def clinic_of(site: Site, organizer_email: str) -> Clinic:
    """The site as its patients see it: by its display name, else its name (SPEC §5).

    Every text of an invite, e-mail or patient page names the clinic through this value.
    """
    return Clinic(
        name=site.display_name or site.name,
        email=organizer_email,
        address=site.address,
        phone=site.phone,
    )


def invite_for(session: Session, appointment: Appointment) -> Invite:
    """The appointment as its patient should see it, with the preparation its policy sets."""
    pathway = session.get_one(Pathway, appointment.pathway_id)
    patient = session.get_one(Patient, appointment.patient_id)
    room = session.get_one(Room, appointment.room_id)
    check_in = policy_of(pathway.policy).parameters.check_in
    procedure = appointment.kind is AppointmentKind.PROCEDURE
    return Invite(
        uid=appointment.ical_uid,
        sequence=appointment.version,
        kind=appointment.kind,
        start=appointment.start_at,
        end=appointment.end_at,
        timezone=appointment.timezone,
        room=room.name,
        patient_name=f"{patient.given_name} {patient.family_name}",
        patient_email=patient.email,
        cancelled=appointment.status is AppointmentStatus.CANCELLED,
        preparation=Preparation(
            arrival_minutes_before=(
                check_in.arrival_minutes_before if procedure else VISIT_ARRIVAL_MINUTES
            ),
            sedation=procedure and pathway.sedation,
            clear_fluids_hours=check_in.fasting_hours.clear_fluids,
            light_meal_hours=check_in.fasting_hours.light_meal,
            heavy_meal_hours=check_in.fasting_hours.heavy_meal,
        ),
    )


# ---------------------------------------------------------------------------------------
# The patient's signed link: GET /i/<token>.ics, no login

LINK_SALT = "invite-link"
# A link keeps working until this long after the appointment ends, then expires.
LINK_GRACE = timedelta(hours=12)


def _link_refusal(appointment: Appointment, now: datetime) -> str | None:
    """Why a link to ``appointment`` does not work at ``now``; None when it does."""
    if appointment.status is not AppointmentStatus.BOOKED:
        return f"is {appointment.status.value}"
    if appointment.end_at + LINK_GRACE <= now:
        return "is over"
    return None


def link_token(secret_key: str, appointment: Appointment) -> str:
    """A token naming this version of the appointment; a move or cancellation retires it."""
    return URLSafeSerializer(secret_key, salt=LINK_SALT).dumps(
        [appointment.id, appointment.version]
    )


def link_url(base_url: str, secret_key: str, appointment: Appointment) -> str:
    """The address of the appointment's invite that needs no login: ``/i/<token>.ics``."""
    return f"{base_url.rstrip('/')}/i/{link_token(secret_key, appointment)}.ics"


@dataclass(frozen=True)
class InviteLink:
    url: str
    expires_at: datetime


def live_link(
    base_url: str, secret_key: str, appointment: Appointment, now: datetime
) -> InviteLink:
    """The link to hand out, and when it expires; refused (409) when it would not work,
    since a URL that is already 404 only tells the patient something is broken."""
    refusal = _link_refusal(appointment, now)
    if refusal is not None:
        raise InviteLinkUnavailable(appointment.id, refusal)
    return InviteLink(
        url=link_url(base_url, secret_key, appointment),
        expires_at=appointment.end_at + LINK_GRACE,
    )


def appointment_for_link(
    session: Session, secret_key: str, token: str, now: datetime
) -> Appointment | None:
    """The booked appointment a link names, until it is over; None for anything else.

    Callers answer every None the same way (404), so a link reveals nothing about why
    it stopped working.
    """
    try:
        appointment_id, version = URLSafeSerializer(secret_key, salt=LINK_SALT).loads(token)
    except (BadSignature, ValueError, TypeError):
        return None
    if not isinstance(appointment_id, int) or not isinstance(version, int):
        return None
    if not 0 < appointment_id < 2**31:
        return None
    appointment = session.get(Appointment, appointment_id)
    if (
        appointment is None
        or appointment.version != version
        or _link_refusal(appointment, now) is not None
    ):
        return None
    return appointment
