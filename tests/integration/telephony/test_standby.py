"""A standby `touchhub serve` on PostgreSQL: the active one is killed mid-call, the standby
takes the AMI lease within seconds, and the CDR backfill closes the gap: every call once."""

from __future__ import annotations

import asyncio
import dataclasses
import shutil
import time
from pathlib import Path

import pytest

from hub.activity import ActivityFilter, ActivityStore
from hub.model import Channel
from hub.telephony.ami_adapter import COVERED_UNTIL
from tests.helpers.ami_server import FakeAmiServer, outage_plan, recordings
from tests.helpers.cli import Touchhub
from tests.helpers.hub_process import SECRET_ENV, assert_calls_match, start_hub, write_config

pytestmark = pytest.mark.timeout(120)
OUTAGE = next(r for r in recordings() if r.is_outage)
LEASE = "ami:office"
#: The standby tries every 2 s; with process start-up and a login, well within this.
TAKEOVER_LIMIT_S = 8.0


def _holds(health: dict[str, object]) -> bool:
    return health.get("held") == [LEASE]


def _stands_by(health: dict[str, object]) -> bool:
    return health.get("standing_by") == [LEASE]


async def test_the_standby_takes_over_a_killed_serve_and_every_call_is_logged_once(
    pg_url: str, tmp_path: Path
) -> None:
    assert OUTAGE.cdr is not None
    master = tmp_path / "Master.csv"
    shutil.copy(OUTAGE.cdr, master)
    # The first connection plays up to the middle of call 1 and stays open: its process
    # dies, not the link. The next one lists call 3's channels and plays the rest.
    plan = dataclasses.replace(outage_plan(OUTAGE), drop_after_stream=[False, False])
    store = await ActivityStore.open(pg_url)
    async with FakeAmiServer(plan=plan) as server:
        config = write_config(
            tmp_path / "touchhub.toml", store_url=pg_url, server=server, rec=OUTAGE, cdr=master
        )
        active = start_hub(config, server.secret, tmp_path / "active.log")
        standby = None
        try:
            seen = await active.wait_health(_holds)
            assert seen["process"]["pid"] == active.pid  # type: ignore[index]

            async def covered() -> str | None:
                return await store.get_checkpoint(LEASE, COVERED_UNTIL)

            deadline = time.monotonic() + 20
            while await covered() is None:  # the active one is capturing call 1
                assert time.monotonic() < deadline, active.output()[-3000:]
                await asyncio.sleep(0.1)
            assert server.connections == 1

            standby = start_hub(config, server.secret, tmp_path / "standby.log")
            waiting = await standby.wait_health(_stands_by)
            (lease,) = waiting["leases"]
            assert lease["state"] == "standby"
            assert lease["holder"]["pid"] == active.pid  # it names who runs the adapter
            assert waiting["adapters"][0]["state"] == "standby"
            assert waiting["status"] == "ok"
            shown = Touchhub(config=config, env={SECRET_ENV: server.secret}).ok(
                "health", "--url", standby.url
            )
            assert f"lease {LEASE}: standby, held by" in shown and f"pid {active.pid}" in shown
            await asyncio.sleep(1.0)
            assert server.connections == 1  # the standby never connected to the PBX

            active.kill()  # mid-call: call 1 is talking, calls 2 and 3 are still to come
            killed = time.monotonic()
            await standby.wait_health(_holds, limit=TAKEOVER_LIMIT_S + 5)
            took = time.monotonic() - killed
            assert took < TAKEOVER_LIMIT_S, took
            while server.connections < 2:
                assert time.monotonic() - killed < TAKEOVER_LIMIT_S, standby.output()[-3000:]
                await asyncio.sleep(0.05)

            want = OUTAGE.expected_calls()
            deadline = time.monotonic() + 20
            while True:
                page = await store.activities.list(ActivityFilter(channel=Channel.CALL), limit=50)
                if len(page.items) >= len(want) or time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.1)
            await asyncio.sleep(0.5)  # nothing more arrives: no duplicate
            page = await store.activities.list(ActivityFilter(channel=Channel.CALL), limit=50)
            assert_calls_match(list(page.items), want)
            after = await standby.wait_health(_holds)
            assert after["leases"][0]["holder"]["pid"] == standby.pid
            assert after["adapters"][0]["state"] == "running"
        finally:
            for proc in (standby, active):
                if proc is not None and proc.proc.poll() is None:
                    proc.stop()
    await store.close()
