"""Patient invites and clinician feeds as RFC 5545 bytes (SPEC §5)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import pytest
import vobject
from icalendar.timezone.tzp import TZP

from scheduler.invites.ics import (
    Clinic,
    FeedEntry,
    Invite,
    Preparation,
    build_feed,
    build_invite,
    preparation_text,
    summary,
)
from scheduler.vocabulary import AppointmentKind

CLINIC = Clinic(
    name="Riverside Spine & Pain Center",
    email="desk@riverside.example",
    address="12 River Rd, Springfield",
    phone="+1 555 0100",
)
SEDATION = Preparation(
    arrival_minutes_before=30,
    sedation=True,
    clear_fluids_hours=2,
    light_meal_hours=6,
    heavy_meal_hours=8,
)
NOW = datetime(2026, 2, 20, 15, 0, 7, tzinfo=UTC)
# 2026-03-10 09:00 EDT, two days after New York's spring change.
INVITE = Invite(
    uid="appointment-42@scheduler.example",
    sequence=3,
    kind=AppointmentKind.PROCEDURE,
    start=datetime(2026, 3, 10, 13, 0, tzinfo=UTC),
    end=datetime(2026, 3, 10, 14, 30, tzinfo=UTC),
    timezone="America/New_York",
    room="Room 2",
    patient_name="Lena Fischer",
    patient_email="patient@example.org",
    cancelled=False,
    preparation=SEDATION,
)
# Words that would tell a lock screen, or whoever shares the calendar, what the visit is for.
CLINICAL_WORDS = (
    "procedure",
    "neurotomy",
    "block",
    "ablation",
    "facet",
    "radiofrequency",
    "rfa",
    "nerve",
    "injection",
    "diagnostic",
    "sedation",
    "follow",
)


def invite(**changes: Any) -> Invite:
    return dataclasses.replace(INVITE, **changes)


def parse(data: bytes) -> icalendar.Calendar:
    return icalendar.Calendar.from_ical(data)


def the_event(data: bytes) -> icalendar.Event:
    (event,) = parse(data).walk("VEVENT")
    return event


def lines(data: bytes) -> list[bytes]:
    """Physical lines; the last CRLF ends the last line."""
    assert data.endswith(b"\r\n")
    return data[:-2].split(b"\r\n")


def unfolded(data: bytes) -> list[str]:
    return data.decode().replace("\r\n ", "").split("\r\n")


def instants_by_icalendar(data: bytes) -> list[tuple[datetime, datetime]]:
    """Event instants resolved through the file's own VTIMEZONE (not a TZID lookup)."""
    calendar = parse(data)
    zones = {
        str(component["TZID"]): component.to_tz(tzp=TZP("pytz"), lookup_tzid=False)
        for component in calendar.walk("VTIMEZONE")
    }

    def instant(prop: Any) -> datetime:
        if "TZID" not in prop.params:  # written in UTC
            assert prop.dt.utcoffset() == timedelta(0)
            return prop.dt.astimezone(UTC)
        zone = zones[prop.params["TZID"]]
        resolved: datetime = zone.localize(prop.dt.replace(tzinfo=None)).astimezone(UTC)
        assert resolved == prop.dt  # and icalendar's own TZID lookup agrees
        return resolved

    return [(instant(e["DTSTART"]), instant(e["DTEND"])) for e in calendar.walk("VEVENT")]


def instants_by_vobject(data: bytes) -> list[tuple[datetime, datetime]]:
    """Event instants resolved through the file's VTIMEZONE as dateutil reads it.

    vobject attaches to DTSTART the tzinfo of a process-wide TZID registry, filled by
    whichever calendar was parsed first; the wall-clock value plus this file's own
    VTIMEZONE is what a fresh client sees.
    """
    calendar = vobject.readOne(data.decode())
    zones: dict[str, tzinfo] = {
        component.tzid.value: component.gettzinfo()
        for component in calendar.contents.get("vtimezone", [])
    }

    def instant(prop: Any) -> datetime:
        if "X-VOBJ-ORIGINAL-TZID" not in prop.params:  # written in UTC
            assert prop.value.utcoffset() == timedelta(0)
            return prop.value.astimezone(UTC)
        (tzid,) = prop.params["X-VOBJ-ORIGINAL-TZID"]
        return prop.value.replace(tzinfo=zones[tzid]).astimezone(UTC)

    return [
        (instant(event.dtstart), instant(event.dtend))
        for event in calendar.contents.get("vevent", [])
    ]


# --- the calendar and its one event ------------------------------------------------------


def test_request_is_one_event_with_stable_uid_sequence_and_dtstamp() -> None:
    data = build_invite(INVITE, CLINIC, now=NOW)
    calendar = parse(data)
    assert str(calendar["METHOD"]) == "REQUEST"
    assert str(calendar["PRODID"]) == "-//Neurotomy pathway scheduler//EN"
    assert str(calendar["VERSION"]) == "2.0"
    assert str(calendar["CALSCALE"]) == "GREGORIAN"
    (event,) = calendar.walk("VEVENT")
    assert str(event["UID"]) == "appointment-42@scheduler.example"
    assert event["SEQUENCE"] == 3
    assert str(event["STATUS"]) == "CONFIRMED"
    assert "DTSTAMP:20260220T150007Z" in unfolded(data)


def test_dtstamp_is_written_in_utc_whatever_zone_now_is_given_in() -> None:
    data = build_invite(INVITE, CLINIC, now=NOW.astimezone(ZoneInfo("Asia/Tokyo")))
    assert "DTSTAMP:20260220T150007Z" in unfolded(data)


def test_event_times_carry_the_site_tzid_with_its_vtimezone() -> None:
    data = build_invite(INVITE, CLINIC, now=NOW)
    assert "DTSTART;TZID=America/New_York:20260310T090000" in unfolded(data)
    assert "DTEND;TZID=America/New_York:20260310T103000" in unfolded(data)
    (zone,) = parse(data).walk("VTIMEZONE")
    assert str(zone["TZID"]) == "America/New_York"


def test_organizer_is_the_clinic_and_attendee_the_patient_by_name() -> None:
    event = the_event(build_invite(INVITE, CLINIC, now=NOW))
    assert str(event["ORGANIZER"]) == "mailto:desk@riverside.example"
    assert dict(event["ORGANIZER"].params) == {"CN": "Riverside Spine & Pain Center"}
    assert str(event["ATTENDEE"]) == "mailto:patient@example.org"
    assert dict(event["ATTENDEE"].params) == {
        "CN": "Lena Fischer",
        "ROLE": "REQ-PARTICIPANT",
        "PARTSTAT": "NEEDS-ACTION",
        "RSVP": "TRUE",
    }


@pytest.mark.parametrize("name", ["O'Brien, Seán", "Anna Lee; Jr.", "Zoë: 李"])
def test_attendee_names_with_commas_semicolons_or_colons_read_back(name: str) -> None:
    """CN is a parameter value: a comma, colon or semicolon needs quoting (RFC 5545 §3.2)."""
    data = build_invite(invite(patient_name=name), CLINIC, now=NOW)
    assert the_event(data)["ATTENDEE"].params["CN"] == name
    (event,) = vobject.readOne(data.decode()).contents["vevent"]
    assert event.attendee.params["CN"] == [name]


def test_a_double_quote_in_the_attendee_name_is_escaped_as_rfc_6868_says() -> None:
    data = build_invite(invite(patient_name='Anna "Ann" Lee'), CLINIC, now=NOW)
    assert "ATTENDEE;CN=\"Anna ^'Ann^' Lee\";" in "".join(unfolded(data))
    assert the_event(data)["ATTENDEE"].params["CN"] == 'Anna "Ann" Lee'


@pytest.mark.parametrize("cancelled", [False, True])
def test_the_patients_name_is_only_in_the_attendee(cancelled: bool) -> None:
    """Lock screens show the SUMMARY and alarms: the name is on the ATTENDEE line alone."""
    data = build_invite(invite(cancelled=cancelled), CLINIC, now=NOW)
    named = [line for line in unfolded(data) if "Fischer" in line]
    assert len(named) == 1
    assert named[0].startswith('ATTENDEE;CN="Lena Fischer";')


def test_invite_without_patient_address_has_no_attendee() -> None:
    event = the_event(build_invite(invite(patient_email=None), CLINIC, now=NOW))
    assert "ATTENDEE" not in event


@pytest.mark.parametrize(
    ("room", "expected"),
    [
        ("Room 2", "Riverside Spine & Pain Center, 12 River Rd, Springfield, Room 2"),
        (None, "Riverside Spine & Pain Center, 12 River Rd, Springfield"),
    ],
)
def test_location_names_clinic_address_and_room(room: str | None, expected: str) -> None:
    event = the_event(build_invite(invite(room=room), CLINIC, now=NOW))
    assert str(event["LOCATION"]) == expected


# --- alarms and cancellation -------------------------------------------------------------


def alarms_of(data: bytes) -> list[tuple[str, timedelta, str]]:
    return [
        (str(alarm["ACTION"]), alarm["TRIGGER"].dt, str(alarm["DESCRIPTION"]))
        for alarm in parse(data).walk("VALARM")
    ]


def test_default_alarms_are_a_day_and_two_hours_before_with_neutral_text() -> None:
    data = build_invite(INVITE, CLINIC, now=NOW)
    text = "Appointment at Riverside Spine & Pain Center"
    assert alarms_of(data) == [
        ("DISPLAY", timedelta(days=-1), text),
        ("DISPLAY", timedelta(hours=-2), text),
    ]
    assert {"TRIGGER:-P1D", "TRIGGER:-PT2H"} <= set(unfolded(data))


@pytest.mark.parametrize(
    ("alarms", "triggers"),
    [
        ((timedelta(hours=3),), [timedelta(hours=-3)]),
        ((timedelta(days=2), timedelta(minutes=30)), [timedelta(days=-2), timedelta(minutes=-30)]),
        ((), []),
    ],
)
def test_alarms_are_configurable(alarms: tuple[timedelta, ...], triggers: list[timedelta]) -> None:
    data = build_invite(INVITE, CLINIC, now=NOW, alarms=alarms)
    assert [trigger for _, trigger, _ in alarms_of(data)] == triggers


@pytest.mark.parametrize("lead", [timedelta(0), timedelta(hours=-1)])
def test_alarm_after_the_start_is_refused(lead: timedelta) -> None:
    with pytest.raises(ValueError, match="positive"):
        build_invite(INVITE, CLINIC, now=NOW, alarms=(lead,))


def test_cancel_keeps_uid_and_sequence_and_drops_alarms() -> None:
    data = build_invite(invite(cancelled=True, sequence=4), CLINIC, now=NOW)
    calendar = parse(data)
    assert str(calendar["METHOD"]) == "CANCEL"
    (event,) = calendar.walk("VEVENT")
    assert str(event["UID"]) == "appointment-42@scheduler.example"
    assert event["SEQUENCE"] == 4
    assert str(event["STATUS"]) == "CANCELLED"
    assert calendar.walk("VALARM") == []
    assert str(event["ATTENDEE"]) == "mailto:patient@example.org"
    assert "has been cancelled" in str(event["DESCRIPTION"])


# --- what a lock screen shows ------------------------------------------------------------


@pytest.mark.parametrize("kind", list(AppointmentKind))
@pytest.mark.parametrize("cancelled", [False, True])
def test_summary_and_alarm_text_name_only_the_clinic(
    kind: AppointmentKind, cancelled: bool
) -> None:
    data = build_invite(invite(kind=kind, cancelled=cancelled), CLINIC, now=NOW)
    event = the_event(data)
    visible = [str(event["SUMMARY"]), *(text for _, _, text in alarms_of(data))]
    assert visible[0] == "Appointment at Riverside Spine & Pain Center"
    for text in visible:
        assert [word for word in CLINICAL_WORDS if word in text.lower()] == []
        assert kind.value not in text


@pytest.mark.parametrize("cancelled", [False, True])
def test_invites_are_private_in_calendars_the_patient_shares(cancelled: bool) -> None:
    event = the_event(build_invite(invite(cancelled=cancelled), CLINIC, now=NOW))
    assert event["CLASS"] == "PRIVATE"


def test_summary_is_appointment_at_the_clinic() -> None:
    assert summary(CLINIC) == "Appointment at Riverside Spine & Pain Center"


# --- the preparation in DESCRIPTION ------------------------------------------------------


def description(**changes: Any) -> str:
    return str(the_event(build_invite(invite(**changes), CLINIC, now=NOW))["DESCRIPTION"])


def test_block_description_gives_arrival_what_to_bring_and_the_pain_diary() -> None:
    prepared = dataclasses.replace(SEDATION, arrival_minutes_before=15, sedation=False)
    text = description(kind=AppointmentKind.DIAGNOSTIC_BLOCK, preparation=prepared)
    assert "Your appointment is on Tuesday, March 10, 2026 at 9:00 AM EDT." in text
    assert "Please arrive by 8:45 AM EDT." in text
    assert "a list of all the medicines you take" in text
    assert "scans or X-rays" in text
    assert "pain diary" in text
    assert "whether the next treatment can go ahead" in text


def test_procedure_with_sedation_gives_fasting_times_escort_and_no_driving() -> None:
    text = description(kind=AppointmentKind.PROCEDURE)
    assert "Please arrive by 8:30 AM EDT, 30 minutes before your appointment" in text
    assert "fried food, until 1:00 AM EDT (8 hours before your appointment)" in text
    assert "light meal, such as toast and a drink, until 3:00 AM EDT (6 hours before)" in text
    assert "clear fluids, such as water, or tea or coffee without milk, until 7:00 AM EDT" in text
    assert "After 7:00 AM EDT, please do not eat or drink anything." in text
    assert "A responsible adult must come with you and take you home." in text
    assert "Do not drive for 24 hours after your appointment." in text


def test_procedure_description_always_gives_activity_limits_and_when_to_call() -> None:
    text = description(preparation=dataclasses.replace(SEDATION, sedation=False))
    assert "Light activity, such as short walks, is fine within a few days." in text
    assert "Avoid strenuous activity, such as heavy lifting or sport, for 2 to 4 weeks." in text
    assert "Please call us straight away on +1 555 0100 if you have:" in text
    for warning in (
        "a fever",
        "pain that is getting worse",
        "new weakness or numbness",
        "bleeding or discharge from the wound",
    ):
        assert f"- {warning}" in text


def test_procedure_without_sedation_asks_for_no_fasting_and_no_escort() -> None:
    text = description(preparation=dataclasses.replace(SEDATION, sedation=False))
    assert "eat or drink" not in text
    assert "clear fluids" not in text
    assert "responsible adult" not in text
    assert "drive" not in text


def test_fasting_hours_come_from_the_preparation() -> None:
    prepared = dataclasses.replace(SEDATION, clear_fluids_hours=3, light_meal_hours=7)
    text = description(preparation=prepared)
    assert "until 6:00 AM EDT (3 hours before)" in text
    assert "until 2:00 AM EDT (7 hours before)" in text


def test_fasting_times_count_real_hours_across_the_clock_change() -> None:
    # 2026-03-08 09:00 EDT is the morning New York springs forward: 8 hours earlier is
    # midnight EST, not 1:00 AM.
    start = datetime(2026, 3, 8, 13, 0, tzinfo=UTC)
    text = description(start=start, end=start + timedelta(hours=1))
    assert "until 12:00 AM EST (8 hours before your appointment)" in text
    assert "until 3:00 AM EDT (6 hours before)" in text


def test_fasting_time_on_the_day_before_names_that_day() -> None:
    start = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)  # 7:00 AM EST
    text = description(start=start, end=start + timedelta(hours=1))
    assert "until 11:00 PM EST on Wednesday, January 14, 2026 (8 hours before" in text
    assert "until 1:00 AM EST (6 hours before)" in text


def test_follow_up_description_says_what_will_be_asked() -> None:
    text = description(kind=AppointmentKind.FOLLOW_UP)
    assert "0 (no pain) to 10" in text
    assert "as a percentage" in text
    assert "work, sleep, walking" in text
    assert "physical therapy" in text


def test_times_are_in_the_site_zone_with_the_zone_named() -> None:
    start = datetime(2026, 7, 1, 8, 0, tzinfo=UTC)
    text = description(
        kind=AppointmentKind.FOLLOW_UP,
        start=start,
        end=start + timedelta(minutes=20),
        timezone="Europe/London",
    )
    assert "Wednesday, July 1, 2026 at 9:00 AM BST" in text
    assert "Please arrive by 8:30 AM BST." in text


def test_cancel_description_is_a_neutral_notice_with_the_number_to_rebook() -> None:
    text = preparation_text(invite(cancelled=True), CLINIC)
    assert text.startswith(
        "Your appointment at Riverside Spine & Pain Center on Tuesday, March 10, 2026"
        " at 9:00 AM EDT has been cancelled."
    )
    assert "To book a new appointment, please call us on +1 555 0100." in text
    assert [word for word in CLINICAL_WORDS if word in text.lower()] == []


def test_clinic_without_phone_is_asked_to_be_called_without_a_number() -> None:
    text = preparation_text(invite(cancelled=True), dataclasses.replace(CLINIC, phone=None))
    assert "To book a new appointment, please call us." in text
    assert "Phone" not in text


@pytest.mark.parametrize("field", ["start", "end"])
def test_naive_appointment_times_are_refused(field: str) -> None:
    with pytest.raises(ValueError, match="aware"):
        invite(**{field: getattr(INVITE, field).replace(tzinfo=None)})


def test_appointment_ending_before_it_starts_is_refused() -> None:
    with pytest.raises(ValueError, match="before it starts"):
        invite(end=INVITE.start)


# --- serialisation -------------------------------------------------------------------------

FOREIGN = Clinic(
    name="Clínica São João — Zürich Straße 💉 Ελληνικά 日本語 " * 3,
    email="recepção@clinica.example",
    address="Rua São João 123, 4º andar, Zürich Straße 9, Ålesund — 東京都 💉💉💉",
    phone="+55 11 5555-0100",
)


@pytest.mark.parametrize("cancelled", [False, True])
def test_lines_end_crlf_and_fold_at_75_octets_between_characters(cancelled: bool) -> None:
    data = build_invite(invite(cancelled=cancelled, room="Sala 3 — Ärztehaus"), FOREIGN, now=NOW)
    assert b"\n" not in data.replace(b"\r\n", b"")
    physical = lines(data)
    assert max(len(line) for line in physical) == 75  # long lines were folded, to the limit
    for line in physical:
        assert len(line) <= 75
        line.decode("utf-8")  # each line on its own: no character split across a fold
    event = the_event(data)
    assert str(event["LOCATION"]).startswith(FOREIGN.name.strip())
    assert FOREIGN.address in str(event["DESCRIPTION"])


def test_feed_lines_fold_at_75_octets_between_characters() -> None:
    entry = FeedEntry(
        uid="case-1@scheduler.example",
        start=INVITE.start,
        end=INVITE.end,
        timezone="America/New_York",
        summary="Dr Müller — 日本語 💉 " * 6,
        location=FOREIGN.address,
        description="Ärztehaus 💉 " * 20,
        organizer=FOREIGN,
    )
    physical = lines(build_feed([entry], name="Clínica 💉 " * 10, now=NOW))
    for line in physical:
        assert len(line) <= 75
        line.decode("utf-8")


# --- every calendar parses with two readers, instants exact ------------------------------

# Both sides of New York's spring change (2026-03-08) and London's (2026-03-29).
NEW_YORK_EST = datetime(2026, 3, 6, 14, 0, tzinfo=UTC)  # 09:00 EST
NEW_YORK_EDT = datetime(2026, 3, 10, 13, 0, tzinfo=UTC)  # 09:00 EDT
LONDON_GMT = datetime(2026, 3, 27, 9, 0, tzinfo=UTC)  # 09:00 GMT
LONDON_BST = datetime(2026, 3, 31, 8, 0, tzinfo=UTC)  # 09:00 BST

READERS = [instants_by_icalendar, instants_by_vobject]


@pytest.mark.parametrize("read", READERS)
@pytest.mark.parametrize("kind", list(AppointmentKind))
@pytest.mark.parametrize("cancelled", [False, True])
@pytest.mark.parametrize(
    ("zone", "start"),
    [
        ("America/New_York", NEW_YORK_EST),
        ("America/New_York", NEW_YORK_EDT),
        ("Europe/London", LONDON_GMT),
        ("Europe/London", LONDON_BST),
        ("Australia/Lord_Howe", datetime(2026, 4, 4, 22, 0, tzinfo=UTC)),
    ],
)
def test_every_invite_reads_back_at_the_given_instants(
    read: Any, kind: AppointmentKind, cancelled: bool, zone: str, start: datetime
) -> None:
    end = start + timedelta(minutes=90)
    data = build_invite(
        invite(kind=kind, cancelled=cancelled, timezone=zone, start=start, end=end),
        CLINIC,
        now=NOW,
    )
    assert read(data) == [(start, end)]


# The night New York's clocks go back (2027-11-07): 01:00-02:00 is lived twice, EDT then EST.
FIRST_0130 = datetime(2027, 11, 7, 5, 30, tzinfo=UTC)  # 01:30 EDT
SECOND_0130 = datetime(2027, 11, 7, 6, 30, tzinfo=UTC)  # 01:30 EST, an hour later
# Lord Howe goes back half an hour (+11 -> +10:30) at 02:00 on 2027-04-04: 01:30-02:00 twice.
LORD_HOWE_SECOND_0145 = datetime(2027, 4, 3, 15, 15, tzinfo=UTC)  # 01:45 +10:30


@pytest.mark.parametrize("read", READERS)
@pytest.mark.parametrize(
    ("zone", "start", "minutes"),
    [
        pytest.param("America/New_York", SECOND_0130, 30, id="second_0130"),
        pytest.param("America/New_York", FIRST_0130, 30, id="first_0130"),
        pytest.param("America/New_York", FIRST_0130 - timedelta(hours=1), 45, id="ends_0115_edt"),
        pytest.param("Europe/London", datetime(2027, 10, 31, 1, 15, tzinfo=UTC), 30, id="london"),
        pytest.param("Australia/Lord_Howe", LORD_HOWE_SECOND_0145, 20, id="lord_howe"),
    ],
)
def test_a_time_in_the_repeated_hour_reads_back_at_its_instant(
    read: Any, zone: str, start: datetime, minutes: int
) -> None:
    """Its wall time names two instants, so it is written in UTC (SPEC §5: never ambiguous)."""
    end = start + timedelta(minutes=minutes)
    data = build_invite(invite(timezone=zone, start=start, end=end), CLINIC, now=NOW)
    assert read(data) == [(start, end)]
    event = the_event(data)
    assert "TZID" not in event["DTSTART"].params
    assert "TZID" not in event["DTEND"].params


def test_the_second_0130_of_the_fall_back_night_is_written_in_utc() -> None:
    data = build_invite(
        invite(start=SECOND_0130, end=SECOND_0130 + timedelta(minutes=30)), CLINIC, now=NOW
    )
    assert "DTSTART:20271107T063000Z" in unfolded(data)
    assert "DTEND:20271107T070000Z" in unfolded(data)
    assert "1:30 AM EST" in str(the_event(data)["DESCRIPTION"])  # the words name the offset


def test_times_next_to_the_repeated_hour_keep_the_site_tzid() -> None:
    before = FIRST_0130 - timedelta(minutes=90)  # 00:00-01:00 EDT
    after = SECOND_0130 + timedelta(minutes=30)  # 02:00-02:30 EST
    for start in (before, after):
        event = the_event(
            build_invite(invite(start=start, end=start + timedelta(minutes=30)), CLINIC, now=NOW)
        )
        assert event["DTSTART"].params["TZID"] == "America/New_York"
        assert event["DTEND"].params["TZID"] == "America/New_York"


@pytest.mark.parametrize("read", READERS)
def test_feed_cases_in_the_repeated_hour_read_back_at_their_instants(read: Any) -> None:
    starts = [FIRST_0130, SECOND_0130, SECOND_0130 + timedelta(hours=1)]  # the last: 02:30
    entries = [
        dataclasses.replace(entry, start=start, end=start + timedelta(minutes=30))
        for entry, start in zip(feed_entries(), starts, strict=False)
    ]
    data = build_feed(entries, name="Cases", now=NOW)
    assert read(data) == [(entry.start, entry.end) for entry in entries]


def feed_entries() -> list[FeedEntry]:
    def entry(number: int, zone: str, start: datetime) -> FeedEntry:
        return FeedEntry(
            uid=f"case-{number}@scheduler.example",
            start=start,
            end=start + timedelta(minutes=30),
            timezone=zone,
            summary=f"Case {number}",
            location="Riverside Spine & Pain Center, Room 2",
            description="Readiness: consent signed",
            organizer=CLINIC,
        )

    return [
        entry(1, "America/New_York", NEW_YORK_EST),
        entry(2, "America/New_York", NEW_YORK_EDT),
        entry(3, "Europe/London", LONDON_GMT),
        entry(4, "Europe/London", LONDON_BST),
    ]


@pytest.mark.parametrize("read", READERS)
def test_feed_reads_back_at_the_given_instants(read: Any) -> None:
    entries = feed_entries()
    data = build_feed(entries, name="Dr Rivera — cases", now=NOW)
    assert read(data) == [(entry.start, entry.end) for entry in entries]


def test_feed_is_published_with_name_refresh_and_one_vtimezone_per_zone() -> None:
    data = build_feed(feed_entries(), name="Dr Rivera — cases", now=NOW)
    calendar = parse(data)
    assert str(calendar["METHOD"]) == "PUBLISH"
    assert str(calendar["X-WR-CALNAME"]) == "Dr Rivera — cases"
    assert str(calendar["NAME"]) == "Dr Rivera — cases"
    assert "REFRESH-INTERVAL;VALUE=DURATION:PT15M" in unfolded(data)
    assert "X-PUBLISHED-TTL:PT15M" in unfolded(data)
    assert [str(zone["TZID"]) for zone in calendar.walk("VTIMEZONE")] == [
        "America/New_York",
        "Europe/London",
    ]
    # Only live cases are published; a cancelled one leaves the feed (feeds.services).
    assert [str(event["STATUS"]) for event in calendar.walk("VEVENT")] == ["CONFIRMED"] * 4
    (event, *_) = calendar.walk("VEVENT")
    assert str(event["SUMMARY"]) == "Case 1"
    assert str(event["LOCATION"]) == "Riverside Spine & Pain Center, Room 2"
    assert str(event["DESCRIPTION"]) == "Readiness: consent signed"
    assert "DTSTAMP:20260220T150007Z" in unfolded(data)


def test_every_feed_event_names_the_clinic_as_organizer() -> None:
    """RFC 5546 §3.2.1: ORGANIZER is required in each VEVENT of a PUBLISH."""
    events = parse(build_feed(feed_entries(), name="Cases", now=NOW)).walk("VEVENT")
    assert len(events) == len(feed_entries())
    for event in events:
        assert str(event["ORGANIZER"]) == "mailto:desk@riverside.example"
        assert dict(event["ORGANIZER"].params) == {"CN": "Riverside Spine & Pain Center"}


def test_feed_refresh_interval_is_configurable() -> None:
    data = build_feed(feed_entries(), name="Cases", now=NOW, refresh=timedelta(hours=1))
    assert "REFRESH-INTERVAL;VALUE=DURATION:PT1H" in unfolded(data)
    assert "X-PUBLISHED-TTL:PT1H" in unfolded(data)


@pytest.mark.parametrize("read", READERS)
def test_empty_feed_is_a_valid_calendar(read: Any) -> None:
    data = build_feed([], name="Cases", now=NOW)
    assert read(data) == []
    assert parse(data).walk("VTIMEZONE") == []
