"""`touchhub serve` sends running campaigns by itself, through the API, and stops cleanly."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest

from hub.activity import ActivityStore
from hub.config import load_settings
from hub.runtime import Hub
from tests.helpers.campaign_world import addresses, email_template, seed_contacts
from tests.helpers.dovecot import free_port
from tests.helpers.smtp_server import running_smtp

pytestmark = pytest.mark.timeout(120)


async def test_a_campaign_started_through_the_api_is_sent_by_the_hub(tmp_path: Path) -> None:
    port = free_port()
    with running_smtp() as smtp:
        config = tmp_path / "touchhub.toml"
        config.write_text(
            f'demo_on_empty = false\n[store]\nurl = "sqlite:///{tmp_path}/hub.db"\n'
            f"[web]\nport = {port}\n"
            '[email]\ncompany_domains = ["acme.ru"]\nsmtp_max_attempts = 1\n'
            f'[email.accounts.ivan]\npassword = "ivanpw"\naddresses = ["ivan@acme.ru"]\n'
            f'smtp = "{smtp.url()}"\ntls_ca_file = "{smtp.cert}"\n'
            '[campaigns]\ncompany_name = "Acme"\npoll_s = 0.2\nheartbeat_s = 0.2\n',
            encoding="utf-8",
        )
        settings = load_settings(config, environ={})
        store = await ActivityStore.open(settings.store_url)
        emails = addresses(25)
        await seed_contacts(store, emails)
        template_id = await email_template(store)
        token = await store.tokens.create("mia", "marketer")
        hub = Hub(settings, store)
        await hub.start()
        try:
            base = f"http://127.0.0.1:{port}/api/v1/campaigns"
            auth = {"Authorization": f"Bearer {token}"}
            async with aiohttp.ClientSession(headers=auth) as http:
                body = {
                    "name": "news",
                    "template_id": template_id,
                    "segment": {"field": "city", "op": "eq", "value": "Казань"},
                    "sender": "ivan",
                }
                async with http.post(base, json=body) as resp:
                    assert resp.status == 201, await resp.text()
                    campaign_id = (await resp.json())["id"]
                async with http.post(f"{base}/{campaign_id}/start") as resp:
                    assert resp.status == 200, await resp.text()
                state = ""
                for _ in range(300):
                    async with http.get(f"{base}/{campaign_id}") as resp:
                        data = await resp.json()
                    state = data["state"]
                    if state == "finished":
                        break
                    await asyncio.sleep(0.1)
                assert state == "finished", data
                assert data["counts"]["sent"] == 25
        finally:
            await hub.stop()
            await store.close()
        got = sorted(r for letter in smtp.handler.received for r in letter.rcpt_tos)
        assert got == sorted(emails)
