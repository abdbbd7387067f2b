"""A channel plugged in through the plug-in point alone: the runtime builds its adapters and
senders, the app serves its webhook through `SINK`, click-to-call and live state reach it
by capability, its senders close with the app, and `sync --once` runs it too."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp

from hub.activity import ActivityFilter, ActivityStore
from hub.channels.registry import load_plugins
from hub.config import CoreSettings, settings_model
from hub.model import Address, AddressKind, Channel, OutgoingMessage
from hub.runtime import Hub, sync_once
from tests.helpers.fake_channel import PLUGIN as FAKE
from tests.helpers.fake_channel import FakeGateway, FakeSender
from tests.helpers.postgres import free_port

PLUGINS = (*load_plugins(), FAKE)
MODEL = settings_model(PLUGINS)


async def _until(predicate: Callable[[], Awaitable[bool]], limit: float = 20) -> None:
    deadline = time.monotonic() + limit
    while not await predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


def fake_settings(tmp_path: Path, port: int) -> CoreSettings:
    return MODEL.model_validate(
        {
            "demo_on_empty": False,
            "store": {"url": f"sqlite:///{tmp_path}/hub.db"},
            "web": {"port": port},
            "fake": {"gateways": ["gw1"], "senders": ["+79990000000"]},
        }
    )


async def test_a_plugged_in_channel_is_wired_everywhere(tmp_path: Path) -> None:
    port = free_port()
    settings = fake_settings(tmp_path, port)
    store = await ActivityStore.open(f"sqlite:///{tmp_path}/hub.db")
    await store.employees.add("E101", addresses=[Address(kind=AddressKind.EXTENSION, value="101")])
    token = await store.tokens.create("admin", "admin")
    hub = Hub(settings, store, plugins=PLUGINS)
    assert [a.name for a in hub.adapters] == ["fake:gw1"]
    gateway = hub.adapters[0]
    assert isinstance(gateway, FakeGateway)
    sender = hub.senders["fake:+79990000000"]
    assert isinstance(sender, FakeSender) and sender.sink is hub.writer
    await hub.start()
    try:
        base = f"http://127.0.0.1:{port}"
        auth = {"Authorization": f"Bearer {token}"}
        async with aiohttp.ClientSession() as http:
            async with http.post(
                f"{base}/hooks/fake", json={"id": 7, "from": "+79161112233"}
            ) as resp:
                assert resp.status == 202, await resp.text()
            async with http.get(f"{base}/hooks/fake/senders") as resp:
                assert await resp.json() == ["fake:+79990000000"]
            async with http.post(
                f"{base}/api/v1/calls",
                json={"employee": "101", "number": "+74951234567"},
                headers=auth,
            ) as resp:
                assert resp.status == 201, await resp.text()
                assert (await resp.json())["channel"] == "FAKE/1"
            async with http.get(f"{base}/api/v1/calls/live/101", headers=auth) as resp:
                assert (await resp.json())["state"] == "talking"
            async with http.get(f"{base}/api/v1/health") as resp:
                health = await resp.json()
            assert [a["name"] for a in health["adapters"]] == ["fake:gw1"]
        assert gateway.calls == [("101", "+74951234567")]
        result = await sender.send(
            OutgoingMessage(
                channel=Channel.SMS,
                to=(Address(kind=AddressKind.PHONE, value="+79161112233"),),
                body="hello",
            )
        )
        assert result.ok

        async def three_sms() -> bool:
            page = await store.activities.list(ActivityFilter(channel=Channel.SMS), limit=10)
            return len(page.items) == 3  # captured at start, webhook, sent

        await _until(three_sms)
    finally:
        await hub.stop()
    assert sender.closed  # the app's cleanup_ctx closed the senders
    assert gateway.health.state.value == "stopped"
    await store.close()


async def test_sync_once_runs_a_plugged_in_channel(tmp_path: Path) -> None:
    settings = fake_settings(tmp_path, free_port())
    store = await ActivityStore.open(f"sqlite:///{tmp_path}/hub.db")
    health = await sync_once(settings, store, plugins=PLUGINS)
    assert [(h["name"], h["state"]) for h in health] == [("fake:gw1", "stopped")]
    assert await store.activities.count() == 1
    await store.close()
