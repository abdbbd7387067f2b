"""The polling spool's bookkeeping: keys in offset order, when held batches are due, and
reading a committed spool back."""

from __future__ import annotations

import json

from hub.channels.messengers.telegram_spool import SPOOL_PREFIX, Spool, spool_key
from hub.model import Checkpoint, Quarantined


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Checkpoints:
    """A sink's checkpoint listing, as the store's writer answers it."""

    def __init__(self, rows: dict[str, str]) -> None:
        self.rows = rows

    async def checkpoints_under(self, source: str, prefix: str) -> dict[str, str]:
        assert source == "telegram:main"
        return {k: v for k, v in self.rows.items() if k.startswith(prefix)}


def _raws(first: int, count: int) -> list[dict[str, object]]:
    return [{"update_id": n, "message": {"message_id": n}} for n in range(first, first + count)]


def test_keys_sort_in_offset_order() -> None:
    keys = [spool_key(n) for n in (7, 1_000_000_001, 100, 99)]
    assert sorted(keys) == [spool_key(n) for n in (7, 99, 100, 1_000_000_001)]
    assert all(k.startswith(SPOOL_PREFIX) for k in keys)


def test_an_entry_carries_the_raw_batch_and_its_removal_is_an_empty_checkpoint() -> None:
    spool = Spool("telegram:main")
    raws = _raws(11, 3)
    batch, entry = spool.entry(raws, 14)
    assert entry == Checkpoint(source="telegram:main", key=spool_key(14), value=entry.value)
    assert json.loads(entry.value) == raws
    assert spool.done(batch) == Checkpoint(source="telegram:main", key=spool_key(14), value="")


def test_held_batches_are_due_when_enough_or_old_enough() -> None:
    clock = Clock()
    spool = Spool("telegram:main", drain_at=250, drain_after_s=0.5, clock=clock)
    assert not spool.due() and not spool.holding
    for first in (1, 101):
        spool.hold(spool.entry(_raws(first, 100), first + 100)[0])
        clock.now += 0.1
    assert spool.holding and not spool.due()
    spool.hold(spool.entry(_raws(201, 100), 301)[0])
    assert spool.due()  # 300 held
    assert [b.key for b in spool.take()] == [spool_key(101), spool_key(201), spool_key(301)]
    assert not spool.holding and not spool.due()
    spool.hold(spool.entry(_raws(301, 10), 311)[0])
    clock.now += 0.49
    assert not spool.due()
    clock.now += 0.02
    assert spool.due()  # the oldest waited half a second


async def test_resume_holds_the_committed_batches_in_order_and_quarantines_unreadable_ones() -> None:
    spool = Spool("telegram:main")
    spool.hold(spool.entry(_raws(1, 5), 6)[0])  # forgotten: the committed spool is the truth
    rows = {
        spool_key(300): json.dumps(_raws(200, 100)),
        spool_key(200): json.dumps(_raws(100, 100)),
        spool_key(400): "{not json",
        "offset": "400",
    }
    unreadable = await spool.resume(Checkpoints(rows))
    held = spool.take()
    assert [b.key for b in held] == [spool_key(200), spool_key(300)]
    assert list(held[0].raws) == _raws(100, 100)
    bad, removal = unreadable
    assert isinstance(bad, Quarantined) and bad.raw == b"{not json" and bad.external_id == spool_key(400)
    assert removal == Checkpoint(source="telegram:main", key=spool_key(400), value="")
