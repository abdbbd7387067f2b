"""Trigger rules against the store and a real SMTP server: each event fires once and only once."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert

from hub.activity import ActivityStore
from hub.activity.repos.suppressions import Reason
from hub.activity.repos.triggers import RuleRow
from hub.activity.schema import activities
from hub.campaigns.engine import CampaignWorker
from hub.campaigns.triggers import TriggerManager, TriggerSpec
from hub.campaigns.triggers_eval import TriggerEvaluator
from hub.errors import ValidationError
from hub.model import Channel, utcnow
from tests.helpers.campaign_world import FAST, addresses, seed_contacts
from tests.helpers.smtp_server import SmtpServer, running_smtp
from tests.integration.campaigns.test_engine import sender_for

pytestmark = pytest.mark.timeout(120)

RUN_S = 60.0


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    with running_smtp() as server:
        yield server


def received(smtp: SmtpServer) -> Counter[str]:
    return Counter(r for letter in smtp.handler.received for r in letter.rcpt_tos)


async def template(store: ActivityStore, name: str, html: str) -> int:
    saved = await store.templates.create(name=name, channel="email", created_by="test")
    await store.templates.add_version(
        saved.id, subject="Для {{ contact.name }}", html=html, text=None, created_by="test"
    )
    return saved.id


async def rule(
    store: ActivityStore,
    kind: str,
    params: dict[str, Any],
    *,
    name: str = "rule",
    html: str = "<p>{{ contact.name }}, {{ company.name }}</p>",
) -> RuleRow:
    manager = TriggerManager(store, senders=["email:ivan"])
    template_id = await template(store, f"{name}-template", html)
    spec = TriggerSpec(name=name, kind=kind, params=params, template_id=template_id, sender="ivan")
    return await manager.create(spec, created_by="test")


async def send(store: ActivityStore, smtp: SmtpServer, found: RuleRow) -> None:
    """Send what the rule's campaign has queued, as `touchhub serve`'s runner would."""
    sender = sender_for(smtp)
    try:
        worker = CampaignWorker(store, sender, FAST, message_id_domain="acme.ru")
        await asyncio.wait_for(worker.run(found.campaign_id), RUN_S)
    finally:
        await sender.close()


async def call(
    store: ActivityStore, ext: str, contact_id: int, at: datetime, *, status: str, direction: str
) -> None:
    async with store.engine.begin() as conn:
        await conn.execute(
            insert(activities).values(
                source="ami:test", external_id=ext, channel="call", direction=direction,
                status=status, occurred_at=at, answered_at=at if status == "answered" else None,
                contact_id=contact_id, is_client=True, flags="", meta={},
                created_at=at, updated_at=at,
            )
        )  # fmt: skip


async def test_field_rule_fires_on_the_change_once_and_not_on_other_updates(
    store: ActivityStore, smtp_server: SmtpServer
) -> None:
    emails = addresses(3)
    ready, other, suppressed = await seed_contacts(store, emails)
    found = await rule(store, "field_value", {"field": "custom.order_status", "value": "ready"})
    await store.suppressions.suppress(
        channel=Channel.EMAIL, address=emails[2], reason=Reason.UNSUBSCRIBED
    )
    contacts = store.contacts
    await contacts.update(ready, custom={"order_status": "packing"})
    await contacts.update(other, custom={"order_status": "packing"})
    await contacts.update(ready, custom={"order_status": "ready"})  # the change: fires
    await contacts.update(ready, custom={"order_status": "ready"})  # the same value again
    await contacts.update(ready, city="Самара")  # an unrelated update
    await contacts.update(other, custom={"note": "ready"})  # another field
    await contacts.update(suppressed, custom={"order_status": "ready"})  # fires, is skipped
    evaluator = TriggerEvaluator(store)
    first, second = await asyncio.gather(evaluator.tick(), TriggerEvaluator(store).tick())
    assert first.queued + second.queued == 2 and not first.errors and not second.errors
    await send(store, smtp_server, found)
    assert received(smtp_server) == Counter({emails[0]: 1})
    # a restart: a new evaluator and a new worker find nothing new to send
    assert (await TriggerEvaluator(store).tick()).queued == 0
    await send(store, smtp_server, found)
    assert received(smtp_server) == Counter({emails[0]: 1})
    firings = await store.triggers.firings(found.id)
    assert sorted((f.contact_id, f.state, f.reason) for f in firings) == [
        (ready, "sent", None),
        (suppressed, "skipped", "suppressed"),
    ]
    # the same change made again later is a new event
    await contacts.update(ready, custom={"order_status": "shipped"})
    await contacts.update(ready, custom={"order_status": "ready"})
    assert (await evaluator.tick()).queued == 1
    await send(store, smtp_server, found)
    assert received(smtp_server) == Counter({emails[0]: 2})


async def test_missed_call_rule_fires_once_unless_returned_in_time(
    store: ActivityStore, smtp_server: SmtpServer
) -> None:
    emails = addresses(4)
    returned, forgotten, late_return, recent = await seed_contacts(store, emails)
    found = await rule(store, "missed_call", {"minutes": 10})
    t0 = found.created_at + timedelta(minutes=1)
    for n, cid in enumerate((returned, forgotten, late_return)):
        await call(store, f"m{n}", cid, t0, status="missed", direction="in")
    await call(store, "back", returned, t0 + timedelta(minutes=6), status="answered", direction="out")
    await call(store, "late", late_return, t0 + timedelta(minutes=30), status="answered", direction="out")
    await call(store, "m9", recent, t0 + timedelta(minutes=15), status="missed", direction="in")
    at = t0 + timedelta(minutes=20)  # the first three waited long enough, the last has not
    evaluator = TriggerEvaluator(store, clock=lambda: at)
    assert (await evaluator.tick()).fired == 2
    assert (await evaluator.tick()).fired == 0  # two evaluations
    assert (await TriggerEvaluator(store, clock=lambda: at).tick()).fired == 0  # a restart
    await send(store, smtp_server, found)
    assert received(smtp_server) == Counter({emails[1]: 1, emails[2]: 1})
    later = at + timedelta(minutes=10)
    assert (await TriggerEvaluator(store, clock=lambda: later).tick()).fired == 1  # the recent miss
    await send(store, smtp_server, found)
    assert received(smtp_server) == Counter({emails[1]: 1, emails[2]: 1, emails[3]: 1})


async def test_due_tomorrow_and_date_reached_fire_once_per_event(
    store: ActivityStore, smtp_server: SmtpServer
) -> None:
    emails = addresses(4)
    meeting, today_due, next_week, no_date = await seed_contacts(store, emails)
    due = await rule(store, "due_tomorrow", {}, name="due")
    paid = await rule(store, "date_reached", {"field": "custom.payment_due"}, name="pay")
    now = utcnow()
    local = now.astimezone(store.tz)
    tomorrow_noon = (local + timedelta(days=1)).replace(hour=12, minute=0)
    async with store.engine.begin() as conn:
        for n, (when, cid) in enumerate(((tomorrow_noon, meeting), (local + timedelta(days=3), meeting))):
            await conn.execute(
                insert(activities).values(
                    source="manual", external_id=f"i{n}", channel="meeting", direction="out",
                    status="planned", occurred_at=now, due_at=when, contact_id=cid,
                    is_client=True, flags="", meta={}, created_at=now, updated_at=now,
                )
            )  # fmt: skip
    await store.contacts.update(today_due, custom={"payment_due": local.date().isoformat()})
    week = (local.date() + timedelta(days=7)).isoformat()
    await store.contacts.update(next_week, custom={"payment_due": week})
    for _ in range(2):
        report = await TriggerEvaluator(store).tick()
    assert report.fired == 0 and not report.errors
    await send(store, smtp_server, due)
    await send(store, smtp_server, paid)
    assert received(smtp_server) == Counter({emails[0]: 1, emails[1]: 1})
    assert [f.event_key.split(":")[0] for f in await store.triggers.firings(due.id)] == ["due"]
    assert no_date not in {f.contact_id for f in await store.triggers.firings(paid.id)}


async def test_a_missing_variable_is_a_recorded_failure_and_other_rules_go_on(
    store: ActivityStore, smtp_server: SmtpServer
) -> None:
    emails = addresses(1)
    (cid,) = await seed_contacts(store, emails)
    broken = await rule(
        store,
        "field_value",
        {"field": "custom.order_status", "value": "ready"},
        name="broken",
        html="<p>Заказ {{ contact.custom.order_no }}</p>",
    )
    fine = await rule(store, "field_value", {"field": "importance", "value": "A"}, name="fine")
    await store.contacts.update(cid, importance="A", custom={"order_status": "ready"})
    report = await TriggerEvaluator(store).tick()
    assert report.queued == 2 and not report.errors
    await send(store, smtp_server, broken)
    await send(store, smtp_server, fine)
    assert received(smtp_server) == Counter({emails[0]: 1})
    (failure,) = await store.triggers.firings(broken.id)
    assert failure.state == "failed" and failure.reason == "template"
    assert failure.detail is not None and "order_no" in failure.detail
    (sent,) = await store.triggers.firings(fine.id)
    assert sent.state == "sent"


async def test_rules_are_checked_and_disabled_rules_do_not_fire(store: ActivityStore) -> None:
    (cid,) = await seed_contacts(store, addresses(1))
    with pytest.raises(ValidationError) as bad:
        await rule(store, "missed_call", {"minutes": 0}, name="zero")
    assert bad.value.field == "params.minutes"
    with pytest.raises(ValidationError) as unknown:
        await rule(store, "field_value", {"field": "password", "value": "x"}, name="pw")
    assert unknown.value.field == "params.field"
    found = await rule(store, "field_value", {"field": "custom.stage", "value": "won"})
    manager = TriggerManager(store, senders=["email:ivan"])
    await manager.disable(found.id)
    await store.contacts.update(cid, custom={"stage": "won"})
    assert (await TriggerEvaluator(store).tick()).queued == 0
    assert await store.triggers.firings(found.id) == []
    campaign = await store.campaigns.get(found.campaign_id)
    assert campaign.state == "paused"
    await manager.enable(found.id)
    assert (await store.campaigns.get(found.campaign_id)).state == "running"


async def test_a_triggered_sms_waits_for_the_end_of_quiet_hours(store: ActivityStore) -> None:
    night, day = await seed_contacts(store, [None, None], phones=["+79161110001", "+79161110002"])
    saved = await store.templates.create(name="sms", channel="sms", created_by="test")
    await store.templates.add_version(saved.id, subject=None, html=None,
                                      text="Заказ готов, {{ contact.name }}", created_by="test")  # fmt: skip
    manager = TriggerManager(store, senders=["sms:kannel"])
    found = await manager.create(
        TriggerSpec(name="sms", kind="field_value", params={"field": "segment", "value": "A"},
                    channel="sms", template_id=saved.id, sender="kannel"),
        created_by="test",
    )  # fmt: skip
    morning = utcnow().replace(microsecond=0) + timedelta(hours=8)

    def quiet_until(number: str, now: datetime) -> datetime | None:
        return morning if number.endswith("1") else None

    await store.contacts.update(night, segment="A")
    await store.contacts.update(day, segment="A")
    assert (await TriggerEvaluator(store, quiet_until=quiet_until).tick()).queued == 2
    page = await store.campaigns.recipients(found.campaign_id)
    due = {r.contact_id: r.due_at for r in page}
    assert due[night] == morning
    assert due[day] < morning - timedelta(hours=7)
    assert {r.state for r in page} == {"pending"}
