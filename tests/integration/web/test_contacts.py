"""Contacts over the API: create, search, change, merge, and the clear 4xx of bad input."""

from __future__ import annotations

from typing import Any

import pytest

from hub.model import Channel
from tests.helpers.web import T0, ApiWorld, email, hours, phone


async def create(api: ApiWorld, who: str = "admin", **body: Any) -> dict[str, Any]:
    resp = await api.post("/api/v1/contacts", json=body, who=who)
    assert resp.status == 201, await resp.text()
    assert resp.headers["Location"].startswith("/api/v1/contacts/")
    result: dict[str, Any] = await resp.json()
    return result


async def test_create_normalises_addresses(api: ApiWorld) -> None:
    contact = await create(
        api,
        name="  Ivan Petrov ",
        phones=["8 (495) 123-45-67"],
        emails=["Ivan.Petrov@Acme.RU"],
        addresses=[{"kind": "telegram", "value": "@IvanP"}],
        organization="Acme",
        city="Moscow",
        custom={"source": "expo", "score": 5},
    )
    assert contact["name"] == "Ivan Petrov"
    assert contact["organization"] == "Acme"
    assert contact["custom"] == {"source": "expo", "score": 5}
    assert {(i["kind"], i["value"]) for i in contact["identities"]} == {
        ("phone", "+74951234567"),
        ("email", "ivan.petrov@acme.ru"),
        ("telegram", "ivanp"),
    }
    got = await api.get(f"/api/v1/contacts/{contact['id']}", who="alice")
    assert got.status == 200
    assert (await got.json())["id"] == contact["id"]


@pytest.mark.parametrize(
    "query", ["Petrov", "petr", "+7 495 123-45-67", "84951234567", "IVAN.PETROV@acme.ru"]
)
async def test_search_by_name_phone_or_email(api: ApiWorld, query: str) -> None:
    wanted = await create(
        api, name="Ivan Petrov", phones=["+74951234567"], emails=["ivan.petrov@acme.ru"]
    )
    await create(api, name="Someone Else", phones=["+74957654321"])
    resp = await api.get("/api/v1/contacts", params={"q": query}, who="bob")
    assert resp.status == 200
    body = await resp.json()
    assert [c["id"] for c in body["items"]] == [wanted["id"]]
    assert body["next_offset"] is None


async def test_search_pages_by_offset(api: ApiWorld) -> None:
    ids = [(await create(api, name=f"Client {i}"))["id"] for i in range(5)]
    seen: list[int] = []
    offset: int | None = 0
    while offset is not None:
        resp = await api.get("/api/v1/contacts", params={"limit": "2", "offset": str(offset)})
        body = await resp.json()
        seen += [c["id"] for c in body["items"]]
        offset = body["next_offset"]
    assert seen == ids


async def test_duplicate_phone_is_409_naming_the_owner(api: ApiWorld) -> None:
    owner = await create(api, name="First", phones=["+74951234567"])
    resp = await api.post(
        "/api/v1/contacts",
        json={"name": "Second", "phones": ["+7 999 000-00-00", "8 495 123 45 67"]},
    )
    assert resp.status == 409
    error = (await resp.json())["error"]
    assert error["field"] == "phones.1"
    assert error["details"]["owner_contact_id"] == owner["id"]
    assert f"#{owner['id']}" in error["message"]
    assert "+74951234567" in error["message"]


@pytest.mark.parametrize("bad", ["abc", "12", "+7 (999) 123", "++--", "1" * 30])
async def test_invalid_phone_names_field_and_value(api: ApiWorld, bad: str) -> None:
    resp = await api.post("/api/v1/contacts", json={"name": "X", "phones": ["+74951234567", bad]})
    assert resp.status == 422
    error = (await resp.json())["error"]
    assert error["code"] == "invalid_address"
    assert error["field"] == "phones.1"
    assert repr(bad) in error["message"]


async def test_invalid_email_and_extension_are_refused(api: ApiWorld) -> None:
    resp = await api.post("/api/v1/contacts", json={"name": "X", "emails": ["not-an-email"]})
    assert resp.status == 422
    assert (await resp.json())["error"]["field"] == "emails.0"
    resp = await api.post(
        "/api/v1/contacts",
        json={"name": "X", "addresses": [{"kind": "extension", "value": "101"}]},
    )
    assert resp.status == 422
    error = (await resp.json())["error"]
    assert error["field"] == "addresses.0" and "not a contact address" in error["message"]


async def test_unknown_field_is_named(api: ApiWorld) -> None:
    resp = await api.post("/api/v1/contacts", json={"name": "X", "phonez": ["+74951234567"]})
    assert resp.status == 422
    error = (await resp.json())["error"]
    assert error["field"] == "phonez"
    assert "unknown field 'phonez'" in error["message"]


async def test_unknown_owner_is_404_naming_the_field(api: ApiWorld) -> None:
    resp = await api.post("/api/v1/contacts", json={"name": "X", "owner_employee_id": 999})
    assert resp.status == 404
    assert (await resp.json())["error"]["field"] == "owner_employee_id"


@pytest.mark.parametrize("who", ["admin", "head", "marketer"])
async def test_writers_may_create(api: ApiWorld, who: str) -> None:
    await create(api, who=who, name=f"by {who}")


@pytest.mark.parametrize("who", ["alice"])
async def test_employees_may_not_write_contacts(api: ApiWorld, who: str) -> None:
    contact = await create(api, name="Y")
    for method, path, body in [
        ("POST", "/api/v1/contacts", {"name": "X"}),
        ("PATCH", f"/api/v1/contacts/{contact['id']}", {"city": "Omsk"}),
        ("POST", f"/api/v1/contacts/{contact['id']}/merge", {"into": contact["id"]}),
    ]:
        resp = await api.call(method, path, json=body, who=who)
        assert resp.status == 403, (method, path)


async def test_patch_sets_fields_and_adds_addresses(api: ApiWorld) -> None:
    contact = await create(api, name="Ivan", phones=["+74951234567"])
    resp = await api.patch(
        f"/api/v1/contacts/{contact['id']}",
        json={"city": "Kazan", "add_emails": ["ivan@acme.ru"], "custom": {"vip": True}},
        who="marketer",
    )
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    assert body["city"] == "Kazan"
    assert body["custom"] == {"vip": True}
    assert ("email", "ivan@acme.ru") in {(i["kind"], i["value"]) for i in body["identities"]}
    # adding an address the contact already has is fine; another's is a conflict
    other = await create(api, name="Other", phones=["+74957654321"])
    same = await api.patch(
        f"/api/v1/contacts/{contact['id']}", json={"add_phones": ["84951234567"]}
    )
    assert same.status == 200
    clash = await api.patch(
        f"/api/v1/contacts/{contact['id']}", json={"add_phones": ["+7 495 765-43-21"]}
    )
    assert clash.status == 409
    assert (await clash.json())["error"]["details"]["owner_contact_id"] == other["id"]


async def test_patch_missing_contact_is_404(api: ApiWorld) -> None:
    resp = await api.patch("/api/v1/contacts/424242", json={"city": "Omsk"})
    assert resp.status == 404
    assert (await resp.json())["error"]["code"] == "not_found"


async def test_merge_moves_identities_and_activities(api: ApiWorld) -> None:
    keep = await create(api, name="Ivan Petrov", phones=["+74951234567"])
    dup = await create(api, name="I. Petrov", emails=["ivan@acme.ru"], city="Tver")
    await api.record(employee="alice", counterpart=email("ivan@acme.ru"), channel=Channel.EMAIL)
    resp = await api.post(
        f"/api/v1/contacts/{dup['id']}/merge", json={"into": keep["id"]}, who="head"
    )
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    assert body["identities_moved"] == 1
    assert body["activities_moved"] == 1
    assert body["fields_filled"] == ["city"]
    assert body["contact"]["id"] == keep["id"]
    assert {i["value"] for i in body["contact"]["identities"]} == {"+74951234567", "ivan@acme.ru"}
    # the old id leads to the contact it joined; search no longer shows it
    old = await api.get(f"/api/v1/contacts/{dup['id']}")
    shown = await old.json()
    assert shown["id"] == keep["id"]
    # ... and names the contact asked for, so a reader is not silently shown another one
    assert shown["merged_from"] == {"id": dup["id"], "name": "I. Petrov", "merged_into_id": keep["id"]}
    direct = await api.get(f"/api/v1/contacts/{keep['id']}")
    assert (await direct.json()).get("merged_from") is None
    found = await api.get("/api/v1/contacts", params={"q": "Petrov"})
    assert [c["id"] for c in (await found.json())["items"]] == [keep["id"]]
    timeline = await api.get(f"/api/v1/contacts/{keep['id']}/timeline")
    assert len((await timeline.json())["items"]) == 1


async def test_merge_refusals(api: ApiWorld) -> None:
    a = await create(api, name="A")
    b = await create(api, name="B")
    itself = await api.post(f"/api/v1/contacts/{a['id']}/merge", json={"into": a["id"]})
    assert itself.status == 409
    missing = await api.post(f"/api/v1/contacts/{a['id']}/merge", json={"into": 999})
    assert missing.status == 404
    ok = await api.post(f"/api/v1/contacts/{a['id']}/merge", json={"into": b["id"]})
    assert ok.status == 200
    again = await api.post(f"/api/v1/contacts/{a['id']}/merge", json={"into": b["id"]})
    assert again.status == 409
    assert "already merged" in (await again.json())["error"]["message"]


async def test_timeline_spans_channels_and_respects_visibility(api: ApiWorld) -> None:
    contact = await create(api, name="Ivan", phones=["+74951234567"], emails=["ivan@acme.ru"])
    await api.record(employee="alice", counterpart=phone("8 495 123-45-67"), at=T0)
    await api.record(
        employee="alice", channel=Channel.EMAIL, counterpart=email("IVAN@acme.ru"), at=T0 + hours(1)
    )
    await api.record(
        employee="bob", channel=Channel.SMS, counterpart=phone("+74951234567"), at=T0 + hours(2)
    )
    await api.record(employee="carol", counterpart=phone("+74951234567"), at=T0 + hours(3))
    await api.record(employee="alice", counterpart=phone("+74950000000"), at=T0 + hours(4))

    async def channels(who: str) -> list[str]:
        resp = await api.get(f"/api/v1/contacts/{contact['id']}/timeline", who=who)
        assert resp.status == 200, await resp.text()
        return [a["channel"] for a in (await resp.json())["items"]]

    assert await channels("admin") == ["call", "sms", "email", "call"]
    assert await channels("head") == ["sms", "email", "call"]
    assert await channels("alice") == ["email", "call"]
    assert await channels("carol") == ["call"]
    marketer = await api.get(f"/api/v1/contacts/{contact['id']}/timeline", who="marketer")
    assert marketer.status == 403
    missing = await api.get("/api/v1/contacts/999/timeline")
    assert missing.status == 404
