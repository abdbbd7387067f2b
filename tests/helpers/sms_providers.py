"""Loopback stand-ins for three HTTP SMS providers, speaking their documented formats.

Each takes a send request the way the provider documents it (path, parameters, auth),
answers with the provider's success or error body, remembers what it took, and calls the
hub back as the provider would: SMS.ru's `data[N]` status lines (answer "100"), SMSC.ru's
status and incoming-SMS forms with their md5, Twilio's StatusCallback and incoming-message
forms signed with X-Twilio-Signature. The signatures are computed here from the providers'
descriptions, not with the hub's code, so a mistake on one side shows.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

#: A number every provider here refuses as invalid.
BAD_NUMBER = "70000000000"


@dataclass
class Provider:
    """A running fake: its base URL, what it was sent, and how to call the hub back."""

    kind: str
    base_url: str = ""
    #: the credentials it accepts
    username: str = "hub"
    password: str = "provider-secret-0123456789"
    #: SMSC.ru's callback secret (set in its account)
    secret: str = "callback-secret-0123456789"
    sent: list[dict[str, Any]] = field(default_factory=list)
    #: answer with 503 to the next N sends (a provider busy for a while)
    busy: int = 0
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1000))

    async def post(
        self, url: str, form: Mapping[str, str], headers: Mapping[str, str] | None = None
    ) -> tuple[int, str, str]:
        """POST a form to the hub; (status, body, content type)."""
        async with aiohttp.ClientSession() as http, http.post(url, data=dict(form), headers=headers) as resp:
            return resp.status, await resp.text(), resp.content_type


def twilio_signature(auth_token: str, url: str, form: Mapping[str, str]) -> str:
    """X-Twilio-Signature: base64(HMAC-SHA1(auth token, URL + name1 + value1 + …, names sorted))."""
    payload = url
    for name in sorted(form):
        payload += name + form[name]
    mac = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1)
    return base64.b64encode(mac.digest()).decode()


def smsc_md5(*values: str) -> str:
    """SMSC.ru's checksum: md5 of the values joined by ':' (the secret last)."""
    return hashlib.md5(":".join(values).encode(), usedforsecurity=False).hexdigest()


# ------------------------------------------------------------------ SMS.ru


def _smsru_app(p: Provider) -> web.Application:
    async def send(request: web.Request) -> web.Response:
        form = dict(await request.post()) if request.method == "POST" else {}
        data = {**request.query, **{k: str(v) for k, v in form.items()}}
        if p.busy:
            p.busy -= 1
            return web.json_response(
                {"status": "ERROR", "status_code": 220, "status_text": "Сервис временно недоступен"}
            )
        if data.get("api_id") != p.password:
            return web.json_response({"status": "ERROR", "status_code": 200, "status_text": "Неправильный api_id"})
        to = data.get("to", "")
        if to == BAD_NUMBER:
            entry = {
                "status": "ERROR",
                "status_code": 207,
                "status_text": "На этот номер (или один из номеров) нельзя отправлять сообщения",
            }
        else:
            sms_id = f"000000-{next(p.ids):08d}"
            entry = {"status": "OK", "status_code": 100, "sms_id": sms_id}
            p.sent.append({**data, "sms_id": sms_id})
        return web.json_response({"status": "OK", "status_code": 100, "sms": {to: entry}, "balance": 4122.56})

    app = web.Application()
    app.router.add_route("*", "/sms/send", send)
    return app


async def smsru_report(p: Provider, url: str, reports: list[tuple[str, int]]) -> tuple[int, str, str]:
    """SMS.ru's status callback: data[0], data[1]… each "sms_status\\n<id>\\n<code>\\n<time>"."""
    form = {f"data[{i}]": f"sms_status\n{sms_id}\n{code}\n1481807295" for i, (sms_id, code) in enumerate(reports)}
    return await p.post(url, form)


# ------------------------------------------------------------------ SMSC.ru


def _smscru_app(p: Provider) -> web.Application:
    async def send(request: web.Request) -> web.Response:
        form = dict(await request.post()) if request.method == "POST" else {}
        data = {**request.query, **{k: str(v) for k, v in form.items()}}
        if data.get("fmt") != "3":
            return web.Response(text="ERROR = 1 (parameters error)")
        if data.get("login") != p.username or data.get("psw") != p.password:
            return web.json_response({"error": "authorise error", "error_code": 2})
        if p.busy:
            p.busy -= 1
            return web.json_response({"error": "duplicate request, wait a minute", "error_code": 9})
        if data.get("phones") == BAD_NUMBER:
            return web.json_response({"error": "invalid number", "error_code": 7})
        message_id = next(p.ids)
        p.sent.append({**data, "id": str(message_id)})
        return web.json_response({"id": message_id, "cnt": 1})

    app = web.Application()
    app.router.add_route("*", "/sys/send.php", send)
    return app


async def smscru_status(
    p: Provider, url: str, message_id: str, phone: str, status: str, *, secret: str | None = None
) -> tuple[int, str, str]:
    form = {"id": message_id, "phone": phone, "status": status, "time": "1481807295", "ts": "1481807290", "err": "0"}
    form["md5"] = smsc_md5(message_id, phone, status, secret if secret is not None else p.secret)
    return await p.post(url, form)


async def smscru_incoming(
    p: Provider, url: str, phone: str, text: str, to: str, *, signed: bool = True
) -> tuple[int, str, str]:
    form = {"id": str(next(p.ids)), "phone": phone, "mes": text, "to": to, "sent": "1481807290", "time": "1481807295"}
    if signed:
        form["md5"] = smsc_md5(phone, text, to, p.secret)
    return await p.post(url, form)


# ------------------------------------------------------------------ Twilio


def _twilio_error(status: int, code: int, message: str) -> web.Response:
    body = {"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}", "status": status}
    return web.json_response(body, status=status)


def _twilio_app(p: Provider) -> web.Application:
    async def create(request: web.Request) -> web.Response:
        expected = "Basic " + base64.b64encode(f"{p.username}:{p.password}".encode()).decode()
        if request.match_info["sid"] != p.username or request.headers.get("Authorization") != expected:
            return _twilio_error(401, 20003, "Authenticate")
        if p.busy:
            p.busy -= 1
            return _twilio_error(429, 20429, "Too Many Requests")
        form = {k: str(v) for k, v in (await request.post()).items()}
        if form.get("To", "").lstrip("+") == BAD_NUMBER:
            return _twilio_error(400, 21211, f"The 'To' number {form['To']} is not a valid phone number.")
        sid = f"SM{next(p.ids):032x}"
        p.sent.append({**form, "sid": sid})
        resource = {
            "sid": sid,
            "account_sid": p.username,
            "to": form["To"],
            "from": form["From"],
            "body": form["Body"],
            "status": "queued",
            "num_segments": "1",
            "error_code": None,
            "error_message": None,
        }
        return web.json_response(resource, status=201)

    app = web.Application()
    app.router.add_post("/2010-04-01/Accounts/{sid}/Messages.json", create)
    return app


async def twilio_status(
    p: Provider, url: str, sid: str, status: str, *, signature: str | None = None, error_code: str | None = None
) -> tuple[int, str, str]:
    form = {"MessageSid": sid, "SmsSid": sid, "AccountSid": p.username, "MessageStatus": status, "SmsStatus": status}
    if error_code:
        form["ErrorCode"] = error_code
    sig = signature if signature is not None else twilio_signature(p.password, url, form)
    return await p.post(url, form, {"X-Twilio-Signature": sig} if sig else {})


async def twilio_incoming(
    p: Provider, url: str, sender: str, to: str, body: str, *, signed: bool = True
) -> tuple[int, str, str]:
    sid = f"SM{next(p.ids):032x}"
    form = {"MessageSid": sid, "SmsSid": sid, "AccountSid": p.username, "From": sender, "To": to, "Body": body,
            "NumMedia": "0", "SmsStatus": "received"}
    headers = {"X-Twilio-Signature": twilio_signature(p.password, url, form)} if signed else {}
    return await p.post(url, form, headers)


APPS = {"smsru": _smsru_app, "smscru": _smscru_app, "twilio": _twilio_app}


@asynccontextmanager
async def running_provider(kind: str) -> AsyncIterator[Provider]:
    """One fake provider on a free loopback port."""
    provider = Provider(kind=kind, username="AC" + "0" * 32 if kind == "twilio" else "hub")
    runner = web.AppRunner(APPS[kind](provider), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    server = site._server
    assert server is not None
    port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    provider.base_url = f"http://127.0.0.1:{port}"
    try:
        yield provider
    finally:
        await runner.cleanup()
