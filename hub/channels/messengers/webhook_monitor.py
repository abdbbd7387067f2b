"""Health of a messenger account fed by webhooks (``whatsapp:NAME``, ``vk:NAME``,
``viber:NAME``): its messages come to `hub.web`, so there is nothing to capture; this
adapter exists so that `touchhub health` shows the account.

At each (re)start it may `register` our webhook with the platform (Viber's set_webhook).
Every `check_s` it calls the platform's `probe` with the account's token — a refused
token stops it for good, no answer is retried with backoff — and reads two notes from the
store: `registered_key` (the platform's handshake was answered: our webhook is known to
it; used when the probe itself cannot say) and ``webhook`` (when the last delivery was
written, noted by the account's `WebhookInbox`).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Awaitable, Callable
from datetime import datetime

from hub.backoff import BackoffPolicy
from hub.channels.messengers.bot_health import BotHealth
from hub.channels.messengers.webhook_inbox import WEBHOOK_KEY
from hub.channels.probe_loop import probe_forever
from hub.model import AdapterHealth, Sink

#: Asks the platform about the account; True/False when it says whether our webhook is
#: registered, None when it does not say. Raises `ChannelAuthError` / `ChannelError`.
Probe = Callable[[], Awaitable[bool | None]]
#: Registers our webhook with the platform; raises `ChannelError` when it is refused.
Register = Callable[[], Awaitable[None]]


class WebhookMonitor:
    """A `CaptureAdapter` that only watches one webhook-fed account."""

    def __init__(
        self,
        *,
        source: str,
        probe: Probe,
        registered_key: str,
        check_s: float,
        retry: BackoffPolicy,
        register: Register | None = None,
        webhook_url: str | None = None,
    ) -> None:
        self.name = source
        self.bot_health = BotHealth(name=source, mode="webhook", webhook_url=webhook_url)
        self.health: AdapterHealth = self.bot_health
        self.probe = probe
        self.registered_key = registered_key
        self.check_s = check_s
        self.retry = retry
        self.register = register

    async def check(self, sink: Sink) -> None:
        """Ask the platform, then read the webhook's notes from the store."""
        registered = await self.probe()
        if registered is None:
            registered = await sink.load_checkpoint(self.name, self.registered_key) is not None
        self.bot_health.webhook_registered = registered
        note = await sink.load_checkpoint(self.name, WEBHOOK_KEY)
        if note:
            with contextlib.suppress(ValueError, KeyError, TypeError):
                at = datetime.fromisoformat(json.loads(note)["at"])
                self.bot_health.last_update_at = at
                self.health.last_event_at = at

    async def run(self, sink: Sink) -> None:
        """Register (when the platform wants it), then check every `check_s` until
        cancelled; a refused token stops it."""
        registered = self.register is None

        async def attempt() -> None:
            nonlocal registered
            if not registered and self.register is not None:
                await self.register()
                registered = True
            await self.check(sink)

        await probe_forever(attempt, health=self.health, interval_s=self.check_s, retry=self.retry)

    async def sync_once(self, sink: Sink) -> None:
        """Register when wanted and check once: raises when the token is refused or the API
        is down."""
        if self.register is not None:
            await self.register()
        await self.check(sink)
