"""Sites get a patient-facing display name

What patients' invites, e-mails and pages call the site (SPEC §5), set by an admin when
the site's own name would tell a lock screen what the visit is for. Nullable: a site
without one is shown by its name, so existing sites need no value.

Revision ID: 6e3645f006a3
Revises: c4e81d2a7f90
Create Date: 2026-12-02 09:51:10.640720
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "6e3645f006a3"
down_revision: str | None = "c4e81d2a7f90"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sites", schema=None) as batch_op:
        batch_op.add_column(sa.Column("display_name", sa.String(length=120), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sites", schema=None) as batch_op:
        batch_op.drop_column("display_name")
