"""Who holds each single-consumer lease (host, pid, since, heartbeat), for health.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 18:20:00

The lease itself is an advisory lock (PostgreSQL) or a file lock (SQLite); this table
only says who holds it, so any process (and `touchhub health`) can show it.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "leases",
        sa.Column("name", sa.String(length=200), primary_key=True),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("since", sa.DateTime(), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("leases")
