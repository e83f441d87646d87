"""Bad input on every write endpoint: a clear 4xx problem, and nothing written (SPEC §6-§7).

One table drives the test: each write endpoint of the permission table has a valid body
(checked to be accepted), and each case spoils it in one way. Steps that need an
appointment in a given state get it by walking the pathway through the API first, so
the body is the only thing wrong with the request.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from scheduler.api import PROBLEM_JSON, PROBLEM_TYPE_BASE
from scheduler.auth.models import User
from scheduler.auth.permissions import PERMISSIONS
from scheduler.hl7v2.messages import SiuEvent
from scheduler.hl7v2.models import DeliveryStatus, SiuDelivery, SiuMessage
from scheduler.models import Base
from scheduler.outbox.models import OutboxMessage, OutboxStatus
from scheduler.patients.models import Patient
from scheduler.policies.services import builtin_document
from scheduler.settings import BackfillSettings
from scheduler.vocabulary import MessageKind, Role
from scheduler.waitlist import services as waitlist
from scheduler.waitlist.models import Vacancy
from tests.api.conftest import Clinic
from tests.api.test_full_pathway import (
    ALDRETE_OK,
    CHECK_IN_OK,
    PADSS_OK,
    block,
    book,
    conservative_care,
    refer,
)
from tests.support import FROZEN_NOW, PASSWORD, Api, FrozenClock, local

WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
JSON_METHODS = ("POST", "PUT", "PATCH")
MAX_BODY = 256 * 1024
MISSING_ID = 999_999

# ---------------------------------------------------------------------------------------
# Arranging: a pathway walked through the API to the state a step needs

# Stages of the pathway, in the order a clinic walks them.
STAGES = (
    "clinic",  # the clinic fixture only
    "referred",  # a pathway in `referred`
    "block_held",  # a hold on tomorrow 09:00 for a diagnostic block
    "block_booked",  # a diagnostic block booked for tomorrow 09:00
    "block_started",  # ... and the clock past its start
    "procedure_scheduled",  # two positive blocks, the procedure booked; morning of the day
    "checked_in",
    "in_procedure",
    "in_recovery",
    "recovered",  # Aldrete and PADSS at the thresholds
    "discharged",
    "follow_up_scheduled",  # follow-up booked; clock before it
    "follow_up_started",  # ... and the clock past its start
)


@dataclass
class World:
    """What a case's path and body can refer to."""

    clinic: Clinic
    admin_email: str
    patient_mrn: str
    pathway_id: int = MISSING_ID
    appointment_id: int = MISSING_ID
    hold_id: str = "0" * 32
    message_id: int = MISSING_ID
    delivery_id: int = MISSING_ID
    entry_id: int = MISSING_ID
    vacancy_id: int = MISSING_ID
    offer_id: int = MISSING_ID

    def path_params(self) -> dict[str, Any]:
        return {
            "entry_id": self.entry_id,
            "offer_id": self.offer_id,
            "site_id": self.clinic.site_id,
            "message_id": self.message_id,
            "delivery_id": self.delivery_id,
            "clinician_id": self.clinic.clinician_id,
            "pathway_id": self.pathway_id,
            "appointment_id": self.appointment_id,
            "hold_id": self.hold_id,
        }


# Beside the pathway's stages: the referred pathway on the waitlist; then a block of
# another pathway cancelled (a vacancy, not yet offered); then offered to it.
WAITLIST_STAGES = ("waitlisted", "vacancy", "offered")


def arrange_waitlist(
    api: Api, clinic: Clinic, clock: FrozenClock, db: Session, stage: str
) -> World:
    world = arrange(api, clinic, clock, db, "referred")
    body = {"pathway_id": world.pathway_id, "min_notice_hours": 0}
    world.entry_id = api.ok("POST", "/waitlist", "scheduler", json=body)["id"]
    if stage == "waitlisted":
        return world
    other = refer(api, clinic)["id"]
    freed = book(api, clinic, other, "diagnostic_block", local("2026-03-04", 9))["id"]
    api.ok("POST", f"/appointments/{freed}/cancel", "scheduler", json={"reason": "Unwell"})
    vacancy = db.scalars(select(Vacancy).where(Vacancy.freed_appointment_id == freed)).one()
    world.vacancy_id = vacancy.id
    if stage == "vacancy":
        return world
    offers = waitlist.offer_vacancy(db, clock(), vacancy, BackfillSettings())
    db.commit()
    world.offer_id = offers[0].id
    return world


def arrange(  # noqa: PLR0911 (it returns once the stage is reached)
    api: Api, clinic: Clinic, clock: FrozenClock, db: Session, stage: str
) -> World:
    """Walk a pathway of ``clinic.patient`` through the API up to ``stage``."""
    if stage in WAITLIST_STAGES:
        return arrange_waitlist(api, clinic, clock, db, stage)
    target = STAGES.index(stage)
    admin = db.scalar(select(User.email).where(User.role == Role.ADMIN).order_by(User.id))
    patient = db.get(Patient, clinic.patient_id)
    assert admin is not None
    assert patient is not None
    world = World(clinic, admin, patient.mrn)
    api.ok("POST", f"/clinicians/{clinic.clinician_id}/feed-token", "clinician")
    if target < STAGES.index("referred"):
        return world
    world.pathway_id = pid = refer(api, clinic)["id"]
    if target < STAGES.index("block_held"):
        return world
    if target < STAGES.index("block_booked"):
        world.hold_id = api.ok("POST", "/holds", "scheduler", json=hold_body(world))["hold_id"]
        return world
    if target < STAGES.index("procedure_scheduled"):
        world.appointment_id = book(api, clinic, pid, "diagnostic_block", local("2026-03-03", 9))[
            "id"
        ]
        world.message_id = undeliverable_invite(db, world.appointment_id)
        world.delivery_id = undeliverable_siu(db, world.appointment_id)
        if target >= STAGES.index("block_started"):
            clock.set(local("2026-03-03", 9, 10))
        return world

    conservative_care(api, pid, outcome="no_relief")
    block(api, clinic, clock, pid, "2026-03-03", post=1)
    block(api, clinic, clock, pid, "2026-03-17", post=0)
    world.appointment_id = aid = book(api, clinic, pid, "procedure", local("2026-03-24", 8, 30))[
        "id"
    ]
    clock.set(local("2026-03-24", 7, 45))
    steps: list[tuple[str, str, str, Any, Any]] = [
        ("checked_in", "check-in", "nurse", CHECK_IN_OK, local("2026-03-24", 8, 35)),
        ("in_procedure", "start", "clinician", {}, local("2026-03-24", 10)),
        (
            "in_recovery",
            "finish",
            "clinician",
            {"levels_treated": ["L4-L5"], "complications": []},
            local("2026-03-24", 10, 15),
        ),
        (
            "recovered",
            "recovery-scores",
            "nurse",
            {"scale": "aldrete", "items": ALDRETE_OK},
            local("2026-03-24", 10, 45),
        ),
        (
            "recovered",
            "recovery-scores",
            "nurse",
            {"scale": "padss", "items": PADSS_OK},
            local("2026-03-24", 11),
        ),
        (
            "discharged",
            "discharge",
            "nurse",
            {"escort_present": True, "written_instructions_given": True},
            local("2026-03-24", 12),
        ),
    ]
    for reached, step, role, body, then in steps:
        if target < STAGES.index(reached):
            return world
        api.ok("POST", f"/appointments/{aid}/{step}", role, json=body)
        clock.set(then)
    if target < STAGES.index("follow_up_scheduled"):
        return world
    world.appointment_id = book(api, clinic, pid, "follow_up", local("2026-04-14", 9))["id"]
    if target >= STAGES.index("follow_up_started"):
        clock.set(local("2026-04-14", 9, 30))
    return world


def undeliverable_invite(db: Session, appointment_id: int) -> int:
    """The appointment's invite, marked dead as if every attempt to send it had failed."""
    message = db.scalars(
        select(OutboxMessage).where(
            OutboxMessage.appointment_id == appointment_id,
            OutboxMessage.kind == MessageKind.REQUEST,
        )
    ).one()
    message.status = OutboxStatus.DEAD
    message.attempts = 8
    db.commit()
    return message.id


def undeliverable_siu(db: Session, appointment_id: int) -> int:
    """An SIU message of the appointment to the EHR, dead after every attempt failed."""
    message = SiuMessage(
        appointment_id=appointment_id,
        event=SiuEvent.NEW,
        control_id="bad-input-1",
        body="MSH|^~\\&|SCHEDULER|CLINIC",
        created_at=FROZEN_NOW,
    )
    delivery = SiuDelivery(
        message=message,
        appointment_id=appointment_id,
        receiver="ehr",
        status=DeliveryStatus.DEAD,
        attempts=20,
        next_attempt_at=FROZEN_NOW,
        created_at=FROZEN_NOW,
        updated_at=FROZEN_NOW,
    )
    db.add(delivery)
    db.commit()
    return delivery.id


# ---------------------------------------------------------------------------------------
# Checking that nothing was written


def row_counts(db: Session) -> dict[str, int]:
    """Rows in every table of the schema (the app commits on this test's connection)."""
    return {
        table.name: db.scalar(select(func.count()).select_from(table)) or 0
        for table in Base.metadata.sorted_tables
    }


def table_contents(db: Session) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in primary-key order (catches updates as well)."""
    return {
        table.name: [
            tuple(row) for row in db.execute(select(table).order_by(*table.primary_key.columns))
        ]
        for table in Base.metadata.sorted_tables
    }


@dataclass
class Snapshot:
    counts: dict[str, int]
    contents: dict[str, list[tuple[Any, ...]]]

    @classmethod
    def of(cls, db: Session) -> Snapshot:
        return cls(row_counts(db), table_contents(db))


def assert_nothing_written(db: Session, before: Snapshot) -> None:
    after = Snapshot.of(db)
    assert after.counts == before.counts
    for name, rows in before.contents.items():
        assert after.contents[name] == rows, f"rows of {name} changed"


def assert_problem(response: TestResponse, status: int, slug: str | None) -> dict[str, Any]:
    """A problem+json document (RFC 9457) with the expected status and type."""
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True))
    assert response.mimetype == PROBLEM_JSON
    body = response.get_json(force=True)
    assert isinstance(body, dict)
    assert {"type", "title", "status", "detail"} <= body.keys(), body
    assert body["status"] == status
    assert isinstance(body["title"], str)
    assert body["title"]
    assert isinstance(body["detail"], str)
    assert body["detail"]
    assert body["type"] == (PROBLEM_TYPE_BASE + slug if slug else "about:blank"), body
    return body


# ---------------------------------------------------------------------------------------
# Every write endpoint with a body it accepts


def hold_body(w: World) -> dict[str, Any]:
    return {
        "pathway_id": w.pathway_id,
        "kind": "diagnostic_block",
        "start": local("2026-03-03", 9).isoformat(),
    }


@dataclass(frozen=True)
class Endpoint:
    role: str | None  # who calls it (None: no token)
    stage: str
    valid: Callable[[World], Any]


def _refer_body(w: World) -> dict[str, Any]:
    return {
        "patient_id": w.clinic.patient_id,
        "clinician_id": w.clinic.clinician_id,
        "site_id": w.clinic.site_id,
        "indication": "facet_joint_syndrome",
        "region": "lumbar",
        "side": "right",
        "levels": ["L4-L5"],
        "pain_onset_date": "2025-10-01",
    }


def _hours(w: World) -> list[dict[str, Any]]:
    site = w.clinic.site_id
    return [
        {"site_id": site, "weekday": "monday", "start": "08:00", "end": "12:00"},
        {"site_id": site, "weekday": "monday", "start": "13:00", "end": "17:00"},
        {"site_id": site, "weekday": "tuesday", "start": "08:00", "end": "17:00"},
    ]


ENDPOINTS: dict[str, Endpoint] = {
    "POST /auth/tokens": Endpoint(
        None, "clinic", lambda w: {"email": w.admin_email, "password": PASSWORD}
    ),
    "DELETE /auth/tokens": Endpoint("patient", "clinic", lambda w: None),
    "POST /users": Endpoint(
        "admin",
        "clinic",
        lambda w: {
            "email": "new.nurse@test.example",
            "password": "a long enough password",
            "role": "nurse",
        },
    ),
    "POST /sites": Endpoint(
        "admin",
        "clinic",
        lambda w: {
            "name": "North clinic",
            "timezone": "America/Chicago",
            "address": "1 North Road, Springfield",
            "phone": "+1 555 0177",
        },
    ),
    "PATCH /sites/{site_id}": Endpoint(
        "admin", "clinic", lambda w: {"display_name": "North clinic", "min_notice_minutes": 120}
    ),
    "POST /rooms": Endpoint(
        "admin",
        "clinic",
        lambda w: {
            "site_id": w.clinic.site_id,
            "name": "Room 9",
            "kind": "procedure",
            "fluoroscopy": True,
        },
    ),
    "POST /equipment": Endpoint(
        "admin",
        "clinic",
        lambda w: {"site_id": w.clinic.site_id, "name": "Tower 1", "kind": "endoscope_tower"},
    ),
    "PUT /clinicians/{clinician_id}/durations": Endpoint(
        "admin", "clinic", lambda w: [{"kind": "procedure", "minutes": 120}]
    ),
    "POST /recovery-bays": Endpoint(
        "admin", "clinic", lambda w: {"site_id": w.clinic.site_id, "name": "Bay 9"}
    ),
    "POST /clinicians": Endpoint(
        "admin",
        "clinic",
        lambda w: {"given_name": "Ada", "family_name": "Surgeon", "email": "ada@clinic.example"},
    ),
    "PUT /clinicians/{clinician_id}/working-hours": Endpoint("admin", "clinic", _hours),
    "POST /clinicians/{clinician_id}/time-off": Endpoint(
        "scheduler",
        "clinic",
        lambda w: {
            "start": local("2026-03-05", 0).isoformat(),
            "end": local("2026-03-06", 0).isoformat(),
            "reason": "Conference",
        },
    ),
    "POST /patients": Endpoint(
        "scheduler",
        "clinic",
        lambda w: {
            "mrn": "MRN-NEW-1",
            "given_name": "Pat",
            "family_name": "Newcomer",
            "birth_date": "1970-01-31",
            "email": "pat@mail.example",
            "phone": "+1 555 0199",
        },
    ),
    "POST /pathways": Endpoint("scheduler", "clinic", _refer_body),
    "POST /pathways/{pathway_id}/cancel": Endpoint(
        "scheduler", "referred", lambda w: {"reason": "Patient moved away"}
    ),
    "POST /pathways/{pathway_id}/conservative-treatments": Endpoint(
        "scheduler",
        "referred",
        lambda w: {
            "kind": "physical_therapy",
            "start_date": "2025-11-01",
            "end_date": "2025-12-15",
            "outcome": "no_relief",
        },
    ),
    "POST /pathways/{pathway_id}/coverage-acknowledgments": Endpoint(
        "scheduler", "referred", lambda w: {"kind": "abn", "signed_on": "2026-03-01"}
    ),
    "POST /policies": Endpoint(
        "admin",
        "clinic",
        lambda w: {
            "name": "medicare_facet",
            "title": "Medicare facet, revised",
            "parameters": builtin_document("medicare_facet"),
        },
    ),
    "POST /appointments": Endpoint(
        "scheduler",
        "referred",
        lambda w: {
            "pathway_id": w.pathway_id,
            "kind": "diagnostic_block",
            "start": local("2026-03-03", 9).isoformat(),
            "room_id": w.clinic.room_id,
        },
    ),
    "PATCH /appointments/{appointment_id}": Endpoint(
        "scheduler", "block_booked", lambda w: {"start": local("2026-03-04", 9).isoformat()}
    ),
    "POST /holds": Endpoint("scheduler", "referred", hold_body),
    "DELETE /holds/{hold_id}": Endpoint("scheduler", "block_held", lambda w: None),
    "POST /clinicians/{clinician_id}/feed-token": Endpoint("admin", "clinic", lambda w: {}),
    "DELETE /clinicians/{clinician_id}/feed-token": Endpoint("admin", "clinic", lambda w: None),
    "POST /outbox/{message_id}/requeue": Endpoint("admin", "block_booked", lambda w: {}),
    "POST /hl7/deliveries/{delivery_id}/requeue": Endpoint("admin", "block_booked", lambda w: {}),
    "POST /waitlist": Endpoint(
        "scheduler",
        "referred",
        lambda w: {
            "pathway_id": w.pathway_id,
            "priority": "soon",
            "earliest_date": "2026-03-09",
            "weekdays": ["monday", "wednesday"],
            "times_of_day": ["morning"],
            "min_notice_hours": 48,
            "any_clinician": False,
        },
    ),
    "PATCH /waitlist/{entry_id}": Endpoint(
        "scheduler", "waitlisted", lambda w: {"priority": "urgent", "weekdays": []}
    ),
    "DELETE /waitlist/{entry_id}": Endpoint("scheduler", "waitlisted", lambda w: None),
    "POST /waitlist/offers": Endpoint(
        "scheduler",
        "vacancy",
        lambda w: {"vacancy_id": w.vacancy_id, "pathway_id": w.pathway_id},
    ),
    "POST /waitlist/offers/{offer_id}/withdraw": Endpoint("scheduler", "offered", lambda w: {}),
    "POST /appointments/{appointment_id}/cancel": Endpoint(
        "scheduler", "block_booked", lambda w: {"reason": "Patient has a cold"}
    ),
    "POST /appointments/{appointment_id}/no-show": Endpoint(
        "nurse", "block_started", lambda w: {"reason": "Did not come"}
    ),
    "POST /appointments/{appointment_id}/block-result": Endpoint(
        "clinician",
        "block_started",
        lambda w: {"pre_block_pain": 8, "post_block_pain": 1, "relief_duration_hours": 6},
    ),
    "POST /appointments/{appointment_id}/check-in": Endpoint(
        "nurse", "procedure_scheduled", lambda w: dict(CHECK_IN_OK)
    ),
    "POST /appointments/{appointment_id}/start": Endpoint("clinician", "checked_in", lambda w: {}),
    "POST /appointments/{appointment_id}/finish": Endpoint(
        "clinician",
        "in_procedure",
        lambda w: {"levels_treated": ["L4-L5"], "complications": ["temporary_pain"]},
    ),
    "POST /appointments/{appointment_id}/recovery-scores": Endpoint(
        "nurse", "in_recovery", lambda w: {"scale": "aldrete", "items": dict(ALDRETE_OK)}
    ),
    "POST /appointments/{appointment_id}/discharge": Endpoint(
        "nurse",
        "recovered",
        lambda w: {"escort_present": True, "written_instructions_given": True},
    ),
    "POST /appointments/{appointment_id}/admit": Endpoint(
        "nurse", "in_recovery", lambda w: {"reason": "Numbness of the leg"}
    ),
    "POST /appointments/{appointment_id}/follow-up-outcome": Endpoint(
        "clinician",
        "follow_up_started",
        lambda w: {
            "pain_score": 2,
            "percent_relief": 75,
            "odi": 20,
            "complications": [],
            "physical_therapy_referred": True,
        },
    ),
}


def call(
    api: Api,
    endpoint: str,
    world: World,
    *,
    as_: str | None,
    body: Any = None,
    params: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    data: bytes | None = None,
    content_type: str | None = None,
) -> TestResponse:
    method, template = endpoint.split(" ", 1)
    path = template.format(**{**world.path_params(), **(params or {})})
    all_headers = dict(headers or {})
    if method == "PATCH" and "If-Match" not in all_headers:
        # Send the current ETag, so that what is judged is the body.
        current = api.get(path, "scheduler")
        if current.status_code == 200 and "ETag" in current.headers:
            all_headers["If-Match"] = current.headers["ETag"]
    if data is not None:
        return api.call(
            method, path, as_, headers=all_headers, data=data, content_type=content_type
        )
    return api.call(method, path, as_, json=body, headers=all_headers)


# ---------------------------------------------------------------------------------------
# The bad cases

Edit = Callable[[Any], Any]
DEFAULT = "default"


@dataclass(frozen=True)
class Bad:
    endpoint: str
    edit: Edit | None = None  # spoils the valid body
    status: int = 422
    errors_on: str | None = None  # a field named in `errors` (422 invalid-input)
    slug: str | None = "invalid-input"
    unmet: str | None = None  # named in `unmet` (422 prerequisites-unmet)
    as_: str | None = DEFAULT
    stage: str | None = None  # instead of the endpoint's
    params: dict[str, Any] = field(default_factory=dict)  # path parameters to override
    headers: dict[str, str] = field(default_factory=dict)
    data: bytes | None = None  # a raw body instead of JSON
    content_type: str = "application/json"


def change(**fields: Any) -> Edit:
    return lambda body: {**body, **fields}


def drop(name: str) -> Edit:
    return lambda body: {k: v for k, v in body.items() if k != name}


def whole(value: Any) -> Edit:
    return lambda _body: value


def item(index: int, **fields: Any) -> Edit:
    """Change one interval of a list body (working hours)."""
    return lambda body: [{**b, **fields} if i == index else b for i, b in enumerate(body)]


def not_a_flag(endpoint: str, name: str) -> list[pytest.ParameterSet]:
    """A boolean field sent as a string, a number or null (JSON true/false only)."""
    return [
        case(f"{endpoint} {name} {value!r}", Bad(endpoint, change(**{name: value}), errors_on=name))
        for value in ("yes", "true", 1, 0, None)
    ]


def unknown_field(endpoint: str, name: str = "colour") -> pytest.ParameterSet:
    return case(f"{endpoint} unknown field", Bad(endpoint, change(**{name: "red"}), errors_on=name))


def case(name: str, bad: Bad) -> pytest.ParameterSet:
    return pytest.param(bad, id=name)


def not_found(endpoint: str, param: str) -> pytest.ParameterSet:
    return case(
        f"{endpoint} missing {param}",
        Bad(endpoint, status=404, slug="not-found", params={param: MISSING_ID}),
    )


# Stand-ins for ids known only once the clinic exists (replaced when a body is built).
CONSULT = "<the consult room>"
PATIENT = "<the patient, who has a login>"
MRN = "<the patient's MRN>"
MARKERS: dict[str, Callable[[World], Any]] = {
    CONSULT: lambda w: w.clinic.consult_room_id,
    PATIENT: lambda w: w.clinic.patient_id,
    MRN: lambda w: w.patient_mrn,
}
APPOINTMENT = "/appointments/{appointment_id}"

USERS = "POST /users"
SITES = "POST /sites"
SITE = "PATCH /sites/{site_id}"
ROOMS = "POST /rooms"
EQUIPMENT = "POST /equipment"
CLINICIANS = "POST /clinicians"
HOURS = "PUT /clinicians/{clinician_id}/working-hours"
TIME_OFF = "POST /clinicians/{clinician_id}/time-off"
PATIENTS = "POST /patients"
PATHWAYS = "POST /pathways"
CANCEL_PATHWAY = "POST /pathways/{pathway_id}/cancel"
TREATMENTS = "POST /pathways/{pathway_id}/conservative-treatments"
ACKNOWLEDGMENTS = "POST /pathways/{pathway_id}/coverage-acknowledgments"
POLICIES = "POST /policies"
BOOK = "POST /appointments"
BAYS = "POST /recovery-bays"
DURATIONS = "PUT /clinicians/{clinician_id}/durations"
HOLDS = "POST /holds"
FEED = "POST /clinicians/{clinician_id}/feed-token"
REVOKE = "DELETE /clinicians/{clinician_id}/feed-token"
REQUEUE = "POST /outbox/{message_id}/requeue"
REQUEUE_SIU = "POST /hl7/deliveries/{delivery_id}/requeue"
WAITLIST = "POST /waitlist"
ENTRY = "PATCH /waitlist/{entry_id}"
UNLIST = "DELETE /waitlist/{entry_id}"
OFFER = "POST /waitlist/offers"
WITHDRAW = "POST /waitlist/offers/{offer_id}/withdraw"
FORBIDDEN: dict[str, Any] = {"status": 403, "slug": "forbidden"}
RELEASE = "DELETE /holds/{hold_id}"
RESCHEDULE = f"PATCH {APPOINTMENT}"
CANCEL = f"POST {APPOINTMENT}/cancel"
NO_SHOW = f"POST {APPOINTMENT}/no-show"
BLOCK_RESULT = f"POST {APPOINTMENT}/block-result"
CHECK_IN = f"POST {APPOINTMENT}/check-in"
START = f"POST {APPOINTMENT}/start"
FINISH = f"POST {APPOINTMENT}/finish"
SCORES = f"POST {APPOINTMENT}/recovery-scores"
DISCHARGE = f"POST {APPOINTMENT}/discharge"
ADMIT = f"POST {APPOINTMENT}/admit"
FOLLOW_UP = f"POST {APPOINTMENT}/follow-up-outcome"

TOO_LONG_EMAIL = "a" * 64 + "@" + ".".join(["b" * 60] * 4) + ".example"  # 317 characters


def _bad_policy_value(body: dict[str, Any]) -> dict[str, Any]:
    parameters = json.loads(json.dumps(body["parameters"]))
    parameters["pain_duration"]["min_days"] = -1
    return {**body, "parameters": parameters}


def _nul_deep_in_policy(body: dict[str, Any]) -> dict[str, Any]:
    parameters = json.loads(json.dumps(body["parameters"]))
    parameters["rules"] = {"pain_duration": {"source": "LCD\u0000"}}
    return {**body, "parameters": parameters}


def body_cases() -> list[pytest.ParameterSet]:
    """Bad bodies, per endpoint: unknown field, wrong type, missing, bad enum, range..."""
    tokens, sign_out = "POST /auth/tokens", "DELETE /auth/tokens"
    unauthorized = {"status": 401, "slug": "unauthorized"}
    return [
        # auth and users
        case(
            "tokens unknown field", Bad(tokens, change(remember_me=True), errors_on="remember_me")
        ),
        case("tokens email not a string", Bad(tokens, change(email=123), errors_on="email")),
        case("tokens missing password", Bad(tokens, drop("password"), errors_on="password")),
        case("tokens wrong password", Bad(tokens, change(password="wrong horse"), **unauthorized)),
        case(
            "tokens unknown email",
            Bad(tokens, change(email="nobody@test.example"), **unauthorized),
        ),
        case("sign-out without token", Bad(sign_out, as_=None, **unauthorized)),
        case(
            "sign-out garbage token",
            Bad(sign_out, as_=None, headers={"Authorization": "Bearer garbage"}, **unauthorized),
        ),
        case(
            "sign-out basic auth",
            Bad(sign_out, as_=None, headers={"Authorization": "Basic YTpi"}, **unauthorized),
        ),
        unknown_field(USERS, "is_superuser"),
        case("users unknown role", Bad(USERS, change(role="superuser"), errors_on="role")),
        case("users missing email", Bad(USERS, drop("email"), errors_on="email")),
        case("users bad email", Bad(USERS, change(email="not-an-email"), errors_on="email")),
        case("users short password", Bad(USERS, change(password="short"), errors_on="password")),
        case(
            "users clinician_id as string",
            Bad(USERS, change(role="clinician", clinician_id="1"), errors_on="clinician_id"),
        ),
        case(
            "users patient role without patient_id",
            Bad(USERS, change(role="patient"), errors_on="patient_id"),
        ),
        case(
            "users missing clinician",
            Bad(USERS, change(role="clinician", clinician_id=MISSING_ID), errors_on="clinician_id"),
        ),
        case(
            "users patient who has a login",
            Bad(USERS, change(role="patient", patient_id=PATIENT), status=409, slug="conflict"),
        ),
        # facilities
        unknown_field(SITES),
        case("sites name not a string", Bad(SITES, change(name=123), errors_on="name")),
        case("sites blank name", Bad(SITES, change(name="   "), errors_on="name")),
        case("sites missing timezone", Bad(SITES, drop("timezone"), errors_on="timezone")),
        case(
            "sites unknown zone", Bad(SITES, change(timezone="Mars/Olympus"), errors_on="timezone")
        ),
        case("sites zone abbreviation", Bad(SITES, change(timezone="EST"), errors_on="timezone")),
        case("sites NUL in name", Bad(SITES, change(name="North\u0000clinic"), errors_on="name")),
        case(
            "sites blank display name",
            Bad(SITES, change(display_name="  "), errors_on="display_name"),
        ),
        case(
            "sites display name too long",
            Bad(SITES, change(display_name="x" * 121), errors_on="display_name"),
        ),
        unknown_field(SITE),
        case("site zone cannot change", Bad(SITE, change(timezone="UTC"), errors_on="timezone")),
        case("site blank name", Bad(SITE, change(name=" "), errors_on="name")),
        case(
            "site invisible display name",
            Bad(SITE, change(display_name="\u200b"), errors_on="display_name"),
        ),
        case(
            "site turnover too long",
            Bad(SITE, change(turnover_minutes=241), errors_on="turnover_minutes"),
        ),
        case(
            "site missing", Bad(SITE, params={"site_id": MISSING_ID}, status=404, slug="not-found")
        ),
        case("site as a scheduler", Bad(SITE, as_="scheduler", status=403, slug="forbidden")),
        unknown_field(ROOMS),
        case("rooms site_id as string", Bad(ROOMS, change(site_id="1"), errors_on="site_id")),
        *not_a_flag(ROOMS, "fluoroscopy"),
        case("rooms missing kind", Bad(ROOMS, drop("kind"), errors_on="kind")),
        case("rooms unknown kind", Bad(ROOMS, change(kind="operating_theatre"), errors_on="kind")),
        case("rooms site_id zero", Bad(ROOMS, change(site_id=0), errors_on="site_id")),
        case("rooms missing site", Bad(ROOMS, change(site_id=MISSING_ID), errors_on="site_id")),
        unknown_field(EQUIPMENT),
        case("equipment missing site_id", Bad(EQUIPMENT, drop("site_id"), errors_on="site_id")),
        case("equipment unknown kind", Bad(EQUIPMENT, change(kind="microscope"), errors_on="kind")),
        case("equipment empty name", Bad(EQUIPMENT, change(name=""), errors_on="name")),
        case(
            "equipment missing site",
            Bad(EQUIPMENT, change(site_id=MISSING_ID), errors_on="site_id"),
        ),
        # clinicians, hours, time off
        unknown_field(CLINICIANS),
        case(
            "clinicians name not a string",
            Bad(CLINICIANS, change(given_name=42), errors_on="given_name"),
        ),
        case(
            "clinicians missing family name",
            Bad(CLINICIANS, drop("family_name"), errors_on="family_name"),
        ),
        case("clinicians bad email", Bad(CLINICIANS, change(email="nope"), errors_on="email")),
        case(
            "clinicians email too long",
            Bad(CLINICIANS, change(email=TOO_LONG_EMAIL), errors_on="email"),
        ),
        case("hours object not list", Bad(HOURS, lambda body: body[0], errors_on="_body")),
        case("hours unknown field", Bad(HOURS, item(0, lunch=True), errors_on="0.lunch")),
        case("hours unknown weekday", Bad(HOURS, item(0, weekday="funday"), errors_on="0.weekday")),
        case(
            "hours NUL in weekday",
            Bad(HOURS, item(2, weekday="monday\u0000"), errors_on="2.weekday"),
        ),
        case("hours weekday as number", Bad(HOURS, item(0, weekday=0), errors_on="0.weekday")),
        case("hours bad time", Bad(HOURS, item(0, start="25:00"), errors_on="0.start")),
        case("hours end before start", Bad(HOURS, item(0, end="07:00"), errors_on="0.end")),
        case(
            "hours missing end",
            Bad(
                HOURS,
                lambda body: [{k: v for k, v in body[0].items() if k != "end"}],
                errors_on="0.end",
            ),
        ),
        case("hours overlapping", Bad(HOURS, item(1, start="11:00"), errors_on="1.start")),
        case("hours missing site", Bad(HOURS, item(0, site_id=MISSING_ID), errors_on="0.site_id")),
        case(
            "hours error names the interval as sent",
            Bad(
                HOURS,
                lambda b: [{**b[2], "site_id": MISSING_ID}, b[0], b[1]],
                errors_on="0.site_id",
            ),
        ),
        not_found(HOURS, "clinician_id"),
        unknown_field(TIME_OFF),
        case(
            "time-off naive start",
            Bad(TIME_OFF, change(start="2026-03-05T00:00:00"), errors_on="start"),
        ),
        case("time-off start as number", Bad(TIME_OFF, change(start=12345), errors_on="start")),
        case(
            "time-off end before start",
            Bad(TIME_OFF, change(end=local("2026-03-04", 0).isoformat()), errors_on="end"),
        ),
        case(
            "time-off empty interval",
            Bad(TIME_OFF, change(end=local("2026-03-05", 0).isoformat()), errors_on="end"),
        ),
        case("time-off missing end", Bad(TIME_OFF, drop("end"), errors_on="end")),
        case(
            "time-off reason too long", Bad(TIME_OFF, change(reason="x" * 201), errors_on="reason")
        ),
        case(
            "time-off end beyond year 9999 in UTC",
            Bad(TIME_OFF, change(end="9999-12-31T23:00:00-12:00"), errors_on="end"),
        ),
        not_found(TIME_OFF, "clinician_id"),
        # patients
        unknown_field(PATIENTS),
        case(
            "patients birth date as number",
            Bad(PATIENTS, change(birth_date=19600517), errors_on="birth_date"),
        ),
        case(
            "patients impossible date",
            Bad(PATIENTS, change(birth_date="1960-13-01"), errors_on="birth_date"),
        ),
        case(
            "patients born in future",
            Bad(PATIENTS, change(birth_date="2030-01-01"), errors_on="birth_date"),
        ),
        case("patients missing mrn", Bad(PATIENTS, drop("mrn"), errors_on="mrn")),
        case("patients mrn with space", Bad(PATIENTS, change(mrn="A B"), errors_on="mrn")),
        case("patients bad phone", Bad(PATIENTS, change(phone="call me"), errors_on="phone")),
        case(
            "patients escape in name",
            Bad(PATIENTS, change(given_name="A\u001bB"), errors_on="given_name"),
        ),
        case(
            "patients email too long",
            Bad(PATIENTS, change(email=TOO_LONG_EMAIL), errors_on="email"),
        ),
        case("patients MRN taken", Bad(PATIENTS, change(mrn=MRN), status=409, slug="conflict")),
        # pathways
        unknown_field(PATHWAYS, "priority"),
        case(
            "pathways patient_id as string",
            Bad(PATHWAYS, change(patient_id="1"), errors_on="patient_id"),
        ),
        *not_a_flag(PATHWAYS, "sedation"),
        case(
            "pathways missing indication", Bad(PATHWAYS, drop("indication"), errors_on="indication")
        ),
        case(
            "pathways unknown indication",
            Bad(PATHWAYS, change(indication="migraine"), errors_on="indication"),
        ),
        case("pathways unknown side", Bad(PATHWAYS, change(side="both"), errors_on="side")),
        case("pathways unknown method", Bad(PATHWAYS, change(method="cryo"), errors_on="method")),
        case("pathways no levels", Bad(PATHWAYS, change(levels=[]), errors_on="levels")),
        case(
            "pathways levels not a list", Bad(PATHWAYS, change(levels="L4-L5"), errors_on="levels")
        ),
        case("pathways not a level", Bad(PATHWAYS, change(levels=["L9-L10"]), errors_on="levels")),
        case(
            "pathways repeated level",
            Bad(PATHWAYS, change(levels=["L4-L5", "L4-L5"]), errors_on="levels"),
        ),
        case(
            "pathways region of other indication",
            Bad(PATHWAYS, change(region="sacroiliac", levels=["S1"]), errors_on="region"),
        ),
        case(
            "pathways onset in future",
            Bad(PATHWAYS, change(pain_onset_date="2026-04-01"), errors_on="pain_onset_date"),
        ),
        case(
            "pathways onset as datetime",
            Bad(
                PATHWAYS, change(pain_onset_date="2025-10-01T00:00:00"), errors_on="pain_onset_date"
            ),
        ),
        case(
            "pathways missing patient",
            Bad(PATHWAYS, change(patient_id=MISSING_ID), errors_on="patient_id"),
        ),
        case(
            "pathways unknown policy",
            Bad(PATHWAYS, change(policy="no_such_policy"), errors_on="policy"),
        ),
        unknown_field(CANCEL_PATHWAY),
        case("cancel pathway missing reason", Bad(CANCEL_PATHWAY, whole({}), errors_on="reason")),
        case(
            "cancel pathway reason number",
            Bad(CANCEL_PATHWAY, change(reason=12), errors_on="reason"),
        ),
        case(
            "cancel pathway blank reason",
            Bad(CANCEL_PATHWAY, change(reason=" "), errors_on="reason"),
        ),
        case(
            "cancel pathway long reason",
            Bad(CANCEL_PATHWAY, change(reason="x" * 501), errors_on="reason"),
        ),
        not_found(CANCEL_PATHWAY, "pathway_id"),
        unknown_field(TREATMENTS),
        case("treatments unknown kind", Bad(TREATMENTS, change(kind="surgery"), errors_on="kind")),
        case(
            "treatments unknown outcome",
            Bad(TREATMENTS, change(outcome="cured"), errors_on="outcome"),
        ),
        case(
            "treatments end before start",
            Bad(TREATMENTS, change(end_date="2025-10-31"), errors_on="end_date"),
        ),
        case(
            "treatments start in future",
            Bad(TREATMENTS, change(start_date="2026-03-10", end_date=None), errors_on="start_date"),
        ),
        case(
            "treatments missing start", Bad(TREATMENTS, drop("start_date"), errors_on="start_date")
        ),
        case(
            "treatments start as number",
            Bad(TREATMENTS, change(start_date=20251101), errors_on="start_date"),
        ),
        not_found(TREATMENTS, "pathway_id"),
        unknown_field(ACKNOWLEDGMENTS),
        case(
            "acknowledgments unknown kind",
            Bad(ACKNOWLEDGMENTS, change(kind="verbal"), errors_on="kind"),
        ),
        case(
            "acknowledgments signed in future",
            Bad(ACKNOWLEDGMENTS, change(signed_on="2026-03-03"), errors_on="signed_on"),
        ),
        case(
            "acknowledgments signed on word",
            Bad(ACKNOWLEDGMENTS, change(signed_on="yesterday"), errors_on="signed_on"),
        ),
        case(
            "acknowledgments missing date",
            Bad(ACKNOWLEDGMENTS, drop("signed_on"), errors_on="signed_on"),
        ),
        not_found(ACKNOWLEDGMENTS, "pathway_id"),
        # policies
        unknown_field(POLICIES),
        case("policies bad name", Bad(POLICIES, change(name="Bad Name"), errors_on="name")),
        case("policies name as number", Bad(POLICIES, change(name=7), errors_on="name")),
        case("policies empty title", Bad(POLICIES, change(title=""), errors_on="title")),
        case(
            "policies missing parameters", Bad(POLICIES, drop("parameters"), errors_on="parameters")
        ),
        case(
            "policies parameters a list",
            Bad(POLICIES, change(parameters=[]), errors_on="parameters"),
        ),
        case(
            "policies parameters empty",
            Bad(POLICIES, change(parameters={}), errors_on="parameters"),
        ),
        case(
            "policies negative threshold",
            Bad(POLICIES, _bad_policy_value, errors_on="parameters.pain_duration.min_days"),
        ),
        case(
            "policies control character deep inside",
            Bad(POLICIES, _nul_deep_in_policy, errors_on="parameters"),
        ),
        case(
            "policies name with trailing newline",
            Bad(POLICIES, change(name="medicare_facet\n"), errors_on="name"),
        ),
        # durations
        case("durations object not list", Bad(DURATIONS, lambda body: body[0], errors_on="_body")),
        case(
            "durations unknown field", Bad(DURATIONS, item(0, colour="red"), errors_on="0.colour")
        ),
        case("durations too short", Bad(DURATIONS, item(0, minutes=4), errors_on="0.minutes")),
        case(
            "durations minutes as text",
            Bad(DURATIONS, item(0, minutes="60"), errors_on="0.minutes"),
        ),
        case("durations unknown kind", Bad(DURATIONS, item(0, kind="surgery"), errors_on="0.kind")),
        case(
            "durations kind twice",
            Bad(DURATIONS, lambda body: body + body, errors_on="1.kind"),
        ),
        not_found(DURATIONS, "clinician_id"),
        # recovery bays
        unknown_field(BAYS),
        case("bays missing site", Bad(BAYS, change(site_id=MISSING_ID), errors_on="site_id")),
        case("bays empty name", Bad(BAYS, change(name=" "), errors_on="name")),
        case("bays name too long", Bad(BAYS, change(name="x" * 81), errors_on="name")),
        # holds
        unknown_field(HOLDS),
        case(
            "hold naive start", Bad(HOLDS, change(start="2026-03-03T09:00:00"), errors_on="start")
        ),
        case("hold missing kind", Bad(HOLDS, drop("kind"), errors_on="kind")),
        case(
            "hold missing pathway",
            Bad(HOLDS, change(pathway_id=MISSING_ID), errors_on="pathway_id"),
        ),
        case(
            "hold outside working hours",
            Bad(HOLDS, change(start=local("2026-03-03", 20).isoformat()), errors_on="start"),
        ),
        case(
            "hold procedure before the blocks",
            Bad(
                HOLDS,
                change(kind="procedure"),
                slug="prerequisites-unmet",
                unmet="diagnostic_blocks",
            ),
        ),
        case(
            "hold on a held slot",
            Bad(HOLDS, stage="block_held", status=409, slug="slot-taken"),
        ),
        case(
            "release unknown hold",
            Bad(RELEASE, status=404, slug="not-found", params={"hold_id": "0" * 32}),
        ),
        case(
            "release bad hold id",
            Bad(RELEASE, status=404, slug="not-found", params={"hold_id": "x"}),
        ),
        case("patient cannot release", Bad(RELEASE, as_="patient", status=403, slug="forbidden")),
        # appointments
        unknown_field(BOOK),
        case(
            "book pathway_id as string", Bad(BOOK, change(pathway_id="1"), errors_on="pathway_id")
        ),
        case("book pathway_id true", Bad(BOOK, change(pathway_id=True), errors_on="pathway_id")),
        case("book unknown kind", Bad(BOOK, change(kind="surgery"), errors_on="kind")),
        case("book naive start", Bad(BOOK, change(start="2026-03-03T09:00:00"), errors_on="start")),
        case("book start a date", Bad(BOOK, change(start="2026-03-03"), errors_on="start")),
        case("book without start or hold", Bad(BOOK, drop("start"), errors_on="start")),
        case("book bad hold id", Bad(BOOK, change(hold_id="nope"), errors_on="hold_id")),
        case("book unknown hold", Bad(BOOK, change(hold_id="0" * 32), errors_on="hold_id")),
        case(
            "book start in past",
            Bad(BOOK, change(start=local("2026-03-02", 9).isoformat()), errors_on="start"),
        ),
        case(
            "book start beyond year 9999 in UTC",
            Bad(BOOK, change(start="9999-12-31T12:00:00-14:00"), errors_on="start"),
        ),
        case("book consult room", Bad(BOOK, change(room_id=CONSULT), errors_on="room_id")),
        case("book missing room id", Bad(BOOK, change(room_id=MISSING_ID), errors_on="room_id")),
        case(
            "book missing pathway", Bad(BOOK, change(pathway_id=MISSING_ID), errors_on="pathway_id")
        ),
        case(
            "book missing clinician",
            Bad(BOOK, change(clinician_id=MISSING_ID), errors_on="clinician_id"),
        ),
        case("book method on block", Bad(BOOK, change(method="laser"), errors_on="method")),
        case("reschedule nothing", Bad(RESCHEDULE, whole({}), errors_on="_body")),
        case(
            "reschedule unknown field", Bad(RESCHEDULE, change(kind="procedure"), errors_on="kind")
        ),
        case(
            "reschedule naive start",
            Bad(RESCHEDULE, change(start="2026-03-04T09:00:00"), errors_on="start"),
        ),
        case(
            "reschedule room as string", Bad(RESCHEDULE, change(room_id="2"), errors_on="room_id")
        ),
        case(
            "reschedule into past",
            Bad(RESCHEDULE, change(start=local("2026-03-02", 9).isoformat()), errors_on="start"),
        ),
        case(
            "reschedule missing room",
            Bad(RESCHEDULE, change(room_id=MISSING_ID), errors_on="room_id"),
        ),
        case(
            "reschedule consult room",
            Bad(RESCHEDULE, change(room_id=CONSULT), errors_on="room_id"),
        ),
        case(
            "reschedule without If-Match",
            Bad(RESCHEDULE, status=428, slug=None, headers={"If-Match": ""}),
        ),
        case(
            "reschedule stale If-Match",
            Bad(RESCHEDULE, status=412, slug=None, headers={"If-Match": '"stale"'}),
        ),
        unknown_field(CANCEL),
        case("cancel missing reason", Bad(CANCEL, whole({}), errors_on="reason")),
        case("cancel reason number", Bad(CANCEL, change(reason=5), errors_on="reason")),
        not_found(CANCEL, "appointment_id"),
        case(
            "cancel huge id",
            # Beyond the id column's range: no such URL at all (a routing 404).
            Bad(CANCEL, status=404, slug=None, params={"appointment_id": 10**20}),
        ),
        unknown_field(NO_SHOW),
        case("no-show reason number", Bad(NO_SHOW, change(reason=5), errors_on="reason")),
        case(
            "no-show before start",
            Bad(NO_SHOW, stage="block_booked", errors_on="appointment_id"),
        ),
        not_found(NO_SHOW, "appointment_id"),
        # clinical steps
        unknown_field(BLOCK_RESULT),
        case(
            "block pain 11",
            Bad(BLOCK_RESULT, change(pre_block_pain=11), errors_on="pre_block_pain"),
        ),
        case(
            "block pain -1",
            Bad(BLOCK_RESULT, change(post_block_pain=-1), errors_on="post_block_pain"),
        ),
        case(
            "block pain as string",
            Bad(BLOCK_RESULT, change(pre_block_pain="8"), errors_on="pre_block_pain"),
        ),
        case(
            "block pain fraction",
            Bad(BLOCK_RESULT, change(pre_block_pain=8.5), errors_on="pre_block_pain"),
        ),
        case(
            "block missing post pain",
            Bad(BLOCK_RESULT, drop("post_block_pain"), errors_on="post_block_pain"),
        ),
        case(
            "block duration word",
            Bad(
                BLOCK_RESULT, change(relief_duration_hours="six"), errors_on="relief_duration_hours"
            ),
        ),
        case(
            "block duration negative",
            Bad(BLOCK_RESULT, change(relief_duration_hours=-1), errors_on="relief_duration_hours"),
        ),
        case(
            "block duration NaN",
            Bad(
                BLOCK_RESULT,
                data=b'{"pre_block_pain": 8, "post_block_pain": 1, "relief_duration_hours": NaN}',
                errors_on="relief_duration_hours",
            ),
        ),
        case(
            "block before start",
            Bad(BLOCK_RESULT, stage="block_booked", errors_on="appointment_id"),
        ),
        case(
            "block result on a procedure",
            Bad(BLOCK_RESULT, stage="procedure_scheduled", errors_on="appointment_id"),
        ),
        not_found(BLOCK_RESULT, "appointment_id"),
        unknown_field(CHECK_IN),
        *not_a_flag(CHECK_IN, "consent_signed"),
        case(
            "check-in missing fasting",
            Bad(CHECK_IN, drop("fasting_confirmed"), errors_on="fasting_confirmed"),
        ),
        case(
            "check-in naive time",
            Bad(
                CHECK_IN,
                change(last_clear_fluids_at="2026-03-24T05:00:00"),
                errors_on="last_clear_fluids_at",
            ),
        ),
        case(
            "check-in meal in future",
            Bad(
                CHECK_IN,
                change(last_light_meal_at=local("2026-03-24", 8).isoformat()),
                errors_on="last_light_meal_at",
            ),
        ),
        case(
            "check-in unknown anticoagulation",
            Bad(
                CHECK_IN,
                change(anticoagulation_status="stopped"),
                errors_on="anticoagulation_status",
            ),
        ),
        case(
            "check-in bad phone",
            Bad(CHECK_IN, change(escort_phone="call me"), errors_on="escort_phone"),
        ),
        case(
            "check-in consent not signed",
            Bad(
                CHECK_IN,
                change(consent_signed=False),
                slug="prerequisites-unmet",
                unmet="check_in.consent",
            ),
        ),
        not_found(CHECK_IN, "appointment_id"),
        unknown_field(START),
        case("start unknown method", Bad(START, change(method="cryo"), errors_on="method")),
        case("start method as number", Bad(START, change(method=1), errors_on="method")),
        case("start body a list", Bad(START, whole([]), errors_on="_body")),
        case(
            "start laser not covered",
            Bad(START, change(method="laser"), slug="prerequisites-unmet", unmet="coverage"),
        ),
        not_found(START, "appointment_id"),
        unknown_field(FINISH),
        case(
            "finish missing levels", Bad(FINISH, drop("levels_treated"), errors_on="levels_treated")
        ),
        case(
            "finish no levels", Bad(FINISH, change(levels_treated=[]), errors_on="levels_treated")
        ),
        case(
            "finish levels a string",
            Bad(FINISH, change(levels_treated="L4-L5"), errors_on="levels_treated"),
        ),
        case(
            "finish level of other region",
            Bad(FINISH, change(levels_treated=["C1-C2"]), errors_on="levels_treated"),
        ),
        case(
            "finish unknown complication",
            Bad(FINISH, change(complications=["death"]), errors_on="complications"),
        ),
        case(
            "finish complications a string",
            Bad(FINISH, change(complications="bleeding"), errors_on="complications"),
        ),
        not_found(FINISH, "appointment_id"),
        unknown_field(SCORES),
        case(
            "scores item 3",
            Bad(SCORES, change(items={**ALDRETE_OK, "activity": 3}), errors_on="items"),
        ),
        case(
            "scores item as string",
            Bad(SCORES, change(items={**ALDRETE_OK, "activity": "2"}), errors_on="items"),
        ),
        case(
            "scores missing item",
            Bad(
                SCORES,
                change(items={k: v for k, v in ALDRETE_OK.items() if k != "activity"}),
                errors_on="items",
            ),
        ),
        case(
            "scores unknown item",
            Bad(SCORES, change(items={**ALDRETE_OK, "mood": 2}), errors_on="items"),
        ),
        case("scores items a list", Bad(SCORES, change(items=[2, 2, 2, 2, 1]), errors_on="items")),
        case("scores unknown scale", Bad(SCORES, change(scale="glasgow"), errors_on="scale")),
        case("scores missing scale", Bad(SCORES, drop("scale"), errors_on="scale")),
        case(
            "scores padss before aldrete",
            Bad(
                SCORES,
                change(scale="padss", items=PADSS_OK),
                slug="prerequisites-unmet",
                unmet="recovery.aldrete",
            ),
        ),
        not_found(SCORES, "appointment_id"),
        unknown_field(DISCHARGE),
        *not_a_flag(DISCHARGE, "escort_present"),
        case(
            "discharge missing escort",
            Bad(DISCHARGE, drop("escort_present"), errors_on="escort_present"),
        ),
        case(
            "discharge instructions no",
            Bad(
                DISCHARGE,
                change(written_instructions_given="no"),
                errors_on="written_instructions_given",
            ),
        ),
        case(
            "discharge without escort",
            Bad(
                DISCHARGE,
                change(escort_present=False),
                slug="prerequisites-unmet",
                unmet="discharge.escort",
            ),
        ),
        case(
            "discharge before padss",
            Bad(
                DISCHARGE, stage="in_recovery", slug="prerequisites-unmet", unmet="discharge.padss"
            ),
        ),
        not_found(DISCHARGE, "appointment_id"),
        unknown_field(ADMIT),
        case("admit missing reason", Bad(ADMIT, whole({}), errors_on="reason")),
        case("admit blank reason", Bad(ADMIT, change(reason="  "), errors_on="reason")),
        case("admit reason number", Bad(ADMIT, change(reason=3), errors_on="reason")),
        not_found(ADMIT, "appointment_id"),
        unknown_field(FOLLOW_UP),
        case("follow-up pain 11", Bad(FOLLOW_UP, change(pain_score=11), errors_on="pain_score")),
        case(
            "follow-up pain fraction",
            Bad(FOLLOW_UP, change(pain_score=2.5), errors_on="pain_score"),
        ),
        case(
            "follow-up relief 101",
            Bad(FOLLOW_UP, change(percent_relief=101), errors_on="percent_relief"),
        ),
        case("follow-up odi -1", Bad(FOLLOW_UP, change(odi=-1), errors_on="odi")),
        *not_a_flag(FOLLOW_UP, "physical_therapy_referred"),
        case(
            "follow-up unknown complication",
            Bad(FOLLOW_UP, change(complications=["unknown"]), errors_on="complications"),
        ),
        case("follow-up missing pain", Bad(FOLLOW_UP, drop("pain_score"), errors_on="pain_score")),
        case(
            "follow-up before start",
            Bad(FOLLOW_UP, stage="follow_up_scheduled", errors_on="appointment_id"),
        ),
        not_found(FOLLOW_UP, "appointment_id"),
        # feeds and the outbox
        case(
            "feed token of another clinician",
            Bad(FEED, as_="other_clinician", status=403, slug="forbidden"),
        ),
        case("feed token by a scheduler", Bad(FEED, as_="scheduler", status=403, slug="forbidden")),
        not_found(FEED, "clinician_id"),
        case(
            "revoke another clinician's feed",
            Bad(REVOKE, as_="other_clinician", status=403, slug="forbidden"),
        ),
        not_found(REVOKE, "clinician_id"),
        case("requeue by a scheduler", Bad(REQUEUE, as_="scheduler", status=403, slug="forbidden")),
        not_found(REQUEUE, "message_id"),
        unknown_field(REQUEUE),
        case("SIU requeue by a scheduler", Bad(REQUEUE_SIU, as_="scheduler", **FORBIDDEN)),
        not_found(REQUEUE_SIU, "delivery_id"),
        unknown_field(REQUEUE_SIU),
        # the waitlist
        unknown_field(WAITLIST, "note"),
        case("waitlist missing pathway", Bad(WAITLIST, drop("pathway_id"), errors_on="pathway_id")),
        case(
            "waitlist no such pathway",
            Bad(WAITLIST, change(pathway_id=MISSING_ID), errors_on="pathway_id"),
        ),
        case(
            "waitlist a booked pathway",
            Bad(WAITLIST, stage="block_booked", errors_on="pathway_id"),
        ),
        case("waitlist twice", Bad(WAITLIST, stage="waitlisted", status=409, slug="conflict")),
        case("waitlist a day name", Bad(WAITLIST, change(weekdays=["mon"]), errors_on="weekdays")),
        case(
            "waitlist a weekday number", Bad(WAITLIST, change(weekdays=[0]), errors_on="weekdays")
        ),
        case(
            "waitlist eight weekdays",
            Bad(WAITLIST, change(weekdays=["monday"] * 8), errors_on="weekdays"),
        ),
        case(
            "waitlist noon is no part of the day",
            Bad(WAITLIST, change(times_of_day=["noon"]), errors_on="times_of_day"),
        ),
        case(
            "waitlist negative notice",
            Bad(WAITLIST, change(min_notice_hours=-1), errors_on="min_notice_hours"),
        ),
        case(
            "waitlist notice as text",
            Bad(WAITLIST, change(min_notice_hours="24"), errors_on="min_notice_hours"),
        ),
        case(
            "waitlist notice beyond two weeks",
            Bad(WAITLIST, change(min_notice_hours=337), errors_on="min_notice_hours"),
        ),
        case(
            "waitlist unknown priority",
            Bad(WAITLIST, change(priority="asap"), errors_on="priority"),
        ),
        case(
            "waitlist earliest date not a date",
            Bad(WAITLIST, change(earliest_date="soon"), errors_on="earliest_date"),
        ),
        *not_a_flag(WAITLIST, "any_clinician"),
        case("waitlist by a nurse", Bad(WAITLIST, as_="nurse", **FORBIDDEN)),
        unknown_field(ENTRY),
        case(
            "entry cannot change pathway", Bad(ENTRY, change(pathway_id=1), errors_on="pathway_id")
        ),
        case("entry unknown priority", Bad(ENTRY, change(priority="later"), errors_on="priority")),
        case(
            "entry null notice",
            Bad(ENTRY, change(min_notice_hours=None), errors_on="min_notice_hours"),
        ),
        case("entry by a clinician", Bad(ENTRY, as_="clinician", **FORBIDDEN)),
        not_found(ENTRY, "entry_id"),
        case("unlist by a nurse", Bad(UNLIST, as_="nurse", **FORBIDDEN)),
        not_found(UNLIST, "entry_id"),
        unknown_field(OFFER),
        case("offer missing vacancy", Bad(OFFER, drop("vacancy_id"), errors_on="vacancy_id")),
        case("offer vacancy as text", Bad(OFFER, change(vacancy_id="1"), errors_on="vacancy_id")),
        case(
            "offer no such vacancy",
            Bad(OFFER, change(vacancy_id=MISSING_ID), status=404, slug="not-found"),
        ),
        case(
            "offer a pathway not on the list",
            Bad(OFFER, change(pathway_id=MISSING_ID), errors_on="pathway_id"),
        ),
        case("offer in flight already", Bad(OFFER, stage="offered", status=409, slug="conflict")),
        case("offer by a nurse", Bad(OFFER, as_="nurse", **FORBIDDEN)),
        unknown_field(WITHDRAW),
        case("withdraw by a clinician", Bad(WITHDRAW, as_="clinician", **FORBIDDEN)),
        not_found(WITHDRAW, "offer_id"),
    ]


def malformed_cases() -> list[pytest.ParameterSet]:
    """Bodies that are not JSON, not JSON at all, or too big, on every JSON endpoint."""
    cases = []
    for endpoint in ENDPOINTS:
        if endpoint.split(" ", 1)[0] not in JSON_METHODS:
            continue
        cases += [
            case(
                f"{endpoint} malformed JSON",
                Bad(endpoint, data=b'{"reason": ', status=400, slug="malformed-json"),
            ),
            case(
                f"{endpoint} text/plain",
                Bad(endpoint, data=b"reason=x", content_type="text/plain", status=415, slug=None),
            ),
            case(
                f"{endpoint} oversized",
                Bad(
                    endpoint,
                    data=b'{"reason": "' + b"x" * (MAX_BODY + 1) + b'"}',
                    status=413,
                    slug=None,
                ),
            ),
        ]
    clinicians = CLINICIANS
    cases += [
        case(
            "deeply nested JSON",
            Bad(clinicians, data=b"[" * 100_000, status=400, slug="malformed-json"),
        ),
        case(
            "invalid UTF-8",
            Bad(clinicians, data=b'{"given_name": "\xff\xfe"}', status=400, slug="malformed-json"),
        ),
        case("JSON null body", Bad(clinicians, data=b"null", errors_on="_body")),
        case("JSON array body", Bad(clinicians, data=b"[]", errors_on="_body")),
        case(
            "form body",
            Bad(
                clinicians,
                data=b"given_name=Ada&family_name=Surgeon",
                content_type="application/x-www-form-urlencoded",
                status=415,
                slug=None,
            ),
        ),
    ]
    return cases


def _resolve(value: Any, world: World) -> Any:
    """Replace the MARKERS by the ids they stand for."""
    if isinstance(value, dict):
        return {k: _resolve(v, world) for k, v in value.items()}
    if isinstance(value, str) and value in MARKERS:
        return MARKERS[value](world)
    return value


def test_every_write_endpoint_is_in_the_table() -> None:
    writes = {key for key in PERMISSIONS if key.split(" ", 1)[0] in WRITE_METHODS}
    assert set(ENDPOINTS) == writes
    tested = {param.values[0].endpoint for param in body_cases()}
    assert tested == writes


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
def test_the_valid_body_of_each_write_endpoint_is_accepted(
    api: Api, clinic: Clinic, clock: FrozenClock, db: Session, endpoint: str
) -> None:
    """The control for the table: unspoiled, each body goes through and writes."""
    spec = ENDPOINTS[endpoint]
    world = arrange(api, clinic, clock, db, spec.stage)
    before = Snapshot.of(db)
    response = call(api, endpoint, world, as_=spec.role, body=spec.valid(world))
    assert response.status_code < 300, (response.status_code, response.get_json())
    assert Snapshot.of(db) != before


@pytest.mark.parametrize("bad", body_cases() + malformed_cases())
def test_bad_input_gets_a_problem_and_writes_nothing(
    api: Api, clinic: Clinic, clock: FrozenClock, db: Session, bad: Bad
) -> None:
    spec = ENDPOINTS[bad.endpoint]
    world = arrange(api, clinic, clock, db, bad.stage or spec.stage)
    body = spec.valid(world)
    if bad.edit is not None:
        body = _resolve(bad.edit(body), world)
    before = Snapshot.of(db)

    response = call(
        api,
        bad.endpoint,
        world,
        as_=spec.role if bad.as_ == DEFAULT else bad.as_,
        body=body,
        params=bad.params,
        headers=bad.headers,
        data=bad.data,
        content_type=bad.content_type,
    )

    problem = assert_problem(response, bad.status, bad.slug)
    if bad.errors_on is not None:
        errors = problem.get("errors")
        assert isinstance(errors, dict), problem
        assert any(key == bad.errors_on or key.startswith(bad.errors_on + ".") for key in errors), (
            errors
        )
    if bad.unmet is not None:
        assert bad.unmet in problem["unmet"], problem
    if bad.status == 401:
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert_nothing_written(db, before)
