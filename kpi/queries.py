"""Every SQL statement KPI reads with, as named functions readable as SQL (its writes,
plans and month closes, are `hub.activity.plans_store`'s).

Facts come from the daily roll-ups where the indicator's filter allows it and from the
activities otherwise; drill-downs always read the activities (or contacts) with the
same predicate the fact was computed with, so a drill-down lists what was counted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Integer,
    Table,
    and_,
    case,
    cast,
    exists,
    func,
    literal,
    not_,
    or_,
    select,
    text,
    true,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.activity.dialect import custom_text
from hub.activity.plans_store import (
    PlanRow,
    kpi_closed_months,
    kpi_frozen_facts,
    kpi_plan_history,
    kpi_plans,
)
from hub.activity.rollups.localtime import month_key
from hub.activity.rollups.rules import (
    answered_later_clause,
    callback_done_clause,
    has_result_clause,
    late_clause,
    open_missed_clause,
    touch_clause,
)
from hub.activity.rollups.tables import (
    NO_EMPLOYEE,
    kpi_contact_month,
    kpi_contact_touch,
    kpi_daily,
    kpi_employee_month,
    kpi_missed_calls,
    kpi_monthly,
)
from hub.activity.schema import activities, contacts, employees, identities
from hub.model import Status
from kpi.catalogue import Filter, contact_field_kind
from kpi.periods import local_day, local_midnight

A = activities.c

# -- employees ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EmployeeRow:
    """An employee as KPI needs it: who, and under whom."""

    id: int
    name: str
    head_id: int | None
    active: bool


async def all_employees(conn: AsyncConnection) -> list[EmployeeRow]:
    """SELECT id, name, head_id, active FROM employees ORDER BY id."""
    rows = await conn.execute(
        select(employees.c.id, employees.c.name, employees.c.head_id, employees.c.active).order_by(
            employees.c.id
        )
    )
    return [EmployeeRow(int(r.id), r.name, r.head_id, bool(r.active)) for r in rows]


# -- activity predicates --------------------------------------------------------------


def _overdue(today_start: datetime) -> ColumnElement[bool]:
    """Due, not cancelled, and done after the due time or still open past its due day."""
    return and_(
        A.due_at.is_not(None),
        A.status != Status.CANCELLED.value,
        or_(late_clause(), and_(A.status == Status.PLANNED.value, A.due_at < today_start)),
    )


def _not_called_back() -> ColumnElement[bool]:
    """No completed callback task for the missed call and no later answered call with the client."""
    completed_task = callback_done_clause(A.id, A.contact_id, A.occurred_at)
    answered_later = answered_later_clause(A.contact_id, A.occurred_at)
    return and_(not_(completed_task), or_(A.contact_id.is_(None), not_(answered_later)))


def _campaign() -> ColumnElement[bool]:
    """Sent by a campaign: the engine marks each message's touch with ``campaign_id``."""
    return custom_text(A.meta, "campaign_id").is_not(None)


def filter_clause(flt: Filter, today_start: datetime) -> list[ColumnElement[bool]]:
    """The SQL conditions of an indicator filter on the activities table."""
    clauses: list[ColumnElement[bool]] = [
        A[key].in_(sorted(values)) for key, values in flt.enums.items()
    ]
    if flt.sources is not None:
        clauses.append(A.source.in_(sorted(flt.sources)))
    builders: dict[str, Callable[[], ColumnElement[bool]]] = {
        "is_client": lambda: A.is_client.is_(True),
        "has_result": has_result_clause,
        "late": late_clause,
        "touch": touch_clause,
        "overdue": lambda: _overdue(today_start),
        "not_called_back": _not_called_back,
        "campaign": _campaign,
    }
    for key, wanted in flt.flags.items():
        clause = builders[key]()
        clauses.append(clause if wanted else not_(clause))
    return clauses


def recorded_by(at: datetime) -> ColumnElement[bool]:
    """Activities the store held at `at` (a closed month's drill lists what was frozen)."""
    return A.created_at <= at


def activity_predicate(
    flt: Filter, date_field: str, start: datetime, end: datetime, today_start: datetime
) -> list[ColumnElement[bool]]:
    """Filter plus the period on the indicator's date field ([start, end) in UTC)."""
    when = A[date_field]
    return [when >= start, when < end, *filter_clause(flt, today_start)]


def _scope(column: Any, employee_ids: Sequence[int] | None) -> list[ColumnElement[bool]]:
    return [] if employee_ids is None else [column.in_(list(employee_ids))]


# -- roll-up reads --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RollupSum:
    """What one indicator needs summed from a roll-up: the rows matching `where`, their
    `field` (duration_s / talk_s) if any, and the rows also matching `numerator`."""

    where: Filter
    field: str | None = None
    numerator: Filter | None = None


def rollup_filter(flt: Filter, table: Table, past: ColumnElement[bool]) -> ColumnElement[bool]:
    """`flt` on a roll-up table's dimension columns (the roll-up twin of `filter_clause`);
    `past` says whether a row's day is before today (for "overdue")."""
    t = table.c
    clauses: list[ColumnElement[bool]] = [
        t[key].in_(sorted(values)) for key, values in flt.enums.items()
    ]
    for key, wanted in flt.flags.items():
        if key == "touch":
            clause = touch_clause(table)
        elif key == "overdue":
            clause = and_(
                t.status != Status.CANCELLED.value,
                or_(t.late.is_(True), and_(t.status == Status.PLANNED.value, past)),
            )
        else:
            clause = t[key].is_(True)
        clauses.append(clause if wanted else not_(clause))
    return and_(true(), *clauses)


async def rollup_sums(
    conn: AsyncConnection,
    basis: str,
    sums: Sequence[RollupSum],
    employee_ids: Sequence[int] | None,
    *,
    months: Sequence[str] | None = None,
    days: tuple[date, date] | None = None,
    today: date,
) -> dict[int, list[tuple[int, float, int]]]:
    """SELECT employee, SUM(CASE WHEN <where_i> THEN n END), … FROM kpi_monthly (whole
    `months`) or kpi_daily (`days` = [start, end)) WHERE basis = :basis GROUP BY employee
    → {employee: [(n, field total, numerator n) per sum]}: the filtering and summing done
    by the database over a few thousand roll-up rows, one row back per employee."""
    if months is not None:
        table, m = kpi_monthly, kpi_monthly.c
        where = [m.basis == basis, m.month.in_(list(months))]
        past: ColumnElement[bool] = literal(all(month_end(k) <= today for k in months))
    else:
        assert days is not None
        table, m = kpi_daily, kpi_daily.c
        where = [m.basis == basis, m.day >= days[0], m.day < days[1]]
        past = m.day < today
    columns: list[Any] = []
    for item in sums:
        match = rollup_filter(item.where, table, past)
        columns.append(func.sum(case((match, m.n), else_=0)))
        if item.field is not None:
            columns.append(func.sum(case((match, m[item.field]), else_=0.0)))
        if item.numerator is not None:
            counted = and_(match, rollup_filter(item.numerator, table, past))
            columns.append(func.sum(case((counted, m.n), else_=0)))
    rows = await conn.execute(
        select(m.employee_id, *columns)
        .where(and_(*where, *_scope(m.employee_id, employee_ids)))
        .group_by(m.employee_id)
    )
    result: dict[int, list[tuple[int, float, int]]] = {}
    for row in rows:
        values = iter(row[1:])
        out = []
        for item in sums:
            n = int(next(values) or 0)
            total = float(next(values) or 0.0) if item.field is not None else 0.0
            num = int(next(values) or 0) if item.numerator is not None else 0
            out.append((n, total, num))
        result[int(row[0])] = out
    return result


def month_end(key: str) -> date:
    """The first day after the month `key` ("2026-10" → 2026-11-01)."""
    year, month = int(key[:4]), int(key[5:7])
    return date(year + month // 12, month % 12 + 1, 1)


async def distinct_touched_contacts(
    conn: AsyncConnection, months: Sequence[str], employee_ids: Sequence[int] | None
) -> dict[int, int]:
    """One month: SELECT employee_id, contacts FROM kpi_employee_month WHERE month = :m;
    several: SELECT employee_id, COUNT(DISTINCT contact_id) FROM kpi_contact_month
    WHERE month IN (:months) AND n > 0 GROUP BY employee_id."""
    if len(months) == 1:
        e = kpi_employee_month.c
        found = await conn.execute(
            select(e.employee_id, e.contacts).where(
                and_(e.month == months[0], e.contacts > 0, *_scope(e.employee_id, employee_ids))
            )
        )
        return {int(emp): int(n) for emp, n in found}
    m = kpi_contact_month.c
    counted = func.count(m.contact_id.distinct())
    rows = await conn.execute(
        select(m.employee_id, counted)
        .where(and_(m.month.in_(list(months)), m.n > 0, *_scope(m.employee_id, employee_ids)))
        .group_by(m.employee_id)
    )
    return {int(e): int(c) for e, c in rows}


# -- raw activity reads ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RawAggregate:
    """Counts of one employee's matching activities."""

    n: int
    contacts: int
    total: float


async def raw_aggregates(
    conn: AsyncConnection,
    predicate: Sequence[ColumnElement[bool]],
    employee_ids: Sequence[int] | None,
    field: str | None = None,
) -> dict[int, RawAggregate]:
    """SELECT employee_id, COUNT(*), COUNT(DISTINCT contact_id), SUM(field) FROM activities
    WHERE <predicate> GROUP BY employee_id."""
    employee = func.coalesce(A.employee_id, NO_EMPLOYEE)
    total = func.sum(func.coalesce(A[field], 0.0)) if field else literal(0.0)
    rows = await conn.execute(
        select(employee, func.count(), func.count(A.contact_id.distinct()), total)
        .where(and_(*predicate, *_scope(A.employee_id, employee_ids)))
        .group_by(employee)
    )
    return {int(e): RawAggregate(int(n), int(c), float(t or 0.0)) for e, n, c, t in rows}


DRILL_COLUMNS = (
    "id",
    "occurred_at",
    "channel",
    "direction",
    "status",
    "employee_id",
    "contact_id",
    "counterpart",
    "subject",
    "duration_s",
    "talk_s",
    "due_at",
    "completed_at",
    "result",
    "source",
)


#: A drill row names its contact in the same statement (a page reads no row twice).
_WITH_CONTACT = activities.outerjoin(contacts, contacts.c.id == A.contact_id)
_CONTACT_NAME = contacts.c.name.label("contact_name")


async def drill_activities(
    conn: AsyncConnection,
    predicate: Sequence[ColumnElement[bool]],
    employee_id: int,
    date_field: str,
    *,
    after: tuple[datetime, int] | None,
    limit: int,
) -> list[dict[str, Any]]:
    """SELECT activities.…, contacts.name FROM activities LEFT JOIN contacts WHERE
    employee_id = :e AND <predicate> AND (date, id) < :cursor ORDER BY date DESC, id DESC
    LIMIT :limit: newest first, read backwards along
    the employee's (employee, date) index, so a page reads about a page of rows however
    many the employee has that month."""
    when = A[date_field]
    where = [A.employee_id == employee_id, *predicate]
    if after is not None:
        at, last_id = after
        where.append(or_(when < at, and_(when == at, A.id < last_id)))
    rows = await conn.execute(
        select(*(A[c] for c in DRILL_COLUMNS), _CONTACT_NAME)
        .select_from(_WITH_CONTACT)
        .where(and_(*where))
        .order_by(when.desc(), A.id.desc())
        .limit(limit)
    )
    return [dict(r) for r in rows.mappings()]


async def count_activities(
    conn: AsyncConnection, predicate: Sequence[ColumnElement[bool]], employee_id: int
) -> int:
    """SELECT COUNT(*) FROM activities WHERE employee_id = :e AND <predicate>."""
    value = await conn.scalar(
        select(func.count())
        .select_from(activities)
        .where(and_(A.employee_id == employee_id, *predicate))
    )
    return int(value or 0)


# -- missed calls not called back (kpi_missed_calls) ------------------------------------

M = kpi_missed_calls.c


def missed_predicate(
    statuses: frozenset[str] | None, is_client: bool | None, open_: bool, start: date, end: date
) -> list[ColumnElement[bool]]:
    """The roll-up form of `channel = call, direction = in, status, is_client, not_called_back`
    over local days [start, end)."""
    clauses: list[ColumnElement[bool]] = [M.day >= start, M.day < end]
    if statuses is not None:
        clauses.append(M.status.in_(sorted(statuses)))
    if is_client is not None:
        clauses.append(M.is_client.is_(True) if is_client else M.is_client.is_(False))
    clauses.append(open_missed_clause() if open_ else not_(open_missed_clause()))
    return clauses


def missed_recorded_by(at: datetime) -> ColumnElement[bool]:
    """`recorded_by` for a row of kpi_missed_calls (one primary-key probe per row)."""
    return exists().where(and_(A.id == M.activity_id, A.created_at <= at))


async def missed_counts(
    conn: AsyncConnection,
    predicate: Sequence[ColumnElement[bool]],
    employee_ids: Sequence[int] | None,
) -> dict[int, int]:
    """SELECT employee_id, COUNT(*) FROM kpi_missed_calls WHERE <predicate> GROUP BY employee_id."""
    rows = await conn.execute(
        select(M.employee_id, func.count())
        .where(and_(*predicate, *_scope(M.employee_id, employee_ids)))
        .group_by(M.employee_id)
    )
    return {int(e): int(n) for e, n in rows}


async def drill_missed(
    conn: AsyncConnection,
    predicate: Sequence[ColumnElement[bool]],
    employee_id: int,
    *,
    before_id: int | None,
    limit: int,
) -> list[dict[str, Any]]:
    """The missed calls behind the count: kpi_missed_calls joined to their activities
    and contacts' names, ORDER BY id DESC LIMIT :limit."""
    where = [M.employee_id == employee_id, *predicate]
    if before_id is not None:
        where.append(M.activity_id < before_id)
    ids = (
        select(M.activity_id)
        .where(and_(*where))
        .order_by(M.activity_id.desc())
        .limit(limit)
        .subquery()
    )
    rows = await conn.execute(
        select(*(A[c] for c in DRILL_COLUMNS), _CONTACT_NAME)
        .select_from(_WITH_CONTACT.join(ids, A.id == ids.c.activity_id))
        .order_by(A.id.desc())
    )
    return [dict(r) for r in rows.mappings()]


async def count_missed(
    conn: AsyncConnection, predicate: Sequence[ColumnElement[bool]], employee_id: int
) -> int:
    """SELECT COUNT(*) FROM kpi_missed_calls WHERE employee_id = :e AND <predicate>."""
    value = await conn.scalar(
        select(func.count())
        .select_from(kpi_missed_calls)
        .where(and_(M.employee_id == employee_id, *predicate))
    )
    return int(value or 0)


# -- contacts: client-base quality and forgotten clients ------------------------------

C = contacts.c


def _filled(name: str, as_of: datetime) -> ColumnElement[bool]:
    """SQL: the contact's required field `name` is filled (as of `as_of` for identities)."""
    kind = contact_field_kind(name)
    if kind == "identity":
        return exists().where(
            and_(
                identities.c.contact_id == C.id,
                identities.c.kind == name,
                identities.c.created_at < as_of,
            )
        )
    if kind == "custom":
        value = custom_text(C.custom, name.removeprefix("custom."))
        return and_(value.is_not(None), value != "")
    if name == "organization":
        return C.organization_id.is_not(None)
    column = C[name]
    return and_(column.is_not(None), column != "")


def _owned(
    as_of: datetime, employee_ids: Sequence[int] | None, owner: Any = C.owner_employee_id
) -> list[ColumnElement[bool]]:
    unindexed = owner is not C.owner_employee_id
    return [
        owner.is_not(None),
        (C.merged_into_id + 0 if unindexed else C.merged_into_id).is_(None),
        C.created_at < as_of,
        *_scope(owner, employee_ids),
    ]


#: Above this many employees a client-base pass reads the contacts in id order.
_SCAN_ALL_ABOVE = 20


def _owner_column(conn: AsyncConnection, employee_ids: Sequence[int] | None) -> Any:
    """The owner column to group a client-base pass by.

    For many owners SQLite should read the contacts in id order, so that the per-client
    probes into identities and kpi_contact_touch (keyed by contact id) hit neighbouring
    pages: ~3x faster at 200,000 contacts than walking the owner index. `owner + 0` is
    how SQLite is told not to use an index on a column; PostgreSQL hash-joins anyway."""
    if conn.dialect.name == "sqlite" and (
        employee_ids is None or len(employee_ids) > _SCAN_ALL_ABOVE
    ):
        return C.owner_employee_id + 0
    return C.owner_employee_id


async def contact_quality(
    conn: AsyncConnection,
    fields: Sequence[str],
    as_of: datetime,
    employee_ids: Sequence[int] | None,
) -> dict[int, tuple[int, int]]:
    """SELECT owner, COUNT(*), SUM(filled fields) FROM contacts WHERE owned as of :as_of
    GROUP BY owner → {employee: (contacts, filled fields)}.

    On PostgreSQL the identities are grouped once per client and hash-joined (a probe per
    client and kind is ~4x slower there); SQLite probes its covering index in id order."""
    kinds = [n for n in fields if contact_field_kind(n) == "identity"]
    source: Any = contacts
    parts: list[Any] = []
    if conn.dialect.name == "postgresql" and kinds:
        i = identities.c
        has = (
            select(
                i.contact_id,
                *(
                    func.max(case((i.kind == kind, 1), else_=0)).label(f"k{n}")
                    for n, kind in enumerate(kinds)
                ),
            )
            .where(and_(i.created_at < as_of, i.kind.in_(kinds)))
            .group_by(i.contact_id)
            .subquery("has")
        )
        source = contacts.outerjoin(has, has.c.contact_id == C.id)
        parts = [func.coalesce(has.c[f"k{n}"], 0) for n in range(len(kinds))]
        fields = [n for n in fields if n not in kinds]
    filled = sum(
        (*parts, *(case((_filled(name, as_of), 1), else_=0) for name in fields)),
        start=cast(literal(0), Integer),
    )
    owner = _owner_column(conn, employee_ids)
    rows = await conn.execute(
        select(owner, func.count(), func.sum(filled))
        .select_from(source)
        .where(and_(*_owned(as_of, employee_ids, owner)))
        .group_by(owner)
    )
    return {int(e): (int(n), int(f or 0)) for e, n, f in rows}


async def tune_for_reads(conn: AsyncConnection) -> None:
    """PostgreSQL: no JIT for KPI reads (it compiles for ~0.3 s to save milliseconds)."""
    if conn.dialect.name == "postgresql":
        await conn.execute(text("SET LOCAL jit = off"))


def forgotten_since(days: int, as_of: datetime, tz: ZoneInfo) -> datetime:
    """The start of the `days` local calendar days before `as_of` (a local midnight)."""
    return local_midnight(local_day(as_of, tz) - timedelta(days=days), tz)


def forgotten_raw(days: int, as_of: datetime, tz: ZoneInfo) -> ColumnElement[bool]:
    """The definition of a forgotten client read from the activities (a probe per client):
    what `_forgotten` and the per-owner deltas answer; tests hold them equal."""
    since = forgotten_since(days, as_of, tz)
    touched = exists().where(
        and_(A.contact_id == C.id, A.occurred_at >= since, A.occurred_at < as_of, touch_clause())
    )
    return and_(C.created_at < since, not_(touched))


def _forgotten(days: int, as_of: datetime, tz: ZoneInfo) -> ColumnElement[bool]:
    """No client touch with the contact in the `days` before `as_of`, and known that long.

    Read from `kpi_contact_touch` (touches per client and local month with the first and
    last touch time): a month strictly inside the window counts if it has a touch, the
    window's first month if its last touch is at or after the window start, its last
    month if its first touch is before the end; only when the window lies within one
    month and its touches straddle it are the client's activities probed."""
    since = forgotten_since(days, as_of, tz)
    first_month = month_key(local_day(since, tz))
    last_month = month_key(local_day(as_of - timedelta(microseconds=1), tz))
    t = kpi_contact_touch.c
    straddles = and_(t.first_at < since, t.last_at >= as_of)
    raw_touch = (
        exists()
        .where(
            and_(
                A.contact_id == C.id, A.occurred_at >= since, A.occurred_at < as_of, touch_clause()
            )
        )
        .correlate(contacts)
    )
    exact = or_(not_(straddles), raw_touch) if first_month == last_month else literal(True)
    touched = exists().where(
        and_(
            t.contact_id == C.id,
            t.month >= first_month,
            t.month <= last_month,
            t.n > 0,
            t.last_at >= since,
            t.first_at < as_of,
            exact,
        )
    )
    return and_(C.created_at < since, not_(touched))


async def forgotten_clients(
    conn: AsyncConnection,
    days: int,
    as_of: datetime,
    tz: ZoneInfo,
    employee_ids: Sequence[int] | None,
) -> dict[int, int]:
    """SELECT owner, COUNT(*) FROM contacts c WHERE owned AND NOT EXISTS (a touch with c
    in the last :days days before :as_of) GROUP BY owner."""
    owner = _owner_column(conn, employee_ids)
    rows = await conn.execute(
        select(owner, func.count())
        .where(and_(*_owned(as_of, employee_ids, owner), _forgotten(days, as_of, tz)))
        .group_by(owner)
    )
    return {int(e): int(n) for e, n in rows}


CONTACT_COLUMNS_SHOWN = (
    "id",
    "name",
    "position",
    "region",
    "city",
    "importance",
    "segment",
    "created_at",
)


def forgotten_predicate(days: int, as_of: datetime, tz: ZoneInfo) -> list[ColumnElement[bool]]:
    """A drill-down predicate for the clients forgotten as of `as_of`."""
    return [_forgotten(days, as_of, tz)]


def contacts_among(ids: Sequence[int]) -> list[ColumnElement[bool]]:
    """A drill-down predicate naming the contacts already known to be counted."""
    return [C.id.in_(list(ids))]


async def drill_contacts(
    conn: AsyncConnection,
    predicate: Sequence[ColumnElement[bool]],
    employee_id: int,
    as_of: datetime,
    fields: Sequence[str],
    *,
    before_id: int | None,
    limit: int,
) -> list[dict[str, Any]]:
    """SELECT contacts … WHERE owner = :e AND <predicate> AND id < :cursor ORDER BY id DESC;
    each row says which of `fields` it lacks (`missing`) and names itself as the contact."""
    where = [*_owned(as_of, [employee_id]), *predicate]
    if before_id is not None:
        where.append(C.id < before_id)
    flags = [
        case((_filled(name, as_of), 1), else_=0).label(f"f{i}") for i, name in enumerate(fields)
    ]
    rows = await conn.execute(
        select(*(C[c] for c in CONTACT_COLUMNS_SHOWN), *flags)
        .where(and_(*where))
        .order_by(C.id.desc())
        .limit(limit)
    )
    result: list[dict[str, Any]] = []
    for row in rows.mappings():
        item = {c: row[c] for c in CONTACT_COLUMNS_SHOWN}
        item["missing"] = [name for i, name in enumerate(fields) if not row[f"f{i}"]]
        item["contact_id"], item["contact_name"] = row["id"], row["name"]
        result.append(item)
    return result


async def count_contacts(
    conn: AsyncConnection,
    predicate: Sequence[ColumnElement[bool]],
    employee_id: int,
    as_of: datetime,
) -> int:
    """SELECT COUNT(*) FROM contacts WHERE owner = :e AND <predicate>."""
    value = await conn.scalar(
        select(func.count())
        .select_from(contacts)
        .where(and_(*_owned(as_of, [employee_id]), *predicate))
    )
    return int(value or 0)


# -- plans ----------------------------------------------------------------------------


async def plans_for(
    conn: AsyncConnection, months: Iterable[str], employee_ids: Sequence[int] | None
) -> list[PlanRow]:
    """SELECT * FROM kpi_plans WHERE month IN (:months) [AND employee_id IN (:ids)]."""
    p = kpi_plans.c
    rows = await conn.execute(
        select(p.employee_id, p.indicator, p.month, p.value, p.per_day, p.set_by, p.set_at).where(
            and_(p.month.in_(list(months)), *_scope(p.employee_id, employee_ids))
        )
    )
    return [PlanRow(int(r[0]), r[1], r[2], float(r[3]), bool(r[4]), r[5], r[6]) for r in rows]


async def plan_history(
    conn: AsyncConnection, employee_id: int, indicator: str | None
) -> list[dict[str, Any]]:
    """SELECT * FROM kpi_plan_history WHERE employee_id = :e [AND indicator = :i] ORDER BY id."""
    h = kpi_plan_history.c
    where = [h.employee_id == employee_id]
    if indicator is not None:
        where.append(h.indicator == indicator)
    rows = await conn.execute(
        select(
            h.employee_id,
            h.indicator,
            h.month,
            h.old_value,
            h.old_per_day,
            h.value,
            h.per_day,
            h.set_by,
            h.set_at,
        )
        .where(and_(*where))
        .order_by(h.id)
    )
    return [dict(r) for r in rows.mappings()]


# -- closed months --------------------------------------------------------------------


async def closed_month(conn: AsyncConnection, month: str) -> dict[str, Any] | None:
    """SELECT * FROM kpi_closed_months WHERE month = :month."""
    row = (
        (await conn.execute(select(kpi_closed_months).where(kpi_closed_months.c.month == month)))
        .mappings()
        .first()
    )
    return None if row is None else dict(row)


async def frozen_facts(
    conn: AsyncConnection, month: str, employee_ids: Sequence[int] | None
) -> dict[tuple[int, str], tuple[float, int, float | None]]:
    """SELECT employee_id, indicator, fact, records, plan FROM kpi_frozen_facts WHERE month = :m."""
    f = kpi_frozen_facts.c
    rows = await conn.execute(
        select(f.employee_id, f.indicator, f.fact, f.records, f.plan).where(
            and_(f.month == month, *_scope(f.employee_id, employee_ids))
        )
    )
    return {(int(e), i): (float(v), int(n), p) for e, i, v, n, p in rows}
