"""Trigger rules and their firings: the named queries.

A rule sends through its own campaign (created with it, in the same transaction), so
the campaign engine claims, renders, sends and records each firing like any campaign
recipient: suppressions, opt-outs and "no address" are decided by the same snapshot
statement (`snapshot_rows`), and a sent message is an outgoing touch marked with the
campaign.

Each event a rule fires on is one row of `trigger_firings`, unique per (rule, event
key): recording it twice (a replay, two processes, a restart between "found" and
"queued") adds nothing. Queuing a firing claims it (``queued_at IS NULL`` → now) and
inserts its recipient row in one transaction, so a firing queues at most one recipient.

A contact field changing to a value is recorded at the write (`fire_on_change`, called
by `ContactRepo.update` on its own connection): never found later by comparing states.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import String, cast, delete, exists, insert, literal, not_, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.activity.dialect import custom_text, insert_ignore, one_of
from hub.activity.repos.base import MAX_PAGE, Repo
from hub.activity.repos.campaigns import (
    CampaignRow,
    CampaignState,
    RecipientState,
    SkipReason,
    snapshot_rows,
)
from hub.activity.rollups.rules import CALLBACK_SOURCE
from hub.activity.schema import (
    activities,
    campaign_recipients,
    campaigns,
    contacts,
    trigger_firings,
    trigger_rules,
)
from hub.errors import Conflict, NotFound
from hub.model import Channel, Direction, Status, utcnow

T = trigger_rules.c
F = trigger_firings.c
R = campaign_recipients.c
A = activities.c

#: The segment of a rule's campaign: nobody (its recipients come from firings only).
NOBODY: Mapping[str, Any] = {"any": []}
#: Prefix of the campaign a rule sends through.
CAMPAIGN_PREFIX = "trigger"


class TriggerKind(StrEnum):
    """What a rule reacts to."""

    MISSED_CALL = "missed_call"  # an inbound call missed and not returned within N minutes
    DUE_TOMORROW = "due_tomorrow"  # a planned interaction due tomorrow (company time zone)
    FIELD_VALUE = "field_value"  # a contact field changed to a value
    DATE_REACHED = "date_reached"  # a date in a custom field is today (company time zone)


@dataclass(frozen=True, slots=True, kw_only=True)
class NewRule:
    """A rule as created (checked by `hub.campaigns.triggers` before it gets here)."""

    name: str
    kind: str
    params: Mapping[str, Any]
    channel: str
    template_id: int
    template_version: int
    sender: str
    enabled: bool
    created_by: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RuleRow:
    """A rule as stored."""

    id: int
    name: str
    kind: str
    params: Mapping[str, Any]
    channel: str
    template_id: int
    template_version: int
    sender: str
    campaign_id: int
    enabled: bool
    created_by: str
    created_at: datetime
    updated_at: datetime
    last_run_at: datetime | None
    last_error: str | None

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in RuleRow.__slots__} | {
            "params": dict(self.params)
        }


def _rule(row: RowMapping) -> RuleRow:
    return RuleRow(**{name: row[name] for name in RuleRow.__slots__})


@dataclass(frozen=True, slots=True)
class Event:
    """One event a rule fires on: its key (unique per rule) and the contact to write to."""

    key: str
    contact_id: int


@dataclass(frozen=True, slots=True, kw_only=True)
class FiringRow:
    """One firing with what became of its message (the campaign recipient's state)."""

    id: int
    rule_id: int
    event_key: str
    contact_id: int | None
    contact_name: str | None
    fired_at: datetime
    queued_at: datetime | None
    recipient_id: int | None
    address: str | None
    state: str  # waiting (not queued yet), or the recipient's state
    reason: str | None
    detail: str | None

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in FiringRow.__slots__}


#: Contact columns a field rule may watch (besides ``custom.KEY``).
WATCHED_COLUMNS = ("name", "position", "city", "region", "importance", "segment")


def field_value(row: Mapping[str, Any], field: str) -> str | None:
    """The text of `field` (a column or ``custom.KEY``) in a contact row; None when unset."""
    if field.startswith("custom."):
        value = (row.get("custom") or {}).get(field.removeprefix("custom."))
    else:
        value = row.get(field)
    return None if value is None else str(value)


async def fire_on_change(
    conn: AsyncConnection,
    contact_id: int,
    before: Mapping[str, Any],
    after: Mapping[str, Any],
    now: datetime,
) -> int:
    """Record a firing of every enabled field rule whose field became its value in this
    write (on the writer's connection, so it commits with the change or not at all).
    An update that leaves the field as it was fires nothing. Returns how many fired."""
    rules = (
        await conn.execute(
            select(T.id, T.params).where(
                T.kind == TriggerKind.FIELD_VALUE.value, T.enabled.is_(True)
            )
        )
    ).all()
    rows = []
    for rule_id, params in rules:
        field = str(params.get("field", ""))
        wanted = str(params.get("value", ""))
        old, new = field_value(before, field), field_value(after, field)
        if new == wanted and old != wanted:
            rows.append(
                {
                    "rule_id": rule_id,
                    "event_key": f"field:{contact_id}:{now.isoformat()}",
                    "contact_id": contact_id,
                    "detail": f"{field}: {old!r} → {new!r}",
                    "fired_at": now,
                }
            )
    if rows:
        await conn.execute(insert_ignore(conn, trigger_firings, ("rule_id", "event_key")), rows)
    return len(rows)


class TriggersRepo(Repo):
    """Rules, their campaigns, events found, firings recorded and queued."""

    # -- rules ---------------------------------------------------------------------------

    async def create(self, new: NewRule) -> RuleRow:
        """Save a rule and the campaign it sends through, in one transaction."""
        now = utcnow()
        try:
            async with self.tx() as work:
                conn = work.conn
                rule_id = int(
                    (
                        await conn.execute(
                            insert(trigger_rules)
                            .values(
                                name=new.name,
                                kind=new.kind,
                                params=dict(new.params),
                                channel=new.channel,
                                template_id=new.template_id,
                                template_version=new.template_version,
                                sender=new.sender,
                                enabled=new.enabled,
                                created_by=new.created_by,
                                created_at=now,
                                updated_at=now,
                            )
                            .returning(T.id)
                        )
                    ).scalar_one()
                )
                campaign_id = int(
                    (
                        await conn.execute(
                            insert(campaigns)
                            .values(
                                name=f"{CAMPAIGN_PREFIX} {rule_id}: {new.name}"[:200],
                                channel=new.channel,
                                template_id=new.template_id,
                                template_version=new.template_version,
                                segment=dict(NOBODY),
                                sender=new.sender,
                                schedule="now",
                                state=(
                                    CampaignState.FINISHED if new.enabled else CampaignState.PAUSED
                                ).value,
                                created_by=new.created_by,
                                created_at=now,
                                started_at=now,
                                updated_at=now,
                            )
                            .returning(campaigns.c.id)
                        )
                    ).scalar_one()
                )
                await conn.execute(
                    update(trigger_rules).where(T.id == rule_id).values(campaign_id=campaign_id)
                )
        except Conflict as exc:
            raise Conflict(f"a trigger named {new.name!r} exists", field="name") from exc
        return await self.get(rule_id)

    async def get(self, rule_id: int) -> RuleRow:
        async with self.read() as conn:
            row = (
                await conn.execute(select(trigger_rules).where(T.id == rule_id))
            ).mappings().first()
        if row is None:
            raise NotFound(f"no trigger {rule_id}")
        return _rule(row)

    async def list_all(self, *, enabled: bool | None = None) -> list[RuleRow]:
        query = select(trigger_rules).order_by(T.id)
        if enabled is not None:
            query = query.where(T.enabled.is_(enabled))
        async with self.read() as conn:
            return [_rule(r) for r in (await conn.execute(query)).mappings()]

    async def campaign_of(self, rule: RuleRow) -> CampaignRow:
        async with self.read() as conn:
            row = (
                await conn.execute(select(campaigns).where(campaigns.c.id == rule.campaign_id))
            ).mappings().one()
        return CampaignRow(**{name: row[name] for name in CampaignRow.__slots__})

    async def set_enabled(self, rule_id: int, enabled: bool) -> RuleRow:
        """Enable or disable a rule; a disabled rule's campaign is paused (nothing queued
        for it goes out until it is enabled again)."""
        rule = await self.get(rule_id)
        now = utcnow()
        async with self.tx() as work:
            await work.conn.execute(
                update(trigger_rules).where(T.id == rule_id).values(enabled=enabled, updated_at=now)
            )
            to, froms = (
                (CampaignState.RUNNING, (CampaignState.PAUSED,))
                if enabled
                else (CampaignState.PAUSED, (CampaignState.RUNNING, CampaignState.FINISHED))
            )
            await work.conn.execute(
                update(campaigns)
                .where(
                    campaigns.c.id == rule.campaign_id,
                    campaigns.c.state.in_([s.value for s in froms]),
                )
                .values(state=to.value, finished_at=None, updated_at=now)
            )
        return await self.get(rule_id)

    async def delete(self, rule_id: int) -> RuleRow:
        """Delete a rule and its firings; its campaign is cancelled (kept, with what it sent)."""
        rule = await self.get(rule_id)
        now = utcnow()
        async with self.tx() as work:
            conn = work.conn
            await conn.execute(delete(trigger_firings).where(F.rule_id == rule_id))
            await conn.execute(delete(trigger_rules).where(T.id == rule_id))
            await conn.execute(
                update(campaigns)
                .where(campaigns.c.id == rule.campaign_id)
                .values(state=CampaignState.CANCELLED.value, finished_at=now, updated_at=now)
            )
            await conn.execute(
                update(campaign_recipients)
                .where(
                    R.campaign_id == rule.campaign_id,
                    R.state.in_([RecipientState.PENDING.value, RecipientState.DEFERRED.value]),
                )
                .values(
                    state=RecipientState.SKIPPED.value,
                    reason=SkipReason.CANCELLED.value,
                    updated_at=now,
                )
            )
        return rule

    async def record_run(self, rule_id: int, at: datetime, error: str | None) -> None:
        """When the rule was last evaluated and what went wrong (None: nothing)."""
        async with self.tx() as work:
            await work.conn.execute(
                update(trigger_rules)
                .where(T.id == rule_id)
                .values(last_run_at=at, last_error=None if error is None else error[:2000])
            )

    # -- events --------------------------------------------------------------------------

    def _not_fired(self, rule_id: int, key: Any) -> Any:
        return not_(exists().where(F.rule_id == rule_id, F.event_key == key))

    async def missed_calls(
        self, rule: RuleRow, *, wait: timedelta, since: datetime, now: datetime, limit: int
    ) -> list[Event]:
        """Inbound calls with a contact missed between `since` and ``now - wait`` with no
        answered call with that contact (either way) within `wait` after the miss."""
        key = literal("call:") + cast(A.id, String)
        async with self.read() as conn:
            missed = (
                await conn.execute(
                    select(A.id, A.contact_id, A.occurred_at)
                    .where(
                        A.channel == Channel.CALL.value,
                        A.direction == Direction.IN.value,
                        A.status.in_([Status.MISSED.value, Status.BUSY.value]),
                        A.contact_id.is_not(None),
                        A.occurred_at >= since,
                        A.occurred_at <= now - wait,
                        self._not_fired(rule.id, key),
                    )
                    .order_by(A.occurred_at, A.id)
                    .limit(limit)
                )
            ).all()
            if not missed:
                return []
            people = sorted({int(m.contact_id) for m in missed})
            answered = (
                await conn.execute(
                    select(A.contact_id, A.answered_at, A.occurred_at).where(
                        A.channel == Channel.CALL.value,
                        A.status == Status.ANSWERED.value,
                        A.direction != Direction.INTERNAL.value,
                        one_of(conn, A.contact_id, people),
                        A.occurred_at >= min(m.occurred_at for m in missed),
                    )
                )
            ).all()
        returned: dict[int, list[datetime]] = {}
        for cid, answered_at, occurred_at in answered:
            returned.setdefault(int(cid), []).append(answered_at or occurred_at)
        events = []
        for m in missed:
            called_back = any(
                m.occurred_at <= when <= m.occurred_at + wait
                for when in returned.get(int(m.contact_id), [])
            )
            if not called_back:
                events.append(Event(f"call:{m.id}", int(m.contact_id)))
        return events

    async def due_between(
        self, rule: RuleRow, *, start: datetime, end: datetime, day: str, limit: int
    ) -> list[Event]:
        """Planned interactions with a contact due in [start, end) (callback tasks aside)."""
        key = literal("due:") + cast(A.id, String) + literal(f":{day}")
        async with self.read() as conn:
            rows = (
                await conn.execute(
                    select(A.id, A.contact_id)
                    .where(
                        A.status == Status.PLANNED.value,
                        A.source != CALLBACK_SOURCE,
                        A.contact_id.is_not(None),
                        A.due_at >= start,
                        A.due_at < end,
                        self._not_fired(rule.id, key),
                    )
                    .order_by(A.due_at, A.id)
                    .limit(limit)
                )
            ).all()
        return [Event(f"due:{aid}:{day}", int(cid)) for aid, cid in rows]

    async def date_reached(self, rule: RuleRow, *, key: str, day: str, limit: int) -> list[Event]:
        """Contacts whose custom field `key` holds the date `day` (ISO; a time may follow)."""
        event = literal("date:") + cast(contacts.c.id, String)
        event = event + literal(f":{key}:{day}")
        value = custom_text(contacts.c.custom, key)
        async with self.read() as conn:
            rows = (
                await conn.execute(
                    select(contacts.c.id)
                    .where(value.like(f"{day}%"), self._not_fired(rule.id, event))
                    .order_by(contacts.c.id)
                    .limit(limit)
                )
            ).scalars().all()
        return [Event(f"date:{cid}:{key}:{day}", int(cid)) for cid in rows]

    # -- firings -------------------------------------------------------------------------

    async def record(self, rule_id: int, events: Sequence[Event], now: datetime) -> int:
        """Record firings of `events`; an event already recorded adds nothing. How many new."""
        if not events:
            return 0
        rows = [
            {"rule_id": rule_id, "event_key": e.key, "contact_id": e.contact_id, "fired_at": now}
            for e in events
        ]
        async with self.tx() as work:
            result = await work.conn.execute(
                insert_ignore(work.conn, trigger_firings, ("rule_id", "event_key")).returning(
                    F.id
                ),
                rows,
            )
            return len(result.all())

    async def queue(
        self,
        rule: RuleRow,
        *,
        now: datetime,
        limit: int,
        due_for: Callable[[str], datetime | None] | None = None,
    ) -> int:
        """Queue up to `limit` recorded firings of `rule` as recipients of its campaign, in
        one transaction: each claimed (``queued_at``) and given its recipient row, which the
        snapshot statement makes pending or skipped with its reason. `due_for` holds an
        address back (quiet hours) until the time it gives. Returns how many queued."""
        async with self.read() as conn:
            waiting = (
                await conn.execute(
                    select(F.id, F.contact_id)
                    .where(F.rule_id == rule.id, F.queued_at.is_(None))
                    .order_by(F.id)
                    .limit(limit)
                )
            ).all()
        if not waiting:
            return 0
        campaign = await self.campaign_of(rule)
        queued = 0
        async with self.tx() as work:
            conn = work.conn
            for firing_id, contact_id in waiting:
                claimed = await conn.execute(
                    update(trigger_firings)
                    .where(F.id == firing_id, F.queued_at.is_(None))
                    .values(queued_at=now)
                )
                if not claimed.rowcount:  # another process queued it
                    continue
                queued += 1
                recipient = await self._recipient(conn, campaign, contact_id, now, due_for)
                if recipient is None:
                    await conn.execute(
                        update(trigger_firings)
                        .where(F.id == firing_id)
                        .values(detail="the contact no longer exists")
                    )
                    continue
                await conn.execute(
                    update(trigger_firings).where(F.id == firing_id).values(recipient_id=recipient)
                )
            if queued:
                await conn.execute(
                    update(campaigns)
                    .where(
                        campaigns.c.id == campaign.id,
                        campaigns.c.state == CampaignState.FINISHED.value,
                    )
                    .values(state=CampaignState.RUNNING.value, finished_at=None, updated_at=now)
                )
        return queued

    async def _recipient(
        self,
        conn: AsyncConnection,
        campaign: CampaignRow,
        contact_id: int | None,
        now: datetime,
        due_for: Callable[[str], datetime | None] | None,
    ) -> int | None:
        if contact_id is None:
            return None
        source = snapshot_rows(
            campaign, contacts.c.id == contact_id, due_at=now, now=now, with_tz=False
        )
        row = (
            await conn.execute(
                insert(campaign_recipients)
                .from_select(
                    [
                        "campaign_id",
                        "contact_id",
                        "address",
                        "tz",
                        "state",
                        "reason",
                        "attempts",
                        "due_at",
                        "updated_at",
                    ],
                    source,
                )
                .returning(R.id, R.address, R.state)
            )
        ).first()
        if row is None:
            return None
        rid, address, state = int(row[0]), row[1], row[2]
        if due_for is not None and address and state == RecipientState.PENDING.value:
            later = due_for(str(address))
            if later is not None:
                await conn.execute(
                    update(campaign_recipients).where(R.id == rid).values(due_at=later)
                )
        return rid

    async def wake(self, now: datetime) -> int:
        """Set running again the finished campaigns of enabled rules that have open
        recipients (a firing queued while the engine was finishing the campaign)."""
        open_rows = exists().where(
            R.campaign_id == campaigns.c.id,
            R.state.in_(
                [
                    RecipientState.PENDING.value,
                    RecipientState.DEFERRED.value,
                    RecipientState.SENDING.value,
                ]
            ),
        )
        async with self.tx() as work:
            result = await work.conn.execute(
                update(campaigns)
                .where(
                    campaigns.c.id.in_(select(T.campaign_id).where(T.enabled.is_(True))),
                    campaigns.c.state == CampaignState.FINISHED.value,
                    open_rows,
                )
                .values(state=CampaignState.RUNNING.value, finished_at=None, updated_at=now)
            )
        return int(result.rowcount or 0)

    async def firings(
        self, rule_id: int, *, after: int = 0, limit: int = 100
    ) -> list[FiringRow]:
        """A page of a rule's firings by id after `after`, with their message's state."""
        query = (
            select(
                F.id,
                F.rule_id,
                F.event_key,
                F.contact_id,
                contacts.c.name.label("contact_name"),
                F.fired_at,
                F.queued_at,
                F.recipient_id,
                R.address,
                R.state,
                R.reason,
                F.detail.label("firing_detail"),
                R.detail.label("recipient_detail"),
            )
            .select_from(
                trigger_firings.outerjoin(contacts, contacts.c.id == F.contact_id).outerjoin(
                    campaign_recipients, R.id == F.recipient_id
                )
            )
            .where(F.rule_id == rule_id, F.id > after)
            .order_by(F.id)
            .limit(min(limit, MAX_PAGE))
        )
        async with self.read() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [
            FiringRow(
                id=int(r["id"]),
                rule_id=int(r["rule_id"]),
                event_key=r["event_key"],
                contact_id=r["contact_id"],
                contact_name=r["contact_name"],
                fired_at=r["fired_at"],
                queued_at=r["queued_at"],
                recipient_id=r["recipient_id"],
                address=r["address"],
                state=r["state"] or ("waiting" if r["queued_at"] is None else "dropped"),
                reason=r["reason"],
                detail=r["recipient_detail"] or r["firing_detail"],
            )
            for r in rows
        ]

    async def firing_counts(self, rule_ids: Sequence[int]) -> dict[int, dict[str, int]]:
        """Firings per message state of each rule (``waiting``: not queued yet)."""
        if not rule_ids:
            return {}
        async with self.read() as conn:
            rows = (
                await conn.execute(
                    select(F.rule_id, R.state, F.queued_at.is_(None), F.id)
                    .select_from(
                        trigger_firings.outerjoin(campaign_recipients, R.id == F.recipient_id)
                    )
                    .where(one_of(conn, F.rule_id, list(rule_ids)))
                )
            ).all()
        out: dict[int, dict[str, int]] = {int(r): {} for r in rule_ids}
        for rule_id, state, waiting, _ in rows:
            name = state or ("waiting" if waiting else "dropped")
            counts = out[int(rule_id)]
            counts[name] = counts.get(name, 0) + 1
        return out


__all__ = [
    "WATCHED_COLUMNS",
    "Event",
    "FiringRow",
    "NewRule",
    "RuleRow",
    "TriggerKind",
    "TriggersRepo",
    "field_value",
    "fire_on_change",
]
