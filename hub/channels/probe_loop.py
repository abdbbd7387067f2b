"""The loop of an adapter that only watches: probe, note the health, sleep, probe again.

A gateway or an account whose traffic arrives through webhooks has nothing to capture;
its adapter exists so that `touchhub health` shows it. Each asks its own question (the
probe); this loop is what they share: an answer marks it running until the next probe,
a refused credential (`ChannelAuthError`) stops it for good, and any other
`ChannelError` is asked again after a backoff.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import NoReturn

from hub.backoff import BackoffPolicy
from hub.errors import ChannelAuthError, ChannelError
from hub.model import AdapterHealth

#: One question to the far side; returns when it answered, raises a `ChannelError` if not.
Probe = Callable[[], Awaitable[None]]


async def probe_forever(
    probe: Probe, *, health: AdapterHealth, interval_s: float, retry: BackoffPolicy
) -> NoReturn:
    """Run `probe` every `interval_s` until cancelled, keeping `health`; raises the
    `ChannelAuthError` that stops it."""
    backoff = retry.start()
    health.starting()
    while True:
        try:
            await probe()
        except ChannelAuthError as exc:
            health.failed(exc)
            raise
        except ChannelError as exc:
            health.backoff(exc)
            await asyncio.sleep(backoff.next_delay())
            continue
        health.running()
        backoff.healthy()
        await asyncio.sleep(interval_s)
