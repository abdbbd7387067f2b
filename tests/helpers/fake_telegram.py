"""A loopback Telegram Bot API server speaking the documented wire format, for tests.

https://core.telegram.org/bots/api: requests are ``POST /bot<token>/<method>`` with
parameters as a query string, an urlencoded or multipart form (non-string values JSON
encoded, as python-telegram-bot sends them) or a JSON body; answers are
``{"ok": true, "result": …}`` or ``{"ok": false, "error_code": N, "description": …,
"parameters": {"retry_after": S}}``. Files come from ``GET /file/bot<token>/<file_path>``.

Implemented: getMe, getUpdates (offset confirms earlier updates, limit, long-poll timeout;
409 while a webhook is set), sendMessage, setWebhook, deleteWebhook, getWebhookInfo,
getFile. Scriptable: errors per method (`fail`), chats that blocked the bot (`blocked`),
raw (malformed) updates (`push_raw`). Point python-telegram-bot at it with
``base_url=f"{server.url}/bot"`` (the `api_url` setting is `server.url`).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections import deque
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

TOKEN = "123456:TEST-token_abcdefghijklmnop"
BOT_USER = {"id": 123456, "is_bot": True, "first_name": "Touchhub", "username": "touchhub_test_bot"}


@dataclass
class ScriptedError:
    """An error the next call of a method answers with."""

    code: int
    description: str
    retry_after: int | None = None


@dataclass
class Call:
    """One request the fake received."""

    method: str
    params: dict[str, Any]


def _value(raw: str) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return raw


@dataclass
class FakeTelegram:
    """The server's state: pending updates, sent messages, webhook, files, scripted errors."""

    token: str = TOKEN
    updates: list[dict[str, Any]] = field(default_factory=list)
    sent: list[dict[str, Any]] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    errors: dict[str, deque[ScriptedError]] = field(default_factory=dict)
    blocked: set[int] = field(default_factory=set)
    files: dict[str, bytes] = field(default_factory=dict)
    webhook: dict[str, Any] = field(default_factory=dict)
    confirmed_below: int = 0
    #: Seconds every getUpdates takes before it answers (a slow network, for kill tests).
    latency_s: float = 0.0
    url: str = ""
    _ids: Any = field(default_factory=lambda: itertools.count(1))
    _message_ids: Any = field(default_factory=lambda: itertools.count(1000))
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)

    # -- scripting ----------------------------------------------------------------------

    def fail(self, method: str, code: int, description: str, retry_after: int | None = None) -> None:
        """The next call of `method` answers with this error (calls after it succeed)."""
        self.errors.setdefault(method, deque()).append(ScriptedError(code, description, retry_after))

    def next_update_id(self) -> int:
        """An update id for a hand-made (e.g. malformed) update, in sequence with the rest."""
        return int(next(self._ids))

    def push_raw(self, update: Any) -> None:
        """Queue an update exactly as given (malformed ones included)."""
        self.updates.append(update)
        self._arrived.set()

    def push(self, kind: str, obj: dict[str, Any]) -> int:
        """Queue an update of `kind` (message, edited_message, my_chat_member); its id."""
        update_id = self.next_update_id()
        self.push_raw({"update_id": update_id, kind: obj})
        return update_id

    @staticmethod
    def user(user_id: int, first: str = "Ivan", last: str | None = "Petrov") -> dict[str, Any]:
        data: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first}
        if last:
            data["last_name"] = last
        return data

    def message(
        self, chat_id: int, message_id: int, text: str | None = None, **extra: Any
    ) -> dict[str, Any]:
        """A private-chat message from user `chat_id`, as the Bot API writes it."""
        data: dict[str, Any] = {
            "message_id": message_id,
            "from": self.user(chat_id),
            "chat": {"id": chat_id, "type": "private", "first_name": "Ivan", "last_name": "Petrov"},
            "date": int(time.time()),
        }
        if text is not None:
            data["text"] = text
        data.update(extra)
        return data

    def send_text(self, chat_id: int, message_id: int, text: str) -> int:
        return self.push("message", self.message(chat_id, message_id, text))

    def member_change(self, chat_id: int, status: str) -> int:
        """The client blocked (``kicked``) or unblocked (``member``) the bot."""
        return self.push(
            "my_chat_member",
            {
                "chat": {"id": chat_id, "type": "private", "first_name": "Ivan"},
                "from": self.user(chat_id),
                "date": int(time.time()),
                "old_chat_member": {"status": "member", "user": BOT_USER},
                "new_chat_member": {"status": status, "user": BOT_USER, "until_date": 0},
            },
        )

    # -- the Bot API --------------------------------------------------------------------

    def _confirmed(self, update: Any) -> bool:
        return isinstance(update, dict) and update.get("update_id", 0) < self.confirmed_below

    def _forget_confirmed(self) -> None:
        """Drop the confirmed updates at the front: ids grow, so one pass over the head
        (not the whole queue per request, which made a long backlog quadratic)."""
        done = 0
        for update in self.updates:
            if not self._confirmed(update):
                break
            done += 1
        del self.updates[:done]

    def _pending(self, limit: int) -> list[Any]:
        """The first `limit` unconfirmed updates (one out of order is skipped, not sent)."""
        return list(itertools.islice((u for u in self.updates if not self._confirmed(u)), limit))

    async def _get_updates(self, params: Mapping[str, Any]) -> Any:
        if self.webhook.get("url"):
            raise _ApiError(409, "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first")
        if self.latency_s:
            await asyncio.sleep(self.latency_s)
        offset = int(params.get("offset") or 0)
        limit = max(1, min(100, int(params.get("limit") or 100)))
        timeout = float(params.get("timeout") or 0)
        if offset:
            # "An update is considered confirmed as soon as getUpdates is called with an
            # offset higher than its update_id."
            self.confirmed_below = max(self.confirmed_below, offset)
            self._forget_confirmed()
        deadline = time.monotonic() + timeout
        while not self._pending(1) and time.monotonic() < deadline:
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), deadline - time.monotonic())
            except TimeoutError:
                break
        return self._pending(limit)

    def _send_message(self, params: Mapping[str, Any]) -> Any:
        chat_id = int(params["chat_id"])
        text = params.get("text")
        if not text:
            raise _ApiError(400, "Bad Request: message text is empty")
        if chat_id in self.blocked:
            raise _ApiError(403, "Forbidden: bot was blocked by the user")
        message = {
            "message_id": next(self._message_ids),
            "from": BOT_USER,
            "chat": {"id": chat_id, "type": "private"},
            "date": int(time.time()),
            "text": text,
        }
        reply = params.get("reply_parameters")
        if isinstance(reply, str):
            reply = _value(reply)
        self.sent.append({**message, "reply_parameters": reply})
        return message

    def _get_file(self, params: Mapping[str, Any]) -> Any:
        file_id = str(params.get("file_id"))
        if file_id not in self.files:
            raise _ApiError(400, "Bad Request: invalid file_id")
        return {
            "file_id": file_id,
            "file_unique_id": f"u-{file_id}",
            "file_size": len(self.files[file_id]),
            "file_path": f"documents/{file_id}.bin",
        }

    async def _dispatch(self, method: str, params: dict[str, Any]) -> Any:
        self.calls.append(Call(method, params))
        queued = self.errors.get(method)
        if queued:
            error = queued.popleft()
            raise _ApiError(error.code, error.description, error.retry_after)
        if method == "getMe":
            return BOT_USER
        if method == "getUpdates":
            return await self._get_updates(params)
        if method == "sendMessage":
            return self._send_message(params)
        if method == "setWebhook":
            self.webhook = {"url": params.get("url", ""), "secret_token": params.get("secret_token")}
            return True
        if method == "deleteWebhook":
            self.webhook = {}
            return True
        if method == "getWebhookInfo":
            return {"url": self.webhook.get("url", ""), "has_custom_certificate": False, "pending_update_count": 0}
        if method == "getFile":
            return self._get_file(params)
        raise _ApiError(404, "Not Found")

    # -- HTTP ---------------------------------------------------------------------------

    async def _params(self, request: web.Request) -> dict[str, Any]:
        params: dict[str, Any] = {k: _value(v) for k, v in request.query.items()}
        if request.content_type == "application/json":
            body = await request.read()
            if body:
                params.update(json.loads(body))
        elif request.method == "POST":
            form = await request.post()
            for key, value in form.items():
                params[key] = value if key == "text" else _value(str(value))
        return params

    async def handle(self, request: web.Request) -> web.Response:
        token, method = request.match_info["token"], request.match_info["method"]
        if token != self.token:
            return _error(401, "Unauthorized")
        try:
            result = await self._dispatch(method, await self._params(request))
        except _ApiError as exc:
            return _error(exc.code, exc.description, exc.retry_after)
        return web.json_response({"ok": True, "result": result})

    async def handle_file(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.Response(status=401)
        name = request.match_info["path"].rsplit("/", 1)[-1].removesuffix(".bin")
        if name not in self.files:
            return web.Response(status=404)
        return web.Response(body=self.files[name])


class _ApiError(Exception):
    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after


def _error(code: int, description: str, retry_after: int | None = None) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if retry_after is not None:
        body["parameters"] = {"retry_after": retry_after}
    return web.json_response(body, status=code)


@asynccontextmanager
async def running_fake_telegram(token: str = TOKEN) -> AsyncIterator[FakeTelegram]:
    """A fake Bot API on 127.0.0.1 (an ephemeral port) for the time of the block."""
    fake = FakeTelegram(token=token)
    app = web.Application()
    app.router.add_route("*", "/bot{token}/{method}", fake.handle)
    app.router.add_get("/file/bot{token}/{path:.+}", fake.handle_file)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    fake.url = f"http://127.0.0.1:{port}"
    try:
        yield fake
    finally:
        await runner.cleanup()
