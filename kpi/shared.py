"""Answers computed once per store generation and shared (decision 0062).

The KPI table and the monitor cost tens of statements and milliseconds of Python each,
and a dashboard asks the same ones over and over between writes. `SharedAnswers` keeps
an answer under a key that ends in the store's generation (`hub.activity.generation`)
and the local day, so a write anywhere, or midnight, makes the next request compute
afresh: a kept answer is never older than the store. Concurrent requests for a key being
computed wait for that one computation (single flight) instead of starting their own.
Failures are shared with whoever waited for them, never kept.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

T = TypeVar("T")

#: Answers kept at most (the least recently used go first): a few viewers' tables of the
#: current and previous generation.
MAX_KEPT = 64


class SharedAnswers(Generic[T]):
    """Answers by key, each computed once; concurrent askers of one key share its computation."""

    def __init__(self, size: int = MAX_KEPT) -> None:
        self.size = size
        self.computed = 0
        self._kept: OrderedDict[Hashable, T] = OrderedDict()
        self._running: dict[Hashable, asyncio.Task[T]] = {}

    async def get(self, key: Hashable, compute: Callable[[], Awaitable[T]]) -> T:
        """The answer kept under `key`, or the one being computed, or `compute()`'s."""
        if key in self._kept:
            self._kept.move_to_end(key)
            return self._kept[key]
        task = self._running.get(key)
        if task is None:
            task = asyncio.ensure_future(self._compute(key, compute))
            task.add_done_callback(_retrieved)
            self._running[key] = task
        # shield: an asker that goes away (a closed connection) leaves the others their answer
        return await asyncio.shield(task)

    async def _compute(self, key: Hashable, compute: Callable[[], Awaitable[T]]) -> T:
        try:
            value = await compute()
        finally:
            del self._running[key]
        self.computed += 1
        self._kept[key] = value
        while len(self._kept) > self.size:
            self._kept.popitem(last=False)
        return value

    def clear(self) -> None:
        """Forget every kept answer (running computations finish for their askers)."""
        self._kept.clear()


def _retrieved(task: asyncio.Task[T]) -> None:
    """Take a failure off a computation whose askers all went away (no "never retrieved")."""
    if not task.cancelled():
        task.exception()
