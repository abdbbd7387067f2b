"""A token bucket: at most `rate` messages per second on average, `burst` at once."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


class TokenBucket:
    """Waits in `acquire()` until a token is free; tokens refill continuously at `rate`/s.

    Callers are served in the order they arrive (one lock), so a burst of sends is spread
    out instead of racing for the next token.
    """

    def __init__(
        self, rate: float, burst: int = 1, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("a token bucket needs rate > 0 and burst >= 1")
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._tokens = float(burst)
        self._updated = clock()
        self._lock = asyncio.Lock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(float(self.burst), self._tokens + (now - self._updated) * self.rate)
        self._updated = now

    def wait_time(self) -> float:
        """Seconds until a token is free (0 when one is free now); takes nothing."""
        self._refill()
        return 0.0 if self._tokens >= 1 else (1 - self._tokens) / self.rate

    async def acquire(self) -> None:
        """Take one token, waiting for it if needed."""
        async with self._lock:
            delay = self.wait_time()
            if delay > 0:
                await asyncio.sleep(delay)
                self._refill()
            self._tokens -= 1  # may dip a hair below 0 after a short sleep: a debt, repaid next
