"""Turning monthly plans and per-day norms into the plan of any period.

A month's plan is spread over its working days, so a week gets its share; a per-day
norm ("20 calls a day") becomes norm × working days of the period. Quarters and years
add their months up. Non-additive indicators (ratios, averages, shares, snapshots) take
the plan of the latest month the period touches.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from kpi.catalogue import Indicator
from kpi.periods import Period, WorkCalendar


@dataclass(frozen=True, slots=True)
class MonthPlan:
    """A plan as stored for one month: a value for the month, or a per-day norm."""

    value: float
    per_day: bool = False


def plan_for_period(
    indicator: Indicator,
    period: Period,
    month_plans: Mapping[str, MonthPlan],
    calendar: WorkCalendar,
) -> float | None:
    """The plan for `period` from the plans of the months it overlaps (or the default)."""
    default = None if indicator.default_plan is None else MonthPlan(indicator.default_plan)
    months = period.months()
    if not indicator.additive:
        for month in reversed(months):
            plan = month_plans.get(month.key, default)
            if plan is not None:
                return plan.value
        return None
    total: float | None = None
    for month in months:
        plan = month_plans.get(month.key, default)
        if plan is None:
            continue
        overlap = period.overlap(month)
        if overlap is None:
            continue
        worked = calendar.working_days(*overlap)
        if plan.per_day:
            share = plan.value * worked
        else:
            in_month = calendar.working_days(month.start, month.end)
            if in_month:
                share = plan.value * worked / in_month
            else:  # a month without working days: spread over calendar days
                share = plan.value * (overlap[1] - overlap[0]).days / (month.end - month.start).days
        total = share if total is None else total + share
    return total


def tolerated_so_far(indicator: Indicator, plan: float | None) -> float | None:
    """The plan of a running period's days elapsed as it is judged: a tolerated number of
    occurrences (a lower-is-better count: overdue interactions …) rounds up to a whole
    one, since half an overdue task cannot happen (3 a month with 4 of 23 working days
    gone tolerates 1 so far, not 0.52); any other plan is kept as it is."""
    if plan is None or not (indicator.lower_is_better and indicator.counts):
        return plan
    return float(math.ceil(plan - 1e-9))
