"""`ActivityStore`: the one place that resolves who a touch was with and writes it.

`apply(items)` writes a batch of touches, status updates, checkpoints and quarantined
input in one transaction. Recording is idempotent on (source, external_id): the same
touch again updates what may change (status, times, durations, completion) and never
adds a second activity. Reads and management live in the repositories hung off the
store (`contacts`, `employees`, `activities`, `tokens`).
"""

from __future__ import annotations

import hashlib
import logging
from collections import defaultdict
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, bindparam, delete, insert, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from hub.activity import (
    bulk,
    call_round_calls,
    callbacks,
    delivery,
    dialog_reminders,
    driver_upsert,
    edits,
    threads,
)
from hub.activity.addresses import try_normalize
from hub.activity.dialect import insert_ignore, one_of, upsert
from hub.activity.engine import create_engine, migrate, safe_name
from hub.activity.identity_updates import apply_identity_updates
from hub.activity.options import StoreOptions, UnknownPolicy, WriterOptions
from hub.activity.repos import (
    ActivityRepo,
    CampaignBouncesRepo,
    CampaignsRepo,
    ContactRepo,
    DialogRepo,
    EmployeeRepo,
    SegmentsRepo,
    SuppressionsRepo,
    TemplatesRepo,
    TokenRepo,
    TriggersRepo,
)
from hub.activity.repos.call_rounds import CallRoundsRepo
from hub.activity.resolve import CHUNK as LOOKUP_CHUNK
from hub.activity.resolve import (
    Key,
    Normalised,
    contacts_for,
    create_leads,
    employees_for,
    employees_named,
    normalise_touch,
    sent_by,
)
from hub.activity.rollups.projections import Projections
from hub.activity.schema import (
    activities,
    activity_participants,
    checkpoints,
    identities,
    quarantine,
    status_history,
)
from hub.activity.unit_of_work import UnitOfWork, writing
from hub.activity.writer import BatchWriter
from hub.errors import StoreUnavailable
from hub.model import (
    Checkpoint,
    IdentityUpdate,
    Quarantined,
    SinkItem,
    Status,
    StatusUpdate,
    Touch,
    TouchEdit,
    utcnow,
)
from hub.urls import mask_url, sqlite_file

logger = logging.getLogger(__name__)

#: The checkpoints table's key, and what an upsert of a checkpoint overwrites.
_CP_KEY = ("source", "key")
_CP_VALUE = ("value", "updated_at")

#: Columns of an activity that a later record of the same key may change.
CHANGEABLE = (
    "status",
    "answered_at",
    "ended_at",
    "duration_s",
    "ring_s",
    "talk_s",
    "subject",
    "preview",
    "thread_key",
    "due_at",
    "completed_at",
    "result",
    "is_client",
    "flags",
    "meta",
    "contact_id",
    "employee_id",
    "counterpart",
)
#: Columns read back for updates and handed to the roll-up.
ROW_COLUMNS = (
    "id",
    "source",
    "external_id",
    "channel",
    "direction",
    "occurred_at",
    *CHANGEABLE,
)
#: Statuses a late message status update may not overwrite with an earlier stage.
_MESSAGE_STAGE = {
    Status.QUEUED: 0,
    Status.SENT: 1,
    Status.DELIVERED: 2,
    Status.READ: 3,
}


@dataclass(frozen=True, slots=True)
class ApplyResult:
    """What one `apply` did."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    status_updates: int = 0
    unmatched_updates: int = 0
    checkpoints: int = 0
    quarantined: int = 0
    edited: int = 0
    identity_updates: int = 0
    created_ids: tuple[int, ...] = ()


def flags_text(flags: Iterable[str]) -> str:
    """Flags as stored: sorted, comma-separated."""
    return ",".join(sorted(flags))


def touch_row(
    touch: Touch, norm: Normalised, employee_id: int | None, contact_id: int | None
) -> dict[str, Any]:
    """The activity row for a touch, once its addresses are resolved."""
    meta = dict(touch.metadata)
    if norm.invalid:
        meta["invalid_addresses"] = norm.invalid
    if len(touch.counterparts) > 0:
        meta.setdefault("counterparts_raw", [a.value for a in touch.counterparts])
    if touch.employee is not None:
        meta.setdefault("employee_raw", touch.employee.value)
    counterpart = norm.counterparts[0][1] if norm.counterparts else None
    return {
        "source": touch.source,
        "external_id": touch.external_id,
        "channel": touch.channel.value,
        "direction": touch.direction.value,
        "status": touch.status.value,
        "occurred_at": touch.occurred_at,
        "answered_at": touch.answered_at,
        "ended_at": touch.ended_at,
        "duration_s": touch.duration_seconds,
        "ring_s": touch.ring_seconds,
        "talk_s": touch.talk_seconds,
        "contact_id": contact_id,
        "employee_id": employee_id,
        "counterpart": counterpart,
        "subject": touch.subject,
        "preview": touch.preview,
        "thread_key": touch.thread_key,
        "due_at": touch.due_at,
        "completed_at": touch.completed_at,
        "result": touch.result,
        "is_client": touch.is_client_touch,
        "flags": flags_text(touch.flags),
        "meta": meta,
    }


def merge_row(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """What a later record of the same key changes: new facts win, known facts stay."""
    changes: dict[str, Any] = {}
    for name in CHANGEABLE:
        value = new[name]
        if name == "meta":
            merged = {**(old["meta"] or {}), **value}
            if merged != old["meta"]:
                changes["meta"] = merged
        elif name == "flags":
            merged_flags = flags_text(
                set(filter(None, old["flags"].split(","))) | set(filter(None, value.split(",")))
            )
            if merged_flags != old["flags"]:
                changes["flags"] = merged_flags
        elif name == "is_client":
            if old["is_client"] and not value:
                changes["is_client"] = False
        elif value is not None and value != old[name]:
            changes[name] = value
    return changes


async def bulk_update(conn: AsyncConnection, updates: Sequence[tuple[int, dict[str, Any]]]) -> None:
    """Update many activities with one executemany per set of changed columns."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
    for activity_id, changes in updates:
        columns = tuple(sorted(changes))
        groups[columns].append({"_id": activity_id, **{f"_{c}": changes[c] for c in columns}})
    for columns, params in groups.items():

        def build(columns: tuple[str, ...] = columns) -> Any:
            return (
                update(activities)
                .where(activities.c.id == bindparam("_id"))
                .values({c: bindparam(f"_{c}") for c in columns})
            )

        await bulk.executemany(conn, ("activities.update", columns), build, params)


def status_change(
    row: Mapping[str, Any], upd: StatusUpdate, now: datetime
) -> dict[str, Any] | None:
    """What a status update changes in an activity row, or None when it changes nothing
    (the same status again, or a late earlier stage: a "sent" never hides "delivered").

    A bounce of one recipient of a letter to several marks that recipient in the meta;
    the letter itself bounces only when every recipient has.
    """
    if upd.status is Status.BOUNCED and upd.address is not None:
        meta, whole = delivery.with_bounce(dict(row["meta"] or {}), upd.address.value)
        if not whole:  # delivered to the others: the letter stays, the recipient is marked
            return {"meta": meta, "updated_at": now}
    current = Status(row["status"])
    if (
        current in _MESSAGE_STAGE
        and upd.status in _MESSAGE_STAGE
        and _MESSAGE_STAGE[upd.status] < _MESSAGE_STAGE[current]
    ):
        return None
    if upd.status is current:
        return None
    meta = dict(row["meta"] or {})
    if upd.status is Status.BOUNCED and upd.address is not None:
        meta, _whole = delivery.with_bounce(meta, upd.address.value)
    if upd.detail:
        meta[f"{upd.status.value}_detail"] = upd.detail
    return {"status": upd.status.value, "meta": meta, "updated_at": now}


class ActivityStore:
    """Records touches idempotently and gives access to contacts, employees and activities."""

    def __init__(
        self, engine: AsyncEngine, options: StoreOptions | None = None, *, url_for_messages: str = ""
    ) -> None:
        self.engine = engine
        self.options = options if options is not None else StoreOptions()
        self.url_for_messages = url_for_messages
        self.projections = Projections.declared(self.options.tz)
        self.contacts = ContactRepo(engine, self.options)
        self.employees = EmployeeRepo(engine, self.options)
        self.activities = ActivityRepo(engine, self.options)
        self.dialogs = DialogRepo(engine, self.options)
        self.tokens = TokenRepo(engine, self.options)
        self.segments = SegmentsRepo(engine, self.options)
        self.templates = TemplatesRepo(engine, self.options)
        self.suppressions = SuppressionsRepo(engine, self.options)
        self.campaign_bounces = CampaignBouncesRepo(self.suppressions)
        self.campaigns = CampaignsRepo(engine, self.options)
        self.triggers = TriggersRepo(engine, self.options)
        self.call_rounds = CallRoundsRepo(engine, self.options)

    @classmethod
    async def open(
        cls, url: str, options: StoreOptions | None = None, *, run_migrations: bool = True
    ) -> ActivityStore:
        """Open the store at `url` and migrate it; `StoreUnavailable` when it can't be reached."""
        masked = mask_url(url)
        try:
            engine = create_engine(url)
        except OSError as exc:
            raise StoreUnavailable(f"cannot open the store at {masked}: {exc}") from exc
        try:
            if run_migrations:
                await migrate(engine)
            else:
                async with engine.connect():
                    pass
        except (OSError, DBAPIError) as exc:
            await engine.dispose()
            reason = getattr(exc, "orig", None) or exc
            raise StoreUnavailable(f"cannot open the store at {masked}: {reason}") from exc
        return cls(engine, options, url_for_messages=masked)

    @property
    def region(self) -> str:
        """Region for phone numbers written without a country code."""
        return self.options.region

    @property
    def unknown_counterparty(self) -> UnknownPolicy:
        """Whether an unknown counterpart becomes a lead or stays unlinked."""
        return self.options.unknown_counterparty

    @property
    def tz(self) -> ZoneInfo:
        """The local time zone of roll-up and client-base days."""
        return self.options.tz

    async def close(self) -> None:
        await self.engine.dispose()

    async def ping(self) -> bool:
        """True when the database answers a trivial query."""
        try:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except (OSError, DBAPIError):
            return False
        return True

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def spool_folder(self, source: str) -> Path | None:
        """Where `source` may keep files of its own beside the database: on SQLite, a folder
        next to the database file (as local as the store itself); None on PostgreSQL or in
        memory, where the store may be shared by hosts and such files would not be."""
        database = sqlite_file(str(self.engine.url))
        if database is None:
            return None
        return database.with_name(f"{database.name}.spool-{safe_name(source)}")

    def writer(self, options: WriterOptions | None = None) -> BatchWriter:
        """A batching `Sink` in front of this store (see `hub.activity.writer`); batching as
        in the store's options unless `options` says otherwise."""
        return BatchWriter(self, options if options is not None else self.options.writer)

    # -- writing -----------------------------------------------------------------

    @asynccontextmanager
    async def writing(self, conn: AsyncConnection | None = None) -> AsyncIterator[UnitOfWork]:
        """The one way to write: a transaction whose activity and contact changes reach
        every declared projection (roll-ups, client base) before it commits.

        `conn` is an open connection not in a transaction (the writer's); by default a new
        one is taken from the engine."""
        async with writing(self.projections, self.engine, conn) as work:
            yield work

    async def record(
        self, touches: Sequence[Touch], *, resume_points: Sequence[Checkpoint] = ()
    ) -> ApplyResult:
        """Record touches (and checkpoints covering them) in one transaction."""
        return await self.apply([*touches, *resume_points])

    def prepare(self, touch: Touch) -> Normalised:
        """Normalise a touch's addresses ahead of its batch (the writer does it at `put`)."""
        return normalise_touch(touch.employee, touch.counterparts, self.region)

    async def apply(
        self,
        items: Sequence[SinkItem],
        prepared: Sequence[Normalised | None] | None = None,
        *,
        conn: AsyncConnection | None = None,
    ) -> ApplyResult:
        """Write a batch of sink items in one transaction.

        `prepared` may hold, position by position, what `prepare` gave for each touch. Lock
        waits are SQLite's `busy_timeout`; retrying a failed batch is the writer's job.
        `conn` is an open connection (not in a transaction) to write on, so a writer can
        keep one connection and its page cache instead of opening one per batch.
        """
        return await self._apply_once(items, prepared, conn)

    async def write(self, work: UnitOfWork, items: Sequence[SinkItem]) -> None:
        """Write sink items in the caller's unit of work, beside its own statements (a
        campaign's recipient outcomes and the touches of the messages sent)."""
        touches = {i.key: (i, self.prepare(i)) for i in items if isinstance(i, Touch)}
        updates = [i for i in items if isinstance(i, StatusUpdate)]
        await self._write_all(work, list(touches.values()), updates, {}, [])

    async def _apply_once(
        self,
        items: Sequence[SinkItem],
        prepared: Sequence[Normalised | None] | None,
        conn: AsyncConnection | None = None,
    ) -> ApplyResult:
        touches: dict[tuple[str, str], tuple[Touch, Normalised]] = {}
        updates: list[StatusUpdate] = []
        cps: dict[tuple[str, str], Checkpoint] = {}
        bad: list[Quarantined] = []
        edited: dict[tuple[str, str], TouchEdit] = {}  # edits of activities not in this batch
        latest_edit: dict[tuple[str, str], TouchEdit] = {}
        facts: list[IdentityUpdate] = []
        for index, item in enumerate(items):
            if isinstance(item, Touch):
                edit = latest_edit.get(item.key)
                if edit is not None:  # an original (or a replay of it) after its edit: the edit wins
                    edited.pop(item.key, None)
                    folded = edits.edited_touch(edit)
                    touches[item.key] = (folded, self.prepare(folded))
                    continue
                norm = prepared[index] if prepared is not None else None
                touches[item.key] = (item, norm if norm is not None else self.prepare(item))
            elif isinstance(item, StatusUpdate):
                updates.append(item)
            elif isinstance(item, Checkpoint):
                cps[(item.source, item.key)] = item
            elif isinstance(item, TouchEdit):
                latest_edit[item.key] = item
                if item.key in touches:  # the original is in this batch: record it edited
                    folded = edits.edited_touch(item)
                    touches[item.key] = (folded, self.prepare(folded))
                else:
                    edited[item.key] = item
            elif isinstance(item, IdentityUpdate):
                facts.append(item)
            else:
                bad.append(item)
        if cps and not (touches or updates or latest_edit or facts or bad):
            await self._save_checkpoints(list(cps.values()), conn)
            return ApplyResult(checkpoints=len(cps))
        async with self.writing(conn) as work:
            missing = await self._apply_edits(work, list(edited.values()))
            for touch in missing:
                touches[touch.key] = (touch, self.prepare(touch))
            counts = await self._write_all(work, list(touches.values()), updates, cps, bad)
            linked = await apply_identity_updates(work, facts, self.region)
        created, updated, unchanged, created_ids, applied, unmatched = counts
        return ApplyResult(
            created=created,
            updated=updated,
            unchanged=unchanged,
            status_updates=applied,
            unmatched_updates=unmatched,
            checkpoints=len(cps),
            quarantined=len(bad),
            edited=len(edited) - len(missing),
            identity_updates=linked,
            created_ids=tuple(created_ids),
        )

    async def _apply_edits(self, work: UnitOfWork, edited: Sequence[TouchEdit]) -> list[Touch]:
        """Change the recorded activities of `edited` (see `hub.activity.edits`); return the
        edited touches whose original the store does not hold, to be recorded as they are."""
        if not edited:
            return []
        existing = await self._existing(work.conn, [e.key for e in edited])
        now = utcnow()
        pending: list[tuple[int, dict[str, Any]]] = []
        old_rows: list[dict[str, Any]] = []
        new_rows: list[dict[str, Any]] = []
        missing: list[Touch] = []
        for edit in edited:
            old = existing.get(edit.key)
            if old is None:
                missing.append(edits.edited_touch(edit))
                continue
            changes = edits.edit_changes(old, edit)
            if changes:
                changes["updated_at"] = now
                pending.append((old["id"], changes))
                old_rows.append(old)
                new_rows.append({**old, **changes})
        await bulk_update(work.conn, pending)
        work.activities_changed(old_rows, new_rows)
        return missing

    async def _write_all(
        self,
        work: UnitOfWork,
        prepared: list[tuple[Touch, Normalised]],
        updates: list[StatusUpdate],
        cps: dict[tuple[str, str], Checkpoint],
        bad: list[Quarantined],
    ) -> tuple[int, int, int, list[int], int, int]:
        """Everything one `apply` writes, in the caller's transaction."""
        created, updated, unchanged, created_ids = await self._write_touches(work, prepared)
        applied, unmatched = await self._apply_updates(work, updates)
        await self._write_checkpoints(work.conn, list(cps.values()))
        await self._write_quarantine(work.conn, bad)
        return created, updated, unchanged, created_ids, applied, unmatched

    async def _write_touches(
        self, work: UnitOfWork, prepared: list[tuple[Touch, Normalised]]
    ) -> tuple[int, int, int, list[int]]:
        if not prepared:
            return 0, 0, 0, []
        conn = work.conn
        now = utcnow()
        touches = [touch for touch, _ in prepared]
        norms = [norm for _, norm in prepared]
        for touch, norm in zip(touches, norms, strict=True):
            if norm.invalid:
                logger.warning(
                    "touch %s/%s: %s", touch.source, touch.external_id, "; ".join(norm.invalid)
                )
        address_keys: set[Key] = set()
        for norm in norms:
            if norm.employee:
                address_keys.add(norm.employee)
            address_keys.update(norm.counterparts)
        employee_ids = await employees_for(conn, address_keys)
        named_employees = await employees_named(conn, touches)
        contact_keys = {k for n in norms for k in n.counterparts if k not in employee_ids}
        contact_ids = await contacts_for(conn, contact_keys)
        missing = sorted(contact_keys - contact_ids.keys())
        if missing and self.unknown_counterparty == "lead":
            names: dict[Key, str] = {}
            for norm in norms:
                names.update(norm.names)
            contact_ids.update(await create_leads(conn, missing, names, now))

        rows: list[dict[str, Any]] = []
        participants: list[list[int]] = []
        clients = await threads.thread_clients(
            conn, (t.thread_key for t, n in prepared if t.thread_key and len(n.counterparts) > 1)
        )
        for touch, norm in zip(touches, norms, strict=True):
            employee_id = employee_ids.get(norm.employee) if norm.employee else None
            linked = threads.client_first(
                [contact_ids[k] for k in norm.counterparts if k in contact_ids],
                clients.get(touch.thread_key) if touch.thread_key else None,
            )
            if employee_id is None and sent_by(touch) in named_employees:
                employee_id = sent_by(touch)  # a reply sent on an employee's behalf
            if employee_id is None:
                # An internal touch may name our colleague only as the counterpart.
                employee_id = next(
                    (employee_ids[k] for k in norm.counterparts if k in employee_ids), None
                )
            rows.append(touch_row(touch, norm, employee_id, linked[0] if linked else None))
            participants.append(sorted(set(linked)))

        existing = await self._existing(conn, [(r["source"], r["external_id"]) for r in rows])
        inserts: list[dict[str, Any]] = []
        insert_participants: list[list[int]] = []
        old_rows: list[dict[str, Any]] = []
        new_rows: list[dict[str, Any]] = []
        history: list[dict[str, Any]] = []
        pending_updates: list[tuple[int, dict[str, Any]]] = []
        unchanged = 0
        for row, linked in zip(rows, participants, strict=True):
            old = existing.get((row["source"], row["external_id"]))
            if old is None:
                row["created_at"] = now
                row["updated_at"] = now
                inserts.append(row)
                insert_participants.append(linked)
                continue
            changes = merge_row(old, row)
            if not changes:
                unchanged += 1
                continue
            changes["updated_at"] = now
            pending_updates.append((old["id"], changes))
            if "status" in changes:
                history.append(
                    {
                        "activity_id": old["id"],
                        "status": changes["status"],
                        "at": now,
                        "detail": None,
                    }
                )
            if len(linked) > 1:
                await conn.execute(
                    insert_ignore(conn, activity_participants, ("activity_id", "contact_id")),
                    [{"activity_id": old["id"], "contact_id": c} for c in linked],
                )
            old_rows.append(old)
            new_rows.append({**old, **changes})

        await bulk_update(conn, pending_updates)
        created_ids: list[int] = []
        if inserts:
            # A plain executemany, then the ids: the cheapest insert on both databases
            # (RETURNING with parameter order is a statement per row on SQLite).
            await bulk.executemany(conn, "activities", lambda: insert(activities), inserts)
            created_ids = await self._inserted_ids(conn, inserts)
            part_rows = [
                {"activity_id": aid, "contact_id": c}
                for aid, linked in zip(created_ids, insert_participants, strict=True)
                if len(linked) > 1
                for c in linked
            ]
            if part_rows:
                await bulk.executemany(
                    conn, "participants", lambda: insert(activity_participants), part_rows
                )
            for aid, row in zip(created_ids, inserts, strict=True):
                row["id"] = aid
        if history:
            await bulk.executemany(conn, "status_history", lambda: insert(status_history), history)
        added = inserts + new_rows
        task_old, task_new = await callbacks.on_calls_written(
            conn, self.options.callbacks, [r for r in added if r["channel"] == "call"], now
        )
        reply_old, reply_new = await dialog_reminders.on_replies_written(conn, added, now)
        round_old, round_new = await call_round_calls.on_calls_written(conn, added, now)
        # the touches and the callback, reply and call round tasks they raised or closed
        work.activities_changed(
            old_rows + task_old + reply_old + round_old, added + task_new + reply_new + round_new
        )
        await self.suppressions.opt_outs_written(work, inserts)
        return len(inserts), len(new_rows), unchanged, created_ids

    async def _inserted_ids(
        self, conn: AsyncConnection, inserts: Sequence[Mapping[str, Any]]
    ) -> list[int]:
        """The ids just given to `inserts`, in order: proven on SQLite, else read by key."""
        proven = await bulk.inserted_ids(conn, activities, inserts, ("source", "external_id"))
        if proven is not None:
            return proven
        keys = [(r["source"], r["external_id"]) for r in inserts]
        ids = {key: row["id"] for key, row in (await self._existing(conn, keys, ("id",))).items()}
        return [ids[key] for key in keys]

    async def _existing(
        self,
        conn: AsyncConnection,
        keys: list[tuple[str, str]],
        columns: Sequence[str] = ROW_COLUMNS,
    ) -> dict[tuple[str, str], dict[str, Any]]:
        by_source: dict[str, list[str]] = defaultdict(list)
        for source, external_id in keys:
            by_source[source].append(external_id)
        names = dict.fromkeys(("source", "external_id", *columns))
        cols = [activities.c[name] for name in names]
        found: dict[tuple[str, str], dict[str, Any]] = {}
        for source, ids in by_source.items():
            for start in range(0, len(ids), LOOKUP_CHUNK):
                chunk = ids[start : start + LOOKUP_CHUNK]
                result = await conn.execute(
                    select(*cols).where(
                        and_(
                            activities.c.source == source,
                            one_of(conn, activities.c.external_id, chunk),
                        )
                    )
                )
                for row in result.mappings():
                    found[(row["source"], row["external_id"])] = dict(row)
        return found

    async def _apply_updates(
        self, work: UnitOfWork, updates: Sequence[StatusUpdate]
    ) -> tuple[int, int]:
        """Apply a batch of status updates with set-based statements; (matched, unmatched).

        Each update is judged against its activity as the updates before it in the batch
        left it (`status_change`); then the new history rows are one executemany, the
        changed activities one bulk UPDATE, and the projections see each activity's first
        and last state once. An update for an activity the store does not hold is counted
        and logged, not kept. A report already in the history adds nothing.
        """
        if not updates:
            return 0, 0
        conn = work.conn
        await self._mark_addresses(conn, updates)
        existing = await self._existing(conn, [(u.source, u.external_id) for u in updates])
        now = utcnow()
        unmatched = 0
        reports: list[dict[str, Any]] = []
        originals: dict[int, dict[str, Any]] = {}
        current: dict[int, dict[str, Any]] = {}
        for upd in updates:
            old = existing.get((upd.source, upd.external_id))
            if old is None:
                unmatched += 1
                logger.info(
                    "status update for unknown %s/%s: %s", upd.source, upd.external_id, upd.status
                )
                continue
            aid = int(old["id"])
            reports.append(
                {"activity_id": aid, "status": upd.status.value, "at": upd.at, "detail": upd.detail}
            )
            row = current.get(aid, old)
            changes = status_change(row, upd, now)
            if changes is not None:
                originals.setdefault(aid, old)
                current[aid] = {**row, **changes}
        await self._write_history(conn, reports)
        changed = [
            (aid, row)
            for aid, row in current.items()
            if (row["status"], row["meta"]) != (originals[aid]["status"], originals[aid]["meta"])
        ]
        await bulk_update(
            conn,
            [
                (aid, {"status": r["status"], "meta": r["meta"], "updated_at": now})
                for aid, r in changed
            ],
        )
        work.activities_changed([originals[aid] for aid, _ in changed], [row for _, row in changed])
        return len(reports), unmatched

    async def _write_history(self, conn: AsyncConnection, reports: list[dict[str, Any]]) -> None:
        """Status history rows for reports not recorded before (a repeated report adds none)."""
        if not reports:
            return
        h = status_history.c
        ids = sorted({r["activity_id"] for r in reports})
        seen: set[tuple[Any, ...]] = set()
        for start in range(0, len(ids), LOOKUP_CHUNK):
            result = await conn.execute(
                select(h.activity_id, h.status, h.at, h.detail).where(
                    one_of(conn, h.activity_id, ids[start : start + LOOKUP_CHUNK])
                )
            )
            seen.update(tuple(r) for r in result)
        fresh: list[dict[str, Any]] = []
        for report in reports:
            key = (report["activity_id"], report["status"], report["at"], report["detail"])
            if key not in seen:
                seen.add(key)
                fresh.append(report)
        if fresh:
            await bulk.executemany(conn, "status_history", lambda: insert(status_history), fresh)

    async def _mark_addresses(self, conn: AsyncConnection, updates: Sequence[StatusUpdate]) -> None:
        """A bounce marks its address as bouncing so campaigns suppress it (in report order)."""
        marks: list[dict[str, Any]] = []
        for upd in updates:
            if upd.status is not Status.BOUNCED or upd.address is None:
                continue
            value = try_normalize(upd.address.kind, upd.address.value, self.region)
            if value is not None:
                marks.append(
                    {
                        "k_kind": upd.address.kind.value,
                        "k_value": value,
                        "v_at": upd.at,
                        "v_detail": upd.detail,
                    }
                )
        if not marks:
            return
        i = identities.c
        await conn.execute(
            update(identities)
            .where(and_(i.kind == bindparam("k_kind"), i.value == bindparam("k_value")))
            .values(bouncing_at=bindparam("v_at"), bounce_detail=bindparam("v_detail")),
            marks,
        )

    async def _save_checkpoints(self, cps: list[Checkpoint], conn: AsyncConnection | None) -> None:
        """Checkpoints alone, in a transaction of their own, outside the unit of work: they
        change no activity (nothing to project) and no answer keyed by the store's
        generation reads them, so neither is paid for. A polling adapter commits one such
        transaction per batch it must make durable (decision 0083)."""
        if conn is None:
            async with self.engine.begin() as own:
                await self._write_checkpoints(own, cps)
            return
        async with conn.begin():
            if all(c.value for c in cps) and driver_upsert.applies(conn):
                now = utcnow()
                rows = [{"source": c.source, "key": c.key, "value": c.value, "updated_at": now} for c in cps]
                await driver_upsert.upsert_rows(conn, checkpoints, _CP_KEY, _CP_VALUE, rows)
            else:
                await self._write_checkpoints(conn, cps)

    async def _write_checkpoints(self, conn: AsyncConnection, cps: list[Checkpoint]) -> None:
        """Upsert each checkpoint; one with an empty value is removed (nothing to resume)."""
        gone = [{"s": c.source, "k": c.key} for c in cps if not c.value]
        kept = [c for c in cps if c.value]
        if gone:
            await conn.execute(
                delete(checkpoints).where(
                    and_(checkpoints.c.source == bindparam("s"), checkpoints.c.key == bindparam("k"))
                ),
                gone,
            )
        if not kept:
            return
        now = utcnow()
        await conn.execute(
            upsert(conn, checkpoints, _CP_KEY, _CP_VALUE),
            [{"source": c.source, "key": c.key, "value": c.value, "updated_at": now} for c in kept],
        )

    async def _write_quarantine(self, conn: AsyncConnection, bad: list[Quarantined]) -> None:
        if not bad:
            return
        for item in bad:
            logger.warning("quarantined input from %s: %s", item.source, item.reason)
        await conn.execute(
            insert_ignore(conn, quarantine, ("source", "digest")),
            [
                {
                    "source": q.source,
                    "reason": q.reason,
                    "external_id": q.external_id,
                    "digest": hashlib.sha256(q.raw).hexdigest(),
                    "raw": q.raw,
                    "received_at": q.at,
                }
                for q in bad
            ],
        )

    # -- reading back what adapters need --------------------------------------------

    async def get_checkpoint(self, source: str, key: str) -> str | None:
        """An adapter's resume point, or None before its first run."""
        async with self.engine.connect() as conn:
            value = await conn.scalar(
                select(checkpoints.c.value).where(
                    and_(checkpoints.c.source == source, checkpoints.c.key == key)
                )
            )
        return None if value is None else str(value)

    async def checkpoints_under(self, source: str, prefix: str) -> dict[str, str]:
        """Every checkpoint of `source` whose key starts with `prefix`."""
        c = checkpoints.c
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                select(c.key, c.value).where(
                    and_(c.source == source, c.key.startswith(prefix, autoescape=True))
                )
            )
            return {str(r.key): str(r.value) for r in rows}

    async def quarantined(
        self, source: str | None = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        """The newest quarantined inputs, optionally of one source."""
        stmt = select(quarantine).order_by(quarantine.c.id.desc()).limit(limit)
        if source is not None:
            stmt = stmt.where(quarantine.c.source == source)
        async with self.engine.connect() as conn:
            return [dict(r) for r in (await conn.execute(stmt)).mappings()]

    async def is_quarantined(self, source: str, raw: bytes) -> bool:
        """Whether exactly these bytes were quarantined before (so they are not re-fetched)."""
        digest = hashlib.sha256(raw).hexdigest()
        async with self.engine.connect() as conn:
            found = await conn.scalar(
                select(quarantine.c.id).where(
                    and_(quarantine.c.source == source, quarantine.c.digest == digest)
                )
            )
        return found is not None
