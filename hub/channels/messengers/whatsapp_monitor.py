"""Health of a WhatsApp number (adapter ``whatsapp:NAME``): its messages come by webhook, so
there is nothing to capture; this adapter exists so that `touchhub health` shows the number.

Every `check_s` it asks the Graph API for the number with our access token (a refused token
stops it for good, no answer is retried with backoff) and reads two notes the webhook
leaves in the store: ``subscribed`` (Meta's handshake was answered: the webhook is
registered) and ``webhook`` (when the last notification was written).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from datetime import datetime

import aiohttp

from hub.backoff import BackoffPolicy
from hub.channels.messengers.bot_health import BotHealth
from hub.channels.messengers.webhook_inbox import WEBHOOK_KEY
from hub.channels.messengers.whatsapp_payload import source_of
from hub.channels.messengers.whatsapp_sender import SUBSCRIBED_KEY
from hub.errors import ChannelAuthError, ChannelConnectError, ChannelError
from hub.model import AdapterHealth, Sink


class WhatsAppMonitor:
    """A `CaptureAdapter` that only watches one number."""

    def __init__(
        self,
        *,
        account: str,
        phone_number_id: str,
        api_url: str,
        access_token: str | None,
        timeout_s: float,
        check_s: float,
        retry: BackoffPolicy,
    ) -> None:
        self.name = source_of(account)
        self.bot_health = BotHealth(name=self.name, mode="webhook")
        self.health: AdapterHealth = self.bot_health
        self.phone_number_id = phone_number_id
        self.api_url = api_url
        self.access_token = access_token
        self.timeout_s = timeout_s
        self.check_s = check_s
        self.retry = retry

    async def probe(self) -> None:
        """Ask the Graph API for our number (when we have a token to ask with)."""
        if self.access_token is None:
            return
        url = f"{self.api_url}/{self.phone_number_id}"
        headers = {"Authorization": f"Bearer {self.access_token}"}
        try:
            async with (
                aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout_s)) as http,
                http.get(url, headers=headers) as response,
            ):
                status = response.status
                text = await response.text()
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise ChannelConnectError(f"Graph API does not answer: {exc}", channel=self.name) from exc
        if status in (401, 403):
            raise ChannelAuthError(f"Graph API refused the access token: {text[:200]}", channel=self.name)
        if status != 200:
            raise ChannelConnectError(f"Graph API answered {status}: {text[:200]}", channel=self.name)

    async def read_notes(self, sink: Sink) -> None:
        """Webhook registered or not, and the last notification, from the store."""
        subscribed = await sink.load_checkpoint(self.name, SUBSCRIBED_KEY)
        self.bot_health.webhook_registered = subscribed is not None
        note = await sink.load_checkpoint(self.name, WEBHOOK_KEY)
        if note:
            with contextlib.suppress(ValueError, KeyError, TypeError):
                at = datetime.fromisoformat(json.loads(note)["at"])
                self.bot_health.last_update_at = at
                self.health.last_event_at = at

    async def run(self, sink: Sink) -> None:
        """Check every `check_s` until cancelled; a refused token stops it."""
        backoff = self.retry.start()
        self.health.starting()
        while True:
            try:
                await self.probe()
                await self.read_notes(sink)
            except ChannelAuthError as exc:
                self.health.failed(exc)
                raise
            except ChannelError as exc:
                self.health.backoff(exc)
                await asyncio.sleep(backoff.next_delay())
                continue
            self.health.running()
            backoff.healthy()
            await asyncio.sleep(self.check_s)

    async def sync_once(self, sink: Sink) -> None:
        """One check: raises when the number's token is refused or the API is down."""
        await self.probe()
        await self.read_notes(sink)
