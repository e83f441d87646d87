"""Holds for moves: a hold may name the booked appointment it is a new time for

The desk moves an appointment as it books one: search, hold, confirm. The appointment
keeps its time until the move is confirmed with the hold. Nullable: a hold without it
is a new booking's, as every existing hold is.

Revision ID: da9f125e25c7
Revises: 5e2b7c9d41a8
Create Date: 2026-12-02 12:14:14.847390
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "da9f125e25c7"
down_revision: str | None = "5e2b7c9d41a8"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("holds", schema=None) as batch_op:
        batch_op.add_column(sa.Column("appointment_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_holds_appointment_id_appointments"),
            "appointments",
            ["appointment_id"],
            ["id"],
            ondelete="CASCADE",
        )


def downgrade() -> None:
    # A move's hold means nothing below this revision (it would book a second step):
    # it is let go with its allocations, as an expired hold would be.
    op.execute(
        "DELETE FROM allocations WHERE hold_id IN "
        "(SELECT id FROM holds WHERE appointment_id IS NOT NULL)"
    )
    op.execute("DELETE FROM holds WHERE appointment_id IS NOT NULL")
    with op.batch_alter_table("holds", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_holds_appointment_id_appointments"), type_="foreignkey"
        )
        batch_op.drop_column("appointment_id")
