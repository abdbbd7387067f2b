"""A running period on the real store (SQLite and PostgreSQL): its facts are judged against
the plan of the working days elapsed, and its arrows compare with the same days of the
previous period (decision 0040)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.activity.engine import create_engine, migrate
from kpi.periods import Period, WorkCalendar
from kpi.results import KpiCell
from kpi.service import KpiService
from kpi.settings import KpiSettings
from kpi.span import span_of
from kpi.viewer import Viewer
from tests.integration.kpi.world import MSK, World

ADMIN = Viewer.admin()
BERLIN = ZoneInfo("Europe/Berlin")
CALLS = "outbound_calls"


@pytest.fixture
async def engine(store_url: str) -> AsyncIterator[AsyncEngine]:
    """A migrated store on each backend."""
    eng = create_engine(store_url)
    await migrate(eng)
    yield eng
    await eng.dispose()


def at(tz: ZoneInfo, *parts: int) -> datetime:
    """An aware UTC instant given in `tz` wall time."""
    return datetime(*parts, tzinfo=tz).astimezone(UTC)  # type: ignore[misc,arg-type]


async def calls_on(world: World, employee: int, tz: ZoneInfo, *moments: tuple[int, ...]) -> None:
    await world.activities([{"employee_id": employee, "occurred_at": at(tz, *m)} for m in moments])


async def cell_at(
    engine: AsyncEngine, now: datetime, period: str, employee: int, **settings: Any
) -> tuple[KpiCell, dict[str, Any]]:
    svc = KpiService(engine, KpiSettings(**settings), clock=lambda: now)
    table = await svc.table(ADMIN, period, employee=employee, indicators=[CALLS])
    answer = table.as_dict()
    return table.cell(employee, CALLS), answer["span"]


async def test_a_month_start_is_judged_on_the_days_elapsed_and_compared_with_the_same_days(
    engine: AsyncEngine,
) -> None:
    """6 December 2026 (a Sunday): 1–6 December holds 4 working days of 23. A per-day norm
    of 1 is a plan of 4 so far, not 23; the arrow compares with 1–6 November."""
    world = World(engine)
    anna = await world.employee("Anna")
    await calls_on(
        world, anna, MSK,
        (2026, 11, 2, 10), (2026, 11, 6, 23, 59),  # inside 1–6 November
        (2026, 11, 7, 0, 1), (2026, 11, 20, 10), (2026, 11, 30, 10),  # after it
        (2026, 12, 1, 10), (2026, 12, 4, 10), (2026, 12, 6, 9),
    )  # fmt: skip
    svc = KpiService(engine, KpiSettings(), clock=lambda: at(MSK, 2026, 12, 6, 12))
    await svc.set_plan(ADMIN, CALLS, "2026-12", 1, employees=[anna], per_day=True)
    table = await svc.table(ADMIN, "2026-12", employee=anna, indicators=[CALLS])
    cell = table.cell(anna, CALLS)
    assert (cell.fact, cell.plan, cell.period_plan) == (3, 4, 23)
    assert cell.percent == pytest.approx(75.0) and cell.colour is not None
    assert cell.colour.value == "yellow"
    assert cell.previous == 2
    assert (cell.as_dict()["direction"], cell.as_dict()["trend"]) == ("up", "better")
    assert table.as_dict()["span"] == {
        "started": True,
        "running": True,
        "partial": True,
        "first_day": "2026-12-01",
        "last_day": "2026-12-06",
        "working_days": 4,
        "working_days_total": 23,
        "previous_first_day": "2026-11-01",
        "previous_last_day": "2026-11-06",
    }
    assert table.previous_period == "2026-11"
    monitor = await svc.monitor(ADMIN, "2026-12")
    assert monitor.as_dict()["span"] == table.as_dict()["span"]
    # A month value (not a norm) is spread the same way: 46 a month is 8 for 4 of 23 days.
    await svc.set_plan(ADMIN, CALLS, "2026-12", 46, employees=[anna])
    cell, _ = await cell_at(engine, at(MSK, 2026, 12, 6, 12), "2026-12", anna)
    assert (cell.plan, cell.period_plan) == (pytest.approx(8.0), 46)


async def test_holidays_of_the_calendar_leave_the_plan(engine: AsyncEngine) -> None:
    world = World(engine)
    anna = await world.employee("Anna")
    await calls_on(world, anna, MSK, (2026, 12, 2, 10))
    svc = KpiService(
        engine,
        KpiSettings(holidays=["2026-12-03", "2026-12-31"]),
        clock=lambda: at(MSK, 2026, 12, 6, 12),
    )
    await svc.set_plan(ADMIN, CALLS, "2026-12", 2, employees=[anna], per_day=True)
    table = await svc.table(ADMIN, "2026-12", employee=anna, indicators=[CALLS])
    cell = table.cell(anna, CALLS)
    assert (cell.plan, cell.period_plan) == (6, 42)  # 3 of 21 working days, 2 a day
    assert table.span is not None
    assert (table.span.working_days, table.span.working_days_total) == (3, 21)


async def test_no_working_day_yet_means_no_judgement_of_a_count(engine: AsyncEngine) -> None:
    """1 November 2026 is a Sunday: no working day has passed, so a count has no plan yet
    to be measured against (not 0 % red, not a tolerance of 0 broken)."""
    world = World(engine)
    anna = await world.employee("Anna")
    await calls_on(world, anna, MSK, (2026, 11, 1, 10))
    svc = KpiService(engine, KpiSettings(), clock=lambda: at(MSK, 2026, 11, 1, 12))
    await svc.set_plan(ADMIN, CALLS, "2026-11", 1, employees=[anna], per_day=True)
    table = await svc.table(ADMIN, "2026-11", employee=anna)
    cell = table.cell(anna, CALLS)
    assert (cell.fact, cell.plan, cell.percent, cell.colour, cell.trend) == (1, 0, None, None, None)
    overdue = table.cell(anna, "overdue_interactions")
    assert overdue.lower_is_better and overdue.percent is None and overdue.colour is None
    assert table.started is True


@pytest.mark.parametrize(
    ("today", "previous_to", "expected_previous"),
    [
        (date(2027, 3, 27), "2027-02-27", 2),  # 1–27 March against 1–27 February
        (date(2027, 3, 30), "2027-02-28", 3),  # 1–30 March against all of February
        (date(2027, 3, 31), "2027-02-28", 3),  # the last day: the whole month, both sides
        (date(2027, 2, 28), "2027-01-31", 5),  # February's last day: the whole of January
        (date(2027, 2, 27), "2027-01-27", 3),
    ],
)
async def test_month_ends_of_different_lengths(
    engine: AsyncEngine, today: date, previous_to: str, expected_previous: int
) -> None:
    world = World(engine)
    anna = await world.employee("Anna")
    await calls_on(
        world, anna, MSK,
        (2027, 1, 2, 10), (2027, 1, 27, 23, 30), (2027, 1, 20, 9), (2027, 1, 28, 10),
        (2027, 1, 31, 23, 59),
        (2027, 2, 1, 0, 0), (2027, 2, 27, 12), (2027, 2, 28, 23, 59),
    )  # fmt: skip
    now = at(MSK, today.year, today.month, today.day, 18)
    month = f"{today:%Y-%m}"
    cell, span = await cell_at(engine, now, month, anna)
    assert span["previous_last_day"] == previous_to
    assert cell.previous == expected_previous
    last_day = today == Period.parse(month).last_day
    assert span["partial"] is not last_day


async def test_same_span_across_a_dst_change(engine: AsyncEngine) -> None:
    """Berlin leaves summer time on 25 October 2026: 1–26 October (in CET from the 25th)
    compares with 1–26 September (all CEST); the day bounds follow each local midnight."""
    world = World(engine, BERLIN)
    anna = await world.employee("Anna")
    await calls_on(
        world, anna, BERLIN,
        (2026, 9, 1, 0, 5), (2026, 9, 26, 23, 55),  # inside 1–26 September
        (2026, 9, 27, 0, 5), (2026, 8, 31, 23, 55),  # just outside it
        (2026, 10, 25, 2, 30), (2026, 10, 26, 7, 0),
    )  # fmt: skip
    cell, span = await cell_at(
        engine, at(BERLIN, 2026, 10, 26, 12), "2026-10", anna, timezone="Europe/Berlin"
    )
    assert (span["first_day"], span["last_day"], span["previous_last_day"]) == ("2026-10-01", "2026-10-26", "2026-09-26")
    assert (cell.fact, cell.previous) == (2, 2)
    assert cell.as_dict()["direction"] == "flat" and cell.as_dict()["trend"] == "same"
    # Drill-down still lists everything the fact counted.
    svc = KpiService(
        engine, KpiSettings(timezone="Europe/Berlin"), clock=lambda: at(BERLIN, 2026, 10, 26, 12)
    )
    assert await svc.drill_count(ADMIN, CALLS, anna, "2026-10") == 2


async def test_a_closed_month_keeps_its_frozen_numbers_and_a_finished_one_is_whole(
    engine: AsyncEngine,
) -> None:
    world = World(engine)
    anna = await world.employee("Anna")
    await calls_on(world, anna, MSK, (2026, 10, 3, 10), (2026, 10, 20, 10), (2026, 11, 2, 10))
    svc = KpiService(engine, KpiSettings(), clock=lambda: at(MSK, 2026, 11, 6, 12))
    await svc.set_plan(ADMIN, CALLS, "2026-10", 10, employees=[anna])
    await svc.close_month(ADMIN, "2026-10")
    await calls_on(world, anna, MSK, (2026, 10, 4, 10))  # after the close
    october = (await svc.table(ADMIN, "2026-10", employee=anna, indicators=[CALLS])).cell(
        anna, CALLS
    )
    assert (october.fact, october.plan, october.closed) == (2, 10, True)
    november, span = await cell_at(engine, at(MSK, 2026, 11, 6, 12), "2026-11", anna)
    assert span["previous_last_day"] == "2026-10-06"
    assert november.previous == 2  # 3 and 4 October, counted from the activities
    # Once November has ended it is judged whole, against the frozen October.
    november, span = await cell_at(engine, at(MSK, 2026, 12, 1, 12), "2026-11", anna)
    assert span["running"] is False and span["partial"] is False
    assert november.previous == 2 and span["previous_last_day"] == "2026-10-31"


@pytest.mark.parametrize(
    ("period", "today", "judged", "previous"),
    [
        ("2026-W49", date(2026, 12, 2), ("2026-11-30", "2026-12-02"), ("2026-11-23", "2026-11-25")),
        ("2026-Q4", date(2026, 11, 15), ("2026-10-01", "2026-11-15"), ("2026-07-01", "2026-08-15")),
        ("2026-12-02", date(2026, 12, 2), ("2026-12-02", "2026-12-02"), ("2026-12-01", "2026-12-01")),
        ("2026-11", date(2026, 12, 2), ("2026-11-01", "2026-11-30"), ("2026-10-01", "2026-10-31")),
        ("2027-01", date(2026, 12, 2), ("2027-01-01", "2027-01-31"), ("2026-12-01", "2026-12-31")),
    ],
)
def test_spans_of_every_kind(
    period: str, today: date, judged: tuple[str, str], previous: tuple[str, str]
) -> None:
    span = span_of(Period.parse(period), today, WorkCalendar()).as_dict()
    assert (span["first_day"], span["last_day"]) == judged
    assert (span["previous_first_day"], span["previous_last_day"]) == previous


async def test_a_tolerated_count_so_far_is_whole(engine: AsyncEngine) -> None:
    """3 overdue interactions tolerated a month; 4 of 23 working days gone is 0.52 of one,
    rounded up: 1 overdue is within it (green), 2 are not (red)."""
    world = World(engine)
    anna = await world.employee("Anna")
    due = at(MSK, 2026, 12, 2, 10)
    task = {"employee_id": anna, "channel": "task", "status": "planned", "due_at": due}
    await world.activities([{**task, "occurred_at": at(MSK, 2026, 11, 30, 10)}])
    svc = KpiService(engine, KpiSettings(), clock=lambda: at(MSK, 2026, 12, 6, 12))
    table = await svc.table(ADMIN, "2026-12", employee=anna, indicators=["overdue_interactions"])
    cell = table.cell(anna, "overdue_interactions")
    assert (cell.fact, cell.plan, cell.period_plan, cell.percent) == (1, 1, 3, 100)
    await world.activities([{**task, "occurred_at": at(MSK, 2026, 11, 30, 11)}])
    table = await svc.table(ADMIN, "2026-12", employee=anna, indicators=["overdue_interactions"])
    cell = table.cell(anna, "overdue_interactions")
    assert (cell.fact, cell.plan, cell.percent) == (2, 1, 0)
    assert cell.colour is not None and cell.colour.value == "red"
