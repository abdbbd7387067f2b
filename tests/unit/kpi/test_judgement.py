"""Percent of plan, colour, trend (lower-is-better included), monitor groups, period plans."""

from __future__ import annotations

from datetime import date

import pytest

from kpi.catalogue import load_catalogue
from kpi.judgement import (
    Colour,
    MonitorGroup,
    Trend,
    colour,
    direction,
    monitor_group,
    percent_of_plan,
    trend,
)
from kpi.periods import Period, WorkCalendar
from kpi.plans import MonthPlan, plan_for_period, tolerated_so_far


@pytest.mark.parametrize(
    ("fact", "plan", "expected"),
    [
        (0, 10, Colour.RED),
        (4.9, 10, Colour.RED),
        (5, 10, Colour.YELLOW),
        (7.9, 10, Colour.YELLOW),
        (8, 10, Colour.GREEN),
        (15, 10, Colour.GREEN),
    ],
)
def test_colour_thresholds(fact: float, plan: float, expected: Colour) -> None:
    assert colour(percent_of_plan(fact, plan, lower_is_better=False)) is expected


@pytest.mark.parametrize(
    ("fact", "tolerated", "expected"),
    [
        (0, 3, Colour.GREEN),
        (3, 3, Colour.GREEN),
        (3.6, 3, Colour.GREEN),
        (4, 3, Colour.YELLOW),
        (4.5, 3, Colour.YELLOW),
        (5, 3, Colour.RED),
        (0, 0, Colour.GREEN),
        (1, 0, Colour.RED),
    ],
)
def test_lower_is_better_judged_against_tolerance(
    fact: float, tolerated: float, expected: Colour
) -> None:
    assert colour(percent_of_plan(fact, tolerated, lower_is_better=True)) is expected


def test_no_plan_no_colour() -> None:
    assert percent_of_plan(5, None, lower_is_better=False) is None and colour(None) is None
    assert monitor_group(None) is None
    assert monitor_group(Colour.RED) is MonitorGroup.CRITICAL
    assert monitor_group(Colour.YELLOW) is MonitorGroup.IMPORTANT
    assert monitor_group(Colour.GREEN) is MonitorGroup.INFORMATION


@pytest.mark.parametrize(
    ("fact", "previous", "lower", "expected"),
    [
        (5, 3, False, Trend.BETTER),
        (3, 5, False, Trend.WORSE),
        (4, 4, False, Trend.SAME),
        (5, 3, True, Trend.WORSE),
        (3, 5, True, Trend.BETTER),
        (0, 0, True, Trend.SAME),
        (1, None, False, None),
    ],
)
def test_trend(fact: float, previous: float | None, lower: bool, expected: Trend | None) -> None:
    assert trend(fact, previous, lower_is_better=lower) is expected


def test_period_plans_from_month_plans_and_norms() -> None:
    catalogue = load_catalogue()
    calls, quality = catalogue["outbound_calls"], catalogue["client_base_quality"]
    calendar = WorkCalendar(frozenset({5, 6}), frozenset({date(2026, 11, 4)}))
    nov = Period.parse("2026-11")
    assert (
        plan_for_period(calls, nov, {"2026-11": MonthPlan(20, per_day=True)}, calendar) == 20 * 20
    )
    assert (
        plan_for_period(calls, Period.parse("2026-W45"), {"2026-11": MonthPlan(200)}, calendar)
        == 40
    )
    quarter = plan_for_period(
        calls,
        Period.parse("2026-Q4"),
        {"2026-10": MonthPlan(100), "2026-12": MonthPlan(50)},
        calendar,
    )
    assert quarter == 150
    assert plan_for_period(calls, nov, {}, calendar) is None
    assert plan_for_period(quality, nov, {}, calendar) == 80  # the catalogue's default norm
    assert (
        plan_for_period(quality, Period.parse("2026-Q4"), {"2026-12": MonthPlan(90)}, calendar)
        == 90
    )


@pytest.mark.parametrize(
    ("fact", "previous", "lower_is_better", "way", "goodness"),
    [
        (1, 9, True, "down", "better"),  # overdue interactions 9 → 1: ▼ in green
        (9, 1, True, "up", "worse"),
        (12, 10, False, "up", "better"),
        (8, 10, False, "down", "worse"),
        (5, 5, True, "flat", "same"),
    ],
)
def test_the_arrow_says_direction_and_goodness_apart(
    fact: float, previous: float, lower_is_better: bool, way: str, goodness: str
) -> None:
    assert direction(fact, previous) == way
    assert trend(fact, previous, lower_is_better=lower_is_better) == goodness
    assert direction(fact, None) is None


def test_a_tolerated_count_so_far_rounds_up_and_nothing_else_does() -> None:
    catalogue = load_catalogue()
    overdue, calls = catalogue["overdue_interactions"], catalogue["outbound_calls"]
    assert tolerated_so_far(overdue, 3 * 4 / 23) == 1
    assert tolerated_so_far(overdue, 2.0) == 2  # a whole number stays
    assert tolerated_so_far(overdue, None) is None
    assert tolerated_so_far(calls, 3 * 4 / 23) == pytest.approx(0.5217, abs=1e-4)
