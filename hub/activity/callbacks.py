"""Missed calls never silently disappear: each raises a "call back" task.

An inbound call nobody answered creates a task for the employee it was meant for (or
the head of the group it rang), due a while later. An answered call with the same
client afterwards, inbound or outbound, within the window, completes it by itself.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.activity.dialect import insert_ignore, one_of
from hub.activity.options import CallbackPolicy
from hub.activity.rollups.rules import CALLBACK_SOURCE
from hub.activity.schema import ROLLUP_COLUMNS, activities, employee_addresses, employees
from hub.model import AddressKind, Channel, Direction, Status

UNANSWERED = {Status.MISSED.value, Status.BUSY.value}


async def _extension_owners(
    conn: AsyncConnection, rows: Sequence[dict[str, Any]]
) -> dict[str, tuple[int, int | None]]:
    """Extension → (employee, their head) for every phone these calls rang, in one query."""
    rung = {str(x) for row in rows for x in (row["meta"] or {}).get("extensions_rung", [])}
    if not rung:
        return {}
    result = await conn.execute(
        select(employee_addresses.c.value, employees.c.id, employees.c.head_id)
        .join(employees, employee_addresses.c.employee_id == employees.c.id)
        .where(
            and_(
                employee_addresses.c.kind == AddressKind.EXTENSION.value,
                one_of(conn, employee_addresses.c.value, sorted(rung)),
            )
        )
    )
    return {value: (int(eid), head) for value, eid, head in result.all()}


def _responsible(row: dict[str, Any], owners: dict[str, tuple[int, int | None]]) -> int | None:
    """The employee a missed call was meant for: the one phone it rang, or the group's head."""
    if row["employee_id"] is not None:
        return int(row["employee_id"])
    found = [
        owners[str(x)] for x in (row["meta"] or {}).get("extensions_rung", []) if str(x) in owners
    ]
    if not found:
        return None
    if len(found) == 1:
        return found[0][0]
    heads = {head for _, head in found if head is not None}
    if len(heads) == 1:
        return int(heads.pop())
    return int(found[0][1] or found[0][0])


RowChanges = tuple[list[dict[str, Any]], list[dict[str, Any]]]


async def on_calls_written(
    conn: AsyncConnection, policy: CallbackPolicy, rows: Sequence[dict[str, Any]], now: datetime
) -> RowChanges:
    """Raise callback tasks for missed inbound calls; complete them on answered calls.

    Returns the task rows removed and added, for the caller's one roll-up adjustment.
    """
    removed: list[dict[str, Any]] = []
    added: list[dict[str, Any]] = []
    if not rows:
        return removed, added
    missed = [
        row
        for row in rows
        if row["direction"] == Direction.IN.value
        and row["status"] in UNANSWERED
        and (row["contact_id"] is not None or row["counterpart"] is not None)
    ]
    owners = await _extension_owners(conn, missed) if missed else {}
    tasks: list[dict[str, Any]] = []
    for row in missed:
        tasks.append(
            {
                "source": CALLBACK_SOURCE,
                "external_id": f"{row['source']}:{row['external_id']}",
                "channel": Channel.TASK.value,
                "direction": Direction.OUT.value,
                "status": Status.PLANNED.value,
                "occurred_at": row["occurred_at"],
                "due_at": row["occurred_at"] + policy.due,
                "contact_id": row["contact_id"],
                "employee_id": _responsible(row, owners),
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
        added += [
            dict(t, id=created[t["external_id"]]) for t in tasks if t["external_id"] in created
        ]
    answered = [
        row
        for row in rows
        if row["status"] == Status.ANSWERED.value and row["direction"] != Direction.INTERNAL.value
    ]
    if answered:
        done_old, done_new = await _complete(conn, policy.window, answered, now)
        removed += done_old
        added += done_new
    return removed, added


async def _complete(
    conn: AsyncConnection, window: timedelta, calls: Sequence[dict[str, Any]], now: datetime
) -> RowChanges:
    """Complete open callback tasks of these clients raised before (and within the window of) an answered call."""
    contact_ids = sorted({c["contact_id"] for c in calls if c["contact_id"] is not None})
    numbers = sorted({c["counterpart"] for c in calls if c["counterpart"] is not None})
    match = []
    if contact_ids:
        match.append(one_of(conn, activities.c.contact_id, contact_ids))
    if numbers:
        match.append(one_of(conn, activities.c.counterpart, numbers))
    if not match:
        return [], []
    open_tasks = (
        (
            await conn.execute(
                select(*(activities.c[n] for n in ROLLUP_COLUMNS)).where(
                    and_(
                        activities.c.source == CALLBACK_SOURCE,
                        activities.c.status == Status.PLANNED.value,
                        or_(*match),
                    )
                )
            )
        )
        .mappings()
        .all()
    )
    by_contact: dict[int, list[dict[str, Any]]] = defaultdict(list)
    by_number: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for call in calls:
        if call["contact_id"] is not None:
            by_contact[call["contact_id"]].append(call)
        if call["counterpart"] is not None:
            by_number[call["counterpart"]].append(call)
    old_rows: list[dict[str, Any]] = []
    new_rows: list[dict[str, Any]] = []
    for task in open_tasks:
        candidates = by_contact.get(task["contact_id"], []) + by_number.get(task["counterpart"], [])
        closer = _first_closing_call(task, candidates, window)
        if closer is None:
            continue
        when: datetime = closer["answered_at"] or closer["occurred_at"]
        changes = {
            "status": Status.COMPLETED.value,
            "completed_at": when,
            "result": f"called back ({closer['direction']} call answered)",
            "meta": {**(task["meta"] or {}), "completed_by": closer["id"]},
            "updated_at": now,
        }
        await conn.execute(
            update(activities).where(activities.c.id == task["id"]).values(**changes)
        )
        old_rows.append(dict(task))
        new_rows.append({**dict(task), **changes})
    return old_rows, new_rows


def _first_closing_call(
    task: Any, calls: Sequence[dict[str, Any]], window: timedelta
) -> dict[str, Any] | None:
    """The earliest answered call with the task's client after the miss and within the window."""
    best: dict[str, Any] | None = None
    for call in calls:
        same = (task["contact_id"] is not None and call["contact_id"] == task["contact_id"]) or (
            task["counterpart"] is not None and call["counterpart"] == task["counterpart"]
        )
        when: datetime = call["answered_at"] or call["occurred_at"]
        in_window = task["occurred_at"] <= when <= task["occurred_at"] + window
        if (
            same
            and in_window
            and (best is None or when < (best["answered_at"] or best["occurred_at"]))
        ):
            best = call
    return best
