"""Outbox messages, stable invite UIDs, clinicians' feed tokens

Every appointment gets the random UID its patient's calendar knows it by (existing
appointments get one here); the outbox holds the e-mails written with each booking,
move and cancellation; a clinician's feed token is kept only as its SHA-256 digest.

Revision ID: c4e81d2a7f90
Revises: b58311b2a04e
Create Date: 2026-11-25 11:05:00.000000
"""

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c4e81d2a7f90"
down_revision: str | None = "b58311b2a04e"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "outbox_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("appointment_id", sa.Integer(), nullable=False),
        sa.Column("appointment_version", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "request",
                "cancel",
                "reminder",
                name="kind",
                native_enum=False,
                create_constraint=True,
                length=8,
            ),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "sent",
                "dead",
                "superseded",
                name="status",
                native_enum=False,
                create_constraint=True,
                length=10,
            ),
            nullable=False,
        ),
        sa.Column("deliver_after", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("message_key", sa.String(length=32), nullable=False),
        sa.Column("last_error", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_outbox_messages_attempts_not_negative")),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointments.id"],
            name=op.f("fk_outbox_messages_appointment_id_appointments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_messages")),
        sa.UniqueConstraint("message_key", name=op.f("uq_outbox_messages_message_key")),
    )
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_outbox_messages_appointment_id"), ["appointment_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_outbox_messages_status_deliver_after"),
            ["status", "deliver_after"],
            unique=False,
        )

    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ical_uid", sa.String(length=64), nullable=True))
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":  # PostgreSQL 13+ has gen_random_uuid() built in
        op.execute("UPDATE appointments SET ical_uid = gen_random_uuid()::text")
    else:
        ids = bind.execute(sa.text("SELECT id FROM appointments")).scalars().all()
        if ids:
            bind.execute(
                sa.text("UPDATE appointments SET ical_uid = :uid WHERE id = :id"),
                [{"id": ident, "uid": str(uuid.uuid4())} for ident in ids],
            )
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.alter_column("ical_uid", existing_type=sa.String(length=64), nullable=False)
        batch_op.create_index(batch_op.f("ix_appointments_ical_uid"), ["ical_uid"], unique=True)

    with op.batch_alter_table("clinicians", schema=None) as batch_op:
        batch_op.add_column(sa.Column("feed_token_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column("feed_token_created_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.create_index(
            batch_op.f("ix_clinicians_feed_token_hash"), ["feed_token_hash"], unique=True
        )


def downgrade() -> None:
    with op.batch_alter_table("clinicians", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_clinicians_feed_token_hash"))
        batch_op.drop_column("feed_token_created_at")
        batch_op.drop_column("feed_token_hash")

    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_appointments_ical_uid"))
        batch_op.drop_column("ical_uid")

    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_messages_status_deliver_after"))
        batch_op.drop_index(batch_op.f("ix_outbox_messages_appointment_id"))

    op.drop_table("outbox_messages")
