"""A loopback Viber REST bot API (``send_message``, ``set_webhook``, ``get_account_info``)
and signed callbacks.

Viber documents (https://developers.viber.com/docs/api/rest-bot-api/): every request is a
``POST /pa/<method>`` with the bot's ``X-Viber-Auth-Token`` and a JSON body; the answer is
HTTP 200 with ``{"status": 0, "status_message": "ok", …}`` or another status (2
invalidAuthToken, 6 receiverNotSubscribed, 12 tooManyRequests, …); statuses can be
scripted (`fail`). ``set_webhook`` first posts a signed ``webhook`` callback to the URL and
refuses the URL (status 1) unless it is answered 200. `callback()` builds a callback body
and `sign()` its ``X-Viber-Content-Signature``.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

AUTH_TOKEN = "4453b6ac12345678-e02c5f12174805f9-daec9cbb5448c51f"
USER_ID = "01234567890A="


def sign(auth_token: str, body: bytes) -> str:
    """``X-Viber-Content-Signature`` of `body`."""
    return hmac.new(auth_token.encode(), body, hashlib.sha256).hexdigest()


def callback(event: str, **fields: Any) -> bytes:
    """A callback body as Viber posts it."""
    body = {"event": event, "timestamp": int(time.time() * 1000), "chat_hostname": "SN-CHAT-03_", **fields}
    return json.dumps(body, ensure_ascii=False).encode()


def text_message(user_id: str, token: int, text: str, name: str = "Client") -> bytes:
    return callback(
        "message",
        message_token=token,
        sender={"id": user_id, "name": name, "avatar": "http://avatar.example", "language": "ru",
                "country": "RU", "api_version": 10},
        message={"type": "text", "text": text},
        silent=False,
    )


@dataclass
class FakeViber:
    """What the fake received and what it will answer."""

    token: str = AUTH_TOKEN
    sent: list[dict[str, Any]] = field(default_factory=list)
    statuses: deque[tuple[int, str]] = field(default_factory=deque)
    webhook: str = ""
    url: str = ""
    _tokens: Any = field(default_factory=lambda: itertools.count(5741311803571721087))

    def fail(self, status: int, message: str) -> None:
        self.statuses.append((status, message))

    async def method(self, request: web.Request) -> web.Response:
        if request.headers.get("X-Viber-Auth-Token") != self.token:
            return web.json_response({"status": 2, "status_message": "invalidAuthToken"})
        body = await request.json()
        name = request.match_info["name"]
        if name == "get_account_info":
            return web.json_response(
                {"status": 0, "status_message": "ok", "id": "pa:75346594275468546724", "name": "Acme",
                 "uri": "acme", "webhook": self.webhook, "event_types": ["delivered", "seen"]}
            )
        if name == "set_webhook":
            return await self._set_webhook(body)
        if name != "send_message":
            return web.json_response({"status": 3, "status_message": "badData"})
        if not body.get("receiver") or not isinstance(body.get("sender"), dict) or not body["sender"].get("name"):
            return web.json_response({"status": 4, "status_message": "missingData"})
        if self.statuses:
            status, message = self.statuses.popleft()
            return web.json_response({"status": status, "status_message": message})
        self.sent.append(body)
        return web.json_response(
            {"status": 0, "status_message": "ok", "message_token": next(self._tokens), "chat_hostname": "SN-CHAT-05_"}
        )

    async def _set_webhook(self, body: dict[str, Any]) -> web.Response:
        url = str(body.get("url", ""))
        check = callback("webhook", message_token=next(self._tokens))
        try:
            async with aiohttp.ClientSession() as http, http.post(
                url, data=check, headers={"X-Viber-Content-Signature": sign(self.token, check)}
            ) as resp:
                answered = resp.status
        except aiohttp.ClientError:
            answered = 0
        if answered != 200:
            return web.json_response({"status": 1, "status_message": "invalidUrl"})
        self.webhook = url
        return web.json_response({"status": 0, "status_message": "ok", "event_types": body.get("event_types", [])})


@asynccontextmanager
async def running_fake_viber() -> AsyncIterator[FakeViber]:
    """The fake Viber API on 127.0.0.1; `api_url` is ``fake.url``."""
    fake = FakeViber()
    app = web.Application()
    app.router.add_post("/pa/{name}", fake.method)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    fake.url = f"http://127.0.0.1:{runner.addresses[0][1]}/pa"
    try:
        yield fake
    finally:
        await runner.cleanup()
