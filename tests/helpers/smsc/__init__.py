"""An independent SMPP 3.4 SMSC for tests: `smsc.js` on the npm `smpp` package, run by Node.

`npm ci` runs once into a cache folder named by the hash of the lock file (a file lock keeps
parallel test workers from installing twice); each test then starts its own server on a free
loopback port with a scenario (see the header of `smsc.js`), sends it commands and reads the
JSON events it reports: binds, submits, reassembled long messages, receipts answered.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
#: How long npm may take to fetch the pinned package (a cold cache on a slow link).
NPM_TIMEOUT = 180.0
#: How long the server may take to print its port.
START_TIMEOUT = 15.0
#: Default wait for one event.
EVENT_TIMEOUT = 10.0


def node_modules() -> Path:
    """The cache folder holding `node_modules` with the pinned `smpp`; installs it once."""
    for tool in ("node", "npm"):
        if shutil.which(tool) is None:
            raise RuntimeError(f"{tool} is needed by the SMPP tests (Debian: apt-get install nodejs npm)")
    lock = (HERE / "package-lock.json").read_bytes()
    digest = hashlib.sha256(lock + (HERE / "package.json").read_bytes()).hexdigest()[:16]
    cache = Path(tempfile.gettempdir()) / f"touchhub-smsc-{digest}"
    cache.mkdir(parents=True, exist_ok=True)
    done = cache / "node_modules" / "smpp" / "package.json"
    with open(cache / ".lock", "w") as lockfile:
        fcntl.flock(lockfile, fcntl.LOCK_EX)
        if not done.exists():
            for name in ("package.json", "package-lock.json"):
                shutil.copyfile(HERE / name, cache / name)
            subprocess.run(
                ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                cwd=cache,
                check=True,
                timeout=NPM_TIMEOUT,
            )
    return cache / "node_modules"


class Smsc:
    """A running `smsc.js`: its port, the events it printed, and a way to send commands."""

    def __init__(self, process: asyncio.subprocess.Process, port: int) -> None:
        self.process = process
        self.port = port
        self.events: list[dict[str, Any]] = []
        self._changed = asyncio.Condition()
        self._reader = asyncio.create_task(self._read(), name="test-smsc:reader")

    async def _read(self) -> None:
        assert self.process.stdout is not None
        async for line in self.process.stdout:
            event = json.loads(line)
            async with self._changed:
                self.events.append(event)
                self._changed.notify_all()

    def of(self, kind: str) -> list[dict[str, Any]]:
        """Every event of `kind` seen so far."""
        return [e for e in self.events if e["event"] == kind]

    async def wait_for(
        self, kind: str, count: int = 1, *, wait_s: float = EVENT_TIMEOUT
    ) -> list[dict[str, Any]]:
        """Wait until `count` events of `kind` have been seen; return them all."""
        async with asyncio.timeout(wait_s), self._changed:
            await self._changed.wait_for(lambda: len(self.of(kind)) >= count)
        return self.of(kind)

    async def command(self, command: Mapping[str, object]) -> None:
        """Send one command line: {"cmd": "mo" | "enquire_link" | "drop", ...}."""
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(command).encode() + b"\n")
        await self.process.stdin.drain()

    async def stop(self) -> None:
        if self.process.returncode is None:
            self.process.terminate()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.process.wait(), 5)
            if self.process.returncode is None:
                self.process.kill()
                await self.process.wait()
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader


@contextlib.asynccontextmanager
async def running_smsc(scenario: Mapping[str, object] | None = None) -> AsyncIterator[Smsc]:
    """Start `smsc.js` with `scenario` on a free loopback port; stop it afterwards."""
    modules = node_modules()
    process = await asyncio.create_subprocess_exec(
        "node",
        str(HERE / "smsc.js"),
        json.dumps(dict(scenario or {})),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "NODE_PATH": str(modules)},
    )
    assert process.stdout is not None
    try:
        line = await asyncio.wait_for(process.stdout.readline(), START_TIMEOUT)
        first = json.loads(line)
        if first.get("event") != "listening":
            raise RuntimeError(f"SMSC did not start: {line!r}")
    except BaseException:
        process.kill()
        await process.wait()
        raise
    smsc = Smsc(process, int(first["port"]))
    try:
        yield smsc
    finally:
        await smsc.stop()
