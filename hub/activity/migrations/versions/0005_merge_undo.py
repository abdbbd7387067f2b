"""Contact merges remember who made them and whether they were undone.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 16:30:00

What a merge moved (identity, activity and participant ids, the fields it filled) is
kept in the existing `detail` JSON; these columns say who merged and who undid it.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("contact_merges") as batch:
        batch.add_column(sa.Column("merged_by", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("undone_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("undone_by", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("contact_merges") as batch:
        batch.drop_column("undone_by")
        batch.drop_column("undone_at")
        batch.drop_column("merged_by")
