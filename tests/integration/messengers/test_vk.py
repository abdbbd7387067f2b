"""VK Callback API through the hub: the confirmation, events with the secret key (and refused
ones), edits, replies through messages.send de-duplicated with VK's message_reply, VK's
error codes, reachability and health."""

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
from hub.errors import RateLimited
from hub.model import Address, AddressKind, Channel, OutgoingMessage, SendOutcome
from hub.runtime import Hub
from tests.helpers.fake_vk import (
    ACCESS_TOKEN,
    GROUP_ID,
    FakeVk,
    event,
    message,
    message_new,
    running_fake_vk,
)
from tests.helpers.postgres import free_port
from tests.integration.messengers.conftest import activity_rows, identity_of

SECRET = "vk-callback-secret-42"
CONFIRMATION = "a1b2c3d4"
SOURCE = "vk:club"


class RunningHub:
    def __init__(self, hub: Hub, store: ActivityStore, port: int, vk: FakeVk) -> None:
        self.hub, self.store, self.vk = hub, store, vk
        self.hook = f"http://127.0.0.1:{port}/hooks/messengers/vk/club"

    async def post(self, body: bytes) -> tuple[int, str]:
        async with aiohttp.ClientSession() as http, http.post(self.hook, data=body) as resp:
            return resp.status, await resp.text()

    async def settled(self) -> None:
        await self.hub.senders[SOURCE].inbox.drain()  # type: ignore[attr-defined]
        await self.hub.writer.flush()


async def until(check: Callable[[], Any], seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not await check():
        assert time.monotonic() < deadline, "not in time"
        await asyncio.sleep(0.05)


@pytest.fixture
async def vk_hub(tmp_path: Path) -> AsyncIterator[RunningHub]:
    async with running_fake_vk() as vk:
        port = free_port()
        config = tmp_path / "touchhub.toml"
        config.write_text(
            f'demo_on_empty = false\n[store]\nurl = "sqlite:///{tmp_path}/hub.db"\n[web]\nport = {port}\n'
            "[messengers]\nwebhook_check_s = 0.1\n[messengers.vk.club]\n"
            f'group_id = {GROUP_ID}\nconfirmation = "{CONFIRMATION}"\nsecret = "env:VK_SECRET"\n'
            f'access_token = "env:VK_TOKEN"\napi_url = "{vk.url}"\nretry_base_s = 0.01\n',
            encoding="utf-8",
        )
        settings = load_settings(config, environ={"VK_SECRET": SECRET, "VK_TOKEN": ACCESS_TOKEN})
        store = await ActivityStore.open(settings.store_url)
        hub = Hub(settings, store)
        await hub.start()
        running = RunningHub(hub, store, port, vk)
        vk.callback_url, vk.callback_secret = running.hook, SECRET
        try:
            yield running
        finally:
            await hub.stop()
            await store.close()


def _to(peer: str, text: str) -> OutgoingMessage:
    return OutgoingMessage(channel=Channel.MESSENGER, to=(Address(kind=AddressKind.VK, value=peer),), body=text)


async def _vk_health(vk_hub: RunningHub) -> dict[str, Any]:
    [found] = [a for a in (await vk_hub.hub.health())["adapters"] if a["name"] == SOURCE]
    return dict(found)


async def test_confirmation_answers_the_string_and_shows_in_health(vk_hub: RunningHub) -> None:
    async def running() -> bool:
        return (await _vk_health(vk_hub))["state"] == "running"

    await until(running)
    assert (await _vk_health(vk_hub))["webhook_registered"] is False
    confirm = {"type": "confirmation", "group_id": GROUP_ID, "secret": SECRET}
    assert await vk_hub.post(json.dumps(confirm).encode()) == (200, CONFIRMATION)
    assert (await vk_hub.post(json.dumps({**confirm, "group_id": 1}).encode()))[0] == 403

    async def registered() -> bool:
        return bool((await _vk_health(vk_hub))["webhook_registered"])

    await until(registered)
    text = json.dumps(await vk_hub.hub.health())
    assert SECRET not in text and ACCESS_TOKEN not in text and CONFIRMATION not in text


async def test_a_message_is_recorded_once_however_often_it_comes_and_its_edit_updates_it(
    vk_hub: RunningHub,
) -> None:
    photo = {"type": "photo", "photo": {"id": 457239017, "owner_id": 5001, "access_key": "ab12", "sizes": []}}
    msg = message(5001, 77, "Здравствуйте, есть доставка?", attachments=[photo])
    for _ in range(2):
        assert await vk_hub.post(message_new(msg, secret=SECRET)) == (200, "ok")
    await vk_hub.settled()
    rows = await activity_rows(vk_hub.store, SOURCE)
    assert list(rows) == ["5001:77"]
    row = rows["5001:77"]
    assert (row["direction"], row["status"], row["counterpart"]) == ("in", "received", "5001")
    assert row["meta"]["attachments"] == [{"type": "photo", "id": 457239017, "owner_id": 5001, "access_key": "ab12"}]
    edited = {**msg, "text": "Здравствуйте, есть доставка в Тверь?", "update_time": msg["date"] + 30}
    assert await vk_hub.post(event("message_edit", edited, secret=SECRET)) == (200, "ok")
    await vk_hub.settled()
    rows = await activity_rows(vk_hub.store, SOURCE)
    assert list(rows) == ["5001:77"]
    assert rows["5001:77"]["preview"] == "Здравствуйте, есть доставка в Тверь?"
    assert "edited_at" in rows["5001:77"]["meta"]


@pytest.mark.parametrize(
    ("case", "status"), [("unsigned", 401), ("forged", 403), ("other-group", 403), ("oversized", 413), ("garbage", 400)]
)
async def test_bad_events_are_refused_and_record_nothing(vk_hub: RunningHub, case: str, status: int) -> None:
    msg = message(5002, 1, "hi")
    body = message_new(msg, secret=SECRET)
    if case == "unsigned":
        body = message_new(msg, secret=None)
    elif case == "forged":
        body = message_new(msg, secret="guessed")
    elif case == "other-group":
        body = event("message_new", {"message": msg}, secret=SECRET, group_id=GROUP_ID + 1)
    elif case == "oversized":
        body = message_new(message(5002, 1, "x" * 300_000), secret=SECRET)
    elif case == "garbage":
        body = json.dumps({"type": "message_new", "group_id": GROUP_ID, "secret": SECRET, "object": []}).encode()
    assert (await vk_hub.post(body))[0] == status
    await vk_hub.settled()
    assert await activity_rows(vk_hub.store, SOURCE) == {}


async def test_a_reply_goes_once_and_vks_message_reply_lands_on_it(vk_hub: RunningHub) -> None:
    assert await vk_hub.post(message_new(message(5003, 10, "Когда откроетесь?"), secret=SECRET)) == (200, "ok")
    await vk_hub.settled()
    sender = vk_hub.hub.senders[SOURCE]
    result = await sender.send(_to("5003", "В 9:00"))
    assert result.ok
    [sent] = vk_hub.vk.sent
    assert (sent["peer_id"], sent["message"], sent["v"]) == ("5003", "В 9:00", "5.199")
    assert result.external_id == f"5003:r{sent['random_id']}"

    async def replied() -> bool:
        return bool(vk_hub.vk.replies)

    await until(replied)
    await vk_hub.settled()
    rows = await activity_rows(vk_hub.store, SOURCE)
    out = [r for r in rows.values() if r["direction"] == "out"]
    assert [(r["external_id"], r["status"]) for r in out] == [(result.external_id, "sent")]


async def test_too_many_requests_is_retried_and_cannot_send_marks_unreachable(vk_hub: RunningHub) -> None:
    sender = vk_hub.hub.senders[SOURCE]
    vk_hub.vk.fail(6, "Too many requests per second")
    vk_hub.vk.fail(6, "Too many requests per second")
    result = await sender.send(_to("5004", "first"))
    assert result.ok and result.attempts == 3
    for _ in range(3):
        vk_hub.vk.fail(6, "Too many requests per second")
    with pytest.raises(RateLimited):
        await sender.send(_to("5004", "second"))
    assert await vk_hub.post(message_new(message(5005, 3, "hi"), secret=SECRET)) == (200, "ok")
    await vk_hub.settled()
    vk_hub.vk.fail(901, "Can't send messages for users without permission")
    refused = await sender.send(_to("5005", "third"))
    assert refused.outcome is SendOutcome.PERMANENT_FAILURE and "901" in (refused.reason or "")
    await vk_hub.hub.writer.flush()
    identity = await identity_of(vk_hub.store, "vk", "5005")
    assert identity is not None and identity["bouncing_at"] is not None
    assert await vk_hub.post(event("message_allow", {"user_id": 5005, "key": "k"}, secret=SECRET)) == (200, "ok")
    await vk_hub.settled()
    identity = await identity_of(vk_hub.store, "vk", "5005")
    assert identity is not None and identity["bouncing_at"] is None
    assert [s["message"] for s in vk_hub.vk.sent] == ["first"]
