"""Initial schema, the append-only guard on pathway events, the built-in policies

Revision ID: adc67503c1a0
Revises:
Create Date: 2026-11-25 04:33:03.301073
"""

import json
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "adc67503c1a0"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The policies v1 as published with this release, frozen here: later edits to the
# files in scheduler/pathways/builtin_policies/ must become new versions, not change
# what this migration inserted. (name -> (title, parameters as JSON))
BUILTIN_POLICIES = {
    "medicare_facet": (
        "Medicare LCD L38803 facet joint interventions",
        '{"check_in": {"anticoagulation_hold_regions": ["cervical"], "anticoagulation_review_required": true, "arrival_minutes_before": 60, "consent_required": true, "escort_required_with_sedation": true, "fasting_hours": {"clear_fluids": 2, "heavy_meal": 8, "light_meal": 6}}, "conservative_care": {"min_days": 28, "success_outcomes": ["resolved"]}, "coverage": {"acknowledgment_kinds": ["self_pay", "abn"], "not_covered_indications": ["sacroiliac_joint_dysfunction"], "not_covered_methods": ["laser", "mechanical"]}, "diagnostic_blocks": {"max_sessions_per_region": 4, "min_interval_days": 14, "min_relief_percent": 80, "required": 2, "window_days": 365}, "discharge": {"escort_required": true, "min_padss": 9, "written_instructions_required": true}, "follow_up": {"max_days": 28, "min_days": 14}, "indications": {"facet_joint_syndrome": {"regions": ["cervical", "thoracic", "lumbar"], "target_nerve": "medial_branch"}, "sacroiliac_joint_dysfunction": {"regions": ["sacroiliac"], "target_nerve": "lateral_branch"}}, "levels": {"max_per_session": 2}, "neurotomy": {"max_sessions_per_region": 2, "repeat_min_days": 182, "repeat_min_prior_relief_percent": 50, "window_days": 365}, "pain_duration": {"min_days": 90}, "recovery": {"min_aldrete": 9}, "sources": {"block_interval": "Medicare LCD L38803 billing article: diagnostic blocks at least 2 weeks apart", "block_sessions": "Medicare LCD L38803: no more than four diagnostic joint sessions per region in a rolling 12 months", "check_in.anticoagulation": "ASRA/ESRA interventional spine guideline: cervical facet procedures are intermediate risk; hold or clear anticoagulants", "check_in.consent": "Clinic procedure standard: signed informed consent before the procedure", "check_in.escort": "ASA guidance for sedation: a responsible adult escort for discharge", "check_in.fasting": "ASA fasting guideline: clear fluids 2 h, light meal 6 h, heavy meal 8 h", "conservative_care": "Medicare LCD L38803: failure of at least 4 weeks of conservative care", "coverage": "Medicare LCD L38803: SI joint RF ablation and non-thermal facet denervation are not covered; an ABN or self-pay agreement is needed", "diagnostic_blocks": "Medicare LCD L38803: two medically reasonable and necessary diagnostic medial branch blocks, each with at least 80% relief", "discharge.escort": "Chung\'s PADSS: discharge to a responsible adult", "discharge.instructions": "Clinic discharge standard: written aftercare instructions given", "discharge.padss": "Chung\'s Post-Anaesthetic Discharge Scoring System: home readiness at 9 of 10 or more", "follow_up.window": "Clinic pathway: follow-up visit 2-4 weeks after the procedure", "indication_target": "Medicare LCD L38803 Facet Joint Interventions for Pain Management: facet RF ablation targets the medial branch nerves", "levels_per_session": "Medicare LCD L38803: no more than two facet joint levels per session", "neurotomy_sessions": "Medicare LCD L38803: no more than two RF ablation sessions per region in a rolling 12 months", "pain_duration": "Medicare LCD L38803: moderate to severe axial pain for at least 3 months", "recovery.aldrete": "Modified Aldrete score: phase I recovery ends at 9 of 10 or more", "repeat_neurotomy": "Medicare LCD L38803: repeat ablation at least 6 months after a prior one with at least 50% relief"}}',
    ),
    "single_block_50": (
        "Multisociety consensus 2020: single block, 50% relief",
        '{"check_in": {"anticoagulation_hold_regions": ["cervical"], "anticoagulation_review_required": true, "arrival_minutes_before": 60, "consent_required": true, "escort_required_with_sedation": true, "fasting_hours": {"clear_fluids": 2, "heavy_meal": 8, "light_meal": 6}}, "conservative_care": {"min_days": 28, "success_outcomes": ["resolved"]}, "coverage": {"acknowledgment_kinds": ["self_pay", "abn"], "not_covered_indications": [], "not_covered_methods": ["laser", "mechanical"]}, "diagnostic_blocks": {"max_sessions_per_region": 4, "min_interval_days": 14, "min_relief_percent": 50, "required": 1, "window_days": 365}, "discharge": {"escort_required": true, "min_padss": 9, "written_instructions_required": true}, "follow_up": {"max_days": 28, "min_days": 14}, "indications": {"facet_joint_syndrome": {"regions": ["cervical", "thoracic", "lumbar"], "target_nerve": "medial_branch"}, "sacroiliac_joint_dysfunction": {"regions": ["sacroiliac"], "target_nerve": "lateral_branch"}}, "levels": {"max_per_session": 2}, "neurotomy": {"max_sessions_per_region": 2, "repeat_min_days": 182, "repeat_min_prior_relief_percent": 50, "window_days": 365}, "pain_duration": {"min_days": 90}, "recovery": {"min_aldrete": 9}, "sources": {"block_interval": "Medicare LCD L38803 billing article: diagnostic blocks at least 2 weeks apart", "block_sessions": "Medicare LCD L38803: no more than four diagnostic joint sessions per region in a rolling 12 months", "check_in.anticoagulation": "ASRA/ESRA interventional spine guideline: cervical facet procedures are intermediate risk; hold or clear anticoagulants", "check_in.consent": "Clinic procedure standard: signed informed consent before the procedure", "check_in.escort": "ASA guidance for sedation: a responsible adult escort for discharge", "check_in.fasting": "ASA fasting guideline: clear fluids 2 h, light meal 6 h, heavy meal 8 h", "conservative_care": "Medicare LCD L38803: failure of at least 4 weeks of conservative care", "coverage": "Multisociety consensus (2020): SI lateral branch ablation is an accepted indication; non-thermal methods need a self-pay or ABN acknowledgment", "diagnostic_blocks": "Multisociety consensus (2020): one diagnostic block with at least 50% relief before RF ablation", "discharge.escort": "Chung\'s PADSS: discharge to a responsible adult", "discharge.instructions": "Clinic discharge standard: written aftercare instructions given", "discharge.padss": "Chung\'s Post-Anaesthetic Discharge Scoring System: home readiness at 9 of 10 or more", "follow_up.window": "Clinic pathway: follow-up visit 2-4 weeks after the procedure", "indication_target": "Multisociety consensus practice guideline on RF ablation for facet and SI joint pain (2020): medial branches for facet, lateral branches for SI", "levels_per_session": "Medicare LCD L38803: no more than two facet joint levels per session", "neurotomy_sessions": "Medicare LCD L38803: no more than two RF ablation sessions per region in a rolling 12 months", "pain_duration": "Medicare LCD L38803: moderate to severe axial pain for at least 3 months", "recovery.aldrete": "Modified Aldrete score: phase I recovery ends at 9 of 10 or more", "repeat_neurotomy": "Medicare LCD L38803: repeat ablation at least 6 months after a prior one with at least 50% relief"}}',
    ),
}

# PathwayEvent rows are history: the database itself refuses to change or delete them.
APPEND_ONLY_PG = """
CREATE FUNCTION pathway_events_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'pathway_events is append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER pathway_events_append_only
    BEFORE UPDATE OR DELETE ON pathway_events
    FOR EACH ROW EXECUTE FUNCTION pathway_events_append_only();
"""
APPEND_ONLY_SQLITE = (
    """CREATE TRIGGER pathway_events_no_update BEFORE UPDATE ON pathway_events
    BEGIN SELECT RAISE(ABORT, 'pathway_events is append-only'); END""",
    """CREATE TRIGGER pathway_events_no_delete BEFORE DELETE ON pathway_events
    BEGIN SELECT RAISE(ABORT, 'pathway_events is append-only'); END""",
)


def upgrade() -> None:
    op.create_table(
        "clinicians",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("given_name", sa.String(length=80), nullable=False),
        sa.Column("family_name", sa.String(length=80), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clinicians")),
    )
    op.create_table(
        "patients",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mrn", sa.String(length=40), nullable=False),
        sa.Column("given_name", sa.String(length=80), nullable=False),
        sa.Column("family_name", sa.String(length=80), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("phone", sa.String(length=40), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patients")),
        sa.UniqueConstraint("mrn", name=op.f("uq_patients_mrn")),
    )
    with op.batch_alter_table("patients", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_patients_family_name"), ["family_name"], unique=False)

    op.create_table(
        "sites",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("phone", sa.String(length=40), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sites")),
        sa.UniqueConstraint("name", name=op.f("uq_sites_name")),
    )
    op.create_table(
        "equipment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "endoscope_tower",
                "rf_generator",
                "laser_unit",
                "shaver",
                name="kind",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_equipment_site_id_sites"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_equipment")),
        sa.UniqueConstraint("site_id", "name", name=op.f("uq_equipment_site_id_name")),
    )
    with op.batch_alter_table("equipment", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_equipment_site_id"), ["site_id"], unique=False)

    op.create_table(
        "rooms",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("procedure", "consult", name="kind", native_enum=False, create_constraint=True),
            nullable=False,
        ),
        sa.Column("fluoroscopy", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_rooms_site_id_sites"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rooms")),
        sa.UniqueConstraint("site_id", "name", name=op.f("uq_rooms_site_id_name")),
    )
    with op.batch_alter_table("rooms", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rooms_site_id"), ["site_id"], unique=False)

    op.create_table(
        "time_off",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinician_id", sa.Integer(), nullable=False),
        sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.CheckConstraint("end_at > start_at", name=op.f("ck_time_off_end_after_start")),
        sa.ForeignKeyConstraint(
            ["clinician_id"],
            ["clinicians.id"],
            name=op.f("fk_time_off_clinician_id_clinicians"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_time_off")),
    )
    with op.batch_alter_table("time_off", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_time_off_clinician_id"), ["clinician_id"], unique=False
        )

    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "admin",
                "scheduler",
                "clinician",
                "nurse",
                "patient",
                name="role",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("clinician_id", sa.Integer(), nullable=True),
        sa.Column("patient_id", sa.Integer(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(role = 'clinician') = (clinician_id IS NOT NULL)",
            name=op.f("ck_users_clinician_link"),
        ),
        sa.CheckConstraint(
            "(role = 'patient') = (patient_id IS NOT NULL)", name=op.f("ck_users_patient_link")
        ),
        sa.ForeignKeyConstraint(
            ["clinician_id"],
            ["clinicians.id"],
            name=op.f("fk_users_clinician_id_clinicians"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_users_patient_id_patients"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("clinician_id", name=op.f("uq_users_clinician_id")),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
        sa.UniqueConstraint("patient_id", name=op.f("uq_users_patient_id")),
    )
    op.create_table(
        "working_hours",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinician_id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("weekday", sa.Integer(), nullable=False),
        sa.Column("start_time", sa.Time(), nullable=False),
        sa.Column("end_time", sa.Time(), nullable=False),
        sa.CheckConstraint("end_time > start_time", name=op.f("ck_working_hours_end_after_start")),
        sa.CheckConstraint("weekday BETWEEN 0 AND 6", name=op.f("ck_working_hours_weekday")),
        sa.ForeignKeyConstraint(
            ["clinician_id"],
            ["clinicians.id"],
            name=op.f("fk_working_hours_clinician_id_clinicians"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["sites.id"],
            name=op.f("fk_working_hours_site_id_sites"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_working_hours")),
    )
    with op.batch_alter_table("working_hours", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_working_hours_clinician_id"), ["clinician_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_working_hours_site_id"), ["site_id"], unique=False)

    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_api_tokens_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_tokens_user_id"), ["user_id"], unique=False)

    op.create_table(
        "policies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column(
            "parameters",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("version >= 1", name=op.f("ck_policies_version_positive")),
        sa.ForeignKeyConstraint(
            ["published_by_id"],
            ["users.id"],
            name=op.f("fk_policies_published_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policies")),
        sa.UniqueConstraint("name", "version", name=op.f("uq_policies_name_version")),
    )
    op.create_table(
        "pathways",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("clinician_id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("policy_id", sa.Integer(), nullable=False),
        sa.Column(
            "indication",
            sa.Enum(
                "facet_joint_syndrome",
                "sacroiliac_joint_dysfunction",
                name="indication",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column(
            "region",
            sa.Enum(
                "cervical",
                "thoracic",
                "lumbar",
                "sacroiliac",
                name="region",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column(
            "side",
            sa.Enum(
                "left", "right", "bilateral", name="side", native_enum=False, create_constraint=True
            ),
            nullable=False,
        ),
        sa.Column(
            "levels",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "target_nerve",
            sa.Enum(
                "medial_branch",
                "lateral_branch",
                name="target_nerve",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column(
            "method",
            sa.Enum(
                "rfa",
                "laser",
                "mechanical",
                name="method",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("sedation", sa.Boolean(), nullable=False),
        sa.Column("pain_onset_date", sa.Date(), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "referred",
                "block_scheduled",
                "eligible",
                "ineligible",
                "procedure_scheduled",
                "checked_in",
                "in_procedure",
                "in_recovery",
                "discharged",
                "admitted",
                "follow_up_scheduled",
                "completed",
                "cancelled",
                name="state",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["clinician_id"],
            ["clinicians.id"],
            name=op.f("fk_pathways_clinician_id_clinicians"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_pathways_patient_id_patients"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["policy_id"],
            ["policies.id"],
            name=op.f("fk_pathways_policy_id_policies"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_pathways_site_id_sites"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pathways")),
    )
    with op.batch_alter_table("pathways", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_pathways_clinician_id"), ["clinician_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_pathways_patient_id"), ["patient_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_pathways_state"), ["state"], unique=False)

    op.create_table(
        "appointments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pathway_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("clinician_id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("room_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "diagnostic_block",
                "procedure",
                "follow_up",
                name="kind",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "booked",
                "completed",
                "cancelled",
                "no_show",
                name="status",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "method",
            sa.Enum(
                "rfa",
                "laser",
                "mechanical",
                name="method",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=True,
        ),
        sa.Column(
            "side",
            sa.Enum(
                "left", "right", "bilateral", name="side", native_enum=False, create_constraint=True
            ),
            nullable=False,
        ),
        sa.Column(
            "levels",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("cancel_reason", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("booked_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "(kind = 'procedure') = (method IS NOT NULL)",
            name=op.f("ck_appointments_procedure_method"),
        ),
        sa.CheckConstraint("end_at > start_at", name=op.f("ck_appointments_end_after_start")),
        sa.CheckConstraint("version >= 1", name=op.f("ck_appointments_version_positive")),
        sa.ForeignKeyConstraint(
            ["booked_by_id"],
            ["users.id"],
            name=op.f("fk_appointments_booked_by_id_users"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["clinician_id"],
            ["clinicians.id"],
            name=op.f("fk_appointments_clinician_id_clinicians"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["pathway_id"],
            ["pathways.id"],
            name=op.f("fk_appointments_pathway_id_pathways"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_appointments_patient_id_patients"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["room_id"],
            ["rooms.id"],
            name=op.f("fk_appointments_room_id_rooms"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["sites.id"],
            name=op.f("fk_appointments_site_id_sites"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appointments")),
    )
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_appointments_clinician_id_start_at"),
            ["clinician_id", "start_at"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_appointments_pathway_id"), ["pathway_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_appointments_patient_id_start_at"),
            ["patient_id", "start_at"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_appointments_room_id_start_at"), ["room_id", "start_at"], unique=False
        )

    op.create_table(
        "conservative_treatments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pathway_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "physical_therapy",
                "medication",
                "injection",
                "chiropractic",
                "home_exercise",
                name="kind",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column(
            "outcome",
            sa.Enum(
                "resolved",
                "partial_relief",
                "no_relief",
                "worsened",
                "not_tolerated",
                name="outcome",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=True,
        ),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "end_date IS NULL OR end_date >= start_date",
            name=op.f("ck_conservative_treatments_end_after_start"),
        ),
        sa.ForeignKeyConstraint(
            ["pathway_id"],
            ["pathways.id"],
            name=op.f("fk_conservative_treatments_pathway_id_pathways"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"],
            ["users.id"],
            name=op.f("fk_conservative_treatments_recorded_by_id_users"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conservative_treatments")),
    )
    with op.batch_alter_table("conservative_treatments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_conservative_treatments_pathway_id"), ["pathway_id"], unique=False
        )

    op.create_table(
        "coverage_acknowledgments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pathway_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("self_pay", "abn", name="kind", native_enum=False, create_constraint=True),
            nullable=False,
        ),
        sa.Column("signed_on", sa.Date(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["pathway_id"],
            ["pathways.id"],
            name=op.f("fk_coverage_acknowledgments_pathway_id_pathways"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"],
            ["users.id"],
            name=op.f("fk_coverage_acknowledgments_recorded_by_id_users"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coverage_acknowledgments")),
    )
    with op.batch_alter_table("coverage_acknowledgments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_coverage_acknowledgments_pathway_id"), ["pathway_id"], unique=False
        )

    op.create_table(
        "block_results",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("appointment_id", sa.Integer(), nullable=False),
        sa.Column("pre_block_pain", sa.Integer(), nullable=False),
        sa.Column("post_block_pain", sa.Integer(), nullable=False),
        sa.Column("relief_duration_hours", sa.Double(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "post_block_pain BETWEEN 0 AND 10", name=op.f("ck_block_results_post_block_pain")
        ),
        sa.CheckConstraint(
            "pre_block_pain BETWEEN 1 AND 10", name=op.f("ck_block_results_pre_block_pain")
        ),
        sa.CheckConstraint(
            "relief_duration_hours >= 0", name=op.f("ck_block_results_relief_duration")
        ),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointments.id"],
            name=op.f("fk_block_results_appointment_id_appointments"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"],
            ["users.id"],
            name=op.f("fk_block_results_recorded_by_id_users"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_block_results")),
        sa.UniqueConstraint("appointment_id", name=op.f("uq_block_results_appointment_id")),
    )
    op.create_table(
        "check_ins",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("appointment_id", sa.Integer(), nullable=False),
        sa.Column("consent_signed", sa.Boolean(), nullable=False),
        sa.Column("escort_name", sa.String(length=120), nullable=True),
        sa.Column("escort_phone", sa.String(length=40), nullable=True),
        sa.Column("fasting_confirmed", sa.Boolean(), nullable=False),
        sa.Column("last_clear_fluids_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_light_meal_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_heavy_meal_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("anticoagulation_reviewed", sa.Boolean(), nullable=False),
        sa.Column(
            "anticoagulation_status",
            sa.Enum(
                "not_anticoagulated",
                "held",
                "cleared",
                "continued",
                name="anticoagulation_status",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=True,
        ),
        sa.Column("checked_in_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointments.id"],
            name=op.f("fk_check_ins_appointment_id_appointments"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"],
            ["users.id"],
            name=op.f("fk_check_ins_recorded_by_id_users"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_check_ins")),
        sa.UniqueConstraint("appointment_id", name=op.f("uq_check_ins_appointment_id")),
    )
    op.create_table(
        "discharges",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("appointment_id", sa.Integer(), nullable=False),
        sa.Column(
            "outcome",
            sa.Enum(
                "discharged", "admitted", name="outcome", native_enum=False, create_constraint=True
            ),
            nullable=False,
        ),
        sa.Column("escort_present", sa.Boolean(), nullable=True),
        sa.Column("written_instructions_given", sa.Boolean(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "outcome = 'discharged' OR reason IS NOT NULL",
            name=op.f("ck_discharges_admission_reason"),
        ),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointments.id"],
            name=op.f("fk_discharges_appointment_id_appointments"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"],
            ["users.id"],
            name=op.f("fk_discharges_recorded_by_id_users"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_discharges")),
        sa.UniqueConstraint("appointment_id", name=op.f("uq_discharges_appointment_id")),
    )
    op.create_table(
        "follow_up_outcomes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("appointment_id", sa.Integer(), nullable=False),
        sa.Column("pain_score", sa.Integer(), nullable=False),
        sa.Column("percent_relief", sa.Integer(), nullable=False),
        sa.Column("odi", sa.Integer(), nullable=True),
        sa.Column(
            "complications",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("physical_therapy_referred", sa.Boolean(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("odi BETWEEN 0 AND 100", name=op.f("ck_follow_up_outcomes_odi")),
        sa.CheckConstraint(
            "pain_score BETWEEN 0 AND 10", name=op.f("ck_follow_up_outcomes_pain_score")
        ),
        sa.CheckConstraint(
            "percent_relief BETWEEN 0 AND 100", name=op.f("ck_follow_up_outcomes_percent_relief")
        ),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointments.id"],
            name=op.f("fk_follow_up_outcomes_appointment_id_appointments"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"],
            ["users.id"],
            name=op.f("fk_follow_up_outcomes_recorded_by_id_users"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_follow_up_outcomes")),
        sa.UniqueConstraint("appointment_id", name=op.f("uq_follow_up_outcomes_appointment_id")),
    )
    op.create_table(
        "pathway_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pathway_id", sa.Integer(), nullable=False),
        sa.Column(
            "from_state",
            sa.Enum(
                "referred",
                "block_scheduled",
                "eligible",
                "ineligible",
                "procedure_scheduled",
                "checked_in",
                "in_procedure",
                "in_recovery",
                "discharged",
                "admitted",
                "follow_up_scheduled",
                "completed",
                "cancelled",
                name="from_state",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=True,
        ),
        sa.Column(
            "to_state",
            sa.Enum(
                "referred",
                "block_scheduled",
                "eligible",
                "ineligible",
                "procedure_scheduled",
                "checked_in",
                "in_procedure",
                "in_recovery",
                "discharged",
                "admitted",
                "follow_up_scheduled",
                "completed",
                "cancelled",
                name="to_state",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column(
            "trigger",
            sa.Enum(
                "create",
                "book_block",
                "block_positive",
                "block_positive_more_needed",
                "block_negative",
                "book_procedure",
                "check_in",
                "start_procedure",
                "finish_procedure",
                "discharge",
                "admit",
                "book_follow_up",
                "record_follow_up_outcome",
                "cancel_appointment",
                "no_show",
                "cancel_pathway",
                "reschedule_appointment",
                name="trigger",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column(
            "data",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("appointment_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["users.id"],
            name=op.f("fk_pathway_events_actor_id_users"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointments.id"],
            name=op.f("fk_pathway_events_appointment_id_appointments"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["pathway_id"],
            ["pathways.id"],
            name=op.f("fk_pathway_events_pathway_id_pathways"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pathway_events")),
    )
    with op.batch_alter_table("pathway_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_pathway_events_appointment_id"), ["appointment_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_pathway_events_pathway_id_id"), ["pathway_id", "id"], unique=False
        )

    op.create_table(
        "procedure_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("appointment_id", sa.Integer(), nullable=False),
        sa.Column(
            "method",
            sa.Enum(
                "rfa",
                "laser",
                "mechanical",
                name="method",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column(
            "levels_treated",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "complications",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_by_id", sa.Integer(), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointments.id"],
            name=op.f("fk_procedure_records_appointment_id_appointments"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["finished_by_id"],
            ["users.id"],
            name=op.f("fk_procedure_records_finished_by_id_users"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["started_by_id"],
            ["users.id"],
            name=op.f("fk_procedure_records_started_by_id_users"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_procedure_records")),
        sa.UniqueConstraint("appointment_id", name=op.f("uq_procedure_records_appointment_id")),
    )
    op.create_table(
        "recovery_scores",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("appointment_id", sa.Integer(), nullable=False),
        sa.Column(
            "scale",
            sa.Enum("aldrete", "padss", name="scale", native_enum=False, create_constraint=True),
            nullable=False,
        ),
        sa.Column(
            "items",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("total BETWEEN 0 AND 10", name=op.f("ck_recovery_scores_total")),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointments.id"],
            name=op.f("fk_recovery_scores_appointment_id_appointments"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"],
            ["users.id"],
            name=op.f("fk_recovery_scores_recorded_by_id_users"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recovery_scores")),
    )
    with op.batch_alter_table("recovery_scores", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_recovery_scores_appointment_id_scale_recorded_at"),
            ["appointment_id", "scale", "recorded_at"],
            unique=False,
        )

    if op.get_bind().dialect.name == "postgresql":
        op.execute(APPEND_ONLY_PG)
    else:
        for statement in APPEND_ONLY_SQLITE:
            op.execute(statement)

    policies = sa.table(
        "policies",
        sa.column("name", sa.String),
        sa.column("version", sa.Integer),
        sa.column("title", sa.String),
        sa.column("parameters", sa.JSON().with_variant(postgresql.JSONB(), "postgresql")),
        sa.column("published_at", sa.DateTime(timezone=True)),
        sa.column("published_by_id", sa.Integer),
    )
    published = datetime(2026, 11, 25, tzinfo=UTC)
    if op.get_bind().dialect.name == "sqlite":
        published = published.replace(tzinfo=None)  # stored as naive UTC, see scheduler.db
    op.bulk_insert(
        policies,
        [
            {
                "name": name,
                "version": 1,
                "title": title,
                "parameters": json.loads(parameters),
                "published_at": published,
                "published_by_id": None,
            }
            for name, (title, parameters) in BUILTIN_POLICIES.items()
        ],
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER pathway_events_append_only ON pathway_events")
        op.execute("DROP FUNCTION pathway_events_append_only()")
    else:
        op.execute("DROP TRIGGER pathway_events_no_update")
        op.execute("DROP TRIGGER pathway_events_no_delete")
    with op.batch_alter_table("recovery_scores", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_recovery_scores_appointment_id_scale_recorded_at"))

    op.drop_table("recovery_scores")
    op.drop_table("procedure_records")
    with op.batch_alter_table("pathway_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pathway_events_pathway_id_id"))
        batch_op.drop_index(batch_op.f("ix_pathway_events_appointment_id"))

    op.drop_table("pathway_events")
    op.drop_table("follow_up_outcomes")
    op.drop_table("discharges")
    op.drop_table("check_ins")
    op.drop_table("block_results")
    with op.batch_alter_table("coverage_acknowledgments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_coverage_acknowledgments_pathway_id"))

    op.drop_table("coverage_acknowledgments")
    with op.batch_alter_table("conservative_treatments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_conservative_treatments_pathway_id"))

    op.drop_table("conservative_treatments")
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_appointments_room_id_start_at"))
        batch_op.drop_index(batch_op.f("ix_appointments_patient_id_start_at"))
        batch_op.drop_index(batch_op.f("ix_appointments_pathway_id"))
        batch_op.drop_index(batch_op.f("ix_appointments_clinician_id_start_at"))

    op.drop_table("appointments")
    with op.batch_alter_table("pathways", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pathways_state"))
        batch_op.drop_index(batch_op.f("ix_pathways_patient_id"))
        batch_op.drop_index(batch_op.f("ix_pathways_clinician_id"))

    op.drop_table("pathways")
    op.drop_table("policies")
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_tokens_user_id"))

    op.drop_table("api_tokens")
    with op.batch_alter_table("working_hours", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_working_hours_site_id"))
        batch_op.drop_index(batch_op.f("ix_working_hours_clinician_id"))

    op.drop_table("working_hours")
    op.drop_table("users")
    with op.batch_alter_table("time_off", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_time_off_clinician_id"))

    op.drop_table("time_off")
    with op.batch_alter_table("rooms", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rooms_site_id"))

    op.drop_table("rooms")
    with op.batch_alter_table("equipment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_equipment_site_id"))

    op.drop_table("equipment")
    op.drop_table("sites")
    with op.batch_alter_table("patients", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_patients_family_name"))

    op.drop_table("patients")
    op.drop_table("clinicians")
