"""The SMS gateways' callbacks: delivery reports and incoming SMS, at `/hooks/sms/{gateway}/…`.

Each request must carry the gateway's shared token (`?token=` or the `X-Touchhub-Token`
header), compared in constant time: none → 401, a wrong one (or a gateway without a
token configured) → 403; both are logged and record nothing. Bodies and query strings are
size-limited; what cannot be parsed is a 400. A handler verifies, parses with the sans-IO
mapper, hands the result to the writer (`SINK`) and answers.

A delivery report is keyed by OUR message id, and the sender commits the outgoing touch
before it submits, so a report can never reach the store before its touch; a repeated
report changes nothing (the store keeps the furthest stage). An incoming SMS whose whole
text is an opt-out word is recorded with metadata ``{"opt_out": true}`` and answered with
one confirmation SMS through the gateway's own sender.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Mapping
from dataclasses import replace
from typing import Protocol, runtime_checkable
from urllib.parse import parse_qsl

from aiohttp import web

from hub.channels.plugin import SENDERS, SINK
from hub.channels.sms.http_profile import CallbackRefused
from hub.channels.sms.http_sender import CallbackRequest, HttpSender
from hub.channels.sms.kannel_protocol import parse_dlr, parse_mo
from hub.channels.sms.kannel_sender import TOKEN_PARAM, GatewayHooks, source_of
from hub.errors import ChannelError, ProtocolError
from hub.model import OPT_OUT_KEY, Channel, OutgoingMessage, Sender, Sink, Touch

logger = logging.getLogger(__name__)

#: Largest body or query string a gateway callback may have (Kannel's are a few hundred bytes).
MAX_CALLBACK_BYTES = 16 * 1024
#: Header that may carry the token instead of the query.
TOKEN_HEADER = "X-Touchhub-Token"

routes = web.RouteTableDef()


@runtime_checkable
class HookedSender(Sender, Protocol):
    """A gateway's sender that also knows its webhooks' token and opt-out rules."""

    hooks: GatewayHooks


def _gateway_sender(request: web.Request) -> HookedSender:
    name = request.match_info["gateway"]
    sender = request.app.get(SENDERS, {}).get(source_of(name))
    if not isinstance(sender, HookedSender):
        raise web.HTTPNotFound(text=f"no SMS gateway {name!r} takes callbacks here")
    return sender


async def _params(request: web.Request) -> dict[str, str]:
    """Query and (for POST) form fields, size-limited; undecodable input is a 400."""
    if len(request.query_string) > MAX_CALLBACK_BYTES:
        raise web.HTTPRequestURITooLong(text="query string too long")
    params = dict(request.query)
    if request.method == "POST":
        length = request.content_length
        if length is not None and length > MAX_CALLBACK_BYTES:
            raise web.HTTPRequestEntityTooLarge(max_size=MAX_CALLBACK_BYTES, actual_size=length)
        body = await request.content.read(MAX_CALLBACK_BYTES + 1)
        if len(body) > MAX_CALLBACK_BYTES:
            raise web.HTTPRequestEntityTooLarge(max_size=MAX_CALLBACK_BYTES, actual_size=len(body))
        if body:
            try:
                form = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=True)
            except (UnicodeDecodeError, ValueError) as exc:
                raise web.HTTPBadRequest(text=f"body is not a UTF-8 form: {exc}") from exc
            params.update(form)
    return params


def _check_token(request: web.Request, hooks: GatewayHooks, params: Mapping[str, str]) -> None:
    """Constant-time comparison of the token; 401 without one, 403 for a wrong one."""
    given = params.get(TOKEN_PARAM) or request.headers.get(TOKEN_HEADER)
    peer = request.remote or "?"
    if not given:
        logger.warning("%s: callback %s from %s without a token refused", hooks.source, request.path, peer)
        raise web.HTTPUnauthorized(text="token required")
    if hooks.secret is None or not hmac.compare_digest(
        given.encode("utf-8"), hooks.secret.encode("utf-8")
    ):
        logger.warning("%s: callback %s from %s with a wrong token refused", hooks.source, request.path, peer)
        raise web.HTTPForbidden(text="token refused")


def _sink(request: web.Request) -> Sink:
    sink = request.app.get(SINK)
    if sink is None:
        raise web.HTTPServiceUnavailable(text="the hub is not recording")
    return sink


def _check_source(request: web.Request, hooks: GatewayHooks) -> None:
    """The gateway's allow-list, when it has one: 403 for any other peer."""
    if not hooks.allows(request.remote):
        logger.warning("%s: callback %s from %s (not allowed) refused", hooks.source, request.path, request.remote)
        raise web.HTTPForbidden(text="source address not allowed")


async def _body(request: web.Request) -> bytes:
    length = request.content_length
    if length is not None and length > MAX_CALLBACK_BYTES:
        raise web.HTTPRequestEntityTooLarge(max_size=MAX_CALLBACK_BYTES, actual_size=length)
    body = await request.content.read(MAX_CALLBACK_BYTES + 1)
    if len(body) > MAX_CALLBACK_BYTES:
        raise web.HTTPRequestEntityTooLarge(max_size=MAX_CALLBACK_BYTES, actual_size=len(body))
    return body


async def _profile_callback(request: web.Request, sender: HttpSender, kind: str) -> web.Response:
    """A callback of an HTTP provider: verified and read as its profile says."""
    _check_source(request, sender.hooks)
    if len(request.query_string) > MAX_CALLBACK_BYTES:
        raise web.HTTPRequestURITooLong(text="query string too long")
    body = await _body(request) if request.method == "POST" else b""
    form: dict[str, str] = {}
    if body and sender.profile.callbacks.content == "form":
        try:
            form = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=True))
        except (UnicodeDecodeError, ValueError) as exc:
            raise web.HTTPBadRequest(text=f"body is not a UTF-8 form: {exc}") from exc
    public = sender.account.public_url
    url = f"{public}{request.path_qs}" if public else str(request.url)
    callback = CallbackRequest(
        path_kind=kind, url=url, query=dict(request.query), form=form, headers=request.headers, body=body
    )
    try:
        outcome = await sender.callback(callback)
    except CallbackRefused as exc:
        logger.warning("%s: callback %s from %s refused: %s", sender.source, request.path, request.remote, exc)
        raise (web.HTTPUnauthorized if exc.unsigned else web.HTTPForbidden)(text=str(exc)) from exc
    except ProtocolError as exc:
        logger.warning("%s: callback %s from %s not understood: %s", sender.source, request.path, request.remote, exc)
        raise web.HTTPBadRequest(text=str(exc)) from exc
    sink = _sink(request)
    for item in outcome.items:
        await sink.put(item)
    for touch in outcome.confirm:
        await _confirm(sender, touch)
    callbacks = sender.profile.callbacks
    return web.Response(text=callbacks.reply, content_type=callbacks.reply_content_type)


async def _confirm(sender: HookedSender, touch: Touch) -> None:
    """One confirmation SMS for an opt-out (its id derives from the incoming one)."""
    reply = sender.hooks.opt_out_reply
    if not reply:
        return
    confirmation = OutgoingMessage(
        channel=Channel.SMS,
        to=touch.counterparts,
        body=reply,
        message_id=f"optout-{touch.external_id}",  # one confirmation per incoming SMS
        metadata={"reply_to": touch.external_id},
    )
    try:
        await sender.send(confirmation)
    except ChannelError as exc:  # the opt-out is recorded; a lost confirmation is only logged
        logger.warning("%s: opt-out confirmation not sent: %s", sender.hooks.source, exc)


async def _verified(request: web.Request) -> tuple[HookedSender, dict[str, str]]:
    sender = _gateway_sender(request)
    _check_source(request, sender.hooks)
    params = await _params(request)
    _check_token(request, sender.hooks, params)
    params.pop(TOKEN_PARAM, None)
    return sender, params


@routes.get("/hooks/sms/{gateway}/dlr", allow_head=False)
@routes.post("/hooks/sms/{gateway}/dlr")
async def delivery_report(request: web.Request) -> web.Response:
    """A delivery report on our dlr-url → the status update of our message."""
    gateway = _gateway_sender(request)
    if isinstance(gateway, HttpSender):
        return await _profile_callback(request, gateway, "dlr")
    sender, params = await _verified(request)
    try:
        update = parse_dlr(params, source=sender.hooks.source)
    except ProtocolError as exc:
        raise web.HTTPBadRequest(text=str(exc)) from exc
    await _sink(request).put(update)
    return web.Response(text="ok")


def opted_out(touch: Touch) -> Touch:
    """The incoming touch marked as an opt-out; recording it suppresses the number."""
    return replace(touch, metadata={**touch.metadata, OPT_OUT_KEY: True})


@routes.get("/hooks/sms/{gateway}/mo", allow_head=False)
@routes.post("/hooks/sms/{gateway}/mo")
async def incoming(request: web.Request) -> web.Response:
    """An incoming SMS → an inbound touch; an opt-out word also gets one confirmation SMS."""
    gateway = _gateway_sender(request)
    if isinstance(gateway, HttpSender):
        return await _profile_callback(request, gateway, "mo")
    sender, params = await _verified(request)
    try:
        touch = parse_mo(params, source=sender.hooks.source)
    except ProtocolError as exc:
        raise web.HTTPBadRequest(text=str(exc)) from exc
    opt_out = sender.hooks.is_opt_out(touch.preview or "")
    if opt_out:
        touch = opted_out(touch)
    await _sink(request).put(touch)
    if opt_out:
        await _confirm(sender, touch)
    return web.Response(text="")
