"""`touchhub serve` as a process of its own, for tests that kill it: start, ask its health,
SIGKILL it, and the config that points it at a replaying AMI server."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from tests.helpers.ami_server import FakeAmiServer, Recording
from tests.helpers.cli import TOUCHHUB
from tests.helpers.postgres import free_port

#: How long a started `serve` may take to answer its health endpoint.
START_LIMIT_S = 60.0
SECRET_ENV = "TEST_AMI_SECRET"


def write_config(
    path: Path,
    *,
    store_url: str,
    server: FakeAmiServer,
    rec: Recording,
    cdr: Path | None,
) -> Path:
    """A config with one PBX (`office`) on `server`, with the recording's patterns."""
    cdr_line = f'cdr = "csv:{cdr}"\n' if cdr is not None else ""
    path.write_text(
        f'demo_on_empty = false\n[store]\nurl = "{store_url}"\n'
        "[supervisor]\nbackoff_initial_s = 0.05\nbackoff_max_s = 0.5\n"
        f'[telephony.pbx.office]\nami = "{server.url}"\npassword = "env:{SECRET_ENV}"\n'
        f"internal_pattern = '{rec.internal_pattern}'\ntrunk_pattern = '{rec.trunk_pattern}'\n"
        f"{cdr_line}",
        encoding="utf-8",
    )
    return path


@dataclass
class HubProcess:
    """One running `touchhub serve`."""

    proc: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    async def health(self) -> dict[str, Any] | None:
        """Its `/api/v1/health` answer, None while it does not answer."""

        def ask() -> dict[str, Any] | None:
            try:
                with urllib.request.urlopen(f"{self.url}/api/v1/health", timeout=2) as resp:
                    document: dict[str, Any] = json.loads(resp.read())
                    return document
            except OSError:
                return None

        return await asyncio.to_thread(ask)

    async def wait_health(
        self, check: Any = lambda h: True, limit: float = START_LIMIT_S
    ) -> dict[str, Any]:
        """Poll health until `check(health)` holds; fail with the process's log if not."""
        deadline = time.monotonic() + limit
        while True:
            health = await self.health()
            if health is not None and check(health):
                return health
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(
                    f"serve (pid {self.pid}) never showed the health wanted: {health}\n"
                    + self.output()[-4000:]
                )
            await asyncio.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL: nothing of ours runs after this."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> int:
        """SIGTERM, then its exit code (killed if it does not stop in time)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        return int(self.proc.returncode)


def start_hub(
    config: Path, secret: str, log: Path, *, port: int | None = None, args: Sequence[str] = ()
) -> HubProcess:
    """Start `touchhub --config CONFIG serve [ARGS]` on a free port; its log goes to `log`."""
    port = port or free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1", SECRET_ENV: secret}
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [str(TOUCHHUB), "--config", str(config), "serve", "--port", str(port), *args],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=out,
        )
    return HubProcess(proc=proc, port=port, log=log)


def ts(value: object) -> datetime:
    """A stored or expected time as an aware datetime."""
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def assert_calls_match(got: list[dict[str, Any]], want: list[dict[str, Any]]) -> None:
    """Stored calls (one per expected line) agree with the truth: kind, people, times ±1 s."""
    ids = [c["external_id"] for c in got]
    assert len(ids) == len(set(ids)), f"a call is logged twice: {ids}"
    by_id = {c["external_id"]: c for c in got}
    assert sorted(by_id) == sorted(str(w["external_id"]) for w in want)
    for w in want:
        lid = str(w["external_id"])
        g = by_id[lid]
        assert (g["direction"], g["status"]) == (w["direction"], w["status"]), lid
        assert (g["meta"].get("employee_raw")) == w["employee"], lid
        for key, col in (
            ("started_at", "occurred_at"),
            ("answered_at", "answered_at"),
            ("ended_at", "ended_at"),
        ):
            if w[key] is None:
                assert g[col] is None, (lid, key)
            else:
                assert g[col] is not None, (lid, key)
                assert abs((ts(g[col]) - ts(w[key])).total_seconds()) <= 1.0, (lid, key)
        assert abs(float(g["talk_s"] or 0) - float(w["talk_seconds"] or 0)) <= 1.0, lid
