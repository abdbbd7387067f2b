"""Wiring: which adapters run, under a supervisor, beside the web app and the scheduler.

`Hub` owns the long-lived parts of `touchhub serve`: the store and its batch writer,
every registered channel's capture adapters (restarted with exponential backoff and
jitter, a wrong password stops them for good), senders and services, an APScheduler
scheduler and the aiohttp app. Channels come from `hub.channels.registry`; optional
features are found by capability (`hub.channels.capabilities`), never by class.
`stop()` stops the adapters first, then drains the writer so nothing queued is lost.

An adapter that declares itself single-consumer (one AMI connection per PBX, one IMAP
mailbox) runs only while this process holds its lease (`hub.activity.leases`); a second
`serve` on the same store stands by for it and takes over within seconds of the holder's
death. A lease lost while running stops the adapter at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from datetime import timedelta
from typing import Any

from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from hub import heap
from hub.activity import ActivityStore, BatchWriter, Lease, LeaseBoard
from hub.activity.leases import RETRY_S as LEASE_RETRY_S
from hub.backoff import BackoffPolicy
from hub.campaigns.bounces import BounceMailbox, BounceMatcher, MessageIdLookup
from hub.campaigns.marks import MailMarks
from hub.campaigns.runner import CampaignRunner
from hub.campaigns.signing import SigningKeys
from hub.campaigns.triggers_eval import QuietUntil, TriggerEvaluator
from hub.channels.capabilities import (
    ClickToCall,
    LiveCallState,
    is_single_consumer,
    live_calls_over,
    originate_over,
)
from hub.channels.plugin import ChannelContext, ChannelPlugin, Service
from hub.channels.registry import load_plugins
from hub.channels.sms.quiet_hours import QuietHours
from hub.config import Settings, SupervisorSettings
from hub.errors import ChannelAuthError, ConfigError, TouchhubError
from hub.model import CaptureAdapter, Sender, Sink, utcnow
from hub.urls import mask_url
from hub.web.app import create_app
from hub.web.errors import JsonErrorAppRunner
from hub.web.keys import LIVE_CALLS, ORIGINATE
from hub.workers import WorkerPool

logger = logging.getLogger(__name__)

#: An adapter that ran this long without failing is healthy again: backoff restarts small.
HEALTHY_AFTER_S = 60.0
STOP_TIMEOUT_S = 10.0
REMINDER_INTERVAL = timedelta(minutes=5)
#: How often messenger dialogs are checked for a wait that ran out (`[dialogs] reply_within_minutes`).
DIALOG_REMINDER_INTERVAL = timedelta(minutes=1)
#: How often trigger rules look for new events and queue their firings.
TRIGGER_INTERVAL = timedelta(seconds=30)

Plugins = Sequence[ChannelPlugin[Any]]


def build_adapters(settings: Settings, plugins: Plugins | None = None) -> list[CaptureAdapter]:
    """Every configured capture adapter of every registered channel, in registry order."""
    plugins = load_plugins() if plugins is None else plugins
    adapters = [adapter for plugin in plugins for adapter in plugin.adapters(settings)]
    names = [a.name for a in adapters]
    duplicates = {n for n in names if names.count(n) > 1}
    if duplicates:
        raise ConfigError(f"two adapters share the name(s) {', '.join(sorted(duplicates))}")
    return adapters


def build_senders(
    settings: Settings, sink: Sink | None, plugins: Plugins | None = None
) -> dict[str, Sender]:
    """Every configured sender of every registered channel, keyed ``"{channel}:{key}"``."""
    plugins = load_plugins() if plugins is None else plugins
    senders: dict[str, Sender] = {}
    for plugin in plugins:
        senders.update(plugin.senders(settings, sink))
    return senders


def sender_keys(settings: Settings, plugins: Plugins | None = None) -> list[str]:
    """The keys (``"{channel}:{key}"``) of every configured sender, without building any."""
    plugins = load_plugins() if plugins is None else plugins
    keys: list[str] = []
    for plugin in plugins:
        factory = plugin.senders_factory
        if factory is not None:
            keys += [f"{plugin.name}:{k}" for k in factory.keys(plugin.settings_of(settings))]
    return keys


def campaign_sender(settings: Settings, key: str, plugins: Plugins | None = None) -> Sender:
    """The sender ``"{channel}:{key}"`` for a campaign: it records nothing itself, since the
    engine writes each touch with the recipient's outcome."""
    plugins = load_plugins() if plugins is None else plugins
    channel, _, name = key.partition(":")
    for plugin in plugins:
        if plugin.name == channel:
            return plugin.sender(settings, name, None)
    raise ConfigError(f"no channel {channel!r} for sender {key!r}")


def bounce_mailbox(
    settings: Settings,
    store: ActivityStore,
    *,
    lookup: MessageIdLookup | None = None,
    plugins: Plugins | None = None,
) -> BounceMailbox:
    """The reader of `[campaigns] bounce_mailbox`, through the channel that reads mailboxes."""
    campaigns = settings.campaigns
    if not campaigns.bounce_mailbox:
        raise ConfigError("campaigns.bounce_mailbox is not set (ACCOUNT/FOLDER)")
    plugins = load_plugins() if plugins is None else plugins
    readers = [p for p in plugins if p.bounce_source is not None]
    if not readers:
        raise ConfigError("no channel can read the bounce mailbox")
    return BounceMailbox(
        store=store,
        source=readers[0].bounces(settings, campaigns.bounce_mailbox),
        matcher=BounceMatcher(SigningKeys.of(campaigns), campaigns.bounce_address, lookup),
    )
def sms_quiet_until(settings: Settings) -> QuietUntil | None:
    """`[sms] quiet_hours` as a function of number and time, for triggered SMS; None
    without an SMS section or quiet hours."""
    section = getattr(settings, "sms", None)
    spec = getattr(section, "quiet_hours", None)
    if not spec:
        return None
    quiet = QuietHours.parse(str(spec), getattr(section, "company_timezone", None) or "UTC")
    return quiet.quiet_until


def message_id_domain(sender: Sender) -> str | None:
    """The domain a sender writes in its Message-IDs, when it has one (e-mail senders)."""
    domain = getattr(sender, "message_id_domain", None)
    return domain if isinstance(domain, str) else None


async def close_senders(senders: Mapping[str, Sender]) -> None:
    """Close every sender (its connection pool); one failing does not keep the others open."""
    for key, sender in senders.items():
        try:
            await sender.close()
        except Exception:
            logger.exception("%s: closing the sender failed", key)


def close_senders_with_app(
    senders: Mapping[str, Sender],
) -> Callable[[web.Application], AsyncIterator[None]]:
    """A `cleanup_ctx` that closes `senders` when the app shuts down."""

    async def lifecycle(_app: web.Application) -> AsyncIterator[None]:
        yield
        await close_senders(senders)

    return lifecycle


#: What a single-consumer adapter is doing about its lease.
HELD = "held"
STANDBY = "standby"
#: Stopped for good in this process (a refused password): lease released, health `failed`.
STOPPED = "stopped"


class Supervisor:
    """Runs each adapter in its own task and restarts it when it fails.

    With a `LeaseBoard`, a single-consumer adapter first waits for its lease (standing by,
    trying again every `lease_retry_s`) and is cancelled the moment the lease is lost.
    """

    def __init__(
        self,
        adapters: list[CaptureAdapter],
        sink: Sink,
        settings: SupervisorSettings,
        *,
        leases: LeaseBoard | None = None,
        lease_retry_s: float = LEASE_RETRY_S,
    ) -> None:
        self.adapters = adapters
        self.sink = sink
        self.leases = leases
        self.lease_retry_s = lease_retry_s
        #: Adapter name → HELD, STANDBY or STOPPED, for the single-consumer adapters.
        self.lease_states: dict[str, str] = {}
        self.restarts = BackoffPolicy(
            initial_s=settings.backoff_initial_s,
            max_s=settings.backoff_max_s,
            healthy_after_s=HEALTHY_AFTER_S,
        )
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        for adapter in self.adapters:
            self._tasks.append(
                asyncio.create_task(self._supervise(adapter), name=f"{adapter.name}:supervisor")
            )

    async def _supervise(self, adapter: CaptureAdapter) -> None:
        if self.leases is not None and is_single_consumer(adapter):
            await self._supervise_leased(adapter, self.leases)
        else:
            await self._run(adapter)

    async def _supervise_leased(self, adapter: CaptureAdapter, board: LeaseBoard) -> None:
        """Stand by until the lease is ours, run while it is; lost → stop, stand by again."""
        while True:
            lease = await self._take(adapter, board)
            lost = asyncio.create_task(lease.lost.wait(), name=f"{adapter.name}:lease-watch")
            running = asyncio.create_task(self._run(adapter), name=f"{adapter.name}:leased")
            finished = False
            try:
                done, _ = await asyncio.wait({running, lost}, return_when=asyncio.FIRST_COMPLETED)
                if running in done:
                    finished = True
                    return  # finished, or stopped for good (a refused password)
                logger.error("%s: lease lost, stopping the adapter at once", adapter.name)
                running.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await running
            finally:
                for task in (running, lost):
                    task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await asyncio.gather(running, lost, return_exceptions=True)
                # Stopped for good: its health says why (failed), not "standby".
                self.lease_states[adapter.name] = STOPPED if finished else STANDBY
                with contextlib.suppress(Exception):
                    await asyncio.shield(lease.release())
            # Whoever took the lease keeps it: wait a round before trying again (no flapping).
            await asyncio.sleep(self.lease_retry_s)

    async def _take(self, adapter: CaptureAdapter, board: LeaseBoard) -> Lease:
        """Try the lease every `lease_retry_s` until this process holds it."""
        announced = False
        while True:
            try:
                lease = await board.try_take(adapter.name)
            except Exception as exc:  # the store is away: stand by and try again
                logger.warning("%s: cannot try the lease: %s", adapter.name, exc)
                lease = None
            if lease is not None:
                self.lease_states[adapter.name] = HELD
                logger.info("%s: lease taken by this process", adapter.name)
                return lease
            self.lease_states[adapter.name] = STANDBY
            if not announced:
                logger.info("%s: held by another process; standing by", adapter.name)
                announced = True
            await asyncio.sleep(self.lease_retry_s)

    async def _run(self, adapter: CaptureAdapter) -> None:
        health = adapter.health
        backoff = self.restarts.start()
        while True:
            health.running()
            backoff.healthy()
            try:
                await adapter.run(self.sink)
            except asyncio.CancelledError:
                health.stopped()
                raise
            except ChannelAuthError as exc:
                health.failed(exc)
                logger.error(
                    "%s: credentials refused, not retrying until the config changes: %s",
                    adapter.name,
                    exc,
                )
                return
            except Exception as exc:
                health.backoff(exc)
                wait = backoff.next_delay()
                logger.warning("%s failed (%s); restarting in %.1fs", adapter.name, exc, wait)
                await asyncio.sleep(wait)
                continue
            health.stopped()
            logger.info("%s finished", adapter.name)
            return

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(task, STOP_TIMEOUT_S)
        self._tasks.clear()

    def health(self, lease_states: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
        """Every adapter's health; `lease_states` is a snapshot to show (default: now)."""
        states = self.lease_states if lease_states is None else lease_states
        out = []
        for adapter in self.adapters:
            item = adapter.health.as_dict()
            lease = states.get(adapter.name)
            if lease is not None:
                item["lease"] = lease
                if lease == STANDBY:
                    item["state"] = STANDBY
            out.append(item)
        return out


class Hub:
    """Everything `touchhub serve` runs, started and stopped in the right order."""

    def __init__(
        self,
        settings: Settings,
        store: ActivityStore,
        *,
        plugins: Plugins | None = None,
        workers: WorkerPool | None = None,
        worker_command: Sequence[str] = (),
    ) -> None:
        self.settings = settings
        #: With `serve --workers N`: the web-only workers this (main) process starts.
        self.workers = workers
        self.worker_command = list(worker_command)
        self.store = store
        self.writer: BatchWriter = store.writer()
        #: The channels wired in: the registry's, unless a caller (a test) gives its own.
        self.plugins = load_plugins() if plugins is None else plugins
        self.adapters = build_adapters(settings, self.plugins)
        #: Every channel's senders, recording into the writer: for the API and campaigns.
        self.senders: Mapping[str, Sender] = build_senders(settings, self.writer, self.plugins)
        #: Leases of the single-consumer adapters, in the same store.
        self.leases = LeaseBoard(store.engine)
        self.supervisor = Supervisor(
            self.adapters, self.writer, settings.supervisor, leases=self.leases
        )
        self.scheduler = AsyncIOScheduler(timezone="UTC")
        #: Sends running campaigns in this process (a scheduler job looks for them).
        self.campaigns = CampaignRunner(
            store,
            settings.campaigns,
            lambda key: campaign_sender(settings, key, self.plugins),
            message_id_domain,
            MailMarks.of(settings.campaigns, settings.web.public_url),
        )
        #: Evaluates trigger rules (a scheduler job: this main process only, never a web worker).
        self.triggers = TriggerEvaluator(store, quiet_until=sms_quiet_until(settings))
        self._runner: web.AppRunner | None = None
        self._services: list[Service] = []
        #: Scheduled runs in flight, which `stop` cancels and waits for.
        self._jobs: set[asyncio.Task[Any]] = set()
        self.url: str | None = None

    async def start(self) -> None:
        """Start writer, adapters, channel services, scheduler and web app (in that order)."""
        await self.writer.start()
        self.supervisor.start()
        await self._start_services()
        self.every(self.remind_overdue, REMINDER_INTERVAL.total_seconds(), "overdue-reminders")
        self._schedule_bounces()
        if self.settings.campaigns.run_in_serve:
            self.every(self.campaigns.tick, self.settings.campaigns.poll_s, "campaigns", now=True)
            self.every(self.triggers.tick, TRIGGER_INTERVAL.total_seconds(), "triggers", now=True)
        self.every(self.remind_dialogs, DIALOG_REMINDER_INTERVAL.total_seconds(), "dialog-reminders")
        self.scheduler.start()
        await self._start_web()

    def _schedule_bounces(self) -> None:
        """Read `[campaigns] bounce_mailbox` every `bounce_poll_s`, when one is configured."""
        campaigns = self.settings.campaigns
        if not campaigns.bounce_mailbox:
            return
        reader = bounce_mailbox(self.settings, self.store)

        async def read_bounces() -> None:
            try:
                report = await reader.sync_once()
            except TouchhubError as exc:  # the next pass tries again
                logger.warning("bounce mailbox %s: %s", campaigns.bounce_mailbox, exc)
                return
            if report.recorded:
                logger.info("bounce mailbox: %d bounces recorded", report.recorded)

        self.every(read_bounces, campaigns.bounce_poll_s, "campaign-bounces")

    def every(
        self, job: Callable[[], Awaitable[Any]], seconds: float, name: str, *, now: bool = False
    ) -> None:
        """Run `job` every `seconds` (never two at once; missed runs coalesce), tracked so
        that `stop` cancels a run in flight instead of leaving it to a closed store."""

        async def tracked() -> None:
            task = asyncio.current_task()
            if task is not None:
                self._jobs.add(task)
            try:
                await job()
            finally:
                if task is not None:
                    self._jobs.discard(task)

        self.scheduler.add_job(
            tracked,
            "interval",
            seconds=seconds,
            id=name,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=None,  # a run due during a slow start is late, not skipped
            **({"next_run_time": utcnow()} if now else {}),
        )

    async def _start_web(self) -> None:
        app = create_app(
            self.store,
            self.settings,
            health=self.health,
            sink=self.writer,
            senders=self.senders,
            plugins=self.plugins,
            front=[] if self.workers is None else [self.workers.guard()],
        )
        app.cleanup_ctx.append(close_senders_with_app(self.senders))
        callers = [a for a in self.adapters if isinstance(a, ClickToCall)]
        if callers:
            app[ORIGINATE] = originate_over(callers)
        live = [a for a in self.adapters if isinstance(a, LiveCallState)]
        if live:
            app[LIVE_CALLS] = live_calls_over(live)
        self._runner = JsonErrorAppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(
            self._runner,
            self.settings.web.host,
            self.settings.web.port,
            reuse_port=self.workers is not None,  # the web workers bind the same port
        )
        await site.start()
        self.url = f"http://{self.settings.web.host}:{self.settings.web.port}/"
        if self.workers is not None:
            await self.workers.start(self._runner, self.worker_command)

    async def _start_services(self) -> None:
        """Every channel's long-lived services (e.g. FastAGI routers), started in order."""
        context = ChannelContext(
            sink=self.writer, responsible_extension=self.store.contacts.responsible_extension
        )
        for plugin in self.plugins:
            for service in plugin.services(self.settings, context):
                await service.start()
                self._services.append(service)

    async def stop(self) -> None:
        """Stop taking new input, then drain the writer so every queued touch is written."""
        if self.workers is not None:
            await self.workers.stop()
        for service in reversed(self._services):
            await service.stop()
        self._services.clear()
        if self._runner is not None:
            await self._runner.cleanup()  # closes the senders (cleanup_ctx)
            self._runner = None
        else:
            await close_senders(self.senders)
        await self.supervisor.stop()
        await self.leases.close()
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        jobs = list(self._jobs)
        for task in jobs:
            task.cancel()
        if jobs:
            await asyncio.wait(jobs, timeout=STOP_TIMEOUT_S)
        await self.campaigns.stop()
        await self.writer.stop()

    async def remind_overdue(self) -> None:
        """Log planned interactions that are overdue, so they surface in the logs."""
        overdue = await self.store.activities.overdue_count(utcnow())
        if overdue:
            logger.info("%d planned interactions are overdue", overdue)

    async def remind_dialogs(self) -> None:
        """Raise a reply task for every messenger dialog left waiting too long."""
        raised = await self.store.dialogs.remind(utcnow())
        if raised:
            logger.info("%d messenger dialogs wait too long for a reply: tasks raised", raised)

    async def health(self) -> dict[str, Any]:
        """Store reachability, the writer's counters and every adapter's state."""
        # One snapshot for the adapters and the leases: a lease may be taken meanwhile.
        states = dict(self.supervisor.lease_states)
        adapters = self.supervisor.health(states)
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
            "triggers": self.triggers.health.as_dict(),
            **await self.lease_health(states),
            **({} if self.workers is None else self.workers.health()),
        }

    async def lease_health(self, states: Mapping[str, str]) -> dict[str, Any]:
        """This process, and for every single-consumer adapter who holds its lease."""
        me = self.leases.me
        try:
            holders = await self.leases.holders()
        except Exception as exc:  # the store's own health says why
            logger.warning("health: leases unreadable: %s", exc)
            holders = {}
        leases = []
        for name in (a.name for a in self.adapters if a.name in states):
            holder = holders.get(name)
            leases.append(
                {
                    "name": name,
                    "state": states[name],
                    "holder": None if holder is None else holder.as_dict(),
                }
            )
        return {
            "process": {"host": me.host, "pid": me.pid},
            "leases": leases,
            "held": [x["name"] for x in leases if x["state"] == HELD],
            "standing_by": [x["name"] for x in leases if x["state"] == STANDBY],
        }


async def serve_forever(hub: Hub, on_ready: Callable[[Hub], None] | None = None) -> None:
    """Run `hub` until SIGTERM or SIGINT, then stop it cleanly."""
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    await hub.start()
    logger.info("start-up heap set aside from the collector: %d objects", heap.settle())
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
    *,
    plugins: Plugins | None = None,
) -> list[dict[str, Any]]:
    """Run capture adapters until caught up, then return their health."""
    configured = build_adapters(settings, plugins)
    adapters = configured
    if only is not None:
        adapters = [a for a in configured if a.name == only]
        if not adapters:
            names = ", ".join(a.name for a in configured) or "none configured"
            raise ConfigError(f"no adapter named {only!r} (adapters: {names})")
    writer = store.writer()
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
            adapter.health.running()
            try:
                await adapter.sync_once(writer)
            except Exception as exc:
                adapter.health.failed(exc)
                logger.error("%s: sync failed: %s", adapter.name, exc)
            else:
                adapter.health.stopped()
    return [a.health.as_dict() for a in adapters]
