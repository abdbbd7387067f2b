"""Trigger rules through the API, the CLI (Russian and English) and `touchhub serve`'s
scheduler, which sends each firing once across a restart."""

from __future__ import annotations

import asyncio
import json
import signal
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from sqlalchemy import update

from hub.activity import ActivityStore
from hub.activity.schema import campaigns
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
#: How long a `touchhub serve` process may take to start and send (a busy machine).
SERVE_WAIT_S = 90.0


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


async def _prepare_fired(url: str, n: int) -> tuple[list[str], int]:
    """`n` contacts whose order became ready (each a firing, recorded at the write)."""
    store = await ActivityStore.open(url)
    try:
        emails = addresses(n)
        ids = await seed_contacts(store, emails)
        manager = TriggerManager(store, senders=["email:ivan"])
        rule = await manager.create(
            TriggerSpec(name="ready", kind="field_value", params=READY,
                        template_id=await email_template(store), sender="ivan"),
            created_by="test",
        )  # fmt: skip
        for cid in ids:
            await store.contacts.update(cid, custom={"order_status": "ready"})
        async with store.engine.begin() as conn:  # slow enough for the kill to land mid-way
            await conn.execute(
                update(campaigns).where(campaigns.c.id == rule.campaign_id).values(throttle_per_s=100)
            )
        return emails, rule.id
    finally:
        await store.close()


async def _outcome(url: str, rule_id: int) -> tuple[dict[str, str], int]:
    """(address → recipient state, firings without a recipient) of the rule."""
    store = await ActivityStore.open(url)
    try:
        firings = await store.triggers.firings(rule_id, limit=500)
        return {str(f.address): f.state for f in firings}, sum(f.recipient_id is None for f in firings)
    finally:
        await store.close()


def test_kill_9_of_serve_mid_sending_sends_nobody_twice(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/hub.db"
    total = 150
    emails, rule_id = asyncio.run(_prepare_fired(url, total))
    with running_smtp() as smtp:
        config = tmp_path / "touchhub.toml"
        config.write_text(
            f'demo_on_empty = false\n[store]\nurl = "{url}"\n[web]\nport = {free_port()}\n'
            '[email]\ncompany_domains = ["acme.ru"]\nsmtp_max_attempts = 1\n'
            f'[email.accounts.ivan]\npassword = "ivanpw"\naddresses = ["ivan@acme.ru"]\n'
            f'smtp = "{smtp.url()}"\ntls_ca_file = "{smtp.cert}"\n'
            '[campaigns]\ncompany_name = "Acme"\npoll_s = 0.2\nheartbeat_s = 0.2\nlease_s = 1.0\n',
            encoding="utf-8",
        )
        cli = Touchhub(config=config)
        process = cli.start("serve", "--workers", "1")
        deadline = time.monotonic() + SERVE_WAIT_S
        while len(_received(smtp)) < 20 and process.poll() is None:
            assert time.monotonic() < deadline, "serve sent nothing"
            time.sleep(0.005)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        assert len(_received(smtp)) < total, "the kill came after the last letter"
        assert process.stderr is not None
        process.stderr.close()
        again = cli.start("serve", "--workers", "1")
        try:
            deadline = time.monotonic() + SERVE_WAIT_S
            while True:
                states, unqueued = asyncio.run(_outcome(url, rule_id))
                if not unqueued and len(states) == total and not (
                    set(states.values()) & {"pending", "sending", "deferred"}
                ):
                    break
                assert time.monotonic() < deadline, f"not done: {Counter(states.values())}"
                time.sleep(0.2)
        finally:
            again.send_signal(signal.SIGTERM)
            again.wait(timeout=30)
            assert again.stderr is not None
            again.stderr.close()
        got = Counter(_received(smtp))
    assert not [a for a, n in got.items() if n > 1], "an address got two letters"
    sent = {a for a, s in states.items() if s == "sent"}
    unknown = {a for a, s in states.items() if s == "unknown"}
    assert sent <= set(got) and sent | unknown == set(emails)
    assert set(got) <= set(emails)
