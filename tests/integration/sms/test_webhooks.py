"""The gateway callbacks on their own: the app holds a real Kannel sender (no Kannel behind
it) and a recording sink; what is recorded, refused or answered for each kind of request."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import aiohttp
import pytest
from aiohttp import web

from hub.channels.plugin import SENDERS, SINK
from hub.channels.sms import webhooks
from hub.channels.sms.factory import build_sender
from hub.channels.sms.settings import SmsSettings
from hub.model import Direction, SinkItem, Status, StatusUpdate, Touch
from tests.helpers.postgres import free_port

TOKEN = "hook-token-0123456789abcdef"


@dataclass
class Recorder:
    """A sink that keeps what it is given."""

    items: list[SinkItem] = field(default_factory=list)

    async def put(self, item: SinkItem) -> None:
        self.items.append(item)

    async def flush(self) -> None:
        return None

    async def load_checkpoint(self, source: str, key: str) -> str | None:
        return None


def settings(secret: str | None) -> SmsSettings:
    gateway: dict[str, object] = {
        "kind": "kannel",
        "url": f"kannel://tester@127.0.0.1:{free_port()}",  # nobody there
        "password": "pw",
        "sender": "1234",
    }
    if secret:
        gateway["dlr_secret"] = secret
    return SmsSettings.model_validate(
        {"max_attempts": 1, "timeout_s": 1, "gateways": {"main": gateway, "open": {**gateway}}}
    )


@pytest.fixture
async def hooks() -> AsyncIterator[tuple[str, Recorder]]:
    recorder = Recorder()
    with_secret, without = settings(TOKEN), settings(None)
    senders = {
        "sms:main": build_sender(with_secret, "main", recorder),
        "sms:open": build_sender(without, "open", recorder),
    }
    app = web.Application()
    app[SINK] = recorder
    app[SENDERS] = senders
    app.router.add_routes(webhooks.routes)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}/hooks/sms", recorder
    finally:
        await runner.cleanup()
        for sender in senders.values():
            await sender.close()


MO = {"from": "79001234567", "to": "1234", "id": "k-1", "at": "1765000000"}


async def test_a_gateway_without_a_token_configured_accepts_no_callback(
    hooks: tuple[str, Recorder],
) -> None:
    base, recorder = hooks
    async with aiohttp.ClientSession() as http:
        for token in (TOKEN, "anything-0123456789"):
            async with http.get(f"{base}/open/mo", params={**MO, "text": "hi", "token": token}) as r:
                assert r.status == 403
    assert recorder.items == []


async def test_a_posted_form_is_read_like_a_query(hooks: tuple[str, Recorder]) -> None:
    base, recorder = hooks
    async with aiohttp.ClientSession() as http:
        async with http.post(
            f"{base}/main/dlr", data={"id": "m-1", "type": "1", "reply": "DELIVRD", "token": TOKEN}
        ) as r:
            assert r.status == 200
        async with http.post(
            f"{base}/main/dlr?token={TOKEN}",
            data=b"id=m-1&type=\xff",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        ) as r:
            assert r.status == 400
    (update,) = recorder.items
    assert isinstance(update, StatusUpdate)
    assert (update.source, update.external_id, update.status) == ("sms:main", "m-1", Status.DELIVERED)


@pytest.mark.parametrize(
    ("text", "opt_out"),
    [(" stop ", True), ("ОТПИСАТЬСЯ", True), ("Стоп", True), ("stop please", False), ("", False)],
)
async def test_only_a_whole_opt_out_word_opts_out(
    hooks: tuple[str, Recorder], text: str, opt_out: bool
) -> None:
    base, recorder = hooks
    params = {**MO, "text": text, "token": TOKEN}
    async with aiohttp.ClientSession() as http, http.get(f"{base}/main/mo", params=params) as r:
        assert r.status == 200
    touch = recorder.items[0]
    assert isinstance(touch, Touch) and touch.direction is Direction.IN
    assert touch.metadata.get("opt_out", False) is opt_out
    # The confirmation is attempted through the gateway's sender (its queued touch is
    # recorded); Kannel is not there, so it fails and is only logged.
    outgoing = [i for i in recorder.items[1:] if isinstance(i, Touch)]
    assert [t.external_id for t in outgoing] == (["optout-k-1"] if opt_out else [])


async def test_an_unknown_gateway_is_404_and_without_a_writer_nothing_is_taken() -> None:
    sender = build_sender(settings(TOKEN), "main", None)
    app = web.Application()
    app[SENDERS] = {"sms:main": sender}  # no SINK: the hub is not recording
    app.router.add_routes(webhooks.routes)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    base = f"http://127.0.0.1:{runner.addresses[0][1]}/hooks/sms"
    try:
        async with aiohttp.ClientSession() as http:
            params = {"id": "m-1", "type": "1", "token": TOKEN}
            async with http.get(f"{base}/nobody/dlr", params=params) as r:
                assert r.status == 404
            async with http.get(f"{base}/main/dlr", params=params) as r:
                assert r.status == 503
    finally:
        await runner.cleanup()
        await sender.close()
