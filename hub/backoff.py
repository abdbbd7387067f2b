"""The one retry policy: exponential backoff with jitter, a cap, and a reset after health.

Every loop that waits before trying again (the supervisor restarting an adapter, the AMI
and IMAP reconnects, the batch writer during a database outage, the SMTP sender's 4xx
retries) asks a `Backoff` for its next delay. Stdlib only, so every package may import it
(`hub/activity` included, see decision 0013).

    policy = BackoffPolicy(initial_s=0.5, max_s=30)
    backoff = policy.start()
    while True:
        try:
            await connect()
            backoff.healthy()          # the link is up: a long enough run resets the delay
            await serve()
        except TransientError:
            await asyncio.sleep(backoff.next_delay())
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

#: ±20 %: enough to spread reconnects of many clients after one outage apart.
DEFAULT_JITTER = 0.2
#: A link that stayed up this long counts as healthy: the next outage starts small again.
DEFAULT_HEALTHY_AFTER_S = 60.0
#: 2**30 already exceeds any sane cap; keeps the power from growing without end.
_MAX_EXPONENT = 30
#: The jitter's source when none is given: one for the process, because seeding a fresh
#: `Random` from the OS cost ~15 µs, and the store writer starts a backoff per batch.
_JITTER = random.Random()


@dataclass(frozen=True, slots=True, kw_only=True)
class BackoffPolicy:
    """How long to wait before attempt n: about initial·2ⁿ, jittered, never above max.

    `jitter` is the ± fraction around the exponential value (0 = none); `full_jitter`
    draws uniformly from [0, value] instead (AWS "full jitter", for many clients hitting
    one server). `healthy_after_s` is how long a link must stay up before the next
    failure starts again from `initial_s`.
    """

    initial_s: float
    max_s: float
    jitter: float = DEFAULT_JITTER
    full_jitter: bool = False
    healthy_after_s: float = DEFAULT_HEALTHY_AFTER_S

    def __post_init__(self) -> None:
        if self.initial_s < 0 or self.max_s < 0:
            raise ValueError("backoff delays cannot be negative")
        if not 0 <= self.jitter <= 1:
            raise ValueError("backoff jitter is a fraction between 0 and 1")

    def start(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> Backoff:
        """A fresh backoff following this policy (one per retry loop)."""
        return Backoff(self, clock=clock, rng=rng if rng is not None else _JITTER)


@dataclass(slots=True)
class Backoff:
    """The state of one retry loop: which attempt comes next, and since when it is healthy."""

    policy: BackoffPolicy
    clock: Callable[[], float] = time.monotonic
    rng: random.Random = field(default_factory=lambda: _JITTER)
    attempt: int = 0
    healthy_since: float | None = None

    def next_delay(self) -> float:
        """Seconds to wait before the next attempt; counts the attempt."""
        policy = self.policy
        if (
            self.healthy_since is not None
            and self.clock() - self.healthy_since >= policy.healthy_after_s
        ):
            self.attempt = 0
        self.healthy_since = None
        base = min(policy.max_s, policy.initial_s * 2 ** min(self.attempt, _MAX_EXPONENT))
        self.attempt += 1
        if policy.full_jitter:
            delay = self.rng.uniform(0, base)
        else:
            delay = base * (1 + self.rng.uniform(-policy.jitter, policy.jitter))
        return min(delay, policy.max_s)

    def healthy(self) -> None:
        """The link is up now; if it stays up `healthy_after_s`, the next failure starts small."""
        self.healthy_since = self.clock()

    def reset(self) -> None:
        """Start again from `initial_s` at once (a success that needs no waiting period)."""
        self.attempt = 0
        self.healthy_since = None
