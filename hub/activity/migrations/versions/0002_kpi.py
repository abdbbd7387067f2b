"""KPI: daily and monthly roll-ups, client-month touches, missed calls, plans, closed months.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 12:00:00
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _dims() -> list[sa.Column[Any]]:
    return [
        sa.Column("employee_id", ID, nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("direction", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("is_client", sa.Boolean(), nullable=False),
        sa.Column("has_result", sa.Boolean(), nullable=False),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("duration_s", sa.Float(), nullable=False),
        sa.Column("talk_s", sa.Float(), nullable=False),
    ]


DIM_KEY = ("employee_id", "channel", "direction", "status", "is_client", "has_result", "late")


def upgrade() -> None:
    for table, period, kind in (
        ("kpi_daily", "day", sa.Date()),
        ("kpi_monthly", "month", sa.String(length=7)),
    ):
        op.create_table(
            table,
            sa.Column("basis", sa.String(length=1), nullable=False),
            sa.Column(period, kind, nullable=False),
            *_dims(),
            sa.PrimaryKeyConstraint("basis", period, *DIM_KEY, name=op.f(f"pk_{table}")),
        )
    op.create_table(
        "kpi_contact_month",
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("employee_id", ID, nullable=False),
        sa.Column("contact_id", ID, nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "month", "employee_id", "contact_id", name=op.f("pk_kpi_contact_month")
        ),
    )
    op.create_index("ix_kpi_contact_month_contact", "kpi_contact_month", ["contact_id", "month"])
    op.create_table(
        "kpi_employee_month",
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("employee_id", ID, nullable=False),
        sa.Column("contacts", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("month", "employee_id", name=op.f("pk_kpi_employee_month")),
    )
    op.create_table(
        "kpi_contact_touch",
        sa.Column("contact_id", ID, nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("first_at", sa.DateTime(), nullable=False),
        sa.Column("last_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("contact_id", "month", name=op.f("pk_kpi_contact_touch")),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "kpi_missed_calls",
        sa.Column("activity_id", ID, nullable=False),
        sa.Column("employee_id", ID, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("contact_id", ID, nullable=True),
        sa.Column("occurred_at", sa.DateTime(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("is_client", sa.Boolean(), nullable=False),
        sa.Column("task_done", sa.Boolean(), nullable=False),
        sa.Column("answered_later", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("activity_id", name=op.f("pk_kpi_missed_calls")),
    )
    op.create_index("ix_kpi_missed_calls_day", "kpi_missed_calls", ["day", "employee_id"])
    op.create_index("ix_kpi_missed_calls_employee", "kpi_missed_calls", ["employee_id", "day"])
    op.create_index(
        "ix_kpi_missed_calls_contact", "kpi_missed_calls", ["contact_id", "occurred_at"]
    )
    # Client-base quality: "has an e-mail / a phone as of" answered from an index alone.
    op.create_index(
        "ix_identities_kpi_contact_kind", "identities", ["contact_id", "kind", "created_at"]
    )
    for column in ("due_at", "completed_at"):
        op.create_index(
            f"ix_activities_kpi_employee_{column.removesuffix('_at')}",
            "activities",
            ["employee_id", column],
            sqlite_where=sa.text(f"{column} IS NOT NULL"),
            postgresql_where=sa.text(f"{column} IS NOT NULL"),
        )
    op.create_table(
        "kpi_plans",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("employee_id", ID, nullable=False),
        sa.Column("indicator", sa.String(length=64), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("per_day", sa.Boolean(), nullable=False),
        sa.Column("set_by", sa.String(length=200), nullable=False),
        sa.Column("set_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["employee_id"],
            ["employees.id"],
            name=op.f("fk_kpi_plans_employee_id_employees"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kpi_plans")),
        sa.UniqueConstraint(
            "employee_id", "indicator", "month", name="uq_kpi_plans_employee_indicator_month"
        ),
    )
    op.create_index("ix_kpi_plans_month", "kpi_plans", ["month"])
    op.create_table(
        "kpi_plan_history",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("employee_id", ID, nullable=False),
        sa.Column("indicator", sa.String(length=64), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("old_value", sa.Float(), nullable=True),
        sa.Column("old_per_day", sa.Boolean(), nullable=True),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("per_day", sa.Boolean(), nullable=False),
        sa.Column("set_by", sa.String(length=200), nullable=False),
        sa.Column("set_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kpi_plan_history")),
    )
    op.create_index(
        "ix_kpi_plan_history_employee", "kpi_plan_history", ["employee_id", "indicator", "month"]
    )
    op.create_table(
        "kpi_closed_months",
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("closed_at", sa.DateTime(), nullable=False),
        sa.Column("closed_by", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("month", name=op.f("pk_kpi_closed_months")),
    )
    op.create_table(
        "kpi_frozen_facts",
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("employee_id", ID, nullable=False),
        sa.Column("indicator", sa.String(length=64), nullable=False),
        sa.Column("fact", sa.Float(), nullable=False),
        sa.Column("records", sa.Integer(), nullable=False),
        sa.Column("plan", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["month"],
            ["kpi_closed_months.month"],
            name=op.f("fk_kpi_frozen_facts_month_kpi_closed_months"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "month", "employee_id", "indicator", name=op.f("pk_kpi_frozen_facts")
        ),
    )


def downgrade() -> None:
    op.drop_table("kpi_frozen_facts")
    op.drop_table("kpi_closed_months")
    op.drop_index("ix_kpi_plan_history_employee", table_name="kpi_plan_history")
    op.drop_table("kpi_plan_history")
    op.drop_index("ix_kpi_plans_month", table_name="kpi_plans")
    op.drop_table("kpi_plans")
    op.drop_index("ix_identities_kpi_contact_kind", table_name="identities")
    op.drop_table("kpi_missed_calls")
    op.drop_table("kpi_contact_touch")
    op.drop_table("kpi_employee_month")
    op.drop_table("kpi_monthly")
    op.drop_index("ix_kpi_contact_month_contact", table_name="kpi_contact_month")
    op.drop_table("kpi_contact_month")
    op.drop_table("kpi_daily")
    op.drop_index("ix_activities_kpi_employee_completed", table_name="activities")
    op.drop_index("ix_activities_kpi_employee_due", table_name="activities")
