"""WhatsApp Cloud API through the hub: the handshake, signed notifications (and refused ones),
statuses of our messages, replies within the 24-hour window and refused outside it."""

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
from hub.errors import ValidationError
from hub.model import Address, AddressKind, Channel, OutgoingMessage
from hub.runtime import Hub
from tests.helpers.fake_whatsapp import (
    ACCESS_TOKEN,
    PHONE_NUMBER_ID,
    FakeGraph,
    notification,
    running_fake_graph,
    sign,
    text_message,
)
from tests.helpers.postgres import free_port
from tests.integration.messengers.conftest import activity_rows

APP_SECRET = "meta-app-secret-0123456789"
VERIFY = "verify-token-for-tests"
SOURCE = "whatsapp:sales"


class RunningHub:
    def __init__(self, hub: Hub, store: ActivityStore, port: int, graph: FakeGraph) -> None:
        self.hub, self.store, self.graph = hub, store, graph
        self.hook = f"http://127.0.0.1:{port}/hooks/messengers/whatsapp/sales"

    async def post(self, body: bytes, signature: str | None) -> int:
        headers = {"Content-Type": "application/json"}
        if signature is not None:
            headers["X-Hub-Signature-256"] = signature
        async with aiohttp.ClientSession() as http, http.post(self.hook, data=body, headers=headers) as resp:
            return resp.status

    async def settled(self) -> None:
        sender = self.hub.senders[SOURCE]
        await sender.inbox.drain()  # type: ignore[attr-defined]
        await self.hub.writer.flush()


@pytest.fixture
async def wa_hub(tmp_path: Path) -> AsyncIterator[RunningHub]:
    async with running_fake_graph() as graph:
        port = free_port()
        config = tmp_path / "touchhub.toml"
        config.write_text(
            f'demo_on_empty = false\n[store]\nurl = "sqlite:///{tmp_path}/hub.db"\n[web]\nport = {port}\n'
            "[messengers]\nwebhook_check_s = 0.1\n[messengers.whatsapp.sales]\n"
            f'app_secret = "env:WA_SECRET"\nverify_token = "{VERIFY}"\n'
            f'phone_number_id = "{PHONE_NUMBER_ID}"\naccess_token = "env:WA_TOKEN"\napi_url = "{graph.url}"\n',
            encoding="utf-8",
        )
        settings = load_settings(config, environ={"WA_SECRET": APP_SECRET, "WA_TOKEN": ACCESS_TOKEN})
        store = await ActivityStore.open(settings.store_url)
        hub = Hub(settings, store)
        await hub.start()
        try:
            yield RunningHub(hub, store, port, graph)
        finally:
            await hub.stop()
            await store.close()


async def test_the_subscription_handshake_echoes_the_challenge_only_for_our_token(wa_hub: RunningHub) -> None:
    async with aiohttp.ClientSession() as http:
        params = {"hub.mode": "subscribe", "hub.verify_token": VERIFY, "hub.challenge": "1158201444"}
        async with http.get(wa_hub.hook, params=params) as resp:
            assert (resp.status, await resp.text()) == (200, "1158201444")
        async with http.get(wa_hub.hook, params={**params, "hub.verify_token": "nope"}) as resp:
            assert resp.status == 403


async def test_a_signed_message_is_recorded_once_however_often_it_comes(wa_hub: RunningHub) -> None:
    now = int(time.time())
    body = notification(
        messages=[
            text_message("79161234567", "wamid.IN1", "Здравствуйте", now),
            {
                "from": "79161234567",
                "id": "wamid.IN2",
                "timestamp": str(now),
                "type": "image",
                "image": {"id": "media-1", "mime_type": "image/jpeg", "sha256": "abc", "caption": "фото"},
            },
        ],
        names={"79161234567": "Ольга"},
    )
    for _ in range(2):
        assert await wa_hub.post(body, sign(APP_SECRET, body)) == 200
    await wa_hub.settled()
    rows = await activity_rows(wa_hub.store, SOURCE)
    assert sorted(rows) == ["wamid.IN1", "wamid.IN2"]
    first = rows["wamid.IN1"]
    assert (first["direction"], first["status"], first["preview"]) == ("in", "received", "Здравствуйте")
    assert first["counterpart"] == "+79161234567"  # a WhatsApp id is a phone number
    assert rows["wamid.IN2"]["meta"]["files"][0]["id"] == "media-1"


@pytest.mark.parametrize(
    ("case", "status"),
    [("unsigned", 401), ("forged", 403), ("other-body", 403), ("stale", 400), ("oversized", 413), ("garbage", 400)],
)
async def test_bad_notifications_are_refused_and_record_nothing(
    wa_hub: RunningHub, case: str, status: int
) -> None:
    now = int(time.time())
    body = notification(messages=[text_message("79160000001", "wamid.X", "hi", now)])
    signature: str | None = sign(APP_SECRET, body)
    if case == "unsigned":
        signature = None
    elif case == "forged":
        signature = sign("another-secret", body)
    elif case == "other-body":
        signature = sign(APP_SECRET, body + b" ")
    elif case == "stale":
        body = notification(messages=[text_message("79160000001", "wamid.X", "hi", now - 8 * 86400)])
        signature = sign(APP_SECRET, body)
    elif case == "oversized":
        body = notification(messages=[text_message("79160000001", "wamid.X", "x" * 300_000, now)])
        signature = sign(APP_SECRET, body)
    elif case == "garbage":
        body = b'{"object": "page"}'
        signature = sign(APP_SECRET, body)
    assert await wa_hub.post(body, signature) == status
    await asyncio.sleep(0.1)
    await wa_hub.settled()
    assert await activity_rows(wa_hub.store, SOURCE) == {}


def _reply(to: str, text: str, **metadata: Any) -> OutgoingMessage:
    return OutgoingMessage(
        channel=Channel.MESSENGER, to=(Address(kind=AddressKind.WHATSAPP, value=to),), body=text, metadata=metadata
    )


async def test_a_reply_in_the_window_goes_and_its_statuses_update_it(wa_hub: RunningHub) -> None:
    now = int(time.time())
    incoming = notification(messages=[text_message("79162223344", "wamid.Q", "Есть в наличии?", now)])
    assert await wa_hub.post(incoming, sign(APP_SECRET, incoming)) == 200
    await wa_hub.settled()
    sender = wa_hub.hub.senders[SOURCE]
    result = await sender.send(_reply("+7 916 222-33-44", "Да, есть", reply_to="wamid.Q"))
    assert result.ok and result.external_id is not None
    [sent] = wa_hub.graph.sent
    assert (sent["to"], sent["type"], sent["text"]["body"]) == ("79162223344", "text", "Да, есть")
    assert sent["context"] == {"message_id": "wamid.Q"}
    assert sent["biz_opaque_callback_data"] == result.external_id
    statuses = notification(
        statuses=[
            {"id": "wamid.HBgL000001", "status": status, "timestamp": str(now + n), "recipient_id": "79162223344",
             "biz_opaque_callback_data": result.external_id}
            for n, status in enumerate(("sent", "delivered", "read"))
        ]
    )
    assert await wa_hub.post(statuses, sign(APP_SECRET, statuses)) == 200
    await wa_hub.settled()
    row = (await activity_rows(wa_hub.store, SOURCE))[result.external_id]
    assert (row["direction"], row["status"]) == ("out", "read")
    assert row["meta"]["wamid"] == "wamid.HBgL000001"


async def test_free_text_outside_the_window_is_refused_a_template_goes(wa_hub: RunningHub) -> None:
    sender = wa_hub.hub.senders[SOURCE]
    with pytest.raises(ValidationError, match="24-hour"):
        await sender.send(_reply("79165550000", "Добрый день!"))
    await wa_hub.hub.writer.flush()
    assert await activity_rows(wa_hub.store, SOURCE) == {}
    assert wa_hub.graph.sent == []
    result = await sender.send(_reply("79165550000", "", template={"name": "order_ready", "language": "ru"}))
    assert result.ok
    [sent] = wa_hub.graph.sent
    assert sent["type"] == "template" and sent["template"]["name"] == "order_ready"


async def test_whatsapps_own_window_refusal_is_a_clear_permanent_failure(wa_hub: RunningHub) -> None:
    now = int(time.time())
    incoming = notification(messages=[text_message("79163334455", "wamid.R", "?", now)])
    assert await wa_hub.post(incoming, sign(APP_SECRET, incoming)) == 200
    await wa_hub.settled()
    wa_hub.graph.fail(400, 131047, "Re-engagement message")
    result = await wa_hub.hub.senders[SOURCE].send(_reply("79163334455", "answer"))
    assert not result.ok and "24-hour" in (result.reason or "")
    await wa_hub.hub.writer.flush()
    [row] = [r for r in (await activity_rows(wa_hub.store, SOURCE)).values() if r["direction"] == "out"]
    assert row["status"] == "failed"
    assert json.dumps(row["meta"]).count("131047") == 1


async def test_health_shows_the_number_its_webhook_and_its_last_notification(wa_hub: RunningHub) -> None:
    async def number() -> dict[str, Any]:
        health = await wa_hub.hub.health()
        [found] = [a for a in health["adapters"] if a["name"] == SOURCE]
        return found

    async def until(predicate: Any) -> None:
        deadline = time.monotonic() + 10
        while not predicate(await number()):
            assert time.monotonic() < deadline, await number()
            await asyncio.sleep(0.05)

    await until(lambda a: a["state"] == "running")
    assert (await number())["webhook_registered"] is False
    async with aiohttp.ClientSession() as http:
        params = {"hub.mode": "subscribe", "hub.verify_token": VERIFY, "hub.challenge": "7"}
        async with http.get(wa_hub.hook, params=params) as resp:
            assert resp.status == 200
    await until(lambda a: a["webhook_registered"] is True)
    body = notification(messages=[text_message("79167770000", "wamid.H", "hi", int(time.time()))])
    assert await wa_hub.post(body, sign(APP_SECRET, body)) == 200
    await until(lambda a: a["last_update_at"] is not None)
    text = json.dumps(await wa_hub.hub.health())
    assert APP_SECRET not in text and ACCESS_TOKEN not in text
