"""KPI benchmark: monthly table, a 50-row drill-down page and the monitor, on SQLite and
PostgreSQL, against a naive baseline that loads the month's activities into Python.

    .venv/bin/python -m bench.kpi.run --activities 1000000 [--backend sqlite|postgresql|both]

Seeds each store once with `hub.demo.seed` (reused if the SQLite file exists),
then reports the median of `--repeat` runs. PostgreSQL runs on its own server started
on a free loopback port (fsync on, as for any benchmark).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from sqlalchemy import select

from hub.activity.engine import create_engine, migrate
from hub.activity.schema import activities
from hub.demo import seed
from kpi import facts, queries
from kpi.catalogue import Indicator
from kpi.periods import Period
from kpi.results import DrillPage
from kpi.service import KpiService
from kpi.settings import KpiSettings
from kpi.viewer import Role, Viewer

RESULTS = Path(__file__).resolve().parents[1] / "results"


async def _timed(fn: Callable[[], Awaitable[Any]], repeat: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = await fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


async def naive_month(service: KpiService, period: Period) -> dict[tuple[int, str], int]:
    """The baseline: every activity of the month into Python, counted there (count indicators)."""
    start, end = period.utc_bounds(service.tz)
    counts: Counter[tuple[int, str]] = Counter()
    a = activities.c
    async with service.engine.connect() as conn:
        result = await conn.stream(
            select(a.employee_id, a.channel, a.direction, a.status, a.is_client).where(
                a.occurred_at >= start, a.occurred_at < end
            )
        )
        async for emp, channel, direction, status, is_client in result:
            for code, ind in service.catalogue.items():
                flt = ind.where
                if (
                    ind.aggregate.value != "count"
                    or set(flt.flags) - {"is_client"}
                    or flt.sources is not None
                    or ind.date.value != "occurred_at"
                ):
                    continue
                if "channel" in flt.enums and channel not in flt.enums["channel"]:
                    continue
                if "direction" in flt.enums and direction not in flt.enums["direction"]:
                    continue
                if "status" in flt.enums and status not in flt.enums["status"]:
                    continue
                if flt.flags.get("is_client") and not is_client:
                    continue
                counts[(emp or 0, code)] += 1
    return dict(counts)


async def _parts(service: KpiService, period: Period, repeat: int) -> dict[str, float]:
    """Where the table's time goes: facts of each indicator kind alone (one month)."""
    window = facts.Window.of(period, service.tz, service.clock())
    kinds: dict[str, list[Indicator]] = {}
    for ind in service.catalogue.values():
        if facts.uses_rollup(ind):
            kinds.setdefault("rollup_indicators", []).append(ind)
        else:
            kinds.setdefault(ind.code, []).append(ind)
    result = {}
    for name, chosen in kinds.items():

        async def run(chosen: list[Indicator] = chosen) -> None:
            async with service.engine.connect() as conn:
                await queries.tune_for_reads(conn)
                await facts.compute(conn, chosen, window, service.tz, None)

        result[name], _ = await _timed(run, repeat)
    return {k: round(v, 4) for k, v in result.items()}


async def bench_store(url: str, n: int, repeat: int, label: str) -> dict[str, Any]:
    engine = create_engine(url)
    await migrate(engine)
    async with engine.connect() as conn:
        existing = await conn.scalar(select(activities.c.id).limit(1))
    seed_s = None
    if existing is None:
        started = time.perf_counter()
        done = {"last": 0.0}

        def progress(written: int, total: int) -> None:
            if time.perf_counter() - done["last"] > 15:
                done["last"] = time.perf_counter()
                print(f"  [{label}] seeded {written}/{total}", flush=True)

        await seed(engine, activities=n, progress=progress)
        seed_s = time.perf_counter() - started
    service = KpiService(engine, KpiSettings())
    period = service.current_month().previous()  # a full month
    admin = Viewer.admin()
    await service.table(admin, period)  # warm the page cache once; every figure is warm
    table_s, table = await _timed(lambda: service.table(admin, period), repeat)
    current_s, _ = await _timed(lambda: service.table(admin, service.current_month()), repeat)
    parts = await _parts(service, period, repeat)
    busiest = max(table.cells, key=lambda c: c.records if c.indicator == "outbound_calls" else -1)
    drills = {}
    for code in (
        "outbound_calls",
        "overdue_interactions",
        "missed_not_called_back",
        "forgotten_clients",
    ):

        async def page(code: str = code) -> DrillPage:
            return await service.drill(admin, code, busiest.employee, period, limit=50)

        drills[code], _ = await _timed(page, repeat)
    head = next(e for e, _ in table.employees)
    monitor_s, _ = await _timed(lambda: service.monitor(Viewer(Role.HEAD, head), period), repeat)
    monitor_all_s, _ = await _timed(lambda: service.monitor(admin, period), repeat)
    naive_s, naive = await _timed(lambda: naive_month(service, period), min(repeat, 3))
    for (emp, code), count in naive.items():  # the baseline agrees with the table
        if emp:
            assert table.cell(emp, code).fact == count, (emp, code)
    await engine.dispose()
    return {
        "backend": label,
        "activities": n,
        "seed_s": None if seed_s is None else round(seed_s, 1),
        "period": period.key,
        "cells": len(table.cells),
        "table_s": round(table_s, 3),
        "table_current_month_s": round(current_s, 3),
        "table_parts_s": parts,
        "drill_page_s": {k: round(v, 4) for k, v in drills.items()},
        "monitor_head_s": round(monitor_s, 3),
        "monitor_all_s": round(monitor_all_s, 3),
        "naive_counts_s": round(naive_s, 3),
        "naive_over_table": round(naive_s / table_s, 1),
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--activities", type=int, default=1_000_000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dir", type=Path, default=Path("/tmp"))
    parser.add_argument(
        "--postgresql-url",
        default=None,
        help="an existing PostgreSQL database (seeded unless it has activities) "
        "instead of a server of the benchmark's own",
    )
    args = parser.parse_args()
    results = []
    if args.backend in ("sqlite", "both"):
        path = args.dir / f"kpi-bench-{args.activities}.db"
        results.append(
            await bench_store(f"sqlite:///{path}", args.activities, args.repeat, "sqlite")
        )
        print(json.dumps(results[-1]), flush=True)
    if args.backend in ("postgresql", "both") and args.postgresql_url:
        results.append(
            await bench_store(args.postgresql_url, args.activities, args.repeat, "postgresql")
        )
        print(json.dumps(results[-1]), flush=True)
    elif args.backend in ("postgresql", "both"):
        from tests.helpers.postgres import running_postgres

        with running_postgres(durable=True) as server:
            url = server.create_database()
            results.append(await bench_store(url, args.activities, args.repeat, "postgresql"))
            print(json.dumps(results[-1]), flush=True)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"kpi-{args.activities}.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
