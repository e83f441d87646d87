"""Working hours keep their past: when each set began, and the sets replaced

Replacing a clinician's weekly hours deleted the old ones, so the room-use report measured
every past day against today's hours. Hours now say since when they hold (``since_at``;
existing rows: unknown, as if always), and a replacement copies the hours it ends into
``working_hours_past`` with the span they held. Nothing that books reads the past.

Revision ID: dd470eda8526
Revises: 8f2b6c1d9e47
Create Date: 2026-12-03 16:26:21.720287
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "dd470eda8526"
down_revision: str | None = "8f2b6c1d9e47"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "working_hours_past",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinician_id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("weekday", sa.Integer(), nullable=False),
        sa.Column("start_time", sa.Time(), nullable=False),
        sa.Column("end_time", sa.Time(), nullable=False),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=True),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "end_time > start_time", name=op.f("ck_working_hours_past_end_after_start")
        ),
        sa.CheckConstraint(
            "valid_from IS NULL OR valid_until > valid_from",
            name=op.f("ck_working_hours_past_valid_until_after_from"),
        ),
        sa.CheckConstraint("weekday BETWEEN 0 AND 6", name=op.f("ck_working_hours_past_weekday")),
        sa.ForeignKeyConstraint(
            ["clinician_id"],
            ["clinicians.id"],
            name=op.f("fk_working_hours_past_clinician_id_clinicians"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["sites.id"],
            name=op.f("fk_working_hours_past_site_id_sites"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_working_hours_past")),
    )
    with op.batch_alter_table("working_hours_past", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_working_hours_past_clinician_id"), ["clinician_id"], unique=False
        )
        batch_op.create_index(
            "ix_working_hours_past_site_id_valid_until", ["site_id", "valid_until"], unique=False
        )
    with op.batch_alter_table("working_hours", schema=None) as batch_op:
        batch_op.add_column(sa.Column("since_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("working_hours", schema=None) as batch_op:
        batch_op.drop_column("since_at")
    with op.batch_alter_table("working_hours_past", schema=None) as batch_op:
        batch_op.drop_index("ix_working_hours_past_site_id_valid_until")
        batch_op.drop_index(batch_op.f("ix_working_hours_past_clinician_id"))
    op.drop_table("working_hours_past")
