"""kill -9 of `serve` at points spread over a replayed stream, then a restart each time,
gives the same calls as a run that was never interrupted."""

from __future__ import annotations

import asyncio
import csv
import io
import itertools
import time
from pathlib import Path
from typing import Any

import pytest

from hub.activity import ActivityFilter, ActivityStore
from hub.model import Channel, Flag
from tests.helpers.ami_server import (
    FakeAmiServer,
    Recording,
    ServerPlan,
    channels_at,
    events_only,
    frames,
    pbx_time,
    recordings,
)
from tests.helpers.hub_process import HubProcess, start_hub, ts, write_config

pytestmark = pytest.mark.timeout(150)
#: Pickups and an attended transfer: the calls whose state is hardest to rebuild.
NAMES = ("P11_", "P12_", "P13_")
RECS = [next(r for r in recordings() if r.name.startswith(n)) for n in NAMES]
KILLS = 5
#: The events a process was sent have all been read once its counter rests this long.
SETTLE_S = 0.4
CALLS_LIMIT_S = 20.0


def _stream() -> list[bytes]:
    return [f for r in RECS for f in frames(events_only(r.read()))]


def _cdr_lines(rec: Recording) -> list[list[str]]:
    assert rec.cdr is not None
    rows = list(csv.reader(io.StringIO(rec.cdr.read_text(encoding="utf-8"))))
    return [row for row in rows[1:] if row]


def _master(path: Path) -> None:
    """Asterisk's Master.csv with the lines of every call of the stream. A restarted
    process must take from it only what the gap lost: calls begun after the reconnect
    (by the PBX's clock) are live capture's."""
    buffer = io.StringIO()
    out = csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\n")
    for rec in RECS:
        out.writerows(_cdr_lines(rec))
    path.write_text(buffer.getvalue(), encoding="utf-8")


async def _calls(store: ActivityStore) -> list[dict[str, Any]]:
    page = await store.activities.list(ActivityFilter(channel=Channel.CALL), limit=100)
    return list(page.items)


async def _events_settled(hub: HubProcess) -> int:
    """Wait until the adapter runs and has read everything it was sent; its event count."""
    last, since = -1, time.monotonic()
    deadline = time.monotonic() + 30
    while True:
        health = await hub.wait_health(lambda h: h["adapters"][0]["state"] == "running")
        count = int(health["adapters"][0]["counters"].get("events", 0))
        if count != last:
            last, since = count, time.monotonic()
        elif count > 0 and time.monotonic() - since >= SETTLE_S:
            return count
        assert time.monotonic() < deadline, hub.output()[-3000:]
        await asyncio.sleep(0.05)


async def _until_calls(store: ActivityStore, count: int) -> list[dict[str, Any]]:
    deadline = time.monotonic() + CALLS_LIMIT_S
    while time.monotonic() < deadline:
        if len(await _calls(store)) >= count:
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(0.3)  # nothing more comes
    return await _calls(store)


def _view(call: dict[str, Any]) -> dict[str, Any]:
    meta = call["meta"]
    return {
        "direction": call["direction"],
        "status": call["status"],
        "employee": meta.get("employee_raw"),
        "counterpart": meta.get("counterparts_raw"),
        "rung": sorted(meta.get("extensions_rung") or []),
        "transfers": meta.get("transfers"),
    }


def _same_calls(got: list[dict[str, Any]], want: list[dict[str, Any]]) -> None:
    ids = [c["external_id"] for c in got]
    assert len(ids) == len(set(ids)), f"logged twice: {ids}"
    by_id = {c["external_id"]: c for c in got}
    assert sorted(by_id) == sorted(c["external_id"] for c in want)
    for w in want:
        g = by_id[w["external_id"]]
        assert _view(g) == _view(w), w["external_id"]
        for col in ("occurred_at", "answered_at", "ended_at"):
            assert (g[col] is None) == (w[col] is None), (w["external_id"], col)
            if w[col] is not None:
                gap = abs((ts(g[col]) - ts(w[col])).total_seconds())
                assert gap <= 1.0, (w["external_id"], col, g[col], w[col])
        assert abs(float(g["talk_s"] or 0) - float(w["talk_s"] or 0)) <= 1.0, w["external_id"]
        assert Flag.UNCLOSED.value not in g["flags"], w["external_id"]


async def _uninterrupted(tmp_path: Path, stream: bytes, want: int) -> list[dict[str, Any]]:
    url = f"sqlite:///{tmp_path}/whole.db"
    master = tmp_path / "whole.csv"
    _master(master)
    store = await ActivityStore.open(url)
    try:
        async with FakeAmiServer(plan=ServerPlan(streams=[stream])) as server:
            config = write_config(
                tmp_path / "whole.toml", store_url=url, server=server, rec=RECS[0], cdr=master
            )
            hub = start_hub(config, server.secret, tmp_path / "whole.log")
            try:
                await _events_settled(hub)
                calls = await _until_calls(store, want)
            finally:
                assert hub.stop() == 0, hub.output()[-3000:]
        return calls
    finally:
        await store.close()


async def test_kill_minus_nine_at_five_points_then_restart_gives_the_uninterrupted_calls(
    tmp_path: Path,
) -> None:
    started = time.monotonic()
    fr = _stream()
    points = [len(fr) * k // (KILLS + 1) for k in range(1, KILLS + 1)]
    bounds = [0, *points, len(fr)]
    segments = [b"".join(fr[a:b]) for a, b in itertools.pairwise(bounds)]
    prefixes = [b"".join(fr[:p]) for p in points]
    want_count = sum(len(r.expected_calls()) for r in RECS)
    whole = await _uninterrupted(tmp_path, b"".join(fr), want_count)
    assert len(whole) == want_count

    url = f"sqlite:///{tmp_path}/killed.db"
    master = tmp_path / "Master.csv"
    _master(master)
    plan = ServerPlan(
        streams=segments,
        # Each restart finds the channels up at the kill and the PBX's clock there, and
        # the stream goes on from there: what the dead process read and did not write,
        # and the part of a call in flight it alone saw, are only in the CDR.
        channels=[[], *(channels_at(p) for p in prefixes)],
        pbx_times=[pbx_time(segments[0]) or 0.0, *(pbx_time(p) or 0.0 for p in prefixes)],
        stream_after="CoreShowChannels",
    )
    store = await ActivityStore.open(url)
    try:
        async with FakeAmiServer(plan=plan) as server:
            config = write_config(
                tmp_path / "killed.toml", store_url=url, server=server, rec=RECS[0], cdr=master
            )
            for run in range(KILLS):
                hub = start_hub(config, server.secret, tmp_path / f"run{run}.log")
                try:
                    await _events_settled(hub)
                finally:
                    hub.kill()
                assert server.connections == run + 1
            last = start_hub(config, server.secret, tmp_path / "last.log")
            try:
                await _events_settled(last)
                got = await _until_calls(store, want_count)
            finally:
                assert last.stop() == 0, last.output()[-3000:]
        assert server.connections == KILLS + 1
    finally:
        await store.close()
    _same_calls(got, whole)
    assert time.monotonic() - started < 60
