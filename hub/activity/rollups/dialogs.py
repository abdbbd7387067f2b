"""Messenger dialogs as a projection: one row per chat on an account, kept with the touches.

A transaction's changed messenger activities name the dialogs they belong to
(source, counterpart). A dialog whose only change is new messages after its last one
(the common case: messages arrive in order) moves by them (`appended`) without reading
its history. Any other is recomputed from its activities in one statement for all of
them: every dialog's totals joined to its tail (the messages from its last outgoing one
on, where unread messages and the wait are). One upsert writes them all. `state()` and
`appended()` are the arithmetic, pure; a rebuild is one ordered pass.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.activity.dialect import one_of, upsert
from hub.activity.dialog_rules import platform_of
from hub.activity.schema import activities, dialogs
from hub.model import Channel, Direction

Key = tuple[str, str]
#: Dialogs recomputed per statement (bounded so one parameter list stays small).
CHUNK = 500
#: Messages a rebuild reads per round trip.
STREAM_ROWS = 10_000
#: Columns the projection writes (everything but the id, `read_at` and the key).
_WRITTEN = (
    "platform",
    "contact_id",
    "messages",
    "last_at",
    "last_direction",
    "last_preview",
    "last_in_at",
    "last_out_at",
    "waiting_since",
    "unread",
    "reminder_id",
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Message:
    """What a dialog's state needs of one of its touches."""

    id: int
    direction: str
    occurred_at: datetime
    preview: str | None
    contact_id: int | None


def _later(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None:
        return b
    if b is None:
        return a
    return max(a, b)


def state(
    tail: Sequence[Message],
    *,
    messages: int,
    last_in_at: datetime | None,
    last_out_at: datetime | None,
    read_at: datetime | None,
) -> dict[str, Any]:
    """A dialog's columns from its totals and its tail (the touches from its last outgoing
    one on, oldest first; every touch when nothing went out yet).

    Unread: incoming after both the last reply and the moment it was marked read. Waiting
    since: the first incoming after the last reply (None once answered)."""
    last = tail[-1]
    seen = _later(last_out_at, read_at)
    waiting = [
        m
        for m in tail
        if m.direction == Direction.IN.value and (last_out_at is None or m.occurred_at > last_out_at)
    ]
    contact = next((m.contact_id for m in reversed(tail) if m.contact_id is not None), None)
    return {
        "contact_id": contact,
        "messages": messages,
        "last_at": last.occurred_at,
        "last_direction": last.direction,
        "last_preview": last.preview,
        "last_in_at": last_in_at,
        "last_out_at": last_out_at,
        "waiting_since": waiting[0].occurred_at if waiting else None,
        "unread": sum(1 for m in waiting if seen is None or m.occurred_at > seen),
    }


def appended(old: Any, new: Sequence[Message]) -> dict[str, Any]:
    """A dialog's columns after messages `new` (oldest first, all later than its last
    message) arrive: the same as `state` over the whole history, without reading it."""
    outs = [m for m in new if m.direction == Direction.OUT.value]
    ins = [m for m in new if m.direction == Direction.IN.value]
    last_out = outs[-1].occurred_at if outs else old.last_out_at
    if outs:
        waiting = [m for m in new if m.direction == Direction.IN.value and m.occurred_at > last_out]
        since = waiting[0].occurred_at if waiting else None
        seen = _later(last_out, old.read_at)
        unread = sum(1 for m in waiting if seen is None or m.occurred_at > seen)
    else:
        since = old.waiting_since if old.waiting_since is not None else ins[0].occurred_at
        seen = _later(last_out, old.read_at)
        unread = old.unread + sum(1 for m in ins if seen is None or m.occurred_at > seen)
    contact = next((m.contact_id for m in reversed(new) if m.contact_id is not None), None)
    return {
        "contact_id": contact if contact is not None else old.contact_id,
        "messages": old.messages + len(new),
        "last_at": new[-1].occurred_at,
        "last_direction": new[-1].direction,
        "last_preview": new[-1].preview,
        "last_in_at": ins[-1].occurred_at if ins else old.last_in_at,
        "last_out_at": last_out,
        "waiting_since": since,
        "unread": unread,
    }


def inserted(
    removed: Iterable[Mapping[str, Any]], added: Iterable[Mapping[str, Any]]
) -> dict[Key, list[Message]]:
    """Messages a transaction wrote anew (in `added`, not in `removed`), by dialog, oldest
    first."""
    removed = list(removed)
    seen = {r.get("id") for r in removed}
    found: dict[Key, list[Message]] = {}
    message = Channel.MESSENGER.value
    directions = (Direction.IN.value, Direction.OUT.value)
    for r in added:
        if r.get("id") is None or r.get("id") in seen or r.get("channel") != message:
            continue
        if not r.get("counterpart") or not r.get("source") or r.get("direction") not in directions:
            continue
        found.setdefault((str(r["source"]), str(r["counterpart"])), []).append(
            Message(
                id=int(r["id"]),
                direction=str(r["direction"]),
                occurred_at=r["occurred_at"],
                preview=r.get("preview"),
                contact_id=r.get("contact_id"),
            )
        )
    # a dialog that also had a message changed is recomputed, not moved
    changed, _ = keys_of(removed)
    for key in changed:
        found.pop(key, None)
    for messages in found.values():
        messages.sort(key=lambda m: (m.occurred_at, m.id))
    return found


def keys_of(rows: Iterable[Mapping[str, Any]]) -> tuple[set[Key], set[int]]:
    """The dialogs these activity rows belong to (messenger messages with a counterpart),
    and the ids of those reported without their source (a merge reports only what the
    KPI reads), whose dialogs `affected` looks up."""
    keys: set[Key] = set()
    unsourced: set[int] = set()
    for r in rows:
        if r.get("channel") != Channel.MESSENGER.value or not r.get("counterpart"):
            continue
        if r.get("direction") not in (Direction.IN.value, Direction.OUT.value):
            continue
        if r.get("source"):
            keys.add((str(r["source"]), str(r["counterpart"])))
        elif r.get("id") is not None:
            unsourced.add(int(r["id"]))
    return keys, unsourced


async def affected(conn: AsyncConnection, rows: Iterable[Mapping[str, Any]]) -> set[Key]:
    """Every dialog these changed activity rows belong to."""
    keys, unsourced = keys_of(rows)
    if unsourced:
        found = await conn.execute(
            select(activities.c.source, activities.c.counterpart).where(
                one_of(conn, activities.c.id, sorted(unsourced))
            )
        )
        keys.update((s, c) for s, c in found.all() if c is not None)
    return keys


def _is_message() -> Any:
    return and_(
        activities.c.channel == Channel.MESSENGER.value,
        activities.c.direction.in_((Direction.IN.value, Direction.OUT.value)),
        activities.c.counterpart.is_not(None),
    )


async def refresh(
    conn: AsyncConnection, keys: Iterable[Key], new: Mapping[Key, Sequence[Message]] | None = None
) -> None:
    """Bring these dialogs up to date, in the caller's transaction. A dialog whose only
    change is `new` messages after its last one moves by them (`appended`); any other
    is recomputed from its activities."""
    ordered = sorted(keys)
    for start in range(0, len(ordered), CHUNK):
        await _refresh(conn, set(ordered[start : start + CHUNK]), new or {})


async def _refresh(conn: AsyncConnection, keys: set[Key], new: Mapping[Key, Sequence[Message]]) -> None:
    sources = sorted({s for s, _ in keys})
    counterparts = sorted({c for _, c in keys})
    existing = {
        (row.source, row.counterpart): row
        for row in (
            await conn.execute(
                select(dialogs).where(
                    and_(
                        one_of(conn, dialogs.c.counterpart, counterparts),
                        one_of(conn, dialogs.c.source, sources),
                    )
                )
            )
        ).all()
        if (row.source, row.counterpart) in keys
    }
    written: list[dict[str, Any]] = []
    for key in sorted(keys):
        messages = new.get(key)
        old = existing.get(key)
        if messages and old is not None and messages[0].occurred_at > old.last_at:
            written.append(_row(key, appended(old, messages), old))
            keys.discard(key)
    if not keys:
        await _upsert(conn, written)
        return
    sources = sorted({s for s, _ in keys})
    counterparts = sorted({c for _, c in keys})
    totals = (
        select(
            activities.c.source.label("source"),
            activities.c.counterpart.label("counterpart"),
            func.count().label("messages"),
            func.max(
                case((activities.c.direction == Direction.IN.value, activities.c.occurred_at))
            ).label("last_in_at"),
            func.max(
                case((activities.c.direction == Direction.OUT.value, activities.c.occurred_at))
            ).label("last_out_at"),
        )
        .where(
            and_(
                _is_message(),
                one_of(conn, activities.c.counterpart, counterparts),
                one_of(conn, activities.c.source, sources),
            )
        )
        .group_by(activities.c.source, activities.c.counterpart)
        .subquery("totals")
    )
    tail_rows = (
        await conn.execute(
            select(
                activities.c.id,
                activities.c.source,
                activities.c.counterpart,
                activities.c.direction,
                activities.c.occurred_at,
                activities.c.preview,
                activities.c.contact_id,
                totals.c.messages,
                totals.c.last_in_at,
                totals.c.last_out_at,
            )
            .join(
                totals,
                and_(
                    activities.c.source == totals.c.source,
                    activities.c.counterpart == totals.c.counterpart,
                ),
            )
            .where(
                and_(
                    _is_message(),
                    or_(
                        totals.c.last_out_at.is_(None),
                        activities.c.occurred_at >= totals.c.last_out_at,
                    ),
                )
            )
            .order_by(activities.c.occurred_at, activities.c.id)
        )
    ).all()
    tails: dict[Key, list[Any]] = {}
    for row in tail_rows:
        key = (row.source, row.counterpart)
        if key in keys:
            tails.setdefault(key, []).append(row)
    for key, rows in tails.items():
        first = rows[0]
        old = existing.get(key)
        read_at = old.read_at if old is not None else None
        computed = state(
            [
                Message(
                    id=r.id,
                    direction=r.direction,
                    occurred_at=r.occurred_at,
                    preview=r.preview,
                    contact_id=r.contact_id,
                )
                for r in rows
            ],
            messages=int(first.messages),
            last_in_at=first.last_in_at,
            last_out_at=first.last_out_at,
            read_at=read_at,
        )
        written.append(_row(key, computed, old))
    await _upsert(conn, written)
    gone = [old.id for key, old in existing.items() if key in keys and key not in tails]
    if gone:
        await conn.execute(delete(dialogs).where(one_of(conn, dialogs.c.id, gone)))


async def _upsert(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    if rows:
        await conn.execute(
            upsert(conn, dialogs, ("source", "counterpart"), _WRITTEN),
            sorted(rows, key=lambda r: (r["source"], r["counterpart"])),
        )


def _row(key: Key, new: dict[str, Any], old: Any | None) -> dict[str, Any]:
    """A dialog row to write; a reminder belongs to one wait, a new wait (or none) drops it."""
    keep = old is not None and old.waiting_since == new["waiting_since"]
    return {
        "source": key[0],
        "counterpart": key[1],
        "platform": platform_of(key[0]),
        **new,
        "reminder_id": old.reminder_id if keep and old is not None else None,
    }


def _whole(messages: list[Message], read_at: datetime | None) -> dict[str, Any]:
    """A dialog's columns from every one of its messages, oldest first."""
    ins = [m.occurred_at for m in messages if m.direction == Direction.IN.value]
    outs = [m.occurred_at for m in messages if m.direction == Direction.OUT.value]
    last_out = max(outs) if outs else None
    tail = [m for m in messages if last_out is None or m.occurred_at >= last_out]
    return state(
        tail,
        messages=len(messages),
        last_in_at=max(ins) if ins else None,
        last_out_at=last_out,
        read_at=read_at,
    )


async def rebuild(conn: AsyncConnection) -> int:
    """Recompute every dialog from the messenger activities in one ordered pass; keeps
    what people set (`read_at`) and the reminders of unchanged waits. Returns the dialogs."""
    existing = {
        (row.source, row.counterpart): row
        for row in (
            await conn.execute(
                select(
                    dialogs.c.id,
                    dialogs.c.source,
                    dialogs.c.counterpart,
                    dialogs.c.read_at,
                    dialogs.c.waiting_since,
                    dialogs.c.reminder_id,
                )
            )
        ).all()
    }
    result = await conn.stream(
        select(
            activities.c.source,
            activities.c.counterpart,
            activities.c.id,
            activities.c.direction,
            activities.c.occurred_at,
            activities.c.preview,
            activities.c.contact_id,
        )
        .where(_is_message())
        .order_by(
            activities.c.source,
            activities.c.counterpart,
            activities.c.occurred_at,
            activities.c.id,
        )
    )
    written: list[dict[str, Any]] = []
    kept: set[Key] = set()
    key: Key | None = None
    messages: list[Message] = []

    def close() -> None:
        if key is not None and messages:
            old = existing.get(key)
            new = _whole(messages, old.read_at if old is not None else None)
            written.append(_row(key, new, old))
            kept.add(key)

    async for part in result.partitions(STREAM_ROWS):
        for row in part:
            here = (row.source, row.counterpart)
            if here != key:
                close()
                key, messages = here, []
            messages.append(
                Message(
                    id=row.id,
                    direction=row.direction,
                    occurred_at=row.occurred_at,
                    preview=row.preview,
                    contact_id=row.contact_id,
                )
            )
        if len(written) >= CHUNK:
            await conn.execute(upsert(conn, dialogs, ("source", "counterpart"), _WRITTEN), written)
            written = []
    close()
    if written:
        await conn.execute(upsert(conn, dialogs, ("source", "counterpart"), _WRITTEN), written)
    stale = [old.id for k, old in existing.items() if k not in kept]
    for start in range(0, len(stale), CHUNK):
        chunk = stale[start : start + CHUNK]
        await conn.execute(delete(dialogs).where(one_of(conn, dialogs.c.id, chunk)))
    return len(kept)
