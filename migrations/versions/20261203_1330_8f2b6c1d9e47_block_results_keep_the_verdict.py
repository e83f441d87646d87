"""Block results keep the policy's verdict (positive, positive with more needed, negative)

The verdict was only in the result's pathway event (its trigger). The reports count block
positivity over a site's year, which then meant reading the whole event history; the
record now says it too, written with it. Existing rows take it from their event.

Revision ID: 8f2b6c1d9e47
Revises: 3c9d0f6e2a71
Create Date: 2026-12-03 13:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "8f2b6c1d9e47"
down_revision: str | None = "3c9d0f6e2a71"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OUTCOMES = ("positive", "positive_more_needed", "negative")


def upgrade() -> None:
    with op.batch_alter_table("block_results", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "outcome",
                sa.Enum(
                    *OUTCOMES,
                    name="outcome",
                    native_enum=False,
                    create_constraint=True,
                    length=20,
                ),
                nullable=True,
            )
        )
    op.execute(
        """UPDATE block_results SET outcome = (
            SELECT substr(e.trigger, 7) FROM pathway_events AS e
            WHERE e.appointment_id = block_results.appointment_id
              AND e.trigger IN ('block_positive', 'block_positive_more_needed', 'block_negative')
            ORDER BY e.id LIMIT 1)"""
    )
    # A result without its event cannot be (the service writes both); were there one, it
    # reads as negative rather than stop the upgrade.
    op.execute("UPDATE block_results SET outcome = 'negative' WHERE outcome IS NULL")
    with op.batch_alter_table("block_results", schema=None) as batch_op:
        batch_op.alter_column("outcome", existing_type=sa.String(length=20), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("block_results", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_block_results_outcome"), type_="check")
        batch_op.drop_column("outcome")
