"""Identity resolution for a batch of touches: addresses → employees and contacts.

Done once per batch with one query per address kind, inside the write transaction,
so a thousand touches cost a handful of round trips, not thousands.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import and_, delete, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.activity import bulk
from hub.activity.addresses import normalize
from hub.activity.dialect import insert_ignore, one_of
from hub.activity.schema import contacts, employee_addresses, employees, identities
from hub.errors import InvalidAddress
from hub.model import CONTACT_KINDS, Address, AddressKind, Direction, Touch

Key = tuple[str, str]  # (kind, normalised value)

T = TypeVar("T")


@dataclass(slots=True)
class Normalised:
    """What normalising one touch's addresses gave."""

    employee: Key | None = None
    counterparts: list[Key] = field(default_factory=list)
    names: dict[Key, str] = field(default_factory=dict)
    invalid: list[str] = field(default_factory=list)


def normalise_touch(
    employee: Address | None, counterparts: Sequence[Address], region: str
) -> Normalised:
    """Normalise the employee and counterpart addresses of one touch; keep what fails."""
    result = Normalised()
    if employee is not None:
        try:
            result.employee = (
                employee.kind.value,
                normalize(employee.kind, employee.value, region),
            )
        except InvalidAddress as exc:
            result.invalid.append(f"employee {employee.value!r}: {exc}")
    for address in counterparts:
        try:
            key = (address.kind.value, normalize(address.kind, address.value, region))
        except InvalidAddress as exc:
            result.invalid.append(str(exc))
            continue
        if key not in result.counterparts:
            result.counterparts.append(key)
        if address.name:
            result.names[key] = address.name
    return result


def _by_kind(keys: Iterable[Key]) -> dict[str, list[str]]:
    grouped: dict[str, set[str]] = defaultdict(set)
    for kind, value in keys:
        grouped[kind].add(value)
    return {kind: sorted(values) for kind, values in grouped.items()}


async def employees_for(conn: AsyncConnection, keys: Iterable[Key]) -> dict[Key, int]:
    """Map employee addresses (extension, e-mail, bot account …) to employee ids."""
    found: dict[Key, int] = {}
    for kind, values in _by_kind(keys).items():
        for chunk in _chunks(values):
            rows = await conn.execute(
                select(employee_addresses.c.value, employee_addresses.c.employee_id).where(
                    and_(
                        employee_addresses.c.kind == kind,
                        one_of(conn, employee_addresses.c.value, chunk),
                    )
                )
            )
            for value, employee_id in rows:
                found[(kind, value)] = employee_id
    return found


#: The metadata key by which a sender names the employee behind an outgoing message
#: (a reply from the Dialogs page) when no address of theirs is on the wire.
SENT_BY_KEY = "employee_id"


def sent_by(touch: Touch) -> int | None:
    """The employee id an outgoing touch names in its metadata, if any."""
    value = touch.metadata.get(SENT_BY_KEY)
    if touch.direction is not Direction.OUT or type(value) is not int or value < 1:
        return None
    return value


async def employees_named(conn: AsyncConnection, touches: Iterable[Touch]) -> set[int]:
    """Of the employee ids outgoing touches name (`sent_by`), those that exist."""
    wanted = sorted({eid for t in touches if (eid := sent_by(t)) is not None})
    if not wanted:
        return set()
    rows = await conn.execute(select(employees.c.id).where(one_of(conn, employees.c.id, wanted)))
    return {int(eid) for (eid,) in rows}


async def contacts_for(conn: AsyncConnection, keys: Iterable[Key]) -> dict[Key, int]:
    """Map contact identities to contact ids."""
    found: dict[Key, int] = {}
    for kind, values in _by_kind(keys).items():
        for chunk in _chunks(values):
            rows = await conn.execute(
                select(identities.c.value, identities.c.contact_id).where(
                    and_(identities.c.kind == kind, one_of(conn, identities.c.value, chunk))
                )
            )
            for value, contact_id in rows:
                found[(kind, value)] = contact_id
    return found


async def create_leads(
    conn: AsyncConnection, keys: Sequence[Key], names: dict[Key, str], now: datetime
) -> dict[Key, int]:
    """Create one lead contact per unknown address; return the final address → contact map.

    Identities are inserted with ON CONFLICT DO NOTHING and read back, so two writers
    racing for the same new address end up sharing one contact.
    """
    wanted = [key for key in keys if AddressKind(key[0]) in CONTACT_KINDS]
    if not wanted:
        return {}
    rows: list[dict[str, Any]] = [
        {
            "name": names.get(key) or key[1],
            "is_lead": True,
            "custom": {},
            "created_from": f"{key[0]}:{key[1]}",
            "created_at": now,
            "updated_at": now,
        }
        for key in wanted
    ]
    made: dict[str, int]
    if conn.dialect.name == "sqlite":
        # A plain executemany and the ids proven from max(id) (see `bulk.inserted_ids`).
        await bulk.executemany(conn, "leads", lambda: insert(contacts), rows)
        ids = await bulk.inserted_ids(conn, contacts, rows, ("created_from",))
        if ids is not None:
            made = {row["created_from"]: cid for row, cid in zip(rows, ids, strict=True)}
        else:
            made = await _leads_by_origin(conn, [row["created_from"] for row in rows], now)
    else:
        # RETURNING the natural key keeps this one multi-row statement on every database
        # (asking for parameter order makes SQLite fall back to a statement per row).
        result = await conn.execute(
            insert(contacts).returning(contacts.c.id, contacts.c.created_from), rows
        )
        made = {origin: cid for cid, origin in result.all()}
    identity_rows: list[dict[str, Any]] = [
        {"contact_id": made[f"{kind}:{value}"], "kind": kind, "value": value, "created_at": now}
        for kind, value in wanted
    ]
    written = await bulk.executemany(
        conn,
        "lead_identities",
        lambda: insert_ignore(conn, identities, ("kind", "value")),
        identity_rows,
    )
    if written == len(identity_rows):
        # every address is ours: nobody raced us to one of them, nothing to read back
        return {key: row["contact_id"] for key, row in zip(wanted, identity_rows, strict=True)}
    final = await contacts_for(conn, wanted)
    # Another writer took some of these addresses first: the leads we made for them hold
    # no identity and nothing else yet, so they go, or searching a number finds two.
    lost = [
        made[f"{kind}:{value}"]
        for kind, value in wanted
        if final.get((kind, value)) != made[f"{kind}:{value}"]
    ]
    for chunk in _chunks(lost):
        await conn.execute(delete(contacts).where(contacts.c.id.in_(chunk)))
    return final


async def _leads_by_origin(
    conn: AsyncConnection, origins: Sequence[str], now: datetime
) -> dict[str, int]:
    """Ids of the leads just created from these addresses (the newest one per address)."""
    found: dict[str, int] = {}
    for chunk in _chunks(list(origins)):
        rows = await conn.execute(
            select(contacts.c.created_from, contacts.c.id).where(
                and_(contacts.c.created_at == now, one_of(conn, contacts.c.created_from, chunk))
            )
        )
        for origin, cid in rows:
            found[origin] = max(cid, found.get(origin, cid))
    return found


CHUNK = 2000  # values per lookup: well under SQLite's 32,766 variables


def _chunks(values: list[T]) -> Iterable[list[T]]:
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]
