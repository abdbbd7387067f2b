"""The KPI roll-ups recomputed from the activities, in SQL (`touchhub kpi rebuild`)."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, delete, false, func, literal, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.activity.rollups.localtime import Intervals, local_day_sql, month_sql, offset_intervals
from hub.activity.rollups.rules import (
    answered_call_clause,
    callback_for_column,
    completed_callback_clause,
    has_result_clause,
    late_clause,
    missed_call_clause,
    touch_clause,
)
from hub.activity.rollups.tables import (
    BASIS_COLUMNS,
    DAILY_KEY,
    DIM_KEY,
    MISSED_COLUMNS,
    MONTHLY_KEY,
    NO_EMPLOYEE,
    ROLLUP_TABLES,
    kpi_contact_month,
    kpi_contact_touch,
    kpi_daily,
    kpi_employee_month,
    kpi_missed_calls,
    kpi_monthly,
)
from hub.activity.schema import activities


async def activity_intervals(conn: AsyncConnection, tz: ZoneInfo) -> Intervals | None:
    """The zone's offset intervals over every time the activities hold (None: no activity)."""
    a = activities.c
    bounds = (
        await conn.execute(
            select(
                func.min(a.occurred_at),
                func.max(a.occurred_at),
                func.min(a.completed_at),
                func.max(a.completed_at),
                func.min(a.due_at),
                func.max(a.due_at),
            )
        )
    ).one()
    values = [v for v in bounds if v is not None]
    if not values:
        return None
    return offset_intervals(tz, min(values) - timedelta(days=2), max(values) + timedelta(days=2))


async def rebuild(conn: AsyncConnection, tz: ZoneInfo) -> int:
    """Recompute every roll-up from the activities; returns the number of roll-up rows."""
    for table in ROLLUP_TABLES:
        await conn.execute(delete(table))
    intervals = await activity_intervals(conn, tz)
    if intervals is None:
        return 0
    await _rebuild_daily(conn, intervals)
    await _rebuild_contacts(conn, intervals)
    await _rebuild_missed(conn, intervals)
    counted = [await conn.scalar(select(func.count()).select_from(t)) for t in ROLLUP_TABLES]
    return sum(int(c or 0) for c in counted)


async def _rebuild_daily(conn: AsyncConnection, intervals: Intervals) -> None:
    a = activities.c
    for basis, column in BASIS_COLUMNS.items():
        when = a[column]
        inner = (
            select(
                local_day_sql(conn, when, intervals).label("day"),
                func.coalesce(a.employee_id, NO_EMPLOYEE).label("employee_id"),
                a.channel,
                a.direction,
                a.status,
                a.is_client,
                has_result_clause().label("has_result"),
                late_clause().label("late"),
                func.coalesce(a.duration_s, 0.0).label("duration_s"),
                func.coalesce(a.talk_s, 0.0).label("talk_s"),
            )
            .where(when.is_not(None))
            .subquery()
        )
        dims = [inner.c[name] for name in ("day", *DIM_KEY)]
        query = select(
            literal(basis).label("basis"),
            *dims,
            func.count().label("n"),
            func.sum(inner.c.duration_s),
            func.sum(inner.c.talk_s),
        ).group_by(*dims)
        await conn.execute(
            kpi_daily.insert().from_select([*DAILY_KEY, "n", "duration_s", "talk_s"], query)
        )
    d = kpi_daily.c
    month = month_sql(conn, d.day)
    month_dims = [d.basis, month, *(d[name] for name in DIM_KEY)]
    await conn.execute(
        kpi_monthly.insert().from_select(
            [*MONTHLY_KEY, "n", "duration_s", "talk_s"],
            select(*month_dims, func.sum(d.n), func.sum(d.duration_s), func.sum(d.talk_s)).group_by(
                *month_dims
            ),
        )
    )


async def _rebuild_contacts(conn: AsyncConnection, intervals: Intervals) -> None:
    a = activities.c
    day = local_day_sql(conn, a.occurred_at, intervals)
    inner = (
        select(
            month_sql(conn, day).label("month"),
            func.coalesce(a.employee_id, NO_EMPLOYEE).label("employee_id"),
            a.contact_id,
            a.occurred_at,
        )
        .where(and_(touch_clause(), a.contact_id.is_not(None)))
        .subquery()
    )
    query = select(inner.c.month, inner.c.employee_id, inner.c.contact_id, func.count()).group_by(
        inner.c.month, inner.c.employee_id, inner.c.contact_id
    )
    await conn.execute(
        kpi_contact_month.insert().from_select(["month", "employee_id", "contact_id", "n"], query)
    )
    cm = kpi_contact_month.c
    await conn.execute(
        kpi_employee_month.insert().from_select(
            ["month", "employee_id", "contacts"],
            select(cm.month, cm.employee_id, func.count()).group_by(cm.month, cm.employee_id),
        )
    )
    await conn.execute(
        kpi_contact_touch.insert().from_select(
            ["contact_id", "month", "n", "first_at", "last_at"],
            select(
                inner.c.contact_id,
                inner.c.month,
                func.count(),
                func.min(inner.c.occurred_at),
                func.max(inner.c.occurred_at),
            ).group_by(inner.c.contact_id, inner.c.month),
        )
    )


async def _rebuild_missed(conn: AsyncConnection, intervals: Intervals) -> None:
    a = activities.c
    await conn.execute(
        kpi_missed_calls.insert().from_select(
            list(MISSED_COLUMNS),
            select(
                a.id,
                func.coalesce(a.employee_id, NO_EMPLOYEE),
                local_day_sql(conn, a.occurred_at, intervals),
                a.contact_id,
                a.occurred_at,
                a.status,
                a.is_client,
                false(),
                false(),
            ).where(missed_call_clause()),
        )
    )
    m = kpi_missed_calls.c
    task = activities.alias("task")
    call = kpi_missed_calls.alias("call")
    done = (
        select(call.c.activity_id)
        .select_from(task)
        .join(call, call.c.activity_id == callback_for_column(task))
        .where(
            and_(
                completed_callback_clause(task),
                task.c.contact_id == call.c.contact_id,
                task.c.occurred_at >= call.c.occurred_at,
            )
        )
    )
    await conn.execute(
        update(kpi_missed_calls).where(m.activity_id.in_(done)).values(task_done=True)
    )
    last = (
        select(a.contact_id.label("contact_id"), func.max(a.occurred_at).label("at"))
        .where(answered_call_clause())
        .group_by(a.contact_id)
        .subquery("last_answered")
    )
    await conn.execute(
        update(kpi_missed_calls)
        .where(and_(m.contact_id == last.c.contact_id, m.occurred_at < last.c.at))
        .values(answered_later=True)
    )
