"""Webhook mode: the hub registers its webhook, verifies Telegram's secret token, queues
the update and answers at once; forged, unsigned, oversized and broken requests record
nothing."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from hub.activity import ActivityStore
from hub.config import load_settings
from hub.runtime import Hub
from tests.helpers.fake_telegram import TOKEN, FakeTelegram
from tests.helpers.postgres import free_port
from tests.integration.messengers.conftest import WEBHOOK_SECRET, activity_rows

HEADER = "X-Telegram-Bot-Api-Secret-Token"


class RunningHub:
    def __init__(self, hub: Hub, store: ActivityStore, port: int) -> None:
        self.hub = hub
        self.store = store
        self.base = f"http://127.0.0.1:{port}"
        self.hook = f"{self.base}/hooks/messengers/telegram/main"


@pytest.fixture
async def running_hub(fake_tg: FakeTelegram, tmp_path: Path) -> AsyncIterator[RunningHub]:
    port = free_port()
    config = tmp_path / "touchhub.toml"
    config.write_text(
        f'demo_on_empty = false\n[store]\nurl = "sqlite:///{tmp_path}/hub.db"\n'
        f"[web]\nport = {port}\n"
        f'[messengers]\npublic_url = "http://127.0.0.1:{port}"\nwebhook_check_s = 0.2\n'
        f"[messengers.telegram.main]\ntoken = \"env:TEST_TG_TOKEN\"\nmode = \"webhook\"\n"
        f'webhook_secret = "{WEBHOOK_SECRET}"\napi_url = "{fake_tg.url}"\n',
        encoding="utf-8",
    )
    settings = load_settings(config, environ={"TEST_TG_TOKEN": TOKEN})
    store = await ActivityStore.open(settings.store_url)
    hub = Hub(settings, store)
    await hub.start()
    try:
        yield RunningHub(hub, store, port)
    finally:
        await hub.stop()
        await store.close()


def _update(update_id: int, chat: int, message_id: int, text: str) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": message_id,
            "from": {"id": chat, "is_bot": False, "first_name": "Olga"},
            "chat": {"id": chat, "type": "private", "first_name": "Olga"},
            "date": int(time.time()),
            "text": text,
        },
    }


async def _until(predicate: Any, limit: float = 10.0) -> None:
    deadline = time.monotonic() + limit
    while not await predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


async def test_the_webhook_is_registered_and_shown_in_health(
    fake_tg: FakeTelegram, running_hub: RunningHub
) -> None:
    async def registered() -> bool:
        return fake_tg.webhook.get("url") == running_hub.hook

    await _until(registered)
    assert fake_tg.webhook["secret_token"] == WEBHOOK_SECRET
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{running_hub.base}/api/v1/health") as resp,
    ):
        health = await resp.json()
    [bot] = [a for a in health["adapters"] if a["name"] == "telegram:main"]
    assert bot["state"] == "running" and bot["mode"] == "webhook"
    assert bot["webhook_registered"] is True and bot["last_error"] is None
    assert TOKEN not in json.dumps(health) and WEBHOOK_SECRET not in json.dumps(health)


async def test_a_signed_update_is_recorded_once_however_often_it_comes(
    running_hub: RunningHub,
) -> None:
    body = _update(77, 3001, 5, "Хочу заказать")
    async with aiohttp.ClientSession() as http:
        for _ in range(3):  # Telegram delivers again when unsure: one touch
            async with http.post(running_hub.hook, json=body, headers={HEADER: WEBHOOK_SECRET}) as resp:
                assert resp.status == 200

    async def recorded() -> bool:
        return "3001:5" in await activity_rows(running_hub.store)

    await _until(recorded)
    await running_hub.hub.writer.flush()
    rows = await activity_rows(running_hub.store)
    assert list(rows) == ["3001:5"] and rows["3001:5"]["preview"] == "Хочу заказать"

    async def last_update_shown() -> bool:
        health = await running_hub.hub.health()
        [bot] = [a for a in health["adapters"] if a["name"] == "telegram:main"]
        return bot["last_update_at"] is not None

    await _until(last_update_shown)


@pytest.mark.parametrize(
    ("headers", "body", "status"),
    [
        ({}, json.dumps(_update(1, 3002, 1, "x")).encode(), 401),
        ({HEADER: "forged-secret-0123456789"}, json.dumps(_update(1, 3002, 1, "x")).encode(), 403),
        ({HEADER: WEBHOOK_SECRET[:-1]}, json.dumps(_update(1, 3002, 1, "x")).encode(), 403),
        ({HEADER: WEBHOOK_SECRET}, b"{not json", 400),
        ({HEADER: WEBHOOK_SECRET}, b"[1, 2]", 400),
        (
            {HEADER: WEBHOOK_SECRET},
            json.dumps(_update(1, 3002, 1, "x" * 300_000)).encode(),
            413,
        ),
    ],
    ids=["unsigned", "forged", "truncated-secret", "not-json", "not-an-object", "oversized"],
)
async def test_bad_webhook_requests_are_refused_and_record_nothing(
    running_hub: RunningHub, headers: dict[str, str], body: bytes, status: int
) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.post(
            running_hub.hook, data=body, headers={"Content-Type": "application/json", **headers}
        ) as resp:
            assert resp.status == status
        async with http.post(
            f"{running_hub.base}/hooks/messengers/telegram/nosuchbot",
            data=body,
            headers={"Content-Type": "application/json", HEADER: WEBHOOK_SECRET},
        ) as resp:
            assert resp.status == 404
    await asyncio.sleep(0.2)
    await running_hub.hub.writer.flush()
    assert await activity_rows(running_hub.store) == {}
    assert await running_hub.store.quarantined("telegram:main") == []
