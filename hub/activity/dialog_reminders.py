"""Messages nobody answers never silently wait: a dialog left unanswered raises a task.

When the first incoming message after the last reply has waited longer than the
policy's `reply_within` (and not longer than `STALE_AFTER`), `raise_due` (run by the scheduler) raises one "reply" task for
that wait, for the dialog's owner (its contact's responsible employee, else the queue),
due when the wait ran out. The next outgoing message of the dialog completes it, in the
same transaction that records the reply (`on_replies_written`, from the touch path), the
way an answered call completes a missed call's task (`callbacks.py`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.activity.dialect import insert_ignore, one_of
from hub.activity.dialog_rules import owner_of, platform_of
from hub.activity.options import DialogPolicy
from hub.activity.schema import ROLLUP_COLUMNS, activities, contacts, dialogs
from hub.model import Channel, Direction, Status

#: Source of the reply tasks; their `thread_key` is `dialog_key(source, counterpart)`.
REMINDER_SOURCE = "dialog-reminder"
#: A wait that began longer ago than this raises no task: a reminder about a message
#: of last month is noise (and a store's first run would raise one per old dialog).
STALE_AFTER = timedelta(days=7)

RowChanges = tuple[list[dict[str, Any]], list[dict[str, Any]]]


def dialog_key(source: str, counterpart: str) -> str:
    """The key a dialog's reply tasks carry as their thread."""
    return f"{source}|{counterpart}"


async def raise_due(conn: AsyncConnection, policy: DialogPolicy, now: datetime) -> list[dict[str, Any]]:
    """Raise a reply task for every dialog waiting longer than `reply_within` without one;
    returns the task rows added (with ids), for the caller's unit of work."""
    waiting = (
        await conn.execute(
            select(
                dialogs.c.id,
                dialogs.c.source,
                dialogs.c.counterpart,
                dialogs.c.contact_id,
                dialogs.c.waiting_since,
                contacts.c.owner_employee_id,
            )
            .select_from(dialogs.outerjoin(contacts, contacts.c.id == dialogs.c.contact_id))
            .where(
                and_(
                    dialogs.c.waiting_since.is_not(None),
                    dialogs.c.waiting_since <= now - policy.reply_within,
                    dialogs.c.waiting_since > now - STALE_AFTER,
                    dialogs.c.reminder_id.is_(None),
                )
            )
            .order_by(dialogs.c.id)
        )
    ).all()
    if not waiting:
        return []
    tasks: list[dict[str, Any]] = []
    for row in waiting:
        key = dialog_key(row.source, row.counterpart)
        tasks.append(
            {
                "source": REMINDER_SOURCE,
                "external_id": f"{key}|{row.waiting_since.isoformat()}",
                "channel": Channel.TASK.value,
                "direction": Direction.OUT.value,
                "status": Status.PLANNED.value,
                "occurred_at": row.waiting_since,
                "due_at": row.waiting_since + policy.reply_within,
                "contact_id": row.contact_id,
                "employee_id": owner_of(row.owner_employee_id, policy.queue),
                "counterpart": row.counterpart,
                "subject": f"Reply in {platform_of(row.source)}",
                "thread_key": key,
                "is_client": True,
                "flags": "",
                "meta": {"dialog_id": row.id, "source": row.source},
                "created_at": now,
                "updated_at": now,
            }
        )
    stmt = insert_ignore(conn, activities, ("source", "external_id")).returning(
        activities.c.id, activities.c.external_id
    )
    created = {ext: int(aid) for aid, ext in (await conn.execute(stmt, tasks)).all()}
    added = [dict(t, id=created[t["external_id"]]) for t in tasks if t["external_id"] in created]
    for task in added:
        await conn.execute(
            update(dialogs)
            .where(dialogs.c.id == task["meta"]["dialog_id"])
            .values(reminder_id=task["id"])
        )
    return added


async def on_replies_written(
    conn: AsyncConnection, rows: Sequence[dict[str, Any]], now: datetime
) -> RowChanges:
    """Complete the open reply tasks of the dialogs these rows answer (outgoing messenger
    touches at or after the wait began); returns the task rows as they were and are."""
    replies = [
        r
        for r in rows
        if r["channel"] == Channel.MESSENGER.value
        and r["direction"] == Direction.OUT.value
        and r["counterpart"] is not None
    ]
    if not replies:
        return [], []
    by_key: dict[str, list[dict[str, Any]]] = {}
    for reply in replies:
        by_key.setdefault(dialog_key(reply["source"], reply["counterpart"]), []).append(reply)
    open_tasks = (
        (
            await conn.execute(
                select(*(activities.c[n] for n in ROLLUP_COLUMNS), activities.c.thread_key).where(
                    and_(
                        activities.c.source == REMINDER_SOURCE,
                        activities.c.status == Status.PLANNED.value,
                        one_of(conn, activities.c.thread_key, sorted(by_key)),
                    )
                )
            )
        )
        .mappings()
        .all()
    )
    old_rows: list[dict[str, Any]] = []
    new_rows: list[dict[str, Any]] = []
    for task in open_tasks:
        answers = [r for r in by_key.get(task["thread_key"], []) if r["occurred_at"] >= task["occurred_at"]]
        if not answers:
            continue
        answer = min(answers, key=lambda r: r["occurred_at"])
        changes = {
            "status": Status.COMPLETED.value,
            "completed_at": answer["occurred_at"],
            "result": "answered in the dialog",
            "meta": {**(task["meta"] or {}), "completed_by": answer.get("id")},
            "updated_at": now,
        }
        await conn.execute(update(activities).where(activities.c.id == task["id"]).values(**changes))
        old_rows.append(dict(task))
        new_rows.append({**dict(task), **changes})
    return old_rows, new_rows
