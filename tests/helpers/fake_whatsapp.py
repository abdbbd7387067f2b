"""A loopback WhatsApp Cloud API (the Graph API's messages endpoint) and signed notifications.

``POST /v21.0/{phone_number_id}/messages`` with ``Authorization: Bearer <token>`` and the
documented JSON body answers ``{"messaging_product": "whatsapp", "contacts": [...],
"messages": [{"id": "wamid.…"}]}`` or ``{"error": {"message", "type", "code",
"fbtrace_id"}}``; errors can be scripted. `notification()` builds a webhook body as Meta
documents it and `sign()` its ``X-Hub-Signature-256``.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
from collections import deque
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

ACCESS_TOKEN = "EAAG-test-access-token"
PHONE_NUMBER_ID = "106540352242922"
VERSION = "v21.0"


def sign(app_secret: str, body: bytes) -> str:
    """``X-Hub-Signature-256`` of `body`."""
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def notification(
    *,
    messages: Sequence[dict[str, Any]] = (),
    statuses: Sequence[dict[str, Any]] = (),
    phone_number_id: str = PHONE_NUMBER_ID,
    names: dict[str, str] | None = None,
) -> bytes:
    """A webhook body with these messages and statuses for our number."""
    value: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550001111", "phone_number_id": phone_number_id},
    }
    if messages:
        value["contacts"] = [
            {"profile": {"name": (names or {}).get(m.get("from", ""), "Client")}, "wa_id": m.get("from", "")}
            for m in messages
        ]
        value["messages"] = list(messages)
    if statuses:
        value["statuses"] = list(statuses)
    body = {
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": value}]}],
    }
    return json.dumps(body).encode()


def text_message(wa_id: str, wamid: str, text: str, timestamp: int) -> dict[str, Any]:
    return {"from": wa_id, "id": wamid, "timestamp": str(timestamp), "type": "text", "text": {"body": text}}


@dataclass
class FakeGraph:
    """What the fake received and what it will answer."""

    token: str = ACCESS_TOKEN
    sent: list[dict[str, Any]] = field(default_factory=list)
    errors: deque[tuple[int, dict[str, Any]]] = field(default_factory=deque)
    url: str = ""
    _ids: Any = field(default_factory=lambda: itertools.count(1))

    def fail(self, status: int, code: int, message: str) -> None:
        self.errors.append((status, {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "x"}))

    async def messages(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return web.json_response({"error": {"message": "Invalid OAuth access token.", "code": 190}}, status=401)
        body = await request.json()
        if self.errors:
            status, error = self.errors.popleft()
            return web.json_response({"error": error}, status=status)
        self.sent.append({"phone_number_id": request.match_info["number"], **body})
        wamid = f"wamid.HBgL{next(self._ids):06d}"
        return web.json_response(
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": body.get("to"), "wa_id": body.get("to")}],
                "messages": [{"id": wamid}],
            }
        )


    async def number(self, request: web.Request) -> web.Response:
        """``GET /{phone_number_id}``: the number, for a valid token."""
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return web.json_response({"error": {"message": "Invalid OAuth access token.", "code": 190}}, status=401)
        number = request.match_info["number"]
        return web.json_response({"id": number, "display_phone_number": "15550001111", "verified_name": "Acme"})


@asynccontextmanager
async def running_fake_graph() -> AsyncIterator[FakeGraph]:
    """The fake Graph API on 127.0.0.1; `api_url` is ``fake.url``."""
    fake = FakeGraph()
    app = web.Application()
    app.router.add_post(f"/{VERSION}/{{number}}/messages", fake.messages)
    app.router.add_get(f"/{VERSION}/{{number}}", fake.number)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    fake.url = f"http://127.0.0.1:{runner.addresses[0][1]}/{VERSION}"
    try:
        yield fake
    finally:
        await runner.cleanup()
