"""Every stored policy version cites a source for the new discharge.aldrete rule

Discharge now also needs the latest modified Aldrete still at the policy's phase I
threshold (SPEC §3: a later, lower score undoes an earlier pass). The rule reads the
existing ``recovery.min_aldrete`` parameter, so no threshold of any version changes; but
a policy document cites a source for every rule it is evaluated under, so each stored
version (the built-in ones and any an admin published) gains that one citation here and
stays valid. Pathways keep the version they pinned. The downgrade takes the citation
out again, as the code before this revision refuses a source for a rule it lacks.

Revision ID: 5e2b7c9d41a8
Revises: 6e3645f006a3
Create Date: 2026-12-02 10:00:00.000000
"""

from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "5e2b7c9d41a8"
down_revision: str | None = "6e3645f006a3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RULE = "discharge.aldrete"
# Frozen here as shipped in scheduler/policies/builtin/*.json with this revision.
SOURCE = (
    "Modified Aldrete score: phase I criteria (9 of 10 or more) must still hold at "
    "discharge; a later, lower score undoes an earlier pass"
)

policies = sa.table(
    "policies",
    sa.column("id", sa.Integer),
    sa.column("parameters", sa.JSON().with_variant(postgresql.JSONB(), "postgresql")),
)


def _rewrite_sources(change: Callable[[dict[str, Any]], bool]) -> None:
    """Apply ``change`` to each stored document's sources; write back the changed ones."""
    bind = op.get_bind()
    rows = bind.execute(sa.select(policies.c.id, policies.c.parameters)).all()
    for ident, parameters in rows:
        sources = parameters.get("sources") if isinstance(parameters, dict) else None
        if isinstance(sources, dict) and change(sources):
            bind.execute(
                policies.update().where(policies.c.id == ident).values(parameters=parameters)
            )


def _cite(sources: dict[str, Any]) -> bool:
    if RULE in sources:
        return False
    sources[RULE] = SOURCE
    return True


def _uncite(sources: dict[str, Any]) -> bool:
    return sources.pop(RULE, None) is not None


def upgrade() -> None:
    _rewrite_sources(_cite)


def downgrade() -> None:
    _rewrite_sources(_uncite)
