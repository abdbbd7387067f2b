"""KPI plans and closed months: their tables and every write to them.

Plans (with the history of each change) and closed months (with the facts frozen when
they closed) are decisions people make about KPI; they live beside the store's other
writes, each write one transaction opened here. `kpi/` reads these tables (its
`queries`) and computes what to write; migration 0002 creates them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

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
    and_,
    delete,
    select,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from hub.activity import generation
from hub.activity.schema import Id, UTCDateTime, metadata
from hub.errors import Conflict

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


@dataclass(frozen=True, slots=True)
class PlanRow:
    """One stored plan: a month's value, or a per-day norm."""

    employee_id: int
    indicator: str
    month: str
    value: float
    per_day: bool
    set_by: str
    set_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class FrozenFact:
    """One employee × indicator of a month as it was when the month closed."""

    employee_id: int
    indicator: str
    fact: float
    records: int
    plan: float | None


def _month_closed(month: str) -> Conflict:
    return Conflict(f"month {month} is closed; its plans are frozen", field="month")


async def is_closed(conn: AsyncConnection, month: str) -> bool:
    """SELECT 1 FROM kpi_closed_months WHERE month = :month."""
    found = await conn.scalar(
        select(kpi_closed_months.c.month).where(kpi_closed_months.c.month == month)
    )
    return found is not None


async def save_plans(engine: AsyncEngine, plans: Sequence[PlanRow]) -> list[PlanRow | None]:
    """Insert or replace each plan and append the change to kpi_plan_history, in one
    transaction; returns the plan each replaced (None where there was none).

    A closed month's plans are frozen: a plan for one is a `ValidationError`, checked in
    the same transaction so a month closing meanwhile cannot slip a change in."""
    async with engine.begin() as conn:
        for month in dict.fromkeys(p.month for p in plans):
            if await is_closed(conn, month):
                raise _month_closed(month)
        replaced = [await _save_plan(conn, plan) for plan in plans]
        await generation.bump(conn)
        return replaced


async def _save_plan(conn: AsyncConnection, plan: PlanRow) -> PlanRow | None:
    p = kpi_plans.c
    key = and_(
        p.employee_id == plan.employee_id, p.indicator == plan.indicator, p.month == plan.month
    )
    old = (await conn.execute(select(p.value, p.per_day, p.set_by, p.set_at).where(key))).first()
    values = {
        "value": plan.value,
        "per_day": plan.per_day,
        "set_by": plan.set_by,
        "set_at": plan.set_at,
    }
    if old is None:
        await conn.execute(
            kpi_plans.insert().values(
                employee_id=plan.employee_id, indicator=plan.indicator, month=plan.month, **values
            )
        )
    else:
        await conn.execute(kpi_plans.update().where(key).values(**values))
    await conn.execute(
        kpi_plan_history.insert().values(
            employee_id=plan.employee_id,
            indicator=plan.indicator,
            month=plan.month,
            old_value=None if old is None else old.value,
            old_per_day=None if old is None else old.per_day,
            **values,
        )
    )
    if old is None:
        return None
    return PlanRow(
        plan.employee_id,
        plan.indicator,
        plan.month,
        float(old.value),
        bool(old.per_day),
        old.set_by,
        old.set_at,
    )


async def freeze_month(
    engine: AsyncEngine,
    month: str,
    closed_at: datetime,
    closed_by: str,
    facts: Sequence[FrozenFact],
    *,
    again: bool = False,
) -> None:
    """Record the month as closed with its facts, in one transaction; `again` replaces
    an earlier close of it, otherwise an earlier close is a `Conflict`."""
    async with engine.begin() as conn:
        if not again and await is_closed(conn, month):
            raise Conflict(f"month {month} is already closed", field="month")
        await conn.execute(delete(kpi_frozen_facts).where(kpi_frozen_facts.c.month == month))
        await conn.execute(delete(kpi_closed_months).where(kpi_closed_months.c.month == month))
        await conn.execute(
            kpi_closed_months.insert().values(month=month, closed_at=closed_at, closed_by=closed_by)
        )
        if facts:
            await conn.execute(
                kpi_frozen_facts.insert(),
                [
                    {
                        "month": month,
                        "employee_id": f.employee_id,
                        "indicator": f.indicator,
                        "fact": f.fact,
                        "records": f.records,
                        "plan": f.plan,
                    }
                    for f in facts
                ],
            )
        await generation.bump(conn)
