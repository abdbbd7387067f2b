"""An SMPP gateway wired end to end: the hub's runtime against the npm `smpp` SMSC.

The gateway's adapter holds one bind (shown in health); its sender submits over that
bind, recording the touch first; receipts and incoming SMS come back on it and land in
the store. Scripted SMSC behaviours: refused bind, throttling, receipts before responses,
a connection dropped with PDUs outstanding, a long Cyrillic message.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from hub.activity import ActivityFilter, ActivityStore
from hub.channels.registry import load_plugins
from hub.channels.sms.encoding import count_segments
from hub.channels.sms.smpp_pdu import CommandStatus
from hub.channels.sms.smpp_sender import SmppSender
from hub.config import CoreSettings, settings_model
from hub.errors import ChannelAuthError, ChannelTimeout
from hub.model import Address, AddressKind, Channel, Direction, OutgoingMessage, SendOutcome
from hub.runtime import Hub
from tests.helpers.postgres import free_port
from tests.helpers.smsc import Smsc, running_smsc, throwaway_certificate

CLIENT = "79001234567"
LONG_RU = (
    "Здравствуйте! Ваш заказ №4821 собран и передан в доставку. Курьер позвонит за час"
    " до приезда. Если вам неудобно время, ответьте на это сообщение или позвоните нам"
    " по телефону 8 800 555-35-35. Спасибо, что выбрали нас!"
)

PARTS = count_segments(LONG_RU).parts


async def until(predicate: Callable[[], Awaitable[bool]], limit: float = 15) -> None:
    deadline = time.monotonic() + limit
    while not await predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


def hub_settings(tmp_path: Path, smsc: Smsc, *, password: str = "secret", **gateway: Any) -> CoreSettings:
    return settings_model(load_plugins()).model_validate(
        {
            "demo_on_empty": False,
            "store": {"url": f"sqlite:///{tmp_path}/hub.db"},
            "web": {"port": free_port()},
            "sms": {
                "gateways": {
                    "op": {
                        "kind": "smpp",
                        "url": f"smpp://hub@127.0.0.1:{smsc.port}",
                        "password": password,
                        "sender": "Shop",
                        "enquire_link_s": 0,
                        **gateway,
                    }
                },
                "timeout_s": 3,
                "retry_base_s": 0.05,
                "retry_max_s": 0.5,
            },
        }
    )


@asynccontextmanager
async def running_hub(settings: CoreSettings, tmp_path: Path) -> AsyncIterator[tuple[Hub, ActivityStore]]:
    store = await ActivityStore.open(f"sqlite:///{tmp_path}/hub.db")
    hub = Hub(settings, store)
    await hub.start()
    try:
        yield hub, store
    finally:
        await hub.stop()
        await store.close()


def sms(text: str, message_id: str | None = None, to: str = CLIENT) -> OutgoingMessage:
    return OutgoingMessage(
        channel=Channel.SMS,
        to=(Address(kind=AddressKind.PHONE, value=to),),
        body=text,
        message_id=message_id,
    )


async def sms_rows(store: ActivityStore, direction: Direction) -> dict[str, dict[str, Any]]:
    page = await store.activities.list(ActivityFilter(channel=Channel.SMS, direction=direction), limit=500)
    return {a["external_id"]: a for a in page.items}


async def status_of(hub: Hub, store: ActivityStore, message_id: str) -> str | None:
    await hub.writer.flush()
    row = (await sms_rows(store, Direction.OUT)).get(message_id)
    return None if row is None else str(row["status"])


def health_of(hub: Hub) -> dict[str, Any]:
    (gateway,) = [a for a in hub.supervisor.health() if a["name"] == "sms:op"]
    return gateway


async def bound(hub: Hub) -> bool:
    return health_of(hub)["state"] == "running"


async def test_send_receipt_incoming_and_opt_out_over_one_bind(tmp_path: Path, smsc: Smsc) -> None:
    async with running_hub(hub_settings(tmp_path, smsc), tmp_path) as (hub, store):
        sender = hub.senders["sms:op"]
        assert isinstance(sender, SmppSender)
        assert sender.session is hub.adapters[0].session  # type: ignore[attr-defined]
        await until(lambda: bound(hub))

        # A long Cyrillic SMS: recorded, split, reassembled by the SMSC, receipts → delivered.
        result = await sender.send(sms(LONG_RU, "order-1"))
        assert result.ok and result.reason is not None and result.reason.startswith("accepted: ")
        (message,) = await smsc.wait_for("message")
        assert message["text"] == LONG_RU and message["parts"] == PARTS == 4 and message["to"] == CLIENT
        assert {s["data_coding"] for s in smsc.of("submit")} == {8}
        await until(lambda: _is(hub, store, "order-1", "delivered"))
        row = (await sms_rows(store, Direction.OUT))["order-1"]
        assert row["meta"]["parts"] == PARTS and row["meta"]["encoding"] == "ucs2"
        history = [h["status"] for h in (await store.activities.get(row["id"]))["status_history"]]
        assert history[0] == "sent" and history[-1] == "delivered", history
        assert len(smsc.of("bind")) == 1  # the sender used the adapter's bind

        # Incoming: a plain SMS, a long one in parts out of order, then an opt-out word.
        await smsc.command({"cmd": "mo", "from": "79005550001", "to": "Shop", "text": "Hello there"})
        await smsc.command(
            {"cmd": "mo_long", "from": "79005550002", "to": "Shop", "text": LONG_RU, "per_part": 67,
             "ref": 7, "order": [2, 4, 3, 1]}
        )
        await smsc.command({"cmd": "mo", "from": "79005550003", "to": "Shop", "text": " stop "})

        async def three_in() -> bool:
            await hub.writer.flush()
            return len(await sms_rows(store, Direction.IN)) == 3

        await until(three_in)
        incoming = {r["preview"]: r for r in (await sms_rows(store, Direction.IN)).values()}
        assert set(incoming) == {"Hello there", LONG_RU, " stop "}
        assert incoming[LONG_RU]["meta"]["parts"] == 4
        assert incoming[" stop "]["meta"]["opt_out"] is True
        assert "opt_out" not in incoming["Hello there"]["meta"]
        assert all(r["contact_id"] is not None for r in incoming.values())  # leads by phone

        # The opt-out is confirmed once, through the same bind.
        async def confirmed() -> bool:
            out = await sms_rows(store, Direction.OUT)
            return any(k.startswith("optout-") and r["status"] == "delivered" for k, r in out.items())

        await until(confirmed)
        confirmations = [s for s in smsc.of("submit") if s["to"] == "79005550003"]
        assert len(confirmations) == 1
        assert health_of(hub)["counters"]["incoming"] >= 3


async def _is(hub: Hub, store: ActivityStore, message_id: str, status: str) -> bool:
    return await status_of(hub, store, message_id) == status


async def test_refused_bind_stops_the_adapter_and_fails_the_send(tmp_path: Path, smsc: Smsc) -> None:
    async with running_hub(hub_settings(tmp_path, smsc, password="wrong"), tmp_path) as (hub, store):

        async def failed() -> bool:
            return health_of(hub)["state"] == "failed"

        await until(failed)  # under its lease, stopped for good: failed, not standby
        assert "ESME_RBINDFAIL" in health_of(hub)["last_error"]
        assert health_of(hub)["lease"] == "stopped"
        binds = len(smsc.of("bind"))  # one; more only if a loaded machine timed one out
        with pytest.raises(ChannelAuthError):
            await hub.senders["sms:op"].send(sms("hello", "refused-1"))
        assert await status_of(hub, store, "refused-1") == "failed"
        await asyncio.sleep(0.3)
        assert len(smsc.of("bind")) == binds >= 1  # not retried: a wrong password stays wrong
        assert smsc.of("submit") == []


async def test_throttling_shrinks_the_window_and_every_message_gets_through(
    tmp_path: Path, smsc_node_modules: Path
) -> None:
    throttles = [CommandStatus.ESME_RTHROTTLED, CommandStatus.ESME_RMSGQFUL, CommandStatus.ESME_RTHROTTLED]
    async with (
        running_smsc({"statuses": [int(s) for s in throttles], "resp_delay_ms": 20}) as smsc,
        running_hub(hub_settings(tmp_path, smsc, window=4), tmp_path) as (hub, store),
    ):
        await until(lambda: bound(hub))
        sender = hub.senders["sms:op"]
        assert isinstance(sender, SmppSender)
        results = await asyncio.gather(*(sender.send(sms(f"n{i}", f"t-{i}")) for i in range(12)))
        assert all(r.ok for r in results)
        submits = smsc.of("submit")
        assert len(submits) == 12 + len(throttles)  # the throttled ones were retried, once each
        assert {s["text"] for s in submits} == {f"n{i}" for i in range(12)}
        client = sender.session._client
        assert client is not None and client.window.size < 4  # shrunk, growing back slowly
        assert max(s["outstanding"] for s in submits) <= 4

        async def all_delivered() -> bool:
            await hub.writer.flush()
            rows = await sms_rows(store, Direction.OUT)
            return all(rows.get(f"t-{i}", {}).get("status") == "delivered" for i in range(12))

        await until(all_delivered)


async def test_window_bounds_outstanding_pdus(tmp_path: Path, smsc_node_modules: Path) -> None:
    async with (
        running_smsc({"resp_delay_ms": 60}) as smsc,
        running_hub(hub_settings(tmp_path, smsc, window=10), tmp_path) as (hub, _store),
    ):
        await until(lambda: bound(hub))
        sender = hub.senders["sms:op"]
        results = await asyncio.gather(*(sender.send(sms(f"w{i}", f"w-{i}")) for i in range(40)))
        assert all(r.ok for r in results)
        peak = max(s["outstanding"] for s in smsc.of("submit"))
        assert peak == 10  # the window filled, and never overflowed


async def test_receipt_before_response_is_applied_when_the_id_is_known(
    tmp_path: Path, smsc_node_modules: Path
) -> None:
    scenario = {"receipt_before_resp": True, "id_format": "hex", "receipt_id_format": "decimal", "receipt_tlvs": False}
    async with (
        running_smsc(scenario) as smsc,
        running_hub(hub_settings(tmp_path, smsc), tmp_path) as (hub, store),
    ):
        await until(lambda: bound(hub))
        result = await hub.senders["sms:op"].send(sms("fast SMSC", "early-1"))
        assert result.ok
        await smsc.wait_for("deliver_sm_resp")
        await until(lambda: _is(hub, store, "early-1", "delivered"))


async def test_dropped_connection_leaves_outstanding_messages_unknown_and_binds_again(
    tmp_path: Path, smsc_node_modules: Path
) -> None:
    async with (
        running_smsc({"drop_on_submit": 3, "resp_delay_ms": 300}) as smsc,
        running_hub(hub_settings(tmp_path, smsc), tmp_path) as (hub, store),
    ):
        await until(lambda: bound(hub))
        sender = hub.senders["sms:op"]
        outcomes = await asyncio.gather(
            *(sender.send(sms(f"d{i}", f"d-{i}")) for i in range(3)), return_exceptions=True
        )
        assert all(isinstance(o, ChannelTimeout) for o in outcomes), outcomes
        assert len(smsc.of("submit")) == 3
        for i in range(3):  # unknown: still queued, with the reason in the history
            assert await status_of(hub, store, f"d-{i}") == "queued"
        row = (await sms_rows(store, Direction.OUT))["d-0"]
        details = [h.get("detail") or "" for h in (await store.activities.get(row["id"]))["status_history"]]
        assert any(d.startswith("unknown: ") for d in details)

        # The adapter binds again; a new message goes through; nothing was resent.
        await until(lambda: _bound_again(hub, smsc))
        after = await sender.send(sms("after", "d-after"))
        assert after.ok and after.outcome is SendOutcome.SENT
        texts = [s["text"] for s in smsc.of("submit")]
        assert sorted(texts) == ["after", "d0", "d1", "d2"]


async def _bound_again(hub: Hub, smsc: Smsc) -> bool:
    return len(smsc.of("bind")) >= 2 and await bound(hub)


async def test_gateway_over_tls_sends_long_messages_as_its_settings_ask(
    tmp_path: Path, smsc_node_modules: Path
) -> None:
    cert = throwaway_certificate(tmp_path)
    async with running_smsc({"tls": {"key": str(cert.key), "cert": str(cert.cert)}}) as smsc:
        settings = hub_settings(
            tmp_path, smsc, url=f"smpps://hub@127.0.0.1:{smsc.port}", tls_ca_file=str(cert.cert),
            long_messages="sar",
        )
        async with running_hub(settings, tmp_path) as (hub, store):
            await until(lambda: bound(hub))
            result = await hub.senders["sms:op"].send(sms(LONG_RU, "tls-sar-1"))
            assert result.ok
            (message,) = await smsc.wait_for("message")
            assert (message["via"], message["parts"], message["text"]) == ("sar", PARTS, LONG_RU)
            assert all(s["udh"] == [] and s["sar"][1] == PARTS for s in smsc.of("submit"))
            await until(lambda: _is(hub, store, "tls-sar-1", "delivered"))
