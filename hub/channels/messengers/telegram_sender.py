"""Sending through a Telegram bot, and the bot's webhook inbox.

`TelegramSender` is the bot's `Sender` (``SENDERS["telegram:NAME"]``). A message goes to
one chat (an `AddressKind.TELEGRAM` address whose value is the chat id). Like the SMS
sender, the outgoing touch (queued) is committed through the sink *before* the Bot API is
called, keyed ``<chat id>:out-<our id>``: a crash in between leaves it "queued", never sent
twice. Telegram's answer re-records the touch as sent with Telegram's message id, or a
status update says why it failed.

Limits: a token bucket per chat and one per bot (`SendLimits`); a 429 `RetryAfter` is
waited out and the message sent again, up to `max_attempts` and `max_retry_after_s`,
then `RateLimited` is raised. A 403 "bot was blocked by the user" marks the chat
unreachable (an `IdentityUpdate`) and is a permanent failure of that send.

The bot's webhook inbox (a `WebhookInbox` of raw updates) hangs on the sender because the
sender is what the web app reaches (`SENDERS`): the webhook handler verifies and enqueues;
the inbox's task parses and writes, so Telegram is answered at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from telegram import ReplyParameters
from telegram.error import (
    BadRequest,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)

from hub.channels.messengers.send_limits import SendLimits
from hub.channels.messengers.telegram_client import UpdatesBot, retry_after_s, translate
from hub.channels.messengers.telegram_ingest import UpdateIngest
from hub.channels.messengers.telegram_updates import source_of, thread_of
from hub.channels.messengers.webhook_inbox import WebhookInbox, Write
from hub.errors import (
    ChannelAuthError,
    ChannelConnectError,
    ChannelError,
    ChannelTimeout,
    RateLimited,
    ValidationError,
)
from hub.model import (
    AdapterHealth,
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
    StatusUpdate,
    Touch,
    utcnow,
)

logger = logging.getLogger(__name__)

#: Words of Telegram's 403 answers that mean this chat will not take our messages.
BLOCKED_WORDS = ("blocked", "deactivated", "kicked", "chat not found")
#: Telegram's limit on one text message.
MAX_TEXT = 4096
#: Metadata keys of `OutgoingMessage` the sender reads.
EMPLOYEE_ID = "employee_id"
REPLY_TO = "reply_to"


def new_message_id() -> str:
    """Our id for a message that came without one."""
    return uuid.uuid4().hex


@dataclass(frozen=True, slots=True, kw_only=True)
class BotHooks:
    """What the webhook of one bot checks: the secret token Telegram sends."""

    bot: str
    secret: str | None

    @property
    def source(self) -> str:
        return source_of(self.bot)


def webhook_writer(ingest: UpdateIngest) -> Write[Mapping[str, Any]]:
    """The `Write` of a bot's webhook inbox: the updates parsed and written; the note names
    the highest update id."""

    async def write(raws: Sequence[Mapping[str, Any]], sink: Sink) -> Mapping[str, object]:
        top = await ingest.take(raws, sink)
        return {} if top is None else {"update_id": top}

    return write


def webhook_inbox(ingest: UpdateIngest, sink: Sink | None, size: int) -> WebhookInbox[Mapping[str, Any]]:
    """The webhook inbox of a bot: raw updates, written 100 at a time."""
    return WebhookInbox(source=ingest.source, sink=sink, size=size, write=webhook_writer(ingest))


class TelegramSender:
    """A `Sender` over one bot: touches first, limits respected, blocks recorded."""

    channel = Channel.MESSENGER

    def __init__(
        self,
        *,
        bot_name: str,
        bot: UpdatesBot,
        hooks: BotHooks,
        inbox: WebhookInbox[Mapping[str, Any]],
        health: AdapterHealth,
        sink: Sink | None,
        limits: SendLimits,
        max_attempts: int,
        max_retry_after_s: float,
    ) -> None:
        self.bot_name = bot_name
        self.bot = bot
        self.hooks = hooks
        self.inbox = inbox
        self.sink = sink
        self.limits = limits
        self.max_attempts = max_attempts
        self.max_retry_after_s = max_retry_after_s
        self.health = health
        self._ready = False

    @property
    def source(self) -> str:
        return source_of(self.bot_name)

    async def _bot(self) -> UpdatesBot:
        if not self._ready:
            try:
                await self.bot.initialize()
            except TelegramError as exc:
                raise translate(exc, self.source) from exc
            self._ready = True
        return self.bot

    async def close(self) -> None:
        await self.inbox.close()
        # also after a failed initialize: its getMe left connections open
        with contextlib.suppress(TelegramError):
            await self.bot.shutdown()
        self._ready = False

    def outgoing_touch(self, message: OutgoingMessage, chat_id: str, message_id: str) -> Touch:
        """The touch of `message` as recorded before it is sent: queued."""
        metadata: dict[str, Any] = {
            **message.metadata,
            "platform": "telegram",
            "bot": self.bot_name,
            "chat_id": chat_id,
        }
        return Touch(
            source=self.source,
            external_id=f"{chat_id}:out-{message_id}",
            channel=Channel.MESSENGER,
            direction=Direction.OUT,
            status=Status.QUEUED,
            occurred_at=utcnow(),
            counterparts=message.to,
            employee=message.sender,
            preview=message.body,
            thread_key=thread_of(self.source, chat_id),
            metadata=metadata,
        )

    @staticmethod
    def _reply_to(message: OutgoingMessage, chat_id: str) -> int | None:
        """Telegram's message id of the message answered (`metadata["reply_to"]`, an external id)."""
        ref = message.metadata.get(REPLY_TO)
        if not isinstance(ref, str):
            return None
        chat, _, number = ref.rpartition(":")
        return int(number) if chat == chat_id and number.isdigit() else None

    def _validate(self, message: OutgoingMessage) -> str:
        if message.channel is not Channel.MESSENGER:
            raise ValidationError(f"{message.channel} message given to a Telegram bot", field="channel")
        if len(message.to) != 1 or message.to[0].kind is not AddressKind.TELEGRAM:
            raise ValidationError("a Telegram message goes to exactly one Telegram chat", field="to")
        if not message.body.strip():
            raise ValidationError("a Telegram message needs a text", field="body")
        if len(message.body) > MAX_TEXT:
            raise ValidationError(f"a Telegram message holds at most {MAX_TEXT} characters", field="body")
        return message.to[0].value.strip()

    async def _put(self, *items: Touch | StatusUpdate | IdentityUpdate) -> None:
        if self.sink is not None:
            for item in items:
                await self.sink.put(item)

    def _failed(self, touch: Touch, detail: str) -> StatusUpdate:
        return StatusUpdate(
            source=self.source, external_id=touch.external_id, status=Status.FAILED, at=utcnow(), detail=detail
        )

    async def send(self, message: OutgoingMessage) -> SendResult:
        """Record the touch (queued), send within the limits, record Telegram's answer."""
        chat_id = self._validate(message)
        touch = self.outgoing_touch(message, chat_id, message.message_id or new_message_id())
        if self.sink is not None:
            await self.sink.put(touch)
            await self.sink.flush()  # committed before Telegram sees it: never lost, never twice
        try:
            bot = await self._bot()
        except ChannelError as exc:  # nothing went to Telegram: the touch says why
            await self._put(self._failed(touch, f"not sent: {exc}"))
            raise
        reply_to = self._reply_to(message, chat_id)
        attempt = 0
        while True:
            attempt += 1
            await self.limits.acquire(chat_id)
            try:
                sent = await bot.send_message(
                    chat_id=chat_id,
                    text=message.body,
                    reply_parameters=(
                        ReplyParameters(message_id=reply_to, allow_sending_without_reply=True)
                        if reply_to is not None
                        else None
                    ),
                )
            except RetryAfter as exc:
                wait = retry_after_s(exc)
                self.health.count("retry_after")
                if attempt >= self.max_attempts or wait > self.max_retry_after_s:
                    await self._put(self._failed(touch, f"rate limited: retry after {wait:g}s"))
                    raise RateLimited(
                        f"Telegram asks to wait {wait:g}s (attempt {attempt})",
                        retry_after=wait,
                        channel=self.source,
                        external_id=touch.external_id,
                    ) from exc
                logger.info("%s: flood control, waiting %gs before resending", self.source, wait)
                await asyncio.sleep(wait)
                continue
            except Forbidden as exc:
                return await self._refused(message, touch, exc, attempt)
            except BadRequest as exc:
                return await self._rejected(message, touch, exc, attempt)
            except InvalidToken as exc:
                await self._put(self._failed(touch, f"token refused: {exc.message}"))
                raise ChannelAuthError(
                    f"Telegram refused the token of bot {self.bot_name}", channel=self.source,
                    external_id=touch.external_id,
                ) from exc
            except TimedOut as exc:  # may have been sent: left queued, not sent twice
                raise ChannelTimeout(
                    f"Telegram did not answer: {exc.message}", channel=self.source, external_id=touch.external_id
                ) from exc
            except (NetworkError, TelegramError) as exc:
                await self._put(self._failed(touch, f"not sent: {exc.message}"))
                raise ChannelConnectError(
                    f"Telegram not reachable: {exc.message}", channel=self.source, external_id=touch.external_id
                ) from exc
            break
        self.health.count("sent")
        done = replace(
            touch, status=Status.SENT, metadata={**touch.metadata, "telegram_message_id": sent.message_id}
        )
        await self._put(done)
        return SendResult(
            outcome=SendOutcome.SENT,
            external_id=touch.external_id,
            recipients=(RecipientResult(address=message.to[0], outcome=SendOutcome.SENT),),
            attempts=attempt,
            touch=done,
        )

    async def _refused(
        self, message: OutgoingMessage, touch: Touch, exc: Forbidden, attempts: int
    ) -> SendResult:
        """403: the client blocked the bot (the chat is marked unreachable) or never wrote."""
        reason = exc.message
        items: list[Touch | StatusUpdate | IdentityUpdate] = [self._failed(touch, f"refused: {reason}")]
        if any(word in reason.casefold() for word in BLOCKED_WORDS):
            self.health.count("blocked")
            items.append(
                IdentityUpdate(
                    source=self.source, address=message.to[0], at=utcnow(), unreachable=True, detail=reason
                )
            )
        await self._put(*items)
        return self._failure(message, touch, 403, f"Telegram refused: {reason}", attempts)

    async def _rejected(
        self, message: OutgoingMessage, touch: Touch, exc: BadRequest, attempts: int
    ) -> SendResult:
        await self._put(self._failed(touch, f"rejected: {exc.message}"))
        return self._failure(message, touch, 400, f"Telegram rejected the message: {exc.message}", attempts)

    @staticmethod
    def _failure(
        message: OutgoingMessage, touch: Touch, code: int, reason: str, attempts: int
    ) -> SendResult:
        return SendResult(
            outcome=SendOutcome.PERMANENT_FAILURE,
            external_id=touch.external_id,
            code=code,
            reason=reason,
            recipients=(
                RecipientResult(
                    address=message.to[0], outcome=SendOutcome.PERMANENT_FAILURE, code=code, reason=reason
                ),
            ),
            attempts=attempts,
            touch=touch,
        )
