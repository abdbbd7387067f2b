"""Call rounds (decision 0052): the named queries of a campaign whose channel is the telephone.

An extension of `CampaignsRepo`: a round is a `campaigns` row (channel ``call``) with its
rules in `call_rounds` and one `call_round_items` row per contact to call, each shown as a
task on the contact's timeline (an activity of source ``call-round``). Starting a round
writes the campaign's state, the tasks and the items in one transaction; the PBX capture
closes items on the touch path (`hub.activity.call_round_calls`); an employee closes one
by hand here. Which contacts and employees, when and with what script is
`hub.campaigns.call_rounds`' business.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, case, func, insert, select, update
from sqlalchemy.engine import RowMapping

from hub.activity.call_round_calls import (
    CALL_CHANNEL,
    CALL_ROUND_SOURCE,
    ItemState,
    finish_done_rounds,
    task_rows,
)
from hub.activity.dialect import insert_ignore, one_of
from hub.activity.repos.campaigns import CampaignRow, CampaignsRepo, CampaignState, NewCampaign
from hub.activity.schema import (
    activities,
    call_round_items,
    call_rounds,
    campaigns,
    contacts,
    employee_addresses,
    employees,
    identities,
)
from hub.activity.unit_of_work import UnitOfWork
from hub.errors import Conflict, NotFound
from hub.model import AddressKind, Channel, Direction, Status, utcnow

CI = call_round_items.c
CR = call_rounds.c


@dataclass(frozen=True, slots=True, kw_only=True)
class RoundRules:
    """How a round spreads its calls and retries them (times: minutes after local midnight)."""

    spread: str
    employees: tuple[int, ...]
    starts_at: datetime | None
    day_start: int
    day_end: int
    call_minutes: int
    retry_minutes: int
    max_attempts: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Candidate:
    """A contact of the segment: its owner and its first phone (None: nothing to dial)."""

    contact_id: int
    owner_id: int | None
    number: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class NewItem:
    """One call to make, as planned when the round starts."""

    contact_id: int
    employee_id: int
    number: str
    due_at: datetime
    script: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ItemRow:
    """One call of a round as its employee and their head see it."""

    id: int
    campaign_id: int
    campaign_name: str
    contact_id: int
    contact_name: str | None
    employee_id: int
    employee_name: str | None
    extension: str | None
    number: str | None
    state: str
    attempts: int
    due_at: datetime
    script: str
    result: str | None
    closed_by: int | None
    closed_at: datetime | None
    activity_id: int | None


@dataclass(frozen=True, slots=True, kw_only=True)
class EmployeeProgress:
    """One employee's calls in a round: done, still open, attempts made, not reached."""

    employee_id: int
    employee_name: str | None
    done: int
    open: int
    attempts: int
    not_reached: int
    cancelled: int
    total: int


def _rules(row: RowMapping) -> RoundRules:
    return RoundRules(
        spread=row["spread"],
        employees=tuple(int(e) for e in row["employees"]),
        starts_at=row["starts_at"],
        day_start=int(row["day_start"]),
        day_end=int(row["day_end"]),
        call_minutes=int(row["call_minutes"]),
        retry_minutes=int(row["retry_minutes"]),
        max_attempts=int(row["max_attempts"]),
    )


def _extension() -> ColumnElement[Any]:
    a = employee_addresses.c
    return (
        select(a.value)
        .where(a.employee_id == CI.employee_id, a.kind == AddressKind.EXTENSION.value)
        .order_by(a.id)
        .limit(1)
        .scalar_subquery()
    )


def _items_with_names() -> Select[Any]:
    """Call-round items with their round's, contact's and employee's names and the
    employee's extension: what a list and a single item both show."""
    e = employees.c
    return (
        select(
            call_round_items,
            campaigns.c.name.label("campaign_name"),
            contacts.c.name.label("contact_name"),
            e.name.label("employee_name"),
            _extension().label("extension"),
        )
        .join(campaigns, campaigns.c.id == CI.campaign_id)
        .outerjoin(contacts, contacts.c.id == CI.contact_id)
        .outerjoin(employees, e.id == CI.employee_id)
    )


def _visible(employee_ids: Collection[int] | None) -> ColumnElement[bool] | None:
    if employee_ids is None:
        return None
    return CI.employee_id.in_(sorted(employee_ids))


class CallRoundsRepo(CampaignsRepo):
    """Rounds, their items and their progress, beside the campaigns they are."""

    async def create_round(self, new: NewCampaign, rules: RoundRules) -> CampaignRow:
        """Save a draft round: its campaign row and its rules in one transaction."""
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
                await work.conn.execute(
                    insert(call_rounds).values(
                        campaign_id=row["id"],
                        spread=rules.spread,
                        employees=list(rules.employees),
                        starts_at=rules.starts_at,
                        day_start=rules.day_start,
                        day_end=rules.day_end,
                        call_minutes=rules.call_minutes,
                        retry_minutes=rules.retry_minutes,
                        max_attempts=rules.max_attempts,
                    )
                )
        except Conflict as exc:
            raise Conflict(f"a campaign named {new.name!r} exists", field="name") from exc
        return await self.get(int(row["id"]))

    async def rules(self, campaign_id: int) -> RoundRules:
        """The rules of a round, or `NotFound` (no such campaign, or not a call round)."""
        async with self.read() as conn:
            row = (
                await conn.execute(select(call_rounds).where(CR.campaign_id == campaign_id))
            ).mappings().first()
        if row is None:
            raise NotFound(f"campaign {campaign_id} is not a call round")
        return _rules(row)

    async def candidates(self, members: ColumnElement[bool]) -> list[Candidate]:
        """The segment's contacts with their owner and first phone, by contact id."""
        i = identities.c
        phone = (
            select(i.value)
            .where(i.contact_id == contacts.c.id, i.kind == AddressKind.PHONE.value)
            .order_by(i.id)
            .limit(1)
            .scalar_subquery()
        )
        async with self.read() as conn:
            rows = (
                await conn.execute(
                    select(contacts.c.id, contacts.c.owner_employee_id, phone)
                    .where(members)
                    .order_by(contacts.c.id)
                )
            ).all()
        return [
            Candidate(contact_id=int(cid), owner_id=owner, number=number)
            for cid, owner, number in rows
        ]

    async def people(self, contact_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
        """What a script is rendered from, per contact (as a campaign's recipients)."""
        async with self.read() as conn:
            return await self._people(conn, contact_ids)

    async def employee_names(self, ids: Collection[int]) -> dict[int, str]:
        """Names of these employees (the ones that exist)."""
        if not ids:
            return {}
        async with self.read() as conn:
            rows = await conn.execute(
                select(employees.c.id, employees.c.name).where(
                    one_of(conn, employees.c.id, sorted(ids))
                )
            )
            return {int(eid): str(name) for eid, name in rows.all()}

    async def start_round(
        self, campaign: CampaignRow, items: Sequence[NewItem], now: datetime
    ) -> int:
        """Set a draft round running with its items and their tasks, in one transaction;
        how many items."""
        async with self.tx() as work:
            conn = work.conn
            moved = await conn.execute(
                update(campaigns)
                .where(campaigns.c.id == campaign.id, campaigns.c.state == CampaignState.DRAFT.value)
                .values(
                    state=CampaignState.RUNNING.value,
                    started_at=now,
                    updated_at=now,
                    segment=dict(campaign.segment),
                )
            )
            if not moved.rowcount:
                raise Conflict(f"campaign {campaign.id} was started already", field="state")
            if not items:
                await finish_done_rounds(conn, {campaign.id}, now)
                return 0
            tasks = [
                {
                    "source": CALL_ROUND_SOURCE,
                    "external_id": f"{campaign.id}:{item.contact_id}",
                    "channel": Channel.TASK.value,
                    "direction": Direction.OUT.value,
                    "status": Status.PLANNED.value,
                    "occurred_at": now,
                    "due_at": item.due_at,
                    "contact_id": item.contact_id,
                    "employee_id": item.employee_id,
                    "counterpart": item.number,
                    "subject": campaign.name,
                    "is_client": True,
                    "flags": "",
                    "meta": {"campaign_id": campaign.id, "attempts": 0},
                    "created_at": now,
                    "updated_at": now,
                }
                for item in items
            ]
            stmt = insert_ignore(conn, activities, ("source", "external_id")).returning(
                activities.c.id, activities.c.external_id
            )
            created = {str(ext): int(aid) for aid, ext in (await conn.execute(stmt, tasks)).all()}
            await conn.execute(
                insert(call_round_items),
                [
                    {
                        "campaign_id": campaign.id,
                        "contact_id": item.contact_id,
                        "employee_id": item.employee_id,
                        "activity_id": created.get(f"{campaign.id}:{item.contact_id}"),
                        "number": item.number,
                        "state": ItemState.OPEN.value,
                        "attempts": 0,
                        "attempt_calls": [],
                        "due_at": item.due_at,
                        "script": item.script,
                        "created_at": now,
                        "updated_at": now,
                    }
                    for item in items
                ],
            )
            added = await task_rows(conn, list(created.values()))
            work.activities_changed([], added.values())
        return len(items)

    # -- reading -------------------------------------------------------------------------

    async def items(
        self,
        *,
        campaign_id: int | None = None,
        employee_ids: Collection[int] | None = None,
        state: str | None = None,
        running_only: bool = False,
        limit: int = 200,
    ) -> list[ItemRow]:
        """Items (of one round, or of every round), those of `employee_ids` only when
        given, earliest due first."""
        query = _items_with_names().order_by(CI.due_at, CI.id).limit(limit)
        if campaign_id is not None:
            query = query.where(CI.campaign_id == campaign_id)
        visible = _visible(employee_ids)
        if visible is not None:
            query = query.where(visible)
        if state is not None:
            query = query.where(CI.state == state)
        if running_only:
            query = query.where(campaigns.c.state == CampaignState.RUNNING.value)
        async with self.read() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [_item(r) for r in rows]

    async def item(self, item_id: int) -> ItemRow:
        """One item, or `NotFound`."""
        async with self.read() as conn:
            row = (
                await conn.execute(_items_with_names().where(CI.id == item_id))
            ).mappings().first()
        if row is None:
            raise NotFound(f"no call round item {item_id}")
        return _item(row)

    async def progress(
        self, campaign_id: int, employee_ids: Collection[int] | None = None
    ) -> list[EmployeeProgress]:
        """Per employee of the round (those of `employee_ids` when given): items done,
        open, not reached, cancelled and attempts made; one statement."""
        def count(state: ItemState) -> ColumnElement[Any]:
            return func.sum(case((CI.state == state.value, 1), else_=0))

        query = (
            select(
                CI.employee_id,
                employees.c.name,
                count(ItemState.DONE),
                count(ItemState.OPEN),
                func.sum(CI.attempts),
                count(ItemState.NOT_REACHED),
                count(ItemState.CANCELLED),
                func.count(),
            )
            .outerjoin(employees, employees.c.id == CI.employee_id)
            .where(CI.campaign_id == campaign_id)
            .group_by(CI.employee_id, employees.c.name)
            .order_by(employees.c.name, CI.employee_id)
        )
        visible = _visible(employee_ids)
        if visible is not None:
            query = query.where(visible)
        async with self.read() as conn:
            rows = (await conn.execute(query)).all()
        return [
            EmployeeProgress(
                employee_id=int(eid),
                employee_name=name,
                done=int(done or 0),
                open=int(still or 0),
                attempts=int(tries or 0),
                not_reached=int(lost or 0),
                cancelled=int(gone or 0),
                total=int(total or 0),
            )
            for eid, name, done, still, tries, lost, gone, total in rows
        ]

    # -- closing by hand, cancelling -----------------------------------------------------

    async def close(self, item_id: int, state: ItemState, result: str) -> ItemRow:
        """An employee closes an open item by hand: done (reached) or not reached, with
        the result they typed; its task is completed (or cancelled) with it."""
        now = utcnow()
        async with self.tx() as work:
            conn = work.conn
            row = (
                await conn.execute(select(call_round_items).where(CI.id == item_id))
            ).mappings().first()
            if row is None:
                raise NotFound(f"no call round item {item_id}")
            if row["state"] != ItemState.OPEN.value:
                raise Conflict(f"call round item {item_id} is {row['state']}", field="state")
            await conn.execute(
                update(call_round_items)
                .where(CI.id == item_id)
                .values(state=state.value, result=result, closed_at=now, updated_at=now)
            )
            done = state is ItemState.DONE
            await self._close_tasks(
                work,
                [row["activity_id"]],
                {
                    "status": (Status.COMPLETED if done else Status.CANCELLED).value,
                    "completed_at": now if done else None,
                    "result": result,
                    "updated_at": now,
                },
            )
            await finish_done_rounds(conn, {int(row["campaign_id"])}, now)
        return await self.item(item_id)

    async def cancel_items(self, campaign_id: int) -> int:
        """A cancelled round: its open items and their tasks are cancelled; how many."""
        now = utcnow()
        async with self.tx() as work:
            conn = work.conn
            task_ids = (
                await conn.execute(
                    select(CI.activity_id).where(
                        CI.campaign_id == campaign_id, CI.state == ItemState.OPEN.value
                    )
                )
            ).scalars().all()
            result = await conn.execute(
                update(call_round_items)
                .where(CI.campaign_id == campaign_id, CI.state == ItemState.OPEN.value)
                .values(state=ItemState.CANCELLED.value, updated_at=now)
            )
            await self._close_tasks(
                work, list(task_ids), {"status": Status.CANCELLED.value, "updated_at": now}
            )
        return int(result.rowcount or 0)

    async def _close_tasks(
        self, work: UnitOfWork, ids: Sequence[int | None], changes: Mapping[str, Any]
    ) -> None:
        """Apply `changes` to these tasks and tell the projections."""
        conn = work.conn
        found = [int(i) for i in ids if i is not None]
        if not found:
            return
        old = await task_rows(conn, found)
        await conn.execute(
            update(activities).where(one_of(conn, activities.c.id, found)).values(**changes)
        )
        fresh = {k: v for k, v in changes.items() if k != "updated_at"}
        work.activities_changed(old.values(), [{**row, **fresh} for row in old.values()])

    async def is_round(self, campaign_id: int) -> bool:
        """Whether this campaign is a call round."""
        async with self.read() as conn:
            channel = await conn.scalar(
                select(campaigns.c.channel).where(campaigns.c.id == campaign_id)
            )
        return channel == CALL_CHANNEL


def _item(row: RowMapping) -> ItemRow:
    return ItemRow(**{name: row[name] for name in ItemRow.__slots__})
