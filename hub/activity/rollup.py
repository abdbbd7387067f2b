"""Roll-ups of activities for KPI, kept in the same transaction as the activity writes.

- `kpi_daily` / `kpi_monthly` count activities per company-local day (month), employee
  and every dimension an indicator may filter on; each activity is counted once per time
  it carries (occurred, completed, due: the `basis`). A month's table reads
  `kpi_monthly` (a few thousand rows); days and weeks read `kpi_daily`.
- `kpi_contact_month` keeps who touched which client in which local month, and
  `kpi_employee_month` how many distinct clients each employee touched that month.
- `kpi_contact_touch` keeps, per client and local month, the number of touches and the
  first and last touch time: "forgotten clients" is one probe per client, not a scan of
  the client's activities.
- `kpi_missed_calls` holds one row per unanswered inbound call with whether a completed
  callback task or a later answered call with the client exists (`task_done`,
  `answered_later`): "missed calls not called back" is a count of open rows.

`adjust(conn, removed, added, tz)` moves counts from old rows to new ones: the deltas are
aggregated in Python and written with one upsert per table; rows are only deleted when a
removal empties them. Where a removal may change a minimum, a maximum or an existence
flag, the affected keys are recomputed from the activities (already written by the
caller). `rebuild` recomputes everything from scratch. Local days come from `zoneinfo`
in Python and from the same UTC-offset intervals in SQL, so both agree to the second
across DST changes.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
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
    exists,
    false,
    func,
    literal,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.activity import bulk
from hub.activity.schema import Id, UTCDateTime, activities, identities, metadata
from hub.model import Channel, Direction, Status

#: Where a roll-up row's day comes from.
BASIS_COLUMNS: dict[str, str] = {"o": "occurred_at", "c": "completed_at", "d": "due_at"}
#: Employee id used for activities with no employee (primary keys cannot be NULL).
NO_EMPLOYEE = 0
CALLBACK_SOURCE = "callback"

#: A client touch: a call, letter, SMS, messenger message or meeting that really happened.
TOUCH_CHANNELS: frozenset[str] = frozenset(
    {Channel.CALL, Channel.EMAIL, Channel.SMS, Channel.MESSENGER, Channel.MEETING}
)
NOT_A_TOUCH_STATUSES: frozenset[str] = frozenset(
    {Status.PLANNED, Status.CANCELLED, Status.QUEUED, Status.FAILED, Status.BOUNCED}
)
#: Statuses of the inbound calls `kpi_missed_calls` keeps (every one but answered).
MISSED_STATUSES: frozenset[str] = frozenset(s.value for s in Status if s is not Status.ANSWERED)
#: Directions of the answered calls that count as calling a client back.
CALLBACK_DIRECTIONS = (Direction.IN.value, Direction.OUT.value)


def _dims() -> list[Column[Any]]:
    """The dimension and sum columns shared by the daily and monthly roll-ups."""
    return [
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
    ]


kpi_daily = Table(
    "kpi_daily",
    metadata,
    Column("basis", String(1), primary_key=True),
    Column("day", Date, primary_key=True),
    *_dims(),
)

kpi_monthly = Table(
    "kpi_monthly",
    metadata,
    Column("basis", String(1), primary_key=True),
    Column("month", String(7), primary_key=True),
    *_dims(),
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

kpi_employee_month = Table(
    "kpi_employee_month",
    metadata,
    Column("month", String(7), primary_key=True),
    Column("employee_id", Id, primary_key=True, autoincrement=False),
    Column("contacts", Integer, nullable=False),
)

kpi_contact_touch = Table(
    "kpi_contact_touch",
    metadata,
    Column("contact_id", Id, primary_key=True, autoincrement=False),
    Column("month", String(7), primary_key=True),
    Column("n", Integer, nullable=False),
    Column("first_at", UTCDateTime(), nullable=False),
    Column("last_at", UTCDateTime(), nullable=False),
    sqlite_with_rowid=False,
)

kpi_missed_calls = Table(
    "kpi_missed_calls",
    metadata,
    Column("activity_id", Id, primary_key=True, autoincrement=False),
    Column("employee_id", Id, nullable=False),
    Column("day", Date, nullable=False),
    Column("contact_id", Id),
    Column("occurred_at", UTCDateTime(), nullable=False),
    Column("status", String(16), nullable=False),
    Column("is_client", Boolean, nullable=False),
    Column("task_done", Boolean, nullable=False),
    Column("answered_later", Boolean, nullable=False),
    Index("ix_kpi_missed_calls_day", "day", "employee_id"),
    Index("ix_kpi_missed_calls_employee", "employee_id", "day"),
    Index("ix_kpi_missed_calls_contact", "contact_id", "occurred_at"),
)

ROLLUP_TABLES = (
    kpi_daily,
    kpi_monthly,
    kpi_contact_month,
    kpi_employee_month,
    kpi_contact_touch,
    kpi_missed_calls,
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

#: Client-base quality: "has an e-mail / a phone as of" from this index alone.
KPI_IDENTITY_INDEX = Index(
    "ix_identities_kpi_contact_kind",
    identities.c.contact_id,
    identities.c.kind,
    identities.c.created_at,
)

_DIM_KEY = ("employee_id", "channel", "direction", "status", "is_client", "has_result", "late")
_DAILY_KEY = ("basis", "day", *_DIM_KEY)
_MONTHLY_KEY = ("basis", "month", *_DIM_KEY)
_MONTH_KEY = ("month", "employee_id", "contact_id")
_MISSED_COLUMNS = (
    "activity_id",
    "employee_id",
    "day",
    "contact_id",
    "occurred_at",
    "status",
    "is_client",
    "task_done",
    "answered_later",
)
_CHUNK = 500


def is_touch(channel: str, direction: str, status: str, is_client: bool) -> bool:
    """Whether an activity is a client touch (the numerator of touches per client)."""
    return (
        bool(is_client)
        and channel in TOUCH_CHANNELS
        and direction in ("in", "out")
        and status not in NOT_A_TOUCH_STATUSES
    )


def touch_clause(table: Any = activities) -> ColumnElement[bool]:
    """`is_touch` as SQL on the activities table."""
    return and_(
        table.c.is_client.is_(True),
        table.c.channel.in_(sorted(TOUCH_CHANNELS)),
        table.c.direction.in_(["in", "out"]),
        table.c.status.not_in(sorted(NOT_A_TOUCH_STATUSES)),
    )


def callback_done_clause(call_id: Any, contact_id: Any, occurred_at: Any) -> ColumnElement[bool]:
    """A completed callback task for the call, with its client, raised at or after it."""
    task = activities.alias("cb")
    return exists().where(
        and_(
            task.c.contact_id == contact_id,
            task.c.occurred_at >= occurred_at,
            task.c.channel == Channel.TASK.value,
            task.c.source == CALLBACK_SOURCE,
            task.c.status == Status.COMPLETED.value,
            task.c.meta["callback_for"].as_integer() == call_id,
        )
    )


def answered_later_clause(contact_id: Any, occurred_at: Any) -> ColumnElement[bool]:
    """An answered call (in or out) with the client after `occurred_at`."""
    later = activities.alias("later")
    return exists().where(
        and_(
            later.c.contact_id == contact_id,
            later.c.channel == Channel.CALL.value,
            later.c.status == Status.ANSWERED.value,
            later.c.direction.in_(CALLBACK_DIRECTIONS),
            later.c.occurred_at > occurred_at,
        )
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


def month_key(day: date) -> str:
    """'YYYY-MM' of a local day (the month key of every monthly roll-up)."""
    return f"{day.year:04d}-{day.month:02d}"


def month_bounds(month: str, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """[start, end) in UTC of a local month 'YYYY-MM'."""
    year, mon = int(month[:4]), int(month[5:7])
    start = date(year, mon, 1)
    end = date(year + (mon == 12), mon % 12 + 1, 1)
    return (
        datetime.combine(start, time(), tz).astimezone(UTC),
        datetime.combine(end, time(), tz).astimezone(UTC),
    )


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


# Plain strings for the hot loop (an enum's .value is a descriptor call).
_CALL = Channel.CALL.value
_TASK = Channel.TASK.value
_IN = Direction.IN.value
_ANSWERED = Status.ANSWERED.value
_COMPLETED = Status.COMPLETED.value


def _is_missed_call(row: Mapping[str, Any]) -> bool:
    return bool(row["channel"] == _CALL and row["direction"] == _IN and row["status"] != _ANSWERED)


def _is_answered_call(row: Mapping[str, Any]) -> bool:
    return bool(
        row["channel"] == _CALL
        and row["status"] == _ANSWERED
        and row["direction"] in CALLBACK_DIRECTIONS
        and row.get("contact_id") is not None
    )


def _callback_for(row: Mapping[str, Any]) -> int | None:
    """The call a callback task answers (tasks of other sources never count)."""
    if row["channel"] != _TASK or row.get("source", CALLBACK_SOURCE) != CALLBACK_SOURCE:
        return None
    meta = row.get("meta") or {}
    value = meta.get("callback_for") if isinstance(meta, Mapping) else None
    try:
        return None if value is None else int(value)
    except (TypeError, ValueError):
        return None


_UNKNOWN: Any = object()
_HOUR_END = timedelta(hours=1, microseconds=-1)


class _Deltas:
    """Every roll-up change of one `adjust`, aggregated in Python."""

    def __init__(self, tz: ZoneInfo) -> None:
        self.tz = tz
        self._offsets: dict[int, timedelta | None] = {}
        self._months: dict[date, str] = {}
        #: whether removed rows are part of this change (so removals must be matched)
        self.matching = False
        #: (basis, day, dims) -> [n, duration, talk]; months are summed from days at the end
        self.daily: dict[tuple[str, date, tuple[Any, ...]], list[float]] = defaultdict(
            lambda: [0, 0.0, 0.0]
        )
        self.contact_month: Counter[tuple[str, int, int]] = Counter()
        # (contact, month) -> [n, first, last] of added touches
        self.touch_added: dict[tuple[int, str], list[Any]] = {}
        self.touch_net: Counter[tuple[int, str]] = Counter()
        self.touch_instants: Counter[tuple[int, str, datetime]] = Counter()
        self.missed_added: dict[int, dict[str, Any]] = {}
        self.missed_removed: set[int] = set()
        self.answered_added: dict[int, datetime] = {}
        self.answered_instants: Counter[tuple[int, int, datetime]] = Counter()
        self.callback_calls: set[int] = set()

    def day(self, instant: datetime) -> date:
        """`day_of`, with the zone's offset looked up once per UTC hour."""
        value = instant if instant.tzinfo is not None else instant.replace(tzinfo=UTC)
        hour_key = int(value.timestamp()) // 3600
        offset: timedelta | None = self._offsets.get(hour_key, _UNKNOWN)
        if offset is _UNKNOWN:
            hour = datetime.fromtimestamp(hour_key * 3600, UTC)
            start = hour.astimezone(self.tz).utcoffset()
            end = (hour + _HOUR_END).astimezone(self.tz).utcoffset()
            offset = self._offsets[hour_key] = start if start == end else None
        if offset is None:  # the offset changes within this hour
            return value.astimezone(self.tz).date()
        local: datetime = value + offset
        return local.date()

    def add(self, row: Mapping[str, Any], sign: int) -> None:
        employee = row.get("employee_id") or NO_EMPLOYEE
        channel, direction, status = row["channel"], row["direction"], row["status"]
        is_client = bool(row["is_client"])
        result_flag = has_result(row.get("result"))
        completed, due = row.get("completed_at"), row.get("due_at")
        late = is_late(completed, due)
        duration = float(row.get("duration_s") or 0.0) * sign
        talk = float(row.get("talk_s") or 0.0) * sign
        occurred: datetime = row["occurred_at"]
        occurred_day = self.day(occurred)
        dims = (employee, channel, direction, status, is_client, result_flag, late)
        daily = self.daily
        for basis, instant in (("o", occurred), ("c", completed), ("d", due)):
            if instant is None:
                continue
            acc = daily[(basis, occurred_day if basis == "o" else self.day(instant), dims)]
            acc[0] += sign
            acc[1] += duration
            acc[2] += talk
        contact = row.get("contact_id")
        month = self._months.get(occurred_day)
        if month is None:
            month = self._months[occurred_day] = month_key(occurred_day)
        if contact is not None and is_touch(channel, direction, status, is_client):
            self.contact_month[(month, employee, contact)] += sign
            if self.matching:
                self.touch_instants[(contact, month, _aware(occurred))] += sign
            self.touch_net[(contact, month)] += sign
            if sign > 0:
                acc2 = self.touch_added.get((contact, month))
                if acc2 is None:
                    self.touch_added[(contact, month)] = [1, occurred, occurred]
                else:
                    acc2[0] += 1
                    acc2[1] = min(acc2[1], occurred)
                    acc2[2] = max(acc2[2], occurred)
        activity_id = row.get("id")
        if activity_id is not None and _is_missed_call(row):
            if sign > 0:
                self.missed_added[int(activity_id)] = {
                    "activity_id": int(activity_id),
                    "employee_id": employee,
                    "day": occurred_day,
                    "contact_id": contact,
                    "occurred_at": occurred,
                    "status": status,
                    "is_client": is_client,
                    "task_done": False,
                    "answered_later": False,
                }
            else:
                self.missed_removed.add(int(activity_id))
        if contact is not None and _is_answered_call(row):
            if self.matching:
                key = (int(row.get("id") or 0), contact, _aware(occurred))
                self.answered_instants[key] += sign
            if sign > 0:
                known = self.answered_added.get(contact)
                if known is None or occurred > known:
                    self.answered_added[contact] = occurred
        # only a completed callback task calls its missed call back
        call = _callback_for(row) if status == _COMPLETED else None
        if call is not None:
            self.callback_calls.add(call)


def _rows(deltas: dict[tuple[Any, ...], list[float]], names: Sequence[str]) -> list[dict[str, Any]]:
    return [
        dict(zip(names, key, strict=True), n=int(acc[0]), duration_s=acc[1], talk_s=acc[2])
        for key, acc in sorted(deltas.items())
        if acc[0] or acc[1] or acc[2]
    ]


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
    deltas = _Deltas(tz)
    deltas.matching = bool(removed)
    for row in removed:
        deltas.add(row, -1)
    for row in added:
        deltas.add(row, 1)
    daily: dict[tuple[Any, ...], list[float]] = {}
    monthly: dict[tuple[Any, ...], list[float]] = defaultdict(lambda: [0, 0.0, 0.0])
    months: dict[date, str] = {}
    for (basis, day, dims), acc in deltas.daily.items():
        daily[(basis, day, *dims)] = acc
        month = months.get(day)
        if month is None:
            month = months[day] = month_key(day)
        macc = monthly[(basis, month, *dims)]
        macc[0] += acc[0]
        macc[1] += acc[1]
        macc[2] += acc[2]
    await _upsert_counts(conn, kpi_daily, _DAILY_KEY, _rows(daily, _DAILY_KEY))
    await _upsert_counts(conn, kpi_monthly, _MONTHLY_KEY, _rows(monthly, _MONTHLY_KEY))
    await _adjust_contact_month(conn, deltas)
    await _adjust_contact_touch(conn, deltas)
    await _adjust_missed(conn, deltas)


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


async def _adjust_contact_month(conn: AsyncConnection, deltas: _Deltas) -> None:
    """Client-month counts, and the distinct clients per employee-month they imply."""
    changed = sorted((key, n) for key, n in deltas.contact_month.items() if n)
    if not changed:
        return

    def build() -> Any:
        base = _insert(conn, kpi_contact_month)
        return base.on_conflict_do_update(
            index_elements=list(_MONTH_KEY), set_={"n": kpi_contact_month.c.n + base.excluded.n}
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
        rows = [dict(zip(_MONTH_KEY, key, strict=True), n=n) for key, n in changed]
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


async def _adjust_contact_touch(conn: AsyncConnection, deltas: _Deltas) -> None:
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
    # A touch that went away (not merely re-recorded unchanged) may have been the first or
    # the last one: recompute those client-months exactly from the activities.
    gone = {(c, m) for (c, m, _), n in deltas.touch_instants.items() if n < 0}
    if gone:
        await _recompute_contact_touch(conn, sorted(gone), deltas.tz)


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


async def _adjust_missed(conn: AsyncConnection, deltas: _Deltas) -> None:
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
                set_={c: stmt.excluded[c] for c in _MISSED_COLUMNS if c != "activity_id"},
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
    lost_contacts = sorted(
        {c for (_, c, _), n in deltas.answered_instants.items() if n < 0 and c is not None}
    )
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
    for table in ROLLUP_TABLES:
        await conn.execute(delete(table))
    intervals = await _intervals(conn, tz)
    if intervals is None:
        return 0
    await _rebuild_daily(conn, intervals)
    await _rebuild_contacts(conn, intervals)
    await _rebuild_missed(conn, intervals)
    counted = [await conn.scalar(select(func.count()).select_from(t)) for t in ROLLUP_TABLES]
    return sum(int(c or 0) for c in counted)


async def _rebuild_daily(
    conn: AsyncConnection, intervals: list[tuple[datetime | None, int]]
) -> None:
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
        dims = [inner.c[name] for name in ("day", *_DIM_KEY)]
        query = select(
            literal(basis).label("basis"),
            *dims,
            func.count().label("n"),
            func.sum(inner.c.duration_s),
            func.sum(inner.c.talk_s),
        ).group_by(*dims)
        await conn.execute(
            kpi_daily.insert().from_select([*_DAILY_KEY, "n", "duration_s", "talk_s"], query)
        )
    d = kpi_daily.c
    month = _month_sql(conn, d.day)
    dims = [d.basis, month, *(d[name] for name in _DIM_KEY)]
    await conn.execute(
        kpi_monthly.insert().from_select(
            [*_MONTHLY_KEY, "n", "duration_s", "talk_s"],
            select(*dims, func.sum(d.n), func.sum(d.duration_s), func.sum(d.talk_s)).group_by(
                *dims
            ),
        )
    )


async def _rebuild_contacts(
    conn: AsyncConnection, intervals: list[tuple[datetime | None, int]]
) -> None:
    a = activities.c
    day = local_day_sql(conn, a.occurred_at, intervals)
    inner = (
        select(
            _month_sql(conn, day).label("month"),
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


async def _rebuild_missed(
    conn: AsyncConnection, intervals: list[tuple[datetime | None, int]]
) -> None:
    a = activities.c
    await conn.execute(
        kpi_missed_calls.insert().from_select(
            list(_MISSED_COLUMNS),
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
            ).where(
                and_(
                    a.channel == Channel.CALL.value,
                    a.direction == Direction.IN.value,
                    a.status != Status.ANSWERED.value,
                )
            ),
        )
    )
    m = kpi_missed_calls.c
    task = activities.alias("task")
    call = kpi_missed_calls.alias("call")
    done = (
        select(call.c.activity_id)
        .select_from(task)
        .join(call, call.c.activity_id == task.c.meta["callback_for"].as_integer())
        .where(
            and_(
                task.c.source == CALLBACK_SOURCE,
                task.c.channel == Channel.TASK.value,
                task.c.status == Status.COMPLETED.value,
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
        .where(
            and_(
                a.channel == Channel.CALL.value,
                a.status == Status.ANSWERED.value,
                a.direction.in_(CALLBACK_DIRECTIONS),
                a.contact_id.is_not(None),
            )
        )
        .group_by(a.contact_id)
        .subquery("last_answered")
    )
    await conn.execute(
        update(kpi_missed_calls)
        .where(and_(m.contact_id == last.c.contact_id, m.occurred_at < last.c.at))
        .values(answered_later=True)
    )


def open_missed_clause() -> ColumnElement[bool]:
    """A missed call nobody called back (no completed callback task, no later answered call)."""
    m = kpi_missed_calls.c
    return and_(m.task_done == false(), m.answered_later == false())
