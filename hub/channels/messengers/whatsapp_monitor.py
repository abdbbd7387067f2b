"""The health probe of a WhatsApp number: the Graph API asked for the number with our
access token (`WebhookMonitor` runs it; whether the webhook is registered comes from the
``subscribed`` note of Meta's handshake)."""

from __future__ import annotations

from dataclasses import dataclass

import aiohttp

from hub.errors import ChannelAuthError, ChannelConnectError


@dataclass(frozen=True, slots=True, kw_only=True)
class GraphProbe:
    """``GET /{phone_number_id}`` with the access token; nothing to ask without one."""

    source: str
    phone_number_id: str
    api_url: str
    access_token: str | None
    timeout_s: float

    async def __call__(self) -> bool | None:
        if self.access_token is None:
            return None
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
            raise ChannelConnectError(f"Graph API does not answer: {exc}", channel=self.source) from exc
        if status in (401, 403):
            raise ChannelAuthError(f"Graph API refused the access token: {text[:200]}", channel=self.source)
        if status != 200:
            raise ChannelConnectError(f"Graph API answered {status}: {text[:200]}", channel=self.source)
        return None
