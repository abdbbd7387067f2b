"""`touchhub serve --workers 2` as real processes: one port answered by two pids, the AMI
adapter logged in once, requests that need the main process forwarded to it, a killed
web worker started again, SIGTERM stopping all of them and a SIGKILLed parent leaving
no orphan."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from hub.activity import ActivityStore
from hub.model import Address, AddressKind
from tests.helpers.ami_server import FakeAmiServer, ServerPlan, events_only, recordings
from tests.helpers.cli import Touchhub
from tests.helpers.hub_process import SECRET_ENV, HubProcess, start_hub, write_config

pytestmark = pytest.mark.timeout(150)
REC = next(r for r in recordings() if not r.name.startswith("P") and not r.is_outage)
#: Requests on fresh connections: the kernel spreads them over both processes.
SPREAD_REQUESTS = 60
CALLS = 12
GONE_LIMIT_S = 15.0


def _alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie waiting to be reaped counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _children(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/task/{pid}/children").read_text().split()


async def _until_gone(pids: set[int], hub: HubProcess) -> None:
    deadline = time.monotonic() + GONE_LIMIT_S
    while any(_alive(p) for p in pids):
        assert time.monotonic() < deadline, (
            f"still running: {[p for p in pids if _alive(p)]}\n" + hub.output()[-3000:]
        )
        await asyncio.sleep(0.1)


def _both_running(health: dict[str, Any]) -> bool:
    workers = health.get("workers") or []
    return len(workers) == 2 and all(w.get("state", "running") == "running" for w in workers)


def _ask(url: str, *, data: bytes | None = None, token: str | None = None) -> tuple[int, Any]:
    request = urllib.request.Request(url, data=data, method="POST" if data else "GET")
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


async def test_two_workers_share_one_port_and_run_the_adapter_once(
    store_url: str, tmp_path: Path
) -> None:
    store = await ActivityStore.open(store_url)
    try:
        for ext in ("101", "102", "103"):
            await store.employees.add(
                f"E{ext}", addresses=[Address(kind=AddressKind.EXTENSION, value=ext)]
            )
        token = await store.tokens.create("admin", "admin")
    finally:
        await store.close()
    async with FakeAmiServer(plan=ServerPlan(streams=[events_only(REC.read())])) as pbx:
        config = write_config(
            tmp_path / "touchhub.toml", store_url=store_url, server=pbx, rec=REC, cdr=None
        )
        hub = start_hub(config, pbx.secret, tmp_path / "serve.log", args=["--workers", "2"])
        try:
            health = await hub.wait_health(_both_running)
            main, web = health["workers"]
            assert (main["role"], main["pid"], web["role"]) == ("main", hub.pid, "web")
            assert health["process"]["pid"] == hub.pid  # the main one holds the leases
            pids = {main["pid"], web["pid"]}
            shown = Touchhub(config=config, env={SECRET_ENV: pbx.secret}).ok(
                "health", "--url", hub.url
            )
            assert f"process 0 (main): pid {hub.pid}" in shown, shown
            assert f"process 1 (web): pid {web['pid']}, running, 0 restarts" in shown, shown

            answers = await asyncio.gather(
                *(asyncio.to_thread(_ask, f"{hub.url}/api/v1/health") for _ in range(SPREAD_REQUESTS))
            )
            served = {doc["served_by"]["pid"] for status, doc in answers if status == 200}
            assert served == pids, answers[:3]
            roles = {doc["served_by"]["role"] for _, doc in answers}
            assert roles == {"main", "web"}

            # Click-to-call needs the AMI link of the main process: every one arrives.
            body = json.dumps({"employee": "101", "number": "+74951234567"}).encode()
            calls = await asyncio.gather(
                *(
                    asyncio.to_thread(_ask, f"{hub.url}/api/v1/calls", data=body, token=token)
                    for _ in range(CALLS)
                )
            )
            assert all(status in (200, 201) for status, _ in calls), calls
            assert len(pbx.actions_named("Originate")) == CALLS
            unauthenticated = await asyncio.gather(
                *(
                    asyncio.to_thread(_ask, f"{hub.url}/api/v1/calls", data=body)
                    for _ in range(CALLS)
                )
            )
            assert {status for status, _ in unauthenticated} == {401}
            assert len(pbx.actions_named("Originate")) == CALLS

            await asyncio.sleep(1.0)
            assert pbx.logins == 1, hub.output()[-3000:]  # the adapter runs once, not twice

            os.kill(web["pid"], signal.SIGKILL)
            again = await hub.wait_health(
                lambda h: _both_running(h) and h["workers"][1]["pid"] != web["pid"]
            )
            reborn = again["workers"][1]
            assert reborn["restarts"] >= 1 and _alive(reborn["pid"])
            assert not _alive(web["pid"])
            assert pbx.logins == 1
        finally:
            code = hub.stop()
        assert code == 0, hub.output()[-3000:]
        await _until_gone({hub.pid, reborn["pid"]}, hub)
        assert "Traceback" not in hub.output(), hub.output()[-3000:]


async def test_a_killed_parent_leaves_no_worker_behind(tmp_path: Path) -> None:
    async with FakeAmiServer(plan=ServerPlan(streams=[events_only(REC.read())])) as pbx:
        config = write_config(
            tmp_path / "touchhub.toml",
            store_url=f"sqlite:///{tmp_path}/hub.db",
            server=pbx,
            rec=REC,
            cdr=None,
        )
        hub = start_hub(config, pbx.secret, tmp_path / "serve.log", args=["--workers", "2"])
        try:
            health = await hub.wait_health(_both_running)
            web = health["workers"][1]["pid"]
            hub.kill()
            await _until_gone({web}, hub)
        finally:
            hub.stop()


async def test_one_worker_is_the_single_process_of_before(tmp_path: Path) -> None:
    async with FakeAmiServer(plan=ServerPlan(streams=[events_only(REC.read())])) as pbx:
        config = write_config(
            tmp_path / "touchhub.toml",
            store_url=f"sqlite:///{tmp_path}/hub.db",
            server=pbx,
            rec=REC,
            cdr=None,
        )
        hub = start_hub(config, pbx.secret, tmp_path / "serve.log", args=["--workers", "1"])
        try:
            health = await hub.wait_health(lambda h: h.get("held") == ["ami:office"])
            assert "workers" not in health and "served_by" not in health
            assert health["process"]["pid"] == hub.pid
            assert _children(hub.pid) == []
        finally:
            assert hub.stop() == 0
