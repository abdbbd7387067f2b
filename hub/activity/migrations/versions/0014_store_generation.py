"""The store's generation: one row every committed write raises by one.

Revision ID: 0014
Revises: 0011
Create Date: 2026-12-06 21:00:00

`store_generation` holds a single row (id 1). Every write transaction of the store
raises its `value` just before it commits (`hub.activity.generation`), so a reader that
keys a cached answer by the value it read computes again after any write, in this
process or another one (decision 0062).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    table = op.create_table(
        "store_generation",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_store_generation")),
    )
    op.bulk_insert(table, [{"id": 1, "value": 0}])


def downgrade() -> None:
    op.drop_table("store_generation")
