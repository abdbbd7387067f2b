"""A campaign's figures after a real send: delivered, replied, bounced, unsubscribed are each
what the store holds about its recipients, and nothing else counts."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import insert, select, update

from hub.activity import ActivityStore
from hub.activity.schema import activities, campaign_bounces, campaign_recipients, suppressions
from hub.campaigns.stats import campaign_stats, stats_line
from hub.model import utcnow
from tests.helpers.campaign_world import addresses, seed_contacts, started_campaign
from tests.helpers.smtp_server import SmtpServer, running_smtp
from tests.integration.campaigns.test_engine import run

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    with running_smtp() as server:
        yield server


def _inbound(contact_id: int, channel: str, at_offset: timedelta, n: int) -> dict[str, object]:
    now = utcnow()
    return {
        "source": "test", "external_id": f"in-{contact_id}-{n}", "channel": channel,
        "direction": "in", "status": "received", "occurred_at": now + at_offset,
        "contact_id": contact_id, "is_client": True, "flags": "", "meta": {},
        "created_at": now, "updated_at": now,
    }  # fmt: skip


async def test_the_figures_count_each_recipient_once_by_what_the_store_knows(
    store: ActivityStore, smtp_server: SmtpServer
) -> None:
    await seed_contacts(store, [*addresses(7), None])
    cid = await started_campaign(store)
    await run(store, smtp_server, cid)
    async with store.engine.begin() as conn:
        rows = (
            await conn.execute(
                select(campaign_recipients.c.id, campaign_recipients.c.contact_id, campaign_recipients.c.address)
                .where(campaign_recipients.c.campaign_id == cid, campaign_recipients.c.state == "sent")
                .order_by(campaign_recipients.c.id)
            )
        ).all()  # fmt: skip
        assert len(rows) == 7
        (_, c1, _), (_, c2, _), (_, c3, _), (_, c4, a4), (r5, _, a5), (r6, _, a6), _ = rows
        # delivered: the first letter's touch reached "delivered", the second's "read"
        for contact, status in ((c1, "delivered"), (c2, "read")):
            await conn.execute(
                update(activities)
                .where(activities.c.contact_id == contact, activities.c.direction == "out")
                .values(status=status)
            )
        # replied: c2 twice by e-mail after the send (one recipient), c3 only before it,
        # c4 only by SMS
        await conn.execute(
            insert(activities),
            [
                _inbound(c2, "email", timedelta(minutes=5), 1),
                _inbound(c2, "email", timedelta(minutes=9), 2),
                _inbound(c3, "email", timedelta(days=-1), 3),
                _inbound(c4, "sms", timedelta(minutes=5), 4),
            ],
        )
        now = utcnow()
        await conn.execute(
            insert(suppressions),
            [
                {"channel": "email", "address": a4, "reason": "unsubscribed", "created_at": now, "campaign_id": cid},
                {"channel": "email", "address": a5, "reason": "bounced", "created_at": now, "campaign_id": cid},
                {"channel": "email", "address": "x@elsewhere.test", "reason": "unsubscribed", "created_at": now, "campaign_id": cid + 1},
            ],
        )  # fmt: skip
        bounce = {"campaign_id": cid, "channel": "email", "origin": "dsn", "received_at": now}
        await conn.execute(
            insert(campaign_bounces),
            [
                {**bounce, "recipient_id": r5, "address": a5, "kind": "hard", "event_key": "k1"},
                {**bounce, "recipient_id": r5, "address": a5, "kind": "soft", "event_key": "k2"},
                {**bounce, "recipient_id": r6, "address": a6, "kind": "soft", "event_key": "k3"},
                {**bounce, "recipient_id": r6, "address": a6, "kind": "soft", "event_key": "k4"},
            ],
        )
    stats = (await campaign_stats(store, cid)).as_dict()
    assert stats == {
        "total": 8, "sent": 7, "delivered": 2, "bounced": 1, "soft_bounced": 1, "failed": 0,
        "unsubscribed": 1, "replied": 1, "pending": 0, "deferred": 0, "sending": 0,
        "unknown": 0, "skipped": 1,
    }  # fmt: skip
    assert "sent 7, delivered 2, bounced 1, failed 0, unsubscribed 1, replied 1" in stats_line(
        await campaign_stats(store, cid)
    )
