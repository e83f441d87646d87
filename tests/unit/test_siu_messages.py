"""The SIU builder (SPEC §8): each trigger's segments, read back with hl7apy's 2.5.1
validation; the per-receiver address; reading ACKs; the HL7 settings."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

import pytest
from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.parser import parse_message

import config
from scheduler.hl7v2.messages import (
    AckCode,
    FillerStatus,
    Sender,
    SiuAppointment,
    SiuClinician,
    SiuEvent,
    SiuPatient,
    UnreadableAck,
    ack_error_code,
    addressed,
    build_siu,
    read_ack,
)
from scheduler.settings import Hl7Receiver, hl7_settings

NOW = datetime(2026, 3, 2, 19, 0, tzinfo=UTC)
SENDER = Sender("SCHEDULER", "CLINIC", "CLINIC_MRN")
VISIT = SiuAppointment(
    id=41,
    kind="procedure",
    service="Neurotomy procedure (rfa)",
    start_at=datetime(2026, 3, 10, 15, 0, tzinfo=UTC),  # 11:00 in New York (EDT)
    end_at=datetime(2026, 3, 10, 16, 30, tzinfo=UTC),
    timezone="America/New_York",
    status=FillerStatus.BOOKED,
    patient=SiuPatient("MRN-0042", "Lovelace", "Ada", date(1961, 12, 10)),
    clinician=SiuClinician(7, "Hounsfield", "Godfrey"),
    site_id=3,
    site_name="Riverside",
    room_id=5,
    room_name="Procedure 1",
)


def parsed(text: str) -> Any:
    """The message read back by hl7apy, validated against the 2.5.1 SIU_S12 structure."""
    message = parse_message(text, validation_level=VALIDATION_LEVEL.STRICT)
    message.validate()
    return message


@pytest.mark.parametrize(
    ("event", "status"),
    [
        (SiuEvent.NEW, FillerStatus.BOOKED),
        (SiuEvent.RESCHEDULED, FillerStatus.BOOKED),
        (SiuEvent.MODIFIED, FillerStatus.PENDING),
        (SiuEvent.MODIFIED, FillerStatus.STARTED),
        (SiuEvent.MODIFIED, FillerStatus.COMPLETE),
        (SiuEvent.CANCELLED, FillerStatus.CANCELLED),
        (SiuEvent.NO_SHOW, FillerStatus.NO_SHOW),
    ],
)
def test_each_trigger_is_a_valid_siu_with_its_event_and_filler_status(
    event: SiuEvent, status: FillerStatus
) -> None:
    text = build_siu(event, replace(VISIT, status=status), SENDER, control_id="c1", now=NOW)

    message = parsed(text)

    assert message.msh.msh_9.value == f"SIU^{event.value}^SIU_S12"
    assert message.sch.sch_6.ce_1.value == event.value
    assert message.sch.sch_25.ce_1.value == status.value
    resources = message.siu_s12_resources
    for status_field in (
        resources.siu_s12_service.ais.ais_10,
        resources.siu_s12_general_resource.aig.aig_14,
        resources.siu_s12_location_resource.ail.ail_12,
        resources.siu_s12_personnel_resource.aip.aip_12,
    ):
        assert status_field.ce_1.value == status.value
    assert [segment.name for segment in text_segments(text)] == [
        "MSH", "SCH", "PID", "RGS", "AIS", "AIG", "AIL", "AIP"
    ]  # fmt: skip


class _Segment:
    def __init__(self, line: str) -> None:
        self.name = line[:3]


def text_segments(text: str) -> list[_Segment]:
    return [_Segment(line) for line in text.split("\r") if line]


def test_the_message_names_the_appointment_patient_clinician_room_and_times() -> None:
    message = parsed(build_siu(SiuEvent.NEW, VISIT, SENDER, control_id="c1", now=NOW))

    msh, sch = message.msh, message.sch
    assert (msh.msh_3.value, msh.msh_4.value, msh.msh_10.value) == ("SCHEDULER", "CLINIC", "c1")
    assert (msh.msh_7.value, msh.msh_12.value) == ("20260302190000+0000", "2.5.1")
    assert sch.sch_2.value == "41^SCHEDULER"  # we are the filler of appointment 41
    assert (sch.sch_9.value, sch.sch_10.ce_1.value) == ("90", "min")
    assert sch.sch_11.tq_4.value == "20260310110000-0400"  # the site's wall clock
    assert sch.sch_11.tq_5.value == "20260310123000-0400"
    pid = message.siu_s12_patient.pid
    assert pid.pid_3.value == "MRN-0042^^^CLINIC_MRN^MR"
    assert pid.pid_5.value == "Lovelace^Ada^^^^^L"
    assert pid.pid_7.value == "19611210"
    resources = message.siu_s12_resources
    ais = resources.siu_s12_service.ais
    assert ais.ais_3.value == "procedure^Neurotomy procedure (rfa)^SCHEDULER"
    assert (ais.ais_4.value, ais.ais_7.value) == ("20260310110000-0400", "90")
    assert resources.siu_s12_general_resource.aig.aig_3.value == "7^Godfrey Hounsfield^SCHEDULER"
    assert resources.siu_s12_location_resource.ail.ail_3.value == (
        "3^5^^^^^^^Procedure 1, Riverside"  # site and room ids, then their names
    )
    aip = resources.siu_s12_personnel_resource.aip
    assert aip.aip_3.value == "7^Hounsfield^Godfrey^^^^^^SCHEDULER"


def test_a_follow_up_is_a_followup_appointment_reason() -> None:
    follow_up = replace(VISIT, kind="follow_up", service="Follow-up visit")

    message = parsed(build_siu(SiuEvent.NEW, follow_up, SENDER, control_id="c1", now=NOW))

    assert message.sch.sch_7.ce_1.value == "FOLLOWUP"


def test_delimiters_in_names_are_escaped_not_read_as_structure() -> None:
    patient = SiuPatient("A|1", "O'Neil^Smith", "Ann & Jo~Jo", date(1970, 1, 1))
    room = replace(VISIT, patient=patient, room_name="Bay\\2")

    text = build_siu(SiuEvent.NEW, room, SENDER, control_id="c1", now=NOW)
    pid = parsed(text).siu_s12_patient.pid

    assert r"O'Neil\S\Smith^Ann \T\ Jo\R\Jo" in pid.pid_5.value
    assert pid.pid_3.cx_1.value == r"A\F\1"
    assert len(text.split("\r")[2].split("|")) == 8  # PID still has its 8 fields


def test_long_text_is_cut_to_the_length_of_its_field_as_sent_escapes_included() -> None:
    """A receiver that checks lengths would refuse the whole message otherwise (an ST,
    such as the service's words, is 199 characters at most in HL7 v2.5.1)."""
    long_words = replace(VISIT, service="x" * 300)
    ampersands = replace(VISIT, service="&" * 100)  # each one sent as \T\

    long_message = parsed(build_siu(SiuEvent.NEW, long_words, SENDER, control_id="c1", now=NOW))
    escaped = parsed(build_siu(SiuEvent.NEW, ampersands, SENDER, control_id="c1", now=NOW))

    assert long_message.siu_s12_resources.siu_s12_service.ais.ais_3.ce_2.value == "x" * 199
    assert escaped.siu_s12_resources.siu_s12_service.ais.ais_3.ce_2.value == "\\T\\" * 66


def test_addressed_fills_in_one_receivers_msh_5_and_6_and_keeps_the_rest() -> None:
    text = build_siu(SiuEvent.NEW, VISIT, SENDER, control_id="c1", now=NOW)

    sent = addressed(text, "EHR", "MAIN")

    message = parsed(sent)
    assert (message.msh.msh_5.value, message.msh.msh_6.value) == ("EHR", "MAIN")
    assert sent.split("\r")[1:] == text.split("\r")[1:]
    assert addressed(text, "", "") == text


ACK = "MSH|^~\\&|EHR|MAIN|SCHEDULER|CLINIC|20260302190001||ACK^S12^ACK|a1|P|2.5.1\rMSA|{}|{}"


@pytest.mark.parametrize("code", list(AckCode))
def test_read_ack_gives_the_code_of_this_messages_ack(code: AckCode) -> None:
    assert read_ack(ACK.format(code.value, "c1"), "c1") is code


@pytest.mark.parametrize(
    "answer",
    [
        "",
        "garbage",
        "MSH|^~\\&|EHR\rPID|1",  # no MSA
        ACK.format("AA", "other"),  # the ACK of another message
        ACK.format("XX", "c1"),  # no such code
        ACK.format("AA", "c1")[:40],  # cut short
    ],
)
def test_anything_but_the_ack_of_this_message_is_unreadable(answer: str) -> None:
    with pytest.raises(UnreadableAck):
        read_ack(answer, "c1")


def test_ack_error_code_keeps_the_code_and_never_the_words() -> None:
    answer = ACK.format("AE", "c1") + "\rERR|||207^Patient Ada Lovelace unknown^HL70357|E"

    assert ack_error_code(answer) == "207"
    assert ack_error_code(ACK.format("AR", "c1")) == ""


def settings_of(**overrides: object) -> Any:
    values = {name: getattr(config.Defaults, name) for name in dir(config.Defaults)}
    return hl7_settings({**values, **overrides})


def test_receivers_are_read_with_their_receiving_application_and_facility() -> None:
    settings = settings_of(HL7_RECEIVERS="ehr=10.0.0.7:2575/EHR/MAIN, portal=portal.example:6661")

    assert settings.receivers == (
        Hl7Receiver("ehr", "10.0.0.7", 2575, "EHR", "MAIN"),
        Hl7Receiver("portal", "portal.example", 6661, "", ""),
    )
    assert settings_of().receivers == ()


@pytest.mark.parametrize(
    ("setting", "words"),
    [
        ("ehr", "name=host:port"),
        ("ehr=host", "name=host:port"),
        ("=host:2575", "name=host:port"),
        ("ehr=host:0", "1 to 65535"),
        ("ehr=host:x", "1 to 65535"),
        ("ehr=host:2575/A/B/C", "name=host:port"),
        ("ehr=host:2575/A^B", "without |"),
        ("ehr=host:2575/" + "A" * 21, "at most 20"),
        ("ehr=a:1,ehr=b:2", "its own name"),
    ],
)
def test_a_bad_receiver_setting_fails_at_start_with_what_to_write(setting: str, words: str) -> None:
    with pytest.raises(ValueError, match="HL7_RECEIVERS") as error:
        settings_of(HL7_RECEIVERS=setting)
    assert words in str(error.value)


def test_other_bad_hl7_settings_fail_at_start() -> None:
    with pytest.raises(ValueError, match="HL7_MAX_ATTEMPTS"):
        settings_of(HL7_MAX_ATTEMPTS=0)
    with pytest.raises(ValueError, match="HL7_SENDING_FACILITY"):
        settings_of(HL7_SENDING_FACILITY="A|B")
    with pytest.raises(ValueError, match="HL7_MRN_AUTHORITY"):
        settings_of(HL7_MRN_AUTHORITY=" ")
    with pytest.raises(ValueError, match="HL7_RETRY_BASE_SECONDS must be at least 1"):
        settings_of(HL7_RETRY_BASE_SECONDS=0)
    with pytest.raises(ValueError, match="HL7_RETRY_MAX_SECONDS"):
        settings_of(HL7_RETRY_BASE_SECONDS=60, HL7_RETRY_MAX_SECONDS=30)
