"""`heap.settle` sets the start-up heap aside from the collector, and collection still works
for what is made afterwards."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from hub import heap


@pytest.fixture
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()


class _Node:
    def __init__(self) -> None:
        self.me = self  # a cycle: only the collector frees it


def test_settle_sets_the_heap_aside_and_later_cycles_are_still_collected(unfrozen: None) -> None:
    before = _Node()
    set_aside = heap.settle()
    assert set_aside > 1000 and gc.get_freeze_count() == set_aside
    later = _Node()
    gone = weakref.ref(later)
    del later
    gc.collect()
    assert gone() is None  # made after settle: collected as ever
    kept = weakref.ref(before)
    del before
    gc.collect()
    assert kept() is not None  # set aside: never collected (it lives as long as the process)
