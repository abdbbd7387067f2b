"""The polling spool's bookkeeping: keys in offset order, when held batches are due, and
reading a committed spool back."""

from __future__ import annotations

import json

from hub.channels.messengers.settings import TelegramBotSettings
from hub.channels.messengers.telegram_client import make_bot
from hub.channels.messengers.telegram_ingest import UpdateIngest
from hub.channels.messengers.telegram_spool import SPOOL_PREFIX, Spool, spool_key
from hub.channels.messengers.telegram_updates import UpdatesAnswer
from hub.model import AdapterHealth, Checkpoint, Quarantined


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


def _answer(first: int, count: int) -> UpdatesAnswer:
    """getUpdates' answer as Telegram writes it (no spaces, Cyrillic unescaped)."""
    raws = _raws(first, count)
    return UpdatesAnswer(json.dumps({"ok": True, "result": raws}, separators=(",", ":")), raws)


def test_keys_sort_in_offset_order() -> None:
    keys = [spool_key(n) for n in (7, 1_000_000_001, 100, 99)]
    assert sorted(keys) == [spool_key(n) for n in (7, 99, 100, 1_000_000_001)]
    assert all(k.startswith(SPOOL_PREFIX) for k in keys)


def test_an_entry_keeps_the_answer_as_sent_and_its_removal_is_an_empty_checkpoint() -> None:
    spool = Spool("telegram:main")
    answer = _answer(11, 3)
    batch, entry = spool.entry(answer, 14)
    assert entry == Checkpoint(source="telegram:main", key=spool_key(14), value=answer.text)
    assert list(batch.raws) == _raws(11, 3)
    assert spool.done(batch) == Checkpoint(source="telegram:main", key=spool_key(14), value="")


def test_held_batches_are_due_when_enough_or_old_enough() -> None:
    clock = Clock()
    spool = Spool("telegram:main", drain_at=250, drain_after_s=0.5, clock=clock)
    assert not spool.due() and not spool.holding
    for first in (1, 101):
        spool.hold(spool.entry(_answer(first, 100), first + 100)[0])
        clock.now += 0.1
    assert spool.holding and not spool.due()
    spool.hold(spool.entry(_answer(201, 100), 301)[0])
    assert spool.due()  # 300 held
    assert [b.key for b in spool.take()] == [spool_key(101), spool_key(201), spool_key(301)]
    assert not spool.holding and not spool.due()
    spool.hold(spool.entry(_answer(301, 10), 311)[0])
    clock.now += 0.49
    assert not spool.due()
    clock.now += 0.02
    assert spool.due()  # the oldest waited half a second


async def test_resume_holds_the_committed_batches_in_order_and_quarantines_unreadable_ones() -> None:
    """Entries are answers as Telegram sent them; a bare list is what a spool written before
    decision 0083 holds, and reads back as well."""
    spool = Spool("telegram:main")
    spool.hold(spool.entry(_answer(1, 5), 6)[0])  # forgotten: the committed spool is the truth
    rows = {
        spool_key(300): json.dumps(_raws(200, 100)),
        spool_key(200): _answer(100, 100).text,
        spool_key(400): "{not json",
        spool_key(500): '{"ok":true,"result":{"update_id":1}}',
        "offset": "400",
    }
    unreadable = await spool.resume(Checkpoints(rows))
    held = spool.take()
    assert [b.key for b in held] == [spool_key(200), spool_key(300)]
    assert list(held[0].raws) == _raws(100, 100) and list(held[1].raws) == _raws(200, 100)
    bad, removal, bad_too, removal_too = unreadable
    assert isinstance(bad, Quarantined) and bad.raw == b"{not json" and bad.external_id == spool_key(400)
    assert removal == Checkpoint(source="telegram:main", key=spool_key(400), value="")
    assert isinstance(bad_too, Quarantined) and bad_too.external_id == spool_key(500)
    assert removal_too == Checkpoint(source="telegram:main", key=spool_key(500), value="")


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
        spool.hold(spool.entry(UpdatesAnswer(json.dumps({"ok": True, "result": raws}), raws), offset)[0])
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
    spool.hold(spool.entry(UpdatesAnswer(json.dumps(raws), raws), 5)[0])
    spool.digest_some(ingest, limit=1)
    (batch,) = spool.take()
    assert batch.parsed == 1
    digest = batch.parse(ingest)
    assert [getattr(item, "external_id", None) for item in digest.items] == ["77:1", "77:2", "77:3", "77:4"]
