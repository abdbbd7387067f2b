"""Suppressions over the API with every role's token: read, add, lift."""

from __future__ import annotations

from hub.activity.repos import Reason
from hub.model import Address, AddressKind, Channel
from tests.helpers.web import ApiWorld


async def test_lifecycle_with_each_role(api: ApiWorld) -> None:
    contact = await api.store.contacts.create(
        "Anna", addresses=[Address(kind=AddressKind.PHONE, value="+79161234567")]
    )
    for who in ("alice", "bob", "carol"):
        assert (await api.post(
            "/api/v1/suppressions", json={"channel": "sms", "address": "x"}, who=who
        )).status == 403
        assert (await api.get("/api/v1/suppressions", who=who)).status == 403
    assert (await api.get("/api/v1/suppressions", who=None)).status == 401

    added = await api.post(
        "/api/v1/suppressions",
        json={"channel": "sms", "address": "8 916 123-45-67", "detail": "asked by phone"},
        who="marketer",
    )
    assert added.status == 201, await added.text()
    body = await added.json()
    assert (body["address"], body["reason"], body["contact_id"], body["created_by"]) == (
        "+79161234567",
        "manual",
        contact,
        "marketer",
    )
    again = await api.post(
        "/api/v1/suppressions", json={"channel": "sms", "address": "+79161234567"}, who="admin"
    )
    assert again.status == 200 and (await again.json())["id"] == body["id"]

    for who in ("admin", "head", "marketer"):
        listed = await api.get("/api/v1/suppressions", who=who)
        assert listed.status == 200
        page = await listed.json()
        assert page["total"] == 1 and page["items"][0]["active"] is True
    by_address = await api.get(
        "/api/v1/suppressions", params={"address": "+7 (916) 123-45-67", "channel": "sms"}
    )
    assert (await by_address.json())["total"] == 1

    for who in ("head", "marketer", "alice"):
        refused = await api.call("DELETE", f"/api/v1/suppressions/{body['id']}", who=who)
        assert refused.status == 403, who
    lifted = await api.call("DELETE", f"/api/v1/suppressions/{body['id']}", who="admin")
    assert lifted.status == 200
    out = await lifted.json()
    assert out["active"] is False and out["lifted_by"] == "admin"
    assert await api.store.suppressions.suppressed(Channel.SMS, ["+79161234567"]) == set()
    active = await (await api.get("/api/v1/suppressions")).json()
    lifted_page = await (await api.get("/api/v1/suppressions", params={"state": "lifted"})).json()
    assert (active["total"], lifted_page["total"]) == (0, 1)
    assert (await api.call("DELETE", "/api/v1/suppressions/99999")).status == 404


async def test_bad_input_is_422(api: ApiWorld) -> None:
    for payload in (
        {"channel": "call", "address": "+79161234567"},
        {"channel": "email", "address": "not an address"},
        {"channel": "email"},
        {"channel": "email", "address": "a@b.ru", "reason": "bounced"},
        {"channel": "email", "address": "a@b.ru", "extra": 1},
    ):
        resp = await api.post("/api/v1/suppressions", json=payload)
        assert resp.status == 422, payload
    assert (await api.get("/api/v1/suppressions", params={"state": "x"})).status == 422


async def test_campaign_filter(api: ApiWorld) -> None:
    await api.store.suppressions.suppress(
        channel=Channel.EMAIL, address="a@b.ru", reason=Reason.UNSUBSCRIBED, campaign_id=3
    )
    await api.store.suppressions.suppress(channel=Channel.EMAIL, address="c@b.ru", reason=Reason.MANUAL)
    page = await (await api.get("/api/v1/suppressions", params={"campaign": "3"})).json()
    assert [i["address"] for i in page["items"]] == ["a@b.ru"]
