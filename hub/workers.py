"""`touchhub serve --workers N`: the main process and its N-1 web-only workers.

Worker 0 is the main process: it runs everything `serve` ran before (writer, adapters
under their leases, services, scheduler, campaign runner, web app) and is the parent
of the others. Workers 1..N-1 are the same console entry point started with a hidden
option: each opens the store and serves the web app only — no adapter, no scheduler,
no campaign runner, no writer — on the same port (every process binds it with
`SO_REUSEPORT`, so the kernel spreads connections over them). What needs worker 0's
memory is forwarded to it (`hub.web.forwarding`) over a 127.0.0.1 port guarded by a
random secret that the children get in their environment (`hub.config.WorkerLink`: the
one place that writes and reads it; the secret is a `SecretStr`, never printed).

The parent restarts a worker that dies (with backoff), stops every worker on SIGTERM or
SIGINT before it stops itself, and a worker whose parent vanishes (even SIGKILLed)
stops on its own: Linux's parent-death signal, and a watch on its parent's pid.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import secrets
import signal
import socket
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web
from pydantic import SecretStr

from hub import heap
from hub.activity import ActivityStore
from hub.backoff import BackoffPolicy
from hub.config import Settings, WorkerLink
from hub.web.api_system import store_health_probe
from hub.web.app import create_app
from hub.web.errors import JsonErrorAppRunner
from hub.web.forwarding import SECRET_HEADER, Forwarder, internal_guard

logger = logging.getLogger(__name__)

#: A web worker that dies is started again after ~0.5 s, 1 s, 2 s … at most 30 s.
RESTART_POLICY = BackoffPolicy(initial_s=0.5, max_s=30.0, healthy_after_s=30.0)
#: How long workers get to finish their requests after SIGTERM before SIGKILL.
STOP_TIMEOUT_S = 10.0
#: How often a web worker checks that its parent is still there.
PARENT_WATCH_S = 1.0
#: How long a web worker reuses the main process's health before asking again.
MAIN_HEALTH_TTL_S = 1.0
_PR_SET_PDEATHSIG = 1
#: What a web worker writes on its stdout once it serves.
READY = b"serving"

MAIN = "main"
WEB = "web"


def default_workers() -> int:
    """One process per core."""
    return max(1, os.cpu_count() or 1)


def process_info(role: str, index: int) -> dict[str, Any]:
    """This process as health shows it."""
    return {"host": socket.gethostname(), "pid": os.getpid(), "role": role, "worker": index}


@dataclass
class _Worker:
    index: int
    process: asyncio.subprocess.Process | None = None
    restarts: int = 0
    #: It said it serves (bound the port); until then "starting".
    serving: bool = False


class WorkerPool:
    """The parent's side: starts, watches, restarts and stops the web-only workers."""

    def __init__(self, count: int) -> None:
        if count < 2:
            raise ValueError("a worker pool is for two or more processes")
        self.count = count
        #: What every web worker is told: the internal port's secret, this process's pid.
        self.link = WorkerLink(secret=SecretStr(secrets.token_urlsafe(32)), parent=os.getpid())
        #: The main process's internal port (127.0.0.1 only), bound now so it is known.
        self.internal = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.internal.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.internal.bind(("127.0.0.1", 0))
        self.internal_port: int = self.internal.getsockname()[1]
        self._workers = [_Worker(i) for i in range(1, count)]
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False

    @property
    def internal_url(self) -> str:
        return f"http://127.0.0.1:{self.internal_port}"

    def guard(self) -> Any:
        """The middleware that keeps the internal port to requests bearing the secret."""
        return internal_guard(self.internal_port, self.link.secret)

    async def start(self, runner: web.AppRunner, command: Sequence[str]) -> None:
        """Serve `runner`'s app on the internal port too, then start the web workers;
        `command` starts one (``--web-worker INDEX`` is appended)."""
        await web.SockSite(runner, self.internal).start()
        for worker in self._workers:
            self._tasks.append(
                asyncio.create_task(self._keep(worker, command), name=f"web-worker-{worker.index}")
            )

    async def _spawn(self, worker: _Worker, command: Sequence[str]) -> asyncio.subprocess.Process:
        return await asyncio.create_subprocess_exec(
            *command,
            "--web-worker",
            f"{worker.index}:{self.internal_port}",
            env=self.link.environ(),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,  # one line, `READY`, once it serves
            # Its own session: a terminal's Ctrl-C reaches the parent only, which stops it.
            start_new_session=True,
        )

    async def _keep(self, worker: _Worker, command: Sequence[str]) -> None:
        """Run one worker; when it dies, start it again after a backoff."""
        backoff = RESTART_POLICY.start()
        while not self._stopping:
            try:
                worker.process = await self._spawn(worker, command)
            except OSError as exc:
                logger.error("web worker %d cannot start: %s", worker.index, exc)
            else:
                backoff.healthy()
                logger.info("web worker %d started: pid %d", worker.index, worker.process.pid)
                await self._watch(worker, worker.process)
                code = await worker.process.wait()
                worker.serving = False
                if self._stopping:
                    return
                logger.error(
                    "web worker %d (pid %d) exited with %s; starting it again",
                    worker.index,
                    worker.process.pid,
                    code,
                )
            worker.restarts += 1
            await asyncio.sleep(backoff.next_delay())

    @staticmethod
    async def _watch(worker: _Worker, process: asyncio.subprocess.Process) -> None:
        """Mark the worker serving when it says so; read its stdout until it exits."""
        assert process.stdout is not None
        while line := await process.stdout.readline():
            if line.strip() == READY:
                worker.serving = True

    async def stop(self) -> None:
        """SIGTERM every worker, wait for them (SIGKILL after `STOP_TIMEOUT_S`)."""
        self._stopping = True
        # No restart from here on: a worker between two starts stays down.
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        running = [
            w.process for w in self._workers if w.process is not None and w.process.returncode is None
        ]
        for process in running:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
        for process in running:
            try:
                await asyncio.wait_for(process.wait(), STOP_TIMEOUT_S)
            except TimeoutError:
                logger.error("web worker pid %d did not stop: killing it", process.pid)
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                await process.wait()
        # The internal socket closes with the app's runner, which serves it.

    def health(self) -> dict[str, Any]:
        """For the main process's health: who answered (`served_by`, this process) and
        every process (`workers`: the main one, then each web worker with its pid, whether
        it runs and how often it was restarted)."""
        me = process_info(MAIN, 0)
        return {"served_by": me, "workers": self.processes(me)}

    def processes(self, me: dict[str, Any]) -> list[dict[str, Any]]:
        out = [me]
        for w in self._workers:
            alive = w.process is not None and w.process.returncode is None
            state = ("running" if w.serving else "starting") if alive else "restarting"
            out.append(
                {
                    "host": out[0]["host"],
                    "pid": w.process.pid if w.process is not None else None,
                    "role": WEB,
                    "worker": w.index,
                    "state": state,
                    "restarts": w.restarts,
                }
            )
        return out


def die_with_parent(parent: int) -> None:
    """Get SIGTERM when the parent dies (Linux); exit now if it is already gone."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != parent:
        raise SystemExit(0)


class MainHealth:
    """A web worker's health: its own store check and pid, beside the main process's
    document (adapters, leases, every worker), asked at most once a `MAIN_HEALTH_TTL_S`."""

    def __init__(
        self, store: ActivityStore, index: int, main_url: str, secret: SecretStr
    ) -> None:
        self.own = store_health_probe(store)
        self.index = index
        self.url = f"{main_url}/api/v1/health"
        self.secret = secret
        self._cached: tuple[float, dict[str, Any]] | None = None
        self._session: aiohttp.ClientSession | None = None

    async def _main(self) -> dict[str, Any]:
        now = time.monotonic()
        if self._cached is not None and now - self._cached[0] < MAIN_HEALTH_TTL_S:
            return self._cached[1]
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5))
        try:
            asked = {SECRET_HEADER: self.secret.get_secret_value()}
            async with self._session.get(self.url, headers=asked) as resp:
                document: dict[str, Any] = await resp.json()
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            document = {"status": "degraded", "main": {"error": type(exc).__name__}}
        self._cached = (now, document)
        return document

    async def __call__(self) -> Mapping[str, Any]:
        own = dict(await self.own())
        # "process" stays the main one's (it holds the leases); "served_by" is this one.
        document = {**await self._main(), "served_by": process_info(WEB, self.index)}
        if own.get("status") == "down":
            document["status"] = "down"
            document["store"] = own.get("store")
        return document

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


async def run_web_worker(
    settings: Settings, store: ActivityStore, link: WorkerLink, index: int, internal_port: int
) -> None:
    """A web-only worker: the app over `store` on the shared port, until SIGTERM/SIGINT or
    its parent (`link.parent`, else the process that started it) is gone."""
    parent = link.parent or os.getppid()
    die_with_parent(parent)
    main_url = f"http://127.0.0.1:{internal_port}"
    forwarder = Forwarder(main_url, link.secret)
    health = MainHealth(store, index, main_url, link.secret)
    app = create_app(store, settings, health=health, front=[forwarder.middleware])
    app.cleanup_ctx.append(forwarder.lifecycle)
    runner = JsonErrorAppRunner(app, access_log=None)
    await runner.setup()
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    try:
        site = web.TCPSite(runner, settings.web.host, settings.web.port, reuse_port=True)
        await site.start()
        heap.settle()
        logger.info("web worker %d: pid %d serving", index, os.getpid())
        sys.stdout.buffer.write(READY + b"\n")
        sys.stdout.buffer.flush()
        while not stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), PARENT_WATCH_S)
            if os.getppid() != parent:
                logger.warning("web worker %d: the main process is gone; stopping", index)
                break
    finally:
        await runner.cleanup()
        await health.close()
