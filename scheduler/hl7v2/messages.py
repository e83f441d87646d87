"""HL7 v2.5.1 SIU messages about one appointment, and reading the receiver's ACK (SPEC §8).

Plain values in, ER7 text out (segments separated by carriage returns, no MLLP framing).
Every message is built with hl7apy against the 2.5.1 structure SIU_S12 (which S13, S14,
S15 and S26 share) and validated before it is returned, so a message the standard
refuses never reaches the outbox. Each value is set on its own component, so a name
holding ``^`` or ``&`` is escaped, never read as a delimiter.
Pure module: no Flask, no SQLAlchemy.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any, Final
from zoneinfo import ZoneInfo

from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.core import Message
from hl7apy.exceptions import HL7apyException
from hl7apy.factories import datatype_factory
from hl7apy.parser import parse_message

VERSION: Final = "2.5.1"
STRUCTURE: Final = "SIU_S12"
CHARSET: Final = "UNICODE UTF-8"  # MSH-18 (table 0211): how the bytes on the wire read


class SiuEvent(StrEnum):
    """The trigger events we send (HL7 table 0003), with what each tells the receiver."""

    NEW = "S12"  # a new booking
    RESCHEDULED = "S13"  # the same appointment at a new time
    MODIFIED = "S14"  # the same time, something else changed (status, a rebook mark)
    CANCELLED = "S15"
    NO_SHOW = "S26"

    @property
    def words(self) -> str:
        return EVENT_WORDS[self]


EVENT_WORDS: Final = {
    SiuEvent.NEW: "New appointment booked",
    SiuEvent.RESCHEDULED: "Appointment rescheduled",
    SiuEvent.MODIFIED: "Appointment modified",
    SiuEvent.CANCELLED: "Appointment cancelled",
    SiuEvent.NO_SHOW: "Patient did not arrive",
}


class FillerStatus(StrEnum):
    """Where the appointment stands (HL7 table 0278, SCH-25 and each resource's status)."""

    BOOKED = "Booked"
    PENDING = "Pending"  # booked, but marked for a new time: its clinician will not be there
    STARTED = "Started"  # the patient is checked in
    COMPLETE = "Complete"
    CANCELLED = "Cancelled"
    NO_SHOW = "Noshow"


class AckCode(StrEnum):
    """The receiver's answer (MSA-1, original acknowledgment mode)."""

    ACCEPTED = "AA"
    ERROR = "AE"  # the receiver could not process it: sending again would not help
    REJECTED = "AR"


class UnreadableAck(ValueError):
    """The receiver's answer is not an ACK of this message: the message is sent again."""


@dataclass(frozen=True)
class Sender:
    application: str  # MSH-3
    facility: str  # MSH-4
    mrn_authority: str  # PID-3.4


@dataclass(frozen=True)
class SiuPatient:
    mrn: str
    family_name: str
    given_name: str
    birth_date: date


@dataclass(frozen=True)
class SiuClinician:
    id: int
    family_name: str
    given_name: str


@dataclass(frozen=True)
class SiuAppointment:
    """What one message says: the appointment as it is when the change is written."""

    id: int
    kind: str  # our appointment kind (diagnostic_block, procedure, follow_up)
    service: str  # its words (AIS-3.2)
    start_at: datetime
    end_at: datetime
    timezone: str  # the site's IANA zone: times are sent in its wall clock, with offset
    status: FillerStatus
    patient: SiuPatient
    clinician: SiuClinician
    site_id: int
    site_name: str
    room_id: int
    room_name: str


# SCH-7 (HL7 table 0276): a follow-up visit is FOLLOWUP, a block or procedure ROUTINE.
APPOINTMENT_REASONS: Final = {"follow_up": ("FOLLOWUP", "A follow up visit")}
ROUTINE: Final = ("ROUTINE", "Routine appointment")


def hl7_time(moment: datetime, zone: str = "UTC") -> str:
    """An HL7 DTM to the second, in ``zone``'s wall clock with its UTC offset."""
    return moment.astimezone(ZoneInfo(zone)).strftime("%Y%m%d%H%M%S%z")


def _minutes(appointment: SiuAppointment) -> str:
    return str(int((appointment.end_at - appointment.start_at).total_seconds() // 60))


# Text types: hl7apy escapes their values (a ``&`` in a name stays a character); any
# other value is ours (digits, codes, times) and is set as it is.
TEXT_TYPES: Final = frozenset({"ST", "IS", "ID", "TX", "FT"})


def _put(element: Any, **values: str) -> None:
    """Set each named child that has a value (empty ones stay absent), text escaped."""
    for name, value in values.items():
        if not value:
            continue
        child = getattr(element, name)
        if child.datatype in TEXT_TYPES:
            child.value = _fitted(child.datatype, value)
        else:
            setattr(element, name, value)


def _fitted(datatype: str, value: str) -> Any:
    """``value`` as ``datatype``, cut to the type's length as sent (escapes included): a
    site's name is 20 characters at most as a point of care (IS), say. A receiver
    validating lengths would refuse the whole message otherwise."""
    for end in range(len(value), 0, -1):
        fitted = datatype_factory(datatype, value[:end].rstrip(), version=VERSION)
        if fitted.max_length is None or len(fitted.to_er7()) <= fitted.max_length:
            return fitted
    return datatype_factory(datatype, "", version=VERSION)


def build_siu(
    event: SiuEvent,
    appointment: SiuAppointment,
    sender: Sender,
    *,
    control_id: str,
    now: datetime,
) -> str:
    """The SIU message of ``event`` for ``appointment``, validated, as ER7 text.

    MSH-5 and MSH-6 (the receiver) stay empty: :func:`addressed` fills them for each
    receiver when the message is sent. ``control_id`` (MSH-10) is the same on every
    attempt, so a receiver can tell a resend from a new message.
    """
    message = Message(STRUCTURE, version=VERSION, validation_level=VALIDATION_LEVEL.STRICT)
    _msh(message.msh, event, sender, control_id, now)
    _sch(message.sch, event, appointment, sender)
    _pid(message.add_group("SIU_S12_PATIENT").pid, appointment.patient, sender)
    _resources(message.add_group("SIU_S12_RESOURCES"), appointment, sender)
    message.validate()
    text: str = message.to_er7()
    return text


def _msh(msh: Any, event: SiuEvent, sender: Sender, control_id: str, now: datetime) -> None:
    _put(msh.msh_3, hd_1=sender.application)
    _put(msh.msh_4, hd_1=sender.facility)
    _put(msh.msh_7, ts_1=hl7_time(now))
    _put(msh.msh_9, msg_1="SIU", msg_2=event.value, msg_3=STRUCTURE)
    _put(msh, msh_10=control_id)
    _put(msh.msh_11, pt_1="P")  # production
    _put(msh.msh_12, vid_1=VERSION)
    _put(msh, msh_18=CHARSET)  # names may be beyond ASCII


def _coded(element: Any, code: str, text: str, system: str = "") -> None:
    _put(element, ce_1=code, ce_2=text, ce_3=system)


def _sch(sch: Any, event: SiuEvent, appointment: SiuAppointment, sender: Sender) -> None:
    zone, clinician = appointment.timezone, appointment.clinician
    _put(sch.sch_2, ei_1=str(appointment.id), ei_2=sender.application)  # we are the filler
    _coded(sch.sch_6, event.value, event.words, "HL70003")
    _coded(sch.sch_7, *APPOINTMENT_REASONS.get(appointment.kind, ROUTINE), "HL70276")
    _coded(sch.sch_8, "Normal", "Routine schedule request type", "HL70277")
    _put(sch, sch_9=_minutes(appointment))
    _coded(sch.sch_10, "min", "minutes", "ANS+")
    _put(sch.sch_11, tq_3=f"M{_minutes(appointment)}")
    _put(sch.sch_11.tq_4, ts_1=hl7_time(appointment.start_at, zone))
    _put(sch.sch_11.tq_5, ts_1=hl7_time(appointment.end_at, zone))
    _person(sch.sch_16, clinician, sender)  # who at the clinic answers for the booking
    _put(sch.sch_20, xcn_1=sender.application)  # entered through this system
    _coded(sch.sch_25, appointment.status.value, appointment.status.value, "HL70278")


def _person(xcn: Any, clinician: SiuClinician, sender: Sender) -> None:
    _put(xcn, xcn_1=str(clinician.id))
    _put(xcn.xcn_2, fn_1=clinician.family_name)
    _put(xcn, xcn_3=clinician.given_name)
    _put(xcn.xcn_9, hd_1=sender.application)


def _pid(pid: Any, patient: SiuPatient, sender: Sender) -> None:
    _put(pid, pid_1="1")
    _put(pid.pid_3, cx_1=patient.mrn)
    _put(pid.pid_3.cx_4, hd_1=sender.mrn_authority)
    _put(pid.pid_3, cx_5="MR")  # medical record number (table 0203)
    _put(pid.pid_5.xpn_1, fn_1=patient.family_name)
    _put(pid.pid_5, xpn_2=patient.given_name)
    _put(pid.pid_5, xpn_7="L")  # legal name
    _put(pid.pid_7, ts_1=patient.birth_date.strftime("%Y%m%d"))


def _resources(group: Any, appointment: SiuAppointment, sender: Sender) -> None:
    """RGS, then the service (AIS), the clinician as a resource (AIG), the room at its
    site (AIL) and the clinician as the person who sees the patient (AIP), each with the
    booked start, duration and status."""
    zone, status = appointment.timezone, appointment.status
    start, minutes = hl7_time(appointment.start_at, zone), _minutes(appointment)
    _put(group.rgs, rgs_1="1")

    ais = group.add_group("SIU_S12_SERVICE").ais
    _put(ais, ais_1="1")
    _coded(ais.ais_3, appointment.kind, appointment.service, sender.application)
    _put(ais.ais_4, ts_1=start)
    _put(ais, ais_7=minutes)
    _coded(ais.ais_8, "min", "minutes", "ANS+")
    _coded(ais.ais_10, status.value, status.value, "HL70278")

    aig = group.add_group("SIU_S12_GENERAL_RESOURCE").aig
    _put(aig, aig_1="1")
    clinician = appointment.clinician
    _coded(aig.aig_3, str(clinician.id), _full_name(clinician), sender.application)
    _coded(aig.aig_4, "clinician", "Clinician")
    _put(aig.aig_8, ts_1=start)
    _put(aig, aig_11=minutes)
    _coded(aig.aig_12, "min", "minutes", "ANS+")
    _coded(aig.aig_14, status.value, status.value, "HL70278")

    ail = group.add_group("SIU_S12_LOCATION_RESOURCE").ail
    _put(ail, ail_1="1")
    # Point of care and room are codes of 20 characters at most (IS): our ids; the names
    # go in the description, which a person reads.
    _put(ail.ail_3, pl_1=str(appointment.site_id), pl_2=str(appointment.room_id))
    _put(ail.ail_3, pl_9=f"{appointment.room_name}, {appointment.site_name}")
    _coded(ail.ail_4, "room", "Room")
    _put(ail.ail_6, ts_1=start)
    _put(ail, ail_9=minutes)
    _coded(ail.ail_10, "min", "minutes", "ANS+")
    _coded(ail.ail_12, status.value, status.value, "HL70278")

    aip = group.add_group("SIU_S12_PERSONNEL_RESOURCE").aip
    _put(aip, aip_1="1")
    _person(aip.aip_3, clinician, sender)
    _coded(aip.aip_4, "clinician", "Clinician")
    _put(aip.aip_6, ts_1=start)
    _put(aip, aip_9=minutes)
    _coded(aip.aip_10, "min", "minutes", "ANS+")
    _coded(aip.aip_12, status.value, status.value, "HL70278")


def _full_name(clinician: SiuClinician) -> str:
    return f"{clinician.given_name} {clinician.family_name}".strip()


def addressed(text: str, receiving_application: str, receiving_facility: str) -> str:
    """The stored message with one receiver's MSH-5 and MSH-6 filled in.

    Both are checked at start to hold no delimiter (settings.py), so they are placed as
    they are, and the rest of the message is sent exactly as it was built and stored.
    """
    header, separator, rest = text.partition("\r")
    fields = header.split("|")
    fields[4:6] = [receiving_application, receiving_facility]
    return "|".join(fields).rstrip("|") + separator + rest


def read_ack(text: str, control_id: str) -> AckCode:
    """The code of the receiver's ACK of the message ``control_id``.

    Anything else (not HL7, no MSA, the ACK of another message, an unknown code) is
    :class:`UnreadableAck`: the message was perhaps not received, and is sent again.
    """
    try:
        ack = parse_message(
            text.strip("\r\n"), validation_level=VALIDATION_LEVEL.TOLERANT, find_groups=False
        )
        msa = ack.msa
        code, acknowledged = msa.msa_1.value, msa.msa_2.value
    except (HL7apyException, AttributeError, IndexError, ValueError) as error:
        raise UnreadableAck("not an HL7 ACK") from error
    if acknowledged != control_id:
        raise UnreadableAck("the ACK of another message")
    try:
        return AckCode(code)
    except ValueError:
        raise UnreadableAck("an unknown acknowledgment code") from None


def ack_error_code(text: str) -> str:
    """The receiver's error code (ERR-3.1), without its words (they may name the
    patient); empty when there is none."""
    try:
        ack = parse_message(
            text.strip("\r\n"), validation_level=VALIDATION_LEVEL.TOLERANT, find_groups=False
        )
        code = ack.err.err_3.cwe_1.value
    except (HL7apyException, AttributeError, IndexError, ValueError):
        return ""
    return str(code or "")[:20]
