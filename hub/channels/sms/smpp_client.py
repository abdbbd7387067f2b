"""Asyncio SMPP 3.4 client: one transceiver bind, a window of outstanding PDUs, keep-alive.

All protocol work is in the sans-IO `smpp_pdu` codec; this module owns the socket, the
sequence number → Future table, timeouts and throttling. Each submit waits for a free place
in the window; `ESME_RTHROTTLED` and `ESME_RMSGQFUL` halve the window and retry the PDU after
a growing delay (the window grows back one place per run of successes). A refused bind is a
`ChannelAuthError`; a lost connection fails every outstanding PDU with
`ChannelConnectError` (transient). Received deliver_sm PDUs (receipts and incoming
messages) go into a bounded queue and are answered with deliver_sm_resp once queued, so a
full queue slows the SMSC down instead of losing anything.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Coroutine
from dataclasses import dataclass, field, replace

from hub.channels.sms.smpp_pdu import (
    MAX_SEQUENCE,
    BindTransceiver,
    BindTransceiverResp,
    CommandStatus,
    DeliverSm,
    DeliverSmResp,
    EnquireLink,
    EnquireLinkResp,
    GenericNack,
    Pdu,
    PduRejected,
    SmppDecoder,
    SubmitSm,
    SubmitSmResp,
    Unbind,
    UnbindResp,
    UnknownPdu,
    encode,
    status_name,
)
from hub.errors import (
    ChannelAuthError,
    ChannelConnectError,
    ChannelError,
    ChannelTimeout,
    ProtocolError,
    RateLimited,
)

logger = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 10.0
BIND_TIMEOUT_S = 10.0
RESPONSE_TIMEOUT_S = 10.0
WRITE_TIMEOUT_S = 10.0
UNBIND_TIMEOUT_S = 2.0
ENQUIRE_LINK_INTERVAL_S = 30.0
#: Outstanding PDUs allowed at once (most SMSCs allow 10 per bind).
DEFAULT_WINDOW = 10
#: First wait after a throttled submit; doubles per retry of the same PDU.
THROTTLE_DELAY_S = 1.0
#: Throttled retries of one PDU before `RateLimited` is raised to the caller.
THROTTLE_RETRIES = 5
#: Successful responses in a row after which a shrunk window grows by one.
WINDOW_RECOVERY = 20
#: deliver_sm PDUs waiting for the consumer before the client stops answering them.
DELIVER_QUEUE_SIZE = 1_000
READ_CHUNK_BYTES = 65_536
#: Bytes waiting in the socket's buffer beyond which a writer waits for the SMSC to read.
WRITE_HIGH_WATER = 256 * 1024

#: Statuses that mean "slow down", not "this message is bad".
THROTTLE_STATUSES = frozenset({CommandStatus.ESME_RTHROTTLED, CommandStatus.ESME_RMSGQFUL})
#: Bind statuses that mean the credentials (or the account) are wrong.
AUTH_STATUSES = frozenset(
    {
        CommandStatus.ESME_RBINDFAIL,
        CommandStatus.ESME_RINVPASWD,
        CommandStatus.ESME_RINVSYSID,
        CommandStatus.ESME_RINVSYSTYP,
    }
)


@dataclass(frozen=True, slots=True, kw_only=True)
class SmppSettings:
    """Where to bind, as whom, and the tunables; the password never shows in repr."""

    host: str
    port: int
    system_id: str
    password: str = field(repr=False)
    system_type: str = ""
    #: channel name used in errors and logs (e.g. "smpp:operator")
    name: str = "smpp"
    window: int = DEFAULT_WINDOW
    connect_timeout: float = CONNECT_TIMEOUT_S
    bind_timeout: float = BIND_TIMEOUT_S
    response_timeout: float = RESPONSE_TIMEOUT_S
    write_timeout: float = WRITE_TIMEOUT_S
    enquire_link_interval: float = ENQUIRE_LINK_INTERVAL_S
    throttle_delay: float = THROTTLE_DELAY_S
    throttle_retries: int = THROTTLE_RETRIES
    window_recovery: int = WINDOW_RECOVERY
    deliver_queue_size: int = DELIVER_QUEUE_SIZE


class SubmitWindow:
    """How many requests may be outstanding; shrinks on throttling, grows back on success."""

    def __init__(self, size: int, *, recovery: int) -> None:
        if size < 1:
            raise ValueError("window must be at least 1")
        self.limit = size
        self.size = size
        self.in_flight = 0
        self.peak = 0
        self._recovery = recovery
        self._successes = 0
        self._changed = asyncio.Condition()

    async def acquire(self) -> None:
        async with self._changed:
            await self._changed.wait_for(lambda: self.in_flight < self.size)
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)

    async def release(self) -> None:
        async with self._changed:
            self.in_flight -= 1
            self._changed.notify(1)  # one place freed: wake one waiter, not every one

    async def shrink(self) -> None:
        async with self._changed:
            self.size = max(1, self.size // 2)
            self._successes = 0

    async def success(self) -> None:
        async with self._changed:
            self._successes += 1
            if self.size < self.limit and self._successes >= self._recovery:
                self.size += 1
                self._successes = 0
                self._changed.notify(1)


class SmppClient:
    """One transceiver session: `connect()`, `submit()`, `deliveries`, `close()`."""

    def __init__(self, settings: SmppSettings) -> None:
        self.settings = settings
        self.window = SubmitWindow(settings.window, recovery=settings.window_recovery)
        #: deliver_sm PDUs (receipts and incoming messages), answered once they are here
        self.deliveries: asyncio.Queue[DeliverSm] = asyncio.Queue(settings.deliver_queue_size)
        self.smsc_system_id = ""
        self._decoder = SmppDecoder()
        self._pending: dict[int, asyncio.Future[Pdu]] = {}
        self._sequence = itertools.count(1)
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._failure: ChannelError | None = None
        self._closed = asyncio.Event()
        self._outgoing: list[bytes] = []

    # ------------------------------------------------------------ lifecycle

    @property
    def connected(self) -> bool:
        return self._writer is not None and self._failure is None

    async def connect(self) -> None:
        """Open the connection and bind as a transceiver; start reading and keep-alive."""
        s = self.settings
        try:
            self._reader, self._writer = await asyncio.wait_for(
                asyncio.open_connection(s.host, s.port), s.connect_timeout
            )
        except TimeoutError as exc:
            raise ChannelTimeout(
                f"no connection to {s.host}:{s.port} within {s.connect_timeout}s", channel=s.name
            ) from exc
        except OSError as exc:
            raise ChannelConnectError(
                f"cannot connect to {s.host}:{s.port}: {exc}", channel=s.name
            ) from exc
        self._failure = None
        self._outgoing = []
        self._decoder = SmppDecoder()
        self._closed.clear()
        self._spawn(self._read_loop(), "reader")
        bind = BindTransceiver(
            sequence_number=self._next_sequence(),
            system_id=s.system_id,
            password=s.password,
            system_type=s.system_type,
        )
        try:
            resp = await self._request(bind, s.bind_timeout)
        except BaseException:
            await self._abort()
            raise
        if not isinstance(resp, BindTransceiverResp) or resp.command_status:
            await self._abort()
            status = resp.command_status
            text = f"bind as {s.system_id!r} refused: {status_name(status)}"
            if status in AUTH_STATUSES:
                raise ChannelAuthError(text, channel=s.name)
            raise ProtocolError(text, channel=s.name)
        self.smsc_system_id = resp.system_id
        logger.info("smpp %s: bound to %s:%d as %s", s.name, s.host, s.port, s.system_id)
        if s.enquire_link_interval > 0:
            self._spawn(self._keepalive_loop(), "keepalive")

    async def close(self) -> None:
        """Unbind (briefly waiting for unbind_resp), close the socket, fail what is left."""
        if self.connected:
            with contextlib.suppress(ChannelError):
                await self._request(
                    Unbind(sequence_number=self._next_sequence()), UNBIND_TIMEOUT_S
                )
        await self._abort(ChannelConnectError("client closed", channel=self.settings.name))

    async def __aenter__(self) -> SmppClient:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def wait_closed(self) -> ChannelError | None:
        """Wait until the session ends; return why (a closed client says "client closed")."""
        await self._closed.wait()
        return self._failure

    # ------------------------------------------------------------ requests

    async def submit(self, pdu: SubmitSm) -> SubmitSmResp:
        """Send one submit_sm within the window; retry it while the SMSC throttles.

        Returns the response, whose command_status may name a refusal of this message
        (e.g. ESME_RINVDSTADR); raises `RateLimited` when throttling outlasts the retries,
        `ChannelTimeout` without an answer, `ChannelConnectError` if the connection drops.
        """
        s = self.settings
        delay = s.throttle_delay
        for attempt in range(s.throttle_retries + 1):
            await self.window.acquire()
            try:
                resp = await self._request(
                    replace(pdu, sequence_number=self._next_sequence()), s.response_timeout
                )
            finally:
                await self.window.release()
            if isinstance(resp, GenericNack):
                raise ProtocolError(
                    f"submit_sm refused with generic_nack {status_name(resp.command_status)}",
                    channel=s.name,
                )
            if not isinstance(resp, SubmitSmResp):
                raise ProtocolError(f"submit_sm answered with {type(resp).__name__}", channel=s.name)
            if resp.command_status not in THROTTLE_STATUSES:
                if not resp.command_status:
                    await self.window.success()
                return resp
            await self.window.shrink()
            if attempt == s.throttle_retries:
                break
            logger.info(
                "smpp %s: %s, window %d, retry in %.2fs",
                s.name,
                status_name(resp.command_status),
                self.window.size,
                delay,
            )
            await asyncio.sleep(delay)
            delay *= 2
        raise RateLimited(
            f"SMSC still throttling after {s.throttle_retries} retries",
            retry_after=delay,
            channel=s.name,
        )

    async def enquire_link(self) -> None:
        """One keep-alive round trip."""
        resp = await self._request(
            EnquireLink(sequence_number=self._next_sequence()), self.settings.response_timeout
        )
        if resp.command_status:
            raise ProtocolError(
                f"enquire_link answered {status_name(resp.command_status)}",
                channel=self.settings.name,
            )

    def _next_sequence(self) -> int:
        seq = next(self._sequence)
        if seq > MAX_SEQUENCE:
            self._sequence = itertools.count(2)
            seq = 1
        return seq

    async def _request(self, pdu: Pdu, wait_s: float) -> Pdu:
        if self._failure is not None:
            raise self._failure
        future: asyncio.Future[Pdu] = asyncio.get_running_loop().create_future()
        self._pending[pdu.sequence_number] = future
        try:
            await self._write(pdu)
            return await asyncio.wait_for(future, wait_s)
        except TimeoutError as exc:
            raise ChannelTimeout(
                f"no answer to {type(pdu).__name__} #{pdu.sequence_number} within {wait_s}s",
                channel=self.settings.name,
            ) from exc
        finally:
            self._pending.pop(pdu.sequence_number, None)

    async def _write(self, pdu: Pdu) -> None:
        """Queue `pdu` for the socket; wait only while the SMSC is not reading.

        PDUs written in one turn of the event loop leave in one `write` (one system call):
        a window's worth of submits, or the answers to a burst of receipts, go together.
        """
        writer = self._writer
        if writer is None or self._failure is not None:
            raise self._failure or ChannelConnectError("not connected", channel=self.settings.name)
        self._outgoing.append(encode(pdu))
        if len(self._outgoing) == 1:
            asyncio.get_running_loop().call_soon(self._send_outgoing, writer)
        if writer.transport.get_write_buffer_size() <= WRITE_HIGH_WATER:
            return
        try:
            await asyncio.wait_for(writer.drain(), self.settings.write_timeout)
        except TimeoutError as exc:
            raise ChannelTimeout("SMSC does not read", channel=self.settings.name) from exc
        except OSError as exc:
            raise ChannelConnectError(
                f"write failed: {exc}", channel=self.settings.name
            ) from exc

    def _send_outgoing(self, writer: asyncio.StreamWriter) -> None:
        data, self._outgoing = b"".join(self._outgoing), []
        if data and not writer.is_closing():
            writer.write(data)

    # ------------------------------------------------------------ reading

    async def _read_loop(self) -> None:
        assert self._reader is not None
        error: ChannelError
        try:
            while True:
                data = await self._reader.read(READ_CHUNK_BYTES)
                if not data:
                    error = ChannelConnectError("SMSC closed the connection", channel=self.settings.name)
                    break
                for item in self._decoder.feed(data):
                    await self._route(item)
        except ChannelError as exc:
            error = exc
        except OSError as exc:
            error = ChannelConnectError(f"connection lost: {exc}", channel=self.settings.name)
        self._fail(error)

    async def _route(self, item: Pdu | PduRejected) -> None:
        if isinstance(item, PduRejected):
            logger.warning("smpp %s: %s", self.settings.name, item.error)
            await self._write(
                GenericNack(
                    sequence_number=item.error.sequence_number or 0,
                    command_status=item.error.command_status,
                )
            )
            if item.fatal:
                raise item.error
            return
        if item.is_response:
            future = self._pending.get(item.sequence_number)
            if future is not None and not future.done():
                future.set_result(item)
            else:
                logger.warning("smpp %s: unexpected %r", self.settings.name, item)
            return
        if isinstance(item, DeliverSm):
            if not self.deliveries.full():  # kept at once: answer at once
                self.deliveries.put_nowait(item)
                await self._write(DeliverSmResp(sequence_number=item.sequence_number))
            else:  # the consumer is behind: answer when there is room (the SMSC slows down)
                self._spawn(self._hand_over(item), f"deliver:{item.sequence_number}")
        elif isinstance(item, EnquireLink):
            await self._write(EnquireLinkResp(sequence_number=item.sequence_number))
        elif isinstance(item, Unbind):
            await self._write(UnbindResp(sequence_number=item.sequence_number))
            raise ChannelConnectError("SMSC unbound", channel=self.settings.name)
        elif isinstance(item, UnknownPdu):
            await self._write(
                GenericNack(
                    sequence_number=item.sequence_number,
                    command_status=CommandStatus.ESME_RINVCMDID,
                )
            )
        else:
            await self._write(
                GenericNack(
                    sequence_number=item.sequence_number,
                    command_status=CommandStatus.ESME_RINVBNDSTS,
                )
            )

    async def _hand_over(self, pdu: DeliverSm) -> None:
        """Queue a deliver_sm, then acknowledge it: nothing is acknowledged before it is kept."""
        await self.deliveries.put(pdu)
        with contextlib.suppress(ChannelError):
            await self._write(DeliverSmResp(sequence_number=pdu.sequence_number))

    async def _keepalive_loop(self) -> None:
        interval = self.settings.enquire_link_interval
        while True:
            await asyncio.sleep(interval)
            try:
                await self.enquire_link()
            except ChannelError as exc:
                self._fail(ChannelConnectError(f"keep-alive failed: {exc}", channel=self.settings.name))
                return

    # ------------------------------------------------------------ failure

    def _spawn(self, coro: Coroutine[object, object, None], role: str) -> None:
        task = asyncio.create_task(coro, name=f"{self.settings.name}:{role}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _fail(self, error: ChannelError) -> None:
        """End the session: every outstanding request fails with `error`."""
        if self._failure is None:
            self._failure = error
            logger.warning("smpp %s: session ended: %s", self.settings.name, error)
        for future in self._pending.values():
            if not future.done():
                future.set_exception(error)
        self._pending.clear()
        if self._writer is not None:
            self._writer.close()
        self._closed.set()

    async def _abort(self, error: ChannelError | None = None) -> None:
        self._fail(error or ChannelConnectError("bind failed", channel=self.settings.name))
        current = asyncio.current_task()
        tasks = [t for t in self._tasks if t is not current]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._writer is not None:
            with contextlib.suppress(OSError, TimeoutError):
                await asyncio.wait_for(self._writer.wait_closed(), UNBIND_TIMEOUT_S)
        self._writer = None
