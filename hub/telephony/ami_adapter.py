"""The AMI capture adapter: one connection per PBX, finished calls pushed as `Touch`es.

Owns the reconnect loop (exponential backoff with jitter; a wrong password stops it for
good), reconciliation after a reconnect (`CoreShowChannels`), the unclosed-call timer and
the live per-extension state the API shows. Protocol work lives in the sans-IO modules.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from hub.backoff import Backoff, BackoffPolicy
from hub.errors import CallRefused, ChannelAuthError, ChannelConnectError, ChannelError
from hub.model import (
    AdapterHealth,
    Address,
    AddressKind,
    Channel,
    Checkpoint,
    Direction,
    Flag,
    Quarantined,
    Sink,
    Touch,
    utcnow,
)
from hub.telephony.ami_client import AmiClient, AmiEndpoint, event_filters_for
from hub.telephony.ami_protocol import AmiGarbage, AmiMessage
from hub.telephony.backfill import close_gap, merge
from hub.telephony.call_assembler import (
    ASSEMBLER_EVENTS,
    AssemblerConfig,
    CallAssembler,
    FinishedCall,
)
from hub.telephony.cdr_source import CdrSource, cdr_source
from hub.telephony.click_to_call import OriginateError, OriginateResult, click_to_call
from hub.telephony.settings import PbxSettings

logger = logging.getLogger(__name__)

BACKOFF_INITIAL_S = 0.5
BACKOFF_MAX_S = 30.0
#: A session that lasted this long resets the backoff (the PBX was fine; this is a new outage).
STABLE_SESSION_S = 60.0
#: How often calls without events are checked for expiry.
EXPIRE_CHECK_S = 30.0
#: Checkpoint key: the PBX time of the last event whose calls are logged (a backfill's start).
COVERED_UNTIL = "covered_until"
#: Most seconds between two `covered_until` checkpoints while events arrive but no call
#: ends: a process killed mid-call leaves its successor a gap that starts this recently.
CHECKPOINT_EVERY_S = 1.0
#: A call that lived through a reconnect is completed from its CDR record, which Asterisk
#: writes as the call ends: tried at once, then after each of these waits (10 s in all),
#: then logged with what live capture saw.
CDR_COMPLETE_RETRY_S = (0.2, 0.5, 1.0, 2.0, 3.0, 3.3)
#: CDR ends are whole seconds: a record is looked for among those ending after this much
#: before the call's end.
CDR_SLACK = timedelta(seconds=2)
#: How long the PBX may take to tell its time after a reconnect.
PBX_CLOCK_TIMEOUT_S = 5.0
#: How long click-to-call waits for a PBX connection that is being (re)established.
ORIGINATE_READY_TIMEOUT_S = 5.0
#: After a refused Originate, how long to wait for the employee leg's Hangup cause.
REFUSAL_CAUSE_WAIT_S = 1.0
#: Q.850 causes of a refused employee leg → what the caller is told, and a stable code.
REFUSAL_CAUSES: dict[str, tuple[str, str]] = {
    "17": ("busy", "the employee's phone is busy"),
    "18": ("no_answer", "the employee's phone did not answer"),
    "19": ("no_answer", "the employee's phone did not answer"),
    "21": ("rejected", "the employee's phone rejected the call"),
    "20": ("unreachable", "the employee's phone is not registered or unreachable"),
    "1": ("unreachable", "no such extension"),
    "3": ("unreachable", "the employee's phone is not registered or unreachable"),
    "27": ("unreachable", "the employee's phone is not registered or unreachable"),
}


def call_to_touch(call: FinishedCall, source: str) -> Touch:
    """The store's view of a finished call: a `Touch` keyed by (source, Linkedid)."""
    counterparts: tuple[Address, ...] = ()
    if call.direction is Direction.INTERNAL:
        if call.counterpart_extension:
            counterparts = (Address(kind=AddressKind.EXTENSION, value=call.counterpart_extension),)
    elif call.counterpart:
        counterparts = (
            Address(kind=AddressKind.PHONE, value=call.counterpart, name=call.counterpart_name),
        )
    flags: set[Flag] = set()
    if call.unclosed:
        flags.add(Flag.UNCLOSED)
    if call.reconciled:
        flags.add(Flag.RECONCILED)
    if call.backfilled:
        flags.add(Flag.BACKFILLED)
    started = call.started_at or call.answered_at or call.ended_at or utcnow()
    duration = None
    if call.ended_at is not None and call.started_at is not None:
        duration = round((call.ended_at - call.started_at).total_seconds(), 1)
    metadata: dict[str, Any] = {
        "extensions_rung": list(call.extensions_rung),
        "transfers": [t.as_dict() for t in call.transfers],
        "queue_wait_seconds": call.queue_wait_seconds,
        "recording": call.recording,
    }
    if call.notes:
        metadata["notes"] = list(call.notes)
    return Touch(
        source=source,
        external_id=call.linkedid,
        channel=Channel.CALL,
        direction=call.direction,
        status=call.status,
        occurred_at=started,
        answered_at=call.answered_at,
        ended_at=call.ended_at,
        duration_seconds=duration,
        ring_seconds=call.ring_seconds,
        talk_seconds=call.talk_seconds,
        counterparts=counterparts,
        employee=Address(kind=AddressKind.EXTENSION, value=call.employee)
        if call.employee
        else None,
        flags=frozenset(flags),
        metadata=metadata,
    )


def assembler_config(settings: PbxSettings) -> AssemblerConfig:
    """The assembler's settings taken from a `[telephony.pbx.NAME]` section."""
    return AssemblerConfig(
        internal_pattern=settings.internal_pattern,
        trunk_pattern=settings.trunk_pattern,
        trunk_context_pattern=settings.trunk_context_pattern,
        unclosed_after_s=settings.unclosed_after_minutes * 60.0,
    )


class AmiAdapter:
    """Watches one PBX over AMI and pushes every finished call into a sink."""

    #: Two connections to one PBX would log every call twice: one process at a time.
    single_consumer = True

    def __init__(
        self,
        pbx: str,
        settings: PbxSettings,
        *,
        clock: Callable[[], float] = time.time,
        ping_interval: float | None = None,
        backoff_initial: float = BACKOFF_INITIAL_S,
        backoff_max: float = BACKOFF_MAX_S,
        expire_check: float = EXPIRE_CHECK_S,
    ) -> None:
        self.pbx = pbx
        self.name = f"ami:{pbx}"
        self.settings = settings
        self.health = AdapterHealth(name=self.name)
        self.endpoint = AmiEndpoint.from_url(
            settings.ami, settings.password.get_secret_value(), auth=settings.auth
        )
        config = assembler_config(settings)
        self._config = config
        self.assembler = CallAssembler(config)
        self.cdr: CdrSource | None = (
            cdr_source(settings.cdr, config, where=f"telephony.pbx.{pbx}.cdr")
            if settings.cdr
            else None
        )
        #: PBX time (epoch) of the last event handled: where the next gap begins.
        self._covered_until: float | None = None
        #: Calls waiting for their CDR record (Linkedid → PBX time of their end) and the
        #: tasks that wait: the checkpoint stays before them until they are logged.
        self._pending: dict[str, float] = {}
        self._completions: set[asyncio.Task[None]] = set()
        #: Whether the PBX stamps its events (`timestampevents`): then only stamps count.
        self._stamped = False
        #: Monotonic time of the last `covered_until` checkpoint put.
        self._checkpointed_at: float | None = None
        self._clock = clock
        self._ping_interval = ping_interval
        self._reconnect = BackoffPolicy(
            initial_s=backoff_initial, max_s=backoff_max, healthy_after_s=STABLE_SESSION_S
        )
        self._expire_check = expire_check
        self._client: AmiClient | None = None
        self._ready = asyncio.Event()

    # ----------------------------------------------------------------- public

    @property
    def client(self) -> AmiClient | None:
        """The logged-in connection, when there is one (click-to-call sends through it)."""
        client = self._client
        return client if client is not None and client.connected else None

    async def wait_ready(self) -> AmiClient:
        """Wait until a session is logged in and reconciled; return its client."""
        while True:
            await self._ready.wait()
            client = self.client
            if client is not None:
                return client
            self._ready.clear()

    def live_state(self) -> dict[str, str]:
        """Extension → "ringing" or "talking", for the API (the `LiveCallState` capability)."""
        return self.assembler.live_state()

    async def originate(
        self, extension: str, number: str, caller_name: str | None = None
    ) -> OriginateResult:
        """Click-to-call over the running session (the `ClickToCall` capability).

        The client sees the configured company caller ID, else `caller_name` and the
        extension. A refusal by the employee's own phone raises `CallRefused` saying why.
        """
        try:
            client = await asyncio.wait_for(self.wait_ready(), ORIGINATE_READY_TIMEOUT_S)
        except TimeoutError as exc:
            raise ChannelConnectError(
                f"PBX {self.pbx} is not connected", channel=self.name
            ) from exc
        settings = self.settings
        mark = self.assembler.hangup_mark
        try:
            return await click_to_call(
                client,
                extension,
                number,
                channel_template=settings.originate_channel,
                context=settings.originate_context,
                ring_timeout_s=settings.originate_timeout_s,
                callerid=settings.originate_callerid,
                caller_name=caller_name,
            )
        except OriginateError as exc:
            if exc.reason != "0":
                raise
            refusal = await self._refusal(settings.originate_channel.format(extension=extension), mark)
            if refusal is None:
                raise
            kind, words = refusal
            raise CallRefused(
                f"call {extension} → {number} failed: {words}", kind=kind, channel=self.name
            ) from exc

    async def _refusal(self, leg: str, mark: int) -> tuple[str, str] | None:
        """Asterisk says Reason 0 both for a busy phone and a missing one; the leg's Hangup
        cause, a moment later, tells them apart."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + REFUSAL_CAUSE_WAIT_S
        while loop.time() < deadline:
            cause = self.assembler.hangup_cause_since(leg, mark)
            if cause is not None:
                return REFUSAL_CAUSES.get(
                    cause, ("rejected", f"the employee's phone refused the call (cause {cause})")
                )
            await asyncio.sleep(0.05)
        return None

    def new_client(self) -> AmiClient:
        """A client for this PBX (not yet connected)."""
        kwargs: dict[str, Any] = {}
        if self._ping_interval is not None:
            kwargs["ping_interval"] = self._ping_interval
        return AmiClient(
            self.endpoint,
            name=self.name,
            fallback_encoding=self.settings.charset,
            event_filters=event_filters_for(ASSEMBLER_EVENTS) if self.settings.event_filter else (),
            wanted_events=ASSEMBLER_EVENTS,
            **kwargs,
        )

    async def run(self, sink: Sink) -> None:
        """Capture until cancelled, reconnecting with backoff; a refused login raises.

        Each run starts from the store, not from what an earlier run of this object saw:
        under a lease, another process may have logged calls in between.
        """
        self.assembler = CallAssembler(self._config)
        self._covered_until = None
        self._stamped = False
        self._checkpointed_at = None
        self._pending.clear()
        backoff = self._reconnect.start(clock=self._clock)
        self.health.starting()
        try:
            while True:
                try:
                    await self._session(sink, backoff)
                except ChannelAuthError as exc:
                    self.health.failed(exc)
                    logger.warning("%s: %s", self.name, exc)
                    raise
                except (ChannelError, OSError) as exc:
                    self.health.backoff(exc)
                    logger.warning("%s: %s", self.name, exc)
                delay = backoff.next_delay()
                logger.info("%s: reconnecting in %.1fs", self.name, delay)
                await asyncio.sleep(delay)
        finally:
            # Calls still waiting for their record: the checkpoint was kept before them,
            # so whoever runs next backfills them.
            for task in list(self._completions):
                task.cancel()
            await asyncio.gather(*self._completions, return_exceptions=True)

    async def sync_once(self, sink: Sink) -> None:
        """Connect, reconcile with the channels up now, push what that closed, disconnect."""
        client = self.new_client()
        await client.connect()
        try:
            await self._reconcile(client, sink)
            for call in self.assembler.expire(self._clock()):
                await self._emit(call, sink)
        finally:
            await client.close()
        await sink.flush()

    # -------------------------------------------------------------- internals

    async def _session(self, sink: Sink, backoff: Backoff) -> None:
        client = self.new_client()
        await client.connect()
        self._client = client
        expiry = asyncio.create_task(self._expire_loop(sink), name=f"{self.name}:expire")
        try:
            await self._reconcile(client, sink)
            self.health.running()
            backoff.healthy()
            self._ready.set()
            while True:
                item = await client.next_event()
                await self._handle(item, sink)
        finally:
            self._ready.clear()
            self._client = None
            expiry.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await expiry
            await client.close()

    async def _handle(self, item: AmiMessage | object, sink: Sink) -> None:
        if isinstance(item, AmiGarbage):
            logger.warning("%s: quarantined %s: %r", self.name, item.reason, item.raw[:120])
            self.health.count("quarantined")
            await sink.put(Quarantined(source=self.name, reason=item.reason, raw=item.raw))
            return
        if not isinstance(item, AmiMessage):
            return
        now = self._clock()
        self.health.count("events")
        try:
            finished = self.assembler.feed(item, now)
        except Exception as exc:  # one bad event must not end the capture
            logger.exception("%s: event could not be applied", self.name)
            self.health.count("quarantined")
            await sink.put(
                Quarantined(
                    source=self.name,
                    reason=f"assembler: {exc!r}",
                    raw=item.raw,
                    external_id=item.get("Linkedid"),
                )
            )
            return
        self.health.last_event_at = utcnow()
        stamp = item.get("Timestamp")
        if stamp:
            self._covered_until = float(stamp)
            self._stamped = True
        elif not self._stamped:  # a PBX without timestampevents: our clock stands in
            self._covered_until = now
        for call in finished:
            await self._finished(call, sink)
        checkpointed = self._checkpointed_at
        # Only the PBX's own time says how far its records are covered: an unstamped
        # event (a login's FullyBooted) would date the gap by our clock.
        if stamp and (checkpointed is None or time.monotonic() - checkpointed >= CHECKPOINT_EVERY_S):
            await self._checkpoint(sink)

    async def _reconcile(self, client: AmiClient, sink: Sink) -> None:
        """Close what ended while we were away: from the channel list, then the CDR."""
        snapshot = await client.list_action("CoreShowChannels")
        pbx_now = await self._pbx_now(client)
        held = self.assembler.reconcile(snapshot, pbx_now)
        calls = held
        if self.cdr is not None:
            since = await self._gap_start(sink)
            if since is not None:
                try:
                    records = await self.cdr.calls_since(since)
                except Exception as exc:  # the capture goes on without the backfill
                    logger.warning("%s: CDR backfill skipped: %s", self.name, exc)
                    self.health.count("backfill_errors")
                    records = []
                # Calls begun since the reconnect are live capture's, whatever the file says.
                until = datetime.fromtimestamp(pbx_now, UTC)
                calls = close_gap(
                    held, records, known=self.assembler.knows, since=since, until=until
                )
                self.health.count("backfilled", sum(1 for c in calls if c.backfilled))
        for call in calls:
            await self._emit(call, sink)

    async def _pbx_now(self, client: AmiClient) -> float:
        """The PBX's own clock (its `Ping` answer's Timestamp), else ours: the channels'
        `Duration`s count on the PBX's clock, so their starts must be reckoned on it too."""
        try:
            pong = await client.action("Ping", time_limit=PBX_CLOCK_TIMEOUT_S)
            stamp = pong.get("Timestamp")
            return float(stamp) if stamp else self._clock()
        except (ChannelError, ValueError) as exc:
            logger.info("%s: the PBX's clock is unknown (%s); using ours", self.name, exc)
            return self._clock()

    async def _gap_start(self, sink: Sink) -> datetime | None:
        """Where the gap began: the last event of this process, else of the previous one."""
        covered = self._covered_until
        if covered is None:
            saved = await sink.load_checkpoint(self.name, COVERED_UNTIL)
            try:
                covered = float(saved) if saved else None
            except ValueError:
                covered = None
        return None if covered is None else datetime.fromtimestamp(covered, UTC)

    async def _expire_loop(self, sink: Sink) -> None:
        while True:
            await asyncio.sleep(self._expire_check)
            for call in self.assembler.expire(self._clock()):
                await self._emit(call, sink)

    async def _finished(self, call: FinishedCall, sink: Sink) -> None:
        """Log a call that ended; one that lived through a reconnect first waits for its
        CDR record, which knows the part of it we did not see."""
        if self.cdr is None or not call.reconciled or call.backfilled:
            await self._emit(call, sink)
            return
        ended = call.ended_at.timestamp() if call.ended_at else self._covered_until
        self._pending[call.linkedid] = ended if ended is not None else 0.0
        task = asyncio.create_task(
            self._complete(call, self.cdr, sink), name=f"{self.name}:cdr:{call.linkedid}"
        )
        self._completions.add(task)
        task.add_done_callback(self._completions.discard)

    async def _complete(self, call: FinishedCall, cdr: CdrSource, sink: Sink) -> None:
        """`call` merged with its CDR record once the PBX has written it, then logged."""
        try:
            around = call.ended_at or call.started_at or utcnow()
            for wait in (*CDR_COMPLETE_RETRY_S, None):
                try:
                    records = await cdr.calls_since(around - CDR_SLACK)
                except Exception as exc:  # the call is logged as seen, with its notes
                    logger.warning("%s: CDR not read for %s: %s", self.name, call.linkedid, exc)
                    break
                record = next((r for r in records if r.linkedid == call.linkedid), None)
                if record is not None:
                    call = merge(call, record)
                    self.health.count("completed_from_cdr")
                    break
                if wait is not None:
                    await asyncio.sleep(wait)
            await self._emit(call, sink)
        finally:
            self._pending.pop(call.linkedid, None)

    async def _emit(self, call: FinishedCall, sink: Sink) -> None:
        self.health.count("calls")
        await sink.put(call_to_touch(call, self.name))
        # Committed with the call: after a crash, the backfill starts where this left off.
        await self._checkpoint(sink)

    async def _checkpoint(self, sink: Sink) -> None:
        """Every call that ended before `covered_until` is in the sink ahead of this."""
        if self.cdr is None or self._covered_until is None:
            return
        covered = self._covered_until
        if self._pending:  # not past a call still waiting for its record (whole seconds)
            covered = min(covered, math.floor(min(self._pending.values())) - 1.0)
        self._checkpointed_at = time.monotonic()
        await sink.put(Checkpoint(source=self.name, key=COVERED_UNTIL, value=f"{covered:.6f}"))
