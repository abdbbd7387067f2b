"""Trigger rules through the API, the CLI (Russian and English) and `touchhub serve`'s
scheduler, which sends each firing once across a restart."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from hub.activity import ActivityStore
from hub.campaigns.triggers import TriggerManager, TriggerSpec
from hub.channels.email.factory import build_sender
from hub.channels.email.settings import EmailSettings
from hub.config import load_settings
from hub.runtime import Hub
from tests.helpers.campaign_world import addresses, email_template, seed_contacts
from tests.helpers.cli import Touchhub
from tests.helpers.dovecot import free_port
from tests.helpers.smtp_server import SmtpServer, running_smtp
from tests.helpers.web import ApiWorld, api_world

pytestmark = pytest.mark.timeout(120)

READY = {"field": "custom.order_status", "value": "ready"}


@pytest.fixture
async def api(sqlite_store: ActivityStore) -> AsyncIterator[ApiWorld]:
    settings = EmailSettings.model_validate(
        {
            "company_domains": ["acme.ru"],
            "accounts": {
                "ivan": {"smtp": "smtp://ivan@127.0.0.1:9", "password": "x", "addresses": ["ivan@acme.ru"]}
            },
        }
    )
    async with api_world(sqlite_store, senders={"email:ivan": build_sender(settings, "ivan")}) as world:
        yield world


async def test_the_api_manages_rules_and_lists_firings(api: ApiWorld) -> None:
    (cid,) = await seed_contacts(api.store, addresses(1))
    template_id = await email_template(api.store)
    body = {"name": "ready", "kind": "field_value", "params": READY, "template_id": template_id,
            "sender": "ivan"}  # fmt: skip
    assert (await api.post("/api/v1/triggers", who="alice", json=body)).status == 403
    bad = await api.post(
        "/api/v1/triggers", who="marketer", json={**body, "params": {"field": "custom.x"}}
    )
    assert bad.status == 422 and "params.value" in await bad.text()
    resp = await api.post("/api/v1/triggers", who="marketer", json=body)
    assert resp.status == 201, await resp.text()
    rule = await resp.json()
    assert rule["enabled"] and rule["sender"] == "email:ivan" and rule["template_version"] == 1
    assert (await api.post("/api/v1/triggers", who="admin", json=body)).status == 409
    changed = await api.patch(
        f"/api/v1/contacts/{cid}", who="admin", json={"custom": {"order_status": "ready"}}
    )
    assert changed.status == 200, await changed.text()
    page = await (await api.get(f"/api/v1/triggers/{rule['id']}/firings", who="marketer")).json()
    assert [(f["contact_id"], f["state"]) for f in page["items"]] == [(cid, "waiting")]
    assert page["next_after"] is None
    off = await (await api.post(f"/api/v1/triggers/{rule['id']}/disable", who="marketer")).json()
    assert off["enabled"] is False and off["firings"] == {"waiting": 1}
    listed = await (await api.get("/api/v1/triggers", who="admin")).json()
    assert [r["name"] for r in listed["items"]] == ["ready"]
    gone = await api.call("DELETE", f"/api/v1/triggers/{rule['id']}", who="marketer")
    assert gone.status == 200
    assert (await api.get(f"/api/v1/triggers/{rule['id']}", who="marketer")).status == 404
    campaign = await api.store.campaigns.get(rule["campaign_id"])
    assert campaign.state == "cancelled"


def test_the_cli_speaks_russian_and_english(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/touchhub.db"

    async def prepare() -> int:
        store = await ActivityStore.open(url)
        try:
            return await email_template(store)
        finally:
            await store.close()

    template_id = asyncio.run(prepare())
    config = tmp_path / "touchhub.toml"
    config.write_text(
        f'demo_on_empty = false\n[store]\nurl = "{url}"\n'
        '[email]\ncompany_domains = ["acme.ru"]\n'
        '[email.accounts.ivan]\npassword = "x"\naddresses = ["ivan@acme.ru"]\n'
        'smtp = "smtp://ivan@127.0.0.1:9"\n',
        encoding="utf-8",
    )
    en = Touchhub(config=config)
    ru = Touchhub(config=config, lang="ru")
    made = json.loads(
        en.ok("trigger", "create", "--name", "callback", "--kind", "missed_call", "--minutes",
              "15", "--template", str(template_id), "--sender", "ivan", "--json")
    )  # fmt: skip
    assert made["params"] == {"minutes": 15} and made["firings"] == {}
    shown = ru.ok("trigger", "show", str(made["id"]))
    assert f"Триггер №{made['id']} «callback»: включён" in shown
    assert "пропущенный вызов без перезвона за 15 мин" in shown
    assert "(нет)" in shown
    assert "a missed call not returned within 15 min" in en.ok("trigger", "list")
    assert "выключен" in ru.ok("trigger", "disable", str(made["id"]))
    refused = en.fails("trigger", "create", "--name", "x", "--kind", "field_value", "--field",
                       "custom.s", "--template", str(template_id), "--sender", "ivan")  # fmt: skip
    assert "--value" in refused.stderr
    deleted = ru.ok("trigger", "delete", str(made["id"]))
    assert f"Триггер №{made['id']} «callback» удалён" in deleted
    assert json.loads(en.ok("trigger", "list", "--json")) == {"items": []}


WAIT_S = 30.0


async def _until(check: Callable[[], Awaitable[bool]], what: str) -> None:
    deadline = asyncio.get_running_loop().time() + WAIT_S
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, what
        await asyncio.sleep(0.05)


def _received(smtp: SmtpServer) -> list[str]:
    return [r for letter in smtp.handler.received for r in letter.rcpt_tos]


async def test_serve_evaluates_rules_and_a_restart_sends_nothing_twice(tmp_path: Path) -> None:
    with running_smtp() as smtp:
        config = tmp_path / "touchhub.toml"
        config.write_text(
            f'demo_on_empty = false\n[store]\nurl = "sqlite:///{tmp_path}/hub.db"\n'
            f"[web]\nport = {free_port()}\n"
            '[email]\ncompany_domains = ["acme.ru"]\nsmtp_max_attempts = 1\n'
            f'[email.accounts.ivan]\npassword = "ivanpw"\naddresses = ["ivan@acme.ru"]\n'
            f'smtp = "{smtp.url()}"\ntls_ca_file = "{smtp.cert}"\n'
            '[campaigns]\ncompany_name = "Acme"\npoll_s = 0.2\nheartbeat_s = 0.2\n',
            encoding="utf-8",
        )
        settings = load_settings(config, environ={})
        store = await ActivityStore.open(settings.store_url)
        emails = addresses(2)
        first, second = await seed_contacts(store, emails)
        manager = TriggerManager(store, senders=["email:ivan"])
        rule = await manager.create(
            TriggerSpec(name="ready", kind="field_value", params=READY,
                        template_id=await email_template(store), sender="ivan"),
            created_by="test",
        )  # fmt: skip
        await store.contacts.update(first, custom={"order_status": "ready"})
        try:
            for _ in range(2):  # the second hub is a restart
                hub = Hub(settings, store)
                await hub.start()
                try:

                    async def evaluated(hub: Hub = hub) -> bool:
                        triggers = (await hub.health())["triggers"]
                        return triggers["last_run_at"] is not None and not triggers["rule_errors"]

                    await _until(evaluated, "the rules were never evaluated")

                    async def sent() -> bool:
                        return len(_received(smtp)) >= 1

                    await _until(sent, "the firing was never sent")
                    await asyncio.sleep(0.5)  # a campaign tick or two more: nothing else goes
                finally:
                    await hub.stop()
                assert _received(smtp) == [emails[0]]
            firings = await store.triggers.firings(rule.id)
            assert [(f.contact_id, f.state) for f in firings] == [(first, "sent")]
            assert second not in {f.contact_id for f in firings}
        finally:
            await store.close()
