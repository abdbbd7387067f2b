"""A tiny world builder for KPI tests: rows straight into the tables, every write through
a unit of work running the store's declared projections, as the store does."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.activity.rollups.projections import Projections
from hub.activity.schema import activities, contacts, employees, identities
from hub.activity.unit_of_work import writing

MSK = ZoneInfo("Europe/Moscow")
LONG_AGO = datetime(2020, 1, 1, tzinfo=UTC)
ROW_KEYS = (
    "id",
    "source",
    "external_id",
    "channel",
    "direction",
    "status",
    "occurred_at",
    "employee_id",
    "contact_id",
    "is_client",
    "duration_s",
    "talk_s",
    "due_at",
    "completed_at",
    "result",
    "meta",
)


class World:
    """Adds employees, contacts and activities; every activity write adjusts the roll-ups."""

    def __init__(self, engine: AsyncEngine, tz: ZoneInfo = MSK) -> None:
        self.engine = engine
        self.tz = tz
        self.projections = Projections.declared(tz)
        self._ext = itertools.count(1)

    async def employee(self, name: str, head: int | None = None, *, active: bool = True) -> int:
        async with self.engine.begin() as conn:
            result = await conn.execute(
                insert(employees).returning(employees.c.id),
                {"name": name, "head_id": head, "active": active, "created_at": LONG_AGO},
            )
            return int(result.scalar_one())

    async def contact(
        self,
        name: str,
        owner: int | None = None,
        *,
        city: str | None = None,
        email: str | None = None,
        phone: str | None = None,
        created_at: datetime = LONG_AGO,
    ) -> int:
        async with writing(self.projections, self.engine) as work:
            conn = work.conn
            result = await conn.execute(
                insert(contacts).returning(contacts.c.id),
                {
                    "name": name,
                    "owner_employee_id": owner,
                    "city": city,
                    "custom": {},
                    "is_lead": False,
                    "created_at": created_at,
                    "updated_at": created_at,
                },
            )
            cid = int(result.scalar_one())
            for kind, value in (("email", email), ("phone", phone)):
                if value:
                    await conn.execute(
                        insert(identities),
                        {"contact_id": cid, "kind": kind, "value": value, "created_at": created_at},
                    )
            work.contacts_changed([cid])
            return cid

    async def activities(self, rows: list[dict[str, Any]]) -> list[int]:
        """Insert activity rows (defaults filled in) and adjust the roll-ups in one transaction."""
        full = [self._row(r) for r in rows]
        async with writing(self.projections, self.engine) as work:
            result = await work.conn.execute(
                insert(activities).returning(activities.c.id, sort_by_parameter_order=True), full
            )
            ids = [int(r[0]) for r in result]
            for row, aid in zip(full, ids, strict=True):
                row["id"] = aid
            work.activities_changed([], full)
        return ids

    async def activity(self, **row: Any) -> int:
        return (await self.activities([row]))[0]

    async def change(self, activity_id: int, **changes: Any) -> None:
        """Update an activity as the store does: old row out of the roll-ups, new row in."""
        async with writing(self.projections, self.engine) as work:
            conn = work.conn
            old = dict(
                (
                    await conn.execute(
                        select(*(activities.c[k] for k in ROW_KEYS)).where(
                            activities.c.id == activity_id
                        )
                    )
                )
                .mappings()
                .one()
            )
            await conn.execute(
                update(activities).where(activities.c.id == activity_id).values(**changes)
            )
            work.activities_changed([old], [{**old, **changes}])

    def _row(self, row: dict[str, Any]) -> dict[str, Any]:
        ext = next(self._ext)
        now = datetime(2026, 1, 1, tzinfo=UTC)
        base: dict[str, Any] = {
            "source": "test",
            "external_id": f"t{ext}",
            "channel": "call",
            "direction": "out",
            "status": "answered",
            "occurred_at": now,
            "employee_id": None,
            "contact_id": None,
            "is_client": True,
            "duration_s": None,
            "talk_s": None,
            "due_at": None,
            "completed_at": None,
            "result": None,
            "flags": "",
            "meta": {},
            "created_at": now,
            "updated_at": now,
        }
        base.update(row)
        return base


def msk(*parts: int) -> datetime:
    """An aware instant given in Moscow wall time."""
    return datetime(*parts, tzinfo=MSK).astimezone(UTC)  # type: ignore[misc,arg-type]


def days(n: float) -> timedelta:
    return timedelta(days=n)
