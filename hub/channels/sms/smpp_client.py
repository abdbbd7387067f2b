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
import ssl
from collections import deque
from collections.abc import Coroutine
from dataclasses import dataclass, field

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
    frame,
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
#: deliver_sm_resp body: an empty message_id.
_EMPTY_MESSAGE_ID = b"\x00"
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
class SmppTls:
    """TLS around the bind (`smpps://`): which authorities to trust and what to check."""

    #: PEM file of the authorities that may sign the SMSC's certificate; None = the system's
    ca_file: str | None = None
    #: False accepts any certificate (a test SMSC, a private link): encrypted, not authenticated
    verify: bool = True
    #: name the certificate must carry; None = the host we connect to
    server_hostname: str | None = None

    def context(self) -> ssl.SSLContext:
        """A client context: TLS 1.2 or later, the chosen authorities, hostname checked."""
        context = ssl.create_default_context(cafile=self.ca_file)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        if not self.verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context


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
    #: TLS around the connection; None = plain TCP
    tls: SmppTls | None = None
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
    """How many requests may be outstanding; shrinks on throttling, grows back on success.

    Places are handed to waiters in arrival order by `release` itself, which is a plain
    function: a caller cancelled while giving its place back cannot keep it (a lock there
    once could, and then every later submit waited for a place that never came back).
    """

    def __init__(self, size: int, *, recovery: int) -> None:
        if size < 1:
            raise ValueError("window must be at least 1")
        self.limit = size
        self.size = size
        self.in_flight = 0
        self.peak = 0
        self._recovery = recovery
        self._successes = 0
        self._waiters: deque[asyncio.Future[None]] = deque()

    async def acquire(self) -> None:
        """Wait for a place (first come, first served) and take it."""
        if self.in_flight < self.size and not self._waiters:
            self._take()
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        except BaseException:
            if waiter.done() and not waiter.cancelled():
                self.release()  # the place was handed over as we were cancelled: give it back
            else:
                with contextlib.suppress(ValueError):
                    self._waiters.remove(waiter)
            raise

    def release(self) -> None:
        """Give a place back; the longest waiter gets it."""
        self.in_flight -= 1
        self._hand_over()

    def shrink(self) -> None:
        self.size = max(1, self.size // 2)
        self._successes = 0

    def success(self) -> None:
        self._successes += 1
        if self.size < self.limit and self._successes >= self._recovery:
            self.size += 1
            self._successes = 0
            self._hand_over()

    def _take(self) -> None:
        self.in_flight += 1
        if self.in_flight > self.peak:
            self.peak = self.in_flight

    def _hand_over(self) -> None:
        while self._waiters and self.in_flight < self.size:
            waiter = self._waiters.popleft()
            if not waiter.done():
                self._take()
                waiter.set_result(None)


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
        """Open the connection (TLS when asked) and bind as a transceiver; start reading
        and keep-alive."""
        s = self.settings
        where = f"{s.host}:{s.port}"
        try:
            if s.tls is None:
                opened = asyncio.open_connection(s.host, s.port)
            else:
                opened = asyncio.open_connection(
                    s.host,
                    s.port,
                    ssl=s.tls.context(),
                    server_hostname=s.tls.server_hostname or s.host,
                    ssl_handshake_timeout=s.connect_timeout,
                )
            self._reader, self._writer = await asyncio.wait_for(opened, s.connect_timeout)
        except TimeoutError as exc:
            raise ChannelTimeout(
                f"no connection to {where} within {s.connect_timeout}s", channel=s.name
            ) from exc
        except ssl.SSLError as exc:
            raise ChannelConnectError(
                f"TLS with {where} failed: {exc.reason or exc}", channel=s.name
            ) from exc
        except OSError as exc:
            raise ChannelConnectError(f"cannot connect to {where}: {exc}", channel=s.name) from exc
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
        logger.info(
            "smpp %s: bound to %s%s as %s", s.name, where, " (TLS)" if s.tls else "", s.system_id
        )
        if s.enquire_link_interval > 0:
            self._spawn(self._keepalive_loop(), "keepalive")

    async def close(self) -> None:
        """Unbind (briefly waiting for unbind_resp), close the socket, fail what is left.

        Every wait here is bounded (`UNBIND_TIMEOUT_S` each), whatever the SMSC does."""
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
        The body is encoded once; each attempt only puts a new header in front of it.
        """
        s = self.settings
        window = self.window
        body = pdu.encode_body()
        delay = s.throttle_delay
        for attempt in range(s.throttle_retries + 1):
            await window.acquire()
            try:
                sequence = self._next_sequence()
                resp = await self._exchange(
                    sequence, frame(SubmitSm.command_id, sequence, body), "SubmitSm", s.response_timeout
                )
            finally:
                window.release()
            if type(resp) is SubmitSmResp:
                status = resp.command_status
                if not status:
                    window.success()
                    return resp
                if status not in THROTTLE_STATUSES:
                    return resp
            elif isinstance(resp, GenericNack):
                raise ProtocolError(
                    f"submit_sm refused with generic_nack {status_name(resp.command_status)}",
                    channel=s.name,
                )
            else:
                raise ProtocolError(f"submit_sm answered with {type(resp).__name__}", channel=s.name)
            window.shrink()
            if attempt == s.throttle_retries:
                break
            logger.info(
                "smpp %s: %s, window %d, retry in %.2fs",
                s.name,
                status_name(resp.command_status),
                window.size,
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
        return await self._exchange(pdu.sequence_number, encode(pdu), type(pdu).__name__, wait_s)

    async def _exchange(self, sequence: int, data: bytes, what: str, wait_s: float) -> Pdu:
        """Write one request's bytes and wait up to `wait_s` for the response to `sequence`.

        One timer per request sets the timeout on the future (`wait_for` would add a task
        and a second callback to every submit)."""
        if self._failure is not None:
            raise self._failure
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Pdu] = loop.create_future()
        self._pending[sequence] = future
        timer = loop.call_later(wait_s, self._expire, future, what, sequence, wait_s)
        try:
            self._send(data)
            await self._drain_if_full()
            return await future
        finally:
            timer.cancel()
            if self._pending.get(sequence) is future:
                del self._pending[sequence]

    def _expire(self, future: asyncio.Future[Pdu], what: str, sequence: int, wait_s: float) -> None:
        if not future.done():
            future.set_exception(
                ChannelTimeout(
                    f"no answer to {what} #{sequence} within {wait_s}s", channel=self.settings.name
                )
            )

    def _send(self, data: bytes) -> None:
        """Queue bytes for the socket.

        What is queued in one turn of the event loop leaves in one `write` (one system call):
        a window's worth of submits, or the answers to a burst of receipts, go together.
        """
        writer = self._writer
        if writer is None or self._failure is not None:
            raise self._failure or ChannelConnectError("not connected", channel=self.settings.name)
        self._outgoing.append(data)
        if len(self._outgoing) == 1:
            asyncio.get_running_loop().call_soon(self._send_outgoing, writer)

    async def _drain_if_full(self) -> None:
        """Wait only while the SMSC is not reading (more than `WRITE_HIGH_WATER` unsent)."""
        writer = self._writer
        if writer is None or writer.transport.get_write_buffer_size() <= WRITE_HIGH_WATER:
            return
        try:
            await asyncio.wait_for(writer.drain(), self.settings.write_timeout)
        except TimeoutError as exc:
            raise ChannelTimeout("SMSC does not read", channel=self.settings.name) from exc
        except OSError as exc:
            raise ChannelConnectError(
                f"write failed: {exc}", channel=self.settings.name
            ) from exc

    async def _write(self, pdu: Pdu) -> None:
        """Queue one PDU for the socket; wait only while the SMSC is not reading."""
        self._send(encode(pdu))
        await self._drain_if_full()

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
                    self._route(item)
                await self._drain_if_full()  # the answers to this chunk went out together
        except ChannelError as exc:
            error = exc
        except OSError as exc:
            error = ChannelConnectError(f"connection lost: {exc}", channel=self.settings.name)
        self._fail(error)

    def _route(self, item: Pdu | PduRejected) -> None:
        if isinstance(item, PduRejected):
            logger.warning("smpp %s: %s", self.settings.name, item.error)
            self._send(
                encode(
                    GenericNack(
                        sequence_number=item.error.sequence_number or 0,
                        command_status=item.error.command_status,
                    )
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
                self._send(frame(DeliverSmResp.command_id, item.sequence_number, _EMPTY_MESSAGE_ID))
            else:  # the consumer is behind: answer when there is room (the SMSC slows down)
                self._spawn(self._hand_over(item), f"deliver:{item.sequence_number}")
        elif isinstance(item, EnquireLink):
            self._send(encode(EnquireLinkResp(sequence_number=item.sequence_number)))
        elif isinstance(item, Unbind):
            self._send(encode(UnbindResp(sequence_number=item.sequence_number)))
            raise ChannelConnectError("SMSC unbound", channel=self.settings.name)
        elif isinstance(item, UnknownPdu):
            self._send(
                encode(
                    GenericNack(
                        sequence_number=item.sequence_number,
                        command_status=CommandStatus.ESME_RINVCMDID,
                    )
                )
            )
        else:
            self._send(
                encode(
                    GenericNack(
                        sequence_number=item.sequence_number,
                        command_status=CommandStatus.ESME_RINVBNDSTS,
                    )
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
        writer = self._writer
        if writer is not None:
            queued, self._outgoing = b"".join(self._outgoing), []
            if queued and not writer.is_closing():
                writer.write(queued)  # e.g. the unbind_resp or generic_nack before the end
            writer.close()
        self._closed.set()

    async def _abort(self, error: ChannelError | None = None) -> None:
        """Fail the session and stop its tasks, waiting for each at most `UNBIND_TIMEOUT_S`.

        Python 3.11's `wait_for` can swallow a cancellation that lands as its inner wait
        completes, so a task is not trusted to end when cancelled: a bounded wait, then on.
        """
        self._fail(error or ChannelConnectError("bind failed", channel=self.settings.name))
        current = asyncio.current_task()
        tasks = [t for t in self._tasks if t is not current]
        for task in tasks:
            task.cancel()
        if tasks:
            done, stuck = await asyncio.wait(tasks, timeout=UNBIND_TIMEOUT_S)
            for task in done:
                if not task.cancelled():
                    task.exception()  # retrieved: a reader's end is already in `_failure`
            for task in stuck:
                logger.warning("smpp %s: task %s did not stop", self.settings.name, task.get_name())
        if self._writer is not None:
            with contextlib.suppress(OSError, TimeoutError, ssl.SSLError):
                await asyncio.wait_for(self._writer.wait_closed(), UNBIND_TIMEOUT_S)
        self._writer = None
