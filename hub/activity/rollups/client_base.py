"""Per-owner client-base counts by day, kept in the same transaction as the writes.

Client-base quality and forgotten clients are states "as of" a moment over every client
an employee owns. Scanning 200,000 clients for each table costs ~0.5 s, so the state is
kept as dated deltas instead (the arithmetic is in `client_state.py`):

- `kpi_client_state` holds, per owned client, what its contribution is made of: owner,
  local creation day, the day each required field became filled, the last touch day and
  the gaps between touch days longer than the shortest maintained "forgotten" period.
- `kpi_owner_day` / `kpi_owner_month` hold the contributions as +n/-n on the local day
  from which they count, per owner and measure (`contacts`, `filled:FIELD`,
  `forgotten:DAYS`). The state as of the start of local day D is the sum of every delta
  dated D or earlier: months before D's month from the monthly table, the rest of D's
  month from the daily one (a few thousand rows, whatever the number of clients).

New touch days are applied to the stored states without reading any activity; anything
else (an owner, field or identity change, a merge, a removed touch) recomputes the
client from the store (`refresh`). `kpi_client_base_meta` names the maintained
measures. A store created before these tables has none until `touchhub kpi rebuild`;
KPI then falls back to scanning.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Table, and_, delete, func, or_, select, union_all
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.activity.dialect import accumulate, one_of, upsert
from hub.activity.rollups.client_state import (
    DEFAULT_FORGOTTEN_DAYS,
    FIELD_COLUMNS,
    FIELD_IDENTITIES,
    FIELDS_MEASURE,
    ClientState,
    Deltas,
    Maintained,
    build_state,
    delta_rows,
    diff,
    filled_columns,
    forgotten_measure,
    touch_plan,
)
from hub.activity.rollups.localtime import day_of, local_day_sql, month_key, offset_intervals
from hub.activity.rollups.rules import is_touch, touch_clause
from hub.activity.rollups.tables import (
    CLIENT_BASE_TABLES,
    kpi_client_base_meta,
    kpi_client_state,
    kpi_owner_day,
    kpi_owner_month,
)
from hub.activity.schema import activities, contacts, identities

_CHUNK = 2000


async def maintained(conn: AsyncConnection) -> Maintained:
    """Read the meta table (one small query per writing transaction)."""
    return Maintained.of((await conn.execute(select(kpi_client_base_meta.c.measure))).scalars())


async def _write_deltas(conn: AsyncConnection, deltas: Deltas) -> None:
    daily, monthly = delta_rows(deltas)
    await _add(conn, kpi_owner_day, ("measure", "day", "employee_id"), daily)
    await _add(conn, kpi_owner_month, ("measure", "month", "employee_id"), monthly)


async def _add(
    conn: AsyncConnection, table: Table, key: Sequence[str], rows: list[dict[str, Any]]
) -> None:
    """n = n + :n per key (rows are few: deltas of one transaction, summed by day)."""
    if not rows:
        return
    await conn.execute(accumulate(conn, table, key, ("n",)), rows)


async def _load_states(conn: AsyncConnection, contact_ids: Sequence[int]) -> dict[int, ClientState]:
    s = kpi_client_state.c
    found: dict[int, ClientState] = {}
    for start in range(0, len(contact_ids), _CHUNK):
        chunk = contact_ids[start : start + _CHUNK]
        rows = await conn.execute(
            select(s.contact_id, s.employee_id, s.state).where(one_of(conn, s.contact_id, chunk))
        )
        for cid, owner, text in rows:
            found[int(cid)] = ClientState.load(int(owner), text)
    return found


async def _save_states(conn: AsyncConnection, states: Mapping[int, ClientState | None]) -> None:
    gone = [cid for cid, st in states.items() if st is None]
    kept = [
        {"contact_id": cid, "employee_id": st.owner, "state": st.dump()}
        for cid, st in sorted(states.items())
        if st is not None
    ]
    s = kpi_client_state.c
    for start in range(0, len(gone), _CHUNK):
        await conn.execute(
            delete(kpi_client_state).where(one_of(conn, s.contact_id, gone[start : start + _CHUNK]))
        )
    if kept:
        await conn.execute(
            upsert(conn, kpi_client_state, ("contact_id",), ("employee_id", "state")), kept
        )


# -- the write paths ------------------------------------------------------------------


def _touch_day(row: Mapping[str, Any], tz: ZoneInfo) -> tuple[int, int] | None:
    contact = row.get("contact_id")
    if contact is None or not is_touch(
        row["channel"], row["direction"], row["status"], row["is_client"]
    ):
        return None
    return int(contact), day_of(row["occurred_at"], tz).toordinal()


async def adjust(
    conn: AsyncConnection,
    removed: Sequence[Mapping[str, Any]],
    added: Sequence[Mapping[str, Any]],
    tz: ZoneInfo,
) -> None:
    """Follow activity rows changing from `removed` to `added` (already written).

    New touch days split their client's gap in place; a touch that went away (status,
    client or time changed) recomputes the client from its activities."""
    gone = Counter(key for row in removed if (key := _touch_day(row, tz)) is not None)
    came = Counter(key for row in added if (key := _touch_day(row, tz)) is not None)
    if not gone and not came:
        return
    kept = await maintained(conn)
    if not kept.fields:
        return
    recompute, new_days = touch_plan(gone, came)
    if new_days:
        olds = await _load_states(conn, sorted(new_days))
        deltas: Deltas = Counter()
        changed: dict[int, ClientState | None] = {}
        for contact, old in olds.items():
            new = old.with_touches(new_days[contact], kept.shortest)
            if new is not None:
                diff(deltas, old, new, kept.forgotten_days)
                changed[contact] = new
        await _write_deltas(conn, deltas)
        await _save_states(conn, changed)
    if recompute:
        await refresh(conn, recompute, tz, kept)


async def refresh(
    conn: AsyncConnection,
    contact_ids: Iterable[int | None],
    tz: ZoneInfo,
    kept: Maintained | None = None,
) -> None:
    """Recompute these clients from the store (after any contact, identity or merge write)."""
    ids = sorted({int(c) for c in contact_ids if c is not None})
    if not ids:
        return
    if kept is None:
        kept = await maintained(conn)
    if not kept.fields:
        return
    olds = await _load_states(conn, ids)
    news: dict[int, ClientState | None] = dict.fromkeys(ids)
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        news.update(await _compute(conn, chunk, tz, kept.shortest))
    deltas: Deltas = Counter()
    for cid in ids:
        diff(deltas, olds.get(cid), news[cid], kept.forgotten_days)
    await _write_deltas(conn, deltas)
    await _save_states(conn, news)


_CONTACT_COLUMNS = (
    "id",
    "owner_employee_id",
    "created_at",
    "organization_id",
    *(n for n in FIELD_COLUMNS if n != "organization"),
)


async def _compute(
    conn: AsyncConnection,
    ids: Sequence[int],
    tz: ZoneInfo,
    shortest: int,
    with_touches: bool = True,
) -> dict[int, ClientState]:
    """States of the owned, unmerged clients among `ids` (read from the store)."""
    c = contacts.c
    rows = (
        await conn.execute(
            select(*(c[n] for n in _CONTACT_COLUMNS)).where(
                and_(
                    one_of(conn, c.id, list(ids)),
                    c.owner_employee_id.is_not(None),
                    c.merged_into_id.is_(None),
                )
            )
        )
    ).mappings()
    owned = {int(r["id"]): dict(r) for r in rows}
    if not owned:
        return {}
    keys = sorted(owned)
    i = identities.c
    first_seen: dict[int, dict[str, int]] = defaultdict(dict)
    for cid, kind, at in await conn.execute(
        select(i.contact_id, i.kind, func.min(i.created_at))
        .where(and_(one_of(conn, i.contact_id, keys), i.kind.in_(FIELD_IDENTITIES)))
        .group_by(i.contact_id, i.kind)
    ):
        first_seen[int(cid)][kind] = day_of(at, tz).toordinal()
    a = activities.c
    touch_days: dict[int, set[int]] = defaultdict(set)
    if with_touches:
        for cid, at in await conn.execute(
            select(a.contact_id, a.occurred_at).where(
                and_(one_of(conn, a.contact_id, keys), touch_clause())
            )
        ):
            touch_days[int(cid)].add(day_of(at, tz).toordinal())
    result: dict[int, ClientState] = {}
    for cid, row in owned.items():
        created = day_of(row["created_at"], tz).toordinal()
        filled = dict.fromkeys(filled_columns(row), created)
        filled.update(first_seen.get(cid, {}))
        result[cid] = build_state(
            int(row["owner_employee_id"]), created, filled, touch_days.get(cid, ()), shortest
        )
    return result


# -- rebuild --------------------------------------------------------------------------


async def rebuild(
    conn: AsyncConnection,
    tz: ZoneInfo,
    forgotten_days: Iterable[int] | None = None,
    now: datetime | None = None,
) -> int:
    """Recompute every client's state and the owner tables; returns the clients kept.

    `forgotten_days` are the periods to keep from now on (by default those kept so far,
    or 30 days)."""
    if forgotten_days is None:
        forgotten_days = (await maintained(conn)).forgotten_days or DEFAULT_FORGOTTEN_DAYS
    days = tuple(sorted(set(forgotten_days)))
    if any(d < 1 for d in days):
        raise ValueError(f"forgotten periods must be at least a day: {days}")
    for table in (*CLIENT_BASE_TABLES, kpi_client_base_meta):
        await conn.execute(delete(table))
    kept = Maintained(True, days)
    at = now or datetime.now(UTC)
    await conn.execute(
        kpi_client_base_meta.insert(),
        [{"measure": FIELDS_MEASURE, "built_at": at}]
        + [{"measure": forgotten_measure(d), "built_at": at} for d in days],
    )
    c = contacts.c
    owned = [
        int(cid)
        for cid in (
            await conn.execute(
                select(c.id)
                .where(and_(c.owner_employee_id.is_not(None), c.merged_into_id.is_(None)))
                .order_by(c.id)
            )
        ).scalars()
    ]
    if not owned:
        return 0
    states: dict[int, ClientState] = {}
    for start in range(0, len(owned), _CHUNK):
        states.update(await _compute(conn, owned[start : start + _CHUNK], tz, kept.shortest, False))
    async for cid, prev, day, last in _gap_ends(conn, tz, kept.shortest):
        state = states.get(cid)
        if state is None:
            continue
        start = state.created if prev is None else prev
        if day - start > kept.shortest:
            state.gaps.append((start, day))  # ascending: the query orders by client, day
        if last:
            state.last = day
    deltas: Deltas = Counter()
    for state in states.values():
        diff(deltas, None, state, days)
    await _write_deltas(conn, deltas)
    await _save_states(conn, dict(states))
    return len(states)


def _ordinal(value: Any) -> int:
    return (value if isinstance(value, date) else date.fromisoformat(value)).toordinal()


async def _gap_ends(
    conn: AsyncConnection, tz: ZoneInfo, shortest: int
) -> AsyncIterator[tuple[int, int | None, int, bool]]:
    """(client, previous touch day or None for the first, touch day, is the last one) for
    each owned client's touch days after its creation day that end a gap longer than
    `shortest` or are its first or last: the few rows a state is made of (8M distinct
    client-days at 10M activities come down to a few hundred thousand in SQL)."""
    a, c = activities.c, contacts.c
    bounds = (
        await conn.execute(
            select(
                func.min(a.occurred_at),
                func.max(a.occurred_at),
                select(func.min(c.created_at)).scalar_subquery(),
                select(func.max(c.created_at)).scalar_subquery(),
            )
        )
    ).one()
    known = [b for b in bounds if b is not None]
    if bounds[0] is None or not known:
        return
    intervals = offset_intervals(tz, min(known) - timedelta(days=2), max(known) + timedelta(days=2))
    day = local_day_sql(conn, a.occurred_at, intervals)
    touched = (
        select(a.contact_id.label("contact_id"), day.label("day"))
        .where(and_(a.contact_id.is_not(None), touch_clause()))
        .group_by(a.contact_id, day)
        .subquery("touched")
    )
    created = local_day_sql(conn, c.created_at, intervals)
    ordered = (
        select(
            touched.c.contact_id,
            touched.c.day,
            func.lag(touched.c.day)
            .over(partition_by=touched.c.contact_id, order_by=touched.c.day)
            .label("prev"),
            func.lead(touched.c.day)
            .over(partition_by=touched.c.contact_id, order_by=touched.c.day)
            .label("next"),
        )
        .select_from(touched.join(contacts, c.id == touched.c.contact_id))
        .where(
            and_(
                c.owner_employee_id.is_not(None),
                c.merged_into_id.is_(None),
                touched.c.day > created,
            )
        )
        .subquery("ordered")
    )
    o = ordered.c
    if conn.dialect.name == "postgresql":
        span: Any = o.day - o.prev
    else:
        span = func.julianday(o.day) - func.julianday(o.prev)
    query = (
        select(o.contact_id, o.prev, o.day, o.next.is_(None))
        .where(or_(o.prev.is_(None), o.next.is_(None), span > shortest))
        .order_by(o.contact_id, o.day)
    )
    stream = await conn.stream(query)
    async for cid, prev, value, last in stream:
        yield int(cid), None if prev is None else _ordinal(prev), _ordinal(value), bool(last)


# -- reading --------------------------------------------------------------------------


async def forgotten_ids(
    conn: AsyncConnection, employee_id: int, days: int, as_of_day: date
) -> list[int]:
    """The employee's clients forgotten as of the start of `as_of_day`, newest id first
    (read from their states: one owner's few hundred rows, no probe per client)."""
    s = kpi_client_state.c
    rows = await conn.execute(select(s.contact_id, s.state).where(s.employee_id == employee_id))
    day = as_of_day.toordinal()
    found = [
        int(cid)
        for cid, text in rows
        if ClientState.load(employee_id, text).forgotten_on(day, days)
    ]
    return sorted(found, reverse=True)


async def owner_counts(
    conn: AsyncConnection,
    measures: Sequence[str],
    as_of_day: date,
    employee_ids: Sequence[int] | None,
) -> dict[int, dict[str, int]]:
    """{owner: {measure: value as of the start of `as_of_day`}} from the delta tables."""
    month = month_key(as_of_day)
    first = as_of_day.replace(day=1)
    m, d = kpi_owner_month.c, kpi_owner_day.c
    result: dict[int, dict[str, int]] = defaultdict(lambda: dict.fromkeys(measures, 0))
    month_where = [m.measure.in_(list(measures)), m.month < month]
    day_where = [d.measure.in_(list(measures)), d.day >= first, d.day <= as_of_day]
    if employee_ids is not None:
        month_where.append(one_of(conn, m.employee_id, list(employee_ids)))
        day_where.append(one_of(conn, d.employee_id, list(employee_ids)))
    # The closed months and this month's days in one statement (a table read per KPI
    # answer costs a round trip each).
    query = union_all(
        select(m.employee_id, m.measure, func.sum(m.n))
        .where(and_(*month_where))
        .group_by(m.employee_id, m.measure),
        select(d.employee_id, d.measure, func.sum(d.n))
        .where(and_(*day_where))
        .group_by(d.employee_id, d.measure),
    )
    for emp, measure, n in await conn.execute(query):
        result[int(emp)][measure] += int(n or 0)
    return dict(result)
