"""A read-only manager role for the reports; pathways indexed by site and referral time

Managers read the clinic's reports (SPEC §11) and nothing else: the users.role CHECK gains
``manager``. The pathway funnel counts the pathways a site referred in a range of days, so
pathways get an index on (site_id, created_at). On SQLite a CHECK changes by rebuilding
the table (foreign keys are off meanwhile, see env.py).

Revision ID: 3c9d0f6e2a71
Revises: a7ba08bebde5
Create Date: 2026-12-03 12:15:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "3c9d0f6e2a71"
down_revision: str | None = "a7ba08bebde5"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROLES_BEFORE = ("admin", "scheduler", "clinician", "nurse", "patient")


def _role_check(roles: Sequence[str]) -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    with op.batch_alter_table(
        "users", schema=None, recreate="always" if sqlite else "auto"
    ) as batch:
        batch.drop_constraint(op.f("ck_users_role"), type_="check")
        batch.create_check_constraint(
            op.f("ck_users_role"), f"role IN ({', '.join(repr(r) for r in roles)})"
        )


def upgrade() -> None:
    _role_check((*ROLES_BEFORE, "manager"))
    with op.batch_alter_table("pathways", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_pathways_site_id_created_at"), ["site_id", "created_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("pathways", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pathways_site_id_created_at"))
    op.execute(
        "DELETE FROM api_tokens WHERE user_id IN (SELECT id FROM users WHERE role = 'manager')"
    )
    op.execute("DELETE FROM users WHERE role = 'manager'")
    _role_check(ROLES_BEFORE)
