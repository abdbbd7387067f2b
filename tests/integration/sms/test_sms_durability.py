"""SMS that survive restarts, against the npm `smpp` SMSC: held messages sent after a
restart (once), receipts for messages sent before one, and `touchhub serve` killed between
a submit and its answer — unknown, not resent, resolved by a later receipt; resent once
where the gateway asks for it; the SMPP bind and the outbox under their leases, a second
`serve` standing by and taking over. And with real Kannel: a hub stopped before smsbox
answered leaves the message unknown, and Kannel's report (our id in its dlr-url) resolves
it in the next run."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from hub.activity import ActivityStore
from hub.channels.sms.kannel_protocol import mo_get_url
from hub.channels.sms.kannel_sender import mo_url_of
from hub.channels.sms.outbox import Outbox, Pending, PendingState
from hub.channels.sms.outbox_adapter import UNKNOWN_DETAIL
from hub.channels.sms.smpp_sender import SmppSender
from hub.config import CoreSettings
from hub.model import Direction, SendOutcome
from hub.runtime import Hub
from tests.helpers.hub_process import HubProcess, start_hub
from tests.helpers.postgres import free_port
from tests.helpers.smsc import Smsc, running_smsc
from tests.integration.sms.kannel_server import running_kannel
from tests.integration.sms.test_kannel_channel import TOKEN as KANNEL_TOKEN
from tests.integration.sms.test_kannel_channel import hub_settings as kannel_hub_settings
from tests.integration.sms.test_smpp_gateway import (
    bound,
    health_of,
    hub_settings,
    sms,
    sms_rows,
    status_of,
    until,
)

pytestmark = pytest.mark.timeout(90)
MOSCOW = "74951234567"
NIGHT = datetime(2026, 12, 6, 19, 30, tzinfo=UTC)  # 22:30 in Moscow
DAWN = datetime(2026, 12, 7, 6, tzinfo=UTC)  # 09:00 in Moscow, when quiet hours end


@asynccontextmanager
async def running_hub(
    settings: CoreSettings, tmp_path: Path, before_start: Callable[[Hub], None] = lambda hub: None
) -> AsyncIterator[tuple[Hub, ActivityStore]]:
    """A hub on the test's store; `before_start` sees it built, before anything runs."""
    store = await ActivityStore.open(f"sqlite:///{tmp_path}/hub.db")
    hub = Hub(settings, store)
    before_start(hub)
    await hub.start()
    try:
        yield hub, store
    finally:
        await hub.stop()
        await store.close()


def night_settings(tmp_path: Path, smsc: Smsc) -> CoreSettings:
    settings = hub_settings(tmp_path, smsc)
    settings.sms.quiet_hours = "21:00-09:00"
    settings.sms.company_timezone = "Europe/Moscow"
    settings.sms.outbox_scan_s = 0.1
    return settings


async def test_a_held_message_is_sent_after_a_restart_when_its_hour_comes_and_only_once(
    tmp_path: Path, smsc: Smsc
) -> None:
    async with running_hub(night_settings(tmp_path, smsc), tmp_path) as (hub, store):
        sender = hub.senders["sms:op"]
        assert isinstance(sender, SmppSender) and sender.holder is not None
        sender.holder.clock = lambda: NIGHT
        held = await sender.send(sms("Скидка до утра", "night-1", to=MOSCOW))
        assert held.outcome is SendOutcome.TEMPORARY_FAILURE and sender.holder.waiting == 1
        (entry,) = await Outbox("sms:op", hub.writer).pending()
        assert (entry.message_id, entry.state, entry.until) == ("night-1", PendingState.HELD, DAWN)
    assert smsc.of("submit") == []  # stopped at night: nothing went

    # The next run: still night at first, then dawn. The message goes once, at dawn.
    now = [NIGHT + timedelta(hours=1)]
    slept: list[float] = []
    dawn = asyncio.Event()

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        await dawn.wait()

    def night_clock(hub: Hub) -> None:
        holder = hub.senders["sms:op"].holder  # type: ignore[attr-defined]
        holder.clock, holder.sleep = (lambda: now[0]), sleep

    async with running_hub(night_settings(tmp_path, smsc), tmp_path, before_start=night_clock) as (hub, store):
        sender = hub.senders["sms:op"]
        assert isinstance(sender, SmppSender) and sender.holder is not None
        await until(lambda: _true(sender.holder is not None and sender.holder.waiting == 1))
        assert slept == [(DAWN - now[0]).total_seconds()]
        (entry,) = await Outbox("sms:op", hub.writer).pending()
        assert entry.owner == Outbox("sms:op", hub.writer).owner  # taken over by this run
        assert smsc.of("submit") == []
        now[0] = DAWN
        dawn.set()
        await until(lambda: _is(hub, store, "night-1", "delivered"))
        assert [s["text"] for s in smsc.of("submit")] == ["Скидка до утра"]
        assert await Outbox("sms:op", hub.writer).pending() == []
        row = (await sms_rows(store, Direction.OUT))["night-1"]
        assert row["meta"]["not_before"] == DAWN.isoformat()

    async with running_hub(night_settings(tmp_path, smsc), tmp_path) as (hub, _store):
        await until(lambda: bound(hub))
        await asyncio.sleep(0.3)  # a few sweeps of the outbox: nothing is left to send
        assert len(smsc.of("submit")) == 1


async def test_a_receipt_after_a_restart_finds_its_message_by_the_smsc_id_in_the_store(
    tmp_path: Path, smsc_node_modules: Path
) -> None:
    # hex ids in submit_sm_resp, decimal in the receipt text, no TLVs: only the text says
    scenario = {"auto_receipts": False, "id_format": "hex", "receipt_id_format": "decimal", "receipt_tlvs": False}
    async with running_smsc(scenario) as smsc:
        async with running_hub(hub_settings(tmp_path, smsc), tmp_path) as (hub, store):
            await until(lambda: bound(hub))
            result = await hub.senders["sms:op"].send(sms("before the restart", "early-1"))
            assert result.ok
            assert await status_of(hub, store, "early-1") == "sent"
        async with running_hub(hub_settings(tmp_path, smsc), tmp_path) as (hub, store):
            await until(lambda: bound(hub))
            assert hub.senders["sms:op"].session.matcher.known == 0  # type: ignore[attr-defined]
            await smsc.command({"cmd": "receipt", "n": 1})
            await smsc.wait_for("deliver_sm_resp")
            await until(lambda: _is(hub, store, "early-1", "delivered"))
            assert health_of(hub)["counters"]["receipts"] == 1
            assert len(smsc.of("submit")) == 1


# ------------------------------------------------------------------ kill -9 through serve

CLIENT_OP, CLIENT_RE = "79001110001", "79001110002"
SECRET = "secret"
#: No web workers: one process each, started faster.
ONE_PROCESS = ("--workers", "1")


def serve_config(path: Path, db: Path, smsc: Smsc) -> Path:
    gateway = (
        f'kind = "smpp"\nurl = "smpp://hub@127.0.0.1:{smsc.port}"\npassword = "env:TEST_AMI_SECRET"\n'
        'sender = "Shop"\nenquire_link_s = 0\n'
    )
    path.write_text(
        f'demo_on_empty = false\n[store]\nurl = "sqlite:///{db}"\n'
        "[supervisor]\nbackoff_initial_s = 0.05\nbackoff_max_s = 0.5\n"
        '[sms]\ndefault_gateway = "op"\ntimeout_s = 30\nretry_base_s = 0.05\nretry_max_s = 0.5\n'
        "outbox_scan_s = 0.2\noutbox_stale_s = 1\n"
        f"[sms.gateways.op]\n{gateway}"
        f"[sms.gateways.re]\n{gateway}resend_unknown = true\n",
        encoding="utf-8",
    )
    return path


LEASES = ["sms:op", "sms:op:outbox", "sms:re", "sms:re:outbox"]


def _holds(health: dict[str, Any]) -> bool:
    return sorted(health.get("held", [])) == LEASES


def _stands_by(health: dict[str, Any]) -> bool:
    return sorted(health.get("standing_by", [])) == LEASES


async def _post(hub: HubProcess, token: str, to: str, text: str, gateway: str) -> None:
    async with aiohttp.ClientSession() as http:
        await http.post(
            f"{hub.url}/api/v1/sms",
            json={"to": to, "text": text, "gateway": gateway},
            headers={"Authorization": f"Bearer {token}"},
        )


async def test_serve_killed_between_submit_and_answer_leaves_the_message_unknown_and_the_standby_takes_over(
    tmp_path: Path, smsc_node_modules: Path
) -> None:
    db = tmp_path / "hub.db"
    store = await ActivityStore.open(f"sqlite:///{db}")
    token = await store.tokens.create("boss", "admin")
    async with running_smsc({"hold_submits": [1, 2]}) as smsc:
        config = serve_config(tmp_path / "touchhub.toml", db, smsc)
        active = start_hub(config, SECRET, tmp_path / "active.log", args=ONE_PROCESS)
        standby = None
        posts: list[asyncio.Task[None]] = []
        try:
            await active.wait_health(_holds)
            standby = start_hub(config, SECRET, tmp_path / "standby.log", args=ONE_PROCESS)
            waiting = await standby.wait_health(_stands_by)
            assert {a["state"] for a in waiting["adapters"]} == {"standby"}
            assert len(smsc.of("bind")) == 2  # the active one's binds only

            # Two messages the SMSC takes and never answers; then the active one dies.
            posts = [
                asyncio.create_task(_post(active, token, CLIENT_OP, "unknown to us", "op")),
                asyncio.create_task(_post(active, token, CLIENT_RE, "resend me", "re")),
            ]
            await smsc.wait_for("held", 2, wait_s=20)
            active.kill()
            killed = time.monotonic()
            await standby.wait_health(_holds, limit=20)
            assert time.monotonic() - killed < 10
            await smsc.wait_for("bind", 4)

            # `re` opted into resending: its message goes again, once, and is delivered.
            resent = await smsc.wait_for("submit", 3, wait_s=20)
            assert sorted(s["to"] for s in resent[:2]) == [CLIENT_OP, CLIENT_RE] and resent[2]["to"] == CLIENT_RE
            ids = await _ids_by_recipient(store)

            async def re_delivered() -> bool:
                return (await _row(store, ids[CLIENT_RE]))["status"] == "delivered"

            await until(re_delivered, 20)

            # `op` did not: its message is unknown (still queued), and not sent again.
            async def op_unknown() -> bool:
                return UNKNOWN_DETAIL in await _details(store, ids[CLIENT_OP])

            await until(op_unknown, 20)
            assert (await _row(store, ids[CLIENT_OP]))["status"] == "queued"
            await asyncio.sleep(0.5)
            assert len(smsc.of("submit")) == 3

            # The SMSC's receipt for that submit (its id never reached us) resolves it.
            (first,) = [e["n"] for e in smsc.of("submit") if e["to"] == CLIENT_OP]
            await smsc.command({"cmd": "receipt", "n": first})

            async def op_delivered() -> bool:
                return (await _row(store, ids[CLIENT_OP]))["status"] == "delivered"

            await until(op_delivered, 20)
            assert len(smsc.of("submit")) == 3
            settled = await standby.wait_health(_holds)
            assert {a["name"]: a["state"] for a in settled["adapters"]}["sms:op"] == "running"
        finally:
            for task in posts:
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task
            for proc in (standby, active):
                if proc is not None and proc.proc.poll() is None:
                    proc.stop()
    await store.close()


async def _ids_by_recipient(store: ActivityStore) -> dict[str, str]:
    rows = (await sms_rows(store, Direction.OUT)).values()
    return {r["counterpart"].lstrip("+"): r["external_id"] for r in rows}


async def _row(store: ActivityStore, message_id: str) -> dict[str, Any]:
    return (await sms_rows(store, Direction.OUT))[message_id]


async def _details(store: ActivityStore, message_id: str) -> list[str]:
    row = await _row(store, message_id)
    return [h.get("detail") or "" for h in (await store.activities.get(row["id"]))["status_history"]]


async def _is(hub: Hub, store: ActivityStore, message_id: str, status: str) -> bool:
    return await status_of(hub, store, message_id) == status


async def _true(value: bool) -> bool:
    return value


async def test_pending_entries_are_listed_by_source_and_removed_when_settled(store: ActivityStore) -> None:
    """The outbox's store side on both backends: a listing of one source, `_` and `%` in
    keys taken literally, and an empty value removes the checkpoint."""
    writer = store.writer()
    async with writer:
        outbox = Outbox("sms:op", writer)
        other = Outbox("sms:other", writer)
        for message_id in ("a_1", "a%2", "b-3"):
            await outbox.sending(sms("x", message_id), message_id)
        await other.sending(sms("y", "c-4"), "c-4")
        await outbox.took("1a2b0", "a_1", 2)
        assert [e.message_id for e in await outbox.pending()] == ["a%2", "a_1", "b-3"]
        assert list(await writer.checkpoints_under("sms:op/outbox", "a_")) == ["a_1"]
        await outbox.settled("a_1")
        await outbox.settled("b-3")
        assert [e.message_id for e in await outbox.pending()] == ["a%2"]
        assert [e.message_id for e in await other.pending()] == ["c-4"]
        found = await outbox.find("107184")  # the decimal spelling of 1a2b0
        assert found is not None and found[0] == "1a2b0" and found[1].message_id == "a_1"
        assert found[1].parts == 2


# ------------------------------------------------------------------ Kannel


class HeldSendsms:
    """Between the hub and smsbox: takes each sendsms request, passes it on only when
    `release` is called, and never answers the hub (whose process is gone by then)."""

    def __init__(self, upstream: int) -> None:
        self.upstream = upstream
        self.requests: list[bytes] = []
        self.released = asyncio.Event()
        self.port = free_port()
        self._server: asyncio.Server | None = None

    @property
    def sends(self) -> list[bytes]:
        return [r for r in self.requests if b"text=" in r]  # not the health probes

    async def __aenter__(self) -> HeldSendsms:
        self._server = await asyncio.start_server(self._client, "127.0.0.1", self.port)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            request = await reader.readuntil(b"\r\n\r\n")
            self.requests.append(request)
            await self.released.wait()
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream)
            up_writer.write(request)
            await up_writer.drain()
            await up_reader.read(4096)  # smsbox's answer, which nobody waits for any more
            up_writer.close()
        writer.close()


def kannel_settings(tmp_path: Path, port: int, sendsms_port: int) -> CoreSettings:
    settings = kannel_hub_settings(tmp_path, port, sendsms_port)
    settings.sms.outbox_scan_s, settings.sms.outbox_stale_s, settings.sms.timeout_s = 0.1, 0.5, 30
    return settings


async def test_kannel_a_message_whose_hub_stopped_before_kannels_answer_is_unknown_then_its_report_resolves_it(
    tmp_path: Path,
) -> None:
    port, sendsms_port = free_port(), free_port()
    async with HeldSendsms(sendsms_port) as held:
        # The hub's run that dies: its send reached "Kannel" and got no answer.
        async with running_hub(kannel_settings(tmp_path, port, held.port), tmp_path) as (hub, store):
            sending = asyncio.create_task(hub.senders["sms:main"].send(sms("lost answer", "k-1")))
            await until(lambda: _true(len(held.sends) == 1))
            sending.cancel()  # the process is gone: nothing of it runs after this
            with contextlib.suppress(asyncio.CancelledError):
                await sending
        (entry,) = await _pending_of(tmp_path, "sms:main")
        assert entry.state is PendingState.SENDING

        get_url = mo_get_url(mo_url_of(f"http://127.0.0.1:{port}", "main", KANNEL_TOKEN))
        kannel_cm = running_kannel(get_url, (CLIENT_OP, "1234", "hi"), sendsms_port=sendsms_port)
        kannel = await asyncio.to_thread(kannel_cm.__enter__)
        try:
            async with running_hub(kannel_settings(tmp_path, port, held.port), tmp_path) as (hub, store):

                async def unknown() -> bool:
                    row = (await sms_rows(store, Direction.OUT)).get("k-1")
                    return row is not None and UNKNOWN_DETAIL in await _details(store, "k-1")

                await until(unknown)
                assert await status_of(hub, store, "k-1") == "queued"
                held.released.set()  # Kannel gets it after all, and reports to the next run
                await until(lambda: _is(hub, store, "k-1", "delivered"), 20)
                await asyncio.sleep(0.5)
                assert len(held.sends) == 1  # not resent
                log = (kannel.directory / "access.log").read_text(encoding="utf-8", errors="replace")
                assert log.count("Sent SMS") == 1 and "lost answer" in log
        finally:
            await asyncio.to_thread(kannel_cm.__exit__, None, None, None)


async def _pending_of(tmp_path: Path, source: str) -> list[Pending]:
    store = await ActivityStore.open(f"sqlite:///{tmp_path}/hub.db")
    try:
        found = await store.checkpoints_under(f"{source}/outbox", "")
        return [Pending.from_json(k, v) for k, v in found.items()]
    finally:
        await store.close()
