"""An SMS campaign through real Kannel 1.4.5 and its fake SMSC: one message per number."""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select

from hub.activity import ActivityStore
from hub.activity.schema import activities
from hub.campaigns.engine import CampaignWorker
from hub.campaigns.manager import CampaignManager, CampaignSpec
from hub.channels.sms.factory import build_sender
from hub.channels.sms.settings import SmsSettings
from tests.helpers.campaign_world import FAST, seed_contacts
from tests.helpers.postgres import free_port
from tests.integration.sms.kannel_server import PASSWORD, USERNAME, Kannel, running_kannel

pytestmark = pytest.mark.timeout(120)

NUMBERS = [f"+7900555{i:04d}" for i in range(12)]


def sent_by_kannel(kannel: Kannel) -> Counter[str]:
    """Receivers of the messages Kannel's access log says it sent."""
    log = (kannel.directory / "access.log").read_text(errors="replace")
    return Counter(
        m.group(1).lstrip("+")
        for line in log.splitlines()
        if "Sent SMS" in line
        for m in [re.search(r"\[to:([^\]]*)\]", line)]
        if m is not None
    )


async def test_an_sms_campaign_sends_each_number_once(tmp_path: Path, store: ActivityStore) -> None:
    sendsms_port = free_port()
    await seed_contacts(store, [None] * len(NUMBERS), phones=NUMBERS)
    template = await store.templates.create(name="sms", channel="sms", created_by="t")
    await store.templates.add_version(
        template.id, subject=None, html=None, text="{{ contact.name }}, скидка 10%", created_by="t"
    )
    manager = CampaignManager(store, senders=["sms:main"], tz=store.tz)
    campaign = await manager.create(
        CampaignSpec(
            name="sms",
            channel="sms",
            template_id=template.id,
            segment={"field": "has_mobile", "op": "eq", "value": True},
            sender="main",
        ),
        created_by="t",
    )
    snapshot = await manager.start(campaign.id)
    assert snapshot.pending == len(NUMBERS)
    settings = SmsSettings.model_validate(
        {
            "gateways": {
                "main": {
                    "kind": "kannel",
                    "url": f"kannel://{USERNAME}@127.0.0.1:{sendsms_port}",
                    "password": PASSWORD,
                    "sender": "1234",
                }
            },
            "retry_base_s": 0.1,
        }
    )
    sender = build_sender(settings, "main", None)
    kannel_cm = running_kannel(
        "http://127.0.0.1:9/mo", ("79001112233", "1234", "hi"), sendsms_port=sendsms_port
    )
    kannel = await asyncio.to_thread(kannel_cm.__enter__)
    try:
        worker = CampaignWorker(store, sender, FAST)
        await asyncio.wait_for(worker.run(campaign.id), 60)
        deadline = time.monotonic() + 20
        while sum(sent_by_kannel(kannel).values()) < len(NUMBERS):
            assert time.monotonic() < deadline, sent_by_kannel(kannel)
            await asyncio.sleep(0.2)
        got = sent_by_kannel(kannel)
    finally:
        await sender.close()
        await asyncio.to_thread(kannel_cm.__exit__, None, None, None)
    assert sorted(got) == sorted(n.lstrip("+") for n in NUMBERS)
    assert set(got.values()) == {1}
    summary = await manager.summary(campaign.id)
    assert summary.counts["sent"] == len(NUMBERS) and summary.campaign.state == "finished"
    async with store.engine.connect() as conn:
        rows = (await conn.execute(select(activities.c.channel, activities.c.meta))).all()
    marked = [r for r in rows if (r.meta or {}).get("campaign_id") == campaign.id]
    assert len(marked) == len(NUMBERS) and {r.channel for r in marked} == {"sms"}
