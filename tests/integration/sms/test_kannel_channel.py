"""The SMS channel end to end: a running hub, real Kannel 1.4.5 and its fake SMSC.

An incoming SMS from the fake SMSC reaches the hub's MO webhook and lands as an inbound
touch (an opt-out word: marked, and confirmed by one SMS); an SMS sent through the hub's
sender is recorded queued, then sent, then delivered by the reports Kannel calls back
with; forged or unsigned callbacks are refused and record nothing.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp

from hub.activity import ActivityFilter, ActivityStore
from hub.channels.registry import load_plugins
from hub.channels.sms.kannel_protocol import mo_get_url
from hub.channels.sms.kannel_sender import KannelSender, mo_url_of
from hub.config import CoreSettings, settings_model
from hub.model import Address, AddressKind, Channel, Direction, OutgoingMessage
from hub.runtime import Hub
from tests.helpers.postgres import free_port
from tests.integration.sms.kannel_server import PASSWORD, USERNAME, running_kannel

TOKEN = "hook-token-0123456789abcdef"
CLIENT = "79001234567"
OUR_NUMBER = "1234"


async def _until(predicate: Callable[[], Awaitable[bool]], limit: float = 20) -> None:
    deadline = time.monotonic() + limit
    while not await predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.1)


def hub_settings(tmp_path: Path, port: int, sendsms_port: int) -> CoreSettings:
    return settings_model(load_plugins()).model_validate(
        {
            "demo_on_empty": False,
            "store": {"url": f"sqlite:///{tmp_path}/hub.db"},
            "web": {"port": port},
            "sms": {
                "public_url": f"http://127.0.0.1:{port}",
                "gateways": {
                    "main": {
                        "kind": "kannel",
                        "url": f"kannel://{USERNAME}@127.0.0.1:{sendsms_port}",
                        "password": PASSWORD,
                        "sender": OUR_NUMBER,
                        "dlr_secret": TOKEN,
                        "rate": 20,
                    }
                },
                "probe_interval_s": 0.5,
                "retry_base_s": 0.1,
            },
        }
    )


async def _sms(store: ActivityStore, direction: Direction) -> list[dict[str, Any]]:
    page = await store.activities.list(
        ActivityFilter(channel=Channel.SMS, direction=direction), limit=50
    )
    return list(page.items)


async def test_send_reports_incoming_and_opt_out_through_real_kannel(tmp_path: Path) -> None:
    port, sendsms_port = free_port(), free_port()
    settings = hub_settings(tmp_path, port, sendsms_port)
    store = await ActivityStore.open(f"sqlite:///{tmp_path}/hub.db")
    employee_id = await store.employees.add(
        "Petr", addresses=[Address(kind=AddressKind.EXTENSION, value="101")]
    )
    employee_token = await store.tokens.create("petr", "employee", employee_id=employee_id)
    hub = Hub(settings, store)
    sender = hub.senders["sms:main"]
    assert isinstance(sender, KannelSender) and sender.sink is hub.writer
    await hub.start()
    base = f"http://127.0.0.1:{port}"
    get_url = mo_get_url(mo_url_of(base, "main", TOKEN))
    kannel_cm = running_kannel(get_url, (CLIENT, OUR_NUMBER, "Стоп"), sendsms_port=sendsms_port)
    await asyncio.to_thread(kannel_cm.__enter__)
    try:
        # The gateway shows in the hub's health once Kannel answers.
        async def gateway_up() -> bool:
            async with aiohttp.ClientSession() as http, http.get(f"{base}/api/v1/health") as resp:
                adapters = (await resp.json())["adapters"]
            states = [(a["name"], a["state"]) for a in adapters]
            return states == [("sms:main", "running"), ("sms:main:outbox", "running")]

        await _until(gateway_up)

        # The incoming opt-out: an inbound touch marked opted out, from a new lead.
        async def one_inbound() -> bool:
            return len(await _sms(store, Direction.IN)) == 1

        await _until(one_inbound)
        (inbound,) = await _sms(store, Direction.IN)
        assert inbound["preview"] == "Стоп" and inbound["meta"]["opt_out"] is True
        assert inbound["contact_id"] is not None  # unknown number → lead (store's policy)

        # Its confirmation went out through Kannel and was delivered.
        async def confirmed() -> bool:
            out = await _sms(store, Direction.OUT)
            return len(out) == 1 and out[0]["status"] == "delivered"

        await _until(confirmed)
        (confirmation,) = await _sms(store, Direction.OUT)
        assert confirmation["external_id"] == f"optout-{inbound['external_id']}"
        assert confirmation["contact_id"] == inbound["contact_id"]

        # An SMS sent by the hub: recorded, accepted, then delivered by Kannel's reports.
        result = await sender.send(
            OutgoingMessage(
                channel=Channel.SMS,
                to=(Address(kind=AddressKind.PHONE, value=CLIENT),),
                body="Ваш заказ 4821 доставлен",
                message_id="order-4821",
            )
        )
        assert result.ok and result.code == 202 and result.external_id == "order-4821"
        assert result.reason is not None and result.reason.startswith("0: Accepted")

        async def delivered() -> bool:
            out = {a["external_id"]: a for a in await _sms(store, Direction.OUT)}
            return out.get("order-4821", {}).get("status") == "delivered"

        await _until(delivered)
        activity = next(
            a for a in await _sms(store, Direction.OUT) if a["external_id"] == "order-4821"
        )
        history = [h["status"] for h in (await store.activities.get(activity["id"]))["status_history"]]
        assert "sent" in history and "delivered" in history  # Kannel's answer, then the report
        assert activity["meta"]["encoding"] == "ucs2" and activity["meta"]["parts"] == 1

        # The API: preview, and one SMS sent as the employee behind the token.
        async with aiohttp.ClientSession() as http:
            auth = {"Authorization": f"Bearer {employee_token}"}
            async with http.post(
                f"{base}/api/v1/sms/preview", json={"text": "Привет"}, headers=auth
            ) as resp:
                assert resp.status == 200
                assert (await resp.json())["parts"] == 1
            async with http.post(
                f"{base}/api/v1/sms", json={"to": CLIENT, "text": "hi"}
            ) as resp:
                assert resp.status == 401
            async with http.post(
                f"{base}/api/v1/sms", json={"to": CLIENT, "text": "Call me back"}, headers=auth
            ) as resp:
                assert resp.status == 201, await resp.text()
                answer = await resp.json()
            assert answer["gateway"] == "main" and answer["outcome"] == "sent"
            # a malformed gateway name is 422; a well-formed one naming nothing is 404
            for gateway, status in (("", 422), ("nope", 404)):
                async with http.post(
                    f"{base}/api/v1/sms",
                    json={"to": CLIENT, "text": "x", "gateway": gateway},
                    headers=auth,
                ) as resp:
                    assert resp.status == status, (gateway, await resp.text())
        by_id = {a["external_id"]: a for a in await _sms(store, Direction.OUT)}
        assert by_id[answer["message_id"]]["employee_id"] == employee_id

        # Forged and unsigned callbacks: refused, nothing recorded.
        count = await store.activities.count()
        forged_dlr = {"id": "order-4821", "type": "2", "reply": "forged"}
        forged_mo = {"from": "79990000000", "to": OUR_NUMBER, "text": "hi", "id": "forged-1"}
        async with aiohttp.ClientSession() as http:
            for path, params, headers, status in (
                ("dlr", forged_dlr, {}, 401),
                ("dlr", {**forged_dlr, "token": "wrong-token-0123456789"}, {}, 403),
                ("dlr", forged_dlr, {"X-Touchhub-Token": "wrong-token-0123456789"}, 403),
                ("mo", forged_mo, {}, 401),
                ("mo", {**forged_mo, "token": TOKEN[:-1]}, {}, 403),
            ):
                async with http.get(
                    f"{base}/hooks/sms/main/{path}", params=params, headers=headers
                ) as resp:
                    assert resp.status == status, (path, params, await resp.text())
            async with http.post(
                f"{base}/hooks/sms/main/dlr", data={**forged_dlr, "token": "x" * 20}
            ) as resp:
                assert resp.status == 403
            async with http.get(
                f"{base}/hooks/sms/nowhere/dlr", params={**forged_dlr, "token": TOKEN}
            ) as resp:
                assert resp.status == 404
            # Signed but malformed: 400; oversized: 413.
            async with http.get(
                f"{base}/hooks/sms/main/dlr", params={"id": "order-4821", "type": "99", "token": TOKEN}
            ) as resp:
                assert resp.status == 400
            async with http.post(
                f"{base}/hooks/sms/main/mo", params={"token": TOKEN}, data=b"x=" + b"a" * 20000,
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            ) as resp:
                assert resp.status == 413
            async with http.head(
                f"{base}/hooks/sms/main/dlr", params={"id": "order-4821", "type": "2", "token": TOKEN}
            ) as resp:
                assert resp.status == 405  # only GET and POST record
            # A repeated genuine report changes nothing: still delivered.
            async with http.get(
                f"{base}/hooks/sms/main/dlr",
                params={"id": "order-4821", "type": "8", "reply": "ACK", "token": TOKEN},
            ) as resp:
                assert resp.status == 200
        await hub.writer.flush()
        assert await store.activities.count() == count
        again = await store.activities.get(activity["id"])
        assert again["status"] == "delivered"
        assert "forged" not in str(again["meta"])
    finally:
        await asyncio.to_thread(kannel_cm.__exit__, None, None, None)
        await hub.stop()
        await store.close()
