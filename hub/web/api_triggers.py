"""Trigger rules under `/api/v1/triggers`: create, list, read, enable, disable, delete, and
each rule's firings page by page.

The rules are `hub.campaigns.triggers.TriggerManager`'s, the ones `touchhub trigger`
uses; who may manage them is who may manage campaigns (`CAMPAIGN_MANAGERS`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from aiohttp import web
from pydantic import Field

from hub.activity.repos.base import MAX_NAME
from hub.campaigns.triggers import MAX_MINUTES, TriggerManager, TriggerSpec
from hub.web.api_campaigns import CAMPAIGN_MANAGERS, SenderKey
from hub.web.auth import require
from hub.web.keys import SENDERS, STORE
from hub.web.openapi import describe
from hub.web.parsing import created, parse_query, path_id, read_json, respond
from hub.web.schemas import Body as BodyModel
from hub.web.schemas import BodyId, Limit, Name, NoQuery, Out, Query

routes = web.RouteTableDef()
TAG = "triggers"
FIRINGS_LIMIT = 100

FieldName = Annotated[str, Field(min_length=1, max_length=200)]


class TriggerParams(BodyModel):
    """What the event is: `minutes` (missed_call), `field` and `value` (field_value),
    `field` (date_reached, ``custom.KEY``); due_tomorrow takes none."""

    minutes: int | None = Field(None, ge=1, le=MAX_MINUTES)
    field: FieldName | None = Field(None, description="a contact field or custom.KEY")
    value: Annotated[str, Field(max_length=300)] | None = None


class TriggerCreate(BodyModel):
    """A rule to save: on `kind` of event, send the template to the contact."""

    name: Annotated[Name, Field(max_length=MAX_NAME)]
    kind: Literal["missed_call", "due_tomorrow", "field_value", "date_reached"]
    params: TriggerParams = Field(default_factory=TriggerParams)
    channel: Literal["email", "sms"] = "email"
    template_id: BodyId
    template_version: BodyId | None = Field(None, description="default: the newest, pinned now")
    sender: SenderKey = Field(description="account or gateway: `sales` or `email:sales`")
    enabled: bool = True


class TriggerOut(Out):
    """A rule, its campaign and its firings per outcome (`waiting`: not queued yet)."""

    id: int
    name: str
    kind: str
    params: dict[str, Any]
    channel: str
    template_id: int
    template_version: int
    sender: str
    campaign_id: int
    enabled: bool
    created_by: str
    created_at: datetime
    updated_at: datetime
    last_run_at: datetime | None
    last_error: str | None
    firings: dict[str, int]


class TriggerList(Out):
    items: list[TriggerOut]


class FiringQuery(Query):
    """A page of firings after the id `after` (pass `next_after` back)."""

    after: Annotated[int, Field(ge=0)] = 0
    limit: Limit = FIRINGS_LIMIT


class FiringOut(Out):
    id: int
    rule_id: int
    event_key: str
    contact_id: int | None
    contact_name: str | None
    fired_at: datetime
    queued_at: datetime | None
    recipient_id: int | None
    address: str | None
    state: str = Field(description="waiting (not queued yet), or the campaign recipient's state")
    reason: str | None
    detail: str | None


class FiringPage(Out):
    items: list[FiringOut]
    next_after: int | None = Field(description="`after` of the next page; null at the end")


def _manager(request: web.Request) -> TriggerManager:
    return TriggerManager(request.app[STORE], senders=list(request.app[SENDERS].keys()))


@routes.post("/api/v1/triggers")
@describe(
    "Create a trigger rule (checked: event, template, sender)",
    tag=TAG,
    body=TriggerCreate,
    response=TriggerOut,
    status=201,
    roles=CAMPAIGN_MANAGERS,
    errors=(409, 422),
)
async def create_trigger(request: web.Request) -> web.Response:
    """Pins the template version; the rule sends through a campaign of its own."""
    who = require(request, *CAMPAIGN_MANAGERS)
    body = await read_json(request, TriggerCreate)
    manager = _manager(request)
    row = await manager.create(
        TriggerSpec(
            name=body.name,
            kind=body.kind,
            params=body.params.model_dump(exclude_none=True),
            channel=body.channel,
            template_id=body.template_id,
            template_version=body.template_version,
            sender=body.sender,
            enabled=body.enabled,
        ),
        created_by=who.name,
    )
    (data,) = await manager.described([row])
    return created(TriggerOut, data, f"/api/v1/triggers/{row.id}")


@routes.get("/api/v1/triggers")
@describe("List trigger rules", tag=TAG, query=NoQuery, response=TriggerList, roles=CAMPAIGN_MANAGERS)
async def list_triggers(request: web.Request) -> web.Response:
    require(request, *CAMPAIGN_MANAGERS)
    parse_query(request, NoQuery)
    manager = _manager(request)
    rows = await request.app[STORE].triggers.list_all()
    return respond(TriggerList, {"items": await manager.described(rows)})


@routes.get("/api/v1/triggers/{id}")
@describe("Get a trigger rule", tag=TAG, response=TriggerOut, roles=CAMPAIGN_MANAGERS)
async def get_trigger(request: web.Request) -> web.Response:
    require(request, *CAMPAIGN_MANAGERS)
    rule_id = path_id(request, what="trigger")
    manager = _manager(request)
    (data,) = await manager.described([await request.app[STORE].triggers.get(rule_id)])
    return respond(TriggerOut, data)


def _switch(action: str, summary_text: str) -> None:
    """Declare ``POST /api/v1/triggers/{id}/{action}``: enable or disable."""

    async def handler(request: web.Request) -> web.Response:
        require(request, *CAMPAIGN_MANAGERS)
        rule_id = path_id(request, what="trigger")
        parse_query(request, NoQuery)
        manager = _manager(request)
        row = await (manager.enable(rule_id) if action == "enable" else manager.disable(rule_id))
        (data,) = await manager.described([row])
        return respond(TriggerOut, data)

    handler.__name__ = f"{action}_trigger"
    handler.__doc__ = summary_text
    described = describe(summary_text, tag=TAG, response=TriggerOut, roles=CAMPAIGN_MANAGERS)(
        handler
    )
    routes.post(f"/api/v1/triggers/{{id}}/{action}")(described)


_switch("enable", "Enable a rule: it fires again and its campaign sends")
_switch("disable", "Disable a rule: it fires no more; what it queued waits")


@routes.delete("/api/v1/triggers/{id}")
@describe(
    "Delete a rule and its firings; its campaign is cancelled",
    tag=TAG,
    response=TriggerOut,
    roles=CAMPAIGN_MANAGERS,
)
async def delete_trigger(request: web.Request) -> web.Response:
    require(request, *CAMPAIGN_MANAGERS)
    rule_id = path_id(request, what="trigger")
    manager = _manager(request)
    (data,) = await manager.described([await request.app[STORE].triggers.get(rule_id)])
    await manager.delete(rule_id)
    return respond(TriggerOut, data)


@routes.get("/api/v1/triggers/{id}/firings")
@describe(
    "A page of a rule's firings with what became of each message",
    tag=TAG,
    query=FiringQuery,
    response=FiringPage,
    roles=CAMPAIGN_MANAGERS,
)
async def list_firings(request: web.Request) -> web.Response:
    """Keyset pages by firing id: one statement per page."""
    require(request, *CAMPAIGN_MANAGERS)
    rule_id = path_id(request, what="trigger")
    query = parse_query(request, FiringQuery)
    rows = await _manager(request).firings(rule_id, after=query.after, limit=query.limit)
    next_after = rows[-1].id if len(rows) == query.limit else None
    return respond(FiringPage, {"items": [r.as_dict() for r in rows], "next_after": next_after})
