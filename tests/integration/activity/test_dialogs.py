"""Dialogs in the store: kept with the touches, owned, read, reminded, answered, counted.

Messages go through the real write path (the batch writer and the fake messenger's
sender, on the messenger contract); after each step the dialogs table must equal a
rebuild from the activities.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from hub.activity import ActivityStore, DialogPolicy, Principal, StoreOptions, dialog_replies
from hub.activity.dialog_reminders import REMINDER_SOURCE
from hub.activity.repos import DialogFilter
from hub.activity.rollups import dialogs as dialog_rows
from hub.activity.schema import activities, dialogs
from hub.demo import seed as demo_seed
from hub.errors import ChannelError, ConfigError, NotFound, ValidationError
from hub.model import Address, AddressKind, Direction, Status, utcnow
from kpi.service import KpiService
from kpi.settings import KpiSettings
from kpi.viewer import Viewer
from tests.helpers.fake_messenger import FakeMessengerSender, incoming

SOURCE = "telegram:support"


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[dict[str, Any]]:
    """A store with a head over alice and bob, a queue employee, and two contacts."""
    url = f"sqlite:///{tmp_path}/d.db"
    store = await ActivityStore.open(url)
    head = await store.employees.add("Helen Head")
    alice = await store.employees.add("Alice", head_id=head)
    bob = await store.employees.add("Bob", head_id=head)
    queue = await store.employees.add("Queue")
    owned = await store.contacts.create(
        "Owned Client",
        owner_employee_id=alice,
        addresses=[Address(kind=AddressKind.TELEGRAM, value="1001")],
    )
    await store.close()
    # unowned dialogs go to the queue employee
    store = await ActivityStore.open(url, StoreOptions(dialogs=DialogPolicy(queue=queue)))
    try:
        yield {
            "store": store,
            "head": head,
            "alice": alice,
            "bob": bob,
            "queue": queue,
            "owned": owned,
        }
    finally:
        await store.close()


async def dialog_table(store: ActivityStore) -> list[tuple[Any, ...]]:
    async with store.engine.connect() as conn:
        rows = (await conn.execute(select(dialogs).order_by(dialogs.c.id))).all()
    return [tuple(r) for r in rows]


async def assert_equals_rebuild(store: ActivityStore) -> None:
    kept = await dialog_table(store)
    async with store.engine.begin() as conn:
        await dialog_rows.rebuild(conn)
    assert await dialog_table(store) == kept


def scope_of(world: dict[str, Any], name: str, role: str = "employee") -> Principal:
    return Principal(name=name, role=role, employee_id=world[name])


async def test_a_dialog_follows_its_messages(world: dict[str, Any]) -> None:
    store: ActivityStore = world["store"]
    t0 = utcnow() - timedelta(hours=2)
    await store.record(
        [
            incoming("telegram", "support", "1001", "hello", t0),
            incoming("telegram", "support", "1001", "anyone?", t0 + timedelta(minutes=1)),
            incoming("telegram", "support", "2002", "new here", t0 + timedelta(minutes=2)),
        ]
    )
    await assert_equals_rebuild(store)
    alice = await store.dialogs.scope(scope_of(world, "alice"))
    page = await store.dialogs.list(alice, DialogFilter(mine=True))
    (mine,) = page.items
    assert mine["contact_name"] == "Owned Client"
    assert mine["owner_employee_id"] == world["alice"]
    assert (mine["messages"], mine["unread"], mine["unanswered"]) == (2, 2, True)
    assert mine["last_preview"] == "anyone?"
    assert mine["platform"] == "telegram" and mine["account"] == "support"
    # the unknown writer became a lead nobody owns: the dialog goes to the queue
    admin = await store.dialogs.scope(Principal(name="a", role="admin"))
    queued = [d for d in (await store.dialogs.list(admin, DialogFilter())).items if d["counterpart"] == "2002"]
    assert queued[0]["owner_employee_id"] == world["queue"]
    # bob sees neither alice's dialog nor the queue's
    bob = await store.dialogs.scope(scope_of(world, "bob"))
    assert (await store.dialogs.list(bob, DialogFilter())).items == []
    with pytest.raises(NotFound):
        await store.dialogs.get(mine["id"], bob)
    # the head sees the dialog of alice (their group), not the queue's
    head = await store.dialogs.scope(scope_of(world, "head", "head"))
    assert [d["id"] for d in (await store.dialogs.list(head, DialogFilter())).items] == [mine["id"]]
    # marking it read clears the unread count, the wait stays
    read = await store.dialogs.mark_read(mine["id"], alice)
    assert (read["unread"], read["unanswered"]) == (0, True)
    await store.record([incoming("telegram", "support", "1001", "still there?", utcnow())])
    again = await store.dialogs.get(mine["id"], alice)
    assert (again["unread"], again["messages"]) == (1, 3)
    await assert_equals_rebuild(store)
    # an edited message changes what the dialog shows, not its counts
    edited = incoming("telegram", "support", "1001", "still there??", utcnow(), message_id="1001:edit")
    await store.record([edited])
    await store.record([replace(edited, preview="still there? (edited)")])
    shown = await store.dialogs.get(mine["id"], alice)
    assert (shown["last_preview"], shown["messages"]) == ("still there? (edited)", 4)
    await assert_equals_rebuild(store)
    # the stranger turns out to be alice's client: merged, the dialog is hers
    merged = await store.dialogs.get(queued[0]["id"], admin)
    await store.contacts.merge(merged["contact_id"], world["owned"])
    moved = await store.dialogs.get(queued[0]["id"], alice)
    assert (moved["contact_id"], moved["owner_employee_id"]) == (world["owned"], world["alice"])
    await assert_equals_rebuild(store)


async def test_a_reply_is_the_employees_and_closes_the_reminder(world: dict[str, Any]) -> None:
    store: ActivityStore = world["store"]
    asked = utcnow() - timedelta(minutes=45)
    await store.record([incoming("telegram", "support", "1001", "price?", asked)])
    alice = await store.dialogs.scope(scope_of(world, "alice"))
    (dialog,) = (await store.dialogs.list(alice, DialogFilter(unanswered=True))).items

    # waiting 45 minutes with 30 allowed: one reply task, for the owner, raised once
    assert await store.dialogs.remind() == 1
    assert await store.dialogs.remind() == 0
    async with store.engine.connect() as conn:
        (task,) = (
            await conn.execute(select(activities).where(activities.c.source == REMINDER_SOURCE))
        ).mappings().all()
    assert task["employee_id"] == world["alice"]
    assert task["status"] == Status.PLANNED.value
    assert task["due_at"] == asked + timedelta(minutes=30)

    async with store.writer() as writer:
        sender = FakeMessengerSender("telegram", "support", writer)
        target = await store.dialogs.target(dialog["id"], alice)
        reply = await dialog_replies.send(store.dialogs, {SOURCE: sender}, alice, target, "  100 €  ")
    assert reply.dialog_id == dialog["id"]
    assert [(s.chat, s.text) for s in sender.outbox] == [("1001", "  100 €")]
    after = await store.dialogs.get(dialog["id"], alice)
    assert (after["unread"], after["unanswered"], after["last_direction"]) == (0, False, "out")
    async with store.engine.connect() as conn:
        out = (
            await conn.execute(
                select(activities).where(activities.c.external_id == reply.result.external_id)
            )
        ).mappings().one()
        done = (
            await conn.execute(select(activities).where(activities.c.id == task["id"]))
        ).mappings().one()
    assert out["employee_id"] == world["alice"]
    assert done["status"] == Status.COMPLETED.value and done["meta"]["completed_by"] == out["id"]
    await assert_equals_rebuild(store)

    # the reply counts as alice's outgoing message in the KPI
    kpi = KpiService(store.engine, KpiSettings())
    month = datetime.now(kpi.tz).strftime("%Y-%m")
    table = await kpi.table(Viewer.admin(), month, employee=world["alice"])
    facts = {c.indicator: c.fact for c in table.cells}
    assert facts["outgoing_messages"] == 1


async def test_replies_are_refused_clearly(world: dict[str, Any]) -> None:
    store: ActivityStore = world["store"]
    await store.record([incoming("telegram", "support", "1001", "hi", utcnow())])
    alice = await store.dialogs.scope(scope_of(world, "alice"))
    (dialog,) = (await store.dialogs.list(alice, DialogFilter())).items
    target = await store.dialogs.target(dialog["id"], alice)
    sender = FakeMessengerSender("telegram", "support", None)
    with pytest.raises(ValidationError, match="needs some text"):
        await dialog_replies.send(store.dialogs, {SOURCE: sender}, alice, target, "   ")
    with pytest.raises(ValidationError, match="at most 4096"):
        await dialog_replies.send(store.dialogs, {SOURCE: sender}, alice, target, "x" * 4097)
    with pytest.raises(ConfigError, match="telegram:support"):
        await dialog_replies.send(store.dialogs, {}, alice, target, "hello")
    sender.refuse = "bot was blocked by the user"
    with pytest.raises(ChannelError, match="blocked"):
        await dialog_replies.send(store.dialogs, {SOURCE: sender}, alice, target, "hello")
    assert sender.outbox == []
    # a contact's chat without a dialog yet is found by their identity
    by_contact = await store.dialogs.target_for_contact(world["owned"], "telegram", ["support"], alice)
    assert (by_contact.source, by_contact.chat) == (SOURCE, "1001")


async def test_a_reminder_goes_to_the_queue_and_a_new_wait_gets_a_new_one(
    world: dict[str, Any],
) -> None:
    store: ActivityStore = world["store"]
    t0 = utcnow() - timedelta(hours=3)
    await store.record([incoming("telegram", "support", "3003", "first", t0)])
    assert await store.dialogs.remind(t0 + timedelta(minutes=10)) == 0
    # a wait older than a week is past reminding
    assert await store.dialogs.remind(t0 + timedelta(days=8)) == 0
    assert await store.dialogs.remind(t0 + timedelta(minutes=31)) == 1
    async with store.writer() as writer:
        sender = FakeMessengerSender("telegram", "support", writer)
        queue = await store.dialogs.scope(scope_of(world, "queue"))
        (dialog,) = (await store.dialogs.list(queue, DialogFilter(mine=True))).items
        target = await store.dialogs.target(dialog["id"], queue)
        await dialog_replies.send(store.dialogs, {SOURCE: sender}, queue, target, "on it")
    later = utcnow()
    await store.record([incoming("telegram", "support", "3003", "second", later)])
    assert await store.dialogs.remind(later + timedelta(minutes=29)) == 0
    assert await store.dialogs.remind(later + timedelta(minutes=31)) == 1
    async with store.engine.connect() as conn:
        tasks = (
            await conn.execute(
                select(activities.c.employee_id, activities.c.status, activities.c.occurred_at)
                .where(activities.c.source == REMINDER_SOURCE)
                .order_by(activities.c.id)
            )
        ).all()
    assert [(e, s) for e, s, _ in tasks] == [
        (world["queue"], "completed"),
        (world["queue"], "planned"),
    ]
    assert tasks[1][2] == later.astimezone(UTC)
    await assert_equals_rebuild(store)


async def test_demo_dialogs_look_alive(tmp_path: Path) -> None:
    store = await ActivityStore.open(f"sqlite:///{tmp_path}/demo.db")
    try:
        await demo_seed(store.engine, activities=3_000, employees=6, contacts=200, seed=2)
        admin = await store.dialogs.scope(Principal(name="a", role="admin"))
        page = await store.dialogs.list(admin, DialogFilter(), limit=500)
        assert {d["source"] for d in page.items} == {"telegram:support", "whatsapp:sales"}
        assert all(d["contact_name"] and d["owner_name"] for d in page.items)
        waiting = (await store.dialogs.list(admin, DialogFilter(unanswered=True))).items
        # the latest messages came in the last hours and wait, unread
        assert waiting and waiting[0]["unread"] > 0
        assert utcnow() - datetime.fromisoformat(waiting[0]["last_at"]) < timedelta(hours=3)
        await assert_equals_rebuild(store)
    finally:
        await store.close()


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_random_arrivals_keep_dialogs_equal_to_a_rebuild(tmp_path: Path, seed: int) -> None:
    """Messages in and out, in order and late, in batches, with dialogs marked read between:
    after every batch the dialogs (moved by appended messages or recomputed) equal a rebuild."""
    rnd = random.Random(seed)
    store = await ActivityStore.open(f"sqlite:///{tmp_path}/r.db")
    try:
        anna = await store.employees.add("Anna")
        admin = await store.dialogs.scope(Principal(name="a", role="admin"))
        t0 = utcnow() - timedelta(days=2)
        clock = 0
        for batch in range(12):
            touches = []
            for _ in range(rnd.randint(1, 8)):
                chat = str(rnd.randint(1, 4))
                clock += rnd.randint(1, 600)
                # now and then a message arrives late, before what is already there
                at = t0 + timedelta(seconds=clock - (rnd.randint(0, clock) if rnd.random() < 0.2 else 0))
                message = incoming("telegram", "support", chat, f"b{batch}", at)
                if rnd.random() < 0.35:
                    message = replace(
                        message,
                        direction=Direction.OUT,
                        status=Status.SENT,
                        metadata={"employee_id": anna},
                    )
                touches.append(message)
            await store.record(touches)
            if rnd.random() < 0.3:
                page = await store.dialogs.list(admin, DialogFilter())
                if page.items:
                    chosen = rnd.choice(page.items)
                    read = t0 + timedelta(seconds=rnd.randint(0, clock))
                    await store.dialogs.mark_read(chosen["id"], admin, read)
            await assert_equals_rebuild(store)
    finally:
        await store.close()
