"""Segments as SQL: a parsed filter compiled to a SQLAlchemy Core condition on `contacts`.

Only whitelisted fields reach here (`segments.parse`), each mapped to a fixed column or
subquery of `hub.activity.schema`; every user value is a bound parameter, never SQL text.
Every condition is two-valued (never NULL), so ``not`` means what it says on empty
fields. `count`, `sample` and `members` run the condition; `members` pages by id
(keyset), so a snapshot of 100,000 recipients never holds an OFFSET scan or one huge
result.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    and_,
    exists,
    false,
    func,
    not_,
    or_,
    select,
    true,
)
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from hub.activity.dialect import custom_text
from hub.activity.rollups.rules import touch_clause
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
from hub.model import utcnow

#: Contact ids fetched per page by `members`.
PAGE_SIZE = 5000

_TEXT_COLUMNS = ("name", "region", "city", "importance", "segment", "position")


class _Position(FunctionElement[int]):
    """1-based position of a piece of text in another, 0 when absent (case-sensitive)."""

    type = Integer()
    inherit_cache = True


@compiles(_Position, "sqlite")
def _position_sqlite(element: _Position, compiler: SQLCompiler, **kw: Any) -> str:
    return f"instr({compiler.process(element.clauses, **kw)})"


@compiles(_Position, "postgresql")
def _position_postgresql(element: _Position, compiler: SQLCompiler, **kw: Any) -> str:
    return f"strpos({compiler.process(element.clauses, **kw)})"


def _touch(contact_id: Any) -> ColumnElement[bool]:
    """A client touch with this contact: the store's one touch rule (`rules.touch_clause`)."""
    return and_(activities.c.contact_id == contact_id, touch_clause(activities))


def _text_column(name: str) -> ColumnElement[Any]:
    if name == "organisation":
        return (
            select(organizations.c.name)
            .where(organizations.c.id == contacts.c.organization_id)
            .scalar_subquery()
        )
    return contacts.c[name]


def _text(column: ColumnElement[Any], op: Op, value: Any) -> ColumnElement[bool]:
    """A text test that is never NULL: an empty field equals nothing and differs from all."""
    present = column.is_not(None)
    if op is Op.EQ:
        return and_(present, column == value)
    if op is Op.NE:
        return or_(column.is_(None), column != value)
    if op is Op.IN:
        return and_(present, column.in_(list(value)))
    if op is Op.NOT_IN:
        return or_(column.is_(None), column.not_in(list(value)))
    if op is Op.CONTAINS:
        return and_(present, _Position(column, value) > 0)
    if op is Op.STARTS_WITH:
        return and_(present, func.substr(column, 1, len(value)) == value)
    if op is Op.IS_EMPTY:
        empty = or_(column.is_(None), column == "")
        return empty if value else not_(empty)
    raise AssertionError(f"text op {op}")


def _tags(op: Op, value: Any) -> ColumnElement[bool]:
    def has(*tags: str) -> ColumnElement[bool]:
        where = [contact_tags.c.contact_id == contacts.c.id]
        if tags:
            where.append(contact_tags.c.tag.in_(list(tags)))
        return exists().where(*where)

    table: dict[Op, Callable[[], ColumnElement[bool]]] = {
        Op.EQ: lambda: has(value),
        Op.NE: lambda: not_(has(value)),
        Op.IN: lambda: has(*value),
        Op.NOT_IN: lambda: not_(has(*value)),
        Op.IS_EMPTY: lambda: not_(has()) if value else has(),
    }
    return table[op]()


def _owner(op: Op, value: Any) -> ColumnElement[bool]:
    owner = contacts.c.owner_employee_id
    if op is Op.IN_SUBTREE:
        # An anonymous name: a filter may hold several subtrees, each its own CTE.
        tree = select(employees.c.id).where(employees.c.id == value).cte(recursive=True)
        # UNION, not UNION ALL: a loop in head_id ends instead of running forever.
        tree = tree.union(select(employees.c.id).where(employees.c.head_id == tree.c.id))
        return and_(owner.is_not(None), owner.in_(select(tree.c.id)))
    if op is Op.IS_EMPTY:
        return owner.is_(None) if value else owner.is_not(None)
    return _text(owner, op, value)


def _touched_by(value: TouchedBy) -> ColumnElement[bool]:
    return exists().where(
        _touch(contacts.c.id),
        activities.c.employee_id == value.employee,
        activities.c.occurred_at >= value.start,
        activities.c.occurred_at < value.end,
    )


def _flag(name: str, key: str | None) -> ColumnElement[bool]:
    if name == "is_lead":
        return contacts.c.is_lead.is_(True)
    if name == "has_email":
        return exists().where(
            identities.c.contact_id == contacts.c.id,
            identities.c.kind == "email",
            identities.c.bouncing_at.is_(None),
        )
    if name == "has_mobile":
        return exists().where(
            identities.c.contact_id == contacts.c.id,
            identities.c.kind == "phone",
            func.substr(identities.c.value, 1, 3).in_(list(MOBILE_PREFIXES)),
        )
    assert name == "opted_out" and key is not None
    return exists().where(
        identities.c.contact_id == contacts.c.id,
        identities.c.kind == OPT_OUT_CHANNELS[key],
        suppressions.c.channel == key,
        suppressions.c.address == identities.c.value,
        suppressions.c.lifted_at.is_(None),
    )


def _condition(node: Condition, now: datetime) -> ColumnElement[bool]:
    kind, op, value, field = node.kind, node.op, node.value, node.field
    if kind is Kind.TEXT:
        return _text(_text_column(field.name), op, value)
    if kind is Kind.CUSTOM:
        assert field.key is not None
        return _text(custom_text(contacts.c.custom, field.key), op, value)
    if kind is Kind.TAGS:
        return _tags(op, value)
    if kind is Kind.EMPLOYEE:
        return _owner(op, value)
    if kind is Kind.MOMENT:
        assert isinstance(value, datetime)
        column = contacts.c.created_at
        return column < value if op is Op.BEFORE else column >= value
    if kind is Kind.DAYS:
        assert isinstance(value, int)
        recent = exists().where(
            _touch(contacts.c.id), activities.c.occurred_at >= now - timedelta(days=value)
        )
        return not_(recent) if op is Op.GTE else recent
    if kind is Kind.TOUCHED_BY:
        assert isinstance(value, TouchedBy)
        return _touched_by(value)
    test = _flag(field.name, field.key)
    return test if value else not_(test)


def condition(node: Node, now: datetime) -> ColumnElement[bool]:
    """The filter as a condition on `contacts` (merged contacts not excluded yet)."""
    if isinstance(node, Condition):
        return _condition(node, now)
    if isinstance(node, Not):
        return not_(condition(node.item, now))
    parts = [condition(item, now) for item in node.items]
    if isinstance(node, All):
        return and_(true(), *parts)
    assert isinstance(node, AnyOf)
    return or_(false(), *parts)


def membership(node: Node, now: datetime | None = None) -> ColumnElement[bool]:
    """Who is in the segment: the filter, over contacts that were not merged away."""
    return and_(contacts.c.merged_into_id.is_(None), condition(node, now or utcnow()))


async def count(engine: AsyncEngine, node: Node, *, now: datetime | None = None) -> int:
    """How many contacts the segment has."""
    query = select(func.count()).select_from(contacts).where(membership(node, now))
    async with engine.connect() as conn:
        return int((await conn.execute(query)).scalar_one())


async def sample(
    engine: AsyncEngine, node: Node, n: int, *, now: datetime | None = None
) -> list[int]:
    """Up to `n` member ids picked at random (a preview of who would receive)."""
    query = (
        select(contacts.c.id).where(membership(node, now)).order_by(func.random()).limit(n)
    )
    async with engine.connect() as conn:
        return [int(i) for i in (await conn.execute(query)).scalars()]


async def members(
    engine: AsyncEngine,
    node: Node,
    *,
    now: datetime | None = None,
    page_size: int = PAGE_SIZE,
) -> AsyncIterator[int]:
    """Every member id in ascending order, fetched a page at a time after the last id seen.

    `now` is fixed for the whole walk, so "no touch for N days" means the same on every
    page.
    """
    where = membership(node, now or utcnow())
    last = 0
    # One connection for the walk, not one per page (on SQLite each would be a new
    # connection with its pragmas and a cold page cache). Pages are separate statements:
    # a contact added meanwhile above the last id seen is included, as it should be.
    async with engine.connect() as conn:
        while True:
            query = (
                select(contacts.c.id)
                .where(where, contacts.c.id > last)
                .order_by(contacts.c.id)
                .limit(page_size)
            )
            page = [int(i) for i in (await conn.execute(query)).scalars()]
            for contact_id in page:
                yield contact_id
            if len(page) < page_size:
                return
            last = page[-1]
