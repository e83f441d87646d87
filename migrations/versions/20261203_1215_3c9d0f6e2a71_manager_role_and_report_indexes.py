"""A read-only manager role for the reports; pathways and appointments indexed by site and time

Managers read the clinic's reports (SPEC §11) and nothing else: the users.role CHECK gains
``manager``. The reports read a site's rows over a range of days: the pathways it referred
(an index on pathways (site_id, created_at)) and the appointments booked to start in it
(appointments (site_id, start_at); the other indexes lead with a clinician, room or
patient, so a site's year was a scan of the whole table). The funnel reads the milestone
events of each pathway referred: pathway_events get (pathway_id, trigger), with the reason
included on PostgreSQL, so it reads them from the index alone. On SQLite a CHECK changes by rebuilding
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
    with op.batch_alter_table("pathway_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_pathway_events_pathway_id_trigger"),
            ["pathway_id", "trigger"],
            unique=False,
            postgresql_include=["reason"],
        )
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_appointments_site_id_start_at"), ["site_id", "start_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("pathway_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pathway_events_pathway_id_trigger"))
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_appointments_site_id_start_at"))
    with op.batch_alter_table("pathways", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pathways_site_id_created_at"))
    op.execute(
        "DELETE FROM api_tokens WHERE user_id IN (SELECT id FROM users WHERE role = 'manager')"
    )
    op.execute("DELETE FROM users WHERE role = 'manager'")
    _role_check(ROLES_BEFORE)
