"""Call rounds [обзвоны] under `/api/v1/call-rounds` (decision 0052): create and start a
round, its progress per employee, the calls to make and closing one by hand.

The rules are `hub.campaigns.call_rounds.CallRoundManager`'s, the ones `touchhub campaign`
uses. Marketers, heads and admins create and start rounds (pause, resume and cancel are
the campaign routes'). Who sees which calls is the principal's rule
(`hub.activity.visibility`): an employee their own, a head their group's, an admin (and
the marketer who runs rounds) everyone's. Calls are dialled with `POST /api/v1/calls`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from aiohttp import web
from pydantic import Field

from hub.activity import ActivityStore, Principal
from hub.activity.call_round_calls import CALL_CHANNEL, ItemState
from hub.activity.repos.base import MAX_NAME
from hub.activity.repos.call_rounds import ItemRow
from hub.campaigns.call_rounds import (
    MAX_ATTEMPTS,
    MAX_MINUTES,
    MAX_RESULT,
    CallRoundManager,
    CallRoundSpec,
    RoundStatus,
    Spread,
)
from hub.errors import NotFound
from hub.web.auth import ADMIN, EMPLOYEE, HEAD, MARKETER, require, visible_employees
from hub.web.keys import SETTINGS, STORE
from hub.web.openapi import describe
from hub.web.parsing import created, parse_query, path_id, read_json, respond
from hub.web.schemas import Body as BodyModel
from hub.web.schemas import BodyId, Id, Limit, Name, NoQuery, Out, Query, UtcDatetime
from kpi.periods import WorkCalendar

routes = web.RouteTableDef()
TAG = "call rounds"
#: Who may create and start rounds.
ROUND_MANAGERS = (ADMIN, MARKETER, HEAD)
#: Who may read rounds and their calls (each as far as they see).
ROUND_READERS = (ADMIN, MARKETER, HEAD, EMPLOYEE)
#: Who may close a call by hand (their own, or their group's).
CALL_CLOSERS = (ADMIN, HEAD, EMPLOYEE)
ITEMS_LIMIT = 200
MAX_EMPLOYEES = 500

Clock = Annotated[str, Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$")]


class RoundCreate(BodyModel):
    """A call round to save as a draft; exactly one of `segment_id` and `segment`."""

    name: Annotated[Name, Field(max_length=MAX_NAME)]
    template_id: BodyId = Field(description="the script's template (its text is shown)")
    template_version: BodyId | None = Field(None, description="default: the newest, pinned now")
    segment_id: BodyId | None = Field(None, description="a saved segment")
    segment: dict[str, Any] | None = Field(None, description="an inline filter (decision 0020)")
    employees: list[BodyId] = Field(min_length=1, max_length=MAX_EMPLOYEES)
    spread: Spread = Field(Spread.OWNER, description="owner: to the contact's owner; even")
    starts_at: UtcDatetime | None = Field(None, description="the first call (default: start)")
    day_start: Clock = "09:00"
    day_end: Clock = "18:00"
    call_minutes: int = Field(10, ge=1, le=MAX_MINUTES)
    retry_minutes: int = Field(120, ge=1, le=MAX_MINUTES)
    max_attempts: int = Field(3, ge=1, le=MAX_ATTEMPTS)


class ProgressOut(Out):
    employee_id: int
    employee_name: str | None
    done: int
    open: int
    attempts: int
    not_reached: int
    cancelled: int
    total: int


class Totals(Out):
    done: int
    open: int
    attempts: int
    not_reached: int
    cancelled: int
    total: int


class RoundOut(Out):
    """A round, its rules and its calls per employee (as far as the caller sees)."""

    id: int
    name: str
    channel: str
    state: str
    template_id: int
    template_version: int
    segment_id: int | None
    segment: dict[str, Any]
    created_by: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    spread: str
    employees: list[int]
    starts_at: datetime | None
    day_start: str
    day_end: str
    call_minutes: int
    retry_minutes: int
    max_attempts: int
    progress: list[ProgressOut]
    totals: Totals


class StartedOut(RoundOut):
    """The round once started: calls planned and contacts left out for want of a phone."""

    planned: int
    no_phone: int


class RoundList(Out):
    items: list[RoundOut]


class ItemOut(Out):
    """One call to make, with its script; `extension` is what `POST /api/v1/calls` takes."""

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


class ItemList(Out):
    items: list[ItemOut]


class ItemQuery(Query):
    """Calls of one round or of every running one; `mine`: only the caller's own."""

    campaign_id: Id | None = None
    state: ItemState | None = None
    mine: bool = False
    limit: Limit = ITEMS_LIMIT


class CloseIn(BodyModel):
    """Close a call by hand: reached (`done`) or `not_reached`, with what came of it."""

    state: Literal["done", "not_reached"]
    result: Annotated[str, Field(min_length=1, max_length=MAX_RESULT, pattern=r"\S")]


def manager_of(request: web.Request) -> CallRoundManager:
    """The manager with the company's calendar (`[kpi]`) and name (`[campaigns]`)."""
    store = request.app[STORE]
    settings = request.app[SETTINGS]
    calendar = WorkCalendar.from_settings(settings.kpi.weekends, settings.kpi.holidays)
    return CallRoundManager(
        store, tz=store.tz, is_working=calendar.is_working, company=settings.campaigns.company_name
    )


async def scope_of(store: ActivityStore, who: Principal) -> frozenset[int] | None:
    """Whose calls `who` sees: everyone's for an admin or a marketer, else the principal's rule."""
    if who.role in (ADMIN, MARKETER):
        return None
    return await visible_employees(store, who)


def _item(row: ItemRow) -> dict[str, Any]:
    return {name: getattr(row, name) for name in ItemOut.model_fields}


def _round(status: RoundStatus) -> dict[str, Any]:
    return status.as_dict()


async def _checked_round(request: web.Request, campaign_id: int) -> None:
    if not await request.app[STORE].call_rounds.is_round(campaign_id):
        raise NotFound(f"no call round {campaign_id}")


@routes.post("/api/v1/call-rounds")
@describe(
    "Create a draft call round (checked: template, segment, employees, hours, retries)",
    tag=TAG,
    body=RoundCreate,
    response=RoundOut,
    status=201,
    roles=ROUND_MANAGERS,
    errors=(409, 422),
)
async def create_round(request: web.Request) -> web.Response:
    who = require(request, *ROUND_MANAGERS)
    body = await read_json(request, RoundCreate)
    manager = manager_of(request)
    row = await manager.create(
        CallRoundSpec(
            name=body.name,
            template_id=body.template_id,
            template_version=body.template_version,
            segment_id=body.segment_id,
            segment=body.segment,
            employees=body.employees,
            spread=body.spread.value,
            starts_at=body.starts_at,
            day_start=body.day_start,
            day_end=body.day_end,
            call_minutes=body.call_minutes,
            retry_minutes=body.retry_minutes,
            max_attempts=body.max_attempts,
        ),
        created_by=who.name,
    )
    return created(RoundOut, _round(await manager.status(row.id)), f"/api/v1/call-rounds/{row.id}")


@routes.get("/api/v1/call-rounds")
@describe(
    "List call rounds with their progress (as far as the caller sees)",
    tag=TAG,
    query=NoQuery,
    response=RoundList,
    roles=ROUND_READERS,
)
async def list_rounds(request: web.Request) -> web.Response:
    """Newest first; an employee or a head sees the rounds with calls of theirs."""
    who = require(request, *ROUND_READERS)
    parse_query(request, NoQuery)
    store = request.app[STORE]
    scope = await scope_of(store, who)
    manager = manager_of(request)
    out = []
    for campaign in await store.call_rounds.list_all():
        if campaign.channel != CALL_CHANNEL:
            continue
        status = await manager.status(campaign.id, scope)
        if scope is None or status.progress:
            out.append(_round(status))
    return respond(RoundList, {"items": out})


@routes.get("/api/v1/call-rounds/items")
@describe(
    "The calls to make: the caller's own, or their group's (a head), with their scripts",
    tag=TAG,
    query=ItemQuery,
    response=ItemList,
    roles=ROUND_READERS,
)
async def list_items(request: web.Request) -> web.Response:
    """Earliest due first; without `campaign_id` only rounds that are running."""
    who = require(request, *ROUND_READERS)
    query = parse_query(request, ItemQuery)
    store = request.app[STORE]
    scope = await scope_of(store, who)
    if query.mine:
        scope = frozenset({who.employee_id} if who.employee_id is not None else set())
    rows = await store.call_rounds.items(
        campaign_id=query.campaign_id,
        employee_ids=scope,
        state=query.state.value if query.state else None,
        running_only=query.campaign_id is None,
        limit=query.limit,
    )
    return respond(ItemList, {"items": [_item(r) for r in rows]})


@routes.get("/api/v1/call-rounds/{id}")
@describe(
    "A call round with its progress per employee (as far as the caller sees)",
    tag=TAG,
    response=RoundOut,
    roles=ROUND_READERS,
)
async def get_round(request: web.Request) -> web.Response:
    who = require(request, *ROUND_READERS)
    campaign_id = path_id(request, what="call round")
    parse_query(request, NoQuery)
    await _checked_round(request, campaign_id)
    store = request.app[STORE]
    status = await manager_of(request).status(campaign_id, await scope_of(store, who))
    return respond(RoundOut, _round(status))


@routes.post("/api/v1/call-rounds/{id}/start")
@describe(
    "Start a draft round: its calls are planned for the employees with their scripts",
    tag=TAG,
    response=StartedOut,
    roles=ROUND_MANAGERS,
    errors=(409, 422),
)
async def start_round(request: web.Request) -> web.Response:
    require(request, *ROUND_MANAGERS)
    campaign_id = path_id(request, what="call round")
    parse_query(request, NoQuery)
    await _checked_round(request, campaign_id)
    manager = manager_of(request)
    started = await manager.start(campaign_id)
    data = _round(await manager.status(campaign_id))
    return respond(StartedOut, {**data, "planned": started.items, "no_phone": started.no_phone})


@routes.post("/api/v1/call-rounds/items/{id}/close")
@describe(
    "Close a call by hand with its result (the caller's own, or their group's)",
    tag=TAG,
    body=CloseIn,
    response=ItemOut,
    roles=CALL_CLOSERS,
    errors=(409, 422),
)
async def close_item(request: web.Request) -> web.Response:
    """A call the PBX saw answered closes by itself; this is for the rest."""
    who = require(request, *CALL_CLOSERS)
    item_id = path_id(request, what="call")
    body = await read_json(request, CloseIn)
    store = request.app[STORE]
    row = await manager_of(request).close(
        item_id, body.state, body.result, await scope_of(store, who)
    )
    return respond(ItemOut, _item(row))
