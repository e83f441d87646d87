"""FHIR Schedule and Slot: each clinician's schedule at a site, and its free slots computed
by the one availability function the v1 slot search uses (SPEC §4, §8).

The clinic's site is in New York; both clinicians work 07:00-17:00 every day. The clock
stands at Monday 2026-03-02 14:00 EST and the site wants 60 minutes' notice.
"""

from __future__ import annotations

from datetime import time
from typing import Any
from urllib.parse import urlencode

import pytest
from sqlalchemy.orm import Session

from scheduler.clinicians.models import WorkingHours
from scheduler.fhir.resources import SERVICE_SYSTEM
from scheduler.vocabulary import RoomKind
from tests.api.conftest import Clinic
from tests.api.test_fhir import fhir
from tests.api.test_full_pathway import book, refer, search_slots
from tests.api.test_slots_and_holds import hold
from tests.conftest import QueryCounter
from tests.factories import ClinicianFactory, RoomFactory, SiteFactory
from tests.fhir_support import parsed
from tests.support import Api, local

ALL_SERVICES = [
    "diagnostic-block",
    "procedure-rfa",
    "procedure-laser",
    "procedure-mechanical",
    "follow-up",
]


def schedule_of(clinic: Clinic, other: bool = False) -> str:
    clinician = clinic.other_clinician_id if other else clinic.clinician_id
    return f"{clinician}-{clinic.site_id}"


def bundle(api: Api, kind: str, query: list[tuple[str, str]], as_: str = "scheduler") -> Any:
    return parsed(fhir(api, f"/{kind}?" + urlencode(query), as_))


def entries(found: Any) -> list[Any]:
    return [entry.resource for entry in found.entry or []]


def slot_search(api: Api, clinic: Clinic, *query: tuple[str, str], other: bool = False) -> Any:
    return bundle(api, "Slot", [("schedule", f"Schedule/{schedule_of(clinic, other)}"), *query])


def starts(found: Any) -> list[str]:
    """The slots' starts as the server wrote them (site-local, with the offset)."""
    return [slot.start.isoformat() for slot in entries(found)]


def codes(resource: Any) -> list[str]:
    return [concept.coding[0].code for concept in resource.serviceType]


def links(found: Any) -> dict[str, str]:
    return {link.relation: link.url for link in found.link or []}


def follow(api: Api, url: str) -> Any:
    return parsed(fhir(api, url.split("/fhir/R4", 1)[1]))


# ---------------------------------------------------------------------------------------
# Schedule


def test_a_schedule_is_a_clinician_at_a_site_with_the_services_it_can_host(
    api: Api, clinic: Clinic
) -> None:
    schedule = parsed(fhir(api, f"/Schedule/{schedule_of(clinic)}"))

    assert schedule.id == schedule_of(clinic)
    assert schedule.active is True
    assert [a.reference for a in schedule.actor] == [
        f"Practitioner/{clinic.clinician_id}",
        f"Location/site-{clinic.site_id}",
    ]
    assert all(a.display for a in schedule.actor)
    assert codes(schedule) == ALL_SERVICES
    assert {c.coding[0].system for c in schedule.serviceType} == {SERVICE_SYSTEM}
    # Planned from the earliest bookable start: now (14:00 EST) and the hour's notice.
    assert schedule.planningHorizon.start.isoformat() == "2026-03-02T20:00:00+00:00"


def test_a_site_without_fluoroscopy_or_equipment_offers_only_follow_ups(
    api: Api, clinic: Clinic, db: Session
) -> None:
    site = SiteFactory()
    RoomFactory(site_id=site.id, kind=RoomKind.CONSULT, fluoroscopy=False)
    db.add(
        WorkingHours(
            clinician_id=clinic.clinician_id,
            site_id=site.id,
            weekday=1,
            start_time=time(8),
            end_time=time(12),
        )
    )
    db.commit()

    schedule = parsed(fhir(api, f"/Schedule/{clinic.clinician_id}-{site.id}"))
    query = [("schedule", schedule.id), ("start", "2026-03-03"), ("_count", "100")]
    blocks = bundle(api, "Slot", [*query, ("service-type", "diagnostic-block")])
    anything = bundle(api, "Slot", query)

    assert codes(schedule) == ["follow-up"]
    assert entries(blocks) == []
    assert {code for s in entries(anything) for code in codes(s)} == {"follow-up"}
    assert starts(anything)[0] == "2026-03-03T08:00:00-05:00"  # Tuesday 08:00-12:00


def test_a_site_without_rooms_offers_no_service(api: Api, clinic: Clinic, db: Session) -> None:
    site = SiteFactory()
    db.add(
        WorkingHours(
            clinician_id=clinic.clinician_id,
            site_id=site.id,
            weekday=1,
            start_time=time(8),
            end_time=time(12),
        )
    )
    db.commit()
    ident = f"{clinic.clinician_id}-{site.id}"

    schedule = parsed(fhir(api, f"/Schedule/{ident}"))
    found = bundle(api, "Slot", [("schedule", ident), ("start", "2026-03-03")])

    assert schedule.serviceType is None
    assert "serviceType" not in fhir(api, f"/Schedule/{ident}").get_json()
    assert entries(found) == []


def test_schedules_are_found_by_practitioner_or_site_as_fhir_references(
    api: Api, clinic: Clinic, db: Session
) -> None:
    ClinicianFactory()  # no working hours: no schedule
    db.commit()
    mine, others = schedule_of(clinic), schedule_of(clinic, other=True)

    def found(*actors: str) -> list[str]:
        return [s.id for s in entries(bundle(api, "Schedule", [("actor", a) for a in actors]))]

    assert found(f"Practitioner/{clinic.clinician_id}") == [mine]
    assert found(str(clinic.clinician_id)) == [mine]  # a bare id
    assert found(f"Location/site-{clinic.site_id}") == [mine, others]
    assert found(f"site-{clinic.site_id}") == [mine, others]
    assert found(
        f"Practitioner/{clinic.clinician_id},Practitioner/{clinic.other_clinician_id}"
    ) == [
        mine,
        others,
    ]
    assert found(
        f"Location/site-{clinic.site_id}", f"Practitioner/{clinic.other_clinician_id}"
    ) == [others]
    assert found("Practitioner/999999") == []
    assert found(f"Patient/{clinic.patient_id}") == []
    assert found() == [mine, others]


def test_schedule_search_pages_with_a_next_link(api: Api, clinic: Clinic) -> None:
    first = bundle(api, "Schedule", [("_count", "1")])

    second = follow(api, links(first)["next"])

    assert [s.id for s in entries(first)] == [schedule_of(clinic)]
    assert [s.id for s in entries(second)] == [schedule_of(clinic, other=True)]
    assert "next" not in links(second)


@pytest.mark.parametrize("missing", ["999999-1", "1-999999", "abc", "1-2-3", "1234567890-1"])
def test_an_unknown_or_malformed_schedule_is_not_found(api: Api, missing: str) -> None:
    outcome = parsed(fhir(api, f"/Schedule/{missing}"), 404)

    assert outcome.issue[0].code == "not-found"


def test_schedules_and_slots_are_for_staff_only(api: Api, clinic: Clinic) -> None:
    for path in (f"/Schedule/{schedule_of(clinic)}", f"/Slot?schedule={schedule_of(clinic)}"):
        assert parsed(fhir(api, path, "patient"), 403).issue[0].code == "forbidden"
        assert parsed(fhir(api, path, "nurse"), 200)


# ---------------------------------------------------------------------------------------
# Slot


def test_slot_search_offers_exactly_what_the_pathway_search_offers(
    api: Api, clinic: Clinic
) -> None:
    """Nothing booked for the patient and the gate passing, the v1 search and the Slot
    search ask the same availability function the same question."""
    pathway = refer(api, clinic)["id"]
    after = local("2026-03-05", 16)
    for other in (False, True):
        clinician = clinic.other_clinician_id if other else clinic.clinician_id
        offered = search_slots(
            api, pathway, "diagnostic_block", limit=12, after=after, clinician_id=clinician
        )

        found = slot_search(
            api,
            clinic,
            ("service-type", "diagnostic-block"),
            ("start", "ge" + after.isoformat()),
            ("_count", "12"),
            other=other,
        )

        assert starts(found) == [slot["start_local"] for slot in offered]
        assert [s.end.isoformat() for s in entries(found)] == [s["end_local"] for s in offered]


def test_slots_default_to_every_service_from_now_with_the_site_notice(
    api: Api, clinic: Clinic
) -> None:
    found = slot_search(api, clinic, ("_count", "6"))

    first = entries(found)
    # 14:00 now, an hour's notice: 15:00, one slot of each service the schedule offers.
    assert [(s.start.isoformat(), codes(s)) for s in first] == [
        ("2026-03-02T15:00:00-05:00", [code]) for code in ALL_SERVICES
    ] + [("2026-03-02T15:15:00-05:00", ["diagnostic-block"])]
    assert {s.status for s in first} == {"free"}
    assert {s.schedule.reference for s in first} == {f"Schedule/{schedule_of(clinic)}"}
    assert first[1].end.isoformat() == "2026-03-02T16:30:00-05:00"  # a procedure: 90 min
    either = entries(
        slot_search(api, clinic, ("service-type", "follow-up,procedure-rfa"), ("_count", "3"))
    )
    assert [(s.start.isoformat()[11:16], codes(s)) for s in either] == [
        ("15:00", ["procedure-rfa"]),
        ("15:00", ["follow-up"]),
        ("15:15", ["procedure-rfa"]),
    ]


def test_a_bare_date_is_that_day_at_the_site_and_instants_keep_their_offset(
    api: Api, clinic: Clinic
) -> None:
    day = slot_search(
        api,
        clinic,
        ("service-type", f"{SERVICE_SYSTEM}|diagnostic-block"),
        ("start", "2026-03-03"),
        ("_count", "100"),
    )
    hour = slot_search(
        api,
        clinic,
        ("service-type", "diagnostic-block"),
        ("start", "ge2026-03-03T14:00:00Z"),
        ("start", "lt2026-03-03T10:00:00-05:00"),
    )
    at_nine = slot_search(
        api, clinic, ("service-type", "diagnostic-block"), ("start", "eq2026-03-03T14:00:00Z")
    )
    late = slot_search(
        api,
        clinic,
        ("service-type", "follow-up"),
        ("start", "gt2026-03-03"),
        ("start", "le2026-03-04"),
        ("_count", "100"),
    )

    assert starts(day)[0] == "2026-03-03T07:00:00-05:00"
    assert starts(day)[-1] == "2026-03-03T16:30:00-05:00"  # the last block ending by 17:00
    assert len(starts(day)) == 39
    assert starts(hour) == [f"2026-03-03T09:{m:02}:00-05:00" for m in (0, 15, 30, 45)]
    assert starts(at_nine) == ["2026-03-03T09:00:00-05:00"]
    assert starts(late)[0] == "2026-03-04T07:00:00-05:00"
    assert starts(late)[-1] == "2026-03-04T16:30:00-05:00"  # follow-ups: 20 minutes


def test_a_booked_or_held_time_is_not_offered_and_its_slot_is_gone(
    api: Api, clinic: Clinic
) -> None:
    query = (("service-type", "diagnostic-block"), ("start", "2026-03-03"), ("_count", "100"))
    before = entries(slot_search(api, clinic, *query))
    by_start = {s.start.isoformat(): s.id for s in before}
    nine, ten = by_start["2026-03-03T09:00:00-05:00"], by_start["2026-03-03T10:00:00-05:00"]
    assert parsed(fhir(api, f"/Slot/{nine}")).id == nine
    assert parsed(fhir(api, f"/Slot/{ten}")).id == ten

    book(api, clinic, refer(api, clinic)["id"], "diagnostic_block", local("2026-03-03", 9))
    other_pathway = refer(api, clinic, patient_id=clinic.other_patient_id)["id"]
    held = hold(api, other_pathway, local("2026-03-03", 10).isoformat())
    assert held.status_code == 201, held.get_json()

    after = starts(slot_search(api, clinic, *query))
    # A 30-minute block: the one at 09:00 takes 08:45 to 09:15; the one held at 10:00 too.
    taken = {"08:45", "09:00", "09:15", "09:45", "10:00", "10:15"}
    assert after == [s for s in by_start if s[11:16] not in taken]
    # The other clinician shares the one fluoroscopy room: neither is offered to them.
    theirs = starts(slot_search(api, clinic, *query, other=True))
    assert "2026-03-03T09:00:00-05:00" not in theirs
    assert "2026-03-03T10:00:00-05:00" not in theirs
    for gone in (nine, ten):
        assert parsed(fhir(api, f"/Slot/{gone}"), 404).issue[0].code == "not-found"


def test_a_slot_is_read_again_by_its_id(api: Api, clinic: Clinic) -> None:
    [found] = entries(
        slot_search(api, clinic, ("service-type", "procedure-laser"), ("_count", "1"))
    )

    read = parsed(fhir(api, f"/Slot/{found.id}"))

    assert read == found
    assert len(found.id) <= 64


@pytest.mark.parametrize(
    "slot_id",
    [
        "nonsense",
        "999999-1-follow-up-20260303T1400Z",
        "{clinician}-{site}-surgery-20260303T1400Z",
        "{clinician}-{site}-follow-up-20260303T1407Z",  # not on the quarter hour
        "{clinician}-{site}-follow-up-20260302T1400Z",  # in the past
        "{clinician}-{site}-follow-up-20260303T0100Z",  # outside working hours
        "{clinician}-{site}-follow-up-20261333T1400Z",  # no such date
        "{clinician}-{site}-follow-up-99991231T2345Z",  # beyond any calendar
    ],
)
def test_a_slot_that_is_not_free_is_not_found(api: Api, clinic: Clinic, slot_id: str) -> None:
    ident = slot_id.format(clinician=clinic.clinician_id, site=clinic.site_id)

    assert parsed(fhir(api, f"/Slot/{ident}"), 404).issue[0].code == "not-found"


def test_slot_pages_continue_after_the_last_start_shown(api: Api, clinic: Clinic) -> None:
    window = (("start", "ge2026-03-03T09:00:00-05:00"), ("start", "lt2026-03-03T10:00:00-05:00"))
    whole = [s.id for s in entries(slot_search(api, clinic, *window, ("_count", "100")))]

    page = slot_search(api, clinic, *window, ("_count", "3"))
    paged = [s.id for s in entries(page)]
    while "next" in links(page):
        assert "_count=3" in links(page)["next"]
        page = follow(api, links(page)["next"])
        paged += [s.id for s in entries(page)]

    assert len(whole) == 4 * 5  # four quarter hours, five services each
    assert paged == whole


def test_a_schedule_is_referenced_by_type_and_id_bare_id_or_absolute_url(
    api: Api, clinic: Clinic
) -> None:
    relative = slot_search(api, clinic, ("_count", "3"))
    base = links(relative)["self"].split("/Slot?", 1)[0]

    for reference in (schedule_of(clinic), f"{base}/Schedule/{schedule_of(clinic)}"):
        found = bundle(api, "Slot", [("schedule", reference), ("_count", "3")])
        assert [s.id for s in entries(found)] == [s.id for s in entries(relative)]


def test_an_unknown_schedule_finds_no_slots(api: Api, clinic: Clinic) -> None:
    for unknown in ("Schedule/999999-1", "999999-1", "Schedule/nonsense"):
        found = bundle(api, "Slot", [("schedule", unknown)])
        assert entries(found) == []


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ([("when", "2026-03-03")], "when"),
        ([("start", "2026-03-03T09:00:00")], "offset"),
        ([("start", "2026-03-03T09:00:00 05:00")], "%2B"),
        ([("start", "ne2026-03-03")], "ge, gt"),
        ([("start", "2026-03")], "YYYY-MM-DD"),
        ([("start", "2026-02-30")], "not a date"),
        ([("start", "ge9999-12-31")], "a year from 1900 to 2999"),
        ([("start", "9999-12-31T23:59:59+00:00")], "a year from 1900 to 2999"),
        ([("start", "lt0001-01-01")], "a year from 1900 to 2999"),
        ([("start", "ge2026-03-03"), ("start", "gt2026-03-04")], "one lower bound"),
        ([("start", "ge2026-03-03"), ("start", "le2026-03-04"), ("start", "lt2026-03-05")], "one"),
        ([("start", "ge2026-03-03"), ("start", "le2026-04-10")], "31 days"),
        ([("start", "le2026-04-10")], "31 days"),
        ([("status", "busy")], "status=free"),
        ([("status", "free"), ("status", "busy")], "once"),
        ([("service-type", "surgery")], "diagnostic-block"),
        ([("service-type", "urn:other|follow-up")], "diagnostic-block"),
        ([("service-type", "follow-up,surgery")], "diagnostic-block"),
        ([("_count", "lots")], "_count"),
    ],
)
def test_a_slot_search_fhir_cannot_run_is_refused(
    api: Api, clinic: Clinic, query: list[tuple[str, str]], words: str
) -> None:
    sent = [("schedule", schedule_of(clinic)), *query]

    outcome = parsed(fhir(api, "/Slot?" + urlencode(sent)), 400)

    assert outcome.issue[0].code == "invalid"
    assert words in outcome.issue[0].diagnostics


@pytest.mark.parametrize("schedule", [None, "Practitioner/1"])
def test_a_slot_search_needs_a_schedule_reference(api: Api, schedule: str | None) -> None:
    query = urlencode([("schedule", schedule)] if schedule else [])

    outcome = parsed(fhir(api, "/Slot?" + query), 400)

    assert "schedule" in outcome.issue[0].diagnostics


def test_searches_cost_the_same_queries_however_many_they_find(
    api: Api, clinic: Clinic, db: Session, count_queries: QueryCounter
) -> None:
    def queries(path: str) -> int:
        count_queries.statements.clear()
        parsed(fhir(api, path))
        return count_queries.count

    one_slot = queries(f"/Slot?schedule={schedule_of(clinic)}&_count=1")
    many_slots = queries(f"/Slot?schedule={schedule_of(clinic)}&_count=100")
    two_schedules = queries("/Schedule")
    for _ in range(3):
        clinician = ClinicianFactory()
        db.add(
            WorkingHours(
                clinician_id=clinician.id,
                site_id=clinic.site_id,
                weekday=0,
                start_time=time(8),
                end_time=time(9),
            )
        )
    db.commit()
    five_schedules = queries("/Schedule")

    assert one_slot == many_slots
    assert two_schedules == five_schedules
