"""The campaign engine against a real SMTP server on loopback: once each, 4xx, 5xx, outages."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from hub.activity import ActivityStore
from hub.activity.schema import activities
from hub.campaigns.engine import CampaignWorker
from hub.campaigns.manager import CampaignManager
from hub.channels.email.factory import build_sender
from hub.channels.email.settings import AccountSettings, EmailSettings
from hub.channels.email.smtp_sender import SmtpSender
from tests.helpers.campaign_world import FAST, addresses, seed_contacts, started_campaign
from tests.helpers.smtp_server import SmtpServer, running_smtp

pytestmark = pytest.mark.timeout(120)

RUN_S = 60.0


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    with running_smtp() as server:
        yield server


def sender_for(smtp: SmtpServer, *, attempts: int = 1) -> SmtpSender:
    settings = EmailSettings.model_validate(
        {
            "company_domains": ["acme.ru"],
            "accounts": {
                "ivan": AccountSettings.model_validate(
                    {
                        "smtp": smtp.url(),
                        "password": "ivanpw",
                        "addresses": ["ivan@acme.ru"],
                        "tls_ca_file": str(smtp.cert),
                    }
                )
            },
            "timeout_s": 5.0,
            "smtp_retry_base_s": 0.05,
            "smtp_max_attempts": attempts,
        }
    )
    return build_sender(settings, "ivan")


def received(smtp: SmtpServer) -> Counter[str]:
    return Counter(r for letter in smtp.handler.received for r in letter.rcpt_tos)


async def until_received(smtp: SmtpServer, n: int) -> None:
    """Wait until the server has taken `n` letters (polled: it runs in another thread)."""
    deadline = asyncio.get_running_loop().time() + RUN_S
    while sum(received(smtp).values()) < n:
        assert asyncio.get_running_loop().time() < deadline, "the server got too few letters"
        await asyncio.sleep(0.02)


async def run(store: ActivityStore, smtp: SmtpServer, campaign_id: int) -> None:
    sender = sender_for(smtp)
    try:
        worker = CampaignWorker(store, sender, FAST, message_id_domain="acme.ru")
        await asyncio.wait_for(worker.run(campaign_id), RUN_S)
    finally:
        await sender.close()


async def summary(store: ActivityStore, campaign_id: int) -> dict[str, int]:
    manager = CampaignManager(store, senders=["email:ivan"], tz=store.tz)
    return dict((await manager.summary(campaign_id)).counts)


async def test_every_recipient_gets_exactly_one_letter_and_a_touch(
    store: ActivityStore, smtp_server: SmtpServer
) -> None:
    emails = addresses(60)
    await seed_contacts(store, [*emails, None])
    await seed_contacts(store, addresses(5, domain="elsewhere.test"), city="Уфа")
    campaign_id = await started_campaign(store)
    await run(store, smtp_server, campaign_id)
    got = received(smtp_server)
    assert sorted(got) == sorted(emails)
    assert set(got.values()) == {1}
    counts = await summary(store, campaign_id)
    assert counts["sent"] == 60 and counts["skipped"] == 1
    assert counts["pending"] == counts["sending"] == counts["deferred"] == 0
    campaign = await store.campaigns.get(campaign_id)
    assert campaign.state == "finished"
    async with store.engine.connect() as conn:
        rows = (await conn.execute(select(activities.c.meta, activities.c.direction, activities.c.contact_id))).all()
    marked = [r for r in rows if (r.meta or {}).get("campaign_id") == campaign_id]
    assert len(marked) == 60
    assert {r.direction for r in marked} == {"out"}
    assert all(r.contact_id is not None for r in marked)


async def test_a_4xx_storm_is_deferred_then_delivered(
    store: ActivityStore, smtp_server: SmtpServer
) -> None:
    emails = addresses(20)
    await seed_contacts(store, emails)
    for address in emails[:8]:
        smtp_server.handler.rcpt_script[address] = ["451 try later", "451 try later", "250 OK"]
    campaign_id = await started_campaign(store)
    await run(store, smtp_server, campaign_id)
    got = received(smtp_server)
    assert sorted(got) == sorted(emails) and set(got.values()) == {1}
    counts = await summary(store, campaign_id)
    assert counts["sent"] == 20 and counts["deferred"] == 0
    attempts = dict(await store.campaigns.message_ids(campaign_id, "sent"))
    assert all(attempts[a] == 3 for a in emails[:8])
    assert all(attempts[a] == 1 for a in emails[8:])


async def test_5xx_recipients_fail_and_the_rest_are_delivered(
    store: ActivityStore, smtp_server: SmtpServer
) -> None:
    emails = addresses(15)
    await seed_contacts(store, emails)
    refused = emails[:4]
    for address in refused:
        smtp_server.handler.rcpt_script[address] = ["550 no such user"]
    campaign_id = await started_campaign(store)
    await run(store, smtp_server, campaign_id)
    assert sorted(received(smtp_server)) == sorted(emails[4:])
    counts = await summary(store, campaign_id)
    assert counts["failed"] == 4 and counts["sent"] == 11
    page = await store.campaigns.recipients(campaign_id, state="failed")
    assert sorted(r.address for r in page) == refused
    assert {r.code for r in page} == {550}


async def test_the_server_gone_mid_campaign_and_back_loses_and_doubles_nobody(
    store: ActivityStore, smtp_server: SmtpServer
) -> None:
    emails = addresses(80)
    await seed_contacts(store, emails)
    campaign_id = await started_campaign(store, throttle=100.0)
    task = asyncio.create_task(run(store, smtp_server, campaign_id))
    await until_received(smtp_server, 20)
    await asyncio.to_thread(smtp_server.stop)
    await asyncio.sleep(0.8)
    await asyncio.to_thread(smtp_server.start)
    await asyncio.wait_for(task, RUN_S)
    got = received(smtp_server)
    assert sorted(got) == sorted(emails)
    assert set(got.values()) == {1}
    counts = await summary(store, campaign_id)
    assert counts["sent"] == 80


async def test_a_pause_holds_back_the_claimed_messages_still_waiting_for_the_throttle(
    store: ActivityStore, smtp_server: SmtpServer
) -> None:
    """The whole window is claimed at once; at 4 letters/s, 30 letters would take 7 s more
    after the pause if every claimed one still went out. They go back to pending instead."""
    emails = addresses(30)
    await seed_contacts(store, emails)
    campaign_id = await started_campaign(store, throttle=4.0)
    manager = CampaignManager(store, senders=["email:ivan"], tz=store.tz)
    task = asyncio.create_task(run(store, smtp_server, campaign_id))
    await until_received(smtp_server, 2)
    await manager.pause(campaign_id)
    await asyncio.wait_for(task, RUN_S)
    paused = await summary(store, campaign_id)
    sent = sum(received(smtp_server).values())
    assert sent == paused["sent"] < 10, paused
    assert paused["sending"] == 0 and paused["pending"] == 30 - sent
    await manager.resume(campaign_id)
    await run(store, smtp_server, campaign_id)
    got = received(smtp_server)
    assert sorted(got) == sorted(emails) and set(got.values()) == {1}


async def test_pause_stops_the_worker_and_resume_finishes(
    store: ActivityStore, smtp_server: SmtpServer
) -> None:
    emails = addresses(40)
    await seed_contacts(store, emails)
    campaign_id = await started_campaign(store, throttle=15.0)
    manager = CampaignManager(store, senders=["email:ivan"], tz=store.tz)
    task = asyncio.create_task(run(store, smtp_server, campaign_id))
    await until_received(smtp_server, 5)
    await manager.pause(campaign_id)
    await asyncio.wait_for(task, RUN_S)
    paused = await summary(store, campaign_id)
    assert paused["pending"] > 0 and paused["sending"] == 0
    assert sum(received(smtp_server).values()) == paused["sent"]
    await manager.resume(campaign_id)
    await run(store, smtp_server, campaign_id)
    got = received(smtp_server)
    assert sorted(got) == sorted(emails) and set(got.values()) == {1}
