"""KPI periods (day … year) in the company's time zone, and the working calendar.

Activities are stored in UTC; a period is a range of local calendar days, so a call
at 23:30 Moscow time on the 31st belongs to that month. UTC bounds are computed from
local midnights through `zoneinfo`, which makes every bucket DST-safe.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from hub.errors import UnknownReference, ValidationError


class PeriodKind(StrEnum):
    """How long a period is."""

    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"
    SPAN = "span"  # any run of days [start, end): the elapsed part of a running period


_YEAR = "(19[0-9]{2}|2[0-9]{3})"
_MONTH = "(0[1-9]|1[0-2])"
_PATTERNS: tuple[tuple[re.Pattern[str], PeriodKind], ...] = (
    (re.compile(f"^{_YEAR}-{_MONTH}-(0[1-9]|[12][0-9]|3[01])\\Z"), PeriodKind.DAY),
    (re.compile(f"^{_YEAR}-W(0[1-9]|[1-4][0-9]|5[0-3])\\Z"), PeriodKind.WEEK),
    (re.compile(f"^{_YEAR}-{_MONTH}\\Z"), PeriodKind.MONTH),
    (re.compile(f"^{_YEAR}-Q([1-4])\\Z"), PeriodKind.QUARTER),
    (re.compile(f"^{_YEAR}\\Z"), PeriodKind.YEAR),
)
#: What a period key looks like (years 1900–2999), published as the API's pattern.
#: A key that matches may still name no day (2026-02-30, 2025-W53): `NoSuchPeriod`.
PERIOD_PATTERN = (
    f"^{_YEAR}(-{_MONTH}(-(0[1-9]|[12][0-9]|3[01]))?|-W(0[1-9]|[1-4][0-9]|5[0-3])|-Q[1-4])?$"
)
MONTH_PATTERN = f"^{_YEAR}-{_MONTH}$"


class NoSuchPeriod(UnknownReference):
    """A well-formed period key that names no real period (a 30 February, a 53rd week)."""


def _add_months(day: date, months: int) -> date:
    """First day of the month `months` after the month of `day`."""
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    """The UTC instant at which local `day` starts (the first existing moment of it)."""
    local = datetime.combine(day, time(0), tz)
    # If midnight falls in a DST gap, zoneinfo shifts forward on conversion: still the start.
    return local.astimezone(UTC)


def local_day(instant: datetime, tz: ZoneInfo) -> date:
    """The company-local calendar day an aware instant falls on."""
    return instant.astimezone(tz).date()


@dataclass(frozen=True, slots=True, order=True)
class Period:
    """A range of local days [start, end) of one kind; its `key` is what users type."""

    kind: PeriodKind
    start: date
    end: date

    @classmethod
    def parse(cls, text: str) -> Period:
        """Parse ``2026-10-05``, ``2026-W41``, ``2026-10``, ``2026-Q4`` or ``2026``."""
        value = text.strip()
        for pattern, kind in _PATTERNS:
            match = pattern.match(value)
            if not match:
                continue
            try:
                return cls._build(kind, tuple(int(g) for g in match.groups()))
            except ValueError as exc:
                raise NoSuchPeriod(f"there is no period {text!r}: {exc}", field="period") from exc
        raise ValidationError(
            f"period {text!r} is not one of YYYY-MM-DD, YYYY-Www, YYYY-MM, YYYY-Qn, YYYY"
            " (years 1900–2999)",
            field="period",
        )

    @classmethod
    def _build(cls, kind: PeriodKind, parts: tuple[int, ...]) -> Period:
        if kind is PeriodKind.DAY:
            day = date(*parts)
            return cls(kind, day, day + timedelta(days=1))
        if kind is PeriodKind.WEEK:
            start = date.fromisocalendar(parts[0], parts[1], 1)
            return cls(kind, start, start + timedelta(days=7))
        if kind is PeriodKind.MONTH:
            start = date(parts[0], parts[1], 1)
            return cls(kind, start, _add_months(start, 1))
        if kind is PeriodKind.QUARTER:
            start = date(parts[0], (parts[1] - 1) * 3 + 1, 1)
            return cls(kind, start, _add_months(start, 3))
        start = date(parts[0], 1, 1)
        return cls(kind, start, date(parts[0] + 1, 1, 1))

    @classmethod
    def span(cls, start: date, end: date) -> Period:
        """The local days [start, end) as a period of their own (at least one day)."""
        if end <= start:
            raise ValueError(f"an empty span {start}..{end}")
        return cls(PeriodKind.SPAN, start, end)

    @classmethod
    def containing(cls, kind: PeriodKind, day: date) -> Period:
        """The period of `kind` that contains local `day` (a span contains nothing)."""
        if kind is PeriodKind.SPAN:
            raise ValueError("a span is not a calendar period")
        if kind is PeriodKind.DAY:
            return cls(kind, day, day + timedelta(days=1))
        if kind is PeriodKind.WEEK:
            start = day - timedelta(days=day.weekday())
            return cls(kind, start, start + timedelta(days=7))
        if kind is PeriodKind.MONTH:
            start = day.replace(day=1)
            return cls(kind, start, _add_months(start, 1))
        if kind is PeriodKind.QUARTER:
            start = date(day.year, (day.month - 1) // 3 * 3 + 1, 1)
            return cls(kind, start, _add_months(start, 3))
        return cls(kind, date(day.year, 1, 1), date(day.year + 1, 1, 1))

    @classmethod
    def current(cls, kind: PeriodKind, now: datetime, tz: ZoneInfo) -> Period:
        """The period of `kind` running at instant `now` in the company's time zone."""
        return cls.containing(kind, local_day(now, tz))

    @property
    def key(self) -> str:
        """The canonical text form, the inverse of `parse` (a span: first..last day)."""
        if self.kind is PeriodKind.SPAN:
            return f"{self.start.isoformat()}..{(self.end - timedelta(days=1)).isoformat()}"
        if self.kind is PeriodKind.DAY:
            return self.start.isoformat()
        if self.kind is PeriodKind.WEEK:
            year, week, _ = self.start.isocalendar()
            return f"{year}-W{week:02d}"
        if self.kind is PeriodKind.MONTH:
            return f"{self.start.year}-{self.start.month:02d}"
        if self.kind is PeriodKind.QUARTER:
            return f"{self.start.year}-Q{(self.start.month - 1) // 3 + 1}"
        return str(self.start.year)

    def __str__(self) -> str:
        return self.key

    def previous(self) -> Period:
        """The period of the same kind just before this one."""
        return Period.containing(self.kind, self.start - timedelta(days=1))

    def next(self) -> Period:
        """The period of the same kind just after this one."""
        return Period.containing(self.kind, self.end)

    @property
    def last_day(self) -> date:
        """The period's last local day."""
        return self.end - timedelta(days=1)

    def days(self) -> Iterator[date]:
        """Every local day of the period."""
        day = self.start
        while day < self.end:
            yield day
            day += timedelta(days=1)

    def utc_bounds(self, tz: ZoneInfo) -> tuple[datetime, datetime]:
        """[start, end) as aware UTC instants: local midnight of the first and the next day."""
        return local_midnight(self.start, tz), local_midnight(self.end, tz)

    def months(self) -> list[Period]:
        """The calendar months this period overlaps (one for day, week and month)."""
        result: list[Period] = []
        month = Period.containing(PeriodKind.MONTH, self.start)
        while month.start < self.end:
            result.append(month)
            month = month.next()
        return result

    def overlap(self, other: Period) -> tuple[date, date] | None:
        """The shared [start, end) of two periods, if any."""
        start, end = max(self.start, other.start), min(self.end, other.end)
        return (start, end) if start < end else None


def parse_month(text: str) -> Period:
    """Parse a month (``2026-10``); anything else is a `ValidationError`."""
    period = Period.parse(text)
    if period.kind is not PeriodKind.MONTH:
        raise ValidationError(
            f"{text!r} is a {period.kind}, a month (YYYY-MM) is needed", field="month"
        )
    return period


@dataclass(frozen=True, slots=True)
class WorkCalendar:
    """Which days are worked: not a weekend weekday (0 = Monday) and not a holiday."""

    weekends: frozenset[int] = frozenset({5, 6})
    holidays: frozenset[date] = frozenset()

    @classmethod
    def from_settings(cls, weekends: Iterable[int], holidays: Iterable[str]) -> WorkCalendar:
        """Build from `[kpi] weekends` and `holidays` (ISO dates), naming a bad entry."""
        days: set[date] = set()
        for text in holidays:
            try:
                days.add(date.fromisoformat(text))
            except ValueError as exc:
                raise ValidationError(
                    f"holiday {text!r} is not an ISO date", field="holidays"
                ) from exc
        bad = [d for d in weekends if not 0 <= d <= 6]
        if bad:
            raise ValidationError(
                f"weekend day(s) {bad} not in 0..6 (0 = Monday)", field="weekends"
            )
        return cls(frozenset(weekends), frozenset(days))

    def is_working(self, day: date) -> bool:
        """True on a working day."""
        return day.weekday() not in self.weekends and day not in self.holidays

    def working_days(self, start: date, end: date) -> int:
        """The number of working days in [start, end)."""
        count = 0
        day = start
        while day < end:
            count += self.is_working(day)
            day += timedelta(days=1)
        return count
