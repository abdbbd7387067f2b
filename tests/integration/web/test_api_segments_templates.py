"""`/api/v1/segments` and `/api/v1/templates`: what the Campaigns page builds with, by the
same rules as `touchhub segment` and `touchhub template`."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from hub.activity import ActivityStore
from hub.channels.email.factory import build_sender
from hub.channels.email.settings import EmailSettings
from tests.helpers.campaign_world import addresses, seed_contacts
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
    async with api_world(store, senders={"email:ivan": build_sender(settings, "ivan")}) as world:
        yield world


async def test_a_marketer_previews_saves_and_reads_segments(api: ApiWorld) -> None:
    kazan = await seed_contacts(api.store, addresses(5))
    await seed_contacts(api.store, addresses(3, start=5), city="Москва")
    resp = await api.post(
        "/api/v1/segments/preview", who="marketer", json={"definition": KAZAN, "sample": 3}
    )
    assert resp.status == 200, await resp.text()
    preview = await resp.json()
    assert preview["size"] == 5 and len(preview["sample"]) == 3
    assert {p["id"] for p in preview["sample"]} <= set(kazan)
    assert all(p["city"] == "Казань" and p["name"].startswith("Клиент") for p in preview["sample"])
    moscow_or_kazan = {"any": [KAZAN, {"field": "city", "op": "eq", "value": "Москва"}]}
    both = await api.post("/api/v1/segments/preview", who="admin", json={"definition": moscow_or_kazan})
    assert (await both.json())["size"] == 8
    created = await api.post(
        "/api/v1/segments", who="marketer", json={"name": "Казань", "definition": KAZAN}
    )
    assert created.status == 201, await created.text()
    saved = await created.json()
    assert created.headers["Location"] == f"/api/v1/segments/{saved['id']}"
    assert saved["definition"] == KAZAN and saved["created_by"] == "marketer"
    again = await api.post("/api/v1/segments", who="marketer", json={"name": "Казань", "definition": KAZAN})
    assert again.status == 409
    one = await (await api.get(f"/api/v1/segments/{saved['id']}", who="marketer")).json()
    assert one["name"] == "Казань"
    assert (await api.get("/api/v1/segments/999", who="marketer")).status == 404


async def test_a_bad_filter_is_refused_naming_its_json_path(api: ApiWorld) -> None:
    bad = {"all": [KAZAN, {"field": "city", "op": "like", "value": "Ка"}]}
    for path in ("/api/v1/segments/preview", "/api/v1/segments"):
        resp = await api.post(path, who="marketer", json={"name": "x", "definition": bad} if path.endswith("segments") else {"definition": bad})
        assert resp.status == 422, await resp.text()
        assert (await resp.json())["error"]["field"] == "definition.all[1].op"


async def test_only_marketers_and_admins_use_segments_and_templates(api: ApiWorld) -> None:
    for who in ("alice", "head"):
        for path in ("/api/v1/segments", "/api/v1/templates"):
            assert (await api.get(path, who=who)).status == 403
        resp = await api.post("/api/v1/segments/preview", who=who, json={"definition": KAZAN})
        assert resp.status == 403
    assert (await api.get("/api/v1/templates", who=None)).status == 401


async def test_lists_are_constant_statements(api: ApiWorld) -> None:
    async def statements(path: str) -> int:
        with counting(api.store) as sql:
            resp = await api.get(path, who="marketer")
            assert resp.status == 200
        return len([s for s in sql if "segments" in s or "template" in s])

    await api.post("/api/v1/segments", who="marketer", json={"name": "s0", "definition": KAZAN})
    await api.post("/api/v1/templates", who="marketer", json={"name": "t0", "channel": "sms", "text": "Привет"})
    few = (await statements("/api/v1/segments"), await statements("/api/v1/templates"))
    for i in range(1, 6):
        await api.post("/api/v1/segments", who="marketer", json={"name": f"s{i}", "definition": KAZAN})
        await api.post("/api/v1/templates", who="marketer", json={"name": f"t{i}", "channel": "sms", "text": "Привет"})
    many = (await statements("/api/v1/segments"), await statements("/api/v1/templates"))
    assert few == many == (1, 1)
    listed = await (await api.get("/api/v1/templates", who="marketer")).json()
    assert len(listed["items"]) == 6 and {t["newest_version"] for t in listed["items"]} == {1}


async def test_templates_are_saved_in_versions_and_refused_with_their_line(api: ApiWorld) -> None:
    body = {"name": "Новости", "subject": "Для {{ contact.name }}", "html": "<p>Здравствуйте!</p>"}
    created = await api.post("/api/v1/templates", who="marketer", json=body)
    assert created.status == 201, await created.text()
    template = await created.json()
    assert template["channel"] == "email" and template["newest_version"] == 1
    tid = template["id"]
    broken = await api.post(
        f"/api/v1/templates/{tid}/versions",
        who="marketer",
        json={"subject": "Ок", "html": "<p>\n{{ contact.name }\n</p>"},
    )
    assert broken.status == 422
    error = (await broken.json())["error"]
    assert error["field"] == "html" and "line 2" in error["message"]
    unknown = await api.post(
        f"/api/v1/templates/{tid}/versions", who="marketer", json={"subject": "Ок", "html": "{{ contact.nmae }}"}
    )
    assert unknown.status == 422 and "nmae" in (await unknown.json())["error"]["message"]
    russian = await api.post(
        "/api/v1/templates", who="marketer", headers={"Accept-Language": "ru"},
        json={"name": "Опечатка", "subject": "Ок", "html": "<p>{{ contact.nmae }}</p>"},
    )  # fmt: skip
    said = (await russian.json())["error"]["message"]
    assert russian.status == 422 and said.startswith("html, строка 1: поля contact.nmae нет"), said
    added = await api.post(
        f"/api/v1/templates/{tid}/versions", who="marketer", json={"subject": "Ок", "html": "<p>Два</p>"}
    )
    assert added.status == 201
    detail = await (await api.get(f"/api/v1/templates/{tid}", who="marketer")).json()
    assert [v["version"] for v in detail["versions"]] == [2, 1]
    assert detail["versions"][1]["subject"] == "Для {{ contact.name }}"
    sms_with_subject = {"name": "sms", "channel": "sms", "text": "x", "subject": "y"}
    assert (await api.post("/api/v1/templates", who="marketer", json=sms_with_subject)).status == 422


async def test_a_preview_renders_on_the_chosen_contact_or_names_the_line(api: ApiWorld) -> None:
    (contact,) = await seed_contacts(api.store, addresses(1))
    email = {"subject": "Для {{ contact.name }}", "html": "<p>{{ contact.city }}, {{ company.name }}</p>"}
    resp = await api.post("/api/v1/templates/preview", who="marketer", json={**email, "contact_id": contact})
    shown = await resp.json()
    assert shown["ok"] is True and shown["errors"] == []
    assert shown["subject"] == f"Для Клиент {contact}"
    assert "Казань" in shown["html"] and "Казань" in shown["text"]
    missing = {"subject": "Ок", "html": "<p>\n\n{{ contact.region }}</p>"}
    resp = await api.post("/api/v1/templates/preview", who="marketer", json={**missing, "contact_id": contact})
    shown = await resp.json()
    assert shown["ok"] is False and shown["html"] is None
    assert [(e["part"], e["line"]) for e in shown["errors"]] == [("html", 3)]
    assert "region" in shown["errors"][0]["message"]
    broken = {"subject": "{% if %}", "html": "<p>{{ 1 + }}</p>"}
    resp = await api.post("/api/v1/templates/preview", who="marketer", json={**broken, "contact_id": contact})
    assert [e["part"] for e in (await resp.json())["errors"]] == ["subject", "html"]
    resp = await api.post("/api/v1/templates/preview", who="marketer", headers={"Accept-Language": "ru"},
                          json={**broken, "contact_id": contact})  # fmt: skip
    assert [e["message"] for e in (await resp.json())["errors"]] == [
        "в теге {% … %} не хватает выражения", "выражение внутри {{ … }} не закончено"
    ]
    sms = {"channel": "sms", "text": "Здравствуйте, {{ contact.name }}!", "contact_id": contact}
    shown = await (await api.post("/api/v1/templates/preview", who="marketer", json=sms)).json()
    assert shown["ok"] and shown["sms"]["encoding"] == "ucs2" and shown["sms"]["parts"] == 1
    nobody = await api.post("/api/v1/templates/preview", who="marketer", json={**email, "contact_id": 999999})
    assert nobody.status == 404 and (await nobody.json())["error"]["field"] == "contact_id"


async def test_campaign_stats_come_from_the_same_rules_as_the_cli(api: ApiWorld) -> None:
    await seed_contacts(api.store, [*addresses(3), None])
    template = await (
        await api.post("/api/v1/templates", who="marketer", json={"name": "t", "subject": "s", "html": "<p>h</p>"})
    ).json()
    body = {"name": "зима", "template_id": template["id"], "segment": KAZAN, "sender": "ivan"}
    campaign = await (await api.post("/api/v1/campaigns", who="marketer", json=body)).json()
    await api.post(f"/api/v1/campaigns/{campaign['id']}/start", who="marketer")
    resp = await api.get(f"/api/v1/campaigns/{campaign['id']}/stats", who="marketer")
    assert resp.status == 200
    stats = await resp.json()
    assert stats["total"] == 4 and stats["pending"] == 3 and stats["skipped"] == 1
    assert stats["sent"] == stats["delivered"] == stats["replied"] == 0
    assert (await api.get(f"/api/v1/campaigns/{campaign['id']}/stats", who="alice")).status == 403
