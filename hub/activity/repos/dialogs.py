"""Messenger dialogs: listed, opened, marked read, and the chat a reply goes to.

Every listing is one statement per page, whatever its length (issue #16): the dialogs
table already holds each dialog's last message, unread count and wait (a projection,
`rollups/dialogs.py`), and the contact and owner come from one join. Visibility is
`dialog_rules.DialogScope`, read once per call from the hierarchy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, false, func, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement

from hub.activity import dialog_reminders
from hub.activity.cursor import decode_time_id, encode_time_id
from hub.activity.dialog_rules import (
    PLATFORMS,
    DialogScope,
    account_of,
    address_kind,
    owner_of,
    platform_of,
    source_for,
)
from hub.activity.principal import Principal
from hub.activity.repos.activities import LIST_COLUMNS, Page
from hub.activity.repos.base import MAX_PAGE, Repo, jsonable
from hub.activity.repos.employees import hierarchy_of
from hub.activity.rollups import dialogs as dialog_rows
from hub.activity.schema import activities, contacts, dialogs, employees, identities
from hub.errors import NotFound, ValidationError
from hub.model import AddressKind, Channel, Direction, utcnow


@dataclass(frozen=True, slots=True, kw_only=True)
class DialogFilter:
    """Which dialogs to list: the caller's own (`mine`), those waiting for a reply, one
    platform (``telegram``), one account's (`source`), an account name on any platform
    (`account`), one contact's."""

    mine: bool = False
    unanswered: bool = False
    platform: str | None = None
    source: str | None = None
    account: str | None = None
    contact_id: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ReplyTarget:
    """Where a reply goes: the account (`source`, also the sender's key) and the chat."""

    source: str
    kind: AddressKind
    chat: str
    contact_id: int | None
    dialog_id: int | None


class DialogRepo(Repo):
    """Dialogs as the people who answer them see them."""

    def _owner(self) -> ColumnElement[Any]:
        queue = self.options.dialogs.queue
        if queue is None:
            return contacts.c.owner_employee_id
        return func.coalesce(contacts.c.owner_employee_id, literal(queue))

    def _in_scope(self, scope: DialogScope) -> ColumnElement[bool] | None:
        owner = self._owner()
        if scope.owners is None:
            return None if scope.unowned else owner.is_not(None)
        seen: list[ColumnElement[bool]] = []
        if scope.owners:
            seen.append(owner.in_(sorted(scope.owners)))
        if scope.unowned:
            seen.append(owner.is_(None))
        return or_(*seen) if seen else false()

    def _select(self) -> Any:
        owner = self._owner().label("owner_employee_id")
        owner_name = (
            select(employees.c.name)
            .where(employees.c.id == self._owner())
            .scalar_subquery()
            .label("owner_name")
        )
        return select(
            *dialogs.c, contacts.c.name.label("contact_name"), owner, owner_name
        ).select_from(dialogs.outerjoin(contacts, contacts.c.id == dialogs.c.contact_id))

    async def scope(self, who: Principal) -> DialogScope:
        """What `who` sees (one statement: the hierarchy)."""
        async with self.read() as conn:
            return DialogScope.of(who, await hierarchy_of(conn))

    async def list(
        self, scope: DialogScope, flt: DialogFilter, *, limit: int = 50, cursor: str | None = None
    ) -> Page:
        """Dialogs, latest message first; pass the returned cursor to get the next page."""
        limit = max(1, min(limit, MAX_PAGE))
        conds: list[ColumnElement[bool]] = []
        seen = self._in_scope(scope)
        if seen is not None:
            conds.append(seen)
        if flt.mine:
            conds.append(self._owner() == scope.me if scope.me is not None else false())
        if flt.unanswered:
            conds.append(dialogs.c.waiting_since.is_not(None))
        if flt.platform is not None:
            conds.append(dialogs.c.platform == flt.platform)
        if flt.source is not None:
            conds.append(dialogs.c.source == flt.source)
        if flt.account is not None:
            conds.append(
                dialogs.c.source.in_([source_for(p, flt.account) for p in PLATFORMS])
            )
        if flt.contact_id is not None:
            conds.append(dialogs.c.contact_id == flt.contact_id)
        if cursor:
            at, row_id = decode_time_id(cursor)
            conds.append(
                or_(dialogs.c.last_at < at, and_(dialogs.c.last_at == at, dialogs.c.id < row_id))
            )
        stmt = self._select()
        if conds:
            stmt = stmt.where(and_(*conds))
        stmt = stmt.order_by(dialogs.c.last_at.desc(), dialogs.c.id.desc()).limit(limit + 1)
        async with self.read() as conn:
            rows = [_shaped(dict(r)) for r in (await conn.execute(stmt)).mappings()]
        next_cursor = None
        if len(rows) > limit:
            rows = rows[:limit]
            next_cursor = encode_time_id(rows[-1]["last_at"], rows[-1]["id"])
        return Page(items=[jsonable(r) for r in rows], next_cursor=next_cursor)

    async def _get(self, conn: AsyncConnection, dialog_id: int, scope: DialogScope) -> dict[str, Any]:
        row = (
            (await conn.execute(self._select().where(dialogs.c.id == dialog_id))).mappings().first()
        )
        if row is None:
            raise NotFound(f"dialog #{dialog_id} does not exist")
        scope.check(dialog_id, row["owner_employee_id"])
        return _shaped(dict(row))

    async def get(self, dialog_id: int, scope: DialogScope) -> dict[str, Any]:
        """One dialog in the caller's view (`NotFound` otherwise)."""
        async with self.read() as conn:
            return jsonable(await self._get(conn, dialog_id, scope))

    async def thread(
        self, dialog_id: int, scope: DialogScope, *, limit: int = 50, cursor: str | None = None
    ) -> tuple[dict[str, Any], Page]:
        """A dialog and a page of its messages, newest first."""
        limit = max(1, min(limit, MAX_PAGE))
        async with self.read() as conn:
            dialog = await self._get(conn, dialog_id, scope)
            conds = [
                activities.c.channel == Channel.MESSENGER.value,
                activities.c.source == dialog["source"],
                activities.c.counterpart == dialog["counterpart"],
                activities.c.direction.in_((Direction.IN.value, Direction.OUT.value)),
            ]
            if cursor:
                at, row_id = decode_time_id(cursor)
                conds.append(
                    or_(
                        activities.c.occurred_at < at,
                        and_(activities.c.occurred_at == at, activities.c.id < row_id),
                    )
                )
            stmt = (
                select(*(activities.c[n] for n in LIST_COLUMNS))
                .where(and_(*conds))
                .order_by(activities.c.occurred_at.desc(), activities.c.id.desc())
                .limit(limit + 1)
            )
            rows = [dict(r) for r in (await conn.execute(stmt)).mappings()]
        next_cursor = None
        if len(rows) > limit:
            rows = rows[:limit]
            next_cursor = encode_time_id(rows[-1]["occurred_at"], rows[-1]["id"])
        return jsonable(dialog), Page(items=[jsonable(r) for r in rows], next_cursor=next_cursor)

    async def mark_read(
        self, dialog_id: int, scope: DialogScope, at: datetime | None = None
    ) -> dict[str, Any]:
        """Mark what was received up to `at` (default: now) read."""
        when = at or utcnow()
        async with self.tx() as work:
            found = await self._get(work.conn, dialog_id, scope)
            await work.conn.execute(
                update(dialogs).where(dialogs.c.id == dialog_id).values(read_at=when)
            )
            # the unread count follows from the messages and the new read time
            await dialog_rows.refresh(work.conn, {(found["source"], found["counterpart"])})
            dialog = await self._get(work.conn, dialog_id, scope)
        return jsonable(dialog)

    async def target(self, dialog_id: int, scope: DialogScope) -> ReplyTarget:
        """Where a reply in this dialog goes (`NotFound` if the caller does not see it)."""
        async with self.read() as conn:
            dialog = await self._get(conn, dialog_id, scope)
        return ReplyTarget(
            source=dialog["source"],
            kind=address_kind(dialog["source"]),
            chat=dialog["counterpart"],
            contact_id=dialog["contact_id"],
            dialog_id=dialog_id,
        )

    async def target_for_contact(
        self, contact_id: int, platform: str, accounts: Sequence[str], scope: DialogScope
    ) -> ReplyTarget:
        """Where a message to a contact on a platform goes: their latest dialog on one of
        `accounts`, else (one account only) their identity on that platform."""
        sources = [source_for(platform, a) for a in accounts]
        async with self.read() as conn:
            contact = (
                await conn.execute(
                    select(contacts.c.id, contacts.c.owner_employee_id).where(
                        contacts.c.id == contact_id
                    )
                )
            ).first()
            if contact is None or not scope.covers(
                owner_of(contact.owner_employee_id, self.options.dialogs.queue)
            ):
                raise NotFound(f"contact #{contact_id} does not exist")
            latest = (
                await conn.execute(
                    select(dialogs.c.id, dialogs.c.source, dialogs.c.counterpart)
                    .where(and_(dialogs.c.contact_id == contact_id, dialogs.c.source.in_(sources)))
                    .order_by(dialogs.c.last_at.desc(), dialogs.c.id.desc())
                    .limit(1)
                )
            ).first()
            if latest is not None:
                return ReplyTarget(
                    source=latest.source,
                    kind=AddressKind(platform),
                    chat=latest.counterpart,
                    contact_id=contact_id,
                    dialog_id=int(latest.id),
                )
            chat = await conn.scalar(
                select(identities.c.value)
                .where(and_(identities.c.contact_id == contact_id, identities.c.kind == platform))
                .order_by(identities.c.id.desc())
                .limit(1)
            )
        if chat is None:
            raise ValidationError(
                f"contact #{contact_id} has no {platform} chat or address to write to",
                field="contact",
            )
        if len(sources) != 1:
            raise ValidationError(
                f"contact #{contact_id} has no dialog yet; name the {platform} account "
                f"({', '.join(accounts)})",
                field="account",
            )
        return ReplyTarget(
            source=sources[0],
            kind=AddressKind(platform),
            chat=str(chat),
            contact_id=contact_id,
            dialog_id=None,
        )

    async def dialog_of(self, source: str, chat: str) -> int | None:
        """The id of the dialog of this account and chat, once it has a message."""
        async with self.read() as conn:
            found = await conn.scalar(
                select(dialogs.c.id).where(
                    and_(dialogs.c.source == source, dialogs.c.counterpart == chat)
                )
            )
        return int(found) if found is not None else None

    async def remind(self, now: datetime | None = None) -> int:
        """Raise the reply tasks that are due (dialogs waiting too long); returns how many."""
        async with self.tx() as work:
            added = await dialog_reminders.raise_due(
                work.conn, self.options.dialogs, now or utcnow()
            )
            work.activities_changed([], added)
        return len(added)


def _shaped(row: dict[str, Any]) -> dict[str, Any]:
    """A dialog row with its platform and account spelled out."""
    row["account"] = account_of(row["source"])
    row["platform"] = platform_of(row["source"])
    row["unanswered"] = row["waiting_since"] is not None
    return row
