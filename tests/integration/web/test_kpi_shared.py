"""The KPI table and monitor are computed once per store generation (decision 0062): an
unchanged store answers from memory with one tiny statement, concurrent identical
requests share one computation, and any write — through this app, through another
engine on the same database, or a plan — shows in the very next answer."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from hub.activity import ActivityStore
from hub.model import Channel, Direction, Status
from tests.helpers.web import T0, ApiWorld, api_world, hours, phone

MARCH = {"period": "2024-03"}
CONCURRENT = 8


@contextmanager
def counting(store: ActivityStore) -> Iterator[list[str]]:
    """The SQL statements run on the store's engine while the block runs."""
    seen: list[str] = []

    def count(*args: Any) -> None:
        seen.append(str(args[2]))

    engine = store.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


async def answer(api: ApiWorld, path: str, who: str = "admin") -> dict[str, Any]:
    resp = await api.get(path, params=MARCH, who=who)
    assert resp.status == 200, await resp.text()
    body: dict[str, Any] = await resp.json()
    return body


def fact(table: dict[str, Any], employee: int, indicator: str = "outbound_calls") -> Any:
    (found,) = [c for c in table["cells"] if c["employee"] == employee and c["indicator"] == indicator]
    return found["fact"]


def monitored(monitor: dict[str, Any], employee: int) -> Any:
    every = [
        c
        for group in ("critical", "important", "information", "without_plan")
        for c in monitor[group]
        if c["employee"] == employee and c["indicator"] == "outbound_calls"
    ]
    (found,) = every
    return found["fact"]


async def call(store: ActivityStore, api: ApiWorld, n: int) -> None:
    """One more outbound client call of Alice in March, recorded through `store`."""
    world = ApiWorld(store, api.app, api.client, api.employees, api.tokens)
    await world.record(
        employee="alice",
        channel=Channel.CALL,
        direction=Direction.OUT,
        status=Status.ANSWERED,
        counterpart=phone(f"+7495777{n:04d}"),
        at=T0 + hours(n),
    )


async def test_every_write_shows_in_the_very_next_answer(
    store: ActivityStore, store_url: str
) -> None:
    async with api_world(store) as api:
        alice = api.employees["alice"]
        await call(store, api, 1)
        assert fact(await answer(api, "/api/v1/kpi"), alice) == 1
        assert monitored(await answer(api, "/api/v1/kpi/monitor", "head"), alice) == 1
        for n in range(2, 5):
            await call(store, api, n)  # through the app's own store
            assert fact(await answer(api, "/api/v1/kpi"), alice) == n
            assert monitored(await answer(api, "/api/v1/kpi/monitor", "head"), alice) == n

        # A write through another engine on the same database (as another process makes).
        other = await ActivityStore.open(store_url, run_migrations=False)
        try:
            await call(other, api, 5)
        finally:
            await other.close()
        assert fact(await answer(api, "/api/v1/kpi"), alice) == 5
        assert monitored(await answer(api, "/api/v1/kpi/monitor", "head"), alice) == 5

        # A plan is a write too: the next answer judges against it.
        plan = {"indicator": "outbound_calls", "month": "2024-03", "value": 10, "employee": alice}
        resp = await api.post("/api/v1/kpi/plans", json=plan, who="head")
        assert resp.status == 200, await resp.text()
        (cell,) = [
            c
            for c in (await answer(api, "/api/v1/kpi"))["cells"]
            if c["employee"] == alice and c["indicator"] == "outbound_calls"
        ]
        assert cell["period_plan"] == 10


async def test_concurrent_identical_requests_compute_once(store: ActivityStore) -> None:
    async with api_world(store) as api:
        alice = api.employees["alice"]
        await call(store, api, 1)
        await answer(api, "/api/v1/health")  # warm: the token lookup, pooled connections
        # (The admin's monitor is judged from the admin's table: a question of its own.)
        for path, who in (("/api/v1/kpi", "head"), ("/api/v1/kpi/monitor", "admin")):
            with counting(store) as seen:
                answers = await asyncio.gather(
                    *(answer(api, path, who) for _ in range(CONCURRENT))
                )
            assert all(a == answers[0] for a in answers)
            plans = [s for s in seen if "kpi_plans" in s]
            assert len(plans) == 1, f"{path}: the table was computed {len(plans)} times"

        # Nothing written since: one tiny statement per request, the generation.
        with counting(store) as seen:
            again = await answer(api, "/api/v1/kpi", "head")
        assert len(seen) == 1 and "store_generation" in seen[0], seen
        assert fact(again, alice) == 1


async def test_a_kept_answer_is_gzipped_tagged_and_revalidated(store: ActivityStore) -> None:
    async with api_world(store) as api:
        await call(store, api, 1)
        zipped = await api.get("/api/v1/kpi", params=MARCH, headers={"Accept-Encoding": "gzip"})
        plain = await api.get(
            "/api/v1/kpi", params=MARCH, headers={"Accept-Encoding": "identity"}
        )
        assert zipped.headers["Content-Encoding"] == "gzip"
        assert "Content-Encoding" not in plain.headers
        assert await zipped.json() == await plain.json()
        tag = zipped.headers["ETag"]
        assert plain.headers["ETag"] == tag
        unchanged = await api.get("/api/v1/kpi", params=MARCH, headers={"If-None-Match": tag})
        assert unchanged.status == 304
        await call(store, api, 2)
        changed = await api.get("/api/v1/kpi", params=MARCH, headers={"If-None-Match": tag})
        assert changed.status == 200 and changed.headers["ETag"] != tag
