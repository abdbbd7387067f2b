"""The supervisor restarts failing adapters with backoff and stops on a refused password."""

from __future__ import annotations

import asyncio
from pathlib import Path

from hub.activity import ActivityStore
from hub.config import SupervisorSettings
from hub.errors import ChannelAuthError, ChannelConnectError
from hub.model import (
    AdapterHealth,
    AdapterState,
    Address,
    AddressKind,
    Channel,
    Checkpoint,
    Direction,
    Sink,
    Status,
    Touch,
    utcnow,
)
from hub.runtime import Supervisor


class FlakyAdapter:
    """A capture adapter that fails `failures` times, then records touches and runs on."""

    def __init__(self, name: str, failures: int, error: Exception) -> None:
        self.name = name
        self.health = AdapterHealth(name=name)
        self.failures = failures
        self.error = error
        self.runs = 0
        self.done = asyncio.Event()

    async def run(self, sink: Sink) -> None:
        self.runs += 1
        if self.runs <= self.failures:
            raise self.error
        resume = int(await sink.load_checkpoint(self.name, "pos") or 0)
        for i in range(resume, resume + 5):
            await sink.put(
                Touch(
                    source=self.name,
                    external_id=str(i),
                    channel=Channel.SMS,
                    direction=Direction.IN,
                    status=Status.RECEIVED,
                    occurred_at=utcnow(),
                    counterparts=(Address(kind=AddressKind.PHONE, value="+79161234567"),),
                )
            )
            self.health.count("touches")
        await sink.put(Checkpoint(source=self.name, key="pos", value=str(resume + 5)))
        self.done.set()
        await asyncio.Event().wait()  # run until cancelled

    async def sync_once(self, sink: Sink) -> None:  # pragma: no cover - not used here
        await self.run(sink)


async def test_failing_adapter_is_restarted_and_its_work_lands_once(tmp_path: Path) -> None:
    store = await ActivityStore.open(f"sqlite:///{tmp_path}/s.db")
    flaky = FlakyAdapter("flaky", failures=2, error=ChannelConnectError("refused"))
    wrong = FlakyAdapter("wrong-password", failures=99, error=ChannelAuthError("bad secret"))
    async with store.writer() as writer:
        supervisor = Supervisor(
            [flaky, wrong], writer, SupervisorSettings(backoff_initial_s=0.01, backoff_max_s=0.05)
        )
        supervisor.start()
        await asyncio.wait_for(flaky.done.wait(), 10)
        await asyncio.sleep(0.1)
        health = {h["name"]: h for h in supervisor.health()}
        assert health["flaky"]["state"] == "running" and health["flaky"]["restarts"] == 2
        assert "refused" in health["flaky"]["last_error"]
        assert health["wrong-password"]["state"] == "failed" and wrong.runs == 1  # no retry storm
        await supervisor.stop()
        assert flaky.health.state is AdapterState.STOPPED
    assert await store.activities.count() == 5
    assert await store.get_checkpoint("flaky", "pos") == "5"
    await store.close()


async def test_overdue_interactions_are_counted(tmp_path: Path) -> None:
    from datetime import timedelta

    store = await ActivityStore.open(f"sqlite:///{tmp_path}/o.db")
    now = utcnow()
    await store.activities.add_interaction(
        channel=Channel.TASK,
        employee_id=None,
        contact_id=None,
        subject="late",
        due_at=now - timedelta(hours=1),
    )
    await store.activities.add_interaction(
        channel=Channel.TASK,
        employee_id=None,
        contact_id=None,
        subject="later",
        due_at=now + timedelta(hours=1),
    )
    assert await store.activities.overdue_count(now) == 1
    await store.close()
