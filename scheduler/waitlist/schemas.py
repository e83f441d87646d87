"""The waitlist as the API reads and writes it: entries, vacancies and offers (no patient
data but ids: names are for the pages that may show them)."""

from __future__ import annotations

from typing import Any

from marshmallow import fields, validate

from scheduler.clinicians.schemas import Weekday
from scheduler.pathways.states import PathwayState
from scheduler.schemas import Args, Choice, Day, Flag, Id, Instant, Out, QueryId, Text, Whole
from scheduler.vocabulary import (
    AppointmentKind,
    Method,
    OfferStatus,
    TimeOfDay,
    VacancySource,
    VacancyStatus,
    WaitlistPriority,
)

# A week's worth of notice at most: beyond that, the patient is not waiting for a gap.
MAX_NOTICE_HOURS = 24 * 14


def Weekdays(**kwargs: Any) -> fields.List[Any]:  # noqa: N802 (reads like a field class)
    return fields.List(
        Weekday(),
        validate=validate.Length(max=7),
        metadata={"description": 'Preferred weekdays ("monday" ...); empty: any day'},
        **kwargs,
    )


def TimesOfDay(**kwargs: Any) -> fields.List[Any]:  # noqa: N802
    return fields.List(
        Choice(TimeOfDay),
        validate=validate.Length(max=2),
        metadata={"description": "Preferred parts of the day (site-local); empty: any time"},
        **kwargs,
    )


class EntryUpdateArgs(Args):
    earliest_date = Day(
        allow_none=True, metadata={"description": "No offer before this site-local day"}
    )
    weekdays = Weekdays()
    times_of_day = TimesOfDay()
    min_notice_hours = Whole(
        0, MAX_NOTICE_HOURS, metadata={"description": "The shortest notice the patient accepts"}
    )
    any_clinician = Flag(metadata={"description": "Another clinician than the pathway's may do it"})
    priority = Choice(WaitlistPriority)


class EntryCreateArgs(EntryUpdateArgs):
    pathway_id = Id(required=True)


class EntryFilterArgs(Args):
    site_id = QueryId()
    clinician_id = QueryId()
    priority = Choice(WaitlistPriority)
    next_step = Choice(
        AppointmentKind,
        validate=validate.OneOf([AppointmentKind.DIAGNOSTIC_BLOCK, AppointmentKind.PROCEDURE]),
    )


class EntryRemoveArgs(Args):
    reason = Text(500, load_default=None)


class EntrySchema(Out):
    id = fields.Integer()
    pathway_id = fields.Integer()
    patient_id = fields.Integer(attribute="pathway.patient_id")
    clinician_id = fields.Integer(attribute="pathway.clinician_id")
    site_id = fields.Integer(attribute="pathway.site_id")
    state = Choice(PathwayState, attribute="pathway.state")
    next_step = Choice(AppointmentKind)
    priority = Choice(WaitlistPriority)
    earliest_date = fields.Date(allow_none=True)
    weekdays = fields.List(Weekday())
    times_of_day = fields.List(fields.String())
    min_notice_hours = fields.Integer()
    any_clinician = fields.Boolean()
    priority_set_by_id = fields.Integer(allow_none=True)
    priority_set_at = Instant()
    created_at = Instant(metadata={"description": "On the list since (the waiting time)"})
    updated_at = Instant()


class VacancyFilterArgs(Args):
    status = Choice(VacancyStatus)
    site_id = QueryId()
    since = Instant()


class VacancySchema(Out):
    id = fields.Integer()
    source = Choice(VacancySource)
    status = Choice(VacancyStatus)
    site_id = fields.Integer()
    clinician_id = fields.Integer()
    room_id = fields.Integer(allow_none=True)
    start_at = Instant()
    end_at = Instant()
    freed_appointment_id = fields.Integer(allow_none=True)
    filled_appointment_id = fields.Integer(allow_none=True)
    created_at = Instant()
    closed_at = Instant(allow_none=True)


class OfferFilterArgs(Args):
    status = Choice(OfferStatus)
    vacancy_id = QueryId()
    pathway_id = QueryId()
    since = Instant()


class OfferCreateArgs(Args):
    vacancy_id = Id(required=True)
    pathway_id = Id(required=True, metadata={"description": "A pathway on the waitlist"})


class OfferSchema(Out):
    id = fields.Integer()
    vacancy_id = fields.Integer()
    pathway_id = fields.Integer()
    status = Choice(OfferStatus)
    rank = fields.Integer(metadata={"description": "1: the first candidate tried"})
    kind = Choice(AppointmentKind)
    method = Choice(Method, allow_none=True)
    clinician_id = fields.Integer()
    room_id = fields.Integer()
    start_at = Instant()
    end_at = Instant()
    created_by_id = fields.Integer(allow_none=True)
    created_at = Instant()
    expires_at = Instant()
    answered_at = Instant(allow_none=True)
    appointment_id = fields.Integer(allow_none=True)
