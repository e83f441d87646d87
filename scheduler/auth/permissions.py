"""The one permission table: which roles may call each endpoint of the v1 API.

Keys are ``"METHOD /path/{param}"`` relative to ``/api/v1``, as SPEC §6 writes them.
An endpoint missing from the table is refused (fail closed), and a test checks that
the table and the URL map name exactly the same endpoints. Row-level rules (a patient
sees only their own records, a clinician writes only on their own cases) are applied
by the services with :mod:`scheduler.access`. A page that does what an endpoint does
opens to the same roles (:func:`roles_of`).
Pure module: no Flask, no SQLAlchemy.
"""

from __future__ import annotations

import re
from typing import Final

from scheduler.access import STAFF
from scheduler.vocabulary import Role

PUBLIC: Final = frozenset[Role]()  # no token needed
ANYONE: Final = frozenset(Role)  # any signed-in user

ADMIN = frozenset({Role.ADMIN})
DESK = frozenset({Role.ADMIN, Role.SCHEDULER})  # registration and booking
STAFF_AND_PATIENT = STAFF | {Role.PATIENT}
CLINICAL = frozenset({Role.CLINICIAN})  # clinician-only records (own cases)
BEDSIDE = frozenset({Role.NURSE, Role.CLINICIAN})  # procedure-day nursing steps
# The clinic's aggregate figures (SPEC §11); managers see nothing else but the sites.
REPORT_READERS = frozenset({Role.ADMIN, Role.MANAGER})

PERMISSIONS: Final[dict[str, frozenset[Role]]] = {
    # auth and users
    "POST /auth/tokens": PUBLIC,
    "DELETE /auth/tokens": ANYONE,
    "GET /auth/me": ANYONE,
    "GET /users": ADMIN,
    "POST /users": ADMIN,
    # facilities
    "GET /sites": STAFF | {Role.MANAGER},
    "POST /sites": ADMIN,
    "GET /sites/{site_id}": STAFF | {Role.MANAGER},
    "PATCH /sites/{site_id}": ADMIN,
    "GET /rooms": STAFF,
    "POST /rooms": ADMIN,
    "GET /equipment": STAFF,
    "POST /equipment": ADMIN,
    "GET /recovery-bays": STAFF,
    "POST /recovery-bays": ADMIN,
    # clinicians
    "GET /clinicians": STAFF,
    "POST /clinicians": ADMIN,
    "GET /clinicians/{clinician_id}": STAFF,
    "GET /clinicians/{clinician_id}/working-hours": STAFF,
    "PUT /clinicians/{clinician_id}/working-hours": ADMIN,
    "GET /clinicians/{clinician_id}/time-off": STAFF,
    "POST /clinicians/{clinician_id}/time-off": DESK,
    "GET /clinicians/{clinician_id}/daily-list": STAFF,
    "GET /clinicians/{clinician_id}/durations": STAFF,
    "PUT /clinicians/{clinician_id}/durations": ADMIN,
    # patients
    "GET /patients": STAFF,
    "POST /patients": DESK,
    "GET /patients/{patient_id}": STAFF_AND_PATIENT,
    # pathways
    "GET /pathways": STAFF_AND_PATIENT,
    "POST /pathways": DESK,
    "GET /pathways/{pathway_id}": STAFF_AND_PATIENT,
    "POST /pathways/{pathway_id}/cancel": DESK,
    "GET /pathways/{pathway_id}/conservative-treatments": STAFF,
    "POST /pathways/{pathway_id}/conservative-treatments": DESK | CLINICAL,
    "GET /pathways/{pathway_id}/coverage-acknowledgments": STAFF,
    "POST /pathways/{pathway_id}/coverage-acknowledgments": DESK,
    "GET /pathways/{pathway_id}/eligibility": STAFF,
    "GET /pathways/{pathway_id}/events": STAFF,
    # policies
    "GET /policies": STAFF,
    "POST /policies": ADMIN,
    "GET /policies/{name}/{version}": STAFF,
    # appointments
    "GET /appointments": STAFF_AND_PATIENT,
    "POST /appointments": DESK,
    "GET /pathways/{pathway_id}/slots": STAFF,
    "POST /holds": DESK,
    "DELETE /holds/{hold_id}": DESK,
    "GET /appointments/{appointment_id}": STAFF_AND_PATIENT,
    "PATCH /appointments/{appointment_id}": DESK,
    "POST /appointments/{appointment_id}/cancel": DESK,
    "POST /appointments/{appointment_id}/no-show": DESK | BEDSIDE,
    # clinical records along the pathway
    "POST /appointments/{appointment_id}/block-result": CLINICAL,
    "POST /appointments/{appointment_id}/check-in": BEDSIDE,
    "POST /appointments/{appointment_id}/start": CLINICAL,
    "POST /appointments/{appointment_id}/finish": CLINICAL,
    "GET /appointments/{appointment_id}/recovery-scores": STAFF,
    "POST /appointments/{appointment_id}/recovery-scores": BEDSIDE,
    "POST /appointments/{appointment_id}/discharge": BEDSIDE,
    "POST /appointments/{appointment_id}/admit": BEDSIDE,
    "POST /appointments/{appointment_id}/follow-up-outcome": CLINICAL,
    # invites, feeds, e-mail delivery
    "GET /appointments/{appointment_id}/invite.ics": STAFF_AND_PATIENT,
    "GET /appointments/{appointment_id}/invite-link": STAFF_AND_PATIENT,
    "POST /clinicians/{clinician_id}/feed-token": ADMIN | CLINICAL,
    "DELETE /clinicians/{clinician_id}/feed-token": ADMIN | CLINICAL,
    "GET /outbox": ADMIN,
    "POST /outbox/{message_id}/requeue": ADMIN,
    # HL7 v2 SIU messages to the EHR
    "GET /hl7/deliveries": ADMIN,
    "POST /hl7/deliveries/{delivery_id}/requeue": ADMIN,
    # the waitlist and its offers (SPEC §10)
    "GET /waitlist": STAFF,
    "POST /waitlist": DESK,
    "GET /waitlist/{entry_id}": STAFF,
    "PATCH /waitlist/{entry_id}": DESK,
    "DELETE /waitlist/{entry_id}": DESK,
    "GET /waitlist/vacancies": STAFF,
    "GET /waitlist/offers": STAFF,
    "POST /waitlist/offers": DESK,
    "POST /waitlist/offers/{offer_id}/withdraw": DESK,
    # reports for clinic managers (SPEC §11)
    "GET /reports": REPORT_READERS,
    "GET /reports/{name}": REPORT_READERS,
}


def roles_of(endpoint: str) -> tuple[Role, ...]:
    """The roles that may call ``endpoint`` (``"POST /appointments"``): a page that does
    what an API endpoint does opens to the same roles."""
    return tuple(sorted(PERMISSIONS[endpoint]))


_CONVERTER = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


def endpoint_key(method: str, rule: str, prefix: str = "/api/v1") -> str:
    """``("GET", "/api/v1/pathways/<int:pathway_id>")`` -> ``"GET /pathways/{pathway_id}"``."""
    path = _CONVERTER.sub(r"{\1}", rule).removeprefix(prefix)
    return f"{'GET' if method == 'HEAD' else method} {path.rstrip('/') or '/'}"
