"""Suppressions say which campaign and contact they came from and who lifted them; bounces.

Revision ID: 0011
Revises: 0005
Create Date: 2026-12-06 18:30:00

`suppressions` gains `campaign_id`, `contact_id`, `created_by` and `lifted_by`, and at
most one suppression not lifted per (channel, address) (a partial unique index: the same
unsubscribe or bounce twice adds nothing). `campaign_bounces` keeps every bounce of a
campaign recipient once: the same DSN read twice hits the unique `event_key`.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
ACTIVE = sa.text("lifted_at IS NULL")


def upgrade() -> None:
    with op.batch_alter_table("suppressions") as batch:
        batch.add_column(sa.Column("campaign_id", ID, nullable=True))
        batch.add_column(sa.Column("contact_id", ID, nullable=True))
        batch.add_column(sa.Column("created_by", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("lifted_by", sa.String(length=200), nullable=True))
    op.create_index(
        "uq_suppressions_active",
        "suppressions",
        ["channel", "address"],
        unique=True,
        sqlite_where=ACTIVE,
        postgresql_where=ACTIVE,
    )
    op.create_table(
        "campaign_bounces",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("campaign_id", ID, nullable=False),
        sa.Column("recipient_id", ID, nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=True),
        sa.Column("smtp_code", sa.Integer(), nullable=True),
        sa.Column("diagnostic", sa.Text(), nullable=True),
        sa.Column("message_id", sa.String(length=255), nullable=True),
        sa.Column("origin", sa.String(length=16), nullable=False),
        sa.Column("event_key", sa.String(length=64), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_bounces")),
        sa.UniqueConstraint("event_key", name=op.f("uq_campaign_bounces_event_key")),
    )
    op.create_index(
        "ix_campaign_bounces_campaign_recipient",
        "campaign_bounces",
        ["campaign_id", "recipient_id"],
    )


def downgrade() -> None:
    op.drop_index("ix_campaign_bounces_campaign_recipient", table_name="campaign_bounces")
    op.drop_table("campaign_bounces")
    op.drop_index("uq_suppressions_active", table_name="suppressions")
    with op.batch_alter_table("suppressions") as batch:
        batch.drop_column("lifted_by")
        batch.drop_column("created_by")
        batch.drop_column("contact_id")
        batch.drop_column("campaign_id")
