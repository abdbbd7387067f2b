"""A live AMI outage closed from Asterisk's CDR file: every call once, times within 1 s."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import pytest
from pydantic import SecretStr

from hub.activity import ActivityStore
from hub.model import Flag
from hub.telephony.ami_adapter import COVERED_UNTIL, AmiAdapter
from hub.telephony.settings import PbxSettings
from tests.helpers.ami_server import FakeAmiServer, StoreTap, outage_plan, recordings

pytestmark = pytest.mark.timeout(60)
OUTAGE = next(r for r in recordings() if r.is_outage)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[ActivityStore]:
    opened = await ActivityStore.open(f"sqlite:///{tmp_path}/ami.db")
    yield opened
    await opened.close()


def _ts(value: object) -> datetime:
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _adapter(server: FakeAmiServer, cdr: Path | None) -> AmiAdapter:
    pbx = PbxSettings.model_validate(
        {
            "ami": server.url,
            "password": SecretStr(server.secret),
            "internal_pattern": OUTAGE.internal_pattern,
            "trunk_pattern": OUTAGE.trunk_pattern,
            "cdr": f"csv:{cdr}" if cdr else None,
        }
    )
    return AmiAdapter("office", pbx, backoff_initial=0.01, backoff_max=0.05)


async def _run(adapter: AmiAdapter, tap: StoreTap, count: int) -> list[dict[str, object]]:
    task = asyncio.create_task(adapter.run(tap))
    try:
        deadline = asyncio.get_running_loop().time() + 20
        while True:
            calls = await tap.stored_calls()
            if len(calls) >= count or asyncio.get_running_loop().time() > deadline:
                return calls
            await asyncio.sleep(0.05)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(task, 5)


async def test_the_outage_logs_all_three_calls_once_with_true_times(
    store: ActivityStore, tmp_path: Path
) -> None:
    assert OUTAGE.cdr is not None
    master = tmp_path / "Master.csv"
    shutil.copy(OUTAGE.cdr, master)
    tap = StoreTap(store)
    await tap.writer.start()
    try:
        async with FakeAmiServer(plan=outage_plan(OUTAGE)) as server:
            adapter = _adapter(server, master)
            calls = await _run(adapter, tap, 3)
            await asyncio.sleep(0.3)  # nothing more arrives: no duplicate
            calls = await tap.stored_calls()
        assert server.connections >= 2
    finally:
        await tap.writer.stop()
    want = {w["external_id"]: w for w in OUTAGE.expected_calls()}
    got = {c["external_id"]: c for c in calls}
    assert sorted(got) == sorted(want)
    assert len(tap.puts) == len({t.external_id for t in tap.puts}) == 3  # each emitted once
    for lid, w in want.items():
        g = got[lid]
        assert (g["direction"], g["status"]) == (w["direction"], w["status"]), lid
        for key, col in (("started_at", "occurred_at"), ("answered_at", "answered_at"), ("ended_at", "ended_at")):
            assert abs((_ts(g[col]) - _ts(w[key])).total_seconds()) <= 1.0, (lid, key)
        assert abs(float(g["talk_s"]) - float(w["talk_seconds"])) <= 1.0, lid
    first, gap, _third = want
    assert Flag.BACKFILLED.value in got[gap]["flags"]
    assert Flag.BACKFILLED.value in got[first]["flags"]
    assert await tap.load_checkpoint("ami:office", COVERED_UNTIL) is not None


async def test_without_a_cdr_file_the_lost_end_is_said_not_invented(
    store: ActivityStore,
) -> None:
    tap = StoreTap(store)
    await tap.writer.start()
    try:
        async with FakeAmiServer(plan=outage_plan(OUTAGE)) as server:
            calls = await _run(_adapter(server, None), tap, 2)
    finally:
        await tap.writer.stop()
    first, gap, third = (w["external_id"] for w in OUTAGE.expected_calls())
    got = {c["external_id"]: c for c in calls}
    assert gap not in got and set(got) == {first, third}
    assert got[first]["ended_at"] is None
    assert any("end time unknown" in n for n in got[first]["meta"]["notes"])
