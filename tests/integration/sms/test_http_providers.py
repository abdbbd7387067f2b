"""HTTP providers by profile, end to end: the hub's runtime against loopback SMS.ru, SMSC.ru
and Twilio stand-ins that speak their documented request, answer and callback formats.

Each test sends (taken, refused number, provider busy then taken, wrong credentials),
has the provider report back through our webhooks (delivered / failed), receives an
incoming SMS where the provider has them (an opt-out confirmed once), and checks that
unsigned or forged callbacks are refused and recorded nowhere.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from hub.activity import ActivityFilter, ActivityStore
from hub.channels.registry import load_plugins
from hub.channels.sms.http_sender import HttpSender
from hub.config import CoreSettings, settings_model
from hub.errors import ChannelAuthError
from hub.model import Address, AddressKind, Channel, Direction, OutgoingMessage, SendOutcome
from hub.runtime import Hub
from tests.helpers.postgres import free_port
from tests.helpers.sms_providers import (
    BAD_NUMBER,
    Provider,
    running_provider,
    smscru_incoming,
    smscru_status,
    smsru_report,
    twilio_incoming,
    twilio_status,
)

CLIENT = "79001234567"
TOKEN = "hook-token-0123456789abcdef"


async def until(predicate: Callable[[], Awaitable[bool]], limit: float = 10) -> None:
    deadline = time.monotonic() + limit
    while not await predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


def settings_for(
    tmp_path: Path, provider: Provider, port: int, *, password: str | None = None, **sms: Any
) -> CoreSettings:
    host = provider.base_url.removeprefix("http://")
    secret = {"smsru": TOKEN, "smscru": provider.secret, "twilio": None}[provider.kind]
    gateway: dict[str, Any] = {
        "kind": "http",
        "profile": provider.kind,
        "url": f"http://{provider.username}@{host}",
        "password": password or provider.password,
        "sender": "Shop",
    }
    if secret:
        gateway["dlr_secret"] = secret
    return settings_model(load_plugins()).model_validate(
        {
            "demo_on_empty": False,
            "store": {"url": f"sqlite:///{tmp_path}/hub.db"},
            "web": {"port": port},
            "sms": {
                "public_url": f"http://127.0.0.1:{port}",
                "gateways": {"prov": gateway},
                "retry_base_s": 0.01,
                "retry_max_s": 0.05,
                "timeout_s": 5,
                **sms,
            },
        }
    )


@asynccontextmanager
async def hub_for(
    tmp_path: Path, provider: Provider, *, password: str | None = None, **sms: Any
) -> AsyncIterator[tuple[Hub, ActivityStore, str]]:
    port = free_port()
    store = await ActivityStore.open(f"sqlite:///{tmp_path}/hub.db")
    hub = Hub(settings_for(tmp_path, provider, port, password=password, **sms), store)
    await hub.start()
    try:
        yield hub, store, f"http://127.0.0.1:{port}/hooks/sms/prov"
    finally:
        await hub.stop()
        await store.close()


def sms(text: str, message_id: str, to: str = CLIENT) -> OutgoingMessage:
    return OutgoingMessage(
        channel=Channel.SMS, to=(Address(kind=AddressKind.PHONE, value=to),), body=text, message_id=message_id
    )


async def rows(hub: Hub, store: ActivityStore, direction: Direction) -> dict[str, dict[str, Any]]:
    await hub.writer.flush()
    page = await store.activities.list(ActivityFilter(channel=Channel.SMS, direction=direction), limit=100)
    return {a["external_id"]: a for a in page.items}


async def status(hub: Hub, store: ActivityStore, message_id: str) -> str | None:
    row = (await rows(hub, store, Direction.OUT)).get(message_id)
    return None if row is None else str(row["status"])


async def history(store: ActivityStore, row: dict[str, Any]) -> list[tuple[str, str]]:
    return [(h["status"], h.get("detail") or "") for h in (await store.activities.get(row["id"]))["status_history"]]


async def sends_and_refusals(hub: Hub, store: ActivityStore, provider: Provider) -> HttpSender:
    """Taken, refused number, busy-then-taken: the answers every provider gives."""
    sender = hub.senders["sms:prov"]
    assert isinstance(sender, HttpSender) and sender.profile.name == provider.kind
    ok = await sender.send(sms("Ваш заказ готов", "m-ok"))
    assert ok.ok, ok
    assert await status(hub, store, "m-ok") == "sent"
    bad = await sender.send(sms("hi", "m-bad", to=BAD_NUMBER))
    assert bad.outcome is SendOutcome.PERMANENT_FAILURE and bad.reason is not None
    assert await status(hub, store, "m-bad") == "failed"
    provider.busy = 1
    later = await sender.send(sms("after a pause", "m-later"))
    assert later.ok and later.attempts == 2
    return sender


async def test_smsru_send_reports_and_forged_callbacks(tmp_path: Path) -> None:
    async with running_provider("smsru") as provider, hub_for(tmp_path, provider) as (hub, store, hooks):
        await sends_and_refusals(hub, store, provider)
        assert [s["msg"] for s in provider.sent] == ["Ваш заказ готов", "after a pause"]
        assert provider.sent[0]["to"] == CLIENT and provider.sent[0]["from"] == "Shop"
        bad = (await rows(hub, store, Direction.OUT))["m-bad"]
        assert any("code 207" in d for _, d in await history(store, bad))

        # One callback request, two reports: delivered and expired.
        ok_id, later_id = provider.sent[0]["sms_id"], provider.sent[1]["sms_id"]
        code, body, _ = await smsru_report(provider, f"{hooks}/dlr?token={TOKEN}", [(ok_id, 103), (later_id, 104)])
        assert (code, body) == (200, "100")
        assert await status(hub, store, "m-ok") == "delivered"
        assert await status(hub, store, "m-later") == "failed"

        # Unsigned and forged: refused, nothing changes.
        before = await store.activities.count()
        assert (await smsru_report(provider, f"{hooks}/dlr", [(ok_id, 104)]))[0] == 401
        assert (await smsru_report(provider, f"{hooks}/dlr?token=wrong-token-0123456789", [(ok_id, 104)]))[0] == 403
        assert (await provider.post(f"{hooks}/dlr?token={TOKEN}", {"nothing": "here"}))[0] == 400
        assert await status(hub, store, "m-ok") == "delivered"
        assert await store.activities.count() == before


async def test_smsru_wrong_api_id_is_an_auth_failure(tmp_path: Path) -> None:
    async with running_provider("smsru") as provider, hub_for(tmp_path, provider, password="wrong") as (hub, store, _):
        with pytest.raises(ChannelAuthError, match="code 200"):
            await hub.senders["sms:prov"].send(sms("hi", "m-auth"))
        assert await status(hub, store, "m-auth") == "failed"


async def test_smscru_send_reports_incoming_and_md5(tmp_path: Path) -> None:
    async with running_provider("smscru") as provider, hub_for(tmp_path, provider) as (hub, store, hooks):
        await sends_and_refusals(hub, store, provider)
        assert provider.sent[0]["phones"] == CLIENT and provider.sent[0]["charset"] == "utf-8"
        first = provider.sent[0]
        assert (await smscru_status(provider, f"{hooks}/dlr", first["id"], CLIENT, "1"))[:2] == (200, "OK")
        assert await status(hub, store, "m-ok") == "delivered"

        # An incoming SMS arrives at the same handler; an opt-out word is confirmed once.
        assert (await smscru_incoming(provider, f"{hooks}/dlr", "79005550001", "Спасибо!", "Shop"))[0] == 200
        assert (await smscru_incoming(provider, f"{hooks}/mo", "79005550002", "СТОП", "Shop"))[0] == 200
        incoming = {r["preview"]: r for r in (await rows(hub, store, Direction.IN)).values()}
        assert set(incoming) == {"Спасибо!", "СТОП"}
        assert incoming["СТОП"]["meta"]["opt_out"] is True and incoming["СТОП"]["contact_id"] is not None
        assert [s["phones"] for s in provider.sent].count("79005550002") == 1

        # A wrong secret, no md5: refused, nothing recorded.
        before = await store.activities.count()
        forged = await smscru_status(provider, f"{hooks}/dlr", first["id"], CLIENT, "20", secret="not-the-secret")
        assert forged[0] == 403
        assert (await smscru_incoming(provider, f"{hooks}/mo", "79005550003", "hi", "Shop", signed=False))[0] == 401
        assert await status(hub, store, "m-ok") == "delivered"
        assert await store.activities.count() == before


async def test_twilio_send_signed_callbacks_and_forgeries(tmp_path: Path) -> None:
    async with running_provider("twilio") as provider, hub_for(tmp_path, provider) as (hub, store, hooks):
        await sends_and_refusals(hub, store, provider)
        first = provider.sent[0]
        assert first["To"] == "+" + CLIENT and first["From"] == "Shop"
        callback = first["StatusCallback"]  # ours, per message, naming our id
        assert callback.startswith(f"{hooks}/dlr?") and "id=m-ok" in callback

        assert (await twilio_status(provider, callback, first["sid"], "sent"))[0] == 200
        code, body, content_type = await twilio_status(provider, callback, first["sid"], "delivered")
        assert (code, body, content_type) == (200, "<Response></Response>", "text/xml")
        assert await status(hub, store, "m-ok") == "delivered"
        later = provider.sent[1]
        assert (await twilio_status(provider, later["StatusCallback"], later["sid"], "undelivered", error_code="30003"))[0] == 200
        assert await status(hub, store, "m-later") == "failed"

        assert (await twilio_incoming(provider, f"{hooks}/mo", "+79005550001", "Shop", "Stop"))[0] == 200
        (inbound,) = (await rows(hub, store, Direction.IN)).values()
        assert inbound["meta"]["opt_out"] is True and inbound["external_id"].startswith("SM")

        async def confirmed() -> bool:
            return any(s["To"] == "+79005550001" for s in provider.sent)

        await until(confirmed)

        before = await store.activities.count()
        forged = await twilio_status(provider, callback, first["sid"], "failed", signature="bm90IGEgc2lnbmF0dXJl")
        assert forged[0] == 403
        assert (await twilio_status(provider, callback, first["sid"], "failed", signature=""))[0] == 401
        assert (await twilio_incoming(provider, f"{hooks}/mo", "+79005550009", "Shop", "hi", signed=False))[0] == 401
        assert await status(hub, store, "m-ok") == "delivered"
        assert await store.activities.count() == before


async def test_twilio_wrong_auth_token_is_an_auth_failure(tmp_path: Path) -> None:
    async with running_provider("twilio") as provider, hub_for(tmp_path, provider, password="nope") as (hub, store, _):
        with pytest.raises(ChannelAuthError, match="20003"):
            await hub.senders["sms:prov"].send(sms("hi", "t-auth"))
        assert await status(hub, store, "t-auth") == "failed"


class NightGate:
    """A fixed clock and a sleep that only ends when the test says the night is over."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self.slept: list[float] = []
        self.dawn = asyncio.Event()

    def clock(self) -> datetime:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        await self.dawn.wait()


async def test_quiet_hours_hold_non_urgent_messages_in_the_recipients_zone(tmp_path: Path) -> None:
    moscow, los_angeles = "74951234567", "14155550100"
    night = NightGate(datetime(2026, 12, 6, 19, 30, tzinfo=UTC))  # 22:30 in Moscow, 11:30 in LA
    async with running_provider("smsru") as provider, hub_for(
        tmp_path, provider, quiet_hours="21:00-09:00"
    ) as (hub, store, hooks):
        sender = hub.senders["sms:prov"]
        assert isinstance(sender, HttpSender) and sender.holder is not None
        sender.holder.clock, sender.holder.sleep = night.clock, night.sleep
        employee_token = await store.tokens.create("boss", "admin")
        api = hooks.removesuffix("/hooks/sms/prov") + "/api/v1/sms"
        auth = {"Authorization": f"Bearer {employee_token}"}
        async with aiohttp.ClientSession() as http:
            async with http.post(api, json={"to": moscow, "text": "Скидка до утра"}, headers=auth) as resp:
                assert resp.status == 202, await resp.text()
                held = await resp.json()
            async with http.post(api, json={"to": moscow, "text": "Код 1234", "urgent": True}, headers=auth) as resp:
                assert resp.status == 201, await resp.text()
            async with http.post(api, json={"to": los_angeles, "text": "Good morning"}, headers=auth) as resp:
                assert resp.status == 201, await resp.text()  # daytime there
        assert held["outcome"] == "held" and held["held_until"] == "2026-12-07T06:00:00+00:00"
        assert sorted(s["msg"] for s in provider.sent) == ["Good morning", "Код 1234"]
        row = (await rows(hub, store, Direction.OUT))[held["message_id"]]
        assert row["status"] == "queued" and row["meta"]["not_before"] == "2026-12-07T06:00:00+00:00"
        assert night.slept == [(datetime(2026, 12, 7, 6, tzinfo=UTC) - night.now).total_seconds()]

        night.dawn.set()

        async def released() -> bool:
            return await status(hub, store, held["message_id"]) == "sent"

        await until(released)
        assert sorted(s["msg"] for s in provider.sent) == ["Good morning", "Код 1234", "Скидка до утра"]
        assert (await rows(hub, store, Direction.OUT))[held["message_id"]]["meta"]["not_before"]
