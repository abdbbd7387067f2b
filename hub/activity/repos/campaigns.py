"""Campaigns, their recipient snapshots and the workers that send them: the named queries.

Every statement a campaign runs is here, readable as SQL: the snapshot (one
``INSERT … SELECT`` from the segment's condition, skipped rows marked with their
reason), the claim of a batch (``UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED)``
on PostgreSQL, the same single statement without the lock clause on SQLite, whose one
writer at a time makes it atomic: `_claim_ids` is the one dialect branch), the outcome
of a batch, the recovery of rows a lost worker left `sending`, and the counts.

The segment's meaning is `hub.campaigns`' business: the snapshot takes its compiled
condition on `contacts` as an argument and never interprets a filter itself.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    ColumnElement,
    and_,
    bindparam,
    case,
    delete,
    exists,
    func,
    insert,
    literal,
    not_,
    null,
    or_,
    select,
    update,
)
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import Select

from hub.activity.dialect import custom_text, one_of
from hub.activity.repos.base import Repo
from hub.activity.schema import (
    campaign_recipients,
    campaign_workers,
    campaigns,
    contacts,
    employee_addresses,
    employees,
    identities,
    organizations,
    suppressions,
)
from hub.errors import Conflict, NotFound
from hub.model import utcnow

R = campaign_recipients.c
C = campaigns.c


class CampaignState(StrEnum):
    """Where a campaign is: drafted, sending (running), paused, cancelled or finished."""

    DRAFT = "draft"
    RUNNING = "running"
    PAUSED = "paused"
    CANCELLED = "cancelled"
    FINISHED = "finished"


class RecipientState(StrEnum):
    """Where one recipient is; `SENDING` is committed before the server is asked."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    DEFERRED = "deferred"
    FAILED = "failed"
    BOUNCED = "bounced"
    SKIPPED = "skipped"
    UNKNOWN = "unknown"


class SkipReason(StrEnum):
    """Why a contact of the segment gets nothing."""

    NO_ADDRESS = "no_address"
    BOUNCED = "bounced"  # every address of the channel is marked bouncing
    SUPPRESSED = "suppressed"  # the address is suppressed (unsubscribed, bounced, complained)
    OPTED_OUT = "opted_out"  # another address of the contact is suppressed on this channel
    DUPLICATE = "duplicate_address"
    CANCELLED = "cancelled"


#: States with work left: a campaign is finished only when none of its rows is in one.
OPEN_STATES = (RecipientState.PENDING, RecipientState.DEFERRED, RecipientState.SENDING)
#: States a worker may claim (when due).
CLAIMABLE = (RecipientState.PENDING.value, RecipientState.DEFERRED.value)
#: The identity kind a channel sends to.
ADDRESS_KIND: Mapping[str, str] = {"email": "email", "sms": "phone"}


@dataclass(frozen=True, slots=True, kw_only=True)
class NewCampaign:
    """A campaign as created (checked by `hub.campaigns` before it gets here)."""

    name: str
    channel: str
    template_id: int
    template_version: int
    segment_id: int | None
    segment: Mapping[str, Any]
    sender: str
    schedule: str
    send_at: datetime | None
    local_hour: int | None
    throttle_per_s: float | None
    created_by: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CampaignRow:
    """A campaign as stored."""

    id: int
    name: str
    channel: str
    template_id: int
    template_version: int
    segment_id: int | None
    segment: Mapping[str, Any]
    sender: str
    schedule: str
    send_at: datetime | None
    local_hour: int | None
    throttle_per_s: float | None
    state: str
    created_by: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    updated_at: datetime


def _campaign(row: RowMapping) -> CampaignRow:
    return CampaignRow(**{name: row[name] for name in CampaignRow.__slots__})


@dataclass(frozen=True, slots=True, kw_only=True)
class Employee:
    """The employee responsible for a recipient, as a template signs with them."""

    name: str
    position: str | None
    email: str | None
    phone: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Claimed:
    """A recipient a worker has marked `sending`, with what its message is rendered from."""

    id: int
    contact_id: int | None
    address: str
    attempts: int
    name: str = ""
    organisation: str | None = None
    position: str | None = None
    city: str | None = None
    region: str | None = None
    importance: str | None = None
    segment: str | None = None
    custom: Mapping[str, Any] = field(default_factory=dict)
    employee: Employee | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    """What became of one claimed recipient, written with the touch in one transaction."""

    id: int
    state: RecipientState
    message_id: str | None = None
    code: int | None = None
    detail: str | None = None
    reason: str | None = None
    due_at: datetime | None = None  # for `deferred`: when to try again


@dataclass(frozen=True, slots=True, kw_only=True)
class Snapshot:
    """What taking the recipient list did: rows by state and skips by reason."""

    total: int
    pending: int
    skipped: Mapping[str, int]


@dataclass(frozen=True, slots=True, kw_only=True)
class RecipientRow:
    """One recipient as the recipients page lists it."""

    id: int
    contact_id: int | None
    contact_name: str | None
    address: str | None
    state: str
    reason: str | None
    attempts: int
    due_at: datetime
    message_id: str | None
    code: int | None
    detail: str | None
    updated_at: datetime


def _claim_ids(
    dialect: str, campaign_id: int, now: datetime, limit: int
) -> ColumnElement[Any]:
    """The ids of up to `limit` due recipients no other worker holds: the dialect branch.

    PostgreSQL locks the chosen rows and skips rows another worker's claim has locked, so
    several processes claim disjoint batches. SQLite has one writer at a time: the
    ``UPDATE … WHERE id IN (SELECT …)`` around this runs as one atomic statement.
    """
    query = (
        select(R.id)
        .where(R.campaign_id == campaign_id, R.state.in_(CLAIMABLE), R.due_at <= now)
        .limit(limit)
    )
    if dialect == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return query.scalar_subquery()


def snapshot_rows(
    campaign: CampaignRow,
    members: ColumnElement[bool],
    *,
    due_at: datetime,
    now: datetime,
    with_tz: bool,
) -> Select[Any]:
    """The rows of a snapshot, for ``INSERT INTO campaign_recipients … SELECT``: per member
    contact its first usable address of the channel, and `skipped` with the reason when
    there is none or it may not be sent to."""
    kind = ADDRESS_KIND[campaign.channel]
    i = identities.c
    s = suppressions.c
    address = (
        select(i.value)
        .where(i.contact_id == contacts.c.id, i.kind == kind, i.bouncing_at.is_(None))
        .order_by(i.id)
        .limit(1)
        .scalar_subquery()
    )
    tz = custom_text(contacts.c.custom, "timezone") if with_tz else null()
    inner = (
        select(
            contacts.c.id.label("contact_id"),
            address.label("address"),
            tz.label("tz"),
        )
        .where(members)
        .cte("m")
        .prefix_with("MATERIALIZED")  # each member's address looked up once, not per use
    )
    m = inner.c
    i2 = identities.alias("i2")
    # any address of the kind, bouncing or not ("bounced" rather than "no address"): a
    # scalar LIMIT 1, probed only for members without a usable address
    known = (
        select(i2.c.value)
        .where(i2.c.contact_id == m.contact_id, i2.c.kind == kind)
        .limit(1)
        .scalar_subquery()
    )
    # Uncorrelated: each set is built once per snapshot, then every member is one probe.
    blocked = select(s.address).where(s.channel == campaign.channel, s.lifted_at.is_(None))
    suppressed = m.address.in_(blocked)
    opted_out = m.contact_id.in_(
        select(i2.c.contact_id).where(i2.c.kind == kind, i2.c.value.in_(blocked))
    )
    reason = case(
        (and_(m.address.is_(None), known.is_not(None)), SkipReason.BOUNCED.value),
        (m.address.is_(None), SkipReason.NO_ADDRESS.value),
        (suppressed, SkipReason.SUPPRESSED.value),
        (opted_out, SkipReason.OPTED_OUT.value),
        else_=null(),
    )
    chosen = select(
        literal(campaign.id).label("campaign_id"),
        m.contact_id,
        m.address,
        m.tz,
        reason.label("reason"),
        func.row_number().over(partition_by=m.address, order_by=m.contact_id).label("nth"),
    ).cte("c").prefix_with("MATERIALIZED")
    # a second contact with the same address (the first one keeps it)
    final = case(
        (and_(chosen.c.reason.is_(None), chosen.c.nth > 1), SkipReason.DUPLICATE.value),
        else_=chosen.c.reason,
    )
    state = case((final.is_(None), RecipientState.PENDING.value), else_=RecipientState.SKIPPED.value)
    source = select(
        chosen.c.campaign_id,
        chosen.c.contact_id,
        chosen.c.address,
        chosen.c.tz,
        state,
        final,
        literal(0),
        literal(due_at, campaign_recipients.c.due_at.type),
        literal(now, campaign_recipients.c.updated_at.type),
    )
    return source


class CampaignsRepo(Repo):
    """Campaigns, snapshots, claims, outcomes, worker leases, counts and pages."""

    # -- campaigns ----------------------------------------------------------------------

    async def create(self, new: NewCampaign) -> CampaignRow:
        """Save a draft campaign; a name already taken is a `Conflict`."""
        now = utcnow()
        values = {
            **{name: getattr(new, name) for name in NewCampaign.__slots__},
            "segment": dict(new.segment),
            "state": CampaignState.DRAFT.value,
            "created_at": now,
            "updated_at": now,
        }
        try:
            async with self.tx() as work:
                row = (
                    await work.conn.execute(insert(campaigns).values(values).returning(*campaigns.c))
                ).mappings().one()
        except Conflict as exc:
            raise Conflict(f"a campaign named {new.name!r} exists", field="name") from exc
        return _campaign(row)

    async def get(self, campaign_id: int) -> CampaignRow:
        """The campaign with this id, or `NotFound`."""
        async with self.read() as conn:
            row = (
                await conn.execute(select(campaigns).where(C.id == campaign_id))
            ).mappings().first()
        if row is None:
            raise NotFound(f"no campaign {campaign_id}")
        return _campaign(row)

    async def list_all(self, *, state: str | None = None) -> list[CampaignRow]:
        """Every campaign (or those in `state`), newest first."""
        query = select(campaigns).order_by(C.id.desc())
        if state is not None:
            query = query.where(C.state == state)
        async with self.read() as conn:
            return [_campaign(r) for r in (await conn.execute(query)).mappings()]

    async def move(
        self, campaign_id: int, to: CampaignState, *, allowed_from: Iterable[CampaignState]
    ) -> bool:
        """Move the campaign to `to` if it is in one of `allowed_from`; whether it moved."""
        now = utcnow()
        values: dict[str, Any] = {"state": to.value, "updated_at": now}
        if to in (CampaignState.FINISHED, CampaignState.CANCELLED):
            values["finished_at"] = now
        async with self.tx() as work:
            result = await work.conn.execute(
                update(campaigns)
                .where(C.id == campaign_id, C.state.in_([s.value for s in allowed_from]))
                .values(values)
            )
        return bool(result.rowcount)

    # -- the snapshot --------------------------------------------------------------------

    async def snapshot(
        self,
        campaign: CampaignRow,
        members: ColumnElement[bool],
        *,
        due_at: datetime,
        with_tz: bool = False,
    ) -> Snapshot:
        """Take the recipient list of a draft campaign and set it running, in one transaction.

        One ``INSERT … SELECT`` over the contacts `members` selects (`snapshot_rows`): the
        contact's first address of the channel that is not bouncing, `pending` or `skipped`
        with the reason (no address, every address bouncing, the address suppressed, the
        contact opted out on another address, a second contact with the same address).
        `with_tz` keeps each contact's ``custom.timezone`` (for a local-hour schedule).
        """
        now = utcnow()
        source = snapshot_rows(campaign, members, due_at=due_at, now=now, with_tz=with_tz)
        async with self.tx() as work:
            conn = work.conn
            moved = await conn.execute(
                update(campaigns)
                .where(C.id == campaign.id, C.state == CampaignState.DRAFT.value)
                .values(
                    state=CampaignState.RUNNING.value,
                    started_at=now,
                    updated_at=now,
                    segment=dict(campaign.segment),
                )
            )
            if not moved.rowcount:
                raise Conflict(f"campaign {campaign.id} was started already", field="state")
            await conn.execute(
                insert(campaign_recipients).from_select(
                    [
                        "campaign_id",
                        "contact_id",
                        "address",
                        "tz",
                        "state",
                        "reason",
                        "attempts",
                        "due_at",
                        "updated_at",
                    ],
                    source,
                )
            )
            counts = (
                await conn.execute(
                    select(R.state, R.reason, func.count())
                    .where(R.campaign_id == campaign.id)
                    .group_by(R.state, R.reason)
                )
            ).all()
        skipped = {str(r): int(n) for st, r, n in counts if st == RecipientState.SKIPPED.value}
        pending = sum(int(n) for st, _r, n in counts if st == RecipientState.PENDING.value)
        return Snapshot(total=sum(int(n) for *_x, n in counts), pending=pending, skipped=skipped)

    async def time_zones(self, campaign_id: int) -> list[str | None]:
        """The distinct ``custom.timezone`` values among the campaign's pending recipients."""
        async with self.read() as conn:
            rows = await conn.execute(
                select(R.tz)
                .where(R.campaign_id == campaign_id, R.state == RecipientState.PENDING.value)
                .distinct()
            )
            return [r[0] for r in rows]

    async def set_due(self, campaign_id: int, due: Mapping[str | None, datetime]) -> None:
        """Set the first send time of pending recipients per time zone value (one UPDATE each)."""
        async with self.tx() as work:
            for tz, at in due.items():
                test = R.tz.is_(None) if tz is None else R.tz == tz
                await work.conn.execute(
                    update(campaign_recipients)
                    .where(
                        R.campaign_id == campaign_id,
                        R.state == RecipientState.PENDING.value,
                        test,
                    )
                    .values(due_at=at)
                )

    # -- sending -------------------------------------------------------------------------

    async def claim(
        self, campaign_id: int, worker_id: int, limit: int, now: datetime | None = None
    ) -> list[Claimed]:
        """Mark up to `limit` due recipients `sending` for this worker and commit; then read
        what their messages need (contact, organisation, owner and the owner's addresses).

        Three statements per batch whatever its size.
        """
        now = now or utcnow()
        async with self.tx() as work:
            claimed = (
                await work.conn.execute(
                    update(campaign_recipients)
                    .where(R.id.in_(_claim_ids(self.dialect, campaign_id, now, limit)))
                    .values(
                        state=RecipientState.SENDING.value,
                        worker_id=worker_id,
                        attempts=R.attempts + 1,
                        updated_at=now,
                    )
                    .returning(R.id, R.contact_id, R.address, R.attempts)
                )
            ).all()
        if not claimed:
            return []
        async with self.read() as conn:
            people = await self._people(conn, [int(c[1]) for c in claimed if c[1] is not None])
        out: list[Claimed] = []
        for rid, contact_id, address, attempts in sorted(claimed):
            person = people.get(int(contact_id)) if contact_id is not None else None
            out.append(
                Claimed(id=int(rid), contact_id=contact_id, address=address, attempts=attempts)
                if person is None
                else Claimed(id=int(rid), address=address, attempts=attempts, **person)
            )
        return out

    async def people(self, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
        """What a template sees of each contact id (a preview's recipients): two statements."""
        async with self.read() as conn:
            return await self._people(conn, ids)

    async def _people(self, conn: AsyncConnection, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
        """Contact fields and the owner of each contact id (two statements)."""
        if not ids:
            return {}
        e = employees.c
        rows = (
            await conn.execute(
                select(
                    contacts.c.id,
                    contacts.c.name,
                    organizations.c.name.label("organisation"),
                    contacts.c.position,
                    contacts.c.city,
                    contacts.c.region,
                    contacts.c.importance,
                    contacts.c.segment,
                    contacts.c.custom,
                    contacts.c.owner_employee_id,
                    e.name.label("owner_name"),
                    e.position.label("owner_position"),
                )
                .select_from(
                    contacts.outerjoin(
                        organizations, organizations.c.id == contacts.c.organization_id
                    ).outerjoin(employees, e.id == contacts.c.owner_employee_id)
                )
                .where(one_of(conn, contacts.c.id, list(ids)))
            )
        ).mappings().all()
        owners = sorted({int(r["owner_employee_id"]) for r in rows if r["owner_employee_id"]})
        reach: dict[int, dict[str, str]] = defaultdict(dict)
        if owners:
            a = employee_addresses.c
            for eid, kind, value in (
                await conn.execute(
                    select(a.employee_id, a.kind, a.value)
                    .where(one_of(conn, a.employee_id, owners), a.kind.in_(["email", "phone"]))
                    .order_by(a.id)
                )
            ).all():
                reach[int(eid)].setdefault(str(kind), str(value))
        people: dict[int, dict[str, Any]] = {}
        for r in rows:
            owner = r["owner_employee_id"]
            employee = None
            if owner is not None and r["owner_name"] is not None:
                employee = Employee(
                    name=r["owner_name"],
                    position=r["owner_position"],
                    email=reach[int(owner)].get("email"),
                    phone=reach[int(owner)].get("phone"),
                )
            people[int(r["id"])] = {
                "contact_id": int(r["id"]),
                "name": r["name"],
                "organisation": r["organisation"],
                "position": r["position"],
                "city": r["city"],
                "region": r["region"],
                "importance": r["importance"],
                "segment": r["segment"],
                "custom": dict(r["custom"] or {}),
                "employee": employee,
            }
        return people

    async def record(
        self, conn: AsyncConnection, worker_id: int, outcomes: Sequence[Outcome]
    ) -> int:
        """Write outcomes on `conn` (the caller's transaction, beside the touches); rows this
        worker holds `sending`, or that were declared `unknown` meanwhile, take them."""
        if not outcomes:
            return 0
        now = utcnow()
        stmt = (
            update(campaign_recipients)
            .where(
                R.id == bindparam("b_id"),
                R.worker_id == worker_id,
                or_(
                    R.state == RecipientState.SENDING.value,
                    R.state == RecipientState.UNKNOWN.value,
                ),
            )
            .values(
                state=bindparam("b_state"),
                reason=bindparam("b_reason"),
                message_id=bindparam("b_message_id"),
                code=bindparam("b_code"),
                detail=bindparam("b_detail"),
                due_at=func.coalesce(bindparam("b_due_at", type_=R.due_at.type), R.due_at),
                updated_at=now,
            )
        )
        params = [
            {
                "b_id": o.id,
                "b_state": o.state.value,
                "b_reason": o.reason,
                "b_message_id": o.message_id,
                "b_code": o.code,
                "b_detail": (o.detail or "")[:2000] or None,
                "b_due_at": o.due_at,
            }
            for o in outcomes
        ]
        result = await conn.execute(stmt, params)
        return int(result.rowcount or 0)

    async def release(self, worker_id: int, ids: Sequence[int]) -> None:
        """Put rows this worker claimed but never offered to a server back to `pending`."""
        if not ids:
            return
        async with self.tx() as work:
            await work.conn.execute(
                update(campaign_recipients)
                .where(
                    one_of(work.conn, R.id, list(ids)),
                    R.worker_id == worker_id,
                    R.state == RecipientState.SENDING.value,
                )
                .values(state=RecipientState.PENDING.value, attempts=R.attempts - 1)
            )

    # -- workers -------------------------------------------------------------------------

    async def register_worker(self, host: str, pid: int) -> int:
        """A new worker's id; its heartbeat starts now."""
        now = utcnow()
        async with self.tx() as work:
            return int(
                (
                    await work.conn.execute(
                        insert(campaign_workers)
                        .values(host=host, pid=pid, started_at=now, seen_at=now)
                        .returning(campaign_workers.c.id)
                    )
                ).scalar_one()
            )

    async def heartbeat(self, worker_id: int) -> None:
        async with self.tx() as work:
            await work.conn.execute(
                update(campaign_workers)
                .where(campaign_workers.c.id == worker_id)
                .values(seen_at=utcnow())
            )

    async def forget_worker(self, worker_id: int) -> None:
        async with self.tx() as work:
            await work.conn.execute(
                delete(campaign_workers).where(campaign_workers.c.id == worker_id)
            )

    async def recover(self, cutoff: datetime, *, campaign_id: int | None = None) -> int:
        """Rows left `sending` by workers not seen since `cutoff` become `unknown`: the server
        may or may not have taken them, so they are reported and never sent again by
        themselves. Returns how many."""
        w = campaign_workers.c
        live = select(w.id).where(w.seen_at >= cutoff)
        where = [R.state == RecipientState.SENDING.value, not_(R.worker_id.in_(live))]
        if campaign_id is not None:
            where.append(R.campaign_id == campaign_id)
        async with self.tx() as work:
            result = await work.conn.execute(
                update(campaign_recipients)
                .where(*where)
                .values(
                    state=RecipientState.UNKNOWN.value,
                    detail="the worker stopped before the server's answer was recorded",
                    updated_at=utcnow(),
                )
            )
            await work.conn.execute(delete(campaign_workers).where(w.seen_at < cutoff))
        return int(result.rowcount or 0)

    # -- progress ------------------------------------------------------------------------

    async def counts(self, campaign_id: int) -> dict[str, int]:
        """Recipients per state (every state present, zeros included)."""
        async with self.read() as conn:
            rows = (
                await conn.execute(
                    select(R.state, func.count())
                    .where(R.campaign_id == campaign_id)
                    .group_by(R.state)
                )
            ).all()
        counts = {s.value: 0 for s in RecipientState}
        counts.update({str(state): int(n) for state, n in rows})
        return counts

    async def counts_of(self, campaign_ids: Sequence[int]) -> dict[int, dict[str, int]]:
        """Recipients per state of many campaigns, in one statement."""
        if not campaign_ids:
            return {}
        async with self.read() as conn:
            rows = (
                await conn.execute(
                    select(R.campaign_id, R.state, func.count())
                    .where(one_of(conn, R.campaign_id, list(campaign_ids)))
                    .group_by(R.campaign_id, R.state)
                )
            ).all()
        out = {int(cid): {s.value: 0 for s in RecipientState} for cid in campaign_ids}
        for cid, state, n in rows:
            out[int(cid)][str(state)] = int(n)
        return out

    async def skip_reasons(self, campaign_id: int) -> dict[str, int]:
        """Skipped recipients per reason."""
        async with self.read() as conn:
            rows = (
                await conn.execute(
                    select(R.reason, func.count())
                    .where(R.campaign_id == campaign_id, R.state == RecipientState.SKIPPED.value)
                    .group_by(R.reason)
                )
            ).all()
        return {str(reason): int(n) for reason, n in rows}

    async def next_due(self, campaign_id: int) -> datetime | None:
        """The earliest time a pending or deferred recipient becomes due."""
        async with self.read() as conn:
            value: datetime | None = (
                await conn.execute(
                    select(func.min(R.due_at)).where(
                        R.campaign_id == campaign_id, R.state.in_(CLAIMABLE)
                    )
                )
            ).scalar()
        return value

    async def finish_if_done(self, campaign_id: int) -> bool:
        """Mark a running campaign finished when no recipient is pending, deferred or sending."""
        now = utcnow()
        open_rows = exists().where(
            R.campaign_id == campaign_id, R.state.in_([s.value for s in OPEN_STATES])
        )
        async with self.tx() as work:
            result = await work.conn.execute(
                update(campaigns)
                .where(
                    C.id == campaign_id,
                    C.state == CampaignState.RUNNING.value,
                    not_(open_rows),
                )
                .values(state=CampaignState.FINISHED.value, finished_at=now, updated_at=now)
            )
        return bool(result.rowcount)

    async def cancel_open(self, campaign_id: int) -> int:
        """Pending and deferred recipients of a cancelled campaign become skipped ("cancelled")."""
        async with self.tx() as work:
            result = await work.conn.execute(
                update(campaign_recipients)
                .where(R.campaign_id == campaign_id, R.state.in_(CLAIMABLE))
                .values(
                    state=RecipientState.SKIPPED.value,
                    reason=SkipReason.CANCELLED.value,
                    updated_at=utcnow(),
                )
            )
        return int(result.rowcount or 0)

    async def resend_unknown(self, campaign_id: int) -> int:
        """Unknown recipients become pending again (the marketer's choice) and a finished
        campaign runs again; how many."""
        now = utcnow()
        async with self.tx() as work:
            conn = work.conn
            result = await conn.execute(
                update(campaign_recipients)
                .where(R.campaign_id == campaign_id, R.state == RecipientState.UNKNOWN.value)
                .values(state=RecipientState.PENDING.value, due_at=now, updated_at=now)
            )
            if result.rowcount:
                await conn.execute(
                    update(campaigns)
                    .where(C.id == campaign_id, C.state == CampaignState.FINISHED.value)
                    .values(state=CampaignState.RUNNING.value, finished_at=None, updated_at=now)
                )
        return int(result.rowcount or 0)

    async def recipients(
        self,
        campaign_id: int,
        *,
        after: int = 0,
        limit: int = 100,
        state: str | None = None,
    ) -> list[RecipientRow]:
        """A page of recipients by id after `after`, with the contact's name: one statement."""
        query = (
            select(*campaign_recipients.c, contacts.c.name.label("contact_name"))
            .select_from(
                campaign_recipients.outerjoin(contacts, contacts.c.id == R.contact_id)
            )
            .where(R.campaign_id == campaign_id, R.id > after)
            .order_by(R.id)
            .limit(limit)
        )
        if state is not None:
            query = query.where(R.state == state)
        async with self.read() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [
            RecipientRow(**{name: row[name] for name in RecipientRow.__slots__}) for row in rows
        ]

    async def workers_of(self, campaign_id: int) -> int:
        """How many workers sent part of the campaign."""
        async with self.read() as conn:
            n = (
                await conn.execute(
                    select(func.count(R.worker_id.distinct())).where(
                        R.campaign_id == campaign_id, R.state == RecipientState.SENT.value
                    )
                )
            ).scalar()
        return int(n or 0)

    async def message_ids(self, campaign_id: int, state: str) -> list[tuple[str | None, int]]:
        """(address, attempts) of the recipients in `state`, for tests and reports."""
        async with self.read() as conn:
            rows = (
                await conn.execute(
                    select(R.address, R.attempts)
                    .where(R.campaign_id == campaign_id, R.state == state)
                    .order_by(R.id)
                )
            ).all()
        return [(a, int(n)) for a, n in rows]


__all__ = [
    "ADDRESS_KIND",
    "CampaignRow",
    "CampaignState",
    "CampaignsRepo",
    "Claimed",
    "Employee",
    "NewCampaign",
    "Outcome",
    "RecipientRow",
    "RecipientState",
    "SkipReason",
    "Snapshot",
]
