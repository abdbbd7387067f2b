"""`touchhub serve` reads the configured bounce mailbox on its schedule."""

from __future__ import annotations

import asyncio
from pathlib import Path

from hub.activity import ActivityStore
from hub.campaigns import verp
from hub.campaigns.signing import SigningKeys
from hub.config import load_settings
from hub.model import Channel
from hub.runtime import Hub
from tests.helpers import dsn_samples as samples
from tests.helpers.dovecot import DEFAULT_USERS, Dovecot, free_port

SECRET = "r" * 40


async def test_hub_reads_bounces_on_schedule(tmp_path: Path, dovecot: Dovecot) -> None:
    config = tmp_path / "touchhub.toml"
    config.write_text(
        f"""demo_on_empty = false
[store]
url = "sqlite:///{tmp_path}/hub.db"
[web]
port = {free_port()}
[campaigns]
secret = "env:TH_SECRET"
bounce_address = "bounces@acme.ru"
bounce_mailbox = "bounces/INBOX"
bounce_poll_s = 0.2
[email.accounts.bounces]
imap = "{dovecot.url('ivan')}"
password = "{DEFAULT_USERS['ivan']}"
enabled = false
""",
        encoding="utf-8",
    )
    settings = load_settings(config, environ={"TH_SECRET": SECRET})
    store = await ActivityStore.open(settings.store_url)
    keys = SigningKeys.single(SECRET.encode())
    path = verp.return_path(keys, "bounces@acme.ru", 3, 30, "zoe@client.ru")
    dovecot.append("ivan", [samples.gmail("zoe@client.ru", path, "<g@acme.ru>")])
    hub = Hub(settings, store)
    await hub.start()
    try:
        for _ in range(100):
            if await store.suppressions.suppressed(Channel.EMAIL, ["zoe@client.ru"]):
                break
            await asyncio.sleep(0.1)
        assert await store.suppressions.suppressed(Channel.EMAIL, ["zoe@client.ru"]) == {
            "zoe@client.ru"
        }
        assert hub.adapters == []  # the bounce account itself is not captured
    finally:
        await hub.stop()
        await store.close()
