"""The KPI roll-ups moved by rows a transaction changed, in that transaction.

`adjust(conn, removed, added, tz)` moves counts from old rows to new ones: the deltas are
summed in Python (`deltas.py`) and written with one upsert per table; rows are only
deleted when a removal empties them. Where a removal may change a minimum, a maximum or
an existence flag, the affected keys are recomputed from the activities, which must
already hold the `added` state.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Table, and_, bindparam, delete, false, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.activity import bulk
from hub.activity.rollups.deltas import KpiDeltas
from hub.activity.rollups.localtime import day_of, month_bounds, month_key
from hub.activity.rollups.rules import answered_later_clause, callback_done_clause, touch_clause
from hub.activity.rollups.tables import (
    CONTACT_MONTH_KEY,
    DAILY_KEY,
    MISSED_COLUMNS,
    MONTHLY_KEY,
    kpi_contact_month,
    kpi_contact_touch,
    kpi_daily,
    kpi_employee_month,
    kpi_missed_calls,
    kpi_monthly,
)
from hub.activity.schema import activities

_CHUNK = 500


def _insert(conn: AsyncConnection, table: Table) -> postgresql.Insert | sqlite.Insert:
    return postgresql.insert(table) if conn.dialect.name == "postgresql" else sqlite.insert(table)


def _least(conn: AsyncConnection, a: Any, b: Any) -> Any:
    return func.least(a, b) if conn.dialect.name == "postgresql" else func.min(a, b)


def _greatest(conn: AsyncConnection, a: Any, b: Any) -> Any:
    return func.greatest(a, b) if conn.dialect.name == "postgresql" else func.max(a, b)


_STATEMENTS: dict[tuple[str, str], Any] = {}


def _statement(conn: AsyncConnection, name: str, build: Callable[[], Any]) -> Any:
    """A write statement built once per dialect (building an upsert costs ~0.5 ms)."""
    key = (conn.dialect.name, name)
    stmt = _STATEMENTS.get(key)
    if stmt is None:
        stmt = _STATEMENTS[key] = build()
    return stmt


async def adjust(
    conn: AsyncConnection,
    removed: Sequence[Mapping[str, Any]],
    added: Sequence[Mapping[str, Any]],
    tz: ZoneInfo,
) -> None:
    """Move roll-up counts from `removed` rows to `added` rows, in the caller's transaction.

    The activities must already hold the `added` state (callers write, then adjust).
    """
    if not removed and not added:
        return
    deltas = KpiDeltas.of(removed, added, tz)
    daily, monthly = deltas.count_rows()
    await _upsert_counts(conn, kpi_daily, DAILY_KEY, daily)
    await _upsert_counts(conn, kpi_monthly, MONTHLY_KEY, monthly)
    await _adjust_contact_month(conn, deltas)
    await _adjust_contact_touch(conn, deltas)
    await _adjust_missed(conn, deltas)


async def _upsert_counts(
    conn: AsyncConnection, table: Table, names: Sequence[str], rows: list[dict[str, Any]]
) -> None:
    if not rows:
        return

    def build() -> Any:
        stmt = _insert(conn, table)
        return stmt.on_conflict_do_update(
            index_elements=list(names),
            set_={
                "n": table.c.n + stmt.excluded.n,
                "duration_s": table.c.duration_s + stmt.excluded.duration_s,
                "talk_s": table.c.talk_s + stmt.excluded.talk_s,
            },
        )

    await bulk.executemany(conn, ("rollup", table.name), build, rows)


_CONTACT_MONTH_SQLITE = (
    "INSERT INTO kpi_contact_month (month, employee_id, contact_id, n) VALUES {values} "
    "ON CONFLICT (month, employee_id, contact_id) DO UPDATE SET n = kpi_contact_month.n + excluded.n "
    "RETURNING month, employee_id, contact_id, n"
)
#: Rows per multi-row upsert: 4 parameters each, well under SQLite's 32,766 variables.
_CONTACT_MONTH_ROWS = 2000


async def _contact_month_sqlite(
    conn: AsyncConnection, changed: Sequence[tuple[tuple[str, int, int], int]]
) -> list[Any]:
    """The contact-month upsert as multi-row VALUES with plain parameters.

    Through `conn.execute` SQLAlchemy processes every row's parameters and splits the
    rows into VALUES batches itself, about as long as SQLite needs to run them; the
    values here are plain strings and integers, so they are bound as they are.
    """
    returned: list[Any] = []
    for start in range(0, len(changed), _CONTACT_MONTH_ROWS):
        part = changed[start : start + _CONTACT_MONTH_ROWS]
        sql = _CONTACT_MONTH_SQLITE.format(values=", ".join(["(?, ?, ?, ?)"] * len(part)))
        params = tuple(
            [v for (month, employee, contact), n in part for v in (month, employee, contact, n)]
        )
        returned.extend((await conn.exec_driver_sql(sql, params)).all())
    return returned


async def _adjust_contact_month(conn: AsyncConnection, deltas: KpiDeltas) -> None:
    """Client-month counts, and the distinct clients per employee-month they imply."""
    changed = sorted((key, n) for key, n in deltas.contact_month.items() if n)
    if not changed:
        return

    def build() -> Any:
        base = _insert(conn, kpi_contact_month)
        return base.on_conflict_do_update(
            index_elements=list(CONTACT_MONTH_KEY),
            set_={"n": kpi_contact_month.c.n + base.excluded.n},
        ).returning(
            kpi_contact_month.c.month,
            kpi_contact_month.c.employee_id,
            kpi_contact_month.c.contact_id,
            kpi_contact_month.c.n,
        )

    returned: list[Any] = []
    if conn.dialect.name == "sqlite":
        returned = await _contact_month_sqlite(conn, changed)
    else:
        stmt = _statement(conn, "kpi_contact_month", build)
        rows = [dict(zip(CONTACT_MONTH_KEY, key, strict=True), n=n) for key, n in changed]
        returned = list((await conn.execute(stmt, rows)).all())
    distinct: Counter[tuple[str, int]] = Counter()
    emptied: list[dict[str, Any]] = []
    for month, employee, contact, n in returned:
        before = n - deltas.contact_month[(month, employee, contact)]
        if before <= 0 < n:
            distinct[(month, employee)] += 1
        elif n <= 0 < before:
            distinct[(month, employee)] -= 1
        if n <= 0:
            emptied.append({"k_month": month, "k_employee": employee, "k_contact": contact})
    if emptied:
        m = kpi_contact_month.c
        await conn.execute(
            delete(kpi_contact_month).where(
                and_(
                    m.month == bindparam("k_month"),
                    m.employee_id == bindparam("k_employee"),
                    m.contact_id == bindparam("k_contact"),
                )
            ),
            emptied,
        )
    moved = [
        {"month": month, "employee_id": employee, "contacts": d}
        for (month, employee), d in sorted(distinct.items())
        if d
    ]
    if moved:

        def build_employee() -> Any:
            estmt = _insert(conn, kpi_employee_month)
            return estmt.on_conflict_do_update(
                index_elements=["month", "employee_id"],
                set_={"contacts": kpi_employee_month.c.contacts + estmt.excluded.contacts},
            )

        await bulk.executemany(conn, ("rollup", "kpi_employee_month"), build_employee, moved)


async def _adjust_contact_touch(conn: AsyncConnection, deltas: KpiDeltas) -> None:
    """Per client-month touch counts with first and last touch time."""
    t = kpi_contact_touch.c
    if deltas.touch_added:

        def build() -> Any:
            stmt = _insert(conn, kpi_contact_touch)
            return stmt.on_conflict_do_update(
                index_elements=["contact_id", "month"],
                set_={
                    "n": t.n + stmt.excluded.n,
                    "first_at": _least(conn, t.first_at, stmt.excluded.first_at),
                    "last_at": _greatest(conn, t.last_at, stmt.excluded.last_at),
                },
            )

        await bulk.executemany(
            conn,
            ("rollup", "kpi_contact_touch"),
            build,
            [
                {
                    "contact_id": c,
                    "month": m,
                    "n": deltas.touch_net[(c, m)],
                    "first_at": acc[1],
                    "last_at": acc[2],
                }
                for (c, m), acc in sorted(deltas.touch_added.items())
            ],
        )
    gone = deltas.lost_touch_months()
    if gone:
        await _recompute_contact_touch(conn, gone, deltas.tz)


async def _recompute_contact_touch(
    conn: AsyncConnection, keys: Sequence[tuple[int, str]], tz: ZoneInfo
) -> None:
    a = activities.c
    found: dict[tuple[int, str], list[Any]] = {}
    for i in range(0, len(keys), _CHUNK):
        chunk = keys[i : i + _CHUNK]
        bounds = [month_bounds(m, tz) for _, m in chunk]
        wanted = set(chunk)
        result = await conn.execute(
            select(a.contact_id, a.occurred_at).where(
                and_(
                    a.contact_id.in_(sorted({c for c, _ in chunk})),
                    a.occurred_at >= min(b[0] for b in bounds),
                    a.occurred_at < max(b[1] for b in bounds),
                    touch_clause(),
                )
            )
        )
        for contact, occurred in result.all():
            key = (contact, month_key(day_of(occurred, tz)))
            if key not in wanted:
                continue
            acc = found.get(key)
            if acc is None:
                found[key] = [1, occurred, occurred]
            else:
                acc[0] += 1
                acc[1] = min(acc[1], occurred)
                acc[2] = max(acc[2], occurred)
    t = kpi_contact_touch.c
    key_match = and_(t.contact_id == bindparam("k_contact"), t.month == bindparam("k_month"))
    empty = [{"k_contact": c, "k_month": m} for c, m in keys if (c, m) not in found]
    if empty:
        await conn.execute(delete(kpi_contact_touch).where(key_match), empty)
    exact = [
        {"k_contact": c, "k_month": m, "v_n": acc[0], "v_first": acc[1], "v_last": acc[2]}
        for (c, m), acc in sorted(found.items())
    ]
    if exact:
        await conn.execute(
            update(kpi_contact_touch)
            .where(key_match)
            .values(n=bindparam("v_n"), first_at=bindparam("v_first"), last_at=bindparam("v_last")),
            exact,
        )


async def _adjust_missed(conn: AsyncConnection, deltas: KpiDeltas) -> None:
    """Unanswered inbound calls and whether each was called back."""
    m = kpi_missed_calls.c
    gone = sorted(deltas.missed_removed - deltas.missed_added.keys())
    for i in range(0, len(gone), _CHUNK):
        await conn.execute(delete(kpi_missed_calls).where(m.activity_id.in_(gone[i : i + _CHUNK])))
    if deltas.missed_added:

        def build() -> Any:
            stmt = _insert(conn, kpi_missed_calls)
            return stmt.on_conflict_do_update(
                index_elements=["activity_id"],
                set_={c: stmt.excluded[c] for c in MISSED_COLUMNS if c != "activity_id"},
            )

        await bulk.executemany(
            conn,
            ("rollup", "kpi_missed_calls"),
            build,
            [deltas.missed_added[k] for k in sorted(deltas.missed_added)],
        )
    # An answered call calls back every earlier missed call of its client (monotone).
    if deltas.answered_added:
        await bulk.executemany(
            conn,
            ("rollup", "answered_later"),
            lambda: (
                update(kpi_missed_calls)
                .where(
                    and_(
                        m.contact_id == bindparam("k_contact", type_=m.contact_id.type),
                        m.occurred_at < bindparam("k_at", type_=m.occurred_at.type),
                        m.answered_later == false(),
                    )
                )
                .values(answered_later=True)
            ),
            [
                {"k_contact": c, "k_at": at}
                for c, at in sorted(deltas.answered_added.items(), key=lambda kv: kv[0])
            ],
        )
    # Everything else is recomputed exactly: new rows, clients whose answered call went
    # away, and calls whose callback task changed.
    lost_contacts = deltas.lost_answered_contacts()
    ids = sorted(set(deltas.missed_added) | deltas.callback_calls)
    if ids or lost_contacts:
        await _recompute_missed(conn, ids, lost_contacts)


async def _recompute_missed(
    conn: AsyncConnection, ids: Sequence[int], contacts: Sequence[int]
) -> None:
    m = kpi_missed_calls.c
    values = _statement(
        conn,
        "missed_flags",
        lambda: {
            "task_done": callback_done_clause(m.activity_id, m.contact_id, m.occurred_at),
            "answered_later": answered_later_clause(m.contact_id, m.occurred_at),
        },
    )
    for column, keys in ((m.activity_id, ids), (m.contact_id, contacts)):
        for i in range(0, len(keys), _CHUNK):
            await conn.execute(
                update(kpi_missed_calls)
                .where(column.in_(list(keys[i : i + _CHUNK])))
                .values(**values)
            )
