"""Per-owner client-base counts by day, kept in the same transaction as the writes.

Client-base quality and forgotten clients are states "as of" a moment over every client
an employee owns. Scanning 200,000 clients for each table costs ~0.5 s, so the state is
kept as dated deltas instead:

- `kpi_client_state` holds, per owned client, what its contribution is made of: owner,
  local creation day, the day each required field became filled, the last touch day and
  the gaps between touch days longer than the shortest maintained "forgotten" period.
- `kpi_owner_day` / `kpi_owner_month` hold the contributions as +n/-n on the local day
  from which they count, per owner and measure (`contacts`, `filled:FIELD`,
  `forgotten:DAYS`). The state as of the start of local day D is the sum of every delta
  dated D or earlier: months before D's month from the monthly table, the rest of D's
  month from the daily one (a few thousand rows, whatever the number of clients).

A client is counted as of D when it was created before D; a field when it was filled
before D (identities by their creation time, columns as they are now); it is forgotten
as of D when it was created before D - days and had no client touch on the local days
D - days … D - 1. With the touch days p₀ (creation) < p₁ < … < pₖ, the client is
forgotten on [pᵢ + days + 1, pᵢ₊₁] and from pₖ + days + 1 on: a new touch day only
splits the gap it falls in, which is how a batch of touches is applied without reading
the client's activities. Anything else (an owner, field or identity change, a merge, a
removed touch) recomputes the client from the store.

`kpi_client_base_meta` names the maintained measures. A store created before these
tables has none until `touchhub kpi rebuild`; KPI then falls back to scanning.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Column,
    Date,
    Index,
    Integer,
    String,
    Table,
    Text,
    and_,
    delete,
    func,
    or_,
    select,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.activity.dialect import accumulate, one_of, upsert
from hub.activity.rollup import (
    day_of,
    is_touch,
    local_day_sql,
    month_key,
    offset_intervals,
    touch_clause,
)
from hub.activity.schema import Id, UTCDateTime, activities, contacts, identities, metadata
from hub.model import AddressKind

#: Contact columns a client-base quality indicator may require (the current value counts).
FIELD_COLUMNS: tuple[str, ...] = (
    "name",
    "position",
    "region",
    "city",
    "importance",
    "segment",
    "organization",
)
#: Identity kinds a quality indicator may require (counted from the identity's creation).
FIELD_IDENTITIES: tuple[str, ...] = tuple(
    kind.value for kind in AddressKind if kind is not AddressKind.EXTENSION
)
FIELDS: tuple[str, ...] = FIELD_COLUMNS + FIELD_IDENTITIES
#: Meta row present when the contact and field measures are maintained.
FIELDS_MEASURE = "fields"
CONTACTS = "contacts"
#: Forgotten periods maintained by a new, empty store.
DEFAULT_FORGOTTEN_DAYS = (30,)

kpi_client_state = Table(
    "kpi_client_state",
    metadata,
    Column("contact_id", Id, primary_key=True, autoincrement=False),
    Column("employee_id", Id, nullable=False),
    Column("state", Text, nullable=False),
    Index("ix_kpi_client_state_employee", "employee_id"),
)

# Keyed measure first, then time: a read is one range per measure, whatever the owners.
kpi_owner_day = Table(
    "kpi_owner_day",
    metadata,
    Column("measure", String(40), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("employee_id", Id, primary_key=True, autoincrement=False),
    Column("n", Integer, nullable=False),
    sqlite_with_rowid=False,
)

kpi_owner_month = Table(
    "kpi_owner_month",
    metadata,
    Column("measure", String(40), primary_key=True),
    Column("month", String(7), primary_key=True),
    Column("employee_id", Id, primary_key=True, autoincrement=False),
    Column("n", Integer, nullable=False),
    sqlite_with_rowid=False,
)

kpi_client_base_meta = Table(
    "kpi_client_base_meta",
    metadata,
    Column("measure", String(40), primary_key=True),
    Column("built_at", UTCDateTime(), nullable=False),
)

CLIENT_BASE_TABLES = (kpi_client_state, kpi_owner_day, kpi_owner_month)


def forgotten_measure(days: int) -> str:
    return f"forgotten:{days}"


def filled_measure(name: str) -> str:
    return f"filled:{name}"


# -- one client's state ---------------------------------------------------------------


@dataclass(slots=True)
class ClientState:
    """What one owned client contributes; days are `date.toordinal()` local days."""

    owner: int
    created: int
    filled: dict[str, int] = field(default_factory=dict)
    last: int = 0  # the last touch day, or the creation day
    gaps: list[tuple[int, int]] = field(default_factory=list)  # (a, b), b - a > shortest

    def __post_init__(self) -> None:
        self.last = max(self.last, self.created)

    def add_touch(self, day: int, shortest: int) -> None:
        """A client touch on `day`: split the gap it falls into (days before creation don't count)."""
        if day <= self.created or day == self.last:
            return
        if day > self.last:
            if day - self.last > shortest:
                self.gaps.append((self.last, day))
            self.last = day
            return
        for i, (a, b) in enumerate(self.gaps):
            if a < day < b:
                parts = [(x, y) for x, y in ((a, day), (day, b)) if y - x > shortest]
                self.gaps[i : i + 1] = parts
                return

    def events(self, forgotten_days: Iterable[int]) -> Counter[tuple[str, int]]:
        """(measure, first day it counts) → +n/-n for this client."""
        out: Counter[tuple[str, int]] = Counter()
        out[(CONTACTS, self.created + 1)] += 1
        for name, since in self.filled.items():
            out[(filled_measure(name), max(since, self.created) + 1)] += 1
        for days in forgotten_days:
            measure = forgotten_measure(days)
            for a, b in self.gaps:
                if b - a > days:
                    out[(measure, a + days + 1)] += 1
                    out[(measure, b + 1)] -= 1
            out[(measure, self.last + days + 1)] += 1
        return out

    def forgotten_on(self, day: int, days: int) -> bool:
        """Whether the client counts as forgotten as of the start of `day` (what `events` sums to)."""
        if day >= self.last + days + 1:
            return True
        return any(b - a > days and a + days + 1 <= day <= b for a, b in self.gaps)

    def copy(self) -> ClientState:
        return ClientState(self.owner, self.created, dict(self.filled), self.last, list(self.gaps))

    def dump(self) -> str:
        return json.dumps(
            {"c": self.created, "f": self.filled, "l": self.last, "g": self.gaps},
            separators=(",", ":"),
        )

    @classmethod
    def load(cls, owner: int, text: str) -> ClientState:
        data = json.loads(text)
        return cls(
            owner=owner,
            created=data["c"],
            filled=dict(data["f"]),
            last=data["l"],
            gaps=[(a, b) for a, b in data["g"]],
        )


def build_state(
    owner: int,
    created: int,
    filled: Mapping[str, int],
    touch_days: Iterable[int],
    shortest: int,
) -> ClientState:
    """A client's state from its creation day, filled fields and touch days (any order)."""
    state = ClientState(owner=owner, created=created, filled=dict(filled))
    for day in sorted(set(touch_days)):
        state.add_touch(day, shortest)
    return state


# -- what is maintained --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Maintained:
    """The measures this store keeps; `fields` False means nothing is kept."""

    fields: bool
    forgotten_days: tuple[int, ...]

    @property
    def shortest(self) -> int:
        return min(self.forgotten_days, default=10**6)


async def maintained(conn: AsyncConnection) -> Maintained:
    """Read the meta table (one small query per writing transaction)."""
    names = set((await conn.execute(select(kpi_client_base_meta.c.measure))).scalars())
    days = sorted(int(name.split(":", 1)[1]) for name in names if name.startswith("forgotten:"))
    return Maintained(FIELDS_MEASURE in names, tuple(days))


# -- applying deltas ------------------------------------------------------------------

Deltas = Counter[tuple[int, str, int]]  # (owner, measure, day ordinal) → n


def _diff(
    deltas: Deltas,
    old: ClientState | None,
    new: ClientState | None,
    days: Sequence[int],
) -> None:
    if old is not None:
        for (measure, day), n in old.events(days).items():
            deltas[(old.owner, measure, day)] -= n
    if new is not None:
        for (measure, day), n in new.events(days).items():
            deltas[(new.owner, measure, day)] += n


async def _write_deltas(conn: AsyncConnection, deltas: Deltas) -> None:
    daily: list[dict[str, Any]] = []
    monthly: Counter[tuple[int, str, str]] = Counter()
    for (owner, measure, ordinal), n in sorted(deltas.items()):
        if n:
            day = date.fromordinal(ordinal)
            daily.append({"employee_id": owner, "measure": measure, "day": day, "n": n})
            monthly[(owner, measure, month_key(day))] += n
    await _add(conn, kpi_owner_day, ("measure", "day", "employee_id"), daily)
    await _add(
        conn,
        kpi_owner_month,
        ("measure", "month", "employee_id"),
        [
            {"employee_id": e, "measure": m, "month": month, "n": n}
            for (e, m, month), n in sorted(monthly.items())
            if n
        ],
    )


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
    for start in range(0, len(contact_ids), 2000):
        chunk = contact_ids[start : start + 2000]
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
    for start in range(0, len(gone), 2000):
        await conn.execute(
            delete(kpi_client_state).where(one_of(conn, s.contact_id, gone[start : start + 2000]))
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
    recompute = {contact for (contact, day), n in gone.items() if n > came.get((contact, day), 0)}
    new_days: dict[int, set[int]] = defaultdict(set)
    for (contact, day), n in came.items():
        if n > gone.get((contact, day), 0) and contact not in recompute:
            new_days[contact].add(day)
    if new_days:
        olds = await _load_states(conn, sorted(new_days))
        deltas: Deltas = Counter()
        changed: dict[int, ClientState | None] = {}
        for contact, old in olds.items():
            new = old.copy()
            for day in sorted(new_days[contact]):
                new.add_touch(day, kept.shortest)
            if new.last != old.last or new.gaps != old.gaps:
                _diff(deltas, old, new, kept.forgotten_days)
                changed[contact] = new
        await _write_deltas(conn, deltas)
        await _save_states(conn, changed)
    if recompute:
        await refresh(conn, recompute, tz, kept)


async def refresh(
    conn: AsyncConnection,
    contact_ids: Iterable[int],
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
    for start in range(0, len(ids), 2000):
        chunk = ids[start : start + 2000]
        news.update(await _compute(conn, chunk, tz, kept.shortest))
    deltas: Deltas = Counter()
    for cid in ids:
        _diff(deltas, olds.get(cid), news[cid], kept.forgotten_days)
    await _write_deltas(conn, deltas)
    await _save_states(conn, news)


def _filled_columns(row: Mapping[str, Any]) -> list[str]:
    names = []
    for name in FIELD_COLUMNS:
        value = row["organization_id"] if name == "organization" else row[name]
        if value is not None and value != "":
            names.append(name)
    return names


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
        filled = dict.fromkeys(_filled_columns(row), created)
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
    for start in range(0, len(owned), 2000):
        states.update(await _compute(conn, owned[start : start + 2000], tz, kept.shortest, False))
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
        _diff(deltas, None, state, days)
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
    for query in (
        select(m.employee_id, m.measure, func.sum(m.n))
        .where(and_(*month_where))
        .group_by(m.employee_id, m.measure),
        select(d.employee_id, d.measure, func.sum(d.n))
        .where(and_(*day_where))
        .group_by(d.employee_id, d.measure),
    ):
        for emp, measure, n in await conn.execute(query):
            result[int(emp)][measure] += int(n or 0)
    return dict(result)
