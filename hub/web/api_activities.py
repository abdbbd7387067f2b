"""Activities (filtered, cursor-paged, limited to what the caller may see) and interactions.

Visibility: an admin sees everything, a head their subtree, an employee their own;
marketers work with contacts only and get 403 here. An activity outside the caller's
view is a 403, so it is never shown nor changed. A contact named in a body must be one
the caller may see (decision 0024); an unseen one is answered as a missing one.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from hub.activity import ActivityFilter, ActivityStore, Principal
from hub.errors import NotFound, PermissionDenied, UnknownReference
from hub.model import Channel, Direction
from hub.web.auth import ACTIVITY_READERS, contact_access, require, visible_employees
from hub.web.keys import STORE
from hub.web.openapi import describe
from hub.web.parsing import created, parse_query, path_id, read_json, respond
from hub.web.references import referenced_employee
from hub.web.schemas import (
    ActivityDetail,
    ActivityPage,
    ActivityQuery,
    CompleteIn,
    InteractionCreate,
)

routes = web.RouteTableDef()
TAG = "activities"


async def visible_activity(
    store: ActivityStore, who: Principal, activity_id: int
) -> dict[str, Any]:
    """An activity the caller may see; `PermissionDenied` when it is someone else's."""
    row = await store.activities.get(activity_id)
    visible = await visible_employees(store, who)
    if visible is not None and row["employee_id"] not in visible:
        raise PermissionDenied(f"activity #{activity_id} belongs to someone you don't manage")
    return row


async def readable_contact_ref(store: ActivityStore, who: Principal, contact_id: int) -> int:
    """The id `contact_id` leads to (after merges) if the caller may see that contact.

    One out of view is answered like a missing one: a 404 on `contact_id`."""
    try:
        contact = await store.contacts.get(contact_id)
        (await contact_access(store, who)).check_read(contact_id, contact["owner_employee_id"])
    except NotFound as exc:
        raise UnknownReference(
            f"contact_id: contact #{contact_id} does not exist", field="contact_id"
        ) from exc
    return int(contact["id"])


@routes.get("/api/v1/activities")
@describe(
    "List activities with filters, newest first",
    tag=TAG,
    query=ActivityQuery,
    response=ActivityPage,
    roles=ACTIVITY_READERS,
)
async def list_activities(request: web.Request) -> web.Response:
    """The activity feed, filtered and paged by cursor, limited to what the caller may see."""
    who = require(request, *ACTIVITY_READERS)
    query = parse_query(request, ActivityQuery)
    store = request.app[STORE]
    employees = await visible_employees(store, who)
    if query.employee is not None:
        if employees is not None and query.employee not in employees:
            raise PermissionDenied(
                f"employee #{query.employee}'s activities are outside what you may see"
            )
        employees = frozenset({query.employee})
    flt = ActivityFilter(
        contact_id=query.contact,
        employee_ids=employees,
        channel=query.channel,
        direction=query.direction,
        status=query.status,
        since=query.since,
        until=query.until,
    )
    page = await store.activities.list(flt, limit=query.limit, cursor=query.cursor)
    return respond(ActivityPage, {"items": page.items, "next_cursor": page.next_cursor})


@routes.get("/api/v1/activities/{id}")
@describe("Get an activity", tag=TAG, response=ActivityDetail, roles=ACTIVITY_READERS)
async def get_activity(request: web.Request) -> web.Response:
    """One activity with its status history (sent → delivered → read …)."""
    who = require(request, *ACTIVITY_READERS)
    activity_id = path_id(request, what="activity")
    return respond(ActivityDetail, await visible_activity(request.app[STORE], who, activity_id))


@routes.post("/api/v1/interactions")
@describe(
    "Plan or log a meeting, task, call or note",
    tag=TAG,
    body=InteractionCreate,
    response=ActivityDetail,
    status=201,
    roles=ACTIVITY_READERS,
)
async def create_interaction(request: web.Request) -> web.Response:
    """Records what happened off the wire; with `due_at` it is planned until completed."""
    who = require(request, *ACTIVITY_READERS)
    body = await read_json(request, InteractionCreate)
    store = request.app[STORE]
    employee_id = body.employee_id if body.employee_id is not None else who.employee_id
    visible = await visible_employees(store, who)
    if visible is not None and employee_id not in visible:
        raise PermissionDenied(
            f"you may not plan for employee #{employee_id}"
            if employee_id is not None
            else "an interaction you create must belong to an employee"
        )
    if body.employee_id is not None:
        await referenced_employee(store, body.employee_id, "employee_id")
    contact_id = None
    if body.contact_id is not None:
        contact_id = await readable_contact_ref(store, who, body.contact_id)
    activity_id = await store.activities.add_interaction(
        channel=Channel(body.channel),
        employee_id=employee_id,
        contact_id=contact_id,
        subject=body.subject,
        due_at=body.due_at,
        occurred_at=body.occurred_at,
        duration_s=body.duration_s,
        direction=Direction(body.direction),
    )
    return created(
        ActivityDetail, await store.activities.get(activity_id), f"/api/v1/activities/{activity_id}"
    )


@routes.post("/api/v1/interactions/{id}/complete")
@describe(
    "Complete a planned interaction with its result",
    tag=TAG,
    body=CompleteIn,
    response=ActivityDetail,
    roles=ACTIVITY_READERS,
    errors=(409,),
)
async def complete_interaction(request: web.Request) -> web.Response:
    """Closes a planned meeting, task or call-back with what came of it."""
    who = require(request, *ACTIVITY_READERS)
    activity_id = path_id(request, what="activity")
    body = await read_json(request, CompleteIn)
    store = request.app[STORE]
    await visible_activity(store, who, activity_id)
    done = await store.activities.complete(activity_id, result=body.result, at=body.at, who=who)
    return respond(ActivityDetail, done)
