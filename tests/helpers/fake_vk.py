"""A loopback VK API (``messages.send``, ``groups.getById``) and Callback API events.

VK documents (https://dev.vk.com/ru/method/messages.send, https://dev.vk.com/ru/reference/errors):
a method is ``POST /method/<name>`` with form parameters, ``access_token`` and ``v`` among
them; the answer is HTTP 200 with ``{"response": …}`` or ``{"error": {"error_code",
"error_msg", "request_params"}}``. ``messages.send`` needs ``random_id``: a second call with
the same one sends nothing new and answers the first message's id. Errors can be scripted
(`fail`). When `callback_url` is set, every message sent is posted back to it as the
``message_reply`` event VK sends to the community's server.

`event()` and `message()` build Callback API events as VK posts them.
"""

from __future__ import annotations

import asyncio
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

ACCESS_TOKEN = "vk1.a.test-community-token"
GROUP_ID = 219876543
VERSION = "5.199"


def message(peer_id: int, message_id: int, text: str, *, out: int = 0, random_id: int = 0, **extra: Any) -> dict[str, Any]:
    """A message object as VK writes it."""
    return {
        "date": int(time.time()),
        "from_id": GROUP_ID * -1 if out else peer_id,
        "id": message_id,
        "out": out,
        "peer_id": peer_id,
        "text": text,
        "conversation_message_id": message_id,
        "fwd_messages": [],
        "important": False,
        "random_id": random_id,
        "attachments": [],
        "is_hidden": False,
        **extra,
    }


def event(kind: str, obj: dict[str, Any], *, secret: str | None, group_id: int = GROUP_ID) -> bytes:
    """A Callback API event body."""
    body: dict[str, Any] = {
        "group_id": group_id,
        "type": kind,
        "event_id": f"{kind}-{abs(hash(json.dumps(obj, sort_keys=True))) % 10**12:x}",
        "v": VERSION,
        "object": obj,
    }
    if secret is not None:
        body["secret"] = secret
    return json.dumps(body, ensure_ascii=False).encode()


def message_new(msg: dict[str, Any], *, secret: str | None) -> bytes:
    client_info = {"button_actions": ["text"], "keyboard": True, "inline_keyboard": True, "lang_id": 0}
    return event("message_new", {"message": msg, "client_info": client_info}, secret=secret)


@dataclass
class FakeVk:
    """What the fake received and what it will answer."""

    token: str = ACCESS_TOKEN
    sent: list[dict[str, str]] = field(default_factory=list)
    errors: deque[tuple[int, str]] = field(default_factory=deque)
    url: str = ""
    callback_url: str | None = None
    callback_secret: str | None = None
    replies: list[int] = field(default_factory=list)
    _ids: Any = field(default_factory=lambda: itertools.count(1001))
    _by_random: dict[tuple[str, str], int] = field(default_factory=dict)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def fail(self, code: int, message: str) -> None:
        self.errors.append((code, message))

    @staticmethod
    def _error(code: int, text: str, params: dict[str, str]) -> web.Response:
        request_params = [{"key": k, "value": v} for k, v in params.items() if k != "access_token"]
        return web.json_response({"error": {"error_code": code, "error_msg": text, "request_params": request_params}})

    async def method(self, request: web.Request) -> web.Response:
        params = {k: str(v) for k, v in (await request.post()).items()}
        params.update(request.query)
        if params.get("access_token") != self.token:
            return self._error(5, "User authorization failed: invalid access_token (4).", params)
        if not params.get("v"):
            return self._error(8, "Invalid request: v is required", params)
        name = request.match_info["name"]
        if name == "groups.getById":
            return web.json_response({"response": {"groups": [{"id": GROUP_ID, "name": "Acme", "screen_name": "acme"}]}})
        if name != "messages.send":
            return self._error(3, "Unknown method passed", params)
        if "random_id" not in params:
            return self._error(100, "One of the parameters specified was missing or invalid: random_id is required", params)
        if self.errors:
            code, text = self.errors.popleft()
            return self._error(code, text, params)
        key = (params.get("peer_id", ""), params["random_id"])
        if key in self._by_random:  # VK sends nothing twice for one random_id
            return web.json_response({"response": self._by_random[key]})
        number = next(self._ids)
        self._by_random[key] = number
        self.sent.append(params)
        if self.callback_url is not None:
            task = asyncio.create_task(self._reply(params, number))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return web.json_response({"response": number})

    async def _reply(self, params: dict[str, str], number: int) -> None:
        """The message_reply event of a message sent, as VK posts it to the server."""
        assert self.callback_url is not None
        msg = message(int(params["peer_id"]), number, params.get("message", ""), out=1, random_id=int(params["random_id"]))
        body = event("message_reply", msg, secret=self.callback_secret)
        async with aiohttp.ClientSession() as http, http.post(self.callback_url, data=body) as resp:
            if await resp.text() == "ok":
                self.replies.append(number)


@asynccontextmanager
async def running_fake_vk() -> AsyncIterator[FakeVk]:
    """The fake VK API on 127.0.0.1; `api_url` is ``fake.url``."""
    fake = FakeVk()
    app = web.Application()
    app.router.add_post("/method/{name}", fake.method)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    fake.url = f"http://127.0.0.1:{runner.addresses[0][1]}/method"
    try:
        yield fake
    finally:
        for task in list(fake._tasks):
            task.cancel()
        await runner.cleanup()
