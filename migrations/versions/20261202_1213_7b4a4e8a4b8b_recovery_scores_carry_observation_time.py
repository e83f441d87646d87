"""Recovery scores carry the time the patient was assessed

A nurse at the recovery bay often writes a score up minutes after assessing the patient;
the score's ``observed_at`` says when the patient was assessed (what "the latest score"
means for the discharge gate), ``recorded_at`` stays the time it was saved. Scores
written before this revision were saved as they were observed, so they take their
``recorded_at``; then the column is required.

Revision ID: 7b4a4e8a4b8b
Revises: e332330cdde9
Create Date: 2026-12-02 12:13:03.475217
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "7b4a4e8a4b8b"
down_revision: str | None = "e332330cdde9"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

scores = sa.table(
    "recovery_scores",
    sa.column("observed_at", sa.DateTime(timezone=True)),
    sa.column("recorded_at", sa.DateTime(timezone=True)),
)


def upgrade() -> None:
    with op.batch_alter_table("recovery_scores", schema=None) as batch_op:
        batch_op.add_column(sa.Column("observed_at", sa.DateTime(timezone=True), nullable=True))
    op.execute(scores.update().values(observed_at=scores.c.recorded_at))
    with op.batch_alter_table("recovery_scores", schema=None) as batch_op:
        batch_op.alter_column(
            "observed_at", existing_type=sa.DateTime(timezone=True), nullable=False
        )


def downgrade() -> None:
    with op.batch_alter_table("recovery_scores", schema=None) as batch_op:
        batch_op.drop_column("observed_at")
