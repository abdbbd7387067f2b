"""Client contacts and organisations; identities keep them unique per address."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, false, func, insert, or_, select, true, update
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.activity.addresses import normalize
from hub.activity.contact_scope import EVERY_CONTACT, ContactAccess, ContactScope
from hub.activity.repos.base import MAX_PAGE, Repo, fold, jsonable
from hub.activity.repos.triggers import fire_on_change
from hub.activity.schema import (
    ROLLUP_COLUMNS,
    activities,
    activity_participants,
    contact_merges,
    contacts,
    employee_addresses,
    identities,
    organizations,
)
from hub.errors import Conflict, NotFound, ValidationError
from hub.model import CONTACT_KINDS, Address, AddressKind, utcnow

#: Contact fields that may be set by hand, the import and the API.
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


#: How many merges `get` follows from a merged id to the contact that remains.
MAX_MERGE_HOPS = 10

#: A contact row with its organisation's name, as every read shows it.
_CONTACT_ROWS = select(contacts, organizations.c.name.label("organization")).select_from(
    contacts.outerjoin(organizations, organizations.c.id == contacts.c.organization_id)
)


def _follow(by_id: dict[int, dict[str, Any]], contact_id: int) -> dict[str, Any] | None:
    """The row `contact_id` leads to through merges (the last one read if the chain is long)."""
    row = by_id.get(contact_id)
    for _ in range(MAX_MERGE_HOPS):
        if row is None or row["merged_into_id"] is None:
            return row
        following = by_id.get(int(row["merged_into_id"]))
        if following is None:
            return row
        row = following
    return row


def scope_clause(scope: ContactScope) -> ColumnElement[bool]:
    """The SQL condition selecting the contacts of `scope`."""
    if scope.everything:
        return true()
    owner = contacts.c.owner_employee_id
    parts: list[ColumnElement[bool]] = []
    if scope.owners is None:
        parts.append(owner.is_not(None))
    elif scope.owners:
        parts.append(owner.in_(sorted(scope.owners)))
    if scope.unowned:
        parts.append(owner.is_(None))
    return or_(*parts) if parts else false()


@dataclass(frozen=True, slots=True)
class MergeResult:
    """What a merge moved."""

    target_id: int
    source_id: int
    identities_moved: int
    activities_moved: int
    fields_filled: list[str] = field(default_factory=list)
    merge_id: int | None = None


#: Activity ids per statement when a merge is undone.
UNDO_CHUNK = 2000
#: Target fields a merge may fill from the source (and its undo restores).
MERGE_FILLED = (
    "position",
    "region",
    "city",
    "importance",
    "segment",
    "organization_id",
    "owner_employee_id",
)


@dataclass(frozen=True, slots=True, kw_only=True)
class MergeRecord:
    """One row of `contact_merges`: who joined whom, who did it, whether it was undone."""

    id: int
    source_id: int
    target_id: int
    source_owner_id: int | None
    merged_at: datetime
    merged_by: str | None
    undone_at: datetime | None
    undoable: bool


@dataclass(frozen=True, slots=True)
class UnmergeResult:
    """What undoing a merge gave back to the source contact."""

    merge_id: int
    source_id: int
    target_id: int
    identities_restored: int
    activities_restored: int
    fields_restored: list[str] = field(default_factory=list)


def undo_record(
    target: Mapping[str, Any],
    filled: Mapping[str, Any],
    custom: dict[str, Any],
    is_lead: bool,
    *,
    identity_ids: list[int],
    activity_ids: list[int],
    participants: list[int],
    participants_added: list[int],
    repointed: list[int],
) -> dict[str, Any]:
    """What a merge keeps so it can be undone: moved ids and the target's values before."""
    return {
        "identity_ids": identity_ids,
        "activity_ids": activity_ids,
        "participants": participants,
        "participants_added": participants_added,
        "repointed": repointed,
        "target_before": jsonable(
            {
                **{name: target[name] for name in filled},
                "custom": target["custom"] or {},
                "is_lead": bool(target["is_lead"]),
            }
        ),
        "target_after": jsonable({**filled, "custom": custom, "is_lead": is_lead}),
    }


class ContactRepo(Repo):
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
            key = (address.kind.value, normalize(address.kind, address.value, self.options.region))
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
        async with self.tx() as work:
            conn = work.conn
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
            work.contacts_changed([contact_id])
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
        async with self.tx() as work:
            conn = work.conn
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
                await fire_on_change(conn, contact_id, dict(current), {**current, **values}, now)
                changed = True
            if changed:
                work.contacts_changed([contact_id])
        return changed

    async def get(self, contact_id: int) -> dict[str, Any]:
        """A contact with its identities and organisation; a merged id leads to its target."""
        found = await self.get_many([contact_id])
        if not found:
            raise NotFound(f"contact #{contact_id} does not exist")
        return found[0]

    async def merged_from(self, contact_id: int) -> dict[str, Any] | None:
        """``{"id", "name", "merged_into_id"}`` of `contact_id` when it was merged away (the
        contact `get` shows instead), else None: what a reader of a merged id is told."""
        async with self.read() as conn:
            row = (
                await conn.execute(
                    select(contacts.c.id, contacts.c.name, contacts.c.merged_into_id).where(
                        contacts.c.id == contact_id
                    )
                )
            ).first()
        if row is None or row.merged_into_id is None:
            return None
        return {"id": int(row.id), "name": row.name, "merged_into_id": int(row.merged_into_id)}

    async def get_many(self, contact_ids: Sequence[int]) -> list[dict[str, Any]]:
        """Contacts as `get` shows them, in the order asked, in a constant number of queries
        (one per merge hop, at most `MAX_MERGE_HOPS`); ids that do not exist are left out."""
        if not contact_ids:
            return []
        async with self.read() as conn:
            return await self._shown(conn, await self._rows(conn, contact_ids))

    async def _rows(
        self, conn: AsyncConnection, contact_ids: Sequence[int]
    ) -> list[dict[str, Any]]:
        """Rows with their organisation name, each merged one replaced by the contact it joined."""
        wanted = list(dict.fromkeys(contact_ids))
        by_id: dict[int, dict[str, Any]] = {}
        pending = wanted
        for _ in range(MAX_MERGE_HOPS):
            missing = [i for i in dict.fromkeys(pending) if i not in by_id]
            if missing:
                found = await conn.execute(
                    _CONTACT_ROWS.where(contacts.c.id.in_(missing))
                )
                by_id.update((int(r["id"]), dict(r)) for r in found.mappings())
            pending = [
                int(by_id[i]["merged_into_id"])
                for i in pending
                if i in by_id and by_id[i]["merged_into_id"] is not None
            ]
            if not pending:
                break
        return [row for row in (_follow(by_id, i) for i in contact_ids) if row is not None]

    async def _shown(
        self, conn: AsyncConnection, rows: Sequence[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """Rows as the API shows them, with every contact's identities read in one query."""
        if not rows:
            return []
        owned: dict[int, list[dict[str, Any]]] = {int(r["id"]): [] for r in rows}
        found = await conn.execute(
            select(
                identities.c.contact_id,
                identities.c.kind,
                identities.c.value,
                identities.c.bouncing_at,
            )
            .where(identities.c.contact_id.in_(list(owned)))
            .order_by(identities.c.id)
        )
        for cid, kind, value, bouncing in found:
            owned[int(cid)].append(
                {
                    "kind": kind,
                    "value": value,
                    **({"bouncing_since": bouncing.isoformat()} if bouncing else {}),
                }
            )
        result = []
        for row in rows:
            shown = jsonable(row)
            shown["identities"] = list(owned[int(row["id"])])
            result.append(shown)
        return result

    async def search(
        self,
        query: str | None = None,
        *,
        limit: int = 50,
        offset: int = 0,
        include_merged: bool = False,
        scope: ContactScope = EVERY_CONTACT,
    ) -> list[dict[str, Any]]:
        """Contacts whose name contains `query`, or whose phone/e-mail matches it, in `scope`."""
        limit = max(1, min(limit, MAX_PAGE))
        stmt = _CONTACT_ROWS.order_by(contacts.c.id).limit(limit).offset(offset)
        stmt = stmt.where(scope_clause(scope))
        if not include_merged:
            stmt = stmt.where(contacts.c.merged_into_id.is_(None))
        if query:
            conditions = [
                fold(self.dialect, contacts.c.name).contains(
                    query.casefold(), autoescape=True
                )
            ]
            for kind in (AddressKind.PHONE, AddressKind.EMAIL):
                try:
                    value = normalize(kind, query, self.options.region)
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
            page = [dict(r) for r in (await conn.execute(stmt)).mappings()]
            if any(r["merged_into_id"] is not None for r in page):
                page = await self._rows(conn, [int(r["id"]) for r in page])
            return await self._shown(conn, page)

    async def merge(self, source_id: int, target_id: int, *, by: str | None = None) -> MergeResult:
        """Merge `source_id` into `target_id`: identities and activities move, nothing is lost.

        The merge record keeps what `unmerge` needs to give everything back."""
        if source_id == target_id:
            raise Conflict("cannot merge a contact into itself", field="into")
        now = utcnow()
        async with self.tx() as work:
            conn = work.conn
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
                    raise Conflict(
                        f"contact #{cid} was already merged into #{rows[cid]['merged_into_id']}",
                        field="contact",
                    )
            source, target = rows[source_id], rows[target_id]
            filled = {
                name: source[name]
                for name in MERGE_FILLED
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
            work.activities_changed(old_rows, [{**r, "contact_id": target_id} for r in old_rows])
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
            else:
                new = []
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
            repointed = (
                await conn.execute(
                    update(contacts)
                    .where(contacts.c.merged_into_id == source_id)
                    .values(merged_into_id=target_id)
                    .returning(contacts.c.id)
                )
            ).scalars().all()
            detail = {
                "source": jsonable(source),
                "identities_moved": len(moved_ids),
                "activities_moved": len(old_rows),
                "fields_filled": sorted(filled),
                "undo": undo_record(
                    target,
                    filled,
                    custom,
                    is_lead,
                    identity_ids=[int(r[0]) for r in moved_ids],
                    activity_ids=[int(r["id"]) for r in old_rows],
                    participants=[int(a) for a in parts],
                    participants_added=[int(p["activity_id"]) for p in new],
                    repointed=[int(c) for c in repointed],
                ),
            }
            merge_id = int(
                (
                    await conn.execute(
                        insert(contact_merges).returning(contact_merges.c.id),
                        {
                            "source_contact_id": source_id,
                            "target_contact_id": target_id,
                            "merged_at": now,
                            "detail": detail,
                            "merged_by": by,
                        },
                    )
                ).scalar_one()
            )
            work.contacts_changed([source_id, target_id])
        return MergeResult(
            target_id=target_id,
            source_id=source_id,
            merge_id=merge_id,
            identities_moved=len(moved_ids),
            activities_moved=len(old_rows),
            fields_filled=sorted(filled),
        )

    async def claim(self, contact_id: int, employee_id: int) -> int | None:
        """Make `employee_id` the owner of an unowned contact, atomically.

        Returns the owner the contact has afterwards: `employee_id` when the claim won
        (or the contact was already theirs), someone else's id when another was first."""
        async with self.tx() as work:
            conn = work.conn
            claimed = (
                await conn.execute(
                    update(contacts)
                    .where(
                        and_(
                            contacts.c.id == contact_id,
                            contacts.c.owner_employee_id.is_(None),
                            contacts.c.merged_into_id.is_(None),
                        )
                    )
                    .values(owner_employee_id=employee_id, updated_at=utcnow())
                    .returning(contacts.c.id)
                )
            ).first()
            if claimed is not None:
                work.contacts_changed([contact_id])
                return employee_id
            owner = await conn.scalar(
                select(contacts.c.owner_employee_id).where(contacts.c.id == contact_id)
            )
        return None if owner is None else int(owner)

    # -- undoing a merge ---------------------------------------------------------------

    async def unmerge_as(self, access: ContactAccess, merge_id: int) -> UnmergeResult:
        """Undo merge `merge_id` if `access` could make that merge now: the one rule the
        API and the CLI share. A merge the caller may not see is a `NotFound`."""
        record = await self.merge_record(merge_id)
        target = await self.get(record.target_id)
        try:
            access.check_merge(
                [
                    (record.source_id, record.source_owner_id),
                    (record.target_id, target["owner_employee_id"]),
                ]
            )
        except NotFound as exc:
            raise NotFound(f"merge #{merge_id} does not exist") from exc
        return await self.unmerge(merge_id, by=access.who.name)

    async def merge_record(self, merge_id: int) -> MergeRecord:
        """One merge as recorded; `NotFound` for an unknown id."""
        async with self.read() as conn:
            row = (
                (await conn.execute(select(contact_merges).where(contact_merges.c.id == merge_id)))
                .mappings()
                .first()
            )
        if row is None:
            raise NotFound(f"merge #{merge_id} does not exist")
        detail = row["detail"] or {}
        owner = (detail.get("source") or {}).get("owner_employee_id")
        return MergeRecord(
            id=int(row["id"]),
            source_id=int(row["source_contact_id"]),
            target_id=int(row["target_contact_id"]),
            source_owner_id=None if owner is None else int(owner),
            merged_at=row["merged_at"],
            merged_by=row["merged_by"],
            undone_at=row["undone_at"],
            undoable="undo" in detail,
        )

    async def unmerge(self, merge_id: int, *, by: str | None = None) -> UnmergeResult:
        """Undo merge `merge_id`: the source contact gets back its identities and activities.

        Only the last merge of a contact chain can be undone (the target must not have
        been merged on since). Target fields the merge filled are restored unless they
        were changed afterwards; activities recorded after the merge stay on the target."""
        now = utcnow()
        async with self.tx() as work:
            conn = work.conn
            record = (
                (await conn.execute(select(contact_merges).where(contact_merges.c.id == merge_id)))
                .mappings()
                .first()
            )
            if record is None:
                raise NotFound(f"merge #{merge_id} does not exist")
            if record["undone_at"] is not None:
                raise Conflict(f"merge #{merge_id} was already undone", field="id")
            undo = (record["detail"] or {}).get("undo")
            if undo is None:
                raise Conflict(
                    f"merge #{merge_id} was recorded before merges could be undone", field="id"
                )
            source_id = int(record["source_contact_id"])
            target_id = int(record["target_contact_id"])
            rows = {
                r["id"]: dict(r)
                for r in (
                    await conn.execute(
                        select(contacts).where(contacts.c.id.in_([source_id, target_id]))
                    )
                ).mappings()
            }
            if source_id not in rows or target_id not in rows:
                raise Conflict(f"a contact of merge #{merge_id} no longer exists", field="id")
            source, target = rows[source_id], rows[target_id]
            if source["merged_into_id"] != target_id or target["merged_into_id"] is not None:
                raise Conflict(
                    f"contact #{target_id} was merged on after merge #{merge_id}; "
                    "undo the later merge first",
                    field="id",
                )
            identity_ids = (
                await conn.execute(
                    update(identities)
                    .where(
                        and_(
                            identities.c.id.in_(undo["identity_ids"]),
                            identities.c.contact_id == target_id,
                        )
                    )
                    .values(contact_id=source_id)
                    .returning(identities.c.id)
                )
            ).all()
            cols = [activities.c[n] for n in ROLLUP_COLUMNS]
            old_rows: list[dict[str, Any]] = []
            moved: list[int] = undo["activity_ids"]
            for start in range(0, len(moved), UNDO_CHUNK):  # under SQLite's variable limit
                chunk = moved[start : start + UNDO_CHUNK]
                back = [
                    dict(r)
                    for r in (
                        await conn.execute(
                            select(*cols).where(
                                and_(
                                    activities.c.id.in_(chunk),
                                    activities.c.contact_id == target_id,
                                )
                            )
                        )
                    ).mappings()
                ]
                if back:
                    await conn.execute(
                        update(activities)
                        .where(activities.c.id.in_([r["id"] for r in back]))
                        .values(contact_id=source_id, updated_at=now)
                    )
                old_rows += back
            work.activities_changed(old_rows, [{**r, "contact_id": source_id} for r in old_rows])
            if undo["participants_added"]:
                await conn.execute(
                    delete(activity_participants).where(
                        and_(
                            activity_participants.c.contact_id == target_id,
                            activity_participants.c.activity_id.in_(undo["participants_added"]),
                        )
                    )
                )
            if undo["participants"]:
                await conn.execute(
                    insert(activity_participants),
                    [{"activity_id": a, "contact_id": source_id} for a in undo["participants"]],
                )
            before, after = undo["target_before"], undo["target_after"]
            restored = {
                name: before[name]
                for name in (*MERGE_FILLED, "custom", "is_lead")
                if name in before and jsonable({"v": target[name]})["v"] == after.get(name)
            }
            if restored:
                await conn.execute(
                    update(contacts)
                    .where(contacts.c.id == target_id)
                    .values(**restored, updated_at=now)
                )
            await conn.execute(
                update(contacts)
                .where(contacts.c.id == source_id)
                .values(merged_into_id=None, updated_at=now)
            )
            if undo["repointed"]:
                await conn.execute(
                    update(contacts)
                    .where(
                        and_(
                            contacts.c.id.in_(undo["repointed"]),
                            contacts.c.merged_into_id == target_id,
                        )
                    )
                    .values(merged_into_id=source_id)
                )
            await conn.execute(
                update(contact_merges)
                .where(contact_merges.c.id == merge_id)
                .values(undone_at=now, undone_by=by)
            )
            work.contacts_changed([source_id, target_id])
        return UnmergeResult(
            merge_id=merge_id,
            source_id=source_id,
            target_id=target_id,
            identities_restored=len(identity_ids),
            activities_restored=len(old_rows),
            fields_restored=sorted(n for n in restored if n in MERGE_FILLED),
        )

    async def count(self) -> int:
        async with self.read() as conn:
            return int(await conn.scalar(select(func.count()).select_from(contacts)) or 0)

    async def responsible_extension(self, phone: str) -> str | None:
        """The extension of the employee responsible for the client calling from `phone`."""
        try:
            value = normalize(AddressKind.PHONE, phone, self.options.region)
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
