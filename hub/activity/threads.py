"""Who a conversation is with: the client of a thread is the contact its first touch had.

A reply to the thread's client that also goes to a new address would otherwise be
linked first to whichever address the letter named first, often the newcomer's fresh
lead; the thread's client stays the primary contact and the others are participants.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.activity.dialect import one_of
from hub.activity.schema import activities

#: Thread keys per lookup: well under SQLite's variable limit.
CHUNK = 2000


async def thread_clients(conn: AsyncConnection, keys: Iterable[str]) -> dict[str, int]:
    """For each thread key, the contact of its earliest activity that has one."""
    wanted = sorted(set(keys))
    found: dict[str, int] = {}
    for start in range(0, len(wanted), CHUNK):
        rows = await conn.execute(
            select(activities.c.thread_key, activities.c.contact_id)
            .where(
                and_(
                    one_of(conn, activities.c.thread_key, wanted[start : start + CHUNK]),
                    activities.c.contact_id.is_not(None),
                )
            )
            .order_by(activities.c.occurred_at, activities.c.id)
        )
        for key, contact_id in rows:
            found.setdefault(str(key), int(contact_id))
    return found


def client_first(linked: Sequence[int], client: int | None) -> list[int]:
    """`linked` with the thread's client moved to the front when it takes part."""
    if client is None or client not in linked:
        return list(linked)
    return [client, *(c for c in linked if c != client)]
