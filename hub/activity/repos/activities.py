"""Activities: listing with filters and cursors; interactions entered and completed by hand."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, insert, or_, select, update

from hub.activity import interaction_rules
from hub.activity.cursor import decode_time_id, encode_time_id
from hub.activity.principal import ADMIN, Principal
from hub.activity.repos.base import MAX_PAGE, Repo, jsonable
from hub.activity.repos.employees import hierarchy_of
from hub.activity.schema import (
    activities,
    activity_participants,
    contacts,
    employees,
    status_history,
)
from hub.errors import NotFound, PermissionDenied
from hub.model import Channel, Direction, Status, utcnow


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a listing and the cursor of the next one."""

    items: list[dict[str, Any]]
    next_cursor: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class ActivityFilter:
    """What to list; `employee_ids` None means every employee (admin view)."""

    contact_id: int | None = None
    employee_ids: frozenset[int] | None = None
    channel: Channel | None = None
    direction: Direction | None = None
    status: Status | None = None
    since: datetime | None = None
    until: datetime | None = None


LIST_COLUMNS = (
    "id",
    "source",
    "external_id",
    "channel",
    "direction",
    "status",
    "occurred_at",
    "answered_at",
    "ended_at",
    "duration_s",
    "ring_s",
    "talk_s",
    "contact_id",
    "employee_id",
    "counterpart",
    "subject",
    "preview",
    "thread_key",
    "due_at",
    "completed_at",
    "result",
    "is_client",
    "flags",
    "meta",
)


class ActivityRepo(Repo):
    """Listing activities with filters and cursors; interactions entered by hand."""

    async def list(
        self, flt: ActivityFilter, *, limit: int = 50, cursor: str | None = None
    ) -> Page:
        """Newest first; pass the returned cursor to get the next page."""
        limit = max(1, min(limit, MAX_PAGE))
        cols = [activities.c[n] for n in LIST_COLUMNS]
        stmt = select(*cols)
        conds = []
        if flt.contact_id is not None:
            conds.append(
                or_(
                    activities.c.contact_id == flt.contact_id,
                    activities.c.id.in_(
                        select(activity_participants.c.activity_id).where(
                            activity_participants.c.contact_id == flt.contact_id
                        )
                    ),
                )
            )
        if flt.employee_ids is not None:
            conds.append(activities.c.employee_id.in_(sorted(flt.employee_ids)))
        if flt.channel is not None:
            conds.append(activities.c.channel == flt.channel.value)
        if flt.direction is not None:
            conds.append(activities.c.direction == flt.direction.value)
        if flt.status is not None:
            conds.append(activities.c.status == flt.status.value)
        if flt.since is not None:
            conds.append(activities.c.occurred_at >= flt.since)
        if flt.until is not None:
            conds.append(activities.c.occurred_at < flt.until)
        if cursor:
            at, row_id = decode_time_id(cursor)
            conds.append(
                or_(
                    activities.c.occurred_at < at,
                    and_(activities.c.occurred_at == at, activities.c.id < row_id),
                )
            )
        if conds:
            stmt = stmt.where(and_(*conds))
        stmt = stmt.order_by(activities.c.occurred_at.desc(), activities.c.id.desc()).limit(
            limit + 1
        )
        async with self.read() as conn:
            rows = [dict(r) for r in (await conn.execute(stmt)).mappings()]
        next_cursor = None
        if len(rows) > limit:
            rows = rows[:limit]
            next_cursor = encode_time_id(rows[-1]["occurred_at"], rows[-1]["id"])
        return Page(items=[jsonable(r) for r in rows], next_cursor=next_cursor)

    async def get(self, activity_id: int) -> dict[str, Any]:
        async with self.read() as conn:
            row = (
                (await conn.execute(select(activities).where(activities.c.id == activity_id)))
                .mappings()
                .first()
            )
            if row is None:
                raise NotFound(f"activity #{activity_id} does not exist")
            history = (
                (
                    await conn.execute(
                        select(
                            status_history.c.status, status_history.c.at, status_history.c.detail
                        )
                        .where(status_history.c.activity_id == activity_id)
                        .order_by(status_history.c.id)
                    )
                )
                .mappings()
                .all()
            )
        result = jsonable(dict(row))
        result["status_history"] = [jsonable(dict(h)) for h in history]
        return result

    async def add_interaction(
        self,
        *,
        channel: Channel,
        employee_id: int | None,
        contact_id: int | None,
        subject: str,
        due_at: datetime | None = None,
        occurred_at: datetime | None = None,
        duration_s: float | None = None,
        direction: Direction = Direction.OUT,
    ) -> int:
        """A meeting, task or call entered by hand; planned when it has a due time."""
        now = utcnow()
        channel = interaction_rules.channel(channel)
        subject = interaction_rules.subject(subject)
        duration_s = interaction_rules.duration(duration_s)
        due_at = interaction_rules.moment(due_at, field="due_at")
        occurred_at = interaction_rules.moment(occurred_at, field="occurred_at")
        row: dict[str, Any] = {
            "source": "manual",
            "external_id": uuid.uuid4().hex,
            "channel": channel.value,
            "direction": direction.value,
            "status": Status.PLANNED.value if due_at else Status.COMPLETED.value,
            "occurred_at": occurred_at or due_at or now,
            "due_at": due_at,
            "completed_at": None if due_at else (occurred_at or now),
            "duration_s": duration_s,
            "contact_id": contact_id,
            "employee_id": employee_id,
            "subject": subject,
            "is_client": contact_id is not None,
            "flags": "",
            "meta": {},
            "created_at": now,
            "updated_at": now,
        }
        async with self.tx() as work:
            conn = work.conn
            if (
                contact_id is not None
                and await conn.scalar(select(contacts.c.id).where(contacts.c.id == contact_id))
                is None
            ):
                raise NotFound(f"contact #{contact_id} does not exist")
            if (
                employee_id is not None
                and await conn.scalar(select(employees.c.id).where(employees.c.id == employee_id))
                is None
            ):
                raise NotFound(f"employee #{employee_id} does not exist")
            row["id"] = int(
                (
                    await conn.execute(insert(activities).returning(activities.c.id), row)
                ).scalar_one()
            )
            work.activities_changed([], [row])
        return int(row["id"])

    async def complete(
        self, activity_id: int, *, result: str, at: datetime | None = None, who: Principal = ADMIN
    ) -> dict[str, Any]:
        """Complete a planned interaction with its result."""
        result = interaction_rules.result(result)
        at = interaction_rules.moment(at, field="at") or utcnow()
        async with self.tx() as work:
            conn = work.conn
            old = (
                (await conn.execute(select(activities).where(activities.c.id == activity_id)))
                .mappings()
                .first()
            )
            if old is None:
                raise NotFound(f"activity #{activity_id} does not exist")
            visible = (await hierarchy_of(conn)).visible(who.role, who.employee_id)
            if visible is not None and old["employee_id"] not in visible:
                raise PermissionDenied(
                    f"activity #{activity_id} belongs to someone you don't manage"
                )
            interaction_rules.completable(activity_id, status=old["status"], channel=old["channel"])
            changes = {
                "status": Status.COMPLETED.value,
                "completed_at": at,
                "result": result,
                "updated_at": utcnow(),
            }
            await conn.execute(
                update(activities).where(activities.c.id == activity_id).values(**changes)
            )
            await conn.execute(
                insert(status_history),
                {"activity_id": activity_id, "status": "completed", "at": at, "detail": result},
            )
            before, after = [dict(old)], [{**dict(old), **changes}]
            work.activities_changed(before, after)
        return await self.get(activity_id)

    async def logged(self, source: str, external_ids: Sequence[str]) -> set[str]:
        """Which of `external_ids` of `source` are recorded already (a backfill skips them)."""
        found: set[str] = set()
        async with self.read() as conn:
            for start in range(0, len(external_ids), MAX_PAGE):
                chunk = external_ids[start : start + MAX_PAGE]
                rows = await conn.execute(
                    select(activities.c.external_id).where(
                        and_(activities.c.source == source, activities.c.external_id.in_(chunk))
                    )
                )
                found.update(str(r[0]) for r in rows)
        return found

    async def count(self) -> int:
        async with self.read() as conn:
            return int(await conn.scalar(select(func.count()).select_from(activities)) or 0)

    async def overdue_count(self, now: datetime) -> int:
        """Planned interactions whose due time has passed."""
        async with self.read() as conn:
            found = await conn.scalar(
                select(func.count())
                .select_from(activities)
                .where(and_(activities.c.status == Status.PLANNED.value, activities.c.due_at < now))
            )
        return int(found or 0)
