"""Repositories hung off the store: contacts, employees, activities, API tokens.

Each is a thin set of named queries over `schema`; the store's record path owns
idempotent writes of touches, these own what people do by hand or through the API.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import uuid
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.activity import client_base, interaction_rules, rollup
from hub.activity.addresses import normalize
from hub.activity.schema import (
    ROLLUP_COLUMNS,
    activities,
    activity_participants,
    api_tokens,
    api_users,
    contact_merges,
    contacts,
    employee_addresses,
    employees,
    identities,
    organizations,
    status_history,
)
from hub.errors import Conflict, NotFound, PermissionDenied, StoreUnavailable, ValidationError
from hub.model import CONTACT_KINDS, Address, AddressKind, Channel, Direction, Status, utcnow
from hub.text import ascii_int

if TYPE_CHECKING:
    from hub.activity.store import ActivityStore

CONTACT_FIELDS = (
    "name",
    "position",
    "region",
    "city",
    "importance",
    "segment",
    "is_lead",
    "owner_employee_id",
)
ROLES = ("admin", "head", "employee", "marketer")
#: Longest employee name or position (the columns' size).
MAX_EMPLOYEE_TEXT = 200
MAX_PAGE = 500
TOKEN_BYTES = 32
#: How stale `last_used_at` may get before an authenticated request refreshes it.
TOKEN_TOUCH_INTERVAL = timedelta(minutes=1)


# -- who is asking -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller: its role and, for heads and employees, who they are."""

    name: str
    role: str
    employee_id: int | None = None
    user_id: int | None = None

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


ADMIN = Principal(name="cli", role="admin")


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a listing and the cursor of the next one."""

    items: list[dict[str, Any]]
    next_cursor: str | None


def encode_cursor(at: datetime, row_id: int) -> str:
    return base64.urlsafe_b64encode(f"{at.isoformat()}|{row_id}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    """The (occurred_at, id) a cursor points after; forged ones are a `ValidationError`."""
    try:
        at, row_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
        when, after = datetime.fromisoformat(at), int(row_id)
        if when.tzinfo is None or not 0 <= after < 2**63:
            raise ValueError("naive time or id out of range")
        return when.astimezone(UTC), after
    except (ValueError, UnicodeDecodeError, OverflowError) as exc:
        raise ValidationError("cursor is not one this server issued", field="cursor") from exc


def fold(dialect: str, column: Any) -> Any:
    """Case-fold a text column in SQL, Cyrillic included (SQLite's lower() is ASCII-only)."""
    return func.th_fold(column) if dialect == "sqlite" else func.lower(column)


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in row.items()}


class _Repo:
    def __init__(self, store: ActivityStore) -> None:
        self.store = store

    @property
    def engine(self) -> Any:
        return self.store.engine

    @asynccontextmanager
    async def tx(self) -> AsyncIterator[AsyncConnection]:
        """A write transaction; database errors come out as touchhub errors."""
        async with translated(), self.engine.begin() as conn:
            yield conn

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A read connection; database errors come out as touchhub errors."""
        async with translated(), self.engine.connect() as conn:
            yield conn


@asynccontextmanager
async def translated() -> AsyncIterator[None]:
    """Driver errors as touchhub errors: a race on a unique key is a `Conflict`, a lost or
    locked database is `StoreUnavailable`."""
    try:
        yield
    except IntegrityError as exc:
        raise Conflict(f"conflicts with an existing record: {exc.orig}") from exc
    except (OperationalError, InterfaceError, OSError) as exc:
        raise StoreUnavailable(f"the store cannot be reached: {getattr(exc, 'orig', exc)}") from exc


# -- employees -------------------------------------------------------------------------


class EmployeeRepo(_Repo):
    """Employees, their addresses (extensions, mailboxes, bot accounts) and the hierarchy."""

    async def add(
        self,
        name: str,
        *,
        position: str | None = None,
        head_id: int | None = None,
        addresses: Sequence[Address] = (),
        active: bool = True,
    ) -> int:
        """Add an employee; an address already taken is a `ValidationError` naming it."""
        if not name.strip():
            raise ValidationError("employee name is empty", field="name")
        for what, text in (("name", name.strip()), ("position", position or "")):
            if len(text) > MAX_EMPLOYEE_TEXT:
                raise ValidationError(
                    f"employee {what} is longer than {MAX_EMPLOYEE_TEXT} characters", field=what
                )
        async with self.tx() as conn:
            if head_id is not None:
                await self._must_exist(conn, head_id)
            employee_id = int(
                (
                    await conn.execute(
                        insert(employees).returning(employees.c.id),
                        {
                            "name": name.strip(),
                            "position": position,
                            "head_id": head_id,
                            "active": active,
                            "created_at": utcnow(),
                        },
                    )
                ).scalar_one()
            )
            await self._add_addresses(conn, employee_id, addresses)
        return employee_id

    async def add_addresses(self, employee_id: int, addresses: Sequence[Address]) -> None:
        async with self.tx() as conn:
            await self._must_exist(conn, employee_id)
            await self._add_addresses(conn, employee_id, addresses)

    async def _add_addresses(
        self, conn: AsyncConnection, employee_id: int, addresses: Sequence[Address]
    ) -> None:
        for address in addresses:
            value = normalize(address.kind, address.value, self.store.region)
            taken = await conn.scalar(
                select(employee_addresses.c.employee_id).where(
                    and_(
                        employee_addresses.c.kind == address.kind.value,
                        employee_addresses.c.value == value,
                    )
                )
            )
            if taken is not None and taken != employee_id:
                raise Conflict(
                    f"{address.kind.value} {value} already belongs to employee #{taken}",
                    field=address.kind.value,
                    details={
                        "owner_employee_id": taken,
                        "kind": address.kind.value,
                        "value": value,
                    },
                )
            if taken is None:
                await conn.execute(
                    insert(employee_addresses),
                    {"employee_id": employee_id, "kind": address.kind.value, "value": value},
                )

    async def _must_exist(self, conn: AsyncConnection, employee_id: int) -> None:
        if await conn.scalar(select(employees.c.id).where(employees.c.id == employee_id)) is None:
            raise NotFound(f"employee #{employee_id} does not exist")

    async def list(self, *, ids: Iterable[int] | None = None) -> list[dict[str, Any]]:
        """Employees with their addresses, optionally only `ids`."""
        async with self.read() as conn:
            stmt = select(employees).order_by(employees.c.id)
            if ids is not None:
                stmt = stmt.where(employees.c.id.in_(list(ids)))
            rows = [dict(r) for r in (await conn.execute(stmt)).mappings()]
            addr = (await conn.execute(select(employee_addresses))).mappings().all()
        by_emp: dict[int, list[dict[str, str]]] = {}
        for a in addr:
            by_emp.setdefault(a["employee_id"], []).append({"kind": a["kind"], "value": a["value"]})
        for row in rows:
            row["addresses"] = by_emp.get(row["id"], [])
        return [_jsonable(r) for r in rows]

    async def get(self, employee_id: int) -> dict[str, Any]:
        found = await self.list(ids=[employee_id])
        if not found:
            raise NotFound(f"employee #{employee_id} does not exist")
        return found[0]

    async def resolve(self, ref: str) -> int:
        """Find an employee by id, extension, e-mail address or exact name."""
        ref = ref.strip()
        async with self.read() as conn:
            as_id = ascii_int(ref, minimum=1)
            if as_id is not None:
                found = await conn.scalar(select(employees.c.id).where(employees.c.id == as_id))
                if found is not None:
                    return int(found)
            for kind in (AddressKind.EXTENSION, AddressKind.EMAIL):
                found = await conn.scalar(
                    select(employee_addresses.c.employee_id).where(
                        and_(
                            employee_addresses.c.kind == kind.value,
                            employee_addresses.c.value == ref.casefold()
                            if kind is AddressKind.EMAIL
                            else employee_addresses.c.value == ref,
                        )
                    )
                )
                if found is not None:
                    return int(found)
            names = (
                (await conn.execute(select(employees.c.id).where(employees.c.name == ref)))
                .scalars()
                .all()
            )
        if len(names) == 1:
            return int(names[0])
        if len(names) > 1:
            raise ValidationError(
                f"several employees are called {ref!r}; use the id", field="employee"
            )
        raise NotFound(f"no employee matches {ref!r} (id, extension, e-mail or exact name)")

    async def subtree(self, employee_id: int) -> set[int]:
        """The employee and everyone below them in the hierarchy."""
        async with self.read() as conn:
            pairs = (await conn.execute(select(employees.c.id, employees.c.head_id))).all()
        children: dict[int, list[int]] = {}
        for eid, head in pairs:
            if head is not None:
                children.setdefault(head, []).append(eid)
        seen = {employee_id}
        stack = [employee_id]
        while stack:
            for child in children.get(stack.pop(), []):
                if child not in seen:
                    seen.add(child)
                    stack.append(child)
        return seen

    async def visible_to(self, who: Principal) -> set[int] | None:
        """Employee ids whose activities `who` may see; None means all."""
        if who.role == "admin":
            return None
        if who.employee_id is None:
            return set()
        if who.role == "head":
            return await self.subtree(who.employee_id)
        return {who.employee_id}


# -- contacts --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MergeResult:
    """What a merge moved."""

    target_id: int
    source_id: int
    identities_moved: int
    activities_moved: int
    fields_filled: list[str] = field(default_factory=list)


class ContactRepo(_Repo):
    """Client contacts and organisations; identities keep them unique per address."""

    async def _organization(self, conn: AsyncConnection, name: str | None) -> int | None:
        if not name or not name.strip():
            return None
        name = name.strip()
        found = await conn.scalar(select(organizations.c.id).where(organizations.c.name == name))
        if found is not None:
            return int(found)
        return int(
            (
                await conn.execute(
                    insert(organizations).returning(organizations.c.id),
                    {"name": name, "created_at": utcnow()},
                )
            ).scalar_one()
        )

    def _normalise(self, addresses: Sequence[Address]) -> list[tuple[str, str]]:
        keys = []
        for address in addresses:
            if address.kind not in CONTACT_KINDS:
                raise ValidationError(
                    f"{address.kind.value} is not a contact address", field=address.kind.value
                )
            key = (address.kind.value, normalize(address.kind, address.value, self.store.region))
            if key not in keys:
                keys.append(key)
        return keys

    async def owners(self, addresses: Sequence[Address]) -> dict[tuple[str, str], int]:
        """Which contact already owns each of these addresses (normalised key → id)."""
        keys = self._normalise(addresses)
        found: dict[tuple[str, str], int] = {}
        async with self.read() as conn:
            for kind, value in keys:
                cid = await conn.scalar(
                    select(identities.c.contact_id).where(
                        and_(identities.c.kind == kind, identities.c.value == value)
                    )
                )
                if cid is not None:
                    found[(kind, value)] = int(cid)
        return found

    async def create(
        self,
        name: str,
        *,
        addresses: Sequence[Address] = (),
        organization: str | None = None,
        custom: dict[str, Any] | None = None,
        **fields: Any,
    ) -> int:
        """Create a contact with its identities; an address already owned is refused."""
        if not name or not name.strip():
            raise ValidationError("contact name is empty", field="name")
        unknown = set(fields) - set(CONTACT_FIELDS)
        if unknown:
            raise ValidationError(
                f"unknown contact field(s): {', '.join(sorted(unknown))}", field=sorted(unknown)[0]
            )
        keys = self._normalise(addresses)
        now = utcnow()
        async with self.tx() as conn:
            for kind, value in keys:
                owner = await conn.scalar(
                    select(identities.c.contact_id).where(
                        and_(identities.c.kind == kind, identities.c.value == value)
                    )
                )
                if owner is not None:
                    raise Conflict(
                        f"{kind} {value} already belongs to contact #{owner}",
                        field=kind,
                        details={"owner_contact_id": owner, "kind": kind, "value": value},
                    )
            row = {
                "name": name.strip(),
                "organization_id": await self._organization(conn, organization),
                "custom": custom or {},
                "is_lead": False,
                "created_at": now,
                "updated_at": now,
                **fields,
            }
            contact_id = int(
                (await conn.execute(insert(contacts).returning(contacts.c.id), row)).scalar_one()
            )
            if keys:
                await conn.execute(
                    insert(identities),
                    [
                        {"contact_id": contact_id, "kind": k, "value": v, "created_at": now}
                        for k, v in keys
                    ],
                )
            await client_base.refresh(conn, [contact_id], self.store.tz)
        return contact_id

    async def update(
        self,
        contact_id: int,
        *,
        add_addresses: Sequence[Address] = (),
        organization: str | None = None,
        custom: dict[str, Any] | None = None,
        **fields: Any,
    ) -> bool:
        """Update fields and add identities; returns whether anything changed."""
        unknown = set(fields) - set(CONTACT_FIELDS)
        if unknown:
            raise ValidationError(
                f"unknown contact field(s): {', '.join(sorted(unknown))}", field=sorted(unknown)[0]
            )
        keys = self._normalise(add_addresses)
        now = utcnow()
        changed = False
        async with self.tx() as conn:
            current = (
                (await conn.execute(select(contacts).where(contacts.c.id == contact_id)))
                .mappings()
                .first()
            )
            if current is None:
                raise NotFound(f"contact #{contact_id} does not exist")
            values = {k: v for k, v in fields.items() if v is not None and current[k] != v}
            if organization is not None:
                org = await self._organization(conn, organization)
                if org != current["organization_id"]:
                    values["organization_id"] = org
            if custom:
                merged = {**(current["custom"] or {}), **custom}
                if merged != current["custom"]:
                    values["custom"] = merged
            for kind, value in keys:
                owner = await conn.scalar(
                    select(identities.c.contact_id).where(
                        and_(identities.c.kind == kind, identities.c.value == value)
                    )
                )
                if owner is None:
                    await conn.execute(
                        insert(identities),
                        {"contact_id": contact_id, "kind": kind, "value": value, "created_at": now},
                    )
                    changed = True
                elif owner != contact_id:
                    raise Conflict(
                        f"{kind} {value} already belongs to contact #{owner}",
                        field=kind,
                        details={"owner_contact_id": owner, "kind": kind, "value": value},
                    )
            if values:
                values["updated_at"] = now
                await conn.execute(
                    update(contacts).where(contacts.c.id == contact_id).values(**values)
                )
                changed = True
            if changed:
                await client_base.refresh(conn, [contact_id], self.store.tz)
        return changed

    async def get(self, contact_id: int) -> dict[str, Any]:
        """A contact with its identities and organisation; a merged id leads to its target."""
        async with self.read() as conn:
            for _ in range(10):
                row = (
                    (
                        await conn.execute(
                            select(contacts, organizations.c.name.label("organization"))
                            .select_from(
                                contacts.outerjoin(
                                    organizations, organizations.c.id == contacts.c.organization_id
                                )
                            )
                            .where(contacts.c.id == contact_id)
                        )
                    )
                    .mappings()
                    .first()
                )
                if row is None:
                    raise NotFound(f"contact #{contact_id} does not exist")
                if row["merged_into_id"] is None:
                    break
                contact_id = row["merged_into_id"]
            ids = (
                await conn.execute(
                    select(identities.c.kind, identities.c.value, identities.c.bouncing_at).where(
                        identities.c.contact_id == contact_id
                    )
                )
            ).all()
        if row is None:  # unreachable: the loop raises or breaks with a row
            raise NotFound(f"contact #{contact_id} does not exist")
        result = _jsonable(dict(row))
        result["identities"] = [
            {"kind": k, "value": v, **({"bouncing_since": b.isoformat()} if b else {})}
            for k, v, b in ids
        ]
        return result

    async def search(
        self,
        query: str | None = None,
        *,
        limit: int = 50,
        offset: int = 0,
        include_merged: bool = False,
    ) -> list[dict[str, Any]]:
        """Contacts whose name contains `query`, or whose phone/e-mail matches it."""
        limit = max(1, min(limit, MAX_PAGE))
        stmt = select(contacts.c.id).order_by(contacts.c.id).limit(limit).offset(offset)
        if not include_merged:
            stmt = stmt.where(contacts.c.merged_into_id.is_(None))
        if query:
            conditions = [
                fold(self.store.dialect, contacts.c.name).contains(
                    query.casefold(), autoescape=True
                )
            ]
            for kind in (AddressKind.PHONE, AddressKind.EMAIL):
                try:
                    value = normalize(kind, query, self.store.region)
                except ValidationError:
                    continue
                conditions.append(
                    contacts.c.id.in_(
                        select(identities.c.contact_id).where(
                            and_(identities.c.kind == kind.value, identities.c.value == value)
                        )
                    )
                )
            stmt = stmt.where(or_(*conditions))
        async with self.read() as conn:
            ids = (await conn.execute(stmt)).scalars().all()
        return [await self.get(int(i)) for i in ids]

    async def merge(self, source_id: int, target_id: int) -> MergeResult:
        """Merge `source_id` into `target_id`: identities and activities move, nothing is lost."""
        if source_id == target_id:
            raise ValidationError("cannot merge a contact into itself", field="contact")
        now = utcnow()
        async with self.tx() as conn:
            rows = {
                r["id"]: dict(r)
                for r in (
                    await conn.execute(
                        select(contacts).where(contacts.c.id.in_([source_id, target_id]))
                    )
                ).mappings()
            }
            for cid in (source_id, target_id):
                if cid not in rows:
                    raise NotFound(f"contact #{cid} does not exist")
                if rows[cid]["merged_into_id"] is not None:
                    raise ValidationError(
                        f"contact #{cid} was already merged into #{rows[cid]['merged_into_id']}",
                        field="contact",
                    )
            source, target = rows[source_id], rows[target_id]
            filled = {
                name: source[name]
                for name in (
                    "position",
                    "region",
                    "city",
                    "importance",
                    "segment",
                    "organization_id",
                    "owner_employee_id",
                )
                if target[name] in (None, "") and source[name] not in (None, "")
            }
            custom = {**(source["custom"] or {}), **(target["custom"] or {})}
            moved_ids = (
                await conn.execute(
                    update(identities)
                    .where(identities.c.contact_id == source_id)
                    .values(contact_id=target_id)
                    .returning(identities.c.id)
                )
            ).all()
            cols = [activities.c[n] for n in ROLLUP_COLUMNS]
            old_rows = [
                dict(r)
                for r in (
                    await conn.execute(select(*cols).where(activities.c.contact_id == source_id))
                ).mappings()
            ]
            await conn.execute(
                update(activities)
                .where(activities.c.contact_id == source_id)
                .values(contact_id=target_id, updated_at=now)
            )
            # (the client-base state is refreshed below, once both contacts are final)
            await rollup.adjust(
                conn, old_rows, [{**r, "contact_id": target_id} for r in old_rows], self.store.tz
            )
            # participants: move, dropping pairs the target already has
            parts = (
                (
                    await conn.execute(
                        select(activity_participants.c.activity_id).where(
                            activity_participants.c.contact_id == source_id
                        )
                    )
                )
                .scalars()
                .all()
            )
            await conn.execute(
                delete(activity_participants).where(activity_participants.c.contact_id == source_id)
            )
            if parts:
                have = set(
                    (
                        await conn.execute(
                            select(activity_participants.c.activity_id).where(
                                and_(
                                    activity_participants.c.contact_id == target_id,
                                    activity_participants.c.activity_id.in_(list(parts)),
                                )
                            )
                        )
                    )
                    .scalars()
                    .all()
                )
                new = [{"activity_id": a, "contact_id": target_id} for a in parts if a not in have]
                if new:
                    await conn.execute(insert(activity_participants), new)
            is_lead = bool(source["is_lead"] and target["is_lead"])
            await conn.execute(
                update(contacts)
                .where(contacts.c.id == target_id)
                .values(**filled, custom=custom, is_lead=is_lead, updated_at=now)
            )
            await conn.execute(
                update(contacts)
                .where(contacts.c.id == source_id)
                .values(merged_into_id=target_id, updated_at=now)
            )
            await conn.execute(
                update(contacts)
                .where(contacts.c.merged_into_id == source_id)
                .values(merged_into_id=target_id)
            )
            detail = {
                "source": _jsonable(source),
                "identities_moved": len(moved_ids),
                "activities_moved": len(old_rows),
                "fields_filled": sorted(filled),
            }
            await conn.execute(
                insert(contact_merges),
                {
                    "source_contact_id": source_id,
                    "target_contact_id": target_id,
                    "merged_at": now,
                    "detail": detail,
                },
            )
            await client_base.refresh(conn, [source_id, target_id], self.store.tz)
        return MergeResult(
            target_id=target_id,
            source_id=source_id,
            identities_moved=len(moved_ids),
            activities_moved=len(old_rows),
            fields_filled=sorted(filled),
        )

    async def count(self) -> int:
        async with self.read() as conn:
            return int(await conn.scalar(select(func.count()).select_from(contacts)) or 0)

    async def responsible_extension(self, phone: str) -> str | None:
        """The extension of the employee responsible for the client calling from `phone`."""
        try:
            value = normalize(AddressKind.PHONE, phone, self.store.region)
        except ValidationError:
            return None
        async with self.read() as conn:
            found = await conn.scalar(
                select(employee_addresses.c.value)
                .select_from(
                    identities.join(contacts, contacts.c.id == identities.c.contact_id).join(
                        employee_addresses,
                        employee_addresses.c.employee_id == contacts.c.owner_employee_id,
                    )
                )
                .where(
                    and_(
                        identities.c.kind == AddressKind.PHONE.value,
                        identities.c.value == value,
                        employee_addresses.c.kind == AddressKind.EXTENSION.value,
                    )
                )
                .order_by(employee_addresses.c.id)
                .limit(1)
            )
        return None if found is None else str(found)


# -- activities ------------------------------------------------------------------------


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


class ActivityRepo(_Repo):
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
            at, row_id = decode_cursor(cursor)
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
            next_cursor = encode_cursor(rows[-1]["occurred_at"], rows[-1]["id"])
        return Page(items=[_jsonable(r) for r in rows], next_cursor=next_cursor)

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
        result = _jsonable(dict(row))
        result["status_history"] = [_jsonable(dict(h)) for h in history]
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
        due_at = interaction_rules.moment(due_at, field="due_at", now=now)
        occurred_at = interaction_rules.moment(occurred_at, field="occurred_at", now=now)
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
        async with self.tx() as conn:
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
            await rollup.adjust(conn, [], [row], self.store.tz)
            await client_base.adjust(conn, [], [row], self.store.tz)
        return int(row["id"])

    async def complete(
        self, activity_id: int, *, result: str, at: datetime | None = None, who: Principal = ADMIN
    ) -> dict[str, Any]:
        """Complete a planned interaction with its result."""
        result = interaction_rules.result(result)
        at = interaction_rules.moment(at, field="at", now=utcnow()) or utcnow()
        async with self.tx() as conn:
            old = (
                (await conn.execute(select(activities).where(activities.c.id == activity_id)))
                .mappings()
                .first()
            )
            if old is None:
                raise NotFound(f"activity #{activity_id} does not exist")
            visible = await self.store.employees.visible_to(who)
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
            await rollup.adjust(conn, before, after, self.store.tz)
            await client_base.adjust(conn, before, after, self.store.tz)
        return await self.get(activity_id)

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


# -- API users and tokens --------------------------------------------------------------


def hash_token(token: str) -> str:
    """Tokens are stored as SHA-256: high-entropy secrets need no slow hash, only no plaintext."""
    return hashlib.sha256(token.encode()).hexdigest()


class TokenRepo(_Repo):
    """API users and their bearer tokens (stored hashed, shown once)."""

    async def create(self, name: str, role: str, *, employee_id: int | None = None) -> str:
        """Create (or reuse) user `name` with `role` and return a new token, shown only now."""
        if role not in ROLES:
            raise ValidationError(
                f"role must be one of {', '.join(ROLES)}, not {role!r}", field="role"
            )
        if role in ("head", "employee") and employee_id is None:
            raise ValidationError(
                f"a {role} token must name the employee it belongs to", field="employee"
            )
        token = "th_" + secrets.token_urlsafe(TOKEN_BYTES)
        now = utcnow()
        async with self.tx() as conn:
            if (
                employee_id is not None
                and await conn.scalar(select(employees.c.id).where(employees.c.id == employee_id))
                is None
            ):
                raise NotFound(f"employee #{employee_id} does not exist")
            user = (
                (await conn.execute(select(api_users).where(api_users.c.name == name)))
                .mappings()
                .first()
            )
            if user is None:
                try:
                    user_id = (
                        await conn.execute(
                            insert(api_users).returning(api_users.c.id),
                            {
                                "name": name,
                                "role": role,
                                "employee_id": employee_id,
                                "created_at": now,
                            },
                        )
                    ).scalar_one()
                except IntegrityError as exc:
                    raise ValidationError(f"user {name!r} exists", field="name") from exc
            else:
                user_id = user["id"]
                await conn.execute(
                    update(api_users)
                    .where(api_users.c.id == user_id)
                    .values(role=role, employee_id=employee_id)
                )
            await conn.execute(
                insert(api_tokens),
                {
                    "user_id": user_id,
                    "token_hash": hash_token(token),
                    "prefix": token[:10],
                    "created_at": now,
                },
            )
        return token

    async def authenticate(self, token: str) -> Principal | None:
        """The principal a bearer token belongs to, or None."""
        async with self.tx() as conn:
            row = (
                (
                    await conn.execute(
                        select(
                            api_users.c.id,
                            api_users.c.name,
                            api_users.c.role,
                            api_users.c.employee_id,
                            api_tokens.c.id.label("token_id"),
                            api_tokens.c.last_used_at,
                        )
                        .join(api_tokens, api_tokens.c.user_id == api_users.c.id)
                        .where(
                            and_(
                                api_tokens.c.token_hash == hash_token(token),
                                api_tokens.c.revoked_at.is_(None),
                            )
                        )
                    )
                )
                .mappings()
                .first()
            )
            if row is None:
                return None
            now = utcnow()
            last = row["last_used_at"]
            if last is None or now - last > TOKEN_TOUCH_INTERVAL:  # a write per request is costly
                await conn.execute(
                    update(api_tokens)
                    .where(api_tokens.c.id == row["token_id"])
                    .values(last_used_at=now)
                )
        return Principal(
            name=row["name"], role=row["role"], employee_id=row["employee_id"], user_id=row["id"]
        )

    async def revoke(self, prefix: str) -> int:
        async with self.tx() as conn:
            result = await conn.execute(
                update(api_tokens)
                .where(and_(api_tokens.c.prefix == prefix, api_tokens.c.revoked_at.is_(None)))
                .values(revoked_at=utcnow())
            )
        return int(result.rowcount or 0)
