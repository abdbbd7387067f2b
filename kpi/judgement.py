"""Judging a fact: % of plan, colour, the arrow against the previous period, monitor group.

Higher-is-better: percent = fact / plan. Lower-is-better indicators are judged against
the tolerated number: anywhere within the tolerance the percent is 100 (a plan met; a
manager reads "0 overdue of 3 tolerated" as 100%, not 200%), every tolerance-worth above
it costs 100 points (percent = 200 − 100·fact/plan, clamped to 0…100), so 20% over the
tolerance is still green, up to 50% over is yellow, beyond that red. A tolerance of 0
means any occurrence is red.
"""

from __future__ import annotations

from enum import StrEnum

RED_BELOW = 50.0
GREEN_FROM = 80.0
MAX_LOWER_PERCENT = 100.0


class Colour(StrEnum):
    """Plan completion as a colour."""

    RED = "red"
    YELLOW = "yellow"
    GREEN = "green"


class Trend(StrEnum):
    """Whether the fact got better or worse than the previous period's (the arrow's colour)."""

    BETTER = "better"
    WORSE = "worse"
    SAME = "same"


class Direction(StrEnum):
    """Whether the fact went up or down from the previous period's (the arrow's direction):
    for a lower-is-better indicator going down is better."""

    UP = "up"
    DOWN = "down"
    FLAT = "flat"


class MonitorGroup(StrEnum):
    """Where the indicator monitor files an employee × indicator."""

    CRITICAL = "critical"
    IMPORTANT = "important"
    INFORMATION = "information"


_GROUP_BY_COLOUR = {
    Colour.RED: MonitorGroup.CRITICAL,
    Colour.YELLOW: MonitorGroup.IMPORTANT,
    Colour.GREEN: MonitorGroup.INFORMATION,
}


def percent_of_plan(fact: float, plan: float | None, *, lower_is_better: bool) -> float | None:
    """Plan completion in percent, or None without a plan (or a zero plan to exceed)."""
    if plan is None:
        return None
    if lower_is_better:
        if plan <= 0:
            return 100.0 if fact <= 0 else 0.0
        return max(0.0, min(MAX_LOWER_PERCENT, 200.0 - 100.0 * fact / plan))
    if plan <= 0:
        return None
    return 100.0 * fact / plan


def colour(percent: float | None) -> Colour | None:
    """Red below 50%, yellow 50–79%, green from 80%; None without a percent."""
    if percent is None:
        return None
    if percent < RED_BELOW:
        return Colour.RED
    if percent < GREEN_FROM:
        return Colour.YELLOW
    return Colour.GREEN


def trend(fact: float, previous: float | None, *, lower_is_better: bool) -> Trend | None:
    """Better, worse or the same as the previous period's fact; None when unknown."""
    if previous is None:
        return None
    if abs(fact - previous) < 1e-9:
        return Trend.SAME
    improved = fact < previous if lower_is_better else fact > previous
    return Trend.BETTER if improved else Trend.WORSE


def direction(fact: float, previous: float | None) -> Direction | None:
    """Up, down or flat against the previous period's fact; None when unknown."""
    if previous is None:
        return None
    if abs(fact - previous) < 1e-9:
        return Direction.FLAT
    return Direction.UP if fact > previous else Direction.DOWN


def monitor_group(value: Colour | None) -> MonitorGroup | None:
    """Critical (red), Important (yellow), For information (green); None without a plan."""
    return None if value is None else _GROUP_BY_COLOUR[value]
