"""The Kannel mapper against real Kannel 1.4.5 and its fake SMSC: send, reports, incoming."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web

from hub.channels.sms.kannel_protocol import (
    ReplyKind,
    SendsmsRequest,
    mo_get_url,
    parse_dlr,
    parse_mo,
    parse_sendsms_reply,
    sendsms_query,
)
from hub.model import Direction, Status, StatusUpdate, Touch
from tests.integration.sms.kannel_server import PASSWORD, USERNAME, running_kannel

SOURCE = "kannel:test"


class Receiver:
    """The hub's side: DLR and MO endpoints that map what Kannel calls with."""

    def __init__(self) -> None:
        self.updates: asyncio.Queue[StatusUpdate] = asyncio.Queue()
        self.incoming: asyncio.Queue[Touch] = asyncio.Queue()

    async def dlr(self, request: web.Request) -> web.Response:
        await self.updates.put(parse_dlr(dict(request.query), source=SOURCE))
        return web.Response(text="ok")

    async def mo(self, request: web.Request) -> web.Response:
        await self.incoming.put(parse_mo(dict(request.query), source=SOURCE))
        return web.Response(text="")


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[Receiver, str]]:
    hub = Receiver()
    app = web.Application()
    app.router.add_get("/sms/kannel/dlr", hub.dlr)
    app.router.add_get("/sms/kannel/mo", hub.mo)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield hub, f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def test_send_reports_and_incoming_through_real_kannel(receiver: tuple[Receiver, str]) -> None:
    hub, base = receiver
    mo_text = "Привет, когда доставка?"
    kannel_cm = running_kannel(mo_get_url(f"{base}/sms/kannel/mo"), ("79001234567", "1234", mo_text))
    kannel = await asyncio.to_thread(kannel_cm.__enter__)
    try:
        touch = await asyncio.wait_for(hub.incoming.get(), 10)
        assert touch.direction is Direction.IN and touch.preview == mo_text
        assert touch.counterparts[0].value == "79001234567"
        assert touch.employee is not None and touch.employee.value == "1234"

        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http:
            for message_id, text in (("m-gsm", "Your code is 4821 {ok}"), ("m-ru", "Ваш код 4821")):
                request = SendsmsRequest(
                    username=USERNAME,
                    password=PASSWORD,
                    sender="1234",
                    to="79001234567",
                    text=text,
                    message_id=message_id,
                    dlr_url=f"{base}/sms/kannel/dlr",
                )
                async with http.get(f"{kannel.sendsms_url}?{sendsms_query(request)}") as resp:
                    reply = parse_sendsms_reply(resp.status, await resp.read())
                assert reply.kind is ReplyKind.ACCEPTED, reply
            wrong = SendsmsRequest(
                username=USERNAME, password="wrong", sender="1", to="2", text="x", message_id="m-x"
            )
            async with http.get(f"{kannel.sendsms_url}?{sendsms_query(wrong)}") as resp:
                assert parse_sendsms_reply(resp.status, await resp.read()).kind is ReplyKind.AUTH_FAILED

        seen: dict[str, list[Status]] = {}
        while sum(len(v) for v in seen.values()) < 4:
            update = await asyncio.wait_for(hub.updates.get(), 10)
            seen.setdefault(update.external_id, []).append(update.status)
        # the SMSC's ack (type 8) and the delivery (type 1); HTTP calls may arrive in any order
        both = sorted([Status.SENT, Status.DELIVERED])
        assert {k: sorted(v) for k, v in seen.items()} == {"m-gsm": both, "m-ru": both}
    finally:
        await asyncio.to_thread(kannel_cm.__exit__, None, None, None)

