"""One IMAP connection over aioimaplib: every call bounded, every library error translated.

aioimaplib leaves a command pending forever when the server goes away, so each call
races against a "connection lost" future and a timeout; results come back as values
from `imap_protocol`, errors as `hub.errors`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import Awaitable
from typing import Any, TypeVar

import aioimaplib

from hub.channels.email.imap_protocol import (
    FetchedMessage,
    FolderInfo,
    ImapParseError,
    SelectInfo,
    encode_mailbox,
    parse_fetch,
    parse_list,
    parse_search,
    parse_select,
    quote,
)
from hub.channels.email.server_url import Security, ServerUrl
from hub.errors import (
    ChannelAuthError,
    ChannelConnectError,
    ChannelError,
    ChannelTimeout,
    ProtocolError,
)

logger = logging.getLogger(__name__)

#: A FETCH may stream for a while; it is bounded by this many times the command timeout.
FETCH_TIMEOUT_FACTOR = 6
#: How long LOGOUT may take when closing.
LOGOUT_TIMEOUT_S = 2.0
#: Folder name that aioimaplib's state machine knows after EXAMINE (it only tracks SELECT).
_SELECTED = "SELECTED"

T = TypeVar("T")


class ImapConnection:
    """A logged-in IMAP session with a read-only folder open at a time."""

    CHANNEL = "email"

    def __init__(
        self,
        url: ServerUrl,
        password: str,
        *,
        timeout: float,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.url = url
        self._password = password
        self.timeout = timeout
        self._ssl_context = ssl_context
        self._client: Any = None
        self._lost: asyncio.Future[None] | None = None
        self.capabilities: frozenset[str] = frozenset()
        self.selected: str | None = None

    def _error(self, message: str, cls: type[ChannelError] = ProtocolError) -> ChannelError:
        return cls(f"{message} [{self.url}]", channel=self.CHANNEL)

    def _on_lost(self, exc: Exception | None) -> None:
        if self._lost is not None and not self._lost.done():
            self._lost.set_result(None)

    @property
    def connected(self) -> bool:
        return self._client is not None and self._lost is not None and not self._lost.done()

    async def _call(self, awaitable: Awaitable[T], what: str, limit: float | None = None) -> T:
        """Await one library call, racing the connection's loss and a timeout."""
        assert self._lost is not None
        task: asyncio.Future[T] = asyncio.ensure_future(awaitable)
        lost: asyncio.Future[Any] = self._lost
        try:
            done, _ = await asyncio.wait(
                {task, lost},
                timeout=limit or self.timeout,
                return_when=asyncio.FIRST_COMPLETED,
            )
        except asyncio.CancelledError:
            task.cancel()
            raise
        if task in done:
            try:
                return task.result()
            except (TimeoutError, aioimaplib.CommandTimeout) as exc:
                raise self._error(f"{what}: no answer in time", ChannelTimeout) from exc
            except aioimaplib.Abort as exc:
                raise self._error(f"{what}: {exc}") from exc
            except (OSError, ssl.SSLError) as exc:
                raise self._error(f"{what}: {exc}", ChannelConnectError) from exc
        task.cancel()
        if self._lost.done():
            raise self._error(f"{what}: connection lost", ChannelConnectError)
        raise self._error(f"{what}: no answer in {limit or self.timeout:.0f} s", ChannelTimeout)

    def _check(self, response: Any, what: str) -> Any:
        if response.result != "OK":
            text = b" ".join(bytes(x) for x in response.lines[-1:]).decode("utf-8", "replace")
            raise self._error(f"{what} refused: {response.result} {text}")
        return response

    async def open(self) -> None:
        """Connect, upgrade to TLS when asked, log in; a refused password is `ChannelAuthError`."""
        loop = asyncio.get_running_loop()
        self._lost = loop.create_future()
        tls = self._ssl_context or ssl.create_default_context()
        try:
            if self.url.security is Security.TLS:
                self._client = aioimaplib.IMAP4_SSL(
                    self.url.host, self.url.port, timeout=self.timeout, ssl_context=tls
                )
                self._client.protocol.conn_lost_cb = self._on_lost
            else:
                self._client = aioimaplib.IMAP4(
                    self.url.host, self.url.port, timeout=self.timeout, conn_lost_cb=self._on_lost
                )
            await self._call(self._client.wait_hello_from_server(), "connect")
        except ChannelError as exc:
            await self.close()
            raise ChannelConnectError(str(exc), channel=self.CHANNEL) from exc
        if self.url.security is Security.STARTTLS:
            await self._starttls(tls)
        response = await self._call(self._client.login(self.url.user, self._password), "LOGIN")
        if response.result != "OK":
            await self.close()
            raise self._error(f"login as {self.url.user} refused", ChannelAuthError)
        await self._call(self._client.protocol.capability(), "CAPABILITY")
        self.capabilities = frozenset(c.upper() for c in self._client.protocol.capabilities)
        logger.debug("imap %s: logged in, capabilities %s", self.url, sorted(self.capabilities))

    async def _starttls(self, context: ssl.SSLContext) -> None:
        """STARTTLS, which aioimaplib lists but does not implement: swap the transport."""
        protocol = self._client.protocol
        if "STARTTLS" not in {c.upper() for c in protocol.capabilities}:
            raise self._error("server does not offer STARTTLS", ChannelConnectError)
        command = aioimaplib.Command("STARTTLS", protocol.new_tag(), loop=protocol.loop)
        self._check(await self._call(protocol.execute(command), "STARTTLS"), "STARTTLS")
        loop = asyncio.get_running_loop()
        transport = await self._call(
            loop.start_tls(protocol.transport, protocol, context, server_hostname=self.url.host),
            "TLS handshake",
        )
        protocol.transport = transport
        await self._call(protocol.capability(), "CAPABILITY")

    async def close(self) -> None:
        """Log out politely if possible, then drop the connection."""
        client, self._client = self._client, None
        if client is None:
            return
        try:
            if self._lost is not None and not self._lost.done() and client.protocol.transport:
                await asyncio.wait_for(client.logout(), LOGOUT_TIMEOUT_S)
        except (Exception, asyncio.CancelledError):  # closing: nothing left to report
            pass
        finally:
            transport = client.protocol.transport
            if transport is not None:
                transport.close()
            self._on_lost(None)
            self.selected = None

    async def list_folders(self) -> list[FolderInfo]:
        """Every folder with its flags (SPECIAL-USE flags like ``\\sent`` included)."""
        response = await self._call(self._client.list('""', '"*"'), "LIST")
        try:
            return parse_list(self._check(response, "LIST").lines)
        except ImapParseError as exc:
            raise self._error(f"LIST: {exc}") from exc

    async def examine(self, folder: str) -> SelectInfo:
        """Open `folder` read-only (EXAMINE): capture never changes \\Seen or \\Recent."""
        name = quote(encode_mailbox(folder))
        response = await self._call(self._client.examine(name), f"EXAMINE {folder}")
        self._check(response, f"EXAMINE {folder}")
        self._client.protocol.state = _SELECTED  # aioimaplib only tracks SELECT; UID needs it
        self.selected = folder
        try:
            return parse_select(response.lines)
        except ImapParseError as exc:
            raise self._error(f"EXAMINE {folder}: {exc}") from exc

    async def uid_search(self, *criteria: str) -> list[int]:
        """UIDs matching `criteria` in the open folder."""
        response = await self._call(self._client.uid_search(*criteria, charset=None), "UID SEARCH")
        return parse_search(self._check(response, "UID SEARCH").lines)

    async def uid_fetch(self, uids: str, items: str) -> list[FetchedMessage]:
        """UID FETCH of `items` for the UID set `uids`."""
        response = await self._call(
            self._client.uid("fetch", uids, items),
            "UID FETCH",
            limit=self.timeout * FETCH_TIMEOUT_FACTOR,
        )
        try:
            return parse_fetch(self._check(response, "UID FETCH").lines)
        except ImapParseError as exc:
            raise self._error(f"UID FETCH: {exc}") from exc

    async def append(self, folder: str, raw: bytes, flags: str | None = None) -> None:
        """APPEND a letter to `folder` (a sent copy)."""
        response = await self._call(
            self._client.append(raw, mailbox=quote(encode_mailbox(folder)), flags=flags),
            f"APPEND {folder}",
        )
        self._check(response, f"APPEND {folder}")

    async def wait_for_news(self, seconds: float) -> bool:
        """IDLE up to `seconds`; True when the server announced new mail (EXISTS)."""
        if "IDLE" not in self.capabilities:
            raise self._error("server has no IDLE")
        assert self._lost is not None
        client = self._client
        idle = await self._call(client.idle_start(timeout=seconds + self.timeout), "IDLE")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        news = False
        try:
            while not news and loop.time() < deadline:
                push = asyncio.ensure_future(
                    client.wait_server_push(timeout=deadline - loop.time())
                )
                done, _ = await asyncio.wait(
                    {push, self._lost},
                    timeout=max(0.0, deadline - loop.time()) + 1,
                    return_when=asyncio.FIRST_COMPLETED,
                )
                if push not in done:
                    push.cancel()
                    if self._lost.done():
                        raise self._error("connection lost during IDLE", ChannelConnectError)
                    break
                try:
                    lines = push.result()
                except TimeoutError:
                    break
                news = any(isinstance(x, bytes) and b"EXISTS" in x for x in lines)
        finally:
            if self.connected and client.has_pending_idle():
                client.idle_done()
                with contextlib.suppress(ChannelError):
                    await self._call(idle, "IDLE DONE")
        return news
