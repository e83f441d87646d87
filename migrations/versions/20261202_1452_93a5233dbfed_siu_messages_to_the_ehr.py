"""SIU messages to the EHR and their deliveries

Two new tables: ``siu_messages`` (one per change of an appointment, its HL7 v2 text
built when the change was written) and ``siu_deliveries`` (one per message and
receiver: status, attempts, next attempt, the receiver's ACK code, the last error). No
existing row changes. The downgrade drops both tables (what was queued or sent is lost;
the appointments stay).

Revision ID: 93a5233dbfed
Revises: 7b4a4e8a4b8b
Create Date: 2026-12-02 14:52:22.994159
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "93a5233dbfed"
down_revision: str | None = "7b4a4e8a4b8b"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "siu_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("appointment_id", sa.Integer(), nullable=False),
        sa.Column(
            "event",
            sa.Enum(
                "S12",
                "S13",
                "S14",
                "S15",
                "S26",
                name="event",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("control_id", sa.String(length=20), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointments.id"],
            name=op.f("fk_siu_messages_appointment_id_appointments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_siu_messages")),
        sa.UniqueConstraint("control_id", name=op.f("uq_siu_messages_control_id")),
    )
    with op.batch_alter_table("siu_messages", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_siu_messages_appointment_id"), ["appointment_id"], unique=False
        )

    op.create_table(
        "siu_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("appointment_id", sa.Integer(), nullable=False),
        sa.Column("receiver", sa.String(length=40), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "sent",
                "rejected",
                "dead",
                name="status",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ack_code", sa.String(length=2), nullable=True),
        sa.Column("last_error", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_siu_deliveries_attempts_not_negative")),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointments.id"],
            name=op.f("fk_siu_deliveries_appointment_id_appointments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["siu_messages.id"],
            name=op.f("fk_siu_deliveries_message_id_siu_messages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_siu_deliveries")),
        sa.UniqueConstraint(
            "message_id", "receiver", name=op.f("uq_siu_deliveries_message_id_receiver")
        ),
    )
    with op.batch_alter_table("siu_deliveries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_siu_deliveries_receiver_appointment_id_status"),
            ["receiver", "appointment_id", "status"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_siu_deliveries_status_next_attempt_at"),
            ["status", "next_attempt_at"],
            unique=False,
        )


def downgrade() -> None:
    op.drop_table("siu_deliveries")
    op.drop_table("siu_messages")
