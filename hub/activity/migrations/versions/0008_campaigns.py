"""Campaigns: the mailing, its recipient snapshot, the workers sending it.

Revision ID: 0008
Revises: 0005
Create Date: 2026-12-06 18:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _id() -> sa.Column[int]:
    return sa.Column("id", ID, autoincrement=True, nullable=False)


def upgrade() -> None:
    op.create_table(
        "campaigns",
        _id(),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("template_id", ID, nullable=False),
        sa.Column("template_version", sa.Integer(), nullable=False),
        sa.Column("segment_id", ID, nullable=True),
        sa.Column("segment", sa.JSON(), nullable=False),
        sa.Column("sender", sa.String(length=100), nullable=False),
        sa.Column("schedule", sa.String(length=16), nullable=False),
        sa.Column("send_at", sa.DateTime(), nullable=True),
        sa.Column("local_hour", sa.Integer(), nullable=True),
        sa.Column("throttle_per_s", sa.Float(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=True),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["template_id"],
            ["templates.id"],
            name=op.f("fk_campaigns_template_id_templates"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["segment_id"],
            ["segments.id"],
            name=op.f("fk_campaigns_segment_id_segments"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaigns")),
        sa.UniqueConstraint("name", name=op.f("uq_campaigns_name")),
    )
    op.create_table(
        "campaign_recipients",
        _id(),
        sa.Column("campaign_id", ID, nullable=False),
        sa.Column("contact_id", ID, nullable=True),
        sa.Column("address", sa.String(length=320), nullable=True),
        sa.Column("tz", sa.String(length=64), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("due_at", sa.DateTime(), nullable=False),
        sa.Column("worker_id", ID, nullable=True),
        sa.Column("message_id", sa.String(length=500), nullable=True),
        sa.Column("code", sa.Integer(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_recipients")),
    )
    op.create_index(
        "ix_campaign_recipients_claim", "campaign_recipients", ["campaign_id", "state", "due_at"]
    )
    op.create_index(
        "ix_campaign_recipients_campaign_id_id", "campaign_recipients", ["campaign_id", "id"]
    )
    op.create_table(
        "campaign_workers",
        _id(),
        sa.Column("host", sa.String(length=200), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("seen_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_workers")),
    )


def downgrade() -> None:
    op.drop_table("campaign_workers")
    op.drop_index("ix_campaign_recipients_campaign_id_id", table_name="campaign_recipients")
    op.drop_index("ix_campaign_recipients_claim", table_name="campaign_recipients")
    op.drop_table("campaign_recipients")
    op.drop_table("campaigns")
