"""A policy's parameters: one frozen dataclass per section of its document (SPEC §3).

``document.py`` validates a published document and builds these; the rules read them.
Every threshold the rules compare against is here, none is a constant in code.
Pure module: no Flask, no SQLAlchemy.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from scheduler.vocabulary import (
    AcknowledgmentKind,
    Indication,
    Method,
    Region,
    TargetNerve,
    TreatmentOutcome,
)


@dataclass(frozen=True)
class IndicationTarget:
    target_nerve: TargetNerve
    regions: frozenset[Region]


@dataclass(frozen=True)
class PainDurationParams:
    min_days: int


@dataclass(frozen=True)
class ConservativeCareParams:
    min_days: int
    success_outcomes: frozenset[TreatmentOutcome]


@dataclass(frozen=True)
class DiagnosticBlockParams:
    required: int
    min_relief_percent: float
    min_interval_days: int
    max_sessions_per_region: int
    window_days: int


@dataclass(frozen=True)
class LevelParams:
    max_per_session: int


@dataclass(frozen=True)
class NeurotomyParams:
    max_sessions_per_region: int
    window_days: int
    repeat_min_days: int
    repeat_min_prior_relief_percent: float


@dataclass(frozen=True)
class CoverageParams:
    not_covered_indications: frozenset[Indication]
    not_covered_methods: frozenset[Method]
    acknowledgment_kinds: frozenset[AcknowledgmentKind]


@dataclass(frozen=True)
class FastingHours:
    clear_fluids: int
    light_meal: int
    heavy_meal: int


@dataclass(frozen=True)
class CheckInParams:
    consent_required: bool
    escort_required_with_sedation: bool
    fasting_hours: FastingHours
    anticoagulation_review_required: bool
    anticoagulation_hold_regions: frozenset[Region]
    arrival_minutes_before: int


@dataclass(frozen=True)
class RecoveryParams:
    min_aldrete: int


@dataclass(frozen=True)
class DischargeParams:
    min_padss: int
    escort_required: bool
    written_instructions_required: bool


@dataclass(frozen=True)
class FollowUpParams:
    min_days: int
    max_days: int


@dataclass(frozen=True)
class PolicyParameters:
    indications: Mapping[Indication, IndicationTarget]
    pain_duration: PainDurationParams
    conservative_care: ConservativeCareParams
    diagnostic_blocks: DiagnosticBlockParams
    levels: LevelParams
    neurotomy: NeurotomyParams
    coverage: CoverageParams
    check_in: CheckInParams
    recovery: RecoveryParams
    discharge: DischargeParams
    follow_up: FollowUpParams
    sources: Mapping[str, str]


@dataclass(frozen=True)
class Policy:
    name: str
    version: int
    parameters: PolicyParameters
