"""Call rounds: a campaign whose channel is the telephone, its settings and its call items.

Revision ID: 0013
Revises: 0011
Create Date: 2026-12-06 21:00:00

`call_rounds` keeps a round's spreading, working hours and retry rules beside its
`campaigns` row; `call_round_items` one call to make per contact of the segment, with
the employee it is given to, its due time, its attempts and the task it shows as on the
contact's timeline (decision 0052).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "call_rounds",
        sa.Column("campaign_id", ID, nullable=False),
        sa.Column("spread", sa.String(length=8), nullable=False),
        sa.Column("employees", sa.JSON(), nullable=False),
        sa.Column("starts_at", sa.DateTime(), nullable=True),
        sa.Column("day_start", sa.Integer(), nullable=False),
        sa.Column("day_end", sa.Integer(), nullable=False),
        sa.Column("call_minutes", sa.Integer(), nullable=False),
        sa.Column("retry_minutes", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_call_rounds_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("campaign_id", name=op.f("pk_call_rounds")),
    )
    op.create_table(
        "call_round_items",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("campaign_id", ID, nullable=False),
        sa.Column("contact_id", ID, nullable=False),
        sa.Column("employee_id", ID, nullable=False),
        sa.Column("activity_id", ID, nullable=True),
        sa.Column("number", sa.String(length=64), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("attempt_calls", sa.JSON(), nullable=False),
        sa.Column("due_at", sa.DateTime(), nullable=False),
        sa.Column("script", sa.Text(), nullable=False),
        sa.Column("result", sa.Text(), nullable=True),
        sa.Column("closed_by", ID, nullable=True),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call_round_items")),
        sa.UniqueConstraint(
            "campaign_id", "contact_id", name="uq_call_round_items_campaign_contact"
        ),
    )
    op.create_index(
        "ix_call_round_items_employee_state", "call_round_items", ["employee_id", "state"]
    )
    op.create_index(
        "ix_call_round_items_contact_state", "call_round_items", ["contact_id", "state"]
    )


def downgrade() -> None:
    op.drop_index("ix_call_round_items_contact_state", table_name="call_round_items")
    op.drop_index("ix_call_round_items_employee_state", table_name="call_round_items")
    op.drop_table("call_round_items")
    op.drop_table("call_rounds")
