"""Dialogs in the running hub: a messenger plug-in's senders answer them, the scheduler
raises reply tasks, and `[dialogs]` reaches the store's options."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import aiohttp
from sqlalchemy import select

from hub.activity import ActivityStore
from hub.activity.dialog_reminders import REMINDER_SOURCE
from hub.activity.schema import activities
from hub.channels.registry import load_plugins
from hub.cli.common import store_options
from hub.config import settings_model
from hub.model import Address, AddressKind, utcnow
from hub.runtime import Hub
from tests.helpers.fake_messenger import FakeMessengerSender, incoming, messenger_plugin
from tests.helpers.postgres import free_port

PLUGINS = (*load_plugins(), messenger_plugin("telegram"))
MODEL = settings_model(PLUGINS)


async def test_the_hub_answers_and_reminds(tmp_path: Path) -> None:
    port = free_port()
    url = f"sqlite:///{tmp_path}/hub.db"
    store = await ActivityStore.open(url)
    anna = await store.employees.add("Anna")
    queue = await store.employees.add("Front desk")
    token = await store.tokens.create("anna", "employee", employee_id=anna)
    await store.close()
    settings = MODEL.model_validate(
        {
            "demo_on_empty": False,
            "store": {"url": url},
            "web": {"port": port},
            "fake_telegram": {"accounts": ["support"]},
            "dialogs": {"queue": queue, "reply_within_minutes": 20},
        }
    )
    options = store_options(settings)
    assert (options.dialogs.queue, options.dialogs.reply_within) == (queue, timedelta(minutes=20))
    store = await ActivityStore.open(url, options)
    client = await store.contacts.create(
        "Ivan", owner_employee_id=anna, addresses=[Address(kind=AddressKind.TELEGRAM, value="51")]
    )
    await store.record([incoming("telegram", "support", "51", "hello?", utcnow() - timedelta(minutes=25))])
    hub = Hub(settings, store, plugins=PLUGINS)
    sender = hub.senders["telegram:support"]
    assert isinstance(sender, FakeMessengerSender) and sender.sink is hub.writer
    await hub.start()
    try:
        assert hub.scheduler.get_job("dialog-reminders") is not None
        await hub.remind_dialogs()
        async with store.engine.connect() as conn:
            (task,) = (
                await conn.execute(select(activities).where(activities.c.source == REMINDER_SOURCE))
            ).mappings().all()
        assert (task["employee_id"], task["status"], task["contact_id"]) == (anna, "planned", client)
        base = f"http://127.0.0.1:{port}/api/v1"
        auth = {"Authorization": f"Bearer {token}"}
        async with aiohttp.ClientSession(headers=auth) as http:
            async with http.get(f"{base}/dialogs", params={"mine": "true"}) as resp:
                (dialog,) = (await resp.json())["items"]
            async with http.post(
                f"{base}/dialogs/{dialog['id']}/messages", json={"text": "Here!"}
            ) as resp:
                assert resp.status == 201, await resp.text()
        assert [(s.chat, s.text) for s in sender.outbox] == [("51", "Here!")]
        async with store.engine.connect() as conn:
            done = await conn.scalar(select(activities.c.status).where(activities.c.id == task["id"]))
        assert done == "completed"
    finally:
        await hub.stop()
        await store.close()
    assert sender.closed
