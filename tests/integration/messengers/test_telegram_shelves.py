"""The polling spool's folder shelf on a real SQLite store (decision 0084): what a start
finds there — segments a kill left, a torn or unreadable record, entries an earlier
version kept as checkpoints — is recorded once, quarantined when it cannot be read, and
let go of; a folder it cannot write to stops the poll with a clear error, losing nothing."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from pathlib import Path

import pytest

from hub.activity import ActivityStore, BatchWriter
from hub.channels.messengers.factory import build_capture
from hub.channels.messengers.telegram_shelves import SUFFIX, CheckpointShelf
from hub.channels.messengers.telegram_spool import OFFSET_KEY, SPOOL_PREFIX, spool_key
from hub.errors import ChannelError
from hub.model import Checkpoint
from tests.helpers.fake_telegram import FakeTelegram
from tests.integration.messengers.conftest import (
    activity_rows,
    kept_batches,
    settings_for,
)

SOURCE = "telegram:main"


def _answer(fake: FakeTelegram, first: int, count: int, chat: int = 930) -> tuple[str, int]:
    """getUpdates' answer text of `count` messages with update (and message) ids `first`,
    `first` + 1, … taken from the fake's sequence, and the answer's next offset."""
    ids = [fake.next_update_id() for _ in range(count)]
    assert ids == list(range(first, first + count))
    updates = [{"update_id": n, "message": fake.message(chat, n, f"сообщение {n}")} for n in ids]
    return json.dumps({"ok": True, "result": updates}, ensure_ascii=False, separators=(",", ":")), first + count


def _record(next_offset: int, data: bytes) -> bytes:
    return b"%d %d\n" % (next_offset, len(data)) + data + b"\n"


def _folder(store: ActivityStore) -> Path:
    folder = store.spool_folder(SOURCE)
    assert folder is not None
    return folder


@pytest.fixture
def spool_dir(tg_store: ActivityStore) -> Path:
    """The bot's spool folder beside the store, made (as a run before a kill left it)."""
    folder = _folder(tg_store)
    folder.mkdir()
    return folder


async def test_the_folder_is_beside_the_database_file_and_only_there(tg_store: ActivityStore, tmp_path: Path) -> None:
    assert _folder(tg_store) == tmp_path / "tg.db.spool-telegram_main"
    memory = await ActivityStore.open("sqlite:///:memory:")
    try:
        assert memory.spool_folder(SOURCE) is None  # nothing is beside a database in memory
    finally:
        await memory.close()


async def test_a_start_records_what_a_kill_left_in_the_folder_and_skips_a_torn_end(
    fake_tg: FakeTelegram, tg_store: ActivityStore, writer: BatchWriter, spool_dir: Path
) -> None:
    folder = spool_dir
    first, after_first = _answer(fake_tg, 1, 5)
    second, after_second = _answer(fake_tg, 6, 5)
    torn, _ = _answer(fake_tg, 11, 5)
    (folder / f"{after_first:020d}{SUFFIX}").write_bytes(
        _record(after_first, first.encode()) + _record(after_second, second.encode())
    )
    (folder / f"{after_second + 5:020d}{SUFFIX}").write_bytes(_record(after_second + 5, torn.encode())[:-40])
    last = fake_tg.send_text(931, 20, "после перезапуска")

    adapter = build_capture(settings_for(fake_tg, poll_limit=5), "main")
    await adapter.sync_once(writer)

    rows = await activity_rows(tg_store)
    assert sorted(rows) == sorted([*(f"930:{n}" for n in range(1, 11)), "931:20"])
    assert rows["930:7"]["preview"] == "сообщение 7"
    assert list(folder.iterdir()) == []  # recorded, then let go of; the torn one with them
    asked = [c.params.get("offset") for c in fake_tg.calls if c.method == "getUpdates"]
    assert asked[0] == after_second  # after what the folder held, not from the start
    assert await tg_store.get_checkpoint(SOURCE, OFFSET_KEY) == str(last + 1)


async def test_an_unreadable_record_is_quarantined_and_the_rest_recorded(
    fake_tg: FakeTelegram, tg_store: ActivityStore, writer: BatchWriter, spool_dir: Path
) -> None:
    folder = spool_dir
    good, after = _answer(fake_tg, 1, 3)
    segment = _record(2, b"{not json") + _record(2, b"\xff\xfe") + _record(after, good.encode())
    (folder / f"{2:020d}{SUFFIX}").write_bytes(segment)

    adapter = build_capture(settings_for(fake_tg, poll_limit=5), "main")
    await adapter.sync_once(writer)

    assert sorted(await activity_rows(tg_store)) == ["930:1", "930:2", "930:3"]
    bad = await tg_store.quarantined(SOURCE)
    assert sorted(q["external_id"] for q in bad) == [f"{2:020d}{SUFFIX}@0", f"{2:020d}{SUFFIX}@{len(_record(2, b'{not json'))}"]
    assert {bytes(q["raw"]) for q in bad} == {b"{not json", b"\xff\xfe"}
    assert list(folder.iterdir()) == []


async def test_a_folder_of_nothing_readable_is_quarantined_and_let_go_of(
    fake_tg: FakeTelegram, tg_store: ActivityStore, writer: BatchWriter, spool_dir: Path
) -> None:
    folder = spool_dir
    (folder / f"{7:020d}{SUFFIX}").write_bytes(_record(7, b"[1, 2"))
    adapter = build_capture(settings_for(fake_tg, poll_limit=5), "main")
    await adapter.sync_once(writer)
    assert [q["reason"] for q in await tg_store.quarantined(SOURCE)] == ["spooled Telegram updates not readable"]
    assert list(folder.iterdir()) == []


async def test_entries_an_earlier_version_kept_as_checkpoints_move_to_the_folder_and_are_recorded(
    fake_tg: FakeTelegram, tg_store: ActivityStore, writer: BatchWriter
) -> None:
    """An upgrade while the store's checkpoints hold spooled batches (decision 0083's
    shelf, the only one before 0084): nothing is lost or recorded twice."""
    first, after_first = _answer(fake_tg, 1, 4)
    second, after_second = _answer(fake_tg, 5, 4)
    old = [{"update_id": n, "message": fake_tg.message(932, n, f"старое {n}")} for n in (9, 10)]
    assert [fake_tg.next_update_id(), fake_tg.next_update_id()] == [9, 10]
    for item in (
        Checkpoint(source=SOURCE, key=spool_key(after_first), value=first),
        Checkpoint(source=SOURCE, key=spool_key(after_second), value=second),
        Checkpoint(source=SOURCE, key=spool_key(11), value=json.dumps(old)),  # a bare list, before 0083
        Checkpoint(source=SOURCE, key=f"{SPOOL_PREFIX}garbled", value="[]"),
        Checkpoint(source=SOURCE, key=OFFSET_KEY, value="11"),
    ):
        await writer.put(item)
    await writer.flush()

    adapter = build_capture(settings_for(fake_tg, poll_limit=5), "main")
    await adapter.sync_once(writer)

    rows = await activity_rows(tg_store)
    assert sorted(rows) == sorted([*(f"930:{n}" for n in range(1, 9)), "932:9", "932:10"])
    assert await tg_store.checkpoints_under(SOURCE, SPOOL_PREFIX) == {}
    assert await kept_batches(tg_store) == {}
    assert [q["external_id"] for q in await tg_store.quarantined(SOURCE)] == [f"{SPOOL_PREFIX}garbled"]
    assert await tg_store.get_checkpoint(SOURCE, OFFSET_KEY) == "11"


async def test_a_folder_that_cannot_be_written_stops_the_poll_with_a_clear_error(
    fake_tg: FakeTelegram, tg_store: ActivityStore, writer: BatchWriter
) -> None:
    """Nothing is confirmed to Telegram that was not kept: after the error the same batch
    is asked for again, and kept once the folder can be written."""
    _folder(tg_store).write_text("a file where the folder goes")
    for n in range(1, 6):
        fake_tg.send_text(933, n, f"сообщение {n}")
    adapter = build_capture(settings_for(fake_tg, poll_limit=5), "main")
    with pytest.raises(ChannelError, match=r"cannot keep fetched updates in .*tg\.db\.spool-telegram_main"):
        await adapter.poll_once(writer, None, 0)
    assert fake_tg.confirmed_below == 0

    _folder(tg_store).unlink()
    await adapter.sync_once(writer)
    assert sorted(await activity_rows(tg_store)) == [f"933:{n}" for n in range(1, 6)]
    asked = [c.params.get("offset") for c in fake_tg.calls if c.method == "getUpdates"]
    assert asked[:2] == [None, None]  # the batch that could not be kept, asked for again


async def test_the_checkpoint_shelf_reads_back_in_order_and_quarantines_what_it_cannot_read(
    store: ActivityStore,
) -> None:
    """PostgreSQL's shelf (decision 0083), on both backends: entries in offset order, a bare
    list (written before 0083) read as well, an unreadable one quarantined and removed."""
    shelf = CheckpointShelf(SOURCE)
    fake = FakeTelegram()
    later, after_later = _answer(fake, 1, 3)
    earlier = [{"update_id": 7, "message": fake.message(934, 7, "раньше")}]
    async with store.writer() as writer:
        for key, value in (
            (spool_key(after_later), later),
            (spool_key(2), json.dumps(earlier)),  # sorts first: keys are zero-padded offsets
            (spool_key(3), "{not json"),
        ):
            await writer.put(Checkpoint(source=SOURCE, key=key, value=value))
        await writer.flush()
        batches = await shelf.resume(writer)
        await writer.flush()
    assert [(b.next_offset, [u["update_id"] for u in b.raws]) for b in batches] == [(2, [7]), (4, [1, 2, 3])]
    assert [(q["external_id"], bytes(q["raw"])) for q in await store.quarantined(SOURCE)] == [
        (spool_key(3), b"{not json")
    ]
    assert sorted(await store.checkpoints_under(SOURCE, SPOOL_PREFIX)) == [spool_key(2), spool_key(4)]


async def test_an_error_while_batches_are_held_resumes_from_the_folder_losing_and_doubling_nothing(
    fake_tg: FakeTelegram, store: ActivityStore
) -> None:
    """The running adapter (`run`, as `serve` runs it) meets a 502 and then a 429 from the
    Bot API while its spool holds batches Telegram has forgotten: it backs off, reads its
    shelf again (the folder on SQLite, the checkpoints on PostgreSQL), and every message is
    recorded once."""
    for n in range(1, 24):
        fake_tg.send_text(935, n, f"сообщение {n}")
    fake_tg.latency_s = 0.05
    adapter = build_capture(settings_for(fake_tg, poll_limit=5), "main")
    writer = store.writer()
    await writer.start()
    running = asyncio.create_task(adapter.run(writer))
    try:
        deadline = time.monotonic() + 30
        while fake_tg.confirmed_below < 6:  # the first batch kept, then confirmed
            assert time.monotonic() < deadline and not running.done()
            await asyncio.sleep(0.01)
        held = await kept_batches(store)
        assert held and min(held) <= fake_tg.confirmed_below  # kept, and forgotten by Telegram
        fake_tg.fail("getUpdates", 502, "Bad Gateway")
        fake_tg.fail("getUpdates", 429, "Too Many Requests: retry after 1", retry_after=1)
        while len(await activity_rows(store)) < 23 or await kept_batches(store):
            assert time.monotonic() < deadline, (len(await activity_rows(store)), await kept_batches(store))
            assert not running.done()
            await asyncio.sleep(0.05)
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running
        await writer.stop()
    assert sorted(await activity_rows(store)) == sorted(f"935:{n}" for n in range(1, 24))
    assert not fake_tg.errors["getUpdates"]  # both errors were met
    assert adapter.health.last_error is not None and "RateLimited" in adapter.health.last_error
    assert await store.get_checkpoint(SOURCE, OFFSET_KEY) == "24"
