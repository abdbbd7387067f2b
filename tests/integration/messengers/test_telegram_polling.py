"""Long polling against the fake Bot API into the real store: every kind of message, the
offset checkpoint, replays, malformed updates, files, edits, blocks."""

from __future__ import annotations

from pathlib import Path

from hub.activity import ActivityStore, BatchWriter
from hub.channels.messengers.factory import build_capture
from hub.channels.messengers.telegram_spool import OFFSET_KEY
from tests.helpers.fake_telegram import FakeTelegram
from tests.integration.messengers.conftest import activity_rows, identity_of, settings_for

SOURCE = "telegram:main"


def _media(fake: FakeTelegram) -> None:
    fake.send_text(501, 1, "Здравствуйте, есть ли доставка?")
    fake.push(
        "message",
        fake.message(
            501,
            2,
            caption="вот фото",
            photo=[
                {"file_id": "p-small", "file_unique_id": "ps", "width": 90, "height": 90},
                {"file_id": "pbig", "file_unique_id": "pb", "width": 800, "height": 600},
            ],
        ),
    )
    fake.push(
        "message",
        fake.message(
            501,
            3,
            document={
                "file_id": "doc1",
                "file_unique_id": "d1",
                "file_name": "invoice.pdf",
                "mime_type": "application/pdf",
            },
        ),
    )
    fake.push(
        "message",
        fake.message(
            502,
            7,
            voice={"file_id": "v1", "file_unique_id": "vu1", "duration": 4, "mime_type": "audio/ogg"},
        ),
    )


async def test_text_photo_document_voice_become_touches_with_file_ids(
    fake_tg: FakeTelegram, tg_store: ActivityStore, writer: BatchWriter
) -> None:
    _media(fake_tg)
    adapter = build_capture(settings_for(fake_tg), "main")
    await adapter.sync_once(writer)

    rows = await activity_rows(tg_store)
    assert sorted(rows) == ["501:1", "501:2", "501:3", "502:7"]
    text = rows["501:1"]
    assert (text["channel"], text["direction"], text["status"]) == ("messenger", "in", "received")
    assert text["preview"] == "Здравствуйте, есть ли доставка?"
    assert text["counterpart"] == "501" and text["contact_id"] is not None
    assert text["thread_key"] == "telegram:main:501"
    photo = rows["501:2"]["meta"]
    assert photo["kind"] == "photo" and rows["501:2"]["preview"] == "вот фото"
    assert [f["file_id"] for f in photo["files"]] == ["pbig"]  # the largest size only
    document = rows["501:3"]["meta"]["files"][0]
    assert (document["file_name"], document["mime_type"]) == ("invoice.pdf", "application/pdf")
    voice = rows["502:7"]["meta"]
    assert voice["kind"] == "voice" and voice["files"][0]["duration"] == 4
    assert await tg_store.get_checkpoint(SOURCE, OFFSET_KEY) == "5"
    # nothing saved: no files_dir
    assert not [c for c in fake_tg.calls if c.method == "getFile"]


async def test_files_are_saved_only_when_a_folder_is_configured(
    fake_tg: FakeTelegram, writer: BatchWriter, tmp_path: Path
) -> None:
    _media(fake_tg)
    fake_tg.files.update({"pbig": b"JPEG", "doc1": b"%PDF-1.4", "v1": b"OggS"})
    adapter = build_capture(settings_for(fake_tg, files_dir=str(tmp_path / "files")), "main")
    await adapter.sync_once(writer)
    saved = sorted(p.name for p in (tmp_path / "files" / "main").iterdir())
    assert saved == ["d1.bin", "pb.bin", "vu1.bin"]
    assert (tmp_path / "files" / "main" / "d1.bin").read_bytes() == b"%PDF-1.4"


async def test_replayed_updates_record_nothing_twice(
    fake_tg: FakeTelegram, tg_store: ActivityStore, writer: BatchWriter
) -> None:
    for n in range(1, 6):
        fake_tg.send_text(700, n, f"m{n}")
    adapter = build_capture(settings_for(fake_tg), "main")
    await adapter.sync_once(writer)
    first = await activity_rows(tg_store)
    # Telegram delivers the same messages again (new update ids, same chat and message ids)
    for n in range(1, 6):
        fake_tg.send_text(700, n, f"m{n}")
    await adapter.sync_once(writer)
    again = await activity_rows(tg_store)
    assert len(again) == 5
    assert {k: v["id"] for k, v in again.items()} == {k: v["id"] for k, v in first.items()}


async def test_offset_is_resumed_from_the_checkpoint(
    fake_tg: FakeTelegram, tg_store: ActivityStore, writer: BatchWriter
) -> None:
    for n in range(1, 4):
        fake_tg.send_text(800, n, f"m{n}")
    await build_capture(settings_for(fake_tg), "main").sync_once(writer)
    fake_tg.send_text(800, 4, "m4")
    fresh = build_capture(settings_for(fake_tg), "main")  # a new process: nothing in memory
    fake_tg.calls.clear()
    await fresh.sync_once(writer)
    offsets = [c.params.get("offset") for c in fake_tg.calls if c.method == "getUpdates"]
    assert offsets[0] == 4  # the checkpoint, not from the start
    assert sorted(await activity_rows(tg_store)) == ["800:1", "800:2", "800:3", "800:4"]


async def test_a_malformed_update_is_quarantined_and_passed(
    fake_tg: FakeTelegram, tg_store: ActivityStore, writer: BatchWriter
) -> None:
    fake_tg.send_text(900, 1, "before")
    bad_id = fake_tg.next_update_id()
    fake_tg.push_raw({"update_id": bad_id, "message": {"message_id": "x", "chat": "not an object"}})
    fake_tg.send_text(900, 2, "after")
    await build_capture(settings_for(fake_tg), "main").sync_once(writer)
    assert sorted(await activity_rows(tg_store)) == ["900:1", "900:2"]
    bad = await tg_store.quarantined(SOURCE)
    assert len(bad) == 1 and bad[0]["external_id"] == f"update:{bad_id}"
    assert b"not an object" in bad[0]["raw"]
    assert await tg_store.get_checkpoint(SOURCE, OFFSET_KEY) == str(bad_id + 2)


async def test_an_edited_message_updates_its_touch(
    fake_tg: FakeTelegram, tg_store: ActivityStore, writer: BatchWriter
) -> None:
    original = fake_tg.message(950, 1, "Цена 100")
    fake_tg.push("message", original)
    adapter = build_capture(settings_for(fake_tg), "main")
    await adapter.sync_once(writer)
    before = (await activity_rows(tg_store))["950:1"]
    fake_tg.push("edited_message", {**original, "text": "Цена 120", "edit_date": original["date"] + 60})
    await adapter.sync_once(writer)
    rows = await activity_rows(tg_store)
    assert list(rows) == ["950:1"]
    after = rows["950:1"]
    assert after["id"] == before["id"] and after["preview"] == "Цена 120"
    assert after["status"] == "received" and after["occurred_at"] == before["occurred_at"]
    assert "edited_at" in after["meta"]


async def test_a_message_and_its_edit_in_one_batch_are_one_edited_touch(
    fake_tg: FakeTelegram, tg_store: ActivityStore, writer: BatchWriter
) -> None:
    original = fake_tg.message(951, 1, "typo")
    fake_tg.push("message", original)
    fake_tg.push("edited_message", {**original, "text": "fixed", "edit_date": original["date"] + 5})
    await build_capture(settings_for(fake_tg), "main").sync_once(writer)
    rows = await activity_rows(tg_store)
    assert list(rows) == ["951:1"] and rows["951:1"]["preview"] == "fixed"


async def test_blocking_the_bot_marks_the_chat_unreachable_and_unblocking_clears_it(
    fake_tg: FakeTelegram, tg_store: ActivityStore, writer: BatchWriter
) -> None:
    fake_tg.send_text(960, 1, "hi")
    fake_tg.member_change(960, "kicked")
    adapter = build_capture(settings_for(fake_tg), "main")
    await adapter.sync_once(writer)
    identity = await identity_of(tg_store, "telegram", "960")
    assert identity is not None and identity["bouncing_at"] is not None
    assert identity["bounce_detail"] == "the client blocked the bot"
    fake_tg.member_change(960, "member")
    await adapter.sync_once(writer)
    identity = await identity_of(tg_store, "telegram", "960")
    assert identity is not None and identity["bouncing_at"] is None
