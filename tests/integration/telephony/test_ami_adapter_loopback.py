"""The AMI client and adapter against a loopback AMI server serving recorded bytes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from hub.activity import ActivityStore
from hub.errors import ChannelAuthError, ChannelConnectError, ChannelTimeout
from hub.model import AdapterState, Direction, Flag, Status
from hub.telephony.ami_adapter import AmiAdapter
from hub.telephony.ami_client import AmiClient, AmiEndpoint
from hub.telephony.click_to_call import OriginateError, click_to_call
from hub.telephony.settings import PbxSettings
from tests.helpers.ami_server import (
    FakeAmiServer,
    MemorySink,
    ServerPlan,
    StoreTap,
    events_only,
    frames,
    interleave,
    live_channels,
    recordings,
    refused_port,
    renumber,
)

pytestmark = pytest.mark.timeout(30)

RECS = {r.name[:3]: r for r in recordings()}
LOCAL = [r for r in recordings() if r.raw.parent.name != "pjsip"]
TRUNKS = r"@(from-trunk|pstn-remote)-|^PJSIP/provider-"


def settings(server: FakeAmiServer, **extra: object) -> PbxSettings:
    values: dict[str, object] = {
        "ami": server.url,
        "password": SecretStr(server.secret),
        "internal_pattern": r"^1\d\d$",
        "trunk_pattern": TRUNKS,
    }
    values.update(extra)
    return PbxSettings.model_validate(values)


def adapter_for(server: FakeAmiServer, **extra: object) -> AmiAdapter:
    return AmiAdapter("office", settings(server, **extra), backoff_initial=0.01, backoff_max=0.05)


@pytest.fixture
async def server() -> AsyncIterator[FakeAmiServer]:
    async with FakeAmiServer() as srv:
        yield srv


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[ActivityStore]:
    """The real store: fault tests assert on what ends up in it."""
    opened = await ActivityStore.open(f"sqlite:///{tmp_path}/ami.db")
    yield opened
    await opened.close()


@pytest.fixture
async def tap(store: ActivityStore) -> AsyncIterator[StoreTap]:
    sink = StoreTap(store)
    await sink.writer.start()
    yield sink
    await sink.writer.stop()


async def run_until(adapter: AmiAdapter, sink: MemorySink, count: int, limit: float = 10) -> None:
    task = asyncio.create_task(adapter.run(sink))
    try:
        await sink.wait_for_touches(count, limit)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(task, 5)


@pytest.mark.parametrize("auth", ["md5", "plain"])
async def test_login_and_one_call(server: FakeAmiServer, auth: str) -> None:
    rec = RECS["01_"]
    server.plan = ServerPlan(streams=[events_only(rec.read())])
    adapter = adapter_for(server, auth=auth)
    sink = MemorySink()
    await run_until(adapter, sink, 1)
    (touch,) = sink.touches.values()
    assert touch.source == "ami:office" and touch.external_id == "1795425478.18"
    assert touch.direction is Direction.IN and touch.status is Status.ANSWERED
    assert touch.employee is not None and touch.employee.value == "101"
    assert [c.value for c in touch.counterparts] == ["+74951234567"]
    assert touch.metadata["extensions_rung"] == ["101"]
    login = server.actions_named("Login")[0]
    assert ("Key" in login) == (auth == "md5") and ("Secret" in login) == (auth == "plain")
    assert login["Events"] == "call,agent,dialplan,system"
    assert server.actions_named("Filter")
    assert server.actions_named("CoreShowChannels")


async def test_wrong_password_is_a_clear_auth_error_without_retries(server: FakeAmiServer) -> None:
    adapter = AmiAdapter(
        "office", settings(server, password=SecretStr("wrong")), backoff_initial=0.01
    )
    with pytest.raises(ChannelAuthError, match="refused login for user 'hub'"):
        await asyncio.wait_for(adapter.run(MemorySink()), 5)
    assert server.failed_logins == 1 and server.connections == 1
    assert adapter.health.state is AdapterState.FAILED
    assert "wrong" not in str(adapter.health.last_error)


async def test_refused_connection_is_clear_and_retried_with_backoff() -> None:
    port = refused_port()
    endpoint = AmiEndpoint(host="127.0.0.1", port=port, username="hub", secret="x")
    with pytest.raises(ChannelConnectError, match=f"cannot connect to AMI at 127.0.0.1:{port}"):
        await AmiClient(endpoint).connect()
    pbx = PbxSettings(ami=f"ami://hub@127.0.0.1:{port}", password=SecretStr("x"))
    adapter = AmiAdapter("office", pbx, backoff_initial=0.01, backoff_max=0.02)
    task = asyncio.create_task(adapter.run(MemorySink()))
    for _ in range(1000):  # up to 10 s on a loaded machine
        if adapter.health.restarts >= 3:
            break
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 5)
    assert adapter.health.restarts >= 3
    assert adapter.health.state is AdapterState.BACKOFF
    assert "cannot connect" in str(adapter.health.last_error)


async def test_dropped_mid_call_is_logged_once(server: FakeAmiServer, tap: StoreTap) -> None:
    rec = RECS["08_"]
    fr = frames(events_only(rec.read()))
    cut = len(fr) // 2
    first, rest = b"".join(fr[:cut]), b"".join(fr[cut:])
    server.plan = ServerPlan(
        streams=[first, rest],
        drop_after_stream=[True, False],
        channels=[[], live_channels(first)],
        stream_after="CoreShowChannels",
    )
    adapter = adapter_for(server)
    sink = tap
    await run_until(adapter, sink, 1)
    await asyncio.sleep(0.1)
    assert server.logins == 2
    assert len(sink.puts) == 1
    (stored,) = await tap.stored_calls()
    assert (stored["external_id"], stored["status"]) == ("1795425632.58", "answered")
    touch = sink.puts[0]
    assert touch.external_id == "1795425632.58" and touch.status is Status.ANSWERED
    assert touch.employee is not None and touch.employee.value == "103"
    assert touch.metadata["transfers"] == [{"from": "101", "to": "103", "kind": "blind"}]
    assert Flag.UNCLOSED not in touch.flags


async def test_asterisk_restart_closes_calls_in_flight_once(
    server: FakeAmiServer, tap: StoreTap
) -> None:
    rec, nxt = RECS["01_"], RECS["02_"]
    fr = frames(events_only(rec.read()))
    half = b"".join(fr[: len(fr) // 2])
    server.plan = ServerPlan(
        streams=[half, events_only(nxt.read())],
        banners=["Asterisk Call Manager/11.0.0", "Asterisk Call Manager/9.0.0"],
        drop_after_stream=[True, False],
        channels=[[], []],  # restarted: nothing is up any more
        stream_after="CoreShowChannels",
    )
    adapter = adapter_for(server)
    sink = tap
    await run_until(adapter, sink, 2)
    assert len(sink.puts) == 2
    stored = {c["external_id"]: c for c in await tap.stored_calls()}
    assert sorted(stored) == ["1795425478.18", "1795425499.22"]
    assert "reconciled" in stored["1795425478.18"]["flags"]
    lost = sink.touches[("ami:office", "1795425478.18")]
    assert Flag.RECONCILED in lost.flags
    assert lost.employee is not None and lost.employee.value == "101"
    after = sink.touches[("ami:office", "1795425499.22")]
    assert after.status is Status.MISSED and not after.flags


async def test_slow_reader_and_trickling_server_lose_nothing(
    server: FakeAmiServer, store: ActivityStore
) -> None:
    streams = [renumber(events_only(r.read()), i) for i, r in enumerate(LOCAL)]
    server.plan = ServerPlan(streams=[b"".join(interleave(streams, 5))], chunk_size=997)
    adapter = adapter_for(server)
    sink = StoreTap(store, put_delay=0.05)
    async with sink.writer:
        await run_until(adapter, sink, len(LOCAL), limit=20)
        assert len(sink.puts) == len(LOCAL) == len(sink.touches)
        stored = await sink.stored_calls()
    assert len(stored) == len({c["external_id"] for c in stored}) == len(LOCAL)


async def test_ten_calls_at_once(server: FakeAmiServer, tap: StoreTap) -> None:
    base = [r for r in LOCAL if not r.name.startswith("09_")]
    streams = [renumber(events_only(base[i % len(base)].read()), 10 + i) for i in range(10)]
    server.plan = ServerPlan(streams=[b"".join(interleave(streams, 10))], chunk_size=4096)
    adapter = adapter_for(server)
    sink = tap
    await run_until(adapter, sink, 10)
    assert len(sink.puts) == 10
    stored = await tap.stored_calls()
    assert len({c["external_id"] for c in stored}) == len(stored) == 10
    assert all(t.direction is not Direction.INTERNAL for t in sink.puts)


async def test_ping_keepalive_detects_a_silent_pbx(server: FakeAmiServer) -> None:
    server.plan = ServerPlan(answer_ping=False)
    client = AmiClient(
        AmiEndpoint.from_url(server.url, server.secret), ping_interval=0.05, ping_timeout=0.1
    )
    await client.connect()
    try:
        first = await asyncio.wait_for(client.next_event(), 5)
        assert getattr(first, "event", None) == "FullyBooted"
        with pytest.raises(ChannelTimeout, match="Ping"):
            await asyncio.wait_for(client.next_event(), 5)
    finally:
        await client.close()


async def test_list_action_collects_until_complete(server: FakeAmiServer) -> None:
    chans = live_channels(b"".join(frames(events_only(RECS["06_"].read()))[:120]))
    server.plan = ServerPlan(channels=[chans])
    async with AmiClient(AmiEndpoint.from_url(server.url, server.secret)) as client:
        got = await client.list_action("CoreShowChannels")
        pong = await client.action("Ping")
    assert [m.get("Uniqueid") for m in got] == [c["Uniqueid"] for c in chans]
    assert len(got) > 2
    assert pong.get("Ping") == "Pong"


async def test_filter_refused_still_captures(server: FakeAmiServer) -> None:
    server.plan = ServerPlan(streams=[events_only(RECS["03_"].read())], filter_allowed=False)
    sink = MemorySink()
    await run_until(adapter_for(server), sink, 1)
    (touch,) = sink.touches.values()
    assert touch.status is Status.BUSY


async def test_garbage_on_the_wire_is_quarantined(
    server: FakeAmiServer, tap: StoreTap, store: ActivityStore
) -> None:
    stream = b"complete nonsense\r\n\r\n" + events_only(RECS["01_"].read())
    server.plan = ServerPlan(streams=[stream])
    await run_until(adapter_for(server), tap, 1)
    assert len(tap.quarantined) == 1 and tap.quarantined[0].raw.startswith(b"complete")
    assert len(await tap.stored_calls()) == 1  # the stream went on
    (kept,) = await store.quarantined("ami:office")
    assert kept["raw"].startswith(b"complete")


# ------------------------------------------------------------------ click-to-call


async def test_click_to_call_sends_originate_and_reports(server: FakeAmiServer) -> None:
    server.plan = ServerPlan(originate_stream=events_only(RECS["04_"].read()))
    adapter = adapter_for(server)
    sink = MemorySink()
    task = asyncio.create_task(adapter.run(sink))
    try:
        client = await asyncio.wait_for(adapter.wait_ready(), 5)
        result = await click_to_call(client, "101", "8 (495) 123-45-67")
        await sink.wait_for_touches(1, 5)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(task, 5)
    (sent,) = server.actions_named("Originate")
    assert sent["Channel"] == "PJSIP/101"
    assert sent["Context"] == "from-internal"
    assert sent["Exten"] == "84951234567"
    assert sent["Priority"] == "1"
    assert sent["Async"] == "true"
    assert sent["Timeout"] == "30000"
    assert sent["CallerID"] == "<101>"  # the employee's own ID; never the client's number
    assert result.extension == "101" and result.number == "84951234567"
    (touch,) = sink.touches.values()
    assert touch.direction is Direction.OUT and touch.status is Status.ANSWERED


@pytest.mark.parametrize(
    ("plan", "message"),
    [
        (ServerPlan(originate_response="Failure", originate_reason="5"), "busy"),
        (ServerPlan(originate_response="Failure", originate_reason="3"), "without an answer"),
        (ServerPlan(originate_refuse=True), "refused to call"),
    ],
)
async def test_failed_originate_is_a_clear_error(
    server: FakeAmiServer, plan: ServerPlan, message: str
) -> None:
    server.plan = plan
    async with AmiClient(AmiEndpoint.from_url(server.url, server.secret)) as client:
        with pytest.raises(OriginateError, match=message):
            await click_to_call(client, "101", "+74951234567", ring_timeout_s=2)
