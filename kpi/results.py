"""What the KPI service returns: frozen values with `as_dict()` for JSON, CSV and the API."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from kpi.judgement import Colour, Direction, MonitorGroup, Trend, monitor_group
from kpi.span import Span


def plain(value: Any) -> Any:
    """A value as JSON-ready data (datetimes and dates as ISO text)."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


@dataclass(frozen=True, slots=True, kw_only=True)
class Fact:
    """A computed fact and the number of records it was computed from (what drill lists);
    a count is an `int`."""

    value: int | float
    records: int


@dataclass(frozen=True, slots=True, kw_only=True)
class KpiCell:
    """One employee × indicator × period: fact, plan, %, colour and the arrow.

    `plan` is what the fact is judged against: in a running period, the plan of the days
    elapsed; `period_plan` is the whole period's. The arrow's `direction` says whether the
    fact went up or down, its `trend` whether that is better or worse."""

    employee: int
    employee_name: str
    indicator: str
    title: str
    unit: str
    period: str
    fact: int | float  # a count is an int
    records: int
    plan: float | None
    percent: float | None
    colour: Colour | None
    trend: Trend | None
    previous: int | float | None
    lower_is_better: bool
    closed: bool = False
    decimals: int = 0
    direction: Direction | None = None
    period_plan: float | None = None

    @property
    def monitor_group(self) -> MonitorGroup | None:
        return monitor_group(self.colour)

    def as_dict(self) -> dict[str, Any]:
        return {
            "employee": self.employee,
            "employee_name": self.employee_name,
            "indicator": self.indicator,
            "title": self.title,
            "unit": self.unit,
            "period": self.period,
            "fact": round(self.fact, 4),
            "records": self.records,
            "plan": None if self.plan is None else round(self.plan, 4),
            "percent": None if self.percent is None else round(self.percent, 1),
            "colour": None if self.colour is None else self.colour.value,
            "trend": None if self.trend is None else self.trend.value,
            "direction": None if self.direction is None else self.direction.value,
            "period_plan": None if self.period_plan is None else round(self.period_plan, 4),
            "previous": None if self.previous is None else round(self.previous, 4),
            "lower_is_better": self.lower_is_better,
            "closed": self.closed,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class KpiTable:
    """Employees × indicators for one period; `closed` says the facts are frozen."""

    period: str
    previous_period: str
    closed: bool
    closed_at: datetime | None
    indicators: tuple[str, ...]
    employees: tuple[tuple[int, str], ...]
    cells: tuple[KpiCell, ...]
    started: bool = True  # False: the period lies ahead, nothing in it is judged
    span: Span | None = None  # what was judged and compared (None only when built by hand)

    def cell(self, employee: int, indicator: str) -> KpiCell:
        """The cell of one employee and indicator."""
        for item in self.cells:
            if item.employee == employee and item.indicator == indicator:
                return item
        raise KeyError((employee, indicator))

    def as_dict(self) -> dict[str, Any]:
        return {
            "period": self.period,
            "previous_period": self.previous_period,
            "closed": self.closed,
            "closed_at": plain(self.closed_at),
            "started": self.started,
            "span": None if self.span is None else self.span.as_dict(),
            "indicators": list(self.indicators),
            "employees": [{"id": i, "name": n} for i, n in self.employees],
            "cells": [c.as_dict() for c in self.cells],
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class DrillPage:
    """One page of the records a fact was counted from; `next_cursor` fetches the next."""

    indicator: str
    employee: int
    period: str
    kind: str  # "activities" or "contacts"
    total: int
    items: tuple[dict[str, Any], ...]
    next_cursor: str | None
    closed: bool = False
    frozen_fact: int | float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "indicator": self.indicator,
            "employee": self.employee,
            "period": self.period,
            "kind": self.kind,
            "total": self.total,
            "items": [plain(i) for i in self.items],
            "next_cursor": self.next_cursor,
            "closed": self.closed,
            "frozen_fact": self.frozen_fact,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Monitor:
    """Subordinates × indicators grouped as Critical, Important and For information."""

    period: str
    closed: bool
    critical: tuple[KpiCell, ...]
    important: tuple[KpiCell, ...]
    information: tuple[KpiCell, ...]
    without_plan: tuple[KpiCell, ...] = field(default=())
    started: bool = True  # False: the period lies ahead, so every cell is without judgement
    span: Span | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "period": self.period,
            "closed": self.closed,
            "started": self.started,
            "span": None if self.span is None else self.span.as_dict(),
            "critical": [c.as_dict() for c in self.critical],
            "important": [c.as_dict() for c in self.important],
            "information": [c.as_dict() for c in self.information],
            "without_plan": [c.as_dict() for c in self.without_plan],
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class PlanChange:
    """A plan as set, with what it replaced."""

    employee: int
    indicator: str
    month: str
    value: float
    per_day: bool
    previous: float | None
    previous_per_day: bool | None
    set_by: str
    set_at: datetime

    def as_dict(self) -> dict[str, Any]:
        return {
            "employee": self.employee,
            "indicator": self.indicator,
            "month": self.month,
            "value": self.value,
            "per_day": self.per_day,
            "previous": self.previous,
            "previous_per_day": self.previous_per_day,
            "set_by": self.set_by,
            "set_at": self.set_at.isoformat(),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class ClosedMonth:
    """A month whose facts are frozen as the basis for bonuses."""

    month: str
    closed_at: datetime
    closed_by: str
    facts: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "month": self.month,
            "closed_at": self.closed_at.isoformat(),
            "closed_by": self.closed_by,
            "facts": self.facts,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Rebuilt:
    """What `kpi rebuild` recomputed."""

    rollup_rows: int
    clients: int
    forgotten_days: tuple[int, ...]
