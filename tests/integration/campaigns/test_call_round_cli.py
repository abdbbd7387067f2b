"""`touchhub campaign create-round|start|status|close-call` for a call round, in both languages."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from hub.activity import ActivityStore
from hub.model import utcnow
from tests.helpers.call_round_world import CLIENTS, RoundWorld, call, seed_round_world
from tests.helpers.cli import Touchhub


def _seed(path: Path) -> RoundWorld:
    async def go() -> RoundWorld:
        store = await ActivityStore.open(f"sqlite:///{path}")
        try:
            return await seed_round_world(store)
        finally:
            await store.close()

    return asyncio.run(go())


def _record_call(path: Path, employee: str, client: str) -> None:
    async def go() -> None:
        store = await ActivityStore.open(f"sqlite:///{path}")
        try:
            await store.record([call(employee, CLIENTS[client][0], utcnow())])
        finally:
            await store.close()

    asyncio.run(go())


def test_a_round_through_the_command_line(tmp_path: Path) -> None:
    db = tmp_path / "hub.db"
    world = _seed(db)
    th = Touchhub.sqlite(db)
    alice, bob = str(world.employees["alice"]), str(world.employees["bob"])
    created = json.loads(
        th.ok(
            "campaign", "create-round", "--name", "Spring", "--template", str(world.template_id),
            "--filter", '{"all": []}', "--employee", alice, "--employee", bob,
            "--day-start", "00:00", "--day-end", "24:00", "--max-attempts", "2", "--json",
        )
    )  # fmt: skip
    assert created["channel"] == "call" and created["state"] == "draft"
    assert created["employees"] == [int(alice), int(bob)] and created["max_attempts"] == 2
    cid = str(created["id"])
    started = th.ok("campaign", "start", cid)
    assert "5 calls planned; contacts without a phone left out: 1" in started
    assert "running" in started
    _record_call(db, "alice", "Ivan Petrov")
    status = json.loads(th.ok("campaign", "status", cid, "--json"))
    by_name = {p["employee_name"]: p for p in status["progress"]}
    assert by_name["Alice"]["done"] == 1 and by_name["Alice"]["open"] == 2
    assert by_name["Bob"]["open"] == 2 and status["totals"]["total"] == 5
    # the words of the human output come from the catalogue
    russian = Touchhub(db=th.db, lang="ru").ok("campaign", "status", cid)
    assert f"Обзвон №{cid} «Spring»: идёт" in russian
    assert "выполнено" in russian and "итого" in russian and "по ответственным" in russian
    english = th.ok("campaign", "status", cid)
    assert f"Call round {cid} «Spring»: running" in english and "not reached" in english
    first_open = next(
        i["id"] for i in _items(db, int(cid)) if i["state"] == "open"
    )
    closed = th.ok("campaign", "close-call", str(first_open), "--result", "busy line", "--not-reached")
    assert f"Call #{first_open} closed: not reached" in closed
    th.fails("campaign", "close-call", str(first_open), "--result", "again")
    th.fails("campaign", "create-round", "--name", "x", "--template", str(world.template_id),
             "--filter", '{"all": []}', "--employee", "999")  # fmt: skip


def _items(path: Path, campaign_id: int) -> list[dict[str, object]]:
    async def go() -> list[dict[str, object]]:
        store = await ActivityStore.open(f"sqlite:///{path}")
        try:
            rows = await store.call_rounds.items(campaign_id=campaign_id)
            return [{"id": r.id, "state": r.state} for r in rows]
        finally:
            await store.close()

    return asyncio.run(go())
