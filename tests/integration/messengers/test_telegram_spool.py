"""The polling spool under SIGKILL: `touchhub serve` killed while the spool holds batches
Telegram has already been told to forget; the next start records them from the spool,
and every message is there once."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import subprocess
import time
from pathlib import Path

from hub.activity import ActivityStore, BatchWriter
from hub.channels.messengers.factory import build_capture
from hub.channels.messengers.telegram_spool import OFFSET_KEY, SPOOL_PREFIX
from tests.helpers.fake_telegram import FakeTelegram
from tests.integration.messengers.conftest import (
    activity_rows,
    folder_batches,
    kept_batches,
    polling_hub,
    settings_for,
)
from tests.integration.messengers.test_telegram_restart import _offset, _rows

FIRST = 300
LATER = 30
RUN_TIMEOUT_S = 90.0


async def test_full_batches_are_spooled_then_recorded_in_order_with_edits_and_bad_updates(
    fake_tg: FakeTelegram, store: ActivityStore
) -> None:
    """On both backends: the raw batches kept on the shelf (a folder beside SQLite's file,
    the checkpoints table on PostgreSQL) and back."""
    async with store.writer() as writer:
        await _spool_then_record(fake_tg, store, writer)


async def _spool_then_record(fake_tg: FakeTelegram, tg_store: ActivityStore, writer: BatchWriter) -> None:
    original = fake_tg.message(960, 1, "Цена 100")
    fake_tg.push("message", original)
    for n in range(2, 16):
        fake_tg.send_text(960 + n % 3, n, f"message {n}")
    bad_id = fake_tg.next_update_id()
    fake_tg.push_raw({"update_id": bad_id, "message": {"message_id": "x", "chat": "not an object"}})
    fake_tg.push("edited_message", {**original, "text": "Цена 120", "edit_date": original["date"] + 60})
    last = fake_tg.send_text(961, 16, "the last one")  # 18 updates: three full batches of 5, then 3
    adapter = build_capture(settings_for(fake_tg, poll_limit=5), "main")
    await adapter.poll_once(writer, None, 0)  # one full batch: spooled, not recorded yet
    assert await kept_batches(tg_store) == {6: [1, 2, 3, 4, 5]}
    assert await activity_rows(tg_store) == {}
    on_folder = tg_store.spool_folder("telegram:main") is not None
    # The checkpoint shelf commits the offset with the batch; the folder shelf with its touches.
    assert await tg_store.get_checkpoint("telegram:main", OFFSET_KEY) == (None if on_folder else "6")
    await adapter.sync_once(writer)

    rows = await activity_rows(tg_store)
    assert sorted(rows) == sorted(f"{960 + n % 3 if n > 1 else 960}:{n}" for n in range(1, 17))
    assert rows["960:1"]["preview"] == "Цена 120"  # the edit, spooled after its original
    assert [q["external_id"] for q in await tg_store.quarantined("telegram:main")] == [f"update:{bad_id}"]
    assert await tg_store.get_checkpoint("telegram:main", OFFSET_KEY) == str(last + 1)
    assert await kept_batches(tg_store) == {}
    assert await tg_store.checkpoints_under("telegram:main", SPOOL_PREFIX) == {}
    asked = [c.params.get("offset") for c in fake_tg.calls if c.method == "getUpdates"]
    assert asked[:4] == [None, 6, 11, 16]  # each full batch kept (spooled), then confirmed
    assert len(asked) == len(set(asked))  # no getUpdates is asked twice for one offset


def _spool(db: Path) -> dict[int, list[int]]:
    """What the folder shelf beside `db` keeps: the next offset of each batch → its ids."""
    return folder_batches(db.with_name(f"{db.name}.spool-telegram_main"))


async def _kill_holding_confirmed(proc: subprocess.Popen[str], db: Path, fake: FakeTelegram) -> dict[int, list[int]]:
    """SIGKILL `proc` at a moment when its committed spool holds updates Telegram no longer
    has (frozen with SIGSTOP to look, let go again when the moment is not right)."""
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        proc.send_signal(signal.SIGSTOP)
        spool = _spool(db)
        if any(offset <= fake.confirmed_below for offset in spool):
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
            return spool
        proc.send_signal(signal.SIGCONT)
        await asyncio.sleep(0.01)
    raise AssertionError("the spool never held a confirmed batch")


async def test_kill_9_with_a_spool_of_confirmed_updates_loses_and_doubles_nothing(
    fake_tg: FakeTelegram, tmp_path: Path
) -> None:
    for n in range(1, FIRST + 1):
        fake_tg.send_text(8000 + n % 7, n, f"message {n}")
    fake_tg.latency_s = 0.02  # full batches of ten, a fiftieth of a second each
    hub = polling_hub(tmp_path, fake_tg)
    db = tmp_path / "hub.db"

    spool = await _kill_holding_confirmed(hub.start("serve"), db, fake_tg)
    confirmed = fake_tg.confirmed_below
    held = {uid for offset, ids in spool.items() if offset <= confirmed for uid in ids}
    assert held and max(held) < confirmed  # Telegram will not send these again
    recorded, _, ids = _rows(db)
    assert recorded < FIRST
    assert not {f"{8000 + n % 7}:{n}" for n in held} & ids  # only the spool has them
    # The folder shelf stores the offset with the touches: the next start asks from the
    # higher of that and the last batch kept.
    saved = max(_offset(db) or 0, *spool)
    assert saved >= confirmed

    for n in range(FIRST + 1, FIRST + LATER + 1):
        fake_tg.send_text(8000 + n % 7, n, f"message {n}")
    calls_before = len(fake_tg.calls)
    second = hub.start("serve")
    try:
        deadline = time.monotonic() + RUN_TIMEOUT_S
        while _rows(db)[0] < FIRST + LATER:
            assert second.poll() is None, second.stderr.read() if second.stderr else ""
            assert time.monotonic() < deadline, "serve made no progress"
            await asyncio.sleep(0.02)
        second.send_signal(signal.SIGTERM)
        assert second.wait(30) == 0
    finally:
        if second.poll() is None:
            second.kill()
            second.wait(10)

    count, distinct, ids = _rows(db)
    assert count == distinct == FIRST + LATER  # no duplicate
    assert ids == {f"{8000 + n % 7}:{n}" for n in range(1, FIRST + LATER + 1)}  # no gap
    assert _spool(db) == {}  # everything spooled was recorded and its segment removed
    assert not list(db.with_name(f"{db.name}.spool-telegram_main").iterdir())
    resumed = [c.params.get("offset") for c in fake_tg.calls[calls_before:] if c.method == "getUpdates"]
    assert resumed[0] == saved  # the held updates came from the spool, not from Telegram


async def test_what_is_spooled_is_parsed_while_the_next_getupdates_waits(
    fake_tg: FakeTelegram, store: ActivityStore
) -> None:
    """Decision 0083: a held batch is parsed during the next poll's wait on Telegram, not
    when it is recorded; a poll cancelled in that wait takes its request down with it."""
    for n in range(1, 13):
        fake_tg.send_text(970, n, f"сообщение {n}")
    fake_tg.latency_s = 0.2
    adapter = build_capture(settings_for(fake_tg, poll_limit=5), "main")
    async with store.writer() as writer:
        offset, _ = await adapter.poll_once(writer, None, 0)
        assert adapter.spool.unparsed == 5  # the first batch: durable, not parsed yet
        offset, _ = await adapter.poll_once(writer, offset, 0)
        assert adapter.spool.unparsed == 5  # the first parsed during the wait, the second not yet

        polling = asyncio.create_task(adapter.poll_once(writer, offset, 0))
        await asyncio.sleep(0.05)
        polling.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await polling
        await asyncio.sleep(0)
        waiting = [t for t in asyncio.all_tasks() if getattr(t.get_coro(), "__qualname__", "") == "TelegramCapture._call"]
        assert not waiting  # no request left behind
        assert adapter.spool.unparsed == 0

        fake_tg.latency_s = 0
        await adapter.sync_once(writer)
    rows = await activity_rows(store)
    assert sorted(rows) == sorted(f"970:{n}" for n in range(1, 13))
    assert await store.checkpoints_under("telegram:main", SPOOL_PREFIX) == {}
