"""`/api/v1/campaigns`: the marketer's surface over the same rules as `touchhub campaign`."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from hub.activity import ActivityStore
from hub.channels.email.factory import build_sender
from hub.channels.email.settings import EmailSettings
from tests.helpers.campaign_world import addresses, email_template, seed_contacts
from tests.helpers.web import ApiWorld, api_world
from tests.integration.web.test_query_counts import counting

KAZAN = {"field": "city", "op": "eq", "value": "Казань"}


@pytest.fixture
async def api(store: ActivityStore) -> AsyncIterator[ApiWorld]:
    settings = EmailSettings.model_validate(
        {
            "company_domains": ["acme.ru"],
            "accounts": {
                "ivan": {"smtp": "smtp://ivan@127.0.0.1:9", "password": "x", "addresses": ["ivan@acme.ru"]}
            },
        }
    )
    sender = build_sender(settings, "ivan")
    async with api_world(store, senders={"email:ivan": sender}) as world:
        yield world


async def create(api: ApiWorld, **overrides: object) -> dict[str, object]:
    template_id = await email_template(api.store, f"t{len(overrides)}-{id(overrides)}")
    body = {"name": "winter", "template_id": template_id, "segment": KAZAN, "sender": "ivan"}
    body.update(overrides)
    resp = await api.post("/api/v1/campaigns", who="marketer", json=body)
    assert resp.status == 201, await resp.text()
    data: dict[str, object] = await resp.json()
    return data


async def test_a_marketer_creates_starts_and_reads_a_campaign(api: ApiWorld) -> None:
    await seed_contacts(api.store, [*addresses(7), None])
    created = await create(api)
    assert created["state"] == "draft" and created["template_version"] == 1
    assert created["sender"] == "email:ivan" and created["created_by"] == "marketer"
    cid = created["id"]
    started = await (await api.post(f"/api/v1/campaigns/{cid}/start", who="marketer")).json()
    assert started["state"] == "running"
    assert started["counts"]["pending"] == 7 and started["counts"]["skipped"] == 1
    assert started["skipped"] == {"no_address": 1}
    again = await api.post(f"/api/v1/campaigns/{cid}/start", who="marketer")
    assert again.status == 409
    paused = await (await api.post(f"/api/v1/campaigns/{cid}/pause", who="admin")).json()
    assert paused["state"] == "paused"
    assert (await api.post(f"/api/v1/campaigns/{cid}/pause", who="admin")).status == 409
    resumed = await (await api.post(f"/api/v1/campaigns/{cid}/resume", who="admin")).json()
    assert resumed["state"] == "running"
    cancelled = await (await api.post(f"/api/v1/campaigns/{cid}/cancel", who="admin")).json()
    assert cancelled["state"] == "cancelled"
    assert cancelled["counts"]["skipped"] == 8 and cancelled["counts"]["pending"] == 0
    listed = await (await api.get("/api/v1/campaigns", who="marketer")).json()
    assert [c["id"] for c in listed["items"]] == [cid]
    assert listed["items"][0]["counts"]["skipped"] == 8


async def test_only_marketers_and_admins_manage_campaigns(api: ApiWorld) -> None:
    created = await create(api)
    for who in ("alice", "head"):
        assert (await api.get("/api/v1/campaigns", who=who)).status == 403
        resp = await api.post(f"/api/v1/campaigns/{created['id']}/start", who=who)
        assert resp.status == 403
    assert (await api.get("/api/v1/campaigns", who=None)).status == 401


async def test_refusals_name_the_field(api: ApiWorld) -> None:
    template_id = await email_template(api.store, "bad")
    # malformed: 422; well formed but naming nothing: 404; clashing with what exists: 409
    cases = [
        ({"segment": {"field": "city", "op": "like", "value": "x"}}, "segment", 422),
        ({"segment": None, "segment_id": 999}, "segment_id", 404),
        ({"sender": "sms:kannel"}, "sender", 404),
        ({"sender": "nobody"}, "sender", 404),
        ({"schedule": "at"}, "send_at", 422),
        ({"schedule": "local_hour", "local_hour": 24}, "local_hour", 422),
        ({"template_version": 5}, "template_version", 404),
        ({"channel": "sms"}, "template_id", 409),
    ]
    for change, field, status in cases:
        body = {"name": "x", "template_id": template_id, "segment": KAZAN, "sender": "ivan"}
        body.update(change)
        resp = await api.post("/api/v1/campaigns", who="marketer", json=body)
        assert resp.status == status, (change, await resp.text())
        error = (await resp.json())["error"]
        assert (error["field"] or "").startswith(field), (change, error)


async def test_recipients_come_in_pages_of_constant_statements(api: ApiWorld) -> None:
    await seed_contacts(api.store, addresses(60))
    created = await create(api)
    cid = created["id"]
    await api.post(f"/api/v1/campaigns/{cid}/start", who="marketer")
    seen: list[int] = []
    after = 0
    statements: list[int] = []
    while True:
        with counting(api.store) as sql:
            resp = await api.get(
                f"/api/v1/campaigns/{cid}/recipients",
                who="marketer",
                params={"after": str(after), "limit": "25"},
            )
        statements.append(len([s for s in sql if "campaign_recipients" in s or "campaigns" in s]))
        page = await resp.json()
        seen += [r["id"] for r in page["items"]]
        assert all(r["state"] == "pending" and r["address"] for r in page["items"])
        if page["next_after"] is None:
            break
        after = page["next_after"]
    assert len(seen) == 60 == len(set(seen)) and seen == sorted(seen)
    assert len(set(statements)) == 1
    one = await (await api.get(
        f"/api/v1/campaigns/{cid}/recipients", who="marketer", params={"state": "sent"}
    )).json()  # fmt: skip
    assert one == {"items": [], "next_after": None}
