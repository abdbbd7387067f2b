"""Messenger dialogs: listed, opened with their thread, answered and marked read.

Visibility is the dialogs' own rule (`hub.activity.dialog_rules`): an admin sees every
dialog, a head their group's, an employee their own, and dialogs nobody owns yet are
seen by every head and employee; a dialog out of view is answered as a missing one.
A reply goes through the account's sender (`SENDERS`, keyed like the touch source) by
`hub.activity.dialog_replies`, the road the command line takes too.
"""

from __future__ import annotations

from aiohttp import web

from hub.activity import dialog_replies
from hub.activity.dialog_rules import source_for
from hub.activity.repos import DialogFilter
from hub.web.auth import ACTIVITY_READERS, require
from hub.web.keys import SENDERS, STORE
from hub.web.openapi import describe
from hub.web.parsing import parse_query, path_id, read_json, respond
from hub.web.schemas import (
    DialogOut,
    DialogPage,
    DialogQuery,
    DialogThread,
    NoQuery,
    PageQuery,
    ReplyIn,
    ReplySent,
)

routes = web.RouteTableDef()
TAG = "dialogs"


@routes.get("/api/v1/dialogs")
@describe(
    "List messenger dialogs, latest message first",
    tag=TAG,
    query=DialogQuery,
    response=DialogPage,
    roles=ACTIVITY_READERS,
)
async def list_dialogs(request: web.Request) -> web.Response:
    """The dialogs the caller sees, filtered and paged by cursor."""
    who = require(request, *ACTIVITY_READERS)
    query = parse_query(request, DialogQuery)
    dialogs = request.app[STORE].dialogs
    scope = await dialogs.scope(who)
    flt = DialogFilter(
        mine=query.mine,
        unanswered=query.unanswered,
        platform=query.channel,
        source=source_for(query.channel, query.account)
        if query.channel is not None and query.account is not None
        else None,
        # an account name alone: that name on whichever messenger has it
        account=query.account if query.channel is None else None,
    )
    page = await dialogs.list(scope, flt, limit=query.limit, cursor=query.cursor)
    return respond(DialogPage, {"items": page.items, "next_cursor": page.next_cursor})


@routes.get("/api/v1/dialogs/{id}")
@describe(
    "Get a dialog and a page of its messages, newest first",
    tag=TAG,
    query=PageQuery,
    response=DialogThread,
    roles=ACTIVITY_READERS,
)
async def get_dialog(request: web.Request) -> web.Response:
    """One dialog with its thread; pass `next_cursor` back for older messages."""
    who = require(request, *ACTIVITY_READERS)
    dialog_id = path_id(request, what="dialog")
    query = parse_query(request, PageQuery)
    dialogs = request.app[STORE].dialogs
    scope = await dialogs.scope(who)
    dialog, page = await dialogs.thread(dialog_id, scope, limit=query.limit, cursor=query.cursor)
    return respond(
        DialogThread, {"dialog": dialog, "messages": page.items, "next_cursor": page.next_cursor}
    )


@routes.post("/api/v1/dialogs/{id}/messages")
@describe(
    "Reply in a dialog; recorded as the caller's outgoing message before it is sent",
    tag=TAG,
    body=ReplyIn,
    response=ReplySent,
    status=201,
    roles=ACTIVITY_READERS,
    errors=(404, 422, 429, 502, 503, 504),
)
async def reply(request: web.Request) -> web.Response:
    """Sends through the dialog's account; 503 when that account has no sender here."""
    who = require(request, *ACTIVITY_READERS)
    dialog_id = path_id(request, what="dialog")
    body = await read_json(request, ReplyIn)
    dialogs = request.app[STORE].dialogs
    scope = await dialogs.scope(who)
    target = await dialogs.target(dialog_id, scope)
    sent = await dialog_replies.send(dialogs, request.app[SENDERS], scope, target, body.text)
    data = {
        "dialog_id": sent.dialog_id,
        "message_id": sent.result.external_id,
        "outcome": sent.result.outcome.value,
    }
    return respond(ReplySent, data, status=201)


@routes.post("/api/v1/dialogs/{id}/read")
@describe(
    "Mark a dialog read: its unread count drops to zero",
    tag=TAG,
    query=NoQuery,
    response=DialogOut,
    roles=ACTIVITY_READERS,
    errors=(404,),
)
async def mark_read(request: web.Request) -> web.Response:
    """Everything received so far counts as read by now."""
    who = require(request, *ACTIVITY_READERS)
    dialog_id = path_id(request, what="dialog")
    parse_query(request, NoQuery)
    dialogs = request.app[STORE].dialogs
    scope = await dialogs.scope(who)
    return respond(DialogOut, await dialogs.mark_read(dialog_id, scope))
