"""The ids of $find's proposals: what they carry comes back unchanged, only from us, only
for a while, and always as a valid FHIR id."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scheduler.errors import InvalidInput
from scheduler.fhir import proposals
from scheduler.fhir.proposals import PROPOSAL_TTL, Proposal, decode, encode
from scheduler.vocabulary import AppointmentKind, Method

SECRET = "unit-secret"
MADE = datetime(2026, 3, 2, 19, 0, tzinfo=UTC)
SERVICES = [
    (AppointmentKind.DIAGNOSTIC_BLOCK, None),
    *((AppointmentKind.PROCEDURE, method) for method in Method),
    (AppointmentKind.FOLLOW_UP, None),
]
ids = st.integers(min_value=1, max_value=2**31 - 1)
minutes = st.integers(min_value=0, max_value=60 * 24 * 365 * 50)


@given(
    pathway=ids,
    service=st.sampled_from(SERVICES),
    start=minutes,
    length=st.integers(min_value=15, max_value=600),
    clinician=ids,
    room=ids,
    moving=st.none() | ids,
)
def test_a_proposal_comes_back_as_it_went_in_a_valid_fhir_id(
    pathway: int,
    service: tuple[AppointmentKind, Method | None],
    start: int,
    length: int,
    clinician: int,
    room: int,
    moving: int | None,
) -> None:
    begins = datetime(2020, 1, 1, tzinfo=UTC) + timedelta(minutes=start)
    proposal = Proposal(
        pathway_id=pathway,
        kind=service[0],
        method=service[1],
        start=begins,
        end=begins + timedelta(minutes=length),
        clinician_id=clinician,
        room_id=room,
        appointment_id=moving,
        made=MADE,
    )

    ident = encode(proposal, SECRET)

    assert proposals.FHIR_ID.match(ident)
    assert decode(ident, SECRET, MADE + PROPOSAL_TTL) == proposal


def one() -> str:
    start = datetime(2026, 3, 3, 14, 0, tzinfo=UTC)
    return encode(
        Proposal(
            7,
            AppointmentKind.DIAGNOSTIC_BLOCK,
            None,
            start,
            start + timedelta(minutes=30),
            1,
            2,
            None,
            MADE,
        ),
        SECRET,
    )


@pytest.mark.parametrize(
    "ident",
    [
        one().replace(".b.", ".f."),  # another service
        one()[:-1] + ("0" if one()[-1] != "0" else "1"),  # another MAC
        one().replace("prop-", "prop-1"),  # another pathway
        "prop-" + "ü" * 10,
        "prop-",
        "hold-1-abc",
        "123",
    ],
)
def test_an_altered_or_foreign_id_is_refused(ident: str) -> None:
    with pytest.raises(InvalidInput):
        decode(ident, SECRET, MADE)


def test_another_servers_secret_or_an_old_proposal_is_refused() -> None:
    with pytest.raises(InvalidInput):
        decode(one(), "another-secret", MADE)
    with pytest.raises(InvalidInput, match="expired"):
        decode(one(), SECRET, MADE + PROPOSAL_TTL + timedelta(minutes=1))
