"""The per-gateway token bucket: a burst goes at once, then `rate` per second."""

from __future__ import annotations

import asyncio
import time

import pytest

from hub.channels.sms.token_bucket import TokenBucket


async def test_a_burst_goes_at_once_then_the_rate_holds() -> None:
    bucket = TokenBucket(rate=20, burst=2)
    started = time.monotonic()
    await asyncio.gather(*(bucket.acquire() for _ in range(2)))
    assert time.monotonic() - started < 0.04
    await asyncio.gather(*(bucket.acquire() for _ in range(4)))  # 4 more at 20/s: ≥ 0.2 s
    assert 0.18 <= time.monotonic() - started < 1.0


def test_tokens_refill_with_the_clock() -> None:
    now = [0.0]
    bucket = TokenBucket(rate=2, burst=1, clock=lambda: now[0])
    bucket._tokens = 0
    assert bucket.wait_time() == pytest.approx(0.5)
    now[0] = 0.25
    assert bucket.wait_time() == pytest.approx(0.25)
    now[0] = 10
    assert bucket.wait_time() == 0


@pytest.mark.parametrize(("rate", "burst"), [(0, 1), (-1, 1), (1, 0)])
def test_nonsense_limits_are_refused(rate: float, burst: int) -> None:
    with pytest.raises(ValueError):
        TokenBucket(rate, burst)
