"""Starting a campaign snapshots its recipients: who is pending, who is skipped and why."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import insert, update

from hub.activity import ActivityStore
from hub.activity.schema import contacts, identities, suppressions
from hub.campaigns.manager import CampaignManager, CampaignSpec
from hub.model import utcnow
from tests.helpers.campaign_world import email_template, seed_contacts


async def test_skips_carry_their_reason_and_nobody_is_listed_twice(store: ActivityStore) -> None:
    ids = await seed_contacts(
        store,
        ["ok1@c.test", "ok2@c.test", None, "gone@c.test", "unsub@c.test", "other@c.test"],
    )
    now = utcnow()
    async with store.engine.begin() as conn:
        # contact 4: its only address bounces; contact 5: that address is unsubscribed;
        # contact 6: a second address of theirs is suppressed (they opted out)
        await conn.execute(
            update(identities).where(identities.c.value == "gone@c.test").values(bouncing_at=now)
        )
        await conn.execute(
            insert(identities),
            [{"contact_id": ids[5], "kind": "email", "value": "other2@c.test", "created_at": now}],
        )
        await conn.execute(
            insert(suppressions),
            [
                {"channel": "email", "address": "unsub@c.test", "reason": "unsubscribed", "created_at": now, "lifted_at": None},
                {"channel": "email", "address": "other2@c.test", "reason": "unsubscribed", "created_at": now, "lifted_at": None},
                {"channel": "sms", "address": "ok1@c.test", "reason": "unsubscribed", "created_at": now, "lifted_at": None},
                {"channel": "email", "address": "ok2@c.test", "reason": "bounced", "created_at": now,
                 "lifted_at": now},
            ],
        )  # fmt: skip
    manager = CampaignManager(store, senders=["email:ivan"], tz=store.tz)
    campaign = await manager.create(
        CampaignSpec(
            name="c",
            channel="email",
            template_id=await email_template(store),
            segment={"all": []},
            sender="ivan",
        ),
        created_by="t",
    )
    snapshot = await manager.start(campaign.id)
    assert snapshot.total == 6 and snapshot.pending == 2
    assert snapshot.skipped == {"no_address": 1, "bounced": 1, "suppressed": 1, "opted_out": 1}
    rows = await store.campaigns.recipients(campaign.id)
    by_contact = {r.contact_id: (r.state, r.reason, r.address) for r in rows}
    assert by_contact[ids[0]] == ("pending", None, "ok1@c.test")
    assert by_contact[ids[1]] == ("pending", None, "ok2@c.test")  # suppression lifted
    assert by_contact[ids[2]] == ("skipped", "no_address", None)
    summary = await manager.summary(campaign.id)
    assert summary.counts["pending"] == 2 and summary.counts["skipped"] == 4


async def test_a_local_hour_schedule_sets_each_recipients_due_time(store: ActivityStore) -> None:
    ids = await seed_contacts(store, ["msk@c.test", "vl@c.test", "odd@c.test"])
    async with store.engine.begin() as conn:
        for cid, tz in zip(ids, ["Europe/Moscow", "Asia/Vladivostok", "Nowhere/Else"], strict=True):
            await conn.execute(update(contacts).where(contacts.c.id == cid).values(custom={"timezone": tz}))
    manager = CampaignManager(store, senders=["email:ivan"], tz=ZoneInfo("Asia/Yekaterinburg"))
    campaign = await manager.create(
        CampaignSpec(
            name="morning",
            channel="email",
            template_id=await email_template(store),
            segment={"all": []},
            sender="ivan",
            schedule="local_hour",
            local_hour=10,
        ),
        created_by="t",
    )
    before = utcnow()
    await manager.start(campaign.id)
    due = {r.address: r.due_at for r in await store.campaigns.recipients(campaign.id)}
    for address, tz in (
        ("msk@c.test", "Europe/Moscow"),
        ("vl@c.test", "Asia/Vladivostok"),
        ("odd@c.test", "Asia/Yekaterinburg"),  # an unknown zone: the company's
    ):
        local = due[address].astimezone(ZoneInfo(tz))
        assert (local.hour, local.minute) == (10, 0), address
        assert before - timedelta(seconds=1) <= due[address] <= before + timedelta(days=1)
    assert len(set(due.values())) == 3
