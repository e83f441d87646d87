"""Waitlist, vacancies and offers (SPEC §10); offers go out through the outbox

A pathway waits on the list for an earlier slot (one entry per pathway; ``pathways.waitlisted``
lets a booking take it off without a query). Capacity that appears (a cancellation, a move,
new hours) is a vacancy; offers are made from it, each holding the slot, answered through
signed links in an e-mail queued in the outbox (which now carries an appointment's message
or an offer's). The waitlist's facts are pathway events: the trigger column's CHECK gains
them, and the outbox kind's gains ``offer``. On SQLite a CHECK changes by rebuilding the
table, so the append-only triggers of pathway_events are made again after it.

Revision ID: a7ba08bebde5
Revises: 93a5233dbfed
Create Date: 2026-12-02 19:22:01.622737
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "a7ba08bebde5"
down_revision: str | None = "93a5233dbfed"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


TRIGGERS_BEFORE = (
    "create",
    "book_block",
    "block_positive",
    "block_positive_more_needed",
    "block_negative",
    "book_procedure",
    "check_in",
    "start_procedure",
    "finish_procedure",
    "discharge",
    "admit",
    "book_follow_up",
    "record_follow_up_outcome",
    "cancel_appointment",
    "no_show",
    "cancel_pathway",
    "reschedule_appointment",
)
WAITLIST_TRIGGERS = (
    "join_waitlist",
    "change_waitlist",
    "leave_waitlist",
    "offer_slot",
    "accept_offer",
    "decline_offer",
    "expire_offer",
    "withdraw_offer",
)
KINDS_BEFORE = ("request", "cancel", "reminder")

APPEND_ONLY_SQLITE = (
    """CREATE TRIGGER pathway_events_no_update BEFORE UPDATE ON pathway_events
    BEGIN SELECT RAISE(ABORT, 'pathway_events is append-only'); END""",
    """CREATE TRIGGER pathway_events_no_delete BEFORE DELETE ON pathway_events
    BEGIN SELECT RAISE(ABORT, 'pathway_events is append-only'); END""",
)


def _in(column: str, values: Sequence[str]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _replace_check(table: str, name: str, condition: str) -> None:
    """Drop the named CHECK and add it again with ``condition`` (SQLite: a table rebuild)."""
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite and table == "pathway_events":
        op.execute("DROP TRIGGER pathway_events_no_update")
        op.execute("DROP TRIGGER pathway_events_no_delete")
    with op.batch_alter_table(table, schema=None, recreate="always" if sqlite else "auto") as batch:
        batch.drop_constraint(op.f(name), type_="check")
        batch.create_check_constraint(op.f(name), condition)
    if sqlite and table == "pathway_events":
        for statement in APPEND_ONLY_SQLITE:
            op.execute(statement)


def upgrade() -> None:
    op.create_table(
        "waitlist_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pathway_id", sa.Integer(), nullable=False),
        sa.Column("earliest_date", sa.Date(), nullable=True),
        sa.Column(
            "weekdays",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "times_of_day",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("min_notice_hours", sa.Integer(), nullable=False),
        sa.Column("any_clinician", sa.Boolean(), nullable=False),
        sa.Column(
            "priority",
            sa.Enum(
                "urgent",
                "soon",
                "routine",
                name="priority",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("priority_set_by_id", sa.Integer(), nullable=True),
        sa.Column("priority_set_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "min_notice_hours >= 0", name=op.f("ck_waitlist_entries_notice_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_waitlist_entries_created_by_id_users"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["pathway_id"],
            ["pathways.id"],
            name=op.f("fk_waitlist_entries_pathway_id_pathways"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["priority_set_by_id"],
            ["users.id"],
            name=op.f("fk_waitlist_entries_priority_set_by_id_users"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_waitlist_entries")),
        sa.UniqueConstraint("pathway_id", name=op.f("uq_waitlist_entries_pathway_id")),
    )
    with op.batch_alter_table("waitlist_entries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_waitlist_entries_priority_created_at"),
            ["priority", "created_at"],
            unique=False,
        )

    op.create_table(
        "vacancies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "source",
            sa.Enum(
                "cancelled",
                "moved",
                "hours",
                name="source",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "open",
                "filled",
                "unfilled",
                name="status",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("clinician_id", sa.Integer(), nullable=False),
        sa.Column("room_id", sa.Integer(), nullable=True),
        sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("freed_appointment_id", sa.Integer(), nullable=True),
        sa.Column("filled_appointment_id", sa.Integer(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("searched_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("end_at > start_at", name=op.f("ck_vacancies_end_after_start")),
        sa.ForeignKeyConstraint(
            ["clinician_id"],
            ["clinicians.id"],
            name=op.f("fk_vacancies_clinician_id_clinicians"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_vacancies_created_by_id_users"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["filled_appointment_id"],
            ["appointments.id"],
            name=op.f("fk_vacancies_filled_appointment_id_appointments"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["freed_appointment_id"],
            ["appointments.id"],
            name=op.f("fk_vacancies_freed_appointment_id_appointments"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["room_id"], ["rooms.id"], name=op.f("fk_vacancies_room_id_rooms"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_vacancies_site_id_sites"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vacancies")),
    )
    with op.batch_alter_table("vacancies", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_vacancies_site_id_created_at"), ["site_id", "created_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_vacancies_status_id"), ["status", "id"], unique=False)

    op.create_table(
        "offers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("vacancy_id", sa.Integer(), nullable=False),
        sa.Column("pathway_id", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "open",
                "accepted",
                "declined",
                "expired",
                "withdrawn",
                name="status",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("rank", sa.Integer(), nullable=False),
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
        sa.Column("hold_id", sa.String(length=32), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("appointment_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("end_at > start_at", name=op.f("ck_offers_end_after_start")),
        sa.CheckConstraint("expires_at > created_at", name=op.f("ck_offers_expires_after_created")),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointments.id"],
            name=op.f("fk_offers_appointment_id_appointments"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["clinician_id"],
            ["clinicians.id"],
            name=op.f("fk_offers_clinician_id_clinicians"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_offers_created_by_id_users"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["hold_id"], ["holds.id"], name=op.f("fk_offers_hold_id_holds"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["pathway_id"],
            ["pathways.id"],
            name=op.f("fk_offers_pathway_id_pathways"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["room_id"], ["rooms.id"], name=op.f("fk_offers_room_id_rooms"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["vacancy_id"],
            ["vacancies.id"],
            name=op.f("fk_offers_vacancy_id_vacancies"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_offers")),
    )
    with op.batch_alter_table("offers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_offers_pathway_id_status"), ["pathway_id", "status"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_offers_status_expires_at"), ["status", "expires_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_offers_vacancy_id_status"), ["vacancy_id", "status"], unique=False
        )

    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("offer_id", sa.Integer(), nullable=True))
        batch_op.alter_column("appointment_id", existing_type=sa.INTEGER(), nullable=True)
        batch_op.create_index(batch_op.f("ix_outbox_messages_offer_id"), ["offer_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_outbox_messages_offer_id_offers"),
            "offers",
            ["offer_id"],
            ["id"],
            ondelete="CASCADE",
        )

    with op.batch_alter_table("pathways", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("waitlisted", sa.Boolean(), server_default=sa.false(), nullable=False)
        )

    _replace_check(
        "outbox_messages", "ck_outbox_messages_kind", _in("kind", (*KINDS_BEFORE, "offer"))
    )
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.create_check_constraint(
            op.f("ck_outbox_messages_one_subject"), "(appointment_id IS NULL) <> (offer_id IS NULL)"
        )
    _replace_check(
        "pathway_events",
        "ck_pathway_events_trigger",
        _in("trigger", (*TRIGGERS_BEFORE, *WAITLIST_TRIGGERS)),
    )


def downgrade() -> None:
    # The waitlist's history goes with it: its events (the append-only guard is lifted for
    # that delete only), the offers' e-mails, the holds its open offers kept.
    dialect = op.get_bind().dialect.name
    events = sa.table("pathway_events", sa.column("trigger"))
    waitlist_events = events.delete().where(events.c.trigger.in_(WAITLIST_TRIGGERS))
    if dialect == "sqlite":
        op.execute("DROP TRIGGER pathway_events_no_delete")
        op.execute(waitlist_events)
        op.execute(APPEND_ONLY_SQLITE[1])
    else:
        op.execute("ALTER TABLE pathway_events DISABLE TRIGGER pathway_events_append_only")
        op.execute(waitlist_events)
        op.execute("ALTER TABLE pathway_events ENABLE TRIGGER pathway_events_append_only")
    _replace_check("pathway_events", "ck_pathway_events_trigger", _in("trigger", TRIGGERS_BEFORE))
    op.execute("DELETE FROM outbox_messages WHERE offer_id IS NOT NULL")
    op.execute(
        "DELETE FROM allocations WHERE hold_id IN (SELECT hold_id FROM offers WHERE status = 'open')"
    )
    op.execute("DELETE FROM holds WHERE id IN (SELECT hold_id FROM offers WHERE status = 'open')")
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_outbox_messages_one_subject"), type_="check")
    _replace_check("outbox_messages", "ck_outbox_messages_kind", _in("kind", KINDS_BEFORE))

    with op.batch_alter_table("pathways", schema=None) as batch_op:
        batch_op.drop_column("waitlisted")

    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_outbox_messages_offer_id_offers"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_outbox_messages_offer_id"))
        batch_op.alter_column("appointment_id", existing_type=sa.INTEGER(), nullable=False)
        batch_op.drop_column("offer_id")

    with op.batch_alter_table("offers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_offers_vacancy_id_status"))
        batch_op.drop_index(batch_op.f("ix_offers_status_expires_at"))
        batch_op.drop_index(batch_op.f("ix_offers_pathway_id_status"))

    op.drop_table("offers")
    with op.batch_alter_table("vacancies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_vacancies_status_id"))
        batch_op.drop_index(batch_op.f("ix_vacancies_site_id_created_at"))

    op.drop_table("vacancies")
    with op.batch_alter_table("waitlist_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_waitlist_entries_priority_created_at"))

    op.drop_table("waitlist_entries")
