"""What channels learn about a client's address, written in the batch that brought it.

An `IdentityUpdate` either gives an address (a Telegram chat) to a contact — the one that
has the phone the client shared, or the one a signed link names — or marks the address
unreachable (the client blocked the bot) or reachable again. Giving an address moves its
identity to the contact, and the activities recorded with that address on its previous
owner (usually a lead made from it) follow it; the previous owner itself is kept.
A phone that no contact has is added to the address's own contact instead.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.activity.addresses import try_normalize
from hub.activity.schema import activities, contacts, identities
from hub.activity.unit_of_work import UnitOfWork
from hub.model import AddressKind, IdentityUpdate

logger = logging.getLogger(__name__)

#: Merged contacts are followed this many hops to the one that survives.
MAX_MERGE_HOPS = 16


async def _owner(conn: AsyncConnection, kind: str, value: str) -> int | None:
    i = identities.c
    found = await conn.scalar(select(i.contact_id).where(and_(i.kind == kind, i.value == value)))
    return None if found is None else int(found)


async def _surviving(conn: AsyncConnection, contact_id: int) -> int | None:
    """`contact_id`, or the contact it was merged into; None when it does not exist."""
    current: int | None = contact_id
    for _ in range(MAX_MERGE_HOPS):
        row = (
            await conn.execute(
                select(contacts.c.id, contacts.c.merged_into_id).where(contacts.c.id == current)
            )
        ).first()
        if row is None:
            return None
        if row.merged_into_id is None:
            return int(row.id)
        current = int(row.merged_into_id)
    return current


async def _target(conn: AsyncConnection, upd: IdentityUpdate, region: str) -> int | None:
    if upd.link_contact_id is not None:
        return await _surviving(conn, upd.link_contact_id)
    if upd.link_phone is not None:
        phone = try_normalize(AddressKind.PHONE, upd.link_phone.value, region)
        if phone is not None:
            return await _owner(conn, AddressKind.PHONE.value, phone)
    return None


async def _move_activities(
    work: UnitOfWork, value: str, old_owner: int, new_owner: int, now: Any
) -> None:
    """Activities of `old_owner` recorded with the address `value` go to `new_owner`."""
    a = activities.c
    rows = [
        dict(r)
        for r in (
            await work.conn.execute(
                select(activities).where(and_(a.contact_id == old_owner, a.counterpart == value))
            )
        ).mappings()
    ]
    if not rows:
        return
    await work.conn.execute(
        update(activities)
        .where(and_(a.contact_id == old_owner, a.counterpart == value))
        .values(contact_id=new_owner, updated_at=now)
    )
    work.activities_changed(rows, [{**r, "contact_id": new_owner, "updated_at": now} for r in rows])


async def _link(work: UnitOfWork, upd: IdentityUpdate, kind: str, value: str, region: str) -> None:
    conn = work.conn
    owner = await _owner(conn, kind, value)
    target = await _target(conn, upd, region)
    if target is None:
        phone = (
            try_normalize(AddressKind.PHONE, upd.link_phone.value, region)
            if upd.link_phone is not None
            else None
        )
        if phone is not None and owner is not None:
            # nobody has this phone yet: it is one more address of the chat's own contact
            await conn.execute(
                insert(identities).values(
                    contact_id=owner, kind=AddressKind.PHONE.value, value=phone, created_at=upd.at
                )
            )
            work.contacts_changed([owner])
        elif upd.link_contact_id is not None:
            logger.warning("%s: link of %s to unknown contact %s ignored", upd.source, value, upd.link_contact_id)
        return
    if owner == target:
        return
    if owner is None:
        await conn.execute(
            insert(identities).values(contact_id=target, kind=kind, value=value, created_at=upd.at)
        )
    else:
        i = identities.c
        await conn.execute(
            update(identities)
            .where(and_(i.kind == kind, i.value == value))
            .values(contact_id=target)
        )
        await _move_activities(work, value, owner, target, upd.at)
    logger.info("%s: %s %s now belongs to contact %d", upd.source, kind, value, target)
    work.contacts_changed([owner, target])


async def _reachability(work: UnitOfWork, upd: IdentityUpdate, kind: str, value: str) -> None:
    i = identities.c
    unreachable = bool(upd.unreachable)
    await work.conn.execute(
        update(identities)
        .where(and_(i.kind == kind, i.value == value))
        .values(
            bouncing_at=upd.at if unreachable else None,
            bounce_detail=upd.detail if unreachable else None,
        )
    )
    work.contacts_changed([await _owner(work.conn, kind, value)])


async def apply_identity_updates(
    work: UnitOfWork, updates: Sequence[IdentityUpdate], region: str
) -> int:
    """Write `updates` in order in the caller's transaction; how many could be applied."""
    applied = 0
    for upd in updates:
        kind = upd.address.kind.value
        value = try_normalize(upd.address.kind, upd.address.value, region)
        if value is None:
            logger.warning("%s: identity update for bad address %r ignored", upd.source, upd.address.value)
            continue
        if upd.link_phone is not None or upd.link_contact_id is not None:
            await _link(work, upd, kind, value, region)
        if upd.unreachable is not None:
            await _reachability(work, upd, kind, value)
        applied += 1
    return applied
