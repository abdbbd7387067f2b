"""Company-local days and months, in Python (`zoneinfo`) and in SQL, to the second alike.

Roll-ups are keyed by the company-local day of a stored UTC time. Python takes it from
`zoneinfo`; SQL adds the UTC offset in force, given as a CASE over the intervals between
the zone's offset changes (`offset_intervals`), so both agree across DST changes.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Date, case, cast, func, literal
from sqlalchemy.ext.asyncio import AsyncConnection

#: [(until_instant, offset_seconds)], the last one until None.
Intervals = list[tuple[datetime | None, int]]

_UNKNOWN: Any = object()
_HOUR_END = timedelta(hours=1, microseconds=-1)


def aware(value: datetime) -> datetime:
    """A stored time as aware UTC (naive values are UTC, as stored)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def day_of(instant: datetime, tz: ZoneInfo) -> date:
    """The company-local day of an instant (naive values are UTC, as stored)."""
    return aware(instant).astimezone(tz).date()


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


class LocalDays:
    """`day_of` for many instants, with the zone's offset looked up once per UTC hour."""

    __slots__ = ("_months", "_offsets", "tz")

    def __init__(self, tz: ZoneInfo) -> None:
        self.tz = tz
        self._offsets: dict[int, timedelta | None] = {}
        self._months: dict[date, str] = {}

    def day(self, instant: datetime) -> date:
        """The local day of `instant` (the same as `day_of`)."""
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

    def month(self, day: date) -> str:
        """`month_key`, remembered per day."""
        month = self._months.get(day)
        if month is None:
            month = self._months[day] = month_key(day)
        return month


def offset_intervals(tz: ZoneInfo, start: datetime, end: datetime) -> Intervals:
    """UTC offsets of `tz` over [start, end): [(until_instant, offset_seconds)], last until None."""
    start, end = aware(start), aware(end)

    def offset(at: datetime) -> int:
        delta = at.astimezone(tz).utcoffset()
        return int(delta.total_seconds()) if delta is not None else 0

    result: Intervals = []
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


def _offset_case(column: Any, intervals: Intervals) -> ColumnElement[Any]:
    """The UTC offset (seconds) in force at `column`, as a SQL CASE."""
    if len(intervals) == 1:
        return literal(intervals[0][1])
    whens = [(column < until, off) for until, off in intervals if until is not None]
    return case(*whens, else_=intervals[-1][1])


def local_day_sql(conn: AsyncConnection, column: Any, intervals: Intervals) -> Any:
    """SQL for the company-local day of a stored UTC time (the same as `day_of`)."""
    offset = _offset_case(column, intervals)
    if conn.dialect.name == "postgresql":
        return cast(column + func.make_interval(0, 0, 0, 0, 0, 0, offset), Date)
    # SQLite rounds fractional seconds to milliseconds, which can cross midnight: cut them.
    modifier = func.printf("%+d seconds", offset)
    return func.date(func.substr(column, 1, 19), modifier)


def month_sql(conn: AsyncConnection, day: Any) -> Any:
    """SQL for `month_key` of a local day."""
    if conn.dialect.name == "postgresql":
        return func.to_char(day, "YYYY-MM")
    return func.substr(day, 1, 7)
