"""Viber REST bot API through the hub: set_webhook and its check in health, signed callbacks
(and refused ones), statuses of our messages, replies, Viber's status codes."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from hub.activity import ActivityStore
from hub.config import load_settings
from hub.model import Address, AddressKind, Channel, OutgoingMessage, SendOutcome
from hub.runtime import Hub
from tests.helpers.fake_viber import (
    AUTH_TOKEN,
    USER_ID,
    FakeViber,
    callback,
    running_fake_viber,
    sign,
    text_message,
)
from tests.helpers.postgres import free_port
from tests.integration.messengers.conftest import activity_rows, identity_of

SOURCE = "viber:shop"


class RunningHub:
    def __init__(self, hub: Hub, store: ActivityStore, port: int, viber: FakeViber) -> None:
        self.hub, self.store, self.viber = hub, store, viber
        self.hook = f"http://127.0.0.1:{port}/hooks/messengers/viber/shop"

    async def post(self, body: bytes, signature: str | None) -> int:
        headers = {"Content-Type": "application/json"}
        if signature is not None:
            headers["X-Viber-Content-Signature"] = signature
        async with aiohttp.ClientSession() as http, http.post(self.hook, data=body, headers=headers) as resp:
            return resp.status

    async def signed(self, body: bytes) -> int:
        return await self.post(body, sign(AUTH_TOKEN, body))

    async def settled(self) -> None:
        await self.hub.senders[SOURCE].inbox.drain()  # type: ignore[attr-defined]
        await self.hub.writer.flush()

    async def health(self) -> dict[str, Any]:
        [found] = [a for a in (await self.hub.health())["adapters"] if a["name"] == SOURCE]
        return dict(found)


async def until(check: Callable[[], Any], seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not await check():
        assert time.monotonic() < deadline, "not in time"
        await asyncio.sleep(0.05)


@pytest.fixture
async def viber_hub(tmp_path: Path) -> AsyncIterator[RunningHub]:
    async with running_fake_viber() as viber:
        port = free_port()
        config = tmp_path / "touchhub.toml"
        config.write_text(
            f'demo_on_empty = false\n[store]\nurl = "sqlite:///{tmp_path}/hub.db"\n[web]\nport = {port}\n'
            f'[messengers]\nwebhook_check_s = 0.1\nretry_base_s = 0.05\nretry_max_s = 0.2\npublic_url = "http://127.0.0.1:{port}"\n'
            f'[messengers.viber.shop]\nauth_token = "env:VIBER_TOKEN"\nsender_name = "Acme"\napi_url = "{viber.url}"\n',
            encoding="utf-8",
        )
        settings = load_settings(config, environ={"VIBER_TOKEN": AUTH_TOKEN})
        store = await ActivityStore.open(settings.store_url)
        hub = Hub(settings, store)
        await hub.start()
        try:
            yield RunningHub(hub, store, port, viber)
        finally:
            await hub.stop()
            await store.close()


def _to(user: str, text: str) -> OutgoingMessage:
    return OutgoingMessage(channel=Channel.MESSENGER, to=(Address(kind=AddressKind.VIBER, value=user),), body=text)


async def test_set_webhook_is_checked_by_viber_and_health_shows_it_registered(viber_hub: RunningHub) -> None:
    async def registered() -> bool:
        health = await viber_hub.health()
        return health["state"] == "running" and health["webhook_registered"] is True

    await until(registered)
    assert viber_hub.viber.webhook == viber_hub.hook
    assert AUTH_TOKEN not in json.dumps(await viber_hub.hub.health())


async def test_a_message_is_recorded_once_however_often_it_comes(viber_hub: RunningHub) -> None:
    body = text_message(USER_ID, 4912661846655238145, "Здравствуйте!", name="Ольга")
    for _ in range(2):
        assert await viber_hub.signed(body) == 200
    picture = callback(
        "message", message_token=4912661846655238146, sender={"id": USER_ID, "name": "Ольга"},
        message={"type": "picture", "text": "вот", "media": "https://media.example/p.jpg", "file_name": "p.jpg"},
    )
    assert await viber_hub.signed(picture) == 200
    await viber_hub.settled()
    rows = await activity_rows(viber_hub.store, SOURCE)
    assert sorted(rows) == ["4912661846655238145", "4912661846655238146"]
    first = rows["4912661846655238145"]
    assert (first["direction"], first["status"], first["preview"]) == ("in", "received", "Здравствуйте!")
    assert first["counterpart"] == USER_ID  # the opaque id, case kept
    assert rows["4912661846655238146"]["meta"]["media"] == "https://media.example/p.jpg"


@pytest.mark.parametrize(
    ("case", "status"), [("unsigned", 401), ("forged", 403), ("other-body", 403), ("stale", 400), ("oversized", 413), ("garbage", 400)]
)
async def test_bad_callbacks_are_refused_and_record_nothing(viber_hub: RunningHub, case: str, status: int) -> None:
    body = text_message(USER_ID, 1, "hi")
    signature: str | None = sign(AUTH_TOKEN, body)
    if case == "unsigned":
        signature = None
    elif case == "forged":
        signature = sign("another-token", body)
    elif case == "other-body":
        signature = sign(AUTH_TOKEN, body + b" ")
    elif case == "stale":
        stale = json.loads(body)
        stale["timestamp"] -= 2 * 86400 * 1000
        body = json.dumps(stale).encode()
        signature = sign(AUTH_TOKEN, body)
    elif case == "oversized":
        body = text_message(USER_ID, 1, "x" * 300_000)
        signature = sign(AUTH_TOKEN, body)
    elif case == "garbage":
        body = b'{"event": "message", "timestamp": "yesterday"}'
        signature = sign(AUTH_TOKEN, body)
    assert await viber_hub.post(body, signature) == status
    await viber_hub.settled()
    assert await activity_rows(viber_hub.store, SOURCE) == {}


async def test_a_reply_goes_and_its_statuses_update_it(viber_hub: RunningHub) -> None:
    assert await viber_hub.signed(text_message(USER_ID, 77, "Есть размер M?")) == 200
    await viber_hub.settled()
    result = await viber_hub.hub.senders[SOURCE].send(_to(USER_ID, "Да, есть"))
    assert result.ok and result.external_id is not None
    [sent] = viber_hub.viber.sent
    assert (sent["receiver"], sent["type"], sent["text"], sent["sender"]) == (USER_ID, "text", "Да, есть", {"name": "Acme"})
    token = result.touch.metadata["message_token"] if result.touch else None
    for event in ("delivered", "seen"):
        assert await viber_hub.signed(callback(event, message_token=int(str(token)), user_id=USER_ID)) == 200
    await viber_hub.settled()
    row = (await activity_rows(viber_hub.store, SOURCE))[result.external_id]
    assert (row["direction"], row["status"]) == ("out", "read")


async def test_not_subscribed_marks_the_user_unreachable_and_subscribing_again_clears_it(
    viber_hub: RunningHub,
) -> None:
    assert await viber_hub.signed(text_message(USER_ID, 88, "hi")) == 200
    await viber_hub.settled()
    viber_hub.viber.fail(6, "receiverNotSubscribed")
    result = await viber_hub.hub.senders[SOURCE].send(_to(USER_ID, "answer"))
    assert result.outcome is SendOutcome.PERMANENT_FAILURE and "receiverNotSubscribed" in (result.reason or "")
    await viber_hub.hub.writer.flush()
    identity = await identity_of(viber_hub.store, "viber", USER_ID)
    assert identity is not None and identity["bouncing_at"] is not None
    subscribed = callback("subscribed", user={"id": USER_ID, "name": "Client"}, message_token=99)
    assert await viber_hub.signed(subscribed) == 200
    await viber_hub.settled()
    identity = await identity_of(viber_hub.store, "viber", USER_ID)
    assert identity is not None and identity["bouncing_at"] is None
    assert await viber_hub.signed(callback("unsubscribed", user_id=USER_ID, message_token=100)) == 200
    await viber_hub.settled()
    identity = await identity_of(viber_hub.store, "viber", USER_ID)
    assert identity is not None and identity["bouncing_at"] is not None
