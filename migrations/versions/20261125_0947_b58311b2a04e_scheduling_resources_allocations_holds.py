"""Scheduling resources, allocations, holds and idempotency keys

Recovery bays, per-clinician durations, which equipment each method needs (seeded as
data), the site's turnover/recovery/notice settings, and the allocations table that
makes double booking impossible: on PostgreSQL one exclusion constraint per resource
kind (btree_gist) forbids overlapping active intervals of the same resource. Booked
appointments of an existing database get their allocations here too.

Revision ID: b58311b2a04e
Revises: adc67503c1a0
Create Date: 2026-11-25 09:47:08.914532
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

RESOURCE_KINDS = ("clinician", "room", "equipment", "recovery_bay", "patient")

METHOD_EQUIPMENT = [
    ("rfa", "endoscope_tower"),
    ("rfa", "rf_generator"),
    ("laser", "endoscope_tower"),
    ("laser", "laser_unit"),
    ("mechanical", "endoscope_tower"),
    ("mechanical", "shaver"),
]

# Allocations of the appointments booked before this migration: the clinician, the room
# and the patient for the appointment's own interval (equipment and bays were not kept).
BACKFILL = """
INSERT INTO allocations (appointment_id, resource_kind, resource_id, start_at, end_at, active)
SELECT id, '{kind}', {column}, start_at, end_at, TRUE
FROM appointments WHERE status IN ('booked', 'completed')
"""

revision: str = "b58311b2a04e"
down_revision: str | None = "adc67503c1a0"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "method_equipment",
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
            "equipment_kind",
            sa.Enum(
                "endoscope_tower",
                "rf_generator",
                "laser_unit",
                "shaver",
                name="equipment_kind",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("method", "equipment_kind", name=op.f("pk_method_equipment")),
    )
    op.create_table(
        "clinician_durations",
        sa.Column("clinician_id", sa.Integer(), nullable=False),
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
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "minutes BETWEEN 5 AND 480", name=op.f("ck_clinician_durations_minutes")
        ),
        sa.ForeignKeyConstraint(
            ["clinician_id"],
            ["clinicians.id"],
            name=op.f("fk_clinician_durations_clinician_id_clinicians"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("clinician_id", "kind", name=op.f("pk_clinician_durations")),
    )
    op.create_table(
        "recovery_bays",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["sites.id"],
            name=op.f("fk_recovery_bays_site_id_sites"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recovery_bays")),
        sa.UniqueConstraint("site_id", "name", name=op.f("uq_recovery_bays_site_id_name")),
    )
    with op.batch_alter_table("recovery_bays", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_recovery_bays_site_id"), ["site_id"], unique=False)

    op.create_table(
        "idempotency_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column(
            "body",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_idempotency_keys_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idempotency_keys")),
        sa.UniqueConstraint("user_id", "key", name=op.f("uq_idempotency_keys_user_id_key")),
    )
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_idempotency_keys_created_at"), ["created_at"], unique=False
        )

    op.create_table(
        "holds",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("pathway_id", sa.Integer(), nullable=False),
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
        sa.Column("clinician_id", sa.Integer(), nullable=False),
        sa.Column("room_id", sa.Integer(), nullable=False),
        sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("end_at > start_at", name=op.f("ck_holds_end_after_start")),
        sa.ForeignKeyConstraint(
            ["clinician_id"],
            ["clinicians.id"],
            name=op.f("fk_holds_clinician_id_clinicians"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_holds_created_by_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["pathway_id"],
            ["pathways.id"],
            name=op.f("fk_holds_pathway_id_pathways"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["room_id"], ["rooms.id"], name=op.f("fk_holds_room_id_rooms"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_holds")),
    )
    with op.batch_alter_table("holds", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_holds_expires_at"), ["expires_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_holds_pathway_id"), ["pathway_id"], unique=False)

    op.create_table(
        "allocations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("appointment_id", sa.Integer(), nullable=True),
        sa.Column("hold_id", sa.String(length=32), nullable=True),
        sa.Column(
            "resource_kind",
            sa.Enum(
                "clinician",
                "room",
                "equipment",
                "recovery_bay",
                "patient",
                name="resource_kind",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("resource_id", sa.Integer(), nullable=False),
        sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.CheckConstraint(
            "(appointment_id IS NULL) <> (hold_id IS NULL)", name=op.f("ck_allocations_one_owner")
        ),
        sa.CheckConstraint("end_at > start_at", name=op.f("ck_allocations_end_after_start")),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointments.id"],
            name=op.f("fk_allocations_appointment_id_appointments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["hold_id"], ["holds.id"], name=op.f("fk_allocations_hold_id_holds"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_allocations")),
    )
    with op.batch_alter_table("allocations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_allocations_appointment_id"), ["appointment_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_allocations_hold_id"), ["hold_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_allocations_resource_kind_resource_id_start_at"),
            ["resource_kind", "resource_id", "start_at"],
            unique=False,
        )

    with op.batch_alter_table("sites", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "turnover_minutes", sa.Integer(), server_default=sa.text("15"), nullable=False
            )
        )
        batch_op.add_column(
            sa.Column(
                "recovery_minutes", sa.Integer(), server_default=sa.text("120"), nullable=False
            )
        )
        batch_op.add_column(
            sa.Column(
                "min_notice_minutes", sa.Integer(), server_default=sa.text("60"), nullable=False
            )
        )

    op.bulk_insert(
        sa.table("method_equipment", sa.column("method"), sa.column("equipment_kind")),
        [{"method": m, "equipment_kind": k} for m, k in METHOD_EQUIPMENT],
    )
    for kind, column in (
        ("clinician", "clinician_id"),
        ("room", "room_id"),
        ("patient", "patient_id"),
    ):
        op.execute(BACKFILL.format(kind=kind, column=column))
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
        for kind in RESOURCE_KINDS:
            op.execute(
                f"ALTER TABLE allocations ADD CONSTRAINT allocations_no_overlapping_{kind} "
                "EXCLUDE USING gist (resource_id WITH =, tstzrange(start_at, end_at) WITH &&) "
                f"WHERE (active AND resource_kind = '{kind}')"
            )


# btree_gist goes with this migration, unless something else in the database uses it.
DROP_BTREE_GIST = """
DO $$ BEGIN
    DROP EXTENSION IF EXISTS btree_gist;
EXCEPTION WHEN dependent_objects_still_exist THEN NULL;
END $$
"""


def downgrade() -> None:
    # The exclusion constraints go with the allocations table.
    with op.batch_alter_table("sites", schema=None) as batch_op:
        batch_op.drop_column("min_notice_minutes")
        batch_op.drop_column("recovery_minutes")
        batch_op.drop_column("turnover_minutes")

    with op.batch_alter_table("allocations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_allocations_resource_kind_resource_id_start_at"))
        batch_op.drop_index(batch_op.f("ix_allocations_hold_id"))
        batch_op.drop_index(batch_op.f("ix_allocations_appointment_id"))

    op.drop_table("allocations")
    with op.batch_alter_table("holds", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_holds_pathway_id"))
        batch_op.drop_index(batch_op.f("ix_holds_expires_at"))

    op.drop_table("holds")
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_idempotency_keys_created_at"))

    op.drop_table("idempotency_keys")
    with op.batch_alter_table("recovery_bays", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_recovery_bays_site_id"))

    op.drop_table("recovery_bays")
    op.drop_table("clinician_durations")
    op.drop_table("method_equipment")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(DROP_BTREE_GIST)
