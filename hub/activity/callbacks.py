"""Missed calls never silently disappear: each raises a "call back" task.

An inbound call nobody answered creates a task for the employee it was meant for (or
the head of the group it rang), due a while later. An answered call with the same
client afterwards, inbound or outbound, within the window, completes it by itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.activity import rollup
from hub.activity.dialect import insert_ignore
from hub.activity.schema import activities, employee_addresses, employees
from hub.model import AddressKind, Channel, Direction, Status

if TYPE_CHECKING:
    from hub.activity.store import ActivityStore

CALLBACK_SOURCE = "callback"
UNANSWERED = {Status.MISSED.value, Status.BUSY.value}


async def _responsible(conn: AsyncConnection, row: dict[str, Any]) -> int | None:
    """The employee a missed call was meant for: the one phone it rang, or the group's head."""
    if row["employee_id"] is not None:
        return int(row["employee_id"])
    rung = [str(x) for x in (row["meta"] or {}).get("extensions_rung", [])]
    if not rung:
        return None
    result = await conn.execute(
        select(employees.c.id, employees.c.head_id)
        .join(employee_addresses, employee_addresses.c.employee_id == employees.c.id)
        .where(
            and_(
                employee_addresses.c.kind == AddressKind.EXTENSION.value,
                employee_addresses.c.value.in_(rung),
            )
        )
    )
    found = result.all()
    if not found:
        return None
    if len(found) == 1:
        return int(found[0][0])
    heads = {head for _, head in found if head is not None}
    if len(heads) == 1:
        return int(heads.pop())
    return int(found[0][1] or found[0][0])


async def on_calls_written(
    conn: AsyncConnection, store: ActivityStore, rows: Sequence[dict[str, Any]], now: datetime
) -> None:
    """Raise callback tasks for missed inbound calls; complete them on answered calls."""
    if not rows:
        return
    tasks: list[dict[str, Any]] = []
    for row in rows:
        if row["direction"] != Direction.IN.value or row["status"] not in UNANSWERED:
            continue
        if row["contact_id"] is None and row["counterpart"] is None:
            continue
        tasks.append(
            {
                "source": CALLBACK_SOURCE,
                "external_id": f"{row['source']}:{row['external_id']}",
                "channel": Channel.TASK.value,
                "direction": Direction.OUT.value,
                "status": Status.PLANNED.value,
                "occurred_at": row["occurred_at"],
                "due_at": row["occurred_at"] + store.callback_due,
                "contact_id": row["contact_id"],
                "employee_id": await _responsible(conn, row),
                "counterpart": row["counterpart"],
                "subject": "Call back",
                "is_client": True,
                "flags": "",
                "meta": {"callback_for": row["id"], "number": row["counterpart"]},
                "created_at": now,
                "updated_at": now,
            }
        )
    if tasks:
        stmt = insert_ignore(conn, activities, ("source", "external_id")).returning(
            activities.c.id, activities.c.external_id
        )
        created = {ext: aid for aid, ext in (await conn.execute(stmt, tasks)).all()}
        new_rows = [
            dict(t, id=created[t["external_id"]]) for t in tasks if t["external_id"] in created
        ]
        await rollup.adjust(conn, [], new_rows, store.tz)
    for row in rows:
        if row["status"] == Status.ANSWERED.value and row["direction"] != Direction.INTERNAL.value:
            await _complete(conn, store, row, now)


async def _complete(
    conn: AsyncConnection, store: ActivityStore, call: dict[str, Any], now: datetime
) -> None:
    """Complete open callback tasks for this client raised before the answered call."""
    match = []
    if call["contact_id"] is not None:
        match.append(activities.c.contact_id == call["contact_id"])
    if call["counterpart"] is not None:
        match.append(activities.c.counterpart == call["counterpart"])
    if not match:
        return
    when: datetime = call["answered_at"] or call["occurred_at"]
    cols = [
        activities.c[n]
        for n in (
            "id",
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
    ]
    open_tasks = (
        (
            await conn.execute(
                select(*cols).where(
                    and_(
                        activities.c.source == CALLBACK_SOURCE,
                        activities.c.status == Status.PLANNED.value,
                        or_(*match),
                        activities.c.occurred_at <= when,
                        activities.c.occurred_at >= when - store.callback_window,
                    )
                )
            )
        )
        .mappings()
        .all()
    )
    if not open_tasks:
        return
    old_rows = [dict(r) for r in open_tasks]
    new_rows = []
    for old in old_rows:
        meta = {**(old["meta"] or {}), "completed_by": call["id"]}
        changes = {
            "status": Status.COMPLETED.value,
            "completed_at": when,
            "result": f"called back ({call['direction']} call answered)",
            "meta": meta,
            "updated_at": now,
        }
        await conn.execute(update(activities).where(activities.c.id == old["id"]).values(**changes))
        new_rows.append({**old, **changes})
    await rollup.adjust(conn, old_rows, new_rows, store.tz)
