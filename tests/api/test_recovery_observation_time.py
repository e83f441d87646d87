"""A recovery score carries when the patient was assessed: stored, now by default, never
in the future; "the latest score" is the latest observed (issue 18, point 6)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from scheduler.clinical.models import RecoveryScore
from tests.api.conftest import Clinic
from tests.api.test_full_pathway import ALDRETE_OK
from tests.api.test_nurse_pages import PROCEDURE_DAY, count, in_recovery, score
from tests.support import Api, FrozenClock, local

ALDRETE_8 = {**ALDRETE_OK, "activity": 1}


def scores_path(appointment: dict[str, object]) -> str:
    return f"/appointments/{appointment['id']}/recovery-scores"


def test_a_recovery_score_observed_in_the_future_is_refused_and_nothing_is_stored(
    api: Api, clinic: Clinic, clock: FrozenClock, db: Session
) -> None:
    appointment = in_recovery(api, clinic, clock)  # the clock at 10:45

    refused = api.post(
        scores_path(appointment),
        {
            "scale": "aldrete",
            "items": ALDRETE_OK,
            "observed_at": local(PROCEDURE_DAY, 10, 50).isoformat(),
        },
        "nurse",
    )

    assert refused.status_code == 422
    assert refused.headers["Content-Type"] == "application/problem+json"
    assert "in the future" in refused.get_json()["errors"]["observed_at"][0]
    assert count(db, RecoveryScore) == 0


def test_a_recovery_score_keeps_its_observation_time_and_defaults_to_now(
    api: Api, clinic: Clinic, clock: FrozenClock
) -> None:
    appointment = in_recovery(api, clinic, clock)
    observed = local(PROCEDURE_DAY, 10, 35)

    earlier = api.ok(
        "POST",
        scores_path(appointment),
        "nurse",
        json={"scale": "aldrete", "items": ALDRETE_OK, "observed_at": observed.isoformat()},
    )
    now = api.ok(
        "POST", scores_path(appointment), "nurse", json={"scale": "aldrete", "items": ALDRETE_OK}
    )

    assert datetime.fromisoformat(earlier["observed_at"]) == observed
    assert datetime.fromisoformat(earlier["recorded_at"]) == local(PROCEDURE_DAY, 10, 45)
    assert now["observed_at"] == now["recorded_at"]


def test_a_score_written_up_late_does_not_pass_for_the_latest(
    api: Api, clinic: Clinic, clock: FrozenClock
) -> None:
    """The latest score is the latest observed: an 8 assessed at 10:40 and saved after a 9
    assessed at 10:45 leaves phase I complete."""
    appointment = in_recovery(api, clinic, clock)
    score(api, appointment, "aldrete", ALDRETE_OK)  # observed 10:45
    clock.advance(minutes=5)

    late = api.ok(
        "POST",
        scores_path(appointment),
        "nurse",
        json={
            "scale": "aldrete",
            "items": ALDRETE_8,
            "observed_at": local(PROCEDURE_DAY, 10, 40).isoformat(),
        },
    )
    listed = api.ok("GET", scores_path(appointment), "nurse")

    assert late["phase_one_complete"] is True
    assert [s["total"] for s in listed] == [8, 9]  # oldest observation first
