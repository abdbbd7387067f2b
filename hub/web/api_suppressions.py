"""Suppressions over the API: `GET/POST /api/v1/suppressions`, `DELETE /api/v1/suppressions/{id}`.

Who may do what is `hub.activity.suppression_access` (the CLI asks the same rule):
admins, heads and marketers read; admins and marketers add; only admins lift. Lifting
keeps the record (who, when) and answers with it.
"""

from __future__ import annotations

from aiohttp import web

from hub.activity.repos import Reason
from hub.activity.suppression_access import ALLOWED, SuppressionAction, check
from hub.model import Channel
from hub.web.auth import principal
from hub.web.keys import STORE
from hub.web.openapi import describe
from hub.web.parsing import parse_query, path_id, read_json, respond
from hub.web.schemas import SuppressionCreate, SuppressionOut, SuppressionPage, SuppressionQuery

routes = web.RouteTableDef()
TAG = "suppressions"
_STATE = {"active": True, "lifted": False, "all": None}


@routes.get("/api/v1/suppressions")
@describe(
    "List suppressions (active ones by default), newest first",
    tag=TAG,
    query=SuppressionQuery,
    response=SuppressionPage,
    roles=ALLOWED[SuppressionAction.READ],
)
async def list_suppressions(request: web.Request) -> web.Response:
    """Addresses campaigns skip, and why."""
    check(principal(request), SuppressionAction.READ)
    query = parse_query(request, SuppressionQuery)
    items, total = await request.app[STORE].suppressions.search(
        channel=Channel(query.channel) if query.channel else None,
        address=query.address,
        active=_STATE[query.state],
        campaign_id=query.campaign,
        limit=query.limit,
        offset=query.offset,
    )
    return respond(SuppressionPage, {"items": [s.as_dict() for s in items], "total": total})


@routes.post("/api/v1/suppressions")
@describe(
    "Suppress an address by hand (an address already suppressed answers 200 with it)",
    tag=TAG,
    body=SuppressionCreate,
    response=SuppressionOut,
    status=201,
    also=(200,),
    roles=ALLOWED[SuppressionAction.ADD],
)
async def add_suppression(request: web.Request) -> web.Response:
    """Stops campaigns to the address; a note goes on the contact that has it."""
    who = check(principal(request), SuppressionAction.ADD)
    body = await read_json(request, SuppressionCreate)
    done = await request.app[STORE].suppressions.suppress(
        channel=Channel(body.channel),
        address=body.address,
        reason=Reason(body.reason),
        detail=body.detail,
        by=who.name,
    )
    return respond(SuppressionOut, done.suppression.as_dict(), status=201 if done.created else 200)


@routes.delete("/api/v1/suppressions/{id}")
@describe(
    "Lift a suppression (admins only): campaigns may send to the address again",
    tag=TAG,
    response=SuppressionOut,
    roles=ALLOWED[SuppressionAction.LIFT],
)
async def lift_suppression(request: web.Request) -> web.Response:
    """Keeps the record with who lifted it and when; lifting twice changes nothing."""
    who = check(principal(request), SuppressionAction.LIFT)
    suppression_id = path_id(request, what="suppression")
    lifted = await request.app[STORE].suppressions.lift(suppression_id, by=who.name)
    return respond(SuppressionOut, lifted.as_dict())
