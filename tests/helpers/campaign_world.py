"""What campaign tests share: contacts with addresses written fast, a template, a campaign."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import insert, select

from hub.activity import ActivityStore
from hub.activity.schema import contacts, identities
from hub.campaigns.manager import CampaignManager, CampaignSpec
from hub.campaigns.settings import CampaignSettings
from hub.model import utcnow

#: Settings that keep tests quick: short lease and heartbeat, retries within a second.
FAST = CampaignSettings(
    company_name="Acme",
    batch_size=10,
    window=20,
    lease_s=1.5,
    heartbeat_s=0.3,
    retry_initial_s=0.2,
    retry_max_s=1.0,
    max_attempts=6,
    poll_s=0.2,
)


def addresses(n: int, *, domain: str = "client.test", start: int = 0) -> list[str]:
    return [f"c{i:06d}@{domain}" for i in range(start, start + n)]


async def seed_contacts(
    store: ActivityStore,
    emails: Sequence[str | None],
    *,
    city: str = "Казань",
    phones: Sequence[str | None] = (),
) -> list[int]:
    """One contact per entry, with that e-mail (None: no address) and phone; their ids."""
    now = utcnow()
    async with store.engine.begin() as conn:
        first = int((await conn.execute(select(contacts.c.id).order_by(contacts.c.id.desc()).limit(1))).scalar() or 0) + 1
        ids = list(range(first, first + len(emails)))
        await conn.execute(
            insert(contacts),
            [
                {"id": cid, "name": f"Клиент {cid}", "city": city, "custom": {}, "is_lead": False,
                 "created_at": now, "updated_at": now}
                for cid in ids
            ],
        )
        rows = [
            {"contact_id": cid, "kind": "email", "value": email, "created_at": now}
            for cid, email in zip(ids, emails, strict=True)
            if email is not None
        ]
        rows += [
            {"contact_id": cid, "kind": "phone", "value": phone, "created_at": now}
            for cid, phone in zip(ids, phones, strict=False)
            if phone is not None
        ]
        if rows:
            await conn.execute(insert(identities), rows)
    return ids


async def email_template(store: ActivityStore, name: str = "news") -> int:
    template = await store.templates.create(name=name, channel="email", created_by="test")
    await store.templates.add_version(
        template.id,
        subject="Новости для {{ contact.name }}",
        html="<p>Здравствуйте, {{ contact.name }}!</p><p>{{ company.name }}</p>",
        text=None,
        created_by="test",
    )
    return template.id


async def started_campaign(
    store: ActivityStore,
    *,
    sender: str = "email:ivan",
    city: str = "Казань",
    name: str = "winter",
    throttle: float | None = None,
) -> int:
    """A campaign to everyone in `city`, created and started; its id."""
    manager = CampaignManager(store, senders=[sender], tz=store.tz)
    template_id = await email_template(store, f"{name}-template")
    campaign = await manager.create(
        CampaignSpec(
            name=name,
            channel="email",
            template_id=template_id,
            segment={"field": "city", "op": "eq", "value": city},
            sender=sender,
            throttle_per_s=throttle,
        ),
        created_by="test",
    )
    await manager.start(campaign.id)
    return campaign.id
