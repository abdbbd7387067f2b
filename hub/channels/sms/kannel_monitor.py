"""Health of a Kannel gateway: is its sendsms interface up, and does it take our credentials?

Kannel reports and incoming SMS arrive through webhooks, so there is nothing to capture;
this adapter exists so that `touchhub health` shows each gateway. It asks sendsms with our
user and no receiver: "Missing receiver number" (400) means up and credentials taken,
"Authorization failed" (403) means a wrong password — the adapter stops for good — and no
answer means down, asked again with backoff.
"""

from __future__ import annotations

import aiohttp

from hub.backoff import BackoffPolicy
from hub.channels.probe_loop import probe_forever
from hub.channels.sms.kannel_protocol import ReplyKind, parse_sendsms_reply
from hub.channels.sms.kannel_sender import KannelEndpoint
from hub.errors import ChannelAuthError, ChannelConnectError
from hub.model import AdapterHealth, Sink, utcnow


class KannelMonitor:
    """A `CaptureAdapter` that only watches the gateway (named ``sms:NAME``)."""

    def __init__(
        self,
        *,
        gateway: str,
        endpoint: KannelEndpoint,
        interval_s: float,
        timeout_s: float,
        retry: BackoffPolicy,
    ) -> None:
        self.name = f"sms:{gateway}"
        self.health = AdapterHealth(name=self.name)
        self.endpoint = endpoint
        self.interval_s = interval_s
        self.timeout_s = timeout_s
        self.retry = retry

    async def probe(self) -> None:
        """One question to sendsms; raises `ChannelAuthError` or `ChannelConnectError`."""
        params = {"username": self.endpoint.username, "password": self.endpoint.password}
        try:
            async with (
                aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout_s)) as http,
                http.get(self.endpoint.sendsms_url, params=params) as response,
            ):
                reply = parse_sendsms_reply(response.status, await response.read())
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise ChannelConnectError(
                f"Kannel sendsms at {self.endpoint.host}:{self.endpoint.port} does not answer: {exc}",
                channel=self.name,
            ) from exc
        if reply.kind is ReplyKind.AUTH_FAILED:
            raise ChannelAuthError(
                f"Kannel refused user {self.endpoint.username!r}: {reply.text}", channel=self.name
            )
        self.health.last_event_at = utcnow()
        self.health.count("probes")

    async def run(self, sink: Sink) -> None:
        """Probe every `interval_s` until cancelled; a refused password stops it."""
        await probe_forever(
            self.probe, health=self.health, interval_s=self.interval_s, retry=self.retry
        )

    async def sync_once(self, sink: Sink) -> None:
        """One probe: raises when the gateway is down or refuses us."""
        await self.probe()
