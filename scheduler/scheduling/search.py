"""Slot search (SPEC §4): the earliest feasible starts for a pathway's next step."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from scheduler.access import Actor
from scheduler.clock import local_date
from scheduler.pathways import gates
from scheduler.pathways import services as pathways
from scheduler.scheduling import calendars, checks, slots
from scheduler.vocabulary import AppointmentKind, Method


def search_slots(
    session: Session,
    actor: Actor,
    now: datetime,
    pathway_id: int,
    *,
    kind: AppointmentKind,
    after: datetime | None = None,
    limit: int = 10,
    days: int = 30,
    method: Method | None = None,
    clinician_id: int | None = None,
    appointment_id: int | None = None,
) -> tuple[list[slots.Slot], str]:
    """The earliest ``limit`` feasible slots in ``days`` days from ``after`` (SPEC §4),
    and the site's zone they are shown in.

    The policy's gate is judged once per site-local day; a search in which no day
    passes answers with the first day's unmet rules. With ``appointment_id``, the slots
    that booked appointment could move to (judged as if it were not booked).
    """
    pathway = pathways.get_pathway(session, actor, pathway_id)
    site = checks.site_of(session, pathway)
    earliest = max(after or now, checks.earliest_start(site, now))
    until = earliest + timedelta(days=days)
    first_day = local_date(earliest, site.timezone)
    if appointment_id is None:
        method = checks.method_for(pathway, kind, method)
        checks.require_bookable(session, pathway, kind, first_day, method)
        clinician_id = checks.clinician_for(session, pathway, clinician_id)
    else:
        moving = checks.get_appointment(session, actor, appointment_id)
        checks.require_movable(moving, pathway, kind, method=method, clinician_id=clinician_id)
        method, clinician_id = moving.method, moving.clinician_id
    want = checks.Wanted(pathway, site, kind, method)
    window = slots.Interval(earliest, calendars.horizon(until))
    found = checks.calendars_for(
        session, now, want, clinician_id, window, ignore_appointment=appointment_id
    )
    calendars.require_resources_exist(found, kind)
    candidate_days = [first_day + timedelta(days=n) for n in range(days + 1)]
    verdicts = gates.booking_verdicts(
        session, pathway, kind, candidate_days, method, ignore=appointment_id
    )
    allowed = {day for day, verdict in verdicts.items() if verdict.passed}
    if not allowed:
        verdicts[first_day].require()
    offered = slots.find_slots(
        found, earliest=earliest, until=until, limit=limit, allowed_day=allowed.__contains__
    )
    return list(offered), site.timezone
