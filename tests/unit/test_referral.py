"""Whether a referral fits its policy, checked before anything is written (pure)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from scheduler.errors import InvalidInput
from scheduler.pathways.referral import Referral, referral_target
from scheduler.policies import rules
from scheduler.policies.document import parse_parameters
from scheduler.policies.parameters import PolicyParameters
from scheduler.vocabulary import Indication, Region, Side, TargetNerve

TODAY = date(2026, 3, 2)
REFERRAL = Referral(
    patient_id=1,
    clinician_id=2,
    site_id=3,
    indication=Indication.FACET_JOINT_SYNDROME,
    region=Region.LUMBAR,
    side=Side.RIGHT,
    levels=["L4-L5", "L5-S1"],
    pain_onset_date=date(2025, 9, 1),
)


@pytest.fixture(scope="module")
def medicare() -> PolicyParameters:
    path = Path(rules.__file__).parent / "builtin" / "medicare_facet.json"
    return parse_parameters(json.loads(path.read_text()))


def problems(parameters: PolicyParameters, referral: Referral) -> dict[str, list[str]]:
    with pytest.raises(InvalidInput) as refused:
        referral_target("medicare_facet", parameters, referral, TODAY)
    return dict(refused.value.errors)


def test_a_fitting_referral_gets_the_nerves_the_policy_treats(medicare: PolicyParameters) -> None:
    target = referral_target("medicare_facet", medicare, REFERRAL, TODAY)
    assert target.target_nerve is TargetNerve.MEDIAL_BRANCH
    assert Region.LUMBAR in target.regions


def test_onset_today_fits_and_tomorrow_does_not(medicare: PolicyParameters) -> None:
    referral_target("medicare_facet", medicare, replace(REFERRAL, pain_onset_date=TODAY), TODAY)
    future = replace(REFERRAL, pain_onset_date=date(2026, 3, 3))
    assert problems(medicare, future) == {"pain_onset_date": ["Must not be in the future."]}


@pytest.mark.parametrize(
    ("levels", "said"),
    [
        (["L4-L5", "L4-L5"], ["List each level once."]),
        (["C5-C6"], ["'C5-C6' is not in the lumbar region."]),
        (["L4-S1"], ["'L4-S1' does not name two adjacent segments."]),
    ],
)
def test_levels_are_real_in_the_region_and_listed_once(
    medicare: PolicyParameters, levels: list[str], said: list[str]
) -> None:
    assert problems(medicare, replace(REFERRAL, levels=levels)) == {"levels": said}


def test_every_problem_is_named_at_once(medicare: PolicyParameters) -> None:
    referral = replace(
        REFERRAL,
        region=Region.SACROILIAC,
        levels=["L4-L5", "L4-L5"],
        pain_onset_date=date(2027, 1, 1),
    )
    assert set(problems(medicare, referral)) == {"levels", "region", "pain_onset_date"}


def test_an_indication_the_policy_does_not_cover_is_refused(medicare: PolicyParameters) -> None:
    uncovered = replace(medicare, indications={})
    assert problems(uncovered, REFERRAL) == {
        "indication": ["The medicare_facet policy does not cover this indication."]
    }
