"""Campaigns under `/api/v1/campaigns`: create, read with counts, list, start, pause, resume,
cancel, resend the unknown, the figures (`hub.campaigns.stats`, as `touchhub campaign
status` prints them) and the recipients page by page.

The rules are `hub.campaigns.manager.CampaignManager`'s, the ones `touchhub campaign`
uses; this module reads requests and shapes answers. Marketers and admins manage
campaigns. A recipients page is one statement (keyset on the recipient id).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from aiohttp import web
from pydantic import ConfigDict, Field

from hub.activity.repos.base import MAX_NAME
from hub.activity.repos.campaigns import CampaignRow, CampaignState, RecipientState
from hub.campaigns.manager import MAX_THROTTLE, CampaignManager, CampaignSpec, Summary
from hub.campaigns.stats import campaign_stats
from hub.web.auth import ADMIN, MARKETER, require
from hub.web.keys import SENDERS, STORE
from hub.web.openapi import describe
from hub.web.parsing import created, parse_query, path_id, read_json, respond
from hub.web.schemas import Body as BodyModel
from hub.web.schemas import BodyId, Limit, Name, NoQuery, Out, Query, SegmentDefinition, UtcDatetime

routes = web.RouteTableDef()
TAG = "campaigns"
#: Who may manage campaigns.
CAMPAIGN_MANAGERS = (ADMIN, MARKETER)
RECIPIENTS_LIMIT = 100

SenderKey = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.:-]+$")]


#: What JSON Schema can say of a campaign's choices: exactly one of a saved and an inline
#: segment, and the schedule's own field (null counts as absent).
_CHOICES: dict[str, Any] = {
    "allOf": [
        {
            "oneOf": [
                {"required": ["segment_id"], "properties": {"segment_id": {"type": "integer"}, "segment": {"type": "null"}}},
                {"required": ["segment"], "properties": {"segment": {"type": "object"}, "segment_id": {"type": "null"}}},
            ]
        },
        {
            "oneOf": [
                {"properties": {"schedule": {"const": "now"}, "send_at": {"type": "null"}, "local_hour": {"type": "null"}}},
                {"required": ["schedule", "send_at"], "properties": {"schedule": {"const": "at"}, "send_at": {"type": "string"}, "local_hour": {"type": "null"}}},
                {"required": ["schedule", "local_hour"], "properties": {"schedule": {"const": "local_hour"}, "local_hour": {"type": "integer"}, "send_at": {"type": "null"}}},
            ]
        },
    ]
}  # fmt: skip


class CampaignCreate(BodyModel):
    """A campaign to save as a draft; exactly one of `segment_id` and `segment`."""

    model_config = ConfigDict(json_schema_extra=_CHOICES)

    name: Annotated[Name, Field(max_length=MAX_NAME)]
    channel: Literal["email", "sms"] = "email"
    template_id: BodyId
    template_version: BodyId | None = Field(None, description="default: the newest, pinned now")
    segment_id: BodyId | None = Field(None, description="a saved segment")
    segment: SegmentDefinition | None = Field(None, description="an inline filter (decision 0020)")
    sender: SenderKey = Field(description="account or gateway: `sales` or `email:sales`")
    schedule: Literal["now", "at", "local_hour"] = "now"
    send_at: UtcDatetime | None = Field(None, description="with schedule `at`")
    local_hour: int | None = Field(None, ge=0, le=23, description="with schedule `local_hour`")
    throttle_per_s: float | None = Field(None, gt=0, le=MAX_THROTTLE)


class CampaignOut(Out):
    """A campaign and its recipients per state (`skipped` per reason)."""

    id: int
    name: str
    channel: str
    state: str
    template_id: int
    template_version: int
    segment_id: int | None
    segment: dict[str, Any]
    sender: str
    schedule: str
    send_at: datetime | None
    local_hour: int | None
    throttle_per_s: float | None
    created_by: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    counts: dict[str, int]
    skipped: dict[str, int] = Field(default_factory=dict)
    total: int


class CampaignList(Out):
    items: list[CampaignOut]


class CampaignListQuery(Query):
    state: CampaignState | None = None


class ResendOut(CampaignOut):
    """The campaign after its unknown recipients were offered again."""

    resent: int


class RecipientQuery(Query):
    """A page of recipients after the id `after` (pass `next_after` back)."""

    after: Annotated[int, Field(ge=0)] = 0
    limit: Limit = RECIPIENTS_LIMIT
    state: RecipientState | None = None


class RecipientOut(Out):
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


class RecipientPage(Out):
    items: list[RecipientOut]
    next_after: int | None = Field(description="`after` of the next page; null at the end")


def _manager(request: web.Request) -> CampaignManager:
    store = request.app[STORE]
    senders = request.app[SENDERS]
    return CampaignManager(store, senders=list(senders.keys()), tz=store.tz)


def _data(summary: Summary) -> dict[str, Any]:
    return summary.as_dict()


def _row(campaign: CampaignRow, counts: dict[str, int]) -> dict[str, Any]:
    return Summary(campaign=campaign, counts=counts, skipped={}).as_dict()


@routes.post("/api/v1/campaigns")
@describe(
    "Create a draft campaign (checked: template, segment, sender, schedule)",
    tag=TAG,
    body=CampaignCreate,
    response=CampaignOut,
    status=201,
    roles=CAMPAIGN_MANAGERS,
    errors=(409, 422),
)
async def create_campaign(request: web.Request) -> web.Response:
    """Pins the template version; nothing is sent before `start`."""
    who = require(request, *CAMPAIGN_MANAGERS)
    body = await read_json(request, CampaignCreate)
    manager = _manager(request)
    row = await manager.create(
        CampaignSpec(
            name=body.name,
            channel=body.channel,
            template_id=body.template_id,
            template_version=body.template_version,
            segment_id=body.segment_id,
            segment=body.segment,
            sender=body.sender,
            schedule=body.schedule,
            send_at=body.send_at,
            local_hour=body.local_hour,
            throttle_per_s=body.throttle_per_s,
        ),
        created_by=who.name,
    )
    return created(CampaignOut, _data(await manager.summary(row.id)), f"/api/v1/campaigns/{row.id}")


@routes.get("/api/v1/campaigns")
@describe(
    "List campaigns with their counts",
    tag=TAG,
    query=CampaignListQuery,
    response=CampaignList,
    roles=CAMPAIGN_MANAGERS,
)
async def list_campaigns(request: web.Request) -> web.Response:
    """Newest first; two statements whatever the number of campaigns."""
    require(request, *CAMPAIGN_MANAGERS)
    query = parse_query(request, CampaignListQuery)
    repo = request.app[STORE].campaigns
    rows = await repo.list_all(state=query.state.value if query.state else None)
    counts = await repo.counts_of([r.id for r in rows])
    return respond(CampaignList, {"items": [_row(r, counts[r.id]) for r in rows]})


@routes.get("/api/v1/campaigns/{id}")
@describe("Get a campaign with its counts", tag=TAG, response=CampaignOut, roles=CAMPAIGN_MANAGERS)
async def get_campaign(request: web.Request) -> web.Response:
    require(request, *CAMPAIGN_MANAGERS)
    campaign_id = path_id(request, what="campaign")
    return respond(CampaignOut, _data(await _manager(request).summary(campaign_id)))


def _transition(action: str, summary_text: str) -> None:
    """Declare ``POST /api/v1/campaigns/{id}/{action}``: one state change by the manager."""
    async def handler(request: web.Request) -> web.Response:
        require(request, *CAMPAIGN_MANAGERS)
        campaign_id = path_id(request, what="campaign")
        parse_query(request, NoQuery)
        manager = _manager(request)
        if action == "start":
            await manager.start(campaign_id)
        elif action == "pause":
            await manager.pause(campaign_id)
        elif action == "resume":
            await manager.resume(campaign_id)
        else:
            await manager.cancel(campaign_id)
        return respond(CampaignOut, _data(await manager.summary(campaign_id)))

    handler.__name__ = f"{action}_campaign"
    handler.__doc__ = summary_text
    described = describe(
        summary_text, tag=TAG, response=CampaignOut, roles=CAMPAIGN_MANAGERS, errors=(409,)
    )(handler)
    routes.post(f"/api/v1/campaigns/{{id}}/{action}")(described)


_transition("start", "Snapshot the recipients and start sending")
_transition("pause", "Pause sending; messages already offered are recorded")
_transition("resume", "Resume a paused campaign")
_transition("cancel", "Cancel: nothing more is sent, open recipients are skipped")


@routes.post("/api/v1/campaigns/{id}/resend-unknown")
@describe(
    "Offer again the recipients whose outcome a crash hid (some may get a second copy)",
    tag=TAG,
    response=ResendOut,
    roles=CAMPAIGN_MANAGERS,
    errors=(409,),
)
async def resend_unknown(request: web.Request) -> web.Response:
    require(request, *CAMPAIGN_MANAGERS)
    campaign_id = path_id(request, what="campaign")
    manager = _manager(request)
    resent = await manager.resend_unknown(campaign_id)
    return respond(ResendOut, {**_data(await manager.summary(campaign_id)), "resent": resent})


class StatsOut(Out):
    """Recipients per outcome: sent (then delivered, bounced, unsubscribed, replied),
    failed, and those still pending, deferred, sending or unknown."""

    total: int
    sent: int
    delivered: int = Field(description="the message's touch reached delivered or read")
    bounced: int = Field(description="a hard bounce, at send time or later")
    soft_bounced: int = Field(description="only temporary bounces")
    failed: int
    unsubscribed: int = Field(description="addresses unsubscribed or opted out by this campaign")
    replied: int = Field(description="an inbound letter or SMS from the contact after the send")
    pending: int
    deferred: int
    sending: int
    unknown: int
    skipped: int


@routes.get("/api/v1/campaigns/{id}/stats")
@describe(
    "A campaign's figures: sent, delivered, bounced, failed, unsubscribed, replied, open",
    tag=TAG,
    query=NoQuery,
    response=StatsOut,
    roles=CAMPAIGN_MANAGERS,
)
async def get_stats(request: web.Request) -> web.Response:
    """Six statements whatever the number of recipients."""
    require(request, *CAMPAIGN_MANAGERS)
    campaign_id = path_id(request, what="campaign")
    parse_query(request, NoQuery)
    found = await campaign_stats(request.app[STORE], campaign_id)
    return respond(StatsOut, found.as_dict())


@routes.get("/api/v1/campaigns/{id}/recipients")
@describe(
    "A page of a campaign's recipients with their state",
    tag=TAG,
    query=RecipientQuery,
    response=RecipientPage,
    roles=CAMPAIGN_MANAGERS,
)
async def list_recipients(request: web.Request) -> web.Response:
    """Keyset pages by recipient id: one statement per page."""
    require(request, *CAMPAIGN_MANAGERS)
    campaign_id = path_id(request, what="campaign")
    query = parse_query(request, RecipientQuery)
    store = request.app[STORE]
    await store.campaigns.get(campaign_id)
    rows = await store.campaigns.recipients(
        campaign_id,
        after=query.after,
        limit=query.limit,
        state=query.state.value if query.state else None,
    )
    items = [
        {name: getattr(r, name) for name in RecipientOut.model_fields} for r in rows
    ]
    next_after = rows[-1].id if len(rows) == query.limit else None
    return respond(RecipientPage, {"items": items, "next_after": next_after})

