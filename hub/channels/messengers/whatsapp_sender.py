"""Sending through the WhatsApp Cloud API, and the number's webhook inbox.

`WhatsAppSender` (``SENDERS["whatsapp:NAME"]``) sends to one `AddressKind.WHATSAPP` address
(the client's number). WhatsApp's customer-service window is kept here, before anything is
recorded: free text only within 24 hours of the client's last message (the
``window:<wa_id>`` checkpoint the webhook writes with each incoming message); outside it
only an approved template (``metadata["template"] = {"name": …, "language": …}``) may go,
and a free-text reply is refused with a `ValidationError` that says so. Then, like the
other senders: the touch (queued) is committed, ``POST /{phone_number_id}/messages`` is
called with our id as ``biz_opaque_callback_data`` (status webhooks carry it back), and the
answer re-records the touch as sent with the ``wamid`` or records why it failed.

The webhook inbox is the messengers' one `WebhookInbox`: the request verifies and parses
(the stale check needs the timestamps), the inbox's task writes.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import aiohttp

from hub.channels.messengers.http_sender import HttpSender
from hub.channels.messengers.webhook_inbox import WebhookInbox, put_items
from hub.channels.messengers.whatsapp_payload import (
    SERVICE_WINDOW,
    Notification,
    source_of,
    window_key,
)
from hub.errors import (
    ChannelAuthError,
    ChannelConnectError,
    RateLimited,
    ValidationError,
)
from hub.model import (
    AddressKind,
    Channel,
    Direction,
    OutgoingMessage,
    RecipientResult,
    SendOutcome,
    SendResult,
    Sink,
    Status,
    Touch,
    utcnow,
)

logger = logging.getLogger(__name__)

#: Checkpoint key the subscription handshake leaves for health (read by the monitor).
SUBSCRIBED_KEY = "subscribed"

#: Cloud API error codes that mean "slow down" and "outside the 24-hour window".
RATE_CODES = frozenset({4, 80007, 130429, 131048, 131056})
WINDOW_CODES = frozenset({131047})
AUTH_CODES = frozenset({0, 190})
TEMPLATE = "template"
REPLY_TO = "reply_to"
#: Seconds to wait when Meta asks to slow down without saying how long.
DEFAULT_RETRY_AFTER_S = 60.0


@dataclass(frozen=True, slots=True, kw_only=True)
class NumberHooks:
    """What the webhook of one number checks: the app secret, the verify token, the number."""

    account: str
    app_secret: str
    verify_token: str
    phone_number_id: str
    max_age_s: float

    @property
    def source(self) -> str:
        return source_of(self.account)


def notification_inbox(hooks: NumberHooks, sink: Sink | None, size: int) -> WebhookInbox[Notification]:
    """The webhook inbox of a number: notifications already parsed by the request."""
    return WebhookInbox(source=hooks.source, sink=sink, size=size, write=put_items)


class WhatsAppSender(HttpSender[Notification]):
    """A `Sender` over one WhatsApp business number."""

    def __init__(
        self,
        *,
        hooks: NumberHooks,
        inbox: WebhookInbox[Notification],
        api_url: str,
        access_token: str | None,
        sink: Sink | None,
        timeout_s: float,
    ) -> None:
        super().__init__(source=hooks.source, inbox=inbox, sink=sink, timeout_s=timeout_s)
        self.hooks = hooks
        self.api_url = api_url
        self.access_token = access_token

    async def window_open(self, wa_id: str) -> bool:
        """Whether the client wrote within the last 24 hours (as the store knows it)."""
        if self.sink is None:
            return False
        last = await self.sink.load_checkpoint(self.source, window_key(wa_id))
        if last is None:
            return False
        try:
            return utcnow() - datetime.fromisoformat(last) < SERVICE_WINDOW
        except ValueError:
            return False

    def _payload(self, message: OutgoingMessage, to: str, ours: str) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": to,
            "biz_opaque_callback_data": ours,
        }
        template = message.metadata.get(TEMPLATE)
        if isinstance(template, Mapping):
            payload["type"] = "template"
            payload["template"] = {
                "name": str(template["name"]),
                "language": {"code": str(template.get("language", "en"))},
            }
        else:
            payload["type"] = "text"
            payload["text"] = {"body": message.body}
        reply_to = message.metadata.get(REPLY_TO)
        if isinstance(reply_to, str) and reply_to.startswith("wamid."):
            payload["context"] = {"message_id": reply_to}
        return payload

    async def send(self, message: OutgoingMessage) -> SendResult:
        """Check the window, record the touch (queued), send, record WhatsApp's answer."""
        if message.channel is not Channel.MESSENGER:
            raise ValidationError(f"{message.channel} message given to WhatsApp", field="channel")
        if len(message.to) != 1 or message.to[0].kind is not AddressKind.WHATSAPP:
            raise ValidationError("a WhatsApp message goes to exactly one WhatsApp number", field="to")
        if self.access_token is None:
            raise ValidationError(f"whatsapp {self.hooks.account} has no access_token: it cannot send", field="channel")
        to = "".join(ch for ch in message.to[0].value if ch.isdigit())
        is_template = isinstance(message.metadata.get(TEMPLATE), Mapping)
        if not is_template and not message.body.strip():
            raise ValidationError("a WhatsApp message needs a text", field="body")
        if not is_template and not await self.window_open(to):
            raise ValidationError(
                "outside WhatsApp's 24-hour customer-service window: the client has not written "
                "in the last 24 hours, so only an approved template may be sent",
                field="body",
            )
        ours = message.message_id or uuid.uuid4().hex
        touch = Touch(
            source=self.source,
            external_id=ours,
            channel=Channel.MESSENGER,
            direction=Direction.OUT,
            status=Status.QUEUED,
            occurred_at=utcnow(),
            counterparts=message.to,
            employee=message.sender,
            preview=message.body or None,
            thread_key=f"{self.source}:{to}",
            metadata={**message.metadata, "platform": "whatsapp", "account": self.hooks.account},
        )
        await self._queued(touch)
        url = f"{self.api_url}/{self.hooks.phone_number_id}/messages"
        try:
            async with self._http().post(
                url, json=self._payload(message, to, ours), headers={"Authorization": f"Bearer {self.access_token}"}
            ) as response:
                status = response.status
                body: Any = await response.json(content_type=None)
        except (TimeoutError, aiohttp.ClientError, ValueError) as exc:
            await self._put(self._failed(touch, f"not sent: {exc}"))
            raise ChannelConnectError(
                f"WhatsApp Cloud API not reachable: {exc}", channel=self.source, external_id=ours
            ) from exc
        if status == 200 and isinstance(body, Mapping) and body.get("messages"):
            wamid = str(body["messages"][0].get("id"))
            done = replace(touch, status=Status.SENT, metadata={**touch.metadata, "wamid": wamid})
            await self._put(done)
            return SendResult(
                outcome=SendOutcome.SENT,
                external_id=ours,
                recipients=(RecipientResult(address=message.to[0], outcome=SendOutcome.SENT),),
                touch=done,
            )
        return await self._refused(message, touch, status, body)

    async def _refused(self, message: OutgoingMessage, touch: Touch, status: int, body: Any) -> SendResult:
        error = body.get("error") if isinstance(body, Mapping) else None
        error = error if isinstance(error, Mapping) else {}
        code = error.get("code")
        words = str(error.get("message") or f"HTTP {status}")
        await self._put(self._failed(touch, f"refused: {code} {words}"))
        if status == 401 or code in AUTH_CODES:
            raise ChannelAuthError(f"WhatsApp refused the access token: {words}", channel=self.source)
        if status == 429 or code in RATE_CODES:
            raise RateLimited(
                f"WhatsApp asks to slow down: {words}",
                retry_after=DEFAULT_RETRY_AFTER_S,
                channel=self.source,
                external_id=touch.external_id,
            )
        reason = f"WhatsApp refused ({code}): {words}"
        if code in WINDOW_CODES:
            reason = f"outside the 24-hour window, WhatsApp says ({code}): {words}"
        outcome = SendOutcome.TEMPORARY_FAILURE if status >= 500 else SendOutcome.PERMANENT_FAILURE
        return SendResult(
            outcome=outcome,
            external_id=touch.external_id,
            code=status,
            reason=reason,
            recipients=(RecipientResult(address=message.to[0], outcome=outcome, code=status, reason=reason),),
            touch=touch,
        )
