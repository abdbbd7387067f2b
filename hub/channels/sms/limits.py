"""How fast and how patiently a gateway's sender works: one value, given whole."""

from __future__ import annotations

from dataclasses import dataclass

from hub.backoff import BackoffPolicy
from hub.channels.sms.quiet_hours import Holder
from hub.channels.sms.token_bucket import TokenBucket


@dataclass(frozen=True, slots=True, kw_only=True)
class GatewayLimits:
    """A request's timeout, the attempts at what was not taken (with backoff between them),
    the gateway's token bucket and the keeper of messages held through quiet hours."""

    timeout_s: float
    max_attempts: int
    retry: BackoffPolicy
    bucket: TokenBucket | None = None
    holder: Holder | None = None
