"""Patient search as the desk types it: the pages' own "Family, Given", a date of birth in
the layouts a clinic writes, a part of the MRN; and what is typed is matched literally."""

from __future__ import annotations

import pytest

from tests.support import Api, Browser, text_of

PEOPLE = [
    ("SRCH-00421", "David", "Schmidt", "1960-01-31"),
    ("SRCH-00777", "Anna", "Schmidt", "1971-12-05"),
    ("SRCH-10422", "David", "Smith", "1960-01-31"),
    ("SRCH-50001", "Erik", "O_Neil", "1985-07-04"),
    ("SRCH-50002", "Ida", "Oxnard", "1985-07-04"),
]


@pytest.fixture
def registered(api: Api) -> dict[str, int]:
    """Each MRN of :data:`PEOPLE` and the id it was registered under."""
    ids = {}
    for mrn, given, family, born in PEOPLE:
        body = {"mrn": mrn, "given_name": given, "family_name": family, "birth_date": born}
        ids[mrn] = api.ok("POST", "/patients", json=body)["id"]
    return ids


def found(api: Api, query: str) -> list[str]:
    """The MRNs of :data:`PEOPLE` the search finds (the clinic's other patients have
    factory MRNs, whose digits a part-of-an-MRN query may match too)."""
    answer = api.ok("GET", "/patients", "scheduler", query_string={"q": query})
    return [p["mrn"] for p in answer if p["mrn"].startswith("SRCH-")]


@pytest.mark.parametrize(
    ("query", "mrns"),
    [
        ("Schmidt, David", ["SRCH-00421"]),
        ("schmidt,david", ["SRCH-00421"]),
        ("David Schmidt", ["SRCH-00421"]),
        ("Schmidt", ["SRCH-00777", "SRCH-00421"]),
        ("1960-01-31", ["SRCH-00421", "SRCH-10422"]),
        ("1/31/1960", ["SRCH-00421", "SRCH-10422"]),
        ("01/31/1960", ["SRCH-00421", "SRCH-10422"]),
        ("31.01.1960", ["SRCH-00421", "SRCH-10422"]),
        ("Smith 31.01.1960", ["SRCH-10422"]),
        ("042", ["SRCH-00421", "SRCH-10422"]),
        ("srch-0077", ["SRCH-00777"]),
        ("SRCH-00421", ["SRCH-00421"]),
        ("1960-02-31", []),
        ("31/01/1960", []),
    ],
)
def test_search_finds_display_names_dates_of_birth_and_parts_of_an_mrn(
    api: Api, registered: dict[str, int], query: str, mrns: list[str]
) -> None:
    assert found(api, query) == mrns


@pytest.mark.parametrize(
    ("query", "mrns"), [("_", []), ("%", []), ("\\", []), ("O_N", ["SRCH-50001"]), ("O%", [])]
)
def test_search_matches_like_wildcards_literally(
    api: Api, registered: dict[str, int], query: str, mrns: list[str]
) -> None:
    assert found(api, query) == mrns


def test_board_search_finds_the_name_as_the_pages_write_it(
    api: Api, browser: Browser, people: dict[str, str], registered: dict[str, int]
) -> None:
    browser.sign_in(people["scheduler"])

    page = text_of(browser.get("/board/patients", query_string={"q": "Schmidt, David"}))

    assert "1 found" in page
    assert "SRCH-00421" in page
