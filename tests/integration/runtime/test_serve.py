"""The whole hub as `touchhub serve` runs it: adapters, writer, web API, shutdown."""

from __future__ import annotations

import asyncio
import json
import signal
import time
import urllib.request
from pathlib import Path

import aiohttp

from hub.activity import ActivityFilter, ActivityStore
from hub.config import load_settings
from hub.model import Channel
from hub.runtime import Hub
from tests.helpers.ami_server import FakeAmiServer, ServerPlan, events_only, recordings
from tests.helpers.cli import Touchhub
from tests.helpers.postgres import free_port

WAIT_S = 20


async def _until(predicate, limit: float = WAIT_S) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + limit
    while not await predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


async def test_hub_logs_every_recorded_call_once_and_serves_the_api(tmp_path: Path) -> None:
    streams = [events_only(r.read()) for r in recordings() if not r.name.startswith("P")]
    expected = sum(len(r.expected_calls()) for r in recordings() if not r.name.startswith("P"))
    port = free_port()
    async with FakeAmiServer(plan=ServerPlan(streams=[b"".join(streams)])) as pbx:
        config = tmp_path / "touchhub.toml"
        config.write_text(
            f'demo_on_empty = false\n[store]\nurl = "sqlite:///{tmp_path}/hub.db"\n'
            f"[web]\nport = {port}\n[supervisor]\nbackoff_initial_s = 0.05\n"
            f'[telephony.pbx.office]\nami = "{pbx.url}"\npassword = "env:TEST_AMI_SECRET"\n'
            "internal_pattern = '^1\\d\\d$'\ntrunk_pattern = '@(from-trunk|pstn-remote)-'\n",
            encoding="utf-8",
        )
        settings = load_settings(config, environ={"TEST_AMI_SECRET": pbx.secret})
        store = await ActivityStore.open(settings.store_url)
        for ext in ("101", "102", "103"):
            from hub.model import Address, AddressKind

            await store.employees.add(
                f"E{ext}", addresses=[Address(kind=AddressKind.EXTENSION, value=ext)]
            )
        token = await store.tokens.create("admin", "admin")
        hub = Hub(settings, store)
        await hub.start()
        try:

            async def all_calls_in() -> bool:
                page = await store.activities.list(ActivityFilter(channel=Channel.CALL), limit=500)
                return len(page.items) >= expected

            await _until(all_calls_in)
            base = f"http://127.0.0.1:{port}/api/v1"
            auth = {"Authorization": f"Bearer {token}"}
            async with aiohttp.ClientSession() as http:
                async with http.get(f"{base}/health") as resp:
                    health = await resp.json()
                assert resp.status == 200 and health["status"] == "ok"
                assert health["adapters"][0]["name"] == "ami:office"
                assert health["adapters"][0]["state"] == "running"
                assert "s3cret" not in json.dumps(health)
                async with http.post(
                    f"{base}/calls",
                    json={"employee": "101", "number": "+74951234567"},
                    headers=auth,
                ) as resp:
                    assert resp.status in (200, 201), await resp.text()
                originate = pbx.actions_named("Originate")
                assert originate and "101" in originate[0]["Channel"]
                async with http.get(f"{base}/calls/live/101", headers=auth) as resp:
                    assert (await resp.json())["state"] in ("idle", "ringing", "talking")
        finally:
            await hub.stop()
        calls = await store.activities.list(ActivityFilter(channel=Channel.CALL), limit=500)
        ids = [c["external_id"] for c in calls.items]
        assert len(ids) == len(set(ids)) == expected  # every call once
        unanswered = [
            c for c in calls.items if c["direction"] == "in" and c["status"] in ("missed", "busy")
        ]
        tasks = await store.activities.list(ActivityFilter(channel=Channel.TASK), limit=500)
        assert unanswered and len(tasks.items) == len(unanswered)  # each raised a callback task
        assert await store.quarantined() == []  # a clean stream leaves nothing behind
        await store.close()


def test_touchhub_serve_starts_with_demo_data_and_stops_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    config = tmp_path / "touchhub.toml"
    config.write_text(f'[store]\nurl = "sqlite:///{tmp_path}/serve.db"\n[web]\nport = {port}\n')
    touchhub = Touchhub(config=config)
    proc = touchhub.start("serve")
    try:
        deadline = time.monotonic() + 120
        health = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/api/v1/health", timeout=2
                ) as resp:
                    health = json.loads(resp.read())
                    break
            except OSError:
                time.sleep(0.2)
        assert health is not None and health["status"] == "ok", (
            proc.stderr.read() if proc.stderr else ""
        )
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        err = proc.stderr.read() if proc.stderr else ""
        assert f"http://127.0.0.1:{port}/" in err and "demo data" in err
        # Two tokens: a demo head's, to log in with first, and the admin's.
        tokens = {
            line.split(" token")[0].split()[-1]: line.rsplit(": ", 1)[1].strip()
            for line in err.splitlines()
            if line.startswith("demo ") and " token" in line
        }
        url = f"sqlite:///{tmp_path}/serve.db"
        assert asyncio.run(_principal_role(url, tokens["head"])) == "head"
        assert asyncio.run(_principal_role(url, tokens["admin"])) == "admin"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    out = touchhub.run_process("activities", "list", "--json", "--limit", "5")
    assert out.exit_code == 0, out.output
    assert len(json.loads(out.stdout)["items"]) == 5


async def _principal_role(url: str, token: str) -> str | None:
    store = await ActivityStore.open(url)
    try:
        who = await store.tokens.authenticate(token)
    finally:
        await store.close()
    return None if who is None else who.role
