"""One Telegram bot as a capture adapter (``telegram:NAME``): long polling, or the webhook
registered and watched.

Polling: getUpdates (long poll, up to `poll_limit` updates) from the offset kept as a
`Checkpoint` (source ``telegram:NAME``, key ``offset``). A short batch (Telegram has
nothing more) is recorded at once: its touches go into the sink, then the checkpoint with
the next offset, then `flush()` — so the offset is committed with (or after) the touches
it covers, and only then confirmed to Telegram by the next getUpdates. A full batch (more
is waiting) goes into the spool instead (`telegram_spool`): getUpdates' answer kept on the
spool's shelf (`telegram_shelves`: a file beside a SQLite database, a checkpoint in any
other store), recorded later together with the batches after it, in big transactions. A
kill at any point loses nothing (Telegram sends again what was not confirmed; the shelf
keeps what was) and duplicates nothing (recording is idempotent on the touch key).

Webhook: at start the adapter calls setWebhook with our URL and secret token (updates then
arrive at `/hooks/messengers/telegram/NAME`, see `webhooks.py`) and asks getWebhookInfo
every `webhook_check_s` so that health shows whether the webhook is registered, Telegram's
last delivery error and how many updates wait.

Health (`BotHealth`): state, last update time, last error, mode and webhook registration.
A refused token stops the adapter for good; anything else is retried with backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from telegram.error import TelegramError

from hub.backoff import BackoffPolicy
from hub.channels.messengers.bot_health import BotHealth
from hub.channels.messengers.settings import BotMode
from hub.channels.messengers.telegram_client import ALLOWED_UPDATES, UpdatesBot, translate
from hub.channels.messengers.telegram_ingest import UpdateIngest
from hub.channels.messengers.telegram_shelves import Shelf, shelf_for
from hub.channels.messengers.telegram_spool import OFFSET_KEY, Spool, SpooledBatch
from hub.channels.messengers.telegram_updates import update_id_of
from hub.channels.messengers.webhook_inbox import WEBHOOK_KEY
from hub.errors import ChannelAuthError, ChannelError
from hub.model import AdapterHealth, Checkpoint, Sink

logger = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True, slots=True, kw_only=True)
class PollPlan:
    """How a bot polls: batch size and how long Telegram may hold a poll open."""

    limit: int
    wait_s: int


class TelegramCapture:
    """A `CaptureAdapter` for one bot."""

    def __init__(
        self,
        *,
        bot_name: str,
        bot: UpdatesBot,
        ingest: UpdateIngest,
        health: BotHealth,
        mode: BotMode,
        poll: PollPlan,
        retry: BackoffPolicy,
        webhook_url: str | None = None,
        webhook_secret: str | None = None,
        webhook_check_s: float = 60.0,
    ) -> None:
        self.name = ingest.source
        self.bot_name = bot_name
        self.bot = bot
        self.ingest = ingest
        self.health: AdapterHealth = health  # the supervisor's view
        self.bot_health = health
        self.mode = mode
        self.poll = poll
        self.retry = retry
        self.webhook_url = webhook_url
        self.webhook_secret = webhook_secret
        self.webhook_check_s = webhook_check_s
        self.spool = Spool(self.name)
        self._shelves: tuple[Sink, Shelf | None] | None = None
        health.mode = mode.value
        health.webhook_url = webhook_url

    async def _call(self, call: Any) -> Any:
        """Await a PTB call, its errors translated."""
        try:
            return await call
        except TelegramError as exc:
            raise translate(exc, self.name) from exc

    async def _open(self) -> None:
        await self._call(self.bot.initialize())

    # -- polling ------------------------------------------------------------------------

    def shelf(self, sink: Sink) -> Shelf | None:
        """Where the spool keeps batches written into `sink` (None: it cannot; every batch
        is recorded at once)."""
        if self._shelves is None or self._shelves[0] is not sink:
            self._shelves = (sink, shelf_for(self.name, sink))
        return self._shelves[1]

    async def _offset(self, sink: Sink) -> int | None:
        saved = await sink.load_checkpoint(self.name, OFFSET_KEY)
        if saved is None:
            return None
        try:
            return int(saved)
        except ValueError:
            logger.warning("%s: unreadable offset checkpoint %r; starting afresh", self.name, saved[:50])
            return None

    async def poll_once(self, sink: Sink, offset: int | None, wait_s: int) -> tuple[int | None, int]:
        """One getUpdates, spooled (a full batch) or recorded (a short one); (next offset,
        updates). Telegram is not kept waiting on a long poll while the spool holds any."""
        answer = await self._meanwhile(
            self._call(
                self.bot.updates(
                    offset=offset, limit=self.poll.limit, wait_s=0 if self.spool.holding else wait_s
                )
            )
        )
        raws = answer.updates
        if not raws:
            await self.drain(sink)
            return offset, 0
        top = max((uid for uid in map(update_id_of, raws) if uid is not None), default=None)
        ahead = top + 1 if top is not None and (offset is None or top + 1 > offset) else None
        shelf = self.shelf(sink)
        if ahead is not None and len(raws) >= self.poll.limit and shelf is not None:
            offset = ahead
            batch = SpooledBatch(offset, tuple(raws))
            await shelf.keep(batch, answer.text, sink)  # before the next getUpdates confirms it
            self.spool.hold(batch)
            if self.spool.due():
                await self.drain(sink)
            return offset, len(raws)
        await self.drain(sink)  # what the spool holds came first
        top = await self.ingest.take(raws, sink)
        if top is not None and (offset is None or top + 1 > offset):
            offset = top + 1
            await sink.put(Checkpoint(source=self.name, key=OFFSET_KEY, value=str(offset)))
        await sink.flush()  # committed before the next getUpdates confirms these to Telegram
        self.bot_health.last_update_at = self.health.last_event_at
        return offset, len(raws)

    async def _meanwhile(self, waiting: Awaitable[T]) -> T:
        """Await `waiting` (getUpdates), parsing held batches a few updates at a time until
        it is done: the poller otherwise sits idle through Telegram's answer, and the
        parsing has to be done anyway. Not done during the store's commits: it delayed the
        database thread's hand-backs and cost more than it saved (decision 0083)."""
        task = asyncio.ensure_future(waiting)
        try:
            await asyncio.sleep(0)  # let it start (the request go out) first
            while not task.done():
                if not self.spool.digest_some(self.ingest):
                    break
                await asyncio.sleep(0)  # its turn, if its answer has come
            return await task
        except BaseException:
            task.cancel()
            raise

    async def drain(self, sink: Sink) -> None:
        """Record the spooled batches: their items in order, then what lets go of them once
        committed (the shelf's part: the removal commits with or after them). Committed by
        the writer's own batching or the next flush; polling goes on meanwhile."""
        held = self.spool.take()
        if not held:
            return
        for batch in held:
            await self.ingest.deliver(batch.parse(self.ingest), sink)
            self.bot_health.last_update_at = self.health.last_event_at
        shelf = self.shelf(sink)
        assert shelf is not None  # nothing is held without one
        await shelf.recorded(held, sink)

    async def resume(self, sink: Sink) -> None:
        """Record what the shelf keeps (left by a kill or an error) before anything new is
        asked of Telegram."""
        shelf = self.shelf(sink)
        if shelf is None:
            return
        self.spool.take()  # forgotten: what the shelf keeps is the truth
        for batch in await shelf.resume(sink):
            self.spool.hold(batch)
        await self.drain(sink)
        await sink.flush()
        await shelf.settle()

    async def _poll_forever(self, sink: Sink) -> None:
        await self.resume(sink)
        offset = await self._offset(sink)
        await self._call(self.bot.delete_webhook(drop_pending_updates=False))
        self.bot_health.webhook_registered = False
        self.health.running()
        while True:
            offset, _ = await self.poll_once(sink, offset, self.poll.wait_s)

    # -- webhook ------------------------------------------------------------------------

    async def register_webhook(self) -> None:
        """setWebhook with our URL and secret token."""
        assert self.webhook_url is not None
        await self._call(
            self.bot.set_webhook(
                url=self.webhook_url,
                secret_token=self.webhook_secret,
                allowed_updates=list(ALLOWED_UPDATES),
            )
        )
        self.bot_health.webhook_registered = True

    async def check_webhook(self, sink: Sink) -> None:
        """getWebhookInfo → registered or not, Telegram's last error, pending updates."""
        info = await self._call(self.bot.get_webhook_info())
        self.bot_health.webhook_registered = bool(info.url) and info.url == self.webhook_url
        self.bot_health.details["pending_update_count"] = info.pending_update_count
        self.bot_health.details["webhook_last_error"] = info.last_error_message
        note = await sink.load_checkpoint(self.name, WEBHOOK_KEY)
        if note:
            with contextlib.suppress(ValueError, KeyError, TypeError):
                self.bot_health.last_update_at = datetime.fromisoformat(json.loads(note)["at"])

    async def _watch_webhook(self, sink: Sink) -> None:
        await self.register_webhook()
        self.health.running()
        while True:
            await self.check_webhook(sink)
            await asyncio.sleep(self.webhook_check_s)

    # -- the adapter --------------------------------------------------------------------

    @property
    def single_consumer(self) -> bool:
        """Polling is one consumer per bot (two would fight over getUpdates and its offset),
        so it runs under a lease; webhook mode is fed by whichever process is asked."""
        return self.mode is BotMode.POLLING

    async def run(self, sink: Sink) -> None:
        """Poll (or keep the webhook registered) until cancelled; a refused token stops it."""
        try:
            await self._run(sink)
        finally:
            await self._close()

    async def _close(self) -> None:
        if self._shelves is not None and self._shelves[1] is not None:
            await self._shelves[1].close()
        with contextlib.suppress(TelegramError):
            await self.bot.shutdown()

    async def _run(self, sink: Sink) -> None:
        backoff = self.retry.start()
        self.health.starting()
        while True:
            try:
                await self._open()
                backoff.healthy()
                if self.mode is BotMode.POLLING:
                    await self._poll_forever(sink)
                else:
                    await self._watch_webhook(sink)
            except ChannelAuthError as exc:
                self.health.failed(exc)
                raise
            except ChannelError as exc:
                self.health.backoff(exc)
                delay = getattr(exc, "retry_after", None) or backoff.next_delay()
                logger.warning("%s: %s; again in %.1fs", self.name, exc, delay)
                await asyncio.sleep(delay)

    async def sync_once(self, sink: Sink) -> None:
        """Polling: fetch and write until Telegram has nothing more. Webhook: register it."""
        try:
            await self._sync(sink)
        finally:
            await self._close()

    async def _sync(self, sink: Sink) -> None:
        await self._open()
        if self.mode is BotMode.WEBHOOK:
            await self.register_webhook()
            await self.check_webhook(sink)
            return
        await self.resume(sink)
        offset = await self._offset(sink)
        while True:
            offset, count = await self.poll_once(sink, offset, 0)
            if count == 0:
                break
        await sink.flush()
        shelf = self.shelf(sink)
        if shelf is not None:
            await shelf.settle()
