"""A call round's items close by themselves when the PBX logs the call (decision 0052).

Beside `callbacks.py` on the touch write path, in the same transaction: an answered
call (inbound or outbound) between an item's employee and its client, after the round
started, completes the item and its task on the contact's timeline. An outbound call
of that employee to that client nobody answered (no answer, busy, failed) is an
attempt: the item stays open and is due again `retry_minutes` after it, until
`max_attempts` attempts make it "not reached". Each call counts once, however often
its row is written again. A round with no open item left is finished.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import and_, exists, not_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.activity.dialect import one_of
from hub.activity.schema import (
    ROLLUP_COLUMNS,
    activities,
    call_round_items,
    call_rounds,
    campaigns,
)
from hub.model import Channel, Direction, Status

#: Source of the tasks call round items show as; external id ``{campaign}:{contact}``.
CALL_ROUND_SOURCE = "call-round"
#: The channel of a campaign that is a call round.
CALL_CHANNEL = Channel.CALL.value
#: Outbound call outcomes that count as an attempt nobody answered.
UNREACHED = frozenset({Status.NO_ANSWER.value, Status.BUSY.value, Status.MISSED.value, Status.FAILED.value})

RowChanges = tuple[list[dict[str, Any]], list[dict[str, Any]]]
CI = call_round_items.c


class ItemState(StrEnum):
    """Where one call of a round is."""

    OPEN = "open"
    DONE = "done"
    NOT_REACHED = "not_reached"
    CANCELLED = "cancelled"


def _when(call: dict[str, Any]) -> datetime:
    when: datetime = call.get("answered_at") or call["occurred_at"]
    return when


def _with_client(item: Any, call: dict[str, Any]) -> bool:
    return bool(
        call["employee_id"] == item["employee_id"]
        and (
            call["contact_id"] == item["contact_id"]
            or (item["number"] is not None and call["counterpart"] == item["number"])
        )
    )


async def task_rows(conn: AsyncConnection, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """The tasks of these activity ids, with the columns the projections read."""
    if not ids:
        return {}
    rows = await conn.execute(
        select(*(activities.c[n] for n in ROLLUP_COLUMNS)).where(
            one_of(conn, activities.c.id, sorted(ids))
        )
    )
    return {int(r["id"]): dict(r) for r in rows.mappings()}


async def on_calls_written(
    conn: AsyncConnection, rows: Sequence[dict[str, Any]], now: datetime
) -> RowChanges:
    """Close or count the open call round items these call rows are about; returns the
    item tasks as they were and are, for the caller's one roll-up adjustment."""
    calls = [
        r
        for r in rows
        if r["channel"] == CALL_CHANNEL
        and r.get("id") is not None
        and r["employee_id"] is not None
        and r["direction"] in (Direction.IN.value, Direction.OUT.value)
        and (r["contact_id"] is not None or r["counterpart"] is not None)
    ]
    if not calls:
        return [], []
    contact_ids = sorted({c["contact_id"] for c in calls if c["contact_id"] is not None})
    numbers = sorted({c["counterpart"] for c in calls if c["counterpart"] is not None})
    match = []
    if contact_ids:
        match.append(one_of(conn, CI.contact_id, contact_ids))
    if numbers:
        match.append(one_of(conn, CI.number, numbers))
    r = call_rounds.c
    items = (
        await conn.execute(
            select(call_round_items, r.retry_minutes, r.max_attempts)
            .join(call_rounds, r.campaign_id == CI.campaign_id)
            .where(
                CI.state == ItemState.OPEN.value,
                one_of(conn, CI.employee_id, sorted({int(c["employee_id"]) for c in calls})),
                or_(*match),
            )
            .order_by(CI.id)
        )
    ).mappings().all()
    if not items:
        return [], []
    tasks = await task_rows(conn, [int(i["activity_id"]) for i in items if i["activity_id"]])
    old_tasks: list[dict[str, Any]] = []
    new_tasks: list[dict[str, Any]] = []
    rounds: set[int] = set()
    for item in items:
        mine = sorted(
            (c for c in calls if _with_client(item, c) and _when(c) >= item["created_at"]),
            key=_when,
        )
        answered = [c for c in mine if c["status"] == Status.ANSWERED.value]
        item_changes: dict[str, Any]
        task_changes: dict[str, Any]
        if answered:
            closer = answered[0]
            when = _when(closer)
            result = f"reached ({closer['direction']} call answered)"
            item_changes = {
                "state": ItemState.DONE.value,
                "result": result,
                "closed_by": closer["id"],
                "closed_at": when,
            }
            task_changes = {
                "status": Status.COMPLETED.value,
                "completed_at": when,
                "result": result,
            }
        else:
            counted = {int(x) for x in item["attempt_calls"] or []}
            tries = [
                c
                for c in mine
                if c["direction"] == Direction.OUT.value
                and c["status"] in UNREACHED
                and int(c["id"]) not in counted
            ]
            if not tries:
                continue
            attempts = int(item["attempts"]) + len(tries)
            item_changes = {
                "attempts": attempts,
                "attempt_calls": sorted(counted | {int(c["id"]) for c in tries}),
            }
            if attempts >= int(item["max_attempts"]):
                result = f"not reached ({attempts} attempts)"
                item_changes |= {
                    "state": ItemState.NOT_REACHED.value,
                    "result": result,
                    "closed_at": _when(tries[-1]),
                }
                task_changes = {"status": Status.CANCELLED.value, "result": result}
            else:
                due = _when(tries[-1]) + timedelta(minutes=int(item["retry_minutes"]))
                item_changes["due_at"] = due
                task_changes = {"due_at": due}
        await conn.execute(
            update(call_round_items)
            .where(CI.id == item["id"])
            .values(**item_changes, updated_at=now)
        )
        if item_changes.get("state") is not None:
            rounds.add(int(item["campaign_id"]))
        task = tasks.get(int(item["activity_id"] or 0))
        if task is None:
            continue
        meta = {**(task["meta"] or {}), "attempts": item_changes.get("attempts", item["attempts"])}
        if "closed_by" in item_changes:
            meta["completed_by"] = item_changes["closed_by"]
        task_changes["meta"] = meta
        await conn.execute(
            update(activities)
            .where(activities.c.id == task["id"])
            .values(**task_changes, updated_at=now)
        )
        old_tasks.append(task)
        new_tasks.append({**task, **task_changes})
    await finish_done_rounds(conn, rounds, now)
    return old_tasks, new_tasks


async def finish_done_rounds(conn: AsyncConnection, campaign_ids: set[int], now: datetime) -> None:
    """Mark these running rounds finished when none of their items is open any more."""
    if not campaign_ids:
        return
    open_items = exists().where(
        and_(CI.campaign_id == campaigns.c.id, CI.state == ItemState.OPEN.value)
    )
    await conn.execute(
        update(campaigns)
        .where(
            one_of(conn, campaigns.c.id, sorted(campaign_ids)),
            campaigns.c.state == "running",
            not_(open_items),
        )
        .values(state="finished", finished_at=now, updated_at=now)
    )
