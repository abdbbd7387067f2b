"""Sending as a VK community (``messages.send``), its webhook inbox and its health probe.

`VkSender` (``SENDERS["vk:NAME"]``) sends to one `AddressKind.VK` address (the peer id).
Like the other senders, the outgoing touch (queued) is committed before VK is called. Its
key is ``<peer_id>:r<random_id>``: the ``random_id`` every ``messages.send`` must carry
is derived from our message id, so VK itself drops a repeated call (a retry after error 6,
a resend after a timeout), and the ``message_reply`` event VK posts for the message we
sent lands on the touch already recorded instead of a second one.

VK answers HTTP 200 with ``{"response": <message id>}`` or ``{"error": {"error_code",
"error_msg"}}``: 6 (too many requests per second) is retried with backoff up to
`max_attempts`, then `RateLimited`; 5 (the token refused) is a `ChannelAuthError`; 901 and
902 (the user does not allow messages from the community) mark the peer unreachable and
fail the send for good; anything else fails it.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import aiohttp

from hub.backoff import BackoffPolicy
from hub.channels.messengers.http_sender import HttpSender
from hub.channels.messengers.vk_payload import VkEvent, outgoing_id, source_of
from hub.channels.messengers.webhook_inbox import WebhookInbox, put_items
from hub.errors import (
    ChannelAuthError,
    ChannelConnectError,
    ChannelTimeout,
    RateLimited,
    ValidationError,
)
from hub.model import (
    AddressKind,
    Channel,
    Direction,
    IdentityUpdate,
    OutgoingMessage,
    RecipientResult,
    SendOutcome,
    SendResult,
    Sink,
    Status,
    Touch,
    utcnow,
)

#: Checkpoint key the confirmation event leaves for health: VK has our server.
CONFIRMED_KEY = "confirmed"
TOO_MANY_REQUESTS = 6
AUTH_FAILED = 5
#: "Can't send messages for users without permission", "… due to their privacy settings".
CANNOT_SEND = frozenset({901, 902})
#: VK's limit on one message's text.
MAX_TEXT = 4096


@dataclass(frozen=True, slots=True, kw_only=True)
class CommunityHooks:
    """What the webhook of one community checks: the group, its secret, what it answers."""

    account: str
    group_id: int
    secret: str
    confirmation: str

    @property
    def source(self) -> str:
        return source_of(self.account)


def random_id_of(ours: str) -> int:
    """The ``random_id`` of our message `ours`: a positive int32, the same on every try."""
    return int.from_bytes(hashlib.sha256(ours.encode()).digest()[:4], "big") & 0x7FFFFFFF or 1


def event_inbox(hooks: CommunityHooks, sink: Sink | None, size: int) -> WebhookInbox[VkEvent]:
    """The webhook inbox of a community: events already parsed by the request."""
    return WebhookInbox(source=hooks.source, sink=sink, size=size, write=put_items)


@dataclass(frozen=True, slots=True, kw_only=True)
class VkApi:
    """Calls of the VK API with one token and version."""

    source: str
    api_url: str
    access_token: str
    version: str
    timeout_s: float

    async def call(self, http: aiohttp.ClientSession, method: str, params: Mapping[str, Any]) -> Any:
        """``POST {api_url}/{method}``; VK's JSON answer (``response`` or ``error``)."""
        data = {**{k: str(v) for k, v in params.items()}, "access_token": self.access_token, "v": self.version}
        try:
            async with http.post(f"{self.api_url}/{method}", data=data) as response:
                status = response.status
                body = await response.json(content_type=None)
        except TimeoutError as exc:
            raise ChannelTimeout(f"VK API did not answer {method}", channel=self.source) from exc
        except (aiohttp.ClientError, ValueError) as exc:
            raise ChannelConnectError(f"VK API not reachable: {exc}", channel=self.source) from exc
        if status != 200 or not isinstance(body, Mapping):
            raise ChannelConnectError(f"VK API answered HTTP {status}", channel=self.source)
        return body

    async def probe(self) -> bool | None:
        """``groups.getById`` with the token: refused → `ChannelAuthError`."""
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout_s)) as http:
            body = await self.call(http, "groups.getById", {})
        error = body.get("error")
        if isinstance(error, Mapping):
            words = f"{error.get('error_code')} {error.get('error_msg')}"
            if error.get("error_code") == AUTH_FAILED:
                raise ChannelAuthError(f"VK refused the community token: {words}", channel=self.source)
            raise ChannelConnectError(f"VK API refused groups.getById: {words}", channel=self.source)
        return None


class VkSender(HttpSender[VkEvent]):
    """A `Sender` over one VK community."""

    def __init__(
        self,
        *,
        hooks: CommunityHooks,
        inbox: WebhookInbox[VkEvent],
        api: VkApi | None,
        sink: Sink | None,
        timeout_s: float,
        max_attempts: int,
        retry: BackoffPolicy,
    ) -> None:
        super().__init__(source=hooks.source, inbox=inbox, sink=sink, timeout_s=timeout_s)
        self.hooks = hooks
        self.api = api
        self.max_attempts = max_attempts
        self.retry = retry

    def _validate(self, message: OutgoingMessage) -> tuple[int, VkApi]:
        if message.channel is not Channel.MESSENGER:
            raise ValidationError(f"{message.channel} message given to VK", field="channel")
        if len(message.to) != 1 or message.to[0].kind is not AddressKind.VK:
            raise ValidationError("a VK message goes to exactly one VK peer", field="to")
        peer = message.to[0].value.strip()
        if not peer.lstrip("-").isdigit():
            raise ValidationError(f"{peer!r} is not a VK peer id", field="to")
        if not message.body.strip():
            raise ValidationError("a VK message needs a text", field="body")
        if len(message.body) > MAX_TEXT:
            raise ValidationError(f"a VK message holds at most {MAX_TEXT} characters", field="body")
        if self.api is None:
            raise ValidationError(f"vk {self.hooks.account} has no access_token: it cannot send", field="channel")
        return int(peer), self.api

    async def send(self, message: OutgoingMessage) -> SendResult:
        """Record the touch (queued), ``messages.send`` with its random_id, record VK's answer."""
        peer, api = self._validate(message)
        random_id = random_id_of(message.message_id or uuid.uuid4().hex)
        touch = Touch(
            source=self.source,
            external_id=outgoing_id(peer, random_id),
            channel=Channel.MESSENGER,
            direction=Direction.OUT,
            status=Status.QUEUED,
            occurred_at=utcnow(),
            counterparts=message.to,
            employee=message.sender,
            preview=message.body,
            thread_key=f"{self.source}:{peer}",
            metadata={**message.metadata, "platform": "vk", "account": self.hooks.account, "peer_id": peer},
        )
        await self._queued(touch)  # committed before VK sees it
        params = {"peer_id": peer, "message": message.body, "random_id": random_id}
        backoff = self.retry.start()
        attempt = 0
        while True:
            attempt += 1
            try:
                body = await api.call(self._http(), "messages.send", params)
            except ChannelTimeout as exc:  # may have been sent: left queued; random_id keeps a resend single
                exc.external_id = touch.external_id
                raise
            except ChannelConnectError as exc:
                await self._put(self._failed(touch, f"not sent: {exc}"))
                exc.external_id = touch.external_id
                raise
            error = body.get("error")
            if not isinstance(error, Mapping):
                break
            code = error.get("error_code")
            if code == TOO_MANY_REQUESTS and attempt < self.max_attempts:
                await asyncio.sleep(backoff.next_delay())
                continue
            return await self._refused(message, touch, error, attempt)
        done = replace(touch, status=Status.SENT, metadata={**touch.metadata, "vk_message_id": body.get("response")})
        await self._put(done)
        return SendResult(
            outcome=SendOutcome.SENT,
            external_id=touch.external_id,
            recipients=(RecipientResult(address=message.to[0], outcome=SendOutcome.SENT),),
            attempts=attempt,
            touch=done,
        )

    async def _refused(
        self, message: OutgoingMessage, touch: Touch, error: Mapping[str, Any], attempts: int
    ) -> SendResult:
        code = error.get("error_code")
        words = f"{code} {error.get('error_msg') or ''}".strip()
        await self._put(self._failed(touch, f"refused: {words}"))
        if code == AUTH_FAILED:
            raise ChannelAuthError(f"VK refused the community token: {words}", channel=self.source)
        if code == TOO_MANY_REQUESTS:
            raise RateLimited(
                f"VK asks to slow down ({attempts} attempts): {words}",
                retry_after=self.retry.max_s,
                channel=self.source,
                external_id=touch.external_id,
            )
        if code in CANNOT_SEND:
            await self._put(
                IdentityUpdate(
                    source=self.source, address=message.to[0], at=utcnow(), unreachable=True, detail=f"VK {words}"
                )
            )
        outcome = SendOutcome.TEMPORARY_FAILURE if code == 10 else SendOutcome.PERMANENT_FAILURE
        reason = f"VK refused ({words})"
        return SendResult(
            outcome=outcome,
            external_id=touch.external_id,
            code=code if isinstance(code, int) else None,
            reason=reason,
            recipients=(RecipientResult(address=message.to[0], outcome=outcome, reason=reason),),
            attempts=attempts,
            touch=touch,
        )
