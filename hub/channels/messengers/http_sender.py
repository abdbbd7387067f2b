"""What the senders over an HTTP bot API share (WhatsApp, VK, Viber): their client session.

A platform's sender keeps only its request and the mapping of the platform's answer; this
base owns the rest: one `aiohttp.ClientSession`, made on the first send with the account's
timeout (again after it was closed), the webhook inbox beside it, the sink the touches go
to, and `close()`, which drains the inbox and closes the session.
"""

from __future__ import annotations

from typing import Generic, TypeVar

import aiohttp

from hub.channels.messengers.webhook_inbox import WebhookInbox
from hub.model import Channel, Sink, SinkItem, Status, StatusUpdate, Touch, utcnow

T = TypeVar("T")


class HttpSender(Generic[T]):
    """A messenger `Sender` that calls its platform over HTTP; `T` is its inbox's deliveries."""

    channel = Channel.MESSENGER

    def __init__(
        self, *, source: str, inbox: WebhookInbox[T], sink: Sink | None, timeout_s: float
    ) -> None:
        self.source = source
        self.inbox = inbox
        self.sink = sink
        self.timeout_s = timeout_s
        self._session: aiohttp.ClientSession | None = None

    def _http(self) -> aiohttp.ClientSession:
        """The session every call goes through, each call bounded by `timeout_s`."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.timeout_s)
            )
        return self._session

    async def close(self) -> None:
        await self.inbox.close()
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _queued(self, touch: Touch) -> None:
        """Record the outgoing touch and commit it before the platform is called."""
        if self.sink is not None:
            await self.sink.put(touch)
            await self.sink.flush()

    async def _put(self, *items: SinkItem) -> None:
        if self.sink is not None:
            for item in items:
                await self.sink.put(item)

    def _failed(self, touch: Touch, detail: str) -> StatusUpdate:
        return StatusUpdate(
            source=self.source,
            external_id=touch.external_id,
            status=Status.FAILED,
            at=utcnow(),
            detail=detail,
        )
