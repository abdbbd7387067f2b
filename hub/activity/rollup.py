"""Daily roll-ups of activities, kept in the same transaction as the activity writes.

`kpi_daily` counts activities per company-local day, employee and every dimension an
indicator may filter on; each activity is counted once per time it carries (occurred,
completed, due: the `basis`). `kpi_contact_month` keeps who touched which client in
which local month, so distinct-client counts need no scan of the month's activities.
`adjust` moves counts from old rows to new ones; `rebuild` recomputes from scratch.
Local days come from `zoneinfo` in Python and from the same UTC-offset intervals in
SQL, so both agree to the second across DST changes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Boolean,
    Column,
    ColumnElement,
    Date,
    Float,
    Index,
    Integer,
    String,
    Table,
    and_,
    bindparam,
    case,
    cast,
    delete,
    func,
    literal,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.activity.schema import Id, activities, metadata
from hub.model import Channel, Status

#: Where a roll-up row's day comes from.
BASIS_COLUMNS: dict[str, str] = {"o": "occurred_at", "c": "completed_at", "d": "due_at"}
#: Employee id used for activities with no employee (primary keys cannot be NULL).
NO_EMPLOYEE = 0

#: A client touch: a call, letter, SMS, messenger message or meeting that really happened.
TOUCH_CHANNELS: frozenset[str] = frozenset(
    {Channel.CALL, Channel.EMAIL, Channel.SMS, Channel.MESSENGER, Channel.MEETING}
)
NOT_A_TOUCH_STATUSES: frozenset[str] = frozenset(
    {Status.PLANNED, Status.CANCELLED, Status.QUEUED, Status.FAILED, Status.BOUNCED}
)

kpi_daily = Table(
    "kpi_daily",
    metadata,
    Column("basis", String(1), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("employee_id", Id, primary_key=True, autoincrement=False),
    Column("channel", String(16), primary_key=True),
    Column("direction", String(16), primary_key=True),
    Column("status", String(16), primary_key=True),
    Column("is_client", Boolean, primary_key=True),
    Column("has_result", Boolean, primary_key=True),
    Column("late", Boolean, primary_key=True),
    Column("n", Integer, nullable=False),
    Column("duration_s", Float, nullable=False),
    Column("talk_s", Float, nullable=False),
)

kpi_contact_month = Table(
    "kpi_contact_month",
    metadata,
    Column("month", String(7), primary_key=True),
    Column("employee_id", Id, primary_key=True, autoincrement=False),
    Column("contact_id", Id, primary_key=True, autoincrement=False),
    Column("n", Integer, nullable=False),
    Index("ix_kpi_contact_month_contact", "contact_id", "month"),
)

#: Drill-downs by due and completion time (overdue, completed interactions) without a scan
#: of the employee's whole history; partial, so they cost nothing for calls and letters.
KPI_ACTIVITY_INDEXES = (
    Index(
        "ix_activities_kpi_employee_due",
        activities.c.employee_id,
        activities.c.due_at,
        sqlite_where=activities.c.due_at.is_not(None),
        postgresql_where=activities.c.due_at.is_not(None),
    ),
    Index(
        "ix_activities_kpi_employee_completed",
        activities.c.employee_id,
        activities.c.completed_at,
        sqlite_where=activities.c.completed_at.is_not(None),
        postgresql_where=activities.c.completed_at.is_not(None),
    ),
)

_DAILY_KEY = (
    "basis",
    "day",
    "employee_id",
    "channel",
    "direction",
    "status",
    "is_client",
    "has_result",
    "late",
)
_MONTH_KEY = ("month", "employee_id", "contact_id")


def is_touch(channel: str, direction: str, status: str, is_client: bool) -> bool:
    """Whether an activity is a client touch (the numerator of touches per client)."""
    return (
        bool(is_client)
        and channel in TOUCH_CHANNELS
        and direction in ("in", "out")
        and status not in NOT_A_TOUCH_STATUSES
    )


def touch_clause(table: Table = activities) -> ColumnElement[bool]:
    """`is_touch` as SQL on the activities table."""
    return and_(
        table.c.is_client.is_(True),
        table.c.channel.in_(sorted(TOUCH_CHANNELS)),
        table.c.direction.in_(["in", "out"]),
        table.c.status.not_in(sorted(NOT_A_TOUCH_STATUSES)),
    )


def has_result(result: Any) -> bool:
    """A recorded result is a non-empty one."""
    return bool(result)


def is_late(completed_at: datetime | None, due_at: datetime | None) -> bool:
    """Completed after it was due."""
    return completed_at is not None and due_at is not None and _aware(completed_at) > _aware(due_at)


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def day_of(instant: datetime, tz: ZoneInfo) -> date:
    """The company-local day of an instant (naive values are UTC, as stored)."""
    return _aware(instant).astimezone(tz).date()


def _daily_keys(row: Mapping[str, Any], tz: ZoneInfo) -> Iterable[tuple[Any, ...]]:
    employee = row.get("employee_id") or NO_EMPLOYEE
    result_flag = has_result(row.get("result"))
    late = is_late(row.get("completed_at"), row.get("due_at"))
    for basis, column in BASIS_COLUMNS.items():
        instant = row.get(column)
        if instant is None:
            continue
        yield (
            basis,
            day_of(instant, tz),
            employee,
            row["channel"],
            row["direction"],
            row["status"],
            bool(row["is_client"]),
            result_flag,
            late,
        )


def _month_key(row: Mapping[str, Any], tz: ZoneInfo) -> tuple[str, int, int] | None:
    if row.get("contact_id") is None or not is_touch(
        row["channel"], row["direction"], row["status"], row["is_client"]
    ):
        return None
    day = day_of(row["occurred_at"], tz)
    return (
        f"{day.year:04d}-{day.month:02d}",
        row.get("employee_id") or NO_EMPLOYEE,
        row["contact_id"],
    )


def _insert(conn: AsyncConnection, table: Table) -> postgresql.Insert | sqlite.Insert:
    return postgresql.insert(table) if conn.dialect.name == "postgresql" else sqlite.insert(table)


async def adjust(
    conn: AsyncConnection,
    removed: Sequence[Mapping[str, Any]],
    added: Sequence[Mapping[str, Any]],
    tz: ZoneInfo,
) -> None:
    """Move roll-up counts from `removed` rows to `added` rows, in the caller's transaction."""
    if not removed and not added:
        return
    daily: dict[tuple[Any, ...], list[float]] = defaultdict(lambda: [0, 0.0, 0.0])
    months: dict[tuple[str, int, int], int] = defaultdict(int)
    for sign, rows in ((-1, removed), (1, added)):
        for row in rows:
            duration = float(row.get("duration_s") or 0.0) * sign
            talk = float(row.get("talk_s") or 0.0) * sign
            for key in _daily_keys(row, tz):
                acc = daily[key]
                acc[0] += sign
                acc[1] += duration
                acc[2] += talk
            month_key = _month_key(row, tz)
            if month_key is not None:
                months[month_key] += sign
    daily_rows = [
        dict(zip(_DAILY_KEY, key, strict=True), n=int(acc[0]), duration_s=acc[1], talk_s=acc[2])
        for key, acc in sorted(daily.items())
        if acc[0] or acc[1] or acc[2]
    ]
    month_rows = [
        dict(zip(_MONTH_KEY, key, strict=True), n=n) for key, n in sorted(months.items()) if n
    ]
    if daily_rows:
        stmt = _insert(conn, kpi_daily)
        stmt = stmt.on_conflict_do_update(
            index_elements=list(_DAILY_KEY),
            set_={
                "n": kpi_daily.c.n + stmt.excluded.n,
                "duration_s": kpi_daily.c.duration_s + stmt.excluded.duration_s,
                "talk_s": kpi_daily.c.talk_s + stmt.excluded.talk_s,
            },
        )
        await conn.execute(stmt, daily_rows)
    if month_rows:
        mstmt = _insert(conn, kpi_contact_month)
        mstmt = mstmt.on_conflict_do_update(
            index_elements=list(_MONTH_KEY), set_={"n": kpi_contact_month.c.n + mstmt.excluded.n}
        )
        await conn.execute(mstmt, month_rows)
    if removed:
        await _drop_empty(conn, daily_rows, month_rows)


async def _drop_empty(
    conn: AsyncConnection, daily_rows: list[dict[str, Any]], month_rows: list[dict[str, Any]]
) -> None:
    """Delete the touched roll-up rows whose count fell to zero, so they cost no scans."""
    shrunk = [{f"k_{k}": r[k] for k in _DAILY_KEY} for r in daily_rows if r["n"] < 0]
    if shrunk:
        await conn.execute(
            delete(kpi_daily).where(
                and_(
                    *(kpi_daily.c[k] == bindparam(f"k_{k}") for k in _DAILY_KEY), kpi_daily.c.n <= 0
                )
            ),
            shrunk,
        )
    gone = [{f"k_{k}": r[k] for k in _MONTH_KEY} for r in month_rows if r["n"] < 0]
    if gone:
        await conn.execute(
            delete(kpi_contact_month).where(
                and_(
                    *(kpi_contact_month.c[k] == bindparam(f"k_{k}") for k in _MONTH_KEY),
                    kpi_contact_month.c.n <= 0,
                )
            ),
            gone,
        )


# -- rebuild ---------------------------------------------------------------------------


def offset_intervals(
    tz: ZoneInfo, start: datetime, end: datetime
) -> list[tuple[datetime | None, int]]:
    """UTC offsets of `tz` over [start, end): [(until_instant, offset_seconds)], last until None."""
    start, end = _aware(start), _aware(end)

    def offset(at: datetime) -> int:
        delta = at.astimezone(tz).utcoffset()
        return int(delta.total_seconds()) if delta is not None else 0

    result: list[tuple[datetime | None, int]] = []
    current = offset(start)
    cursor = start
    step = timedelta(days=1)
    while cursor < end:
        nxt = min(cursor + step, end)
        if offset(nxt) != current:
            low, high = cursor, nxt  # offset(low) == current != offset(high)
            while high - low > timedelta(seconds=1):
                mid = low + (high - low) / 2
                if offset(mid) == current:
                    low = mid
                else:
                    high = mid
            boundary = high.replace(microsecond=0)
            if offset(boundary) == current:
                boundary += timedelta(seconds=1)
            result.append((boundary, current))
            current = offset(boundary)
            cursor = boundary
        else:
            cursor = nxt
    result.append((None, current))
    return result


def _offset_case(column: Any, intervals: list[tuple[datetime | None, int]]) -> ColumnElement[Any]:
    """The UTC offset (seconds) in force at `column`, as a SQL CASE."""
    if len(intervals) == 1:
        return literal(intervals[0][1])
    whens = [(column < until, off) for until, off in intervals if until is not None]
    return case(*whens, else_=intervals[-1][1])


def local_day_sql(
    conn: AsyncConnection, column: Any, intervals: list[tuple[datetime | None, int]]
) -> Any:
    """SQL for the company-local day of a stored UTC time (the same as `day_of`)."""
    offset = _offset_case(column, intervals)
    if conn.dialect.name == "postgresql":
        return cast(column + func.make_interval(0, 0, 0, 0, 0, 0, offset), Date)
    # SQLite rounds fractional seconds to milliseconds, which can cross midnight: cut them.
    modifier = func.printf("%+d seconds", offset)
    return func.date(func.substr(column, 1, 19), modifier)


def _month_sql(conn: AsyncConnection, day: Any) -> Any:
    if conn.dialect.name == "postgresql":
        return func.to_char(day, "YYYY-MM")
    return func.substr(day, 1, 7)


async def _intervals(
    conn: AsyncConnection, tz: ZoneInfo
) -> list[tuple[datetime | None, int]] | None:
    bounds = (
        await conn.execute(
            select(
                func.min(activities.c.occurred_at),
                func.max(activities.c.occurred_at),
                func.min(activities.c.completed_at),
                func.max(activities.c.completed_at),
                func.min(activities.c.due_at),
                func.max(activities.c.due_at),
            )
        )
    ).one()
    values = [v for v in bounds if v is not None]
    if not values:
        return None
    return offset_intervals(tz, min(values) - timedelta(days=2), max(values) + timedelta(days=2))


async def rebuild(conn: AsyncConnection, tz: ZoneInfo) -> int:
    """Recompute every roll-up from the activities; returns the number of roll-up rows."""
    await conn.execute(delete(kpi_daily))
    await conn.execute(delete(kpi_contact_month))
    intervals = await _intervals(conn, tz)
    if intervals is None:
        return 0
    a = activities.c
    result_flag = and_(a.result.is_not(None), a.result != "")
    late = and_(a.completed_at.is_not(None), a.due_at.is_not(None), a.completed_at > a.due_at)
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
                result_flag.label("has_result"),
                late.label("late"),
                func.coalesce(a.duration_s, 0.0).label("duration_s"),
                func.coalesce(a.talk_s, 0.0).label("talk_s"),
            )
            .where(when.is_not(None))
            .subquery()
        )
        dims = [
            inner.c.day,
            inner.c.employee_id,
            inner.c.channel,
            inner.c.direction,
            inner.c.status,
            inner.c.is_client,
            inner.c.has_result,
            inner.c.late,
        ]
        query = select(
            literal(basis).label("basis"),
            *dims,
            func.count().label("n"),
            func.sum(inner.c.duration_s),
            func.sum(inner.c.talk_s),
        ).group_by(*dims)
        await conn.execute(
            kpi_daily.insert().from_select(
                [
                    "basis",
                    "day",
                    "employee_id",
                    "channel",
                    "direction",
                    "status",
                    "is_client",
                    "has_result",
                    "late",
                    "n",
                    "duration_s",
                    "talk_s",
                ],
                query,
            )
        )
    day = local_day_sql(conn, a.occurred_at, intervals)
    inner = (
        select(
            _month_sql(conn, day).label("month"),
            func.coalesce(a.employee_id, NO_EMPLOYEE).label("employee_id"),
            a.contact_id,
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
    counted = [
        await conn.scalar(select(func.count()).select_from(t))
        for t in (kpi_daily, kpi_contact_month)
    ]
    return sum(int(c or 0) for c in counted)
