"""python-telegram-bot at our boundary: a `Bot` built from settings, its errors translated.

The hub uses PTB for the Bot API (requests, error mapping, file downloads), over
aiohttp (`AiohttpRequest`). Updates are fetched raw (`UpdatesBot.updates`) so that one
malformed update is quarantined on its own instead of failing the whole batch in PTB's
parser.
"""

from __future__ import annotations

import asyncio
import json
import warnings
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from telegram import Bot
from telegram.error import (
    BadRequest,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)

from hub.channels.messengers.settings import TelegramBotSettings
from hub.channels.messengers.telegram_http import AiohttpRequest
from hub.channels.messengers.telegram_updates import UpdatesAnswer, read_answer
from hub.errors import (
    ChannelAuthError,
    ChannelConnectError,
    ChannelError,
    ChannelTimeout,
    ProtocolError,
    RateLimited,
)

#: Connections a bot keeps to the Bot API for sending (getUpdates has its own).
POOL_SIZE = 16
#: Extra seconds a long poll may take beyond the timeout it asks Telegram for.
POLL_MARGIN_S = 10.0
#: Update kinds the hub asks for.
ALLOWED_UPDATES = ("message", "edited_message", "my_chat_member")
ALLOWED_JSON = json.dumps(list(ALLOWED_UPDATES), separators=(",", ":"))


class UpdatesBot(Bot):
    """A PTB `Bot` that can also hand over getUpdates' result as the JSON it was."""

    async def updates(self, *, offset: int | None, limit: int, wait_s: int) -> UpdatesAnswer:
        """getUpdates as one GET (the Bot API takes parameters in the query string), its
        answer unparsed by PTB: the text is what the spool keeps (`ProtocolError` when it
        is not a list of updates). Telegram's errors come as PTB's, like any call's."""
        query = {"limit": limit, "timeout": wait_s, "allowed_updates": ALLOWED_JSON}
        if offset is not None:
            query["offset"] = offset
        body = await self._request[0].retrieve(
            f"{self.base_url}/getUpdates?{urlencode(query)}", read_timeout=wait_s + POLL_MARGIN_S
        )
        return read_answer(body)

    async def shutdown(self) -> None:
        """PTB's shutdown, and the transports' connections even when the bot was used
        without `initialize` (PTB allows that, and then skips them)."""
        await super().shutdown()
        await asyncio.gather(*(request.shutdown() for request in self._request))


def make_bot(settings: TelegramBotSettings) -> UpdatesBot:
    """The PTB bot of `settings`: its token, API server and timeouts."""
    t = settings.timeout_s
    return UpdatesBot(
        settings.token.get_secret_value(),
        base_url=f"{settings.api_url}/bot",
        base_file_url=f"{settings.api_url}/file/bot",
        request=AiohttpRequest(
            connection_pool_size=POOL_SIZE,
            read_timeout=t,
            write_timeout=t,
            connect_timeout=t,
            pool_timeout=t,
        ),
        get_updates_request=AiohttpRequest(
            read_timeout=settings.poll_timeout_s + POLL_MARGIN_S, connect_timeout=t, pool_timeout=t
        ),
    )


def retry_after_s(exc: RetryAfter) -> float:
    """Seconds Telegram asked us to wait (whatever type this PTB version reports)."""
    value: Any = getattr(exc, "_retry_after", None)
    if value is None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def translate(exc: TelegramError, source: str, external_id: str | None = None) -> ChannelError:
    """A PTB error as ours: auth apart from transient, rate limits with their wait."""
    text = f"Telegram: {exc.message}"
    if isinstance(exc, RetryAfter):
        return RateLimited(text, retry_after=retry_after_s(exc), channel=source, external_id=external_id)
    if isinstance(exc, InvalidToken):
        return ChannelAuthError(text, channel=source, external_id=external_id)
    if isinstance(exc, TimedOut):
        return ChannelTimeout(text, channel=source, external_id=external_id)
    if isinstance(exc, (BadRequest, Forbidden)):
        return ProtocolError(text, channel=source, external_id=external_id)
    if isinstance(exc, (Conflict, NetworkError)):
        return ChannelConnectError(text, channel=source, external_id=external_id)
    return ProtocolError(text, channel=source, external_id=external_id)


async def bot_username(settings: TelegramBotSettings, source: str) -> str:
    """The bot's @username: from the settings, else asked with getMe."""
    if settings.username:
        return settings.username.lstrip("@")
    bot = make_bot(settings)
    try:
        me = await bot.get_me()
    except TelegramError as exc:
        raise translate(exc, source) from exc
    finally:
        await bot.shutdown()
    if not me.username:
        raise ProtocolError("getMe returned no username", channel=source)
    return me.username
