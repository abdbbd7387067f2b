"""Telegram's webhook: ``POST /hooks/messengers/telegram/{name}``.

Telegram sends the secret token we gave setWebhook in ``X-Telegram-Bot-Api-Secret-Token``;
it is compared in constant time before the body is read: none → 401, a wrong one → 403,
a bot that takes no webhook → 404. Bodies above `MAX_UPDATE_BYTES` are a 413, a body that
is not a JSON object a 400; none of these records anything. A verified update is queued in
the bot's inbox and answered 200 at once; a full inbox is a 503, and Telegram delivers
the update again later.
"""

from __future__ import annotations

import hmac
import logging

from aiohttp import web

from hub.channels.messengers.telegram_sender import TelegramSender
from hub.channels.messengers.telegram_updates import parse_body, source_of
from hub.channels.plugin import SENDERS
from hub.errors import ProtocolError

logger = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
#: Largest update body taken (a message with a long text and a caption is a few KiB).
MAX_UPDATE_BYTES = 256 * 1024

routes = web.RouteTableDef()


def _bot(request: web.Request) -> TelegramSender:
    name = request.match_info["name"]
    sender = request.app.get(SENDERS, {}).get(source_of(name))
    if not isinstance(sender, TelegramSender) or sender.hooks.secret is None:
        raise web.HTTPNotFound(text=f"no Telegram bot {name!r} takes webhooks here")
    return sender


def _verify(request: web.Request, sender: TelegramSender) -> None:
    secret = sender.hooks.secret
    assert secret is not None
    given = request.headers.get(SECRET_HEADER)
    peer = request.remote or "?"
    if not given:
        logger.warning("%s: webhook from %s without a secret token refused", sender.source, peer)
        raise web.HTTPUnauthorized(text="secret token required")
    if not hmac.compare_digest(given.encode("utf-8"), secret.encode("utf-8")):
        logger.warning("%s: webhook from %s with a wrong secret token refused", sender.source, peer)
        raise web.HTTPForbidden(text="secret token refused")


async def _body(request: web.Request) -> bytes:
    length = request.content_length
    if length is not None and length > MAX_UPDATE_BYTES:
        raise web.HTTPRequestEntityTooLarge(max_size=MAX_UPDATE_BYTES, actual_size=length)
    body = await request.content.read(MAX_UPDATE_BYTES + 1)
    if len(body) > MAX_UPDATE_BYTES:
        raise web.HTTPRequestEntityTooLarge(max_size=MAX_UPDATE_BYTES, actual_size=len(body))
    return body


@routes.post("/hooks/messengers/telegram/{name}")
async def telegram_update(request: web.Request) -> web.Response:
    """Verify, queue, answer: the bot's inbox writes the update."""
    sender = _bot(request)
    _verify(request, sender)
    try:
        update = parse_body(await _body(request))
    except ProtocolError as exc:
        raise web.HTTPBadRequest(text=str(exc)) from exc
    if not sender.inbox.offer(update):
        raise web.HTTPServiceUnavailable(text="busy; deliver again later")
    return web.json_response({"ok": True})
