"""Appointments carry a "needs rebooking" mark

Time off or new working hours an admin confirms over booked appointments no longer
strand them silently: each such appointment keeps why it needs a new time and since
when, until it is moved or taken off. Existing rows have no mark. The downgrade drops
the two columns (the marks are lost; the bookings stay).

Revision ID: e332330cdde9
Revises: da9f125e25c7
Create Date: 2026-12-02 12:15:37.621496
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e332330cdde9"
down_revision: str | None = "da9f125e25c7"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rebook_reason", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("rebook_since", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.drop_column("rebook_since")
        batch_op.drop_column("rebook_reason")
