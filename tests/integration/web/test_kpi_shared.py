"""The KPI table and monitor are computed once per store generation (decision 0062): an
unchanged store answers from memory with one tiny statement, concurrent identical
requests share one computation, and any write — through this app, through another
engine on the same database, or a plan — shows in the very next answer."""

from __future__ import annotations

import asyncio
import json
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event

from hub.activity import ActivityStore
from hub.model import Address, AddressKind, Channel, Direction, Status, Touch
from tests.helpers.ami_server import FakeAmiServer, ServerPlan, events_only, recordings
from tests.helpers.hub_process import start_hub, write_config
from tests.helpers.web import EXTENSIONS, T0, ApiWorld, api_world, hours, phone, seed_world

MARCH = {"period": "2024-03"}
CONCURRENT = 8
#: Requests on fresh connections: the kernel spreads them over both processes.
SPREAD = 16
REC = next(r for r in recordings() if not r.name.startswith("P") and not r.is_outage)


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


def _ask(url: str, token: str | None = None) -> dict[str, Any]:
    """One GET on a fresh connection (so the kernel may pick either process)."""
    request = urllib.request.Request(url)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=20) as resp:
        document: dict[str, Any] = json.loads(resp.read())
        return document


async def _spread(url: str, token: str | None = None) -> list[dict[str, Any]]:
    return await asyncio.gather(*(asyncio.to_thread(_ask, url, token) for _ in range(SPREAD)))


def _both_running(health: dict[str, Any]) -> bool:
    workers = health.get("workers") or []
    return len(workers) == 2 and all(w.get("state", "running") == "running" for w in workers)


async def test_two_worker_processes_never_answer_from_before_a_write(tmp_path: Path) -> None:
    """`serve --workers 2`: each process keeps answers of its own; a write by a third
    process shows in the next answer of both. (SQLite: the shared file is the harder case;
    the generation on PostgreSQL is the same row, tested above with another engine.)"""
    store_url = f"sqlite:///{tmp_path}/hub.db"
    store = await ActivityStore.open(store_url)
    seeded = await seed_world(store)
    token, alice = seeded.tokens["admin"], seeded.employees["alice"]

    async def one_more_call(n: int) -> None:
        await store.record(
            [
                Touch(
                    source="test:workers",
                    external_id=f"w{n}",
                    channel=Channel.CALL,
                    direction=Direction.OUT,
                    status=Status.ANSWERED,
                    occurred_at=T0 + hours(n),
                    counterparts=(phone(f"+749588800{n:02d}"),),
                    employee=Address(kind=AddressKind.EXTENSION, value=EXTENSIONS["alice"]),
                )
            ]
        )

    try:
        await one_more_call(1)
        async with FakeAmiServer(plan=ServerPlan(streams=[events_only(REC.read())])) as pbx:
            config = write_config(
                tmp_path / "touchhub.toml", store_url=store_url, server=pbx, rec=REC, cdr=None
            )
            hub = start_hub(config, pbx.secret, tmp_path / "serve.log", args=["--workers", "2"])
            try:
                await hub.wait_health(_both_running)
                served = {h["served_by"]["pid"] for h in await _spread(f"{hub.url}/api/v1/health")}
                assert len(served) == 2, served  # fresh connections reach both processes
                kpi = f"{hub.url}/api/v1/kpi?period=2024-03&indicator=outbound_calls"
                for n in (1, 2):
                    if n > 1:
                        await one_more_call(n)
                    tables = await _spread(kpi, token)
                    facts = {fact(t, alice) for t in tables}
                    assert facts == {n}, (n, facts)
            finally:
                assert hub.stop() == 0, hub.output()[-3000:]
    finally:
        await store.close()
