"""The dialogs API on SQLite and PostgreSQL: who sees which, threads, replies, reading.

Replies go to a fake messenger account (`tests/helpers/fake_messenger.py`) whose sender
records the outgoing touch through the store's batch writer, as a real one does.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

from hub.activity import ActivityStore
from hub.model import Address, AddressKind, utcnow
from tests.helpers.fake_messenger import FakeMessengerSender, incoming
from tests.helpers.web import ApiWorld, Seeded, api_world
from tests.integration.web.test_query_counts import ROWS, counting

SOURCE = "telegram:support"


@dataclass
class DialogWorld:
    api: ApiWorld
    sender: FakeMessengerSender
    refusing: FakeMessengerSender
    contact: int

    async def dialogs(self, who: str, **params: str) -> list[dict[str, Any]]:
        resp = await self.api.get("/api/v1/dialogs", who=who, params=params)
        assert resp.status == 200, await resp.text()
        items: list[dict[str, Any]] = (await resp.json())["items"]
        return items

    async def dialog_of(self, chat: str) -> dict[str, Any]:
        (found,) = [d for d in await self.dialogs("admin") if d["counterpart"] == chat]
        return found


@pytest.fixture
async def world(store: ActivityStore) -> AsyncIterator[DialogWorld]:
    """Alice's client writing on telegram:support, a stranger (a lead nobody owns) on the
    same bot, and a client on a VK group whose sender refuses everything."""
    async with store.writer() as writer:
        sender = FakeMessengerSender("telegram", "support", writer)
        refusing = FakeMessengerSender("vk", "group", writer)
        refusing.refuse = "user blocked the group"
        senders = {SOURCE: sender, "vk:group": refusing}
        async with api_world(store, senders=senders) as api:
            contact = await store.contacts.create(
                "Ivan Client",
                owner_employee_id=api.employees["alice"],
                addresses=[Address(kind=AddressKind.TELEGRAM, value="5001")],
            )
            t0 = utcnow() - timedelta(hours=1)
            await store.record(
                [
                    incoming("telegram", "support", "5001", "hello", t0),
                    incoming("telegram", "support", "5001", "is it in stock?", t0 + timedelta(minutes=1)),
                    incoming("telegram", "support", "7007", "who are you?", t0 + timedelta(minutes=2)),
                    incoming("vk", "group", "42", "hi from vk", t0 + timedelta(minutes=3)),
                ]
            )
            yield DialogWorld(api=api, sender=sender, refusing=refusing, contact=contact)


async def test_each_role_sees_its_dialogs(world: DialogWorld) -> None:
    chats = {who: sorted(d["counterpart"] for d in await world.dialogs(who)) for who in ("admin", "head", "alice", "bob")}
    # unowned dialogs (a stranger's lead) are seen by every head and employee
    assert chats == {
        "admin": ["42", "5001", "7007"],
        "head": ["42", "5001", "7007"],
        "alice": ["42", "5001", "7007"],
        "bob": ["42", "7007"],
    }
    assert [d["counterpart"] for d in await world.dialogs("alice", mine="true")] == ["5001"]
    assert await world.dialogs("bob", mine="true") == []
    assert [d["counterpart"] for d in await world.dialogs("admin", channel="vk")] == ["42"]
    assert len(await world.dialogs("admin", channel="telegram", account="support")) == 2
    assert await world.dialogs("admin", channel="whatsapp") == []
    ivan = await world.dialog_of("5001")
    assert ivan["contact_id"] == world.contact and ivan["owner_name"] == "Alice"
    assert (ivan["unread"], ivan["messages"], ivan["unanswered"]) == (2, 2, True)
    resp = await world.api.get("/api/v1/dialogs", who="marketer")
    assert resp.status == 403
    # an account name alone finds that account on any messenger
    assert len(await world.dialogs("admin", account="support")) == 2
    assert await world.dialogs("admin", account="nobody") == []
    resp = await world.api.get("/api/v1/dialogs", params={"channel": "icq"})
    assert resp.status == 422, await resp.text()
    assert (await resp.json())["error"]["field"] == "channel"
    resp = await world.api.get("/api/v1/dialogs", params={"cursor": "nonsense"})
    assert resp.status in (400, 422)


async def test_pages_of_dialogs_and_of_a_thread(world: DialogWorld) -> None:
    resp = await world.api.get("/api/v1/dialogs", params={"limit": "2"})
    first = await resp.json()
    resp = await world.api.get("/api/v1/dialogs", params={"limit": "2", "cursor": first["next_cursor"]})
    second = await resp.json()
    assert second["next_cursor"] is None
    assert [d["counterpart"] for d in first["items"] + second["items"]] == ["42", "7007", "5001"]
    ivan = await world.dialog_of("5001")
    resp = await world.api.get(f"/api/v1/dialogs/{ivan['id']}", who="alice", params={"limit": "1"})
    page = await resp.json()
    assert [m["preview"] for m in page["messages"]] == ["is it in stock?"]
    resp = await world.api.get(
        f"/api/v1/dialogs/{ivan['id']}", who="alice", params={"cursor": page["next_cursor"]}
    )
    assert [m["preview"] for m in (await resp.json())["messages"]] == ["hello"]
    for who, path in (("bob", f"/api/v1/dialogs/{ivan['id']}"), ("admin", "/api/v1/dialogs/999999")):
        resp = await world.api.get(path, who=who)
        assert resp.status == 404, await resp.text()


async def test_a_reply_reaches_the_platform_and_the_timeline(world: DialogWorld) -> None:
    ivan = await world.dialog_of("5001")
    resp = await world.api.post(
        f"/api/v1/dialogs/{ivan['id']}/messages", who="alice", json={"text": "Yes, 3 left."}
    )
    assert resp.status == 201, await resp.text()
    sent = await resp.json()
    assert sent["dialog_id"] == ivan["id"] and sent["outcome"] == "sent"
    assert [(s.chat, s.text) for s in world.sender.outbox] == [("5001", "Yes, 3 left.")]
    resp = await world.api.get(f"/api/v1/dialogs/{ivan['id']}", who="alice")
    thread = await resp.json()
    newest = thread["messages"][0]
    assert (newest["direction"], newest["preview"]) == ("out", "Yes, 3 left.")
    assert newest["employee_id"] == world.api.employees["alice"]
    assert (thread["dialog"]["unread"], thread["dialog"]["unanswered"]) == (0, False)
    resp = await world.api.get(f"/api/v1/contacts/{world.contact}/timeline", who="alice")
    timeline = await resp.json()
    assert any(a["external_id"] == sent["message_id"] for a in timeline["items"])


async def test_replies_that_cannot_go_are_refused_clearly(world: DialogWorld) -> None:
    ivan = await world.dialog_of("5001")
    vk = await world.dialog_of("42")
    cases = [
        ("alice", ivan["id"], {"text": "   "}, 422),
        ("alice", ivan["id"], {"text": "x" * 5000}, 422),
        ("alice", ivan["id"], {}, 422),
        ("alice", ivan["id"], {"text": 5}, 422),
        ("bob", ivan["id"], {"text": "hello"}, 404),
        ("marketer", ivan["id"], {"text": "hello"}, 403),
        ("admin", 999999, {"text": "hello"}, 404),
        ("alice", vk["id"], {"text": "hello"}, 502),
    ]
    for who, dialog_id, body, status in cases:
        resp = await world.api.post(f"/api/v1/dialogs/{dialog_id}/messages", who=who, json=body)
        assert resp.status == status, (who, body, await resp.text())
        assert (await resp.json())["error"]["message"]
    assert world.sender.outbox == []
    # an account with no sender configured here: 503, saying which
    seeded = Seeded(employees=world.api.employees, tokens=world.api.tokens)
    async with api_world(world.api.store, seeded=seeded, senders={}) as bare:
        resp = await bare.post(f"/api/v1/dialogs/{ivan['id']}/messages", json={"text": "hello"})
        assert resp.status == 503
        assert SOURCE in (await resp.json())["error"]["message"]


async def test_marking_read_clears_the_unread_count(world: DialogWorld) -> None:
    ivan = await world.dialog_of("5001")
    resp = await world.api.post(f"/api/v1/dialogs/{ivan['id']}/read", who="alice")
    assert resp.status == 200, await resp.text()
    read = await resp.json()
    assert (read["unread"], read["unanswered"]) == (0, True) and read["read_at"]
    resp = await world.api.post(f"/api/v1/dialogs/{ivan['id']}/read", who="bob")
    assert resp.status == 404


async def test_a_page_of_dialogs_costs_the_same_statements_for_1_and_200(
    store: ActivityStore,
) -> None:
    async with api_world(store) as api:
        t0 = utcnow() - timedelta(days=1)
        for i in range(ROWS):
            await store.contacts.create(
                f"Chat {i:03}",
                owner_employee_id=api.employees["alice" if i % 2 else "bob"],
                addresses=[Address(kind=AddressKind.TELEGRAM, value=str(10_000 + i))],
            )
        await store.record(
            [
                incoming("telegram", "support", str(10_000 + i), f"message {i}", t0 + timedelta(seconds=i))
                for i in range(ROWS)
            ]
        )
        counts = []
        for limit in (1, ROWS):
            params = {"limit": str(limit)}
            resp = await api.get("/api/v1/dialogs", params=params)  # warm
            assert resp.status == 200
            tries = []
            for _ in range(2):  # the fewer: a cached token may expire between two requests
                with counting(store) as seen:
                    resp = await api.get("/api/v1/dialogs", params=params)
                    items = (await resp.json())["items"]
                assert len(items) == limit
                assert all(d["owner_name"] in ("Alice", "Bob") and d["contact_name"] for d in items)
                tries.append(len(seen))
            counts.append(min(tries))
        assert counts[0] == counts[1], counts


async def test_a_page_of_a_thread_costs_the_same_statements_for_1_and_200(
    store: ActivityStore,
) -> None:
    async with api_world(store) as api:
        t0 = utcnow() - timedelta(days=1)
        await store.record(
            [
                incoming("telegram", "support", "8080", f"message {i}", t0 + timedelta(seconds=i))
                for i in range(ROWS)
            ]
        )
        (dialog,) = (await (await api.get("/api/v1/dialogs")).json())["items"]
        path = f"/api/v1/dialogs/{dialog['id']}"
        counts = []
        for limit in (1, ROWS):
            params = {"limit": str(limit)}
            assert (await api.get(path, params=params)).status == 200  # warm
            with counting(store) as seen:
                body = await (await api.get(path, params=params)).json()
            assert len(body["messages"]) == limit
            counts.append(len(seen))
        assert counts[0] == counts[1], counts
