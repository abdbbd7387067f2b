"""Asyncio AMI client: login, ActionID correlation, list actions, keep-alive, event stream.

Our own transport rather than pyst2 (one byte per read, threads) or panoramisk (decodes
chunks before splitting): see docs/decisions/0002-ami-transport.md. All protocol work is in
the sans-IO `AmiParser`; this module owns the socket, timeouts and futures only.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import logging
import re
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import unquote, urlsplit

from hub.errors import (
    ChannelAuthError,
    ChannelConnectError,
    ChannelError,
    ChannelTimeout,
    ConfigError,
    ProtocolError,
)
from hub.telephony.ami_protocol import (
    DEFAULT_FALLBACK_ENCODING,
    AmiBanner,
    AmiGarbage,
    AmiItem,
    AmiMessage,
    AmiParser,
    encode_action,
)

logger = logging.getLogger(__name__)

DEFAULT_PORT = 5038
CONNECT_TIMEOUT_S = 10.0
LOGIN_TIMEOUT_S = 10.0
ACTION_TIMEOUT_S = 10.0
LIST_ACTION_TIMEOUT_S = 30.0
PING_INTERVAL_S = 20.0
PING_TIMEOUT_S = 10.0
CLOSE_TIMEOUT_S = 2.0
READ_CHUNK_BYTES = 65_536
#: Events buffered between the socket and the consumer; a full queue stops reading (back-pressure).
EVENT_QUEUE_SIZE = 10_000
#: Event classes asked for at login: calls, queues, VarSet (MixMonitor file), restarts.
DEFAULT_EVENT_MASK = "call,agent,dialplan,system"
#: Whitelist filters sent with `Action: Filter` so Newexten/VarSet noise stays on the PBX.
#: Events the client itself passes on even when the consumer asked for a subset.
CLIENT_EVENTS = frozenset({"FullyBooted", "Shutdown", "Reload"})

#: The header whose value a `VarSet` filter keys on (only MixMonitor's file name is read).
VARSET_FILTER = "Variable: MIXMONITOR_FILENAME"


def event_filters_for(events: Iterable[str]) -> tuple[str, ...]:
    """AMI `Filter` whitelist that lets `events` (and the client's own) through.

    Derived from the handlers that read events, so a feature that waits for an event
    (click-to-call's `OriginateResponse`) cannot be filtered away by a hand-kept list.
    `VarSet` is asked for by its variable only: a PBX sends thousands of others.
    """
    names = sorted((set(events) | CLIENT_EVENTS) - {"VarSet"})
    filters = [f"Event: ({'|'.join(re.escape(n) for n in names)})"]
    if "VarSet" in events:
        filters.append(VARSET_FILTER)
    return tuple(filters)


AuthKind = Literal["md5", "plain"]


class AmiActionError(ChannelError):
    """Asterisk answered an action with `Response: Error`."""

    def __init__(self, message: str, *, response: AmiMessage, channel: str | None = None) -> None:
        super().__init__(message, channel=channel)
        self.response = response


@dataclass(frozen=True, slots=True, kw_only=True)
class AmiEndpoint:
    """Where and as whom to log in; the secret never appears in repr or logs."""

    host: str
    port: int = DEFAULT_PORT
    username: str
    secret: str = field(repr=False)
    auth: AuthKind = "md5"

    @classmethod
    def from_url(cls, url: str, secret: str, *, auth: AuthKind = "md5") -> AmiEndpoint:
        """Parse `ami://USER@HOST:PORT` (config form); the secret comes separately."""
        parts = urlsplit(url)
        if parts.scheme != "ami" or not parts.hostname or not parts.username:
            raise ConfigError(f"telephony ami = {url!r}: expected ami://USER@HOST:PORT")
        try:
            port = parts.port or DEFAULT_PORT
        except ValueError as exc:
            raise ConfigError(f"telephony ami = {url!r}: bad port") from exc
        return cls(
            host=parts.hostname,
            port=port,
            username=unquote(parts.username),
            secret=secret,
            auth=auth,
        )

    def __str__(self) -> str:
        return f"ami://{self.username}@{self.host}:{self.port}"


class _ListCollector:
    """Gathers the events of one list action until its `EventList: Complete`."""

    __slots__ = ("done", "items")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.items: list[AmiMessage] = []
        self.done: asyncio.Future[list[AmiMessage]] = loop.create_future()


class AmiClient:
    """One logged-in AMI connection: `connect()`, `action()`, `events()`, `close()`."""

    def __init__(
        self,
        endpoint: AmiEndpoint,
        *,
        name: str = "ami",
        event_mask: str = DEFAULT_EVENT_MASK,
        event_filters: tuple[str, ...] = (),
        fallback_encoding: str = DEFAULT_FALLBACK_ENCODING,
        connect_timeout: float = CONNECT_TIMEOUT_S,
        action_timeout: float = ACTION_TIMEOUT_S,
        ping_interval: float = PING_INTERVAL_S,
        ping_timeout: float = PING_TIMEOUT_S,
        queue_size: int = EVENT_QUEUE_SIZE,
        wanted_events: frozenset[str] | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.name = name
        self.banner: str | None = None
        self._event_mask = event_mask
        self._event_filters = event_filters
        self._parser = AmiParser(
            fallback_encoding=fallback_encoding,
            wanted_events=None if wanted_events is None else wanted_events | CLIENT_EVENTS,
        )
        self._connect_timeout = connect_timeout
        self._action_timeout = action_timeout
        self._ping_interval = ping_interval
        self._ping_timeout = ping_timeout
        self._queue: asyncio.Queue[AmiItem | None] = asyncio.Queue(maxsize=queue_size)
        self._ids = itertools.count(1)
        self._prefix = f"th-{id(self):x}-"
        self._responses: dict[str, asyncio.Future[AmiMessage]] = {}
        self._lists: dict[str, _ListCollector] = {}
        self._waiters: dict[str, asyncio.Future[AmiMessage]] = {}
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._banner: asyncio.Future[str] | None = None
        self._failure: ChannelError | None = None
        self._closed = False
        self._closing = False

    # ------------------------------------------------------------- lifecycle

    @property
    def connected(self) -> bool:
        """True while the connection is up and logged in."""
        return self._writer is not None and self._failure is None and not self._closed

    async def connect(self) -> None:
        """Open the socket, read the banner, log in and start the reader and keep-alive."""
        where = f"{self.endpoint.host}:{self.endpoint.port}"
        try:
            self._reader, self._writer = await asyncio.wait_for(
                asyncio.open_connection(self.endpoint.host, self.endpoint.port),
                self._connect_timeout,
            )
        except TimeoutError as exc:
            raise ChannelTimeout(
                f"AMI at {where} did not accept a connection within {self._connect_timeout}s",
                channel=self.name,
            ) from exc
        except OSError as exc:
            raise ChannelConnectError(
                f"cannot connect to AMI at {where}: {exc.strerror or exc}", channel=self.name
            ) from exc
        loop = asyncio.get_running_loop()
        self._banner = loop.create_future()
        self._tasks.append(asyncio.create_task(self._read_loop(), name=f"{self.name}:reader"))
        try:
            self.banner = await asyncio.wait_for(asyncio.shield(self._banner), LOGIN_TIMEOUT_S)
            await self._login()
        except TimeoutError as exc:
            await self.close()
            raise ChannelTimeout(
                f"AMI at {where} sent no banner or login answer", channel=self.name
            ) from exc
        except BaseException:
            await self.close()
            raise
        await self._install_filters()
        if self._ping_interval > 0:
            self._tasks.append(asyncio.create_task(self._ping_loop(), name=f"{self.name}:ping"))
        logger.info("%s: logged in to %s (%s)", self.name, self.endpoint, self.banner)

    async def _login(self) -> None:
        ep = self.endpoint
        fields: dict[str, str] = {"Username": ep.username, "Events": self._event_mask}
        if ep.auth == "md5":
            challenge = await self.action("Challenge", {"AuthType": "MD5"}, check=False)
            if challenge.response != "Success" or not challenge.get("Challenge"):
                raise ProtocolError(
                    f"AMI did not give an MD5 challenge: {challenge.get('Message')}",
                    channel=self.name,
                )
            key = hashlib.md5(
                (challenge.headers["Challenge"] + ep.secret).encode(), usedforsecurity=False
            ).hexdigest()
            fields.update({"AuthType": "MD5", "Key": key})
        else:
            fields["Secret"] = ep.secret
        answer = await self.action("Login", fields, check=False)
        if answer.response != "Success":
            raise ChannelAuthError(
                f"AMI at {ep.host}:{ep.port} refused login for user {ep.username!r}: "
                f"{answer.get('Message') or answer.response}",
                channel=self.name,
            )

    async def _install_filters(self) -> None:
        for expression in self._event_filters:
            try:
                await self.action("Filter", {"Operation": "Add", "Filter": expression})
            except AmiActionError as exc:
                logger.warning(
                    "%s: event filter not accepted (%s); taking every event", self.name, exc
                )
                return

    async def close(self) -> None:
        """Log off (best effort), close the socket and stop the tasks."""
        if self._closed:
            return
        self._closing = True
        if self._writer is not None and self._failure is None and self.banner is not None:
            with contextlib.suppress(ChannelError, OSError, TimeoutError):
                await self.action("Logoff", time_limit=CLOSE_TIMEOUT_S, check=False)
        self._closed = True
        self._fail(ChannelConnectError("AMI connection closed", channel=self.name))
        current = asyncio.current_task()
        for task in self._tasks:
            if task is not current:
                task.cancel()
        for task in self._tasks:
            if task is not current:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await asyncio.wait_for(task, CLOSE_TIMEOUT_S)
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(OSError, TimeoutError):
                await asyncio.wait_for(self._writer.wait_closed(), CLOSE_TIMEOUT_S)

    async def __aenter__(self) -> AmiClient:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # --------------------------------------------------------------- actions

    def _next_id(self) -> str:
        return f"{self._prefix}{next(self._ids)}"

    async def _send(self, name: str, fields: Mapping[str, str | list[str]], action_id: str) -> None:
        if self._writer is None or self._failure is not None:
            raise self._failure or ChannelConnectError("AMI not connected", channel=self.name)
        self._writer.write(encode_action(name, {**fields, "ActionID": action_id}))
        try:
            await asyncio.wait_for(self._writer.drain(), self._action_timeout)
        except (OSError, TimeoutError) as exc:
            raise ChannelConnectError(f"AMI write failed: {exc}", channel=self.name) from exc

    async def action(
        self,
        name: str,
        fields: Mapping[str, str | list[str]] | None = None,
        *,
        time_limit: float | None = None,
        check: bool = True,
        action_id: str | None = None,
    ) -> AmiMessage:
        """Send an action and return its response; `Response: Error` raises AmiActionError."""
        action_id = action_id or self._next_id()
        future: asyncio.Future[AmiMessage] = asyncio.get_running_loop().create_future()
        self._responses[action_id] = future
        try:
            await self._send(name, fields or {}, action_id)
            answer = await asyncio.wait_for(future, time_limit or self._action_timeout)
        except TimeoutError as exc:
            raise ChannelTimeout(f"AMI did not answer {name} in time", channel=self.name) from exc
        finally:
            self._responses.pop(action_id, None)
        if check and answer.response not in ("Success", "Follows", "Goodbye"):
            raise AmiActionError(
                f"AMI refused {name}: {answer.get('Message') or answer.response}",
                response=answer,
                channel=self.name,
            )
        return answer

    async def list_action(
        self,
        name: str,
        fields: Mapping[str, str | list[str]] | None = None,
        *,
        time_limit: float = LIST_ACTION_TIMEOUT_S,
    ) -> list[AmiMessage]:
        """Send a list action (CoreShowChannels …) and return its events up to `…Complete`."""
        action_id = self._next_id()
        collector = _ListCollector(asyncio.get_running_loop())
        self._lists[action_id] = collector
        try:
            answer = await self.action(name, fields, time_limit=time_limit, action_id=action_id)
            if (answer.get("EventList") or "").lower() != "start":
                return []
            return await asyncio.wait_for(collector.done, time_limit)
        except TimeoutError as exc:
            raise ChannelTimeout(
                f"AMI did not finish the {name} list in time", channel=self.name
            ) from exc
        finally:
            self._lists.pop(action_id, None)

    def expect_event(self, action_id: str) -> asyncio.Future[AmiMessage]:
        """A future for the event that will carry `action_id` (e.g. OriginateResponse)."""
        future: asyncio.Future[AmiMessage] = asyncio.get_running_loop().create_future()
        self._waiters[action_id] = future
        future.add_done_callback(lambda _f: self._waiters.pop(action_id, None))
        return future

    def new_action_id(self) -> str:
        """A fresh ActionID for callers that must register a waiter before sending."""
        return self._next_id()

    # ---------------------------------------------------------------- events

    async def next_event(self) -> AmiItem:
        """The next unsolicited event (or garbage); raises once the connection is gone."""
        if self._queue.empty() and self._failure is not None:
            raise self._failure
        item = await self._queue.get()
        if item is None:
            raise self._failure or ChannelConnectError("AMI connection closed", channel=self.name)
        return item

    async def events(self) -> AsyncIterator[AmiItem]:
        """Iterate unsolicited events until the connection ends (then raise why)."""
        while True:
            yield await self.next_event()

    # ---------------------------------------------------------------- reader

    async def _read_loop(self) -> None:
        assert self._reader is not None
        try:
            while True:
                data = await self._reader.read(READ_CHUNK_BYTES)
                if not data:
                    self._fail(
                        ChannelConnectError("AMI connection closed by the PBX", channel=self.name)
                    )
                    return
                for item in self._parser.feed(data):
                    await self._route(item)
        except asyncio.CancelledError:
            raise
        except OSError as exc:
            self._fail(ChannelConnectError(f"AMI connection lost: {exc}", channel=self.name))
        except Exception as exc:  # a bug must not leave waiters hanging
            logger.exception("%s: reader failed", self.name)
            self._fail(ProtocolError(f"AMI reader failed: {exc!r}", channel=self.name))

    async def _route(self, item: AmiItem) -> None:
        if isinstance(item, AmiBanner):
            if self._banner is not None and not self._banner.done():
                self._banner.set_result(item.text)
            else:
                logger.warning("%s: second banner %r mid-stream", self.name, item.text)
            return
        if isinstance(item, AmiGarbage):
            await self._queue.put(item)
            return
        headers = item.headers
        action_id = headers.get("ActionID")
        is_event = "Event" in headers
        if action_id is not None:
            if not is_event:
                future = self._responses.get(action_id)
                if future is not None and not future.done():
                    future.set_result(item)
                    collector = self._lists.get(action_id)
                    if collector is not None and item.response != "Success":
                        collector.done.set_result([])
                return
            collector = self._lists.get(action_id)
            if collector is not None:
                if (headers.get("EventList") or "").lower() == "complete":
                    if not collector.done.done():
                        collector.done.set_result(collector.items)
                else:
                    collector.items.append(item)
                return
            waiter = self._waiters.get(action_id)
            if waiter is not None and not waiter.done():
                waiter.set_result(item)  # and on to the stream: the calls need it too
        if is_event:
            await self._queue.put(item)

    async def _ping_loop(self) -> None:
        while True:
            await asyncio.sleep(self._ping_interval)
            if self._queue.full():
                continue  # we are the slow side; the reader is parked on back-pressure
            try:
                await self.action("Ping", time_limit=self._ping_timeout, check=False)
            except ChannelTimeout:
                if self._queue.full():
                    continue
                self._fail(
                    ChannelTimeout(
                        f"AMI did not answer Ping within {self._ping_timeout}s", channel=self.name
                    )
                )
                if self._writer is not None:
                    self._writer.transport.abort()
                return
            except ChannelError:
                return

    def _fail(self, error: ChannelError) -> None:
        """Record why the connection ended and release everyone waiting on it."""
        if self._failure is None:
            self._failure = error
            if not self._closing:
                logger.warning("%s: %s", self.name, error)
        for future in [*self._responses.values(), *self._waiters.values()]:
            if not future.done():
                future.set_exception(self._failure)
        for collector in self._lists.values():
            if not collector.done.done():
                collector.done.set_exception(self._failure)
        if self._banner is not None and not self._banner.done():
            self._banner.set_exception(self._failure)
        if not self._queue.full():  # when full, the consumer sees the end once it drains
            self._queue.put_nowait(None)
