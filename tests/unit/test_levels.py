"""Spinal levels per region (``scheduler.vocabulary.level_problem``)."""

from __future__ import annotations

import pytest

from scheduler.vocabulary import Region, level_problem

R = Region


@pytest.mark.parametrize(
    ("level", "region"),
    [
        ("C1-C2", R.CERVICAL),
        ("C5-C6", R.CERVICAL),
        ("C7", R.CERVICAL),
        # The upper segment decides the region.
        ("C7-T1", R.CERVICAL),
        ("T1", R.THORACIC),
        ("T11-T12", R.THORACIC),
        ("T12-L1", R.THORACIC),
        ("L1-L2", R.LUMBAR),
        ("L4-L5", R.LUMBAR),
        ("L5-S1", R.LUMBAR),
        ("L5", R.LUMBAR),
        # Sacroiliac: the L5 dorsal ramus and the sacral lateral branches.
        ("L5", R.SACROILIAC),
        ("L5-S1", R.SACROILIAC),
        ("S1", R.SACROILIAC),
        ("S1-S2", R.SACROILIAC),
        ("S3", R.SACROILIAC),
        ("S4-S5", R.SACROILIAC),
    ],
)
def test_good_level_of_its_region_has_no_problem(level: str, region: Region) -> None:
    assert level_problem(level, region) is None


@pytest.mark.parametrize(
    ("level", "region"),
    [
        ("L3-L5", R.LUMBAR),
        ("L5-L4", R.LUMBAR),
        ("L4-L4", R.LUMBAR),
        ("C5-C7", R.CERVICAL),
        ("C7-T2", R.CERVICAL),
        ("T12-L2", R.THORACIC),
        ("L4-S1", R.LUMBAR),
        ("S1-S3", R.SACROILIAC),
    ],
)
def test_non_adjacent_segments_are_refused(level: str, region: Region) -> None:
    problem = level_problem(level, region)
    assert problem == f"'{level}' does not name two adjacent segments"


@pytest.mark.parametrize(
    ("level", "region"),
    [
        ("L4-L5", R.CERVICAL),
        ("L4-L5", R.THORACIC),
        ("L4-L5", R.SACROILIAC),
        ("C5-C6", R.LUMBAR),
        ("T12-L1", R.LUMBAR),
        ("C7-T1", R.THORACIC),
        ("S1", R.LUMBAR),
        ("L4", R.SACROILIAC),
        ("T6", R.CERVICAL),
    ],
)
def test_level_of_another_region_is_refused(level: str, region: Region) -> None:
    problem = level_problem(level, region)
    assert problem == f"'{level}' is not in the {region.value} region"


@pytest.mark.parametrize(
    "level",
    [
        "",
        " ",
        "L6",
        "C0",
        "C8",
        "T0",
        "T13",
        "S6",
        "l4-l5",
        "L4-L5 ",
        " L4-L5",
        "L4\u2013L5",
        "L4L5",
        "L4-",
        "-L5",
        "L4-L5-S1",
        "4-5",
        "lumbar",
        "L04",
    ],
)
@pytest.mark.parametrize("region", list(R))
def test_garbage_is_not_a_spinal_level(level: str, region: Region) -> None:
    problem = level_problem(level, region)
    assert problem == f"'{level}' is not a spinal level such as 'L4-L5' or 'S1'"


@pytest.mark.parametrize(
    ("level", "region"),
    [("L4-L5\n", R.LUMBAR), ("S1\n", R.SACROILIAC), ("C5\n", R.CERVICAL)],
)
def test_level_with_a_trailing_newline_is_refused_without_crashing(
    level: str, region: Region
) -> None:
    """SPEC §7: bad input gets a clear 4xx. ``$`` also matches before a final newline."""
    problem = level_problem(level, region)
    assert problem is not None
    assert "is not a spinal level" in problem
