"""The activity store on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text

from hub.activity import (
    ActivityFilter,
    ActivityStore,
    CallbackPolicy,
    StoreOptions,
    WriterOptions,
    generation,
)
from hub.activity.schema import activities, checkpoints, contacts, status_history
from hub.errors import NotFound, StoreUnavailable, ValidationError
from hub.model import (
    Address,
    AddressKind,
    Channel,
    Checkpoint,
    Direction,
    Flag,
    Quarantined,
    Status,
    StatusUpdate,
    Touch,
    utcnow,
)

NOW = utcnow().replace(microsecond=0)


def phone(value: str) -> Address:
    return Address(kind=AddressKind.PHONE, value=value)


def ext(value: str) -> Address:
    return Address(kind=AddressKind.EXTENSION, value=value)


def call(
    external_id: str,
    number: str = "+74951234567",
    status: Status = Status.ANSWERED,
    direction: Direction = Direction.IN,
    at_min: int = 0,
    extension: str | None = "101",
    **extra: object,
) -> Touch:
    return Touch(
        source="ami:office",
        external_id=external_id,
        channel=Channel.CALL,
        direction=direction,
        status=status,
        occurred_at=NOW + timedelta(minutes=at_min),
        counterparts=(phone(number),),
        employee=ext(extension) if extension else None,
        **extra,
    )  # type: ignore[arg-type]


async def count(store: ActivityStore, table: object = activities) -> int:
    async with store.engine.connect() as conn:
        return int(await conn.scalar(select(func.count()).select_from(table)) or 0)  # type: ignore[arg-type]


async def test_recording_the_same_touch_twice_keeps_one_activity(store: ActivityStore) -> None:
    first = await store.record([call("1.1")])
    again = await store.record([call("1.1")])
    assert (first.created, again.created, again.unchanged) == (1, 0, 1)
    assert await count(store) == 1


async def test_a_later_record_updates_what_may_change(store: ActivityStore) -> None:
    await store.record([call("1.2", status=Status.MISSED, extension=None)])
    result = await store.record([call("1.2", status=Status.ANSWERED, talk_seconds=42.0)])
    assert result.updated == 1
    page = await store.activities.list(ActivityFilter(channel=Channel.CALL))
    row = page.items[0]
    assert (row["status"], row["talk_s"], row["employee_id"]) == ("answered", 42.0, None)
    async with store.engine.connect() as conn:
        history = (await conn.execute(select(status_history.c.status))).scalars().all()
    assert history == ["answered"]


async def test_one_number_written_three_ways_is_one_contact(store: ActivityStore) -> None:
    await store.record(
        [call("a", "8 (495) 123-45-67"), call("b", "+7 495 1234567"), call("c", "74951234567")]
    )
    assert await count(store, contacts) == 1
    page = await store.activities.list(ActivityFilter())
    assert {r["counterpart"] for r in page.items} == {"+74951234567"}
    assert len({r["contact_id"] for r in page.items}) == 1


async def test_unknown_counterparty_becomes_a_lead(store: ActivityStore) -> None:
    await store.record([call("lead-1", "+7 916 000 11 22")])
    found = await store.contacts.search("+79160001122")
    assert len(found) == 1 and found[0]["is_lead"] is True


async def test_unlinked_policy_creates_no_contact(store_url: str) -> None:
    store = await ActivityStore.open(store_url, StoreOptions(unknown_counterparty="unlinked"))
    try:
        await store.record([call("u-1", "+7 916 000 11 22")])
        assert await count(store, contacts) == 0
        assert (await store.activities.list(ActivityFilter())).items[0]["contact_id"] is None
    finally:
        await store.close()


async def test_extensions_and_mailboxes_resolve_to_employees(store: ActivityStore) -> None:
    ivan = await store.employees.add(
        "Ivan", addresses=[ext("101"), Address(kind=AddressKind.EMAIL, value="Ivan@Acme.ru")]
    )
    letter = Touch(
        source="email",
        external_id="<m1@acme.ru>",
        channel=Channel.EMAIL,
        direction=Direction.OUT,
        status=Status.SENT,
        occurred_at=NOW,
        employee=Address(kind=AddressKind.EMAIL, value="ivan@ACME.ru"),
        counterparts=(Address(kind=AddressKind.EMAIL, value="client@example.com"),),
    )
    await store.record([call("e-1"), letter])
    page = await store.activities.list(ActivityFilter(employee_ids=frozenset({ivan})))
    assert len(page.items) == 2


async def test_internal_call_links_the_colleague_and_is_not_a_client_touch(
    store: ActivityStore,
) -> None:
    await store.employees.add("Ivan", addresses=[ext("101")])
    petr = await store.employees.add("Petr", addresses=[ext("102")])
    touch = Touch(
        source="ami:office",
        external_id="i-1",
        channel=Channel.CALL,
        direction=Direction.INTERNAL,
        status=Status.ANSWERED,
        occurred_at=NOW,
        counterparts=(ext("102"),),
    )
    await store.record([touch])
    row = (await store.activities.list(ActivityFilter())).items[0]
    assert (row["employee_id"], row["contact_id"], row["is_client"]) == (petr, None, False)
    assert await count(store, contacts) == 0


async def test_multi_recipient_letter_links_every_participant(store: ActivityStore) -> None:
    letter = Touch(
        source="email",
        external_id="<m2@acme.ru>",
        channel=Channel.EMAIL,
        direction=Direction.OUT,
        status=Status.SENT,
        occurred_at=NOW,
        counterparts=tuple(
            Address(kind=AddressKind.EMAIL, value=f"c{i}@example.com") for i in range(3)
        ),
    )
    await store.record([letter])
    for found in [await store.contacts.search(f"c{i}@example.com") for i in range(3)]:
        timeline = await store.activities.list(ActivityFilter(contact_id=found[0]["id"]))
        assert [r["external_id"] for r in timeline.items] == ["<m2@acme.ru>"]


async def test_invalid_counterpart_is_kept_unlinked_and_explained(store: ActivityStore) -> None:
    await store.record([call("bad-1", "<unknown>")])
    row = (await store.activities.list(ActivityFilter())).items[0]
    assert row["contact_id"] is None
    assert "invalid_addresses" in row["meta"]


async def test_flagged_touches_are_not_client_touches(store: ActivityStore) -> None:
    auto = Touch(
        source="email",
        external_id="<auto@x>",
        channel=Channel.EMAIL,
        direction=Direction.IN,
        status=Status.RECEIVED,
        occurred_at=NOW,
        flags=frozenset({Flag.AUTO_REPLY}),
        counterparts=(Address(kind=AddressKind.EMAIL, value="robot@example.com"),),
    )
    await store.record([auto])
    assert (await store.activities.list(ActivityFilter())).items[0]["is_client"] is False


async def test_status_updates_and_bounces(store: ActivityStore) -> None:
    address = Address(kind=AddressKind.EMAIL, value="gone@example.com")
    await store.record(
        [
            Touch(
                source="email",
                external_id="<m3@acme.ru>",
                channel=Channel.EMAIL,
                direction=Direction.OUT,
                status=Status.SENT,
                occurred_at=NOW,
                counterparts=(address,),
            )
        ]
    )
    result = await store.apply(
        [
            StatusUpdate(
                source="email",
                external_id="<m3@acme.ru>",
                status=Status.BOUNCED,
                at=NOW,
                detail="550 5.1.1 no such user",
                address=address,
            ),
            StatusUpdate(source="email", external_id="<nope>", status=Status.DELIVERED, at=NOW),
        ]
    )
    assert (result.status_updates, result.unmatched_updates) == (1, 1)
    contact = (await store.contacts.search("gone@example.com"))[0]
    assert "bouncing_since" in contact["identities"][0]
    row = (await store.activities.list(ActivityFilter())).items[0]
    assert row["status"] == "bounced" and "550" in row["meta"]["bounced_detail"]


async def test_a_late_sent_never_hides_delivered(store: ActivityStore) -> None:
    sms = Touch(
        source="sms:kannel",
        external_id="s1",
        channel=Channel.SMS,
        direction=Direction.OUT,
        status=Status.SENT,
        occurred_at=NOW,
        counterparts=(phone("+79161234567"),),
    )
    await store.record([sms])
    await store.apply(
        [
            StatusUpdate(source="sms:kannel", external_id="s1", status=Status.DELIVERED, at=NOW),
            StatusUpdate(source="sms:kannel", external_id="s1", status=Status.SENT, at=NOW),
        ]
    )
    assert (await store.activities.list(ActivityFilter())).items[0]["status"] == "delivered"


async def test_checkpoint_is_written_with_its_touches(store: ActivityStore) -> None:
    await store.apply(
        [call("cp-1"), call("cp-2"), Checkpoint(source="ami:office", key="pos", value="2")]
    )
    assert await store.get_checkpoint("ami:office", "pos") == "2"
    await store.apply([Checkpoint(source="ami:office", key="pos", value="3")])
    assert await store.get_checkpoint("ami:office", "pos") == "3"


async def test_checkpoints_alone_are_written_without_raising_the_generation(store: ActivityStore) -> None:
    """A batch of checkpoints alone (a poller's spool, decision 0083) upserts and removes
    them in its own transaction; no KPI answer reads them, so the store's generation stays,
    while a touch raises it."""
    async def generation_now() -> int | None:
        async with store.engine.connect() as conn:
            return await generation.current(conn)

    await store.apply([Checkpoint(source="telegram:main", key="spool:1", value="[1]")])
    before = await generation_now()
    result = await store.apply(
        [
            Checkpoint(source="telegram:main", key="spool:2", value="[2]"),
            Checkpoint(source="telegram:main", key="spool:1", value=""),
            Checkpoint(source="telegram:main", key="offset", value="3"),
        ]
    )
    assert result.checkpoints == 3 and result.created == 0
    assert await store.checkpoints_under("telegram:main", "spool:") == {"spool:2": "[2]"}
    assert await store.get_checkpoint("telegram:main", "offset") == "3"
    assert await generation_now() == before
    await store.apply([call("gen-1"), Checkpoint(source="telegram:main", key="mixed", value="1")])
    assert before is not None and await generation_now() == before + 1

    # On SQLite the writer's checkpoints-alone path runs through the driver (one thread
    # hop): what it stores reads back exactly like what SQLAlchemy itself wrote.
    async with store.writer() as writer:
        await writer.put(Checkpoint(source="telegram:main", key="spool:3", value="[3]"))
        await writer.flush()
    async with store.engine.connect() as conn:
        stamps = dict((await conn.execute(select(checkpoints.c.key, checkpoints.c.updated_at))).all())
        stored = dict((await conn.execute(text("SELECT key, updated_at FROM checkpoints"))).all())
    for key in ("spool:2", "spool:3", "mixed"):
        assert stamps[key].tzinfo is UTC and abs(stamps[key] - utcnow()) < timedelta(minutes=1)
    assert type(stored["spool:3"]) is type(stored["mixed"])
    assert len(str(stored["spool:3"])) == len(str(stored["mixed"]))
    assert await store.get_checkpoint("telegram:main", "spool:3") == "[3]"


async def test_checkpoint_is_not_written_when_its_batch_fails(store: ActivityStore) -> None:
    bad = call("cp-bad")
    object.__setattr__(bad, "metadata", {"not json": object()})
    with pytest.raises(Exception):  # noqa: B017 - any database error
        await store.apply(
            [call("cp-3"), bad, Checkpoint(source="ami:office", key="pos", value="99")]
        )
    assert await store.get_checkpoint("ami:office", "pos") is None
    assert await count(store) == 0


async def test_quarantine_keeps_raw_bytes_once(store: ActivityStore) -> None:
    raw = b"\xff\xfegarbage line"
    for _ in range(2):
        await store.apply([Quarantined(source="ami:office", reason="garbage", raw=raw)])
    rows = await store.quarantined("ami:office")
    assert len(rows) == 1 and rows[0]["raw"] == raw
    assert await store.is_quarantined("ami:office", raw)


async def test_writer_batches_and_survives_a_bad_item(store: ActivityStore) -> None:
    bad = call("w-bad")
    object.__setattr__(bad, "metadata", {"x": object()})
    async with store.writer(WriterOptions(batch_size=100, window_ms=20, queue_size=50)) as writer:
        for i in range(500):
            await writer.put(call(f"w-{i % 450}", number=f"+7916{i % 450:07d}"))
            if i == 250:
                await writer.put(bad)
        await writer.put(Checkpoint(source="ami:office", key="w", value="done"))
        await writer.flush()
        assert await writer.load_checkpoint("ami:office", "w") == "done"
    assert await count(store) == 450
    assert writer.stats.quarantined == 1
    assert len(await store.quarantined("ami:office")) == 1


async def test_writer_finds_a_bad_item_by_halving_not_one_by_one(store: ActivityStore) -> None:
    bad = call("h-bad")
    object.__setattr__(bad, "metadata", {"x": object()})
    calls = 0
    apply = store.apply

    async def counting(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        return await apply(*args, **kwargs)

    store.apply = counting  # type: ignore[method-assign]
    writer = store.writer(WriterOptions(batch_size=256, window_ms=1000, queue_size=300))
    for i in range(255):
        await writer.put(call(f"h-{i}"))
        if i == 100:
            await writer.put(bad)
    await writer.put(Checkpoint(source="ami:office", key="h", value="end"))
    await writer.start()
    await writer.stop()
    assert writer.stats.quarantined == 1 and writer.stats.written == 256
    assert await count(store) == 255
    assert await store.get_checkpoint("ami:office", "h") == "end"
    # 257 items, one refused: ~2·log2(257) transactions (one-by-one would be 257) + quarantine
    assert calls <= 2 * 9 + 2


async def test_full_queue_slows_producers_instead_of_dropping(store: ActivityStore) -> None:
    writer = store.writer(WriterOptions(batch_size=10, window_ms=5, queue_size=5))
    put = asyncio.gather(*(writer.put(call(f"q-{i}")) for i in range(20)))
    await asyncio.sleep(0.05)
    assert not put.done()  # blocked: the writer is not running yet and the queue holds 5
    await writer.start()
    await asyncio.wait_for(put, 10)
    await writer.stop()
    assert await count(store) == 20


async def test_missed_call_raises_a_callback_task_closed_by_a_later_answered_call(
    store: ActivityStore,
) -> None:
    ivan = await store.employees.add("Ivan", addresses=[ext("101")])
    await store.record([call("m-1", status=Status.MISSED, metadata={"extensions_rung": ["101"]})])
    tasks = await store.activities.list(ActivityFilter(channel=Channel.TASK))
    assert len(tasks.items) == 1
    task = tasks.items[0]
    assert (task["status"], task["employee_id"]) == ("planned", ivan)
    await store.record([call("m-2", status=Status.ANSWERED, direction=Direction.OUT, at_min=10)])
    task = (await store.activities.list(ActivityFilter(channel=Channel.TASK))).items[0]
    assert task["status"] == "completed" and task["completed_at"] is not None
    # recording the missed call again raises no second task
    await store.record([call("m-1", status=Status.MISSED, metadata={"extensions_rung": ["101"]})])
    assert len((await store.activities.list(ActivityFilter(channel=Channel.TASK))).items) == 1


async def test_callback_policy_and_region_come_from_the_options(store_url: str) -> None:
    options = StoreOptions(
        region="DE", callbacks=CallbackPolicy(due=timedelta(minutes=5), window=timedelta(hours=1))
    )
    store = await ActivityStore.open(store_url, options)
    try:
        await store.record([call("p-1", "030 1234567", status=Status.MISSED)])
        task = (await store.activities.list(ActivityFilter(channel=Channel.TASK))).items[0]
        assert task["counterpart"] == "+49301234567"  # a local number read as German
        assert datetime.fromisoformat(task["due_at"]) == NOW + timedelta(minutes=5)
        # an answered call two hours later is outside the one-hour window
        await store.record(
            [
                call(
                    "p-2", "030 1234567", status=Status.ANSWERED, direction=Direction.OUT, at_min=120
                )
            ]
        )
        task = (await store.activities.list(ActivityFilter(channel=Channel.TASK))).items[0]
        assert task["status"] == "planned"
        assert (await store.contacts.search("030 1234567"))[0]["id"] == task["contact_id"]
    finally:
        await store.close()


async def test_missed_group_call_goes_to_the_groups_head(store: ActivityStore) -> None:
    head = await store.employees.add("Head")
    for n in ("101", "102", "103"):
        await store.employees.add(f"E{n}", head_id=head, addresses=[ext(n)])
    await store.record(
        [
            call(
                "g-1",
                status=Status.MISSED,
                extension=None,
                metadata={"extensions_rung": ["101", "102", "103"]},
            )
        ]
    )
    task = (await store.activities.list(ActivityFilter(channel=Channel.TASK))).items[0]
    assert task["employee_id"] == head


async def test_answered_call_before_the_miss_does_not_close_it(store: ActivityStore) -> None:
    await store.record(
        [
            call("o-1", status=Status.ANSWERED, direction=Direction.OUT, at_min=-5),
            call("o-2", status=Status.MISSED, at_min=0),
        ]
    )
    task = (await store.activities.list(ActivityFilter(channel=Channel.TASK))).items[0]
    assert task["status"] == "planned"


async def test_merge_moves_identities_and_activities(store: ActivityStore) -> None:
    a = await store.contacts.create("Ivan Petrov", addresses=[phone("+74951234567")], city="Moscow")
    b = await store.contacts.create(
        "I. Petrov",
        addresses=[Address(kind=AddressKind.EMAIL, value="ivan@example.com")],
        segment="A",
    )
    await store.record([call("mg-1")])
    result = await store.contacts.merge(a, b)
    assert (result.identities_moved, result.activities_moved) == (1, 1)
    merged = await store.contacts.get(a)  # follows the merge
    assert merged["id"] == b and merged["city"] == "Moscow" and merged["segment"] == "A"
    assert {i["value"] for i in merged["identities"]} == {"+74951234567", "ivan@example.com"}
    assert len((await store.activities.list(ActivityFilter(contact_id=b))).items) == 1
    await store.record([call("mg-2")])  # the moved phone now resolves to the target
    assert len((await store.activities.list(ActivityFilter(contact_id=b))).items) == 2
    with pytest.raises(ValidationError):
        await store.contacts.merge(a, b)


async def test_duplicate_identity_is_refused_naming_the_owner(store: ActivityStore) -> None:
    first = await store.contacts.create("A", addresses=[phone("8 495 123 45 67")])
    with pytest.raises(ValidationError, match=f"#{first}"):
        await store.contacts.create("B", addresses=[phone("+74951234567")])


async def test_cursor_pagination_walks_everything_once(store: ActivityStore) -> None:
    await store.record([call(f"p-{i}", at_min=i % 7) for i in range(53)])
    seen: list[int] = []
    cursor = None
    while True:
        page = await store.activities.list(ActivityFilter(), limit=10, cursor=cursor)
        seen += [r["id"] for r in page.items]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert len(seen) == len(set(seen)) == 53


async def test_interactions_are_planned_then_completed(store: ActivityStore) -> None:
    emp = await store.employees.add("Ivan")
    contact = await store.contacts.create("Client")
    new_id = await store.activities.add_interaction(
        channel=Channel.MEETING,
        employee_id=emp,
        contact_id=contact,
        subject="Demo",
        due_at=NOW + timedelta(days=1),
    )
    assert (await store.activities.get(new_id))["status"] == "planned"
    done = await store.activities.complete(new_id, result="signed")
    assert done["status"] == "completed" and done["result"] == "signed"
    with pytest.raises(NotFound):
        await store.activities.complete(999999, result="x")


async def test_hierarchy_visibility(store: ActivityStore) -> None:
    boss = await store.employees.add("Boss")
    mid = await store.employees.add("Mid", head_id=boss)
    low = await store.employees.add("Low", head_id=mid)
    other = await store.employees.add("Other")
    assert await store.employees.subtree(boss) == {boss, mid, low}
    assert other not in await store.employees.subtree(boss)


async def test_tokens_are_stored_hashed(store: ActivityStore) -> None:
    emp = await store.employees.add("Ivan")
    token = await store.tokens.create("ivan", "employee", employee_id=emp)
    who = await store.tokens.authenticate(token)
    assert who is not None and (who.role, who.employee_id) == ("employee", emp)
    assert await store.tokens.authenticate(token + "x") is None
    async with store.engine.connect() as conn:
        from hub.activity.schema import api_tokens

        stored = (await conn.execute(select(api_tokens.c.token_hash))).scalars().all()
    assert token not in stored


async def test_unreachable_database_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(StoreUnavailable, match=r"\*\*\*"):
        await ActivityStore.open("postgresql://u:secret@127.0.0.1:1/db")
    blocked = tmp_path / "file"
    blocked.write_text("x")
    with pytest.raises(StoreUnavailable):
        await ActivityStore.open(f"sqlite:///{blocked}/sub/db.sqlite")


async def test_search_folds_cyrillic_case_and_escapes_wildcards(store: ActivityStore) -> None:
    await store.contacts.create("Иван Петров")
    await store.contacts.create("100% Client")
    assert [c["name"] for c in await store.contacts.search("иван")] == ["Иван Петров"]
    assert [c["name"] for c in await store.contacts.search("0%")] == ["100% Client"]
    assert await store.contacts.search("_") == []


async def test_taken_address_is_a_conflict_with_the_owner(store: ActivityStore) -> None:
    from hub.errors import Conflict

    owner = await store.contacts.create("A", addresses=[phone("+74951234567")])
    with pytest.raises(Conflict) as info:
        await store.contacts.create("B", addresses=[phone("84951234567")])
    assert info.value.details["owner_contact_id"] == owner
    assert await store.ping()
