"""Messenger dialogs: one row per chat on an account, kept beside the activities.

Revision ID: 0007
Revises: 0005
Create Date: 2026-12-06 18:30:00

The table is a projection of the messenger activities (decision 0036): a store that
already holds messenger touches fills it with `touchhub kpi rebuild`.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "dialogs",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("counterpart", sa.String(320), nullable=False),
        sa.Column("platform", sa.String(16), nullable=False),
        sa.Column(
            "contact_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            sa.ForeignKey(
                "contacts.id", ondelete="SET NULL", name="fk_dialogs_contact_id_contacts"
            ),
        ),
        sa.Column("messages", sa.Integer(), nullable=False),
        sa.Column("last_at", sa.DateTime(), nullable=False),
        sa.Column("last_direction", sa.String(16), nullable=False),
        sa.Column("last_preview", sa.Text()),
        sa.Column("last_in_at", sa.DateTime()),
        sa.Column("last_out_at", sa.DateTime()),
        sa.Column("waiting_since", sa.DateTime()),
        sa.Column("unread", sa.Integer(), nullable=False),
        sa.Column("read_at", sa.DateTime()),
        sa.Column("reminder_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite")),
        sa.PrimaryKeyConstraint("id", name="pk_dialogs"),
        sa.UniqueConstraint("source", "counterpart", name="uq_dialogs_source_counterpart"),
    )
    op.create_index("ix_dialogs_last_at", "dialogs", ["last_at", "id"])
    op.create_index("ix_dialogs_contact_id", "dialogs", ["contact_id"])
    op.create_index("ix_dialogs_waiting_since", "dialogs", ["waiting_since"])


def downgrade() -> None:
    op.drop_table("dialogs")
