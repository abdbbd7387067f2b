"""A Python evaluator of segment filters over plain contact records, and a writer of the
same records into a real store: the oracle the compiled SQL is held equal to."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import delete, insert
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.activity.rollups.rules import is_touch
from hub.activity.schema import (
    activities,
    contact_tags,
    contacts,
    employees,
    identities,
    organizations,
    suppressions,
)
from hub.campaigns.segments import (
    FIELDS,
    MOBILE_PREFIXES,
    OPT_OUT_CHANNELS,
    All,
    AnyOf,
    Condition,
    Kind,
    Node,
    Not,
    Op,
    TouchedBy,
)

#: The language's text fields, from its whitelist: a field added there is generated here
#: (and the evaluator below reads it from the contact record of the same name).
TEXT_FIELDS = tuple(name for name, spec in FIELDS.items() if spec.kind is Kind.TEXT)


@dataclass(frozen=True, slots=True, kw_only=True)
class PlainIdentity:
    kind: str
    value: str
    bouncing: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class PlainActivity:
    channel: str
    direction: str
    status: str
    is_client: bool
    occurred_at: datetime
    employee_id: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PlainContact:
    id: int
    name: str
    created_at: datetime
    organisation: str | None = None
    position: str | None = None
    region: str | None = None
    city: str | None = None
    importance: str | None = None
    segment: str | None = None
    custom: dict[str, str] = field(default_factory=dict)
    tags: frozenset[str] = frozenset()
    is_lead: bool = False
    owner: int | None = None
    merged_into: int | None = None
    identities: tuple[PlainIdentity, ...] = ()
    activities: tuple[PlainActivity, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class World:
    """Contacts with everything a filter can look at."""

    contacts: tuple[PlainContact, ...]
    #: employee id → head id
    heads: dict[int, int | None]
    #: (channel, address, lifted)
    suppressions: tuple[tuple[str, str, bool], ...] = ()


def _text(value: str | None, op: Op, arg: object) -> bool:
    if op is Op.EQ:
        return value is not None and value == arg
    if op is Op.NE:
        return value is None or value != arg
    if op is Op.IN:
        return value is not None and value in arg  # type: ignore[operator]
    if op is Op.NOT_IN:
        return value is None or value not in arg  # type: ignore[operator]
    if op is Op.CONTAINS:
        return value is not None and str(arg) in value
    if op is Op.STARTS_WITH:
        return value is not None and value.startswith(str(arg))
    assert op is Op.IS_EMPTY
    return (not value) is arg


def _subtree(world: World, root: int) -> set[int]:
    found = {root} if root in world.heads else set()
    grew = True
    while grew:
        more = {e for e, head in world.heads.items() if head in found} - found
        found |= more
        grew = bool(more)
    return found


def _touches(contact: PlainContact) -> list[PlainActivity]:
    return [
        a for a in contact.activities if is_touch(a.channel, a.direction, a.status, a.is_client)
    ]


def holds(node: Node, contact: PlainContact, world: World, now: datetime) -> bool:
    """Whether `contact` satisfies `node` (merging not considered)."""
    if isinstance(node, All):
        return all(holds(item, contact, world, now) for item in node.items)
    if isinstance(node, AnyOf):
        return any(holds(item, contact, world, now) for item in node.items)
    if isinstance(node, Not):
        return not holds(node.item, contact, world, now)
    return _condition(node, contact, world, now)


def _condition(node: Condition, c: PlainContact, world: World, now: datetime) -> bool:
    op, value, name = node.op, node.value, node.field.name
    if node.kind is Kind.TEXT:
        return _text(getattr(c, name), op, value)
    if node.kind is Kind.CUSTOM:
        assert node.field.key is not None
        return _text(c.custom.get(node.field.key), op, value)
    if node.kind is Kind.TAGS:
        if op is Op.IS_EMPTY:
            return (not c.tags) is value
        wanted = {value} if isinstance(value, str) else set(value)  # type: ignore[arg-type]
        has = bool(c.tags & wanted)
        return has if op in (Op.EQ, Op.IN) else not has
    if node.kind is Kind.EMPLOYEE:
        if op is Op.IS_EMPTY:
            return (c.owner is None) is value
        if op is Op.IN_SUBTREE:
            return c.owner is not None and c.owner in _subtree(world, int(value))  # type: ignore[arg-type]
        return _text(c.owner, op, value)  # type: ignore[arg-type]
    if node.kind is Kind.MOMENT:
        assert isinstance(value, datetime)
        return c.created_at < value if op is Op.BEFORE else c.created_at >= value
    if node.kind is Kind.DAYS:
        assert isinstance(value, int)
        cutoff = now - timedelta(days=value)
        recent = any(a.occurred_at >= cutoff for a in _touches(c))
        return not recent if op is Op.GTE else recent
    if node.kind is Kind.TOUCHED_BY:
        assert isinstance(value, TouchedBy)
        return any(
            a.employee_id == value.employee and value.start <= a.occurred_at < value.end
            for a in _touches(c)
        )
    if name == "is_lead":
        found = c.is_lead
    elif name == "has_email":
        found = any(i.kind == "email" and not i.bouncing for i in c.identities)
    elif name == "has_mobile":
        found = any(i.kind == "phone" and i.value.startswith(MOBILE_PREFIXES) for i in c.identities)
    else:
        channel = node.field.key
        assert channel is not None
        blocked = {a for ch, a, lifted in world.suppressions if ch == channel and not lifted}
        found = any(
            i.kind == OPT_OUT_CHANNELS[channel] and i.value in blocked for i in c.identities
        )
    return found is value


def members(node: Node, world: World, now: datetime) -> list[int]:
    """The ids the segment should have, ascending; merged contacts never."""
    return sorted(
        c.id for c in world.contacts if c.merged_into is None and holds(node, c, world, now)
    )


_TABLES_IN_DELETE_ORDER = (
    activities, contact_tags, identities, suppressions, contacts, employees, organizations,
)  # fmt: skip


async def write(engine: AsyncEngine, world: World, now: datetime) -> None:
    """Replace what the store holds with `world`."""
    async with engine.begin() as conn:
        for table in _TABLES_IN_DELETE_ORDER:
            await conn.execute(delete(table))
        org_names = sorted({c.organisation for c in world.contacts if c.organisation is not None})
        org_ids = {name: i for i, name in enumerate(org_names, start=1)}
        await _insert(conn, organizations, [{"id": i, "name": n, "created_at": now} for n, i in org_ids.items()])
        await _insert(
            conn,
            employees,
            [{"id": e, "name": f"Сотрудник {e}", "head_id": None, "active": True, "created_at": now} for e in world.heads],
        )
        for e, head in world.heads.items():
            if head is not None:
                await conn.execute(employees.update().where(employees.c.id == e).values(head_id=head))
        await _insert(
            conn,
            contacts,
            [
                {
                    "id": c.id, "name": c.name, "organization_id": None if c.organisation is None else org_ids[c.organisation],
                    "position": c.position, "region": c.region, "city": c.city,
                    "importance": c.importance, "segment": c.segment, "custom": c.custom,
                    "is_lead": c.is_lead, "owner_employee_id": c.owner, "merged_into_id": None,
                    "created_at": c.created_at, "updated_at": now,
                }
                for c in world.contacts
            ],
        )  # fmt: skip
        for c in world.contacts:
            if c.merged_into is not None:
                await conn.execute(
                    contacts.update().where(contacts.c.id == c.id).values(merged_into_id=c.merged_into)
                )
        await _insert(
            conn, contact_tags, [{"contact_id": c.id, "tag": t} for c in world.contacts for t in c.tags]
        )
        await _insert(
            conn,
            identities,
            [
                {"contact_id": c.id, "kind": i.kind, "value": i.value,
                 "bouncing_at": now if i.bouncing else None, "created_at": now}
                for c in world.contacts for i in c.identities
            ],
        )  # fmt: skip
        await _insert(
            conn,
            activities,
            [
                {
                    "source": "test", "external_id": f"{c.id}:{n}", "channel": a.channel,
                    "direction": a.direction, "status": a.status, "occurred_at": a.occurred_at,
                    "contact_id": c.id, "employee_id": a.employee_id, "is_client": a.is_client,
                    "flags": "", "meta": {}, "created_at": now, "updated_at": now,
                }
                for c in world.contacts for n, a in enumerate(c.activities)
            ],
        )  # fmt: skip
        await _insert(
            conn,
            suppressions,
            [
                {"channel": ch, "address": a, "reason": "unsubscribed", "created_at": now,
                 "lifted_at": now if lifted else None}
                for ch, a, lifted in world.suppressions
            ],
        )  # fmt: skip


async def _insert(conn: object, table: object, rows: Sequence[dict[str, object]]) -> None:
    if rows:
        await conn.execute(insert(table), list(rows))  # type: ignore[attr-defined,arg-type]
