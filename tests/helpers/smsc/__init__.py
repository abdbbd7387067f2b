"""An independent SMPP 3.4 SMSC for tests: `smsc.js` on the npm `smpp` package, run by Node.

`npm ci` runs once into a cache folder named by the hash of the lock file (a file lock keeps
parallel test workers from installing twice); each test then starts its own server on a free
loopback port with a scenario (see the header of `smsc.js`), sends it commands and reads the
JSON events it reports: binds, submits, reassembled long messages, receipts answered.

Every wait here is bounded, teardown included: a test that fails under load must still
stop its server and end its event loop in seconds, not hang until pytest-timeout.
`throwaway_certificate` makes a self-signed certificate for the server's TLS mode.
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
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
#: How long npm may take to fetch the pinned package (a cold cache on a slow link).
NPM_TIMEOUT = 180.0
#: How long the server may take to print its port.
START_TIMEOUT = 15.0
#: Default wait for one event.
EVENT_TIMEOUT = 10.0
#: How long the server may take to end after SIGTERM, then after SIGKILL.
STOP_TIMEOUT = 5.0
#: How long a command may wait for the server to read its stdin.
COMMAND_TIMEOUT = 5.0
#: How long to wait for another test process installing the package (it holds the lock).
INSTALL_LOCK_TIMEOUT = NPM_TIMEOUT + 30.0


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
        _lock(lockfile.fileno(), INSTALL_LOCK_TIMEOUT)
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


def _lock(fd: int, timeout: float) -> None:
    """An exclusive `flock`, given up after `timeout` s (a plain LOCK_EX could wait forever)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"the SMSC package install lock was held for {timeout}s") from None
            time.sleep(0.1)


@dataclass(frozen=True, slots=True)
class Certificate:
    """A self-signed certificate for 127.0.0.1 / localhost: its key, and itself as the CA."""

    key: Path
    cert: Path


def throwaway_certificate(directory: Path, name: str = "smsc") -> Certificate:
    """A fresh P-256 key and a one-day self-signed certificate for 127.0.0.1 and localhost."""
    key, cert = directory / f"{name}.key", directory / f"{name}.crt"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-days", "1", "-subj", "/CN=localhost",
            "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )
    return Certificate(key=key, cert=cert)


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
        await asyncio.wait_for(self.process.stdin.drain(), COMMAND_TIMEOUT)

    async def stop(self, wait_s: float = STOP_TIMEOUT) -> None:
        """Terminate (then kill) the server and stop reading it; bounded at every step."""
        await _end(self.process, wait_s)
        self._reader.cancel()
        await asyncio.wait({self._reader}, timeout=wait_s)
        if self._reader.done() and not self._reader.cancelled():
            self._reader.exception()  # e.g. a line that was not JSON: the test saw no event


async def _end(process: asyncio.subprocess.Process, wait_s: float = STOP_TIMEOUT) -> None:
    """SIGTERM, then SIGKILL, each followed by a wait of at most `wait_s`; stdin closed."""
    if process.stdin is not None:
        process.stdin.close()
    for signal_it in (process.terminate, process.kill):
        if process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            signal_it()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(process.wait(), wait_s)
    if process.returncode is None:
        raise RuntimeError(f"SMSC process {process.pid} did not end after SIGKILL")


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
        await _end(process)
        raise
    smsc = Smsc(process, int(first["port"]))
    try:
        yield smsc
    finally:
        await smsc.stop()
