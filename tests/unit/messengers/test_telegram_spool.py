"""The polling spool's bookkeeping: keys in offset order, when held batches are due,
parsing held batches bit by bit, and reading a folder shelf's segments back."""

from __future__ import annotations

import json

from hub.channels.messengers.settings import TelegramBotSettings
from hub.channels.messengers.telegram_client import make_bot
from hub.channels.messengers.telegram_ingest import UpdateIngest
from hub.channels.messengers.telegram_shelves import records_in
from hub.channels.messengers.telegram_spool import SPOOL_PREFIX, Spool, SpooledBatch, spool_key
from hub.model import AdapterHealth


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _raws(first: int, count: int) -> list[dict[str, object]]:
    return [{"update_id": n, "message": {"message_id": n}} for n in range(first, first + count)]


def test_keys_sort_in_offset_order() -> None:
    keys = [spool_key(n) for n in (7, 1_000_000_001, 100, 99)]
    assert sorted(keys) == [spool_key(n) for n in (7, 99, 100, 1_000_000_001)]
    assert all(k.startswith(SPOOL_PREFIX) for k in keys)


def test_held_batches_are_due_when_enough_or_old_enough() -> None:
    clock = Clock()
    spool = Spool("telegram:main", drain_at=250, drain_after_s=0.5, clock=clock)
    assert not spool.due() and not spool.holding
    for first in (1, 101):
        spool.hold(SpooledBatch(first + 100, tuple(_raws(first, 100))))
        clock.now += 0.1
    assert spool.holding and not spool.due()
    spool.hold(SpooledBatch(301, tuple(_raws(201, 100))))
    assert spool.due()  # 300 held
    assert [b.key for b in spool.take()] == [spool_key(101), spool_key(201), spool_key(301)]
    assert not spool.holding and not spool.due()
    spool.hold(SpooledBatch(311, tuple(_raws(301, 10))))
    clock.now += 0.49
    assert not spool.due()
    clock.now += 0.02
    assert spool.due()  # the oldest waited half a second


def _ingest() -> UpdateIngest:
    settings = TelegramBotSettings.model_validate({"token": "1:x", "api_url": "http://127.0.0.1:9"})
    return UpdateIngest(bot_name="main", bot=make_bot(settings), health=AdapterHealth(name="telegram:main"))


def _texts(first: int, count: int) -> list[dict[str, object]]:
    chat = {"id": 77, "type": "private", "first_name": "Анна"}
    return [
        {"update_id": n, "message": {"message_id": n, "chat": chat, "date": 1_700_000_000, "text": f"№{n}"}}
        for n in range(first, first + count)
    ]


def test_held_batches_are_parsed_a_few_updates_at_a_time_oldest_first() -> None:
    spool, ingest = Spool("telegram:main"), _ingest()
    first = _texts(1, 5)
    first[2] = {"update_id": 3, "message": {"message_id": "x"}}  # malformed: quarantined in place
    for raws, offset in ((first, 6), (_texts(6, 5), 11)):
        spool.hold(SpooledBatch(offset, tuple(raws)))
    assert spool.unparsed == 10
    steps = []
    while spool.digest_some(ingest, limit=3):
        steps.append(spool.unparsed)
    assert steps == [7, 5, 2, 0]  # 3 of the first, its last 2, then the second batch
    held = spool.take()
    assert [b.raws for b in held] == [(), ()]  # let go once parsed
    kinds = [type(item).__name__ for item in held[0].digest.items]
    assert kinds == ["Touch", "Touch", "Quarantined", "Touch", "Touch"]
    assert [getattr(item, "external_id", None) for item in held[1].digest.items] == [f"77:{n}" for n in range(6, 11)]
    assert held[0].digest.top == 5 and held[1].digest.updates == 5
    assert not spool.digest_some(ingest) and spool.unparsed == 0


def test_a_batch_parses_what_is_left_when_it_is_recorded() -> None:
    spool, ingest = Spool("telegram:main"), _ingest()
    raws = _texts(1, 4)
    spool.hold(SpooledBatch(5, tuple(raws)))
    spool.digest_some(ingest, limit=1)
    (batch,) = spool.take()
    assert batch.parsed == 1
    digest = batch.parse(ingest)
    assert [getattr(item, "external_id", None) for item in digest.items] == ["77:1", "77:2", "77:3", "77:4"]


def _record(next_offset: int, data: bytes) -> bytes:
    return b"%d %d\n" % (next_offset, len(data)) + data + b"\n"


def test_a_segment_reads_back_record_by_record_and_a_torn_end_is_left_out() -> None:
    """A segment is what the folder shelf appended: records in order; a write cut short by
    a kill leaves a tail that is not a whole record (never confirmed to Telegram)."""
    first = json.dumps({"ok": True, "result": _raws(1, 2)}, ensure_ascii=False).encode()
    second = "{\"ok\":true,\"result\":[]}\n«Привет»".encode()  # a newline inside is fine
    whole = _record(3, first) + _record(7, second)
    records = records_in(whole, "x.spool")
    assert [(r.next_offset, r.data, r.at) for r in records] == [(3, first, 0), (7, second, len(_record(3, first)))]
    for cut in (1, 5, len(second) // 2, len(second) + 1):  # torn inside the last record
        assert [r.next_offset for r in records_in(whole[:-cut], "x.spool")] == [3]
    assert records_in(b"", "x.spool") == []
    assert records_in(b"garbage without a header" + whole, "x.spool") == []  # garbled: nothing after it is trusted
    assert [r.next_offset for r in records_in(_record(3, first) + b"12 x\n", "x.spool")] == [3]
