"""KPI: per-owner client-base counts by day (client states, owner deltas, what is kept).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 14:00:00
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
#: What an empty store keeps from the start (must match client_base.DEFAULT_FORGOTTEN_DAYS).
MEASURES = ("fields", "forgotten:30")


def upgrade() -> None:
    op.create_table(
        "kpi_client_state",
        sa.Column("contact_id", ID, autoincrement=False, nullable=False),
        sa.Column("employee_id", ID, nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("contact_id", name=op.f("pk_kpi_client_state")),
    )
    op.create_index("ix_kpi_client_state_employee", "kpi_client_state", ["employee_id"])
    for table, period, kind in (
        ("kpi_owner_day", "day", sa.Date()),
        ("kpi_owner_month", "month", sa.String(length=7)),
    ):
        op.create_table(
            table,
            sa.Column("measure", sa.String(length=40), nullable=False),
            sa.Column(period, kind, nullable=False),
            sa.Column("employee_id", ID, autoincrement=False, nullable=False),
            sa.Column("n", sa.Integer(), nullable=False),
            sa.PrimaryKeyConstraint("measure", period, "employee_id", name=op.f(f"pk_{table}")),
            sqlite_with_rowid=False,
        )
    meta = op.create_table(
        "kpi_client_base_meta",
        sa.Column("measure", sa.String(length=40), nullable=False),
        sa.Column("built_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("measure", name=op.f("pk_kpi_client_base_meta")),
    )
    # An empty store is "built" from the start; one with contacts needs `kpi rebuild`
    # (until then KPI scans the contacts, as before).
    bind = op.get_bind()
    if bind.execute(sa.text("SELECT 1 FROM contacts LIMIT 1")).first() is None:
        stamp = datetime.now(UTC).replace(tzinfo=None)
        op.bulk_insert(meta, [{"measure": m, "built_at": stamp} for m in MEASURES])


def downgrade() -> None:
    op.drop_table("kpi_client_base_meta")
    op.drop_table("kpi_owner_month")
    op.drop_table("kpi_owner_day")
    op.drop_index("ix_kpi_client_state_employee", table_name="kpi_client_state")
    op.drop_table("kpi_client_state")
