"""Wiring: which adapters run, under a supervisor, beside the web app and the scheduler.

`Hub` owns the long-lived parts of `touchhub serve`: the store and its batch writer,
every configured capture adapter (restarted with exponential backoff and jitter, a
wrong password stops it for good), an APScheduler scheduler and the aiohttp app.
`stop()` stops the adapters first, then drains the writer so nothing queued is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import random
import signal
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from hub.activity import ActivityStore, BatchWriter
from hub.config import Settings, SupervisorSettings, mask_url
from hub.errors import ChannelAuthError, ConfigError
from hub.model import AdapterState, CaptureAdapter, Sink, utcnow
from hub.text import ascii_int

logger = logging.getLogger(__name__)

#: (settings section, "module:function") of each channel's adapter factory.
ADAPTER_FACTORIES: tuple[tuple[str, str], ...] = (
    ("telephony", "hub.telephony.factory:build_adapters"),
    ("email", "hub.channels.email.factory:build_adapters"),
)
#: An adapter that ran this long without failing is healthy again: backoff restarts small.
HEALTHY_AFTER_S = 60.0
STOP_TIMEOUT_S = 10.0
REMINDER_INTERVAL = timedelta(minutes=5)


def build_adapters(settings: Settings) -> list[CaptureAdapter]:
    """Every configured capture adapter, from each channel's factory."""
    adapters: list[CaptureAdapter] = []
    for section, target in ADAPTER_FACTORIES:
        module_name, func_name = target.split(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue
        factory: Callable[[Any], list[CaptureAdapter]] = getattr(module, func_name)
        adapters.extend(factory(getattr(settings, section)))
    names = [a.name for a in adapters]
    duplicates = {n for n in names if names.count(n) > 1}
    if duplicates:
        raise ConfigError(f"two adapters share the name(s) {', '.join(sorted(duplicates))}")
    return adapters


def backoff_delays(initial: float, maximum: float) -> Callable[[int], float]:
    """Exponential backoff with ±20% jitter: attempt n waits about initial·2ⁿ, at most maximum."""

    def delay(attempt: int) -> float:
        base = min(initial * (2 ** min(attempt, 30)), maximum)
        return float(base * random.uniform(0.8, 1.2))

    return delay


class Supervisor:
    """Runs each adapter in its own task and restarts it when it fails."""

    def __init__(
        self, adapters: list[CaptureAdapter], sink: Sink, settings: SupervisorSettings
    ) -> None:
        self.adapters = adapters
        self.sink = sink
        self.delay = backoff_delays(settings.backoff_initial_s, settings.backoff_max_s)
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        for adapter in self.adapters:
            self._tasks.append(
                asyncio.create_task(self._supervise(adapter), name=f"{adapter.name}:supervisor")
            )

    async def _supervise(self, adapter: CaptureAdapter) -> None:
        health = adapter.health
        attempt = 0
        while True:
            health.state = AdapterState.RUNNING
            started = time.monotonic()
            try:
                await adapter.run(self.sink)
            except asyncio.CancelledError:
                health.state = AdapterState.STOPPED
                raise
            except ChannelAuthError as exc:
                health.state = AdapterState.FAILED
                health.last_error, health.last_error_at = str(exc), utcnow()
                logger.error(
                    "%s: credentials refused, not retrying until the config changes: %s",
                    adapter.name,
                    exc,
                )
                return
            except Exception as exc:
                health.last_error, health.last_error_at = f"{type(exc).__name__}: {exc}", utcnow()
                if time.monotonic() - started > HEALTHY_AFTER_S:
                    attempt = 0
                wait = self.delay(attempt)
                attempt += 1
                health.restarts += 1
                health.state = AdapterState.BACKOFF
                logger.warning("%s failed (%s); restarting in %.1fs", adapter.name, exc, wait)
                await asyncio.sleep(wait)
                continue
            health.state = AdapterState.STOPPED
            logger.info("%s finished", adapter.name)
            return

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(task, STOP_TIMEOUT_S)
        self._tasks.clear()

    def health(self) -> list[dict[str, Any]]:
        return [a.health.as_dict() for a in self.adapters]


class Hub:
    """Everything `touchhub serve` runs, started and stopped in the right order."""

    def __init__(self, settings: Settings, store: ActivityStore) -> None:
        self.settings = settings
        self.store = store
        self.writer: BatchWriter = store.writer(
            batch_size=settings.store.batch_size,
            window_ms=settings.store.batch_window_ms,
            queue_size=settings.store.queue_size,
        )
        self.adapters = build_adapters(settings)
        self.supervisor = Supervisor(self.adapters, self.writer, settings.supervisor)
        self.scheduler = AsyncIOScheduler(timezone="UTC")
        self._runner: Any = None
        self._agi: list[Any] = []
        self.url: str | None = None

    async def start(self) -> None:
        """Start writer, adapters, scheduler, FastAGI routers and web app (in that order)."""
        await self.writer.start()
        self.supervisor.start()
        await self._start_agi()
        self.scheduler.add_job(
            self.remind_overdue,
            "interval",
            seconds=REMINDER_INTERVAL.total_seconds(),
            id="overdue-reminders",
            coalesce=True,
            max_instances=1,
        )
        self.scheduler.start()
        await self._start_web()

    async def _start_web(self) -> None:
        from aiohttp import web

        from hub.telephony.ami_adapter import AmiAdapter, live_calls_of, originate_with
        from hub.web.app import create_app
        from hub.web.errors import JsonErrorAppRunner
        from hub.web.keys import LIVE_CALLS, ORIGINATE

        app = create_app(self.store, self.settings, health=self.health)
        pbxs = {a.pbx: a for a in self.adapters if isinstance(a, AmiAdapter)}
        if pbxs:
            app[ORIGINATE] = originate_with(pbxs)
            app[LIVE_CALLS] = live_calls_of(pbxs)
        self._runner = JsonErrorAppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.settings.web.host, self.settings.web.port)
        await site.start()
        self.url = f"http://{self.settings.web.host}:{self.settings.web.port}/"

    async def _start_agi(self) -> None:
        """A FastAGI router per PBX that asks for one: caller's number → responsible extension."""
        from hub.telephony.agi_router import AgiRouter

        for name, pbx in self.settings.telephony.pbx.items():
            if not (pbx.enabled and pbx.agi_listen):
                continue
            host, _, port_text = pbx.agi_listen.rpartition(":")
            port = ascii_int(port_text, minimum=1, maximum=65535)
            if not host or port is None:
                raise ConfigError(
                    f"telephony.pbx.{name}.agi_listen: {pbx.agi_listen!r} is not HOST:PORT"
                )
            router = AgiRouter(self.store.contacts.responsible_extension, host=host, port=port)
            await router.start()
            self._agi.append(router)

    async def stop(self) -> None:
        """Stop taking new input, then drain the writer so every queued touch is written."""
        for router in self._agi:
            await router.stop()
        if self._runner is not None:
            await self._runner.cleanup()
        await self.supervisor.stop()
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        await self.writer.stop()

    async def remind_overdue(self) -> None:
        """Log planned interactions that are overdue, so they surface in the logs."""
        overdue = await self.store.activities.overdue_count(utcnow())
        if overdue:
            logger.info("%d planned interactions are overdue", overdue)

    async def health(self) -> dict[str, Any]:
        """Store reachability, the writer's counters and every adapter's state."""
        adapters = self.supervisor.health()
        failing = [a["name"] for a in adapters if a["state"] in ("failed", "backoff")]
        store_ok = await self.store.ping()
        status = "down" if not store_ok else "degraded" if failing else "ok"
        return {
            "status": status,
            "store": {
                "url": mask_url(self.settings.store_url),
                "dialect": self.store.dialect,
                "reachable": store_ok,
            },
            "writer": self.writer.stats.as_dict(),
            "adapters": adapters,
        }


async def serve_forever(hub: Hub, on_ready: Callable[[Hub], None] | None = None) -> None:
    """Run `hub` until SIGTERM or SIGINT, then stop it cleanly."""
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    await hub.start()
    if on_ready is not None:
        on_ready(hub)
    try:
        await stopping.wait()
    finally:
        logger.info("stopping: draining %d queued items", hub.writer.stats.queued)
        await hub.stop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)


async def sync_once(
    settings: Settings,
    store: ActivityStore,
    only: str | None = None,
    progress: Callable[[str, int, int | None], None] | None = None,
) -> list[dict[str, Any]]:
    """Run capture adapters until caught up, then return their health."""
    adapters = build_adapters(settings)
    if only is not None:
        adapters = [a for a in adapters if a.name == only]
        if not adapters:
            names = ", ".join(a.name for a in build_adapters(settings)) or "none configured"
            raise ConfigError(f"no adapter named {only!r} (adapters: {names})")
    writer = store.writer(
        batch_size=settings.store.batch_size,
        window_ms=settings.store.batch_window_ms,
        queue_size=settings.store.queue_size,
    )
    async with writer:
        for adapter in adapters:
            if progress is not None and hasattr(adapter, "progress"):

                def adapter_progress(
                    done: int,
                    total: int | None,
                    _n: str = adapter.name,
                    _report: Callable[[str, int, int | None], None] = progress,
                ) -> None:
                    _report(_n, done, total)

                setattr(adapter, "progress", adapter_progress)  # noqa: B010 - optional hook
            adapter.health.state = AdapterState.RUNNING
            try:
                await adapter.sync_once(writer)
            except Exception as exc:
                adapter.health.state = AdapterState.FAILED
                adapter.health.last_error = f"{type(exc).__name__}: {exc}"
                logger.error("%s: sync failed: %s", adapter.name, exc)
            else:
                adapter.health.state = AdapterState.STOPPED
    return [a.health.as_dict() for a in adapters]
