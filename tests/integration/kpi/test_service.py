"""KpiService on a real SQLite file: facts, plans, judgement, drill-down, monitor, month close."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.activity.rollups.projections import Changes, Projections
from hub.activity.schema import identities
from hub.errors import NotFound, PermissionDenied, ValidationError
from kpi.service import KpiService
from kpi.settings import KpiSettings
from kpi.viewer import Role, Viewer
from tests.integration.kpi.world import MSK, World, days, msk

NOW = datetime(2026, 11, 15, 9, 0, tzinfo=UTC)
ADMIN = Viewer.admin()


def service(engine: AsyncEngine, now: datetime = NOW, **settings: Any) -> KpiService:
    return KpiService(engine, KpiSettings(**settings), clock=lambda: now)


@pytest.fixture
async def team(world: World) -> dict[str, int]:
    """head → (anna, boris); boris → carl. Plus an outsider under another head."""
    head = await world.employee("Head")
    anna = await world.employee("Anna", head)
    boris = await world.employee("Boris", head)
    carl = await world.employee("Carl", boris)
    other = await world.employee("Other head")
    olga = await world.employee("Olga", other)
    return {"head": head, "anna": anna, "boris": boris, "carl": carl, "other": other, "olga": olga}


async def test_month_bucket_follows_company_time_zone(
    world: World, team: dict[str, int], engine: AsyncEngine
) -> None:
    anna = team["anna"]
    await world.activities(
        [
            {
                "employee_id": anna,
                "occurred_at": msk(2026, 10, 31, 23, 30),
            },  # 20:30 UTC on the 31st
            {"employee_id": anna, "occurred_at": msk(2026, 11, 1, 0, 30)},  # 21:30 UTC on Oct 31st!
            {"employee_id": anna, "occurred_at": msk(2026, 10, 1, 0, 10)},  # 21:10 UTC on Sep 30th
        ]
    )
    svc = service(engine, datetime(2026, 12, 1, 9, tzinfo=UTC))  # November has ended
    october = await svc.table(ADMIN, "2026-10", employee=anna, indicators=["outbound_calls"])
    assert october.cell(anna, "outbound_calls").fact == 2
    november = await svc.table(ADMIN, "2026-11", employee=anna, indicators=["outbound_calls"])
    cell = november.cell(anna, "outbound_calls")
    assert (
        cell.fact == 1
        and cell.previous == 2
        and cell.trend is not None
        and cell.trend.value == "worse"
    )
    assert await svc.drill_count(ADMIN, "outbound_calls", anna, "2026-10") == 2


async def test_client_touches_only_and_internal_calls_never_count(
    world: World, team: dict[str, int], engine: AsyncEngine
) -> None:
    anna = team["anna"]
    when = msk(2026, 10, 5, 12)
    await world.activities(
        [
            {"employee_id": anna, "occurred_at": when},
            {"employee_id": anna, "occurred_at": when, "direction": "internal", "is_client": False},
            {"employee_id": anna, "occurred_at": when, "is_client": False},  # auto-reply etc.
            {"employee_id": anna, "occurred_at": when, "direction": "in", "status": "answered"},
            {"employee_id": anna, "occurred_at": when, "channel": "email", "status": "sent"},
            {"employee_id": anna, "occurred_at": when, "channel": "email", "status": "queued"},
            {
                "employee_id": anna,
                "occurred_at": when,
                "channel": "messenger",
                "status": "delivered",
            },
            {
                "employee_id": anna,
                "occurred_at": when,
                "channel": "meeting",
                "status": "completed",
                "direction": "out",
                "duration_s": 5400,
            },
        ]
    )
    table = await service(engine).table(ADMIN, "2026-10", employee=anna)
    facts = {c.indicator: c.fact for c in table.cells}
    assert facts["outbound_calls"] == 1
    assert facts["inbound_calls"] == 1
    assert facts["outgoing_letters"] == 1
    assert facts["outgoing_messages"] == 1
    assert facts["meetings_held"] == 1
    assert facts["calendar_load"] == pytest.approx(1.5)


async def test_plans_percent_colour_and_per_day_norm(
    world: World, team: dict[str, int], engine: AsyncEngine
) -> None:
    anna, head = team["anna"], team["head"]
    await world.activities(
        [{"employee_id": anna, "occurred_at": msk(2026, 10, 2 + i % 20, 11)} for i in range(40)]
    )
    svc = service(engine, holidays=["2026-11-04"])
    boss = Viewer(Role.HEAD, head)
    changes = await svc.set_plan(
        boss, "outbound_calls", "2026-10", 2, employees=[anna], per_day=True
    )
    assert changes[0].previous is None
    table = await svc.table(boss, "2026-10", indicators=["outbound_calls"])
    cell = table.cell(anna, "outbound_calls")
    assert cell.plan == 2 * 22  # October 2026 has 22 working days
    assert cell.percent == pytest.approx(100 * 40 / 44)
    assert cell.colour is not None and cell.colour.value == "green"
    # a week's share of a monthly plan, over its working days
    await svc.set_plan(boss, "outbound_calls", "2026-11", 200, employees=[anna])
    week = await svc.table(
        boss, "2026-W45", employee=anna, indicators=["outbound_calls"]
    )  # Nov 2–8, Nov 4 off
    assert week.cell(anna, "outbound_calls").plan == pytest.approx(200 * 4 / 20)
    # unplanned indicators still show their fact
    full = await svc.table(boss, "2026-10", employee=anna)
    unplanned = full.cell(anna, "outbound_calls_answered")
    assert unplanned.fact == 40 and unplanned.plan is None and unplanned.colour is None
    history = await svc.plan_history(boss, anna, "outbound_calls")
    assert [h["month"] for h in history] == ["2026-10", "2026-11"]
    await svc.set_plan(boss, "outbound_calls", "2026-10", 30, employees=[anna])
    history = await svc.plan_history(boss, anna, "outbound_calls")
    assert history[-1]["old_value"] == 2 and history[-1]["old_per_day"] is True


async def test_plan_rights_and_bad_input(
    world: World, team: dict[str, int], engine: AsyncEngine
) -> None:
    svc = service(engine)
    head = Viewer(Role.HEAD, team["head"])
    changes = await svc.set_plan(head, "meetings_held", "2026-10", 5, group=team["head"])
    assert {c.employee for c in changes} == {team["anna"], team["boris"], team["carl"]}
    with pytest.raises(PermissionDenied, match="Olga"):
        await svc.set_plan(head, "meetings_held", "2026-10", 5, employees=[team["olga"]])
    with pytest.raises(PermissionDenied):
        await svc.set_plan(
            head, "meetings_held", "2026-10", 5, employees=[team["head"]]
        )  # not their own
    with pytest.raises(PermissionDenied):
        await svc.set_plan(
            Viewer(Role.EMPLOYEE, team["anna"]),
            "meetings_held",
            "2026-10",
            5,
            employees=[team["anna"]],
        )
    with pytest.raises(ValidationError, match="unknown indicator 'nope'"):
        await svc.set_plan(ADMIN, "nope", "2026-10", 5, employees=[team["anna"]])
    with pytest.raises(NotFound, match="employee 999"):
        await svc.set_plan(ADMIN, "meetings_held", "2026-10", 5, employees=[999])
    with pytest.raises(ValidationError, match="≥ 0"):
        await svc.set_plan(ADMIN, "meetings_held", "2026-10", -1, employees=[team["anna"]])
    with pytest.raises(ValidationError, match="period '2026-13'"):
        await svc.set_plan(ADMIN, "meetings_held", "2026-13", 1, employees=[team["anna"]])
    with pytest.raises(ValidationError, match="month"):
        await svc.set_plan(ADMIN, "meetings_held", "2026-Q4", 1, employees=[team["anna"]])
    with pytest.raises(ValidationError, match="per-day"):
        await svc.set_plan(
            ADMIN, "touches_per_client", "2026-10", 3, employees=[team["anna"]], per_day=True
        )
    with pytest.raises(ValidationError, match="period"):
        await svc.table(ADMIN, "October")


async def test_visibility_follows_hierarchy(
    world: World, team: dict[str, int], engine: AsyncEngine
) -> None:
    svc = service(engine)
    head_view = await svc.table(
        Viewer(Role.HEAD, team["boris"]), "2026-10", indicators=["meetings_held"]
    )
    assert [e for e, _ in head_view.employees] == [team["boris"], team["carl"]]
    own = await svc.table(
        Viewer(Role.EMPLOYEE, team["carl"]), "2026-10", indicators=["meetings_held"]
    )
    assert [e for e, _ in own.employees] == [team["carl"]]
    everyone = await svc.table(ADMIN, "2026-10", indicators=["meetings_held"])
    assert len(everyone.employees) == 6
    with pytest.raises(PermissionDenied):
        await svc.drill(
            Viewer(Role.EMPLOYEE, team["carl"]), "meetings_held", team["anna"], "2026-10"
        )
    with pytest.raises(PermissionDenied):
        await svc.table(Viewer(Role.HEAD, team["boris"]), "2026-10", employee=team["olga"])


async def test_missed_calls_not_called_back(
    world: World, team: dict[str, int], engine: AsyncEngine
) -> None:
    anna = team["anna"]
    c1, c2, c3, c4 = (
        (await world.contact(f"C{i}", anna) for i in range(4))
        if False
        else (
            await world.contact("C1", anna),
            await world.contact("C2", anna),
            await world.contact("C3", anna),
            await world.contact("C4", anna),
        )
    )
    at = msk(2026, 10, 10, 10)
    missed = await world.activities(
        [
            {
                "employee_id": anna,
                "contact_id": c,
                "direction": "in",
                "status": "missed",
                "occurred_at": at,
            }
            for c in (c1, c2, c3, c4)
        ]
    )
    # c1: callback task completed; c2: task still planned; c3: answered call later; c4: nothing
    await world.activities(
        [
            {
                "employee_id": anna,
                "contact_id": c1,
                "channel": "task",
                "source": "callback",
                "status": "completed",
                "occurred_at": at,
                "meta": {"callback_for": missed[0]},
            },
            {
                "employee_id": anna,
                "contact_id": c2,
                "channel": "task",
                "source": "callback",
                "status": "planned",
                "occurred_at": at,
                "meta": {"callback_for": missed[1]},
            },
            {
                "employee_id": anna,
                "contact_id": c3,
                "direction": "out",
                "status": "answered",
                "occurred_at": at + days(1),
            },
        ]
    )
    svc = service(engine)
    table = await svc.table(ADMIN, "2026-10", employee=anna, indicators=["missed_not_called_back"])
    cell = table.cell(anna, "missed_not_called_back")
    assert cell.fact == 2 and cell.colour is not None and cell.colour.value == "red"  # tolerated: 0
    page = await svc.drill(ADMIN, "missed_not_called_back", anna, "2026-10")
    assert sorted(i["contact_id"] for i in page.items) == sorted([c2, c4])


async def test_overdue_interactions(
    world: World, team: dict[str, int], engine: AsyncEngine
) -> None:
    anna = team["anna"]
    due = msk(2026, 11, 10, 12)
    await world.activities(
        [
            {
                "employee_id": anna,
                "channel": "task",
                "status": "planned",
                "due_at": due,
                "occurred_at": due - days(2),
            },
            {
                "employee_id": anna,
                "channel": "task",
                "status": "completed",
                "due_at": due,
                "completed_at": due + days(1),
                "occurred_at": due - days(2),
                "result": "done late",
            },
            {
                "employee_id": anna,
                "channel": "task",
                "status": "completed",
                "due_at": due,
                "completed_at": due - days(1),
                "occurred_at": due - days(2),
                "result": "on time",
            },
            {
                "employee_id": anna,
                "channel": "task",
                "status": "cancelled",
                "due_at": due,
                "occurred_at": due - days(2),
            },
            {
                "employee_id": anna,
                "channel": "meeting",
                "status": "planned",
                "due_at": msk(2026, 11, 15, 8),
                "occurred_at": due,
            },  # due today (NOW is 12:00 MSK on the 15th): not yet overdue
            {
                "employee_id": anna,
                "channel": "task",
                "status": "planned",
                "due_at": msk(2026, 11, 20),
                "occurred_at": due,
            },
        ]
    )
    svc = service(engine)
    table = await svc.table(ADMIN, "2026-11", employee=anna)
    overdue = table.cell(anna, "overdue_interactions")
    # the tolerance of 3 a month for the 10 of November's 21 working days elapsed is 1.43,
    # rounded up to whole occurrences: 2 tolerated so far, so 2 overdue is within it
    assert overdue.fact == 2 and overdue.period_plan == 3 and overdue.lower_is_better
    assert overdue.plan == 2 and overdue.percent == 100
    assert overdue.colour is not None and overdue.colour.value == "green"
    assert table.cell(anna, "completed_interactions").fact == 2
    assert await svc.drill_count(ADMIN, "overdue_interactions", anna, "2026-11") == 2
    tomorrow = service(engine, now=datetime(2026, 11, 16, 9, tzinfo=UTC))
    assert (await tomorrow.table(ADMIN, "2026-11", employee=anna)).cell(
        anna, "overdue_interactions"
    ).fact == 3


async def test_contacts_quality_touches_and_forgotten(
    world: World, team: dict[str, int], engine: AsyncEngine
) -> None:
    anna = team["anna"]
    full = await world.contact("Full", anna, city="Kazan", email="a@x.ru", phone="+79990000001")
    half = await world.contact("Half", anna, city="Kazan")
    quiet = await world.contact("Quiet", anna, email="q@x.ru")
    await world.contact("Someone else's", team["boris"])
    await world.activities(
        [
            {"employee_id": anna, "contact_id": full, "occurred_at": msk(2026, 11, 1 + i)}
            for i in range(4)
        ]
        + [{"employee_id": anna, "contact_id": half, "occurred_at": msk(2026, 11, 3)}]
    )
    svc = service(engine)
    table = await svc.table(ADMIN, "2026-11", employee=anna)
    quality = table.cell(anna, "client_base_quality")
    assert quality.fact == pytest.approx(100 * (3 + 1 + 1) / 9) and quality.records == 3
    assert quality.colour is not None and quality.colour.value == "yellow"  # 55.6% of 80
    assert table.cell(anna, "touches_per_client").fact == pytest.approx(5 / 2)
    forgotten = table.cell(anna, "forgotten_clients")
    assert forgotten.fact == 1
    page = await svc.drill(ADMIN, "forgotten_clients", anna, "2026-11")
    assert [i["id"] for i in page.items] == [quiet]
    quality_page = await svc.drill(ADMIN, "client_base_quality", anna, "2026-11")
    assert {i["id"]: i["missing"] for i in quality_page.items}[half] == ["email", "phone"]


async def test_client_base_arrows_compare_with_the_state_at_last_months_end(
    world: World, team: dict[str, int], engine: AsyncEngine
) -> None:
    """Without a closed October, November's snapshot arrows read October's end from the
    per-owner deltas (lower is better for forgotten clients)."""
    anna = team["anna"]
    early = await world.contact("Early", anna, city="Kazan", email="e@x.ru", phone="+79990000011")
    later = await world.contact("Later", anna, city="Kazan", email="l@x.ru", phone="+79990000012")
    never = await world.contact("Never", anna, city="Kazan")
    await world.activities(
        [
            {"employee_id": anna, "contact_id": early, "occurred_at": msk(2026, 10, 5, 12)},
            {"employee_id": anna, "contact_id": later, "occurred_at": msk(2026, 10, 20, 12)},
        ]
    )
    # Never gets an e-mail on 5 November: better client-base quality than at October's end
    async with engine.begin() as conn:
        await conn.execute(
            insert(identities),
            {
                "contact_id": never,
                "kind": "email",
                "value": "n@x.ru",
                "created_at": msk(2026, 11, 5),
            },
        )
        await Projections.declared(MSK).apply(conn, Changes(contacts=frozenset({never})))
    svc = service(engine)
    table = await svc.table(ADMIN, "2026-11", employee=anna)
    forgotten = table.cell(anna, "forgotten_clients")
    # as of 16 Nov 00:00 (tonight): Early (5 Oct) and Never; as of 1 Nov: only Never
    assert (forgotten.fact, forgotten.previous) == (2, 1)
    assert forgotten.trend is not None and forgotten.trend.value == "worse"
    quality = table.cell(anna, "client_base_quality")
    assert quality.previous == pytest.approx(100 * 7 / 9)  # Never had a city only
    assert quality.fact == pytest.approx(100 * 8 / 9)
    assert quality.trend is not None and quality.trend.value == "better"
    october = await svc.table(ADMIN, "2026-10", employee=anna)  # what the arrow compared with
    assert october.cell(anna, "forgotten_clients").fact == forgotten.previous
    assert october.cell(anna, "client_base_quality").fact == pytest.approx(quality.previous)


async def test_a_share_of_nothing_is_shown_but_not_judged(
    world: World, team: dict[str, int], engine: AsyncEngine
) -> None:
    """No clients of one's own: client-base quality (plan 80 %) is 0 but not red, and
    touches per client without touches has no colour; a count of nothing is judged."""
    anna, boris = team["anna"], team["boris"]
    await world.contact("Anna's", anna, city="Kazan")
    svc = service(engine)
    table = await svc.table(ADMIN, "2026-11")
    empty = table.cell(boris, "client_base_quality")
    assert (empty.fact, empty.records, empty.percent, empty.colour, empty.trend) == (
        0.0,
        0,
        None,
        None,
        None,
    )
    judged = table.cell(anna, "client_base_quality")
    assert judged.records == 1 and judged.colour is not None
    assert table.cell(boris, "touches_per_client").colour is None
    monitor = await svc.monitor(ADMIN, "2026-11")
    critical = {(c.employee, c.indicator) for c in monitor.critical}
    assert (boris, "client_base_quality") not in critical
    assert (anna, "client_base_quality") in critical  # 1 of 3 fields: 33 % of 80


async def test_drill_pages_and_cursor(
    world: World, team: dict[str, int], engine: AsyncEngine
) -> None:
    anna = team["anna"]
    await world.activities(
        [
            # recorded out of time order, a few at the same instant
            {
                "employee_id": anna,
                "occurred_at": msk(2026, 10, 3, 9) + days((i * 37 % 120) // 2 / 10),
            }
            for i in range(120)
        ]
    )
    svc = service(engine)
    seen: list[int] = []
    order: list[tuple[datetime, int]] = []
    cursor = None
    while True:
        page = await svc.drill(ADMIN, "outbound_calls", anna, "2026-10", cursor=cursor, limit=50)
        assert page.total == 120
        seen += [i["id"] for i in page.items]
        order += [(i["occurred_at"], i["id"]) for i in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 120
    assert order == sorted(order, reverse=True)  # newest first, across pages
    first = await svc.drill(ADMIN, "outbound_calls", anna, "2026-10", limit=60)
    last = await svc.drill(
        ADMIN, "outbound_calls", anna, "2026-10", cursor=first.next_cursor, limit=60
    )
    assert len(last.items) == 60 and last.next_cursor is None  # an exactly full last page ends it
    with pytest.raises(ValidationError, match="cursor"):
        await svc.drill(ADMIN, "outbound_calls", anna, "2026-10", cursor="zzz")


async def test_monitor_groups_by_completion(
    world: World, team: dict[str, int], engine: AsyncEngine
) -> None:
    svc = service(engine)
    when = msk(2026, 10, 6, 10)
    for emp, n in ((team["anna"], 9), (team["boris"], 6), (team["carl"], 2)):
        await world.activities([{"employee_id": emp, "occurred_at": when}] * n)
        await svc.set_plan(ADMIN, "outbound_calls", "2026-10", 10, employees=[emp])
    monitor = await svc.monitor(Viewer(Role.HEAD, team["head"]), "2026-10")
    groups = {
        name: {
            (c.employee, c.indicator)
            for c in getattr(monitor, name)
            if c.indicator == "outbound_calls"
        }
        for name in ("critical", "important", "information")
    }
    assert groups == {
        "critical": {(team["carl"], "outbound_calls")},
        "important": {(team["boris"], "outbound_calls")},
        "information": {(team["anna"], "outbound_calls")},
    }
    assert all(
        c.employee != team["head"]
        for c in monitor.critical + monitor.important + monitor.information
    )


async def test_close_month_freezes_facts(
    world: World, team: dict[str, int], engine: AsyncEngine
) -> None:
    anna = team["anna"]
    svc = service(engine)
    first = await world.activity(employee_id=anna, occurred_at=msk(2026, 10, 6, 10))
    await svc.set_plan(ADMIN, "outbound_calls", "2026-10", 4, employees=[anna])
    with pytest.raises(ValidationError, match="not ended"):
        await svc.close_month(ADMIN, "2026-11")
    with pytest.raises(PermissionDenied):
        await svc.close_month(Viewer(Role.HEAD, team["head"]), "2026-10")
    closed = await svc.close_month(ADMIN, "2026-10")
    assert closed.facts == 6 * len(svc.catalogue)
    await world.activity(employee_id=anna, occurred_at=msk(2026, 10, 7, 10))
    await world.change(first, employee_id=team["boris"])
    table = await svc.table(ADMIN, "2026-10", employee=anna, indicators=["outbound_calls"])
    cell = table.cell(anna, "outbound_calls")
    assert table.closed and cell.closed and cell.fact == 1 and cell.plan == 4
    november = await svc.table(ADMIN, "2026-11", employee=anna, indicators=["outbound_calls"])
    assert november.cell(anna, "outbound_calls").previous == 1  # the frozen October
    page = await svc.drill(ADMIN, "outbound_calls", anna, "2026-10")
    assert page.closed and page.frozen_fact == 1 and page.total == 1
    with pytest.raises(ValidationError, match="closed"):
        await svc.set_plan(ADMIN, "outbound_calls", "2026-10", 5, employees=[anna])
    with pytest.raises(ValidationError, match="already closed"):
        await svc.close_month(ADMIN, "2026-10")


# -- what a manager reads: missing fields, periods ahead, whole counts ---------------------


@pytest.mark.parametrize("kept", [True, False], ids=["client-states", "scan"])
async def test_forgotten_clients_drill_names_the_missing_fields(
    world: World, team: dict[str, int], engine: AsyncEngine, tmp_path: Path, kept: bool
) -> None:
    """A forgotten client without a city says so, as client-base quality does, whether
    the store keeps its state (30 days) or the drill-down finds it by a pass (45 days)."""
    anna = team["anna"]
    quiet = await world.contact("Quiet", anna, email="q@x.ru")  # no phone, no city
    await world.contact("Full", anna, city="Kazan", email="f@x.ru", phone="+79990000031")
    extra = tmp_path / "forgotten45.toml"
    extra.write_text(
        '[[indicator]]\ncode = "forgotten_45"\ntitle = "Forgotten 45"\n'
        'aggregate = "forgotten"\ndays = 45\n',
        encoding="utf-8",
    )
    svc = service(engine, indicators_file=str(extra))
    code = "forgotten_clients" if kept else "forgotten_45"
    page = await svc.drill(ADMIN, code, anna, "2026-11")
    missing = {i["id"]: i["missing"] for i in page.items}
    assert missing[quiet] == ["phone", "city"]
    quality = await svc.drill(ADMIN, "client_base_quality", anna, "2026-11")
    assert {i["id"]: i["missing"] for i in quality.items}[quiet] == missing[quiet]


@pytest.mark.parametrize("period", ["2026-12", "2026-W47", "2026-11-16", "2027-Q1", "2030"])
async def test_a_period_ahead_is_shown_as_not_started_and_not_judged(
    world: World, team: dict[str, int], engine: AsyncEngine, period: str
) -> None:
    """NOW is 15 November 2026, 12:00 in Moscow: nothing after today has begun. Lower-is-
    better indicators with nothing counted would otherwise read 100 % and green."""
    svc = service(engine)
    await svc.set_plan(ADMIN, "outbound_calls", "2026-12", 10, employees=[team["anna"]])
    table = await svc.table(ADMIN, period)
    assert [c for c in table.cells if c.percent is not None or c.colour or c.trend] == []
    monitor = await svc.monitor(ADMIN, period)
    assert (monitor.critical, monitor.important, monitor.information) == ((), (), ())
    assert table.started is False and table.as_dict()["started"] is False
    assert monitor.started is False and monitor.as_dict()["started"] is False


@pytest.mark.parametrize("period", ["2026-11", "2026-W46", "2026-11-15", "2026-Q4"])
async def test_a_running_period_is_judged(
    world: World, team: dict[str, int], engine: AsyncEngine, period: str
) -> None:
    table = await service(engine).table(ADMIN, period, indicators=["missed_not_called_back"])
    assert {c.colour.value if c.colour else None for c in table.cells} == {"green"}
    assert table.started is True


async def test_counts_are_whole_numbers_live_and_frozen(
    world: World, team: dict[str, int], engine: AsyncEngine
) -> None:
    anna = team["anna"]
    client = await world.contact("Client", anna)
    await world.activities(
        [
            {"employee_id": anna, "contact_id": client, "occurred_at": msk(2026, 10, 6 + i, 10)}
            for i in range(3)
        ]
    )
    svc = service(engine)

    def kinds(table: Any) -> dict[str, tuple[type, type | None]]:
        cells = {c.indicator: c for c in table.cells if c.employee == anna}
        return {
            code: (type(cells[code].fact), type(cells[code].previous))
            for code in ("outbound_calls", "forgotten_clients", "touches_per_client")
        }

    live = await svc.table(ADMIN, "2026-10", employee=anna)
    assert kinds(live) == {
        "outbound_calls": (int, int),
        "forgotten_clients": (int, int),
        "touches_per_client": (float, float),
    }
    assert live.as_dict()["cells"][0]["fact"].__class__ is int  # meetings_held
    await svc.close_month(ADMIN, "2026-10")
    frozen = await svc.table(ADMIN, "2026-10", employee=anna)
    assert frozen.closed and kinds(frozen) == kinds(live)
    assert frozen.cell(anna, "outbound_calls").fact == 3
    drilled = await svc.drill(ADMIN, "outbound_calls", anna, "2026-10")
    assert drilled.frozen_fact == 3 and type(drilled.frozen_fact) is int
    november = await svc.table(ADMIN, "2026-11", employee=anna, indicators=["outbound_calls"])
    assert type(november.cell(anna, "outbound_calls").previous) is int  # the frozen October


async def test_campaign_mail_is_not_an_employees_letter_unless_an_indicator_says(
    world: World, team: dict[str, int], engine: AsyncEngine, tmp_path: Path
) -> None:
    anna = team["anna"]
    when = msk(2026, 10, 5, 12)
    letter = {"employee_id": anna, "occurred_at": when, "channel": "email", "status": "sent"}
    await world.activities(
        [
            letter,
            {**letter, "meta": {"campaign_id": 7}},
            {**letter, "meta": {"campaign_id": 7, "campaign_recipient_id": 2}},
        ]
    )
    facts = {c.indicator: c.fact for c in (await service(engine).table(ADMIN, "2026-10", employee=anna)).cells}
    assert facts["outgoing_letters"] == 1
    assert await service(engine).drill_count(ADMIN, "outgoing_letters", anna, "2026-10") == 1
    catalogue = tmp_path / "indicators.toml"
    catalogue.write_text(
        '[[indicator]]\ncode = "campaign_letters"\ntitle = "Campaign letters"\n'
        'where = { channel = "email", direction = "out", campaign = true }\n'
        '[[indicator]]\ncode = "all_letters"\ntitle = "All letters"\n'
        'where = { channel = "email", direction = "out" }\n'
    )
    custom = service(engine, indicators_file=str(catalogue))
    facts = {c.indicator: c.fact for c in (await custom.table(ADMIN, "2026-10", employee=anna)).cells}
    assert facts["campaign_letters"] == 2 and facts["all_letters"] == 3
