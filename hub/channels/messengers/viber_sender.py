"""Sending through a Viber bot (``send_message``), its webhook inbox, its webhook registration.

`ViberSender` (``SENDERS["viber:NAME"]``) sends to one `AddressKind.VIBER` address (the
user id Viber gave the client). The outgoing touch (queued, key ``out-<our id>``) is
committed before Viber is called, with ``X-Viber-Auth-Token``; Viber answers HTTP 200 with
``{"status": 0, "message_token": …}`` or another status: 2 (token refused) is a
`ChannelAuthError`, 12 (too many requests) `RateLimited`; 5, 6 and 11 (not registered, not
subscribed, no device that takes it) mark the user unreachable and fail the send; the rest
fail it.

Viber's delivered/seen/failed callbacks name a message by its ``message_token`` only, so
the sender leaves a checkpoint ``sent:<message_token>`` → our touch key with the sent touch,
and the inbox turns each status into a `StatusUpdate` of the touch it names.

`ViberApi.register` is set_webhook (Viber then posts a ``webhook`` callback to our URL);
`ViberApi.probe`, get_account_info, tells health whether Viber holds our webhook.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import aiohttp

from hub.channels.messengers.http_sender import HttpSender
from hub.channels.messengers.viber_payload import ViberCallback, source_of, token_key
from hub.channels.messengers.webhook_inbox import WebhookInbox
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
    Checkpoint,
    Direction,
    IdentityUpdate,
    OutgoingMessage,
    RecipientResult,
    SendOutcome,
    SendResult,
    Sink,
    Status,
    StatusUpdate,
    Touch,
    utcnow,
)

AUTH_HEADER = "X-Viber-Auth-Token"
OK = 0
INVALID_TOKEN = 2
TOO_MANY_REQUESTS = 12
#: receiverNotRegistered, receiverNotSubscribed, receiverNoSuitableDevice.
UNREACHABLE = frozenset({5, 6, 11})
#: Callbacks we ask Viber for besides messages (which always come).
EVENT_TYPES = ("delivered", "seen", "failed", "subscribed", "unsubscribed", "conversation_started")
#: Viber's limit on a text message.
MAX_TEXT = 7000
#: Seconds to wait when Viber says too many requests (it does not say how long).
DEFAULT_RETRY_AFTER_S = 60.0


def callback_inbox(source: str, sink: Sink | None, size: int) -> WebhookInbox[ViberCallback]:
    """The webhook inbox of a bot: callbacks parsed by the request; statuses matched to our
    touches through the ``sent:<message_token>`` checkpoints."""

    async def write(callbacks: Sequence[ViberCallback], sink: Sink) -> Mapping[str, object]:
        for callback in callbacks:
            for item in callback.items:
                await sink.put(item)
            status = callback.status
            if status is not None:
                ours = await sink.load_checkpoint(source, token_key(status.message_token))
                await sink.put(
                    StatusUpdate(
                        source=source,
                        external_id=ours or status.message_token,
                        status=status.status,
                        at=status.at,
                        detail=status.detail,
                    )
                )
        return {}

    return WebhookInbox(source=source, sink=sink, size=size, write=write)


@dataclass(frozen=True, slots=True, kw_only=True)
class ViberApi:
    """Calls of the Viber REST bot API with one bot's token."""

    source: str
    api_url: str
    auth_token: str
    timeout_s: float
    webhook_url: str | None = None

    async def call(self, http: aiohttp.ClientSession, method: str, payload: Mapping[str, Any]) -> Mapping[str, Any]:
        """``POST {api_url}/{method}``; Viber's JSON answer (status 2 raises)."""
        try:
            async with http.post(
                f"{self.api_url}/{method}", json=dict(payload), headers={AUTH_HEADER: self.auth_token}
            ) as response:
                code = response.status
                body = await response.json(content_type=None)
        except TimeoutError as exc:
            raise ChannelTimeout(f"Viber did not answer {method}", channel=self.source) from exc
        except (aiohttp.ClientError, ValueError) as exc:
            raise ChannelConnectError(f"Viber not reachable: {exc}", channel=self.source) from exc
        if code != 200 or not isinstance(body, Mapping):
            raise ChannelConnectError(f"Viber answered HTTP {code}", channel=self.source)
        if body.get("status") == INVALID_TOKEN:
            raise ChannelAuthError(f"Viber refused the auth token: {body.get('status_message')}", channel=self.source)
        return body

    async def _once(self, method: str, payload: Mapping[str, Any]) -> Mapping[str, Any]:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout_s)) as http:
            return await self.call(http, method, payload)

    async def register(self) -> None:
        """set_webhook with our URL (Viber checks it with a ``webhook`` callback first)."""
        if self.webhook_url is None:
            return
        payload = {"url": self.webhook_url, "event_types": list(EVENT_TYPES), "send_name": True, "send_photo": False}
        body = await self._once("set_webhook", payload)
        if body.get("status") != OK:
            raise ChannelConnectError(
                f"Viber refused set_webhook: {body.get('status')} {body.get('status_message')}", channel=self.source
            )

    async def probe(self) -> bool | None:
        """get_account_info: whether Viber posts to our URL (to any URL when we have none)."""
        body = await self._once("get_account_info", {})
        if body.get("status") != OK:
            raise ChannelConnectError(
                f"Viber refused get_account_info: {body.get('status')} {body.get('status_message')}",
                channel=self.source,
            )
        webhook = body.get("webhook")
        if self.webhook_url is not None:
            return webhook == self.webhook_url
        return bool(webhook)


class ViberSender(HttpSender[ViberCallback]):
    """A `Sender` over one Viber bot."""

    def __init__(
        self,
        *,
        account: str,
        api: ViberApi,
        inbox: WebhookInbox[ViberCallback],
        sender_name: str,
        sender_avatar: str | None,
        sink: Sink | None,
        max_age_s: float,
    ) -> None:
        super().__init__(source=source_of(account), inbox=inbox, sink=sink, timeout_s=api.timeout_s)
        self.account = account
        self.api = api
        self.sender_name = sender_name
        self.sender_avatar = sender_avatar
        self.max_age_s = max_age_s

    def _validate(self, message: OutgoingMessage) -> str:
        if message.channel is not Channel.MESSENGER:
            raise ValidationError(f"{message.channel} message given to Viber", field="channel")
        if len(message.to) != 1 or message.to[0].kind is not AddressKind.VIBER:
            raise ValidationError("a Viber message goes to exactly one Viber user", field="to")
        if not message.body.strip():
            raise ValidationError("a Viber message needs a text", field="body")
        if len(message.body) > MAX_TEXT:
            raise ValidationError(f"a Viber message holds at most {MAX_TEXT} characters", field="body")
        return message.to[0].value.strip()

    async def send(self, message: OutgoingMessage) -> SendResult:
        """Record the touch (queued), send_message, record Viber's answer."""
        user = self._validate(message)
        ours = message.message_id or uuid.uuid4().hex
        touch = Touch(
            source=self.source,
            external_id=f"out-{ours}",
            channel=Channel.MESSENGER,
            direction=Direction.OUT,
            status=Status.QUEUED,
            occurred_at=utcnow(),
            counterparts=message.to,
            employee=message.sender,
            preview=message.body,
            thread_key=f"{self.source}:{user}",
            metadata={**message.metadata, "platform": "viber", "account": self.account},
        )
        await self._queued(touch)  # committed before Viber sees it
        sender: dict[str, str] = {"name": self.sender_name}
        if self.sender_avatar:
            sender["avatar"] = self.sender_avatar
        payload = {
            "receiver": user,
            "min_api_version": 1,
            "sender": sender,
            "tracking_data": touch.external_id,
            "type": "text",
            "text": message.body,
        }
        try:
            body = await self.api.call(self._http(), "send_message", payload)
        except ChannelTimeout as exc:  # may have been sent: left queued, not sent twice
            exc.external_id = touch.external_id
            raise
        except (ChannelConnectError, ChannelAuthError) as exc:
            await self._put(self._failed(touch, f"not sent: {exc}"))
            exc.external_id = touch.external_id
            raise
        if body.get("status") == OK:
            token = str(body.get("message_token"))
            done = replace(touch, status=Status.SENT, metadata={**touch.metadata, "message_token": token})
            await self._put(done, Checkpoint(source=self.source, key=token_key(token), value=touch.external_id))
            return SendResult(
                outcome=SendOutcome.SENT,
                external_id=touch.external_id,
                recipients=(RecipientResult(address=message.to[0], outcome=SendOutcome.SENT),),
                touch=done,
            )
        return await self._refused(message, touch, body)

    async def _refused(self, message: OutgoingMessage, touch: Touch, body: Mapping[str, Any]) -> SendResult:
        code = body.get("status")
        words = f"{code} {body.get('status_message') or ''}".strip()
        await self._put(self._failed(touch, f"refused: {words}"))
        if code == TOO_MANY_REQUESTS:
            raise RateLimited(
                f"Viber asks to slow down: {words}",
                retry_after=DEFAULT_RETRY_AFTER_S,
                channel=self.source,
                external_id=touch.external_id,
            )
        if code in UNREACHABLE:
            await self._put(
                IdentityUpdate(
                    source=self.source, address=message.to[0], at=utcnow(), unreachable=True, detail=f"Viber {words}"
                )
            )
        reason = f"Viber refused ({words})"
        return SendResult(
            outcome=SendOutcome.PERMANENT_FAILURE,
            external_id=touch.external_id,
            code=code if isinstance(code, int) else None,
            reason=reason,
            recipients=(RecipientResult(address=message.to[0], outcome=SendOutcome.PERMANENT_FAILURE, reason=reason),),
            touch=touch,
        )
