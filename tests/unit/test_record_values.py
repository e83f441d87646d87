"""Values a form loads into, the rules read, and a record is written from.

Check-in answers, a block reading and a course of conservative care each travel as one
frozen value from the API's schema to the service, the policy's rules and the row; the
row is written from the value's fields, so each field must be a column of the record.
"""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import inspect

from scheduler.clinical.models import BlockResult, CheckIn
from scheduler.clinical.schemas import BlockResultArgs, CheckInArgs
from scheduler.pathways.models import ConservativeTreatment
from scheduler.pathways.schemas import TreatmentCreateArgs
from scheduler.policies.booking_rules import BlockReading, Treatment
from scheduler.policies.procedure_day_rules import CheckInAnswers, CheckInSnapshot
from scheduler.vocabulary import Region, TreatmentKind


@pytest.mark.parametrize(
    ("value", "record"),
    [(CheckInAnswers, CheckIn), (BlockReading, BlockResult), (Treatment, ConservativeTreatment)],
)
def test_every_field_of_the_value_is_a_column_of_its_record(value: type, record: type) -> None:
    columns = {column.key for column in inspect(record).mapper.column_attrs}
    assert {field.name for field in fields(value)} <= columns


def test_the_apis_schemas_load_the_values() -> None:
    answers = CheckInArgs().load(
        {"consent_signed": True, "fasting_confirmed": True, "anticoagulation_reviewed": True}
    )
    reading = BlockResultArgs().load(
        {"pre_block_pain": 8, "post_block_pain": 2, "relief_duration_hours": 6}
    )
    course = TreatmentCreateArgs().load({"kind": "medication", "start_date": "2026-01-05"})

    assert answers == CheckInAnswers(
        consent_signed=True, fasting_confirmed=True, anticoagulation_reviewed=True
    )
    assert reading == BlockReading(8, 2, 6.0)
    assert reading.relief_percent == 75.0
    assert course == Treatment(TreatmentKind.MEDICATION, date(2026, 1, 5))


def test_the_check_in_rules_read_the_answers_with_the_procedure_they_are_for() -> None:
    answers = CheckInAnswers(
        consent_signed=True, fasting_confirmed=False, anticoagulation_reviewed=True
    )
    start = datetime(2026, 3, 3, 14, tzinfo=UTC)

    snapshot = CheckInSnapshot.of(
        answers, region=Region.LUMBAR, sedation=True, procedure_start=start
    )

    assert (snapshot.region, snapshot.procedure_start) == (Region.LUMBAR, start)
    assert (snapshot.consent_signed, snapshot.fasting_confirmed) == (True, False)
    assert snapshot.escort_name is None
