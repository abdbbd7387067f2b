"""KPI's own tables: plans with their history, closed months and their frozen facts.

They hang on the activity store's `metadata` so one migration chain creates everything;
migration 0002 creates them (with the roll-up tables of `hub.activity.rollups.tables`).
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
)

from hub.activity.schema import Id, UTCDateTime, metadata

kpi_plans = Table(
    "kpi_plans",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("employee_id", Id, ForeignKey("employees.id", ondelete="CASCADE"), nullable=False),
    Column("indicator", String(64), nullable=False),
    Column("month", String(7), nullable=False),
    Column("value", Float, nullable=False),
    Column("per_day", Boolean, nullable=False, default=False),
    Column("set_by", String(200), nullable=False),
    Column("set_at", UTCDateTime(), nullable=False),
    UniqueConstraint(
        "employee_id", "indicator", "month", name="uq_kpi_plans_employee_indicator_month"
    ),
    Index("ix_kpi_plans_month", "month"),
)

kpi_plan_history = Table(
    "kpi_plan_history",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("employee_id", Id, nullable=False),
    Column("indicator", String(64), nullable=False),
    Column("month", String(7), nullable=False),
    Column("old_value", Float),
    Column("old_per_day", Boolean),
    Column("value", Float, nullable=False),
    Column("per_day", Boolean, nullable=False),
    Column("set_by", String(200), nullable=False),
    Column("set_at", UTCDateTime(), nullable=False),
    Index("ix_kpi_plan_history_employee", "employee_id", "indicator", "month"),
)

kpi_closed_months = Table(
    "kpi_closed_months",
    metadata,
    Column("month", String(7), primary_key=True),
    Column("closed_at", UTCDateTime(), nullable=False),
    Column("closed_by", String(200), nullable=False),
)

kpi_frozen_facts = Table(
    "kpi_frozen_facts",
    metadata,
    Column(
        "month",
        String(7),
        ForeignKey("kpi_closed_months.month", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("employee_id", Id, primary_key=True, autoincrement=False),
    Column("indicator", String(64), primary_key=True),
    Column("fact", Float, nullable=False),
    Column("records", Integer, nullable=False),
    Column("plan", Float),
)
