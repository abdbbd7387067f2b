"""Webhooks of the messengers: Telegram's, the WhatsApp Cloud API's, VK's and Viber's.

VK (``POST /hooks/messengers/vk/{name}``, the Callback API): the body's ``secret`` must be
the server's secret key (none 401 — only the ``confirmation`` event may come without it —,
wrong 403) and its ``group_id`` our community (403); the ``confirmation`` event is answered
with the confirmation string, every other event is queued and answered ``ok`` at once.

Viber (``POST /hooks/messengers/viber/{name}``): ``X-Viber-Content-Signature``, the auth
token's HMAC-SHA256 of the raw body, is checked before the body is parsed (none 401, wrong
403); a callback older than `max_age_s` is refused as a replay (400); the rest is queued
and answered 200 (the ``webhook`` check of set_webhook too).

Bodies above `MAX_UPDATE_BYTES` are a 413 and unparsable ones a 400 on every route; nothing
refused is recorded, and a full inbox is a 503 (the platform delivers again).

WhatsApp (``/hooks/messengers/whatsapp/{name}``): GET is Meta's subscription handshake
(``hub.challenge`` echoed when ``hub.verify_token`` is ours, else 403); POST must carry
``X-Hub-Signature-256``, the app secret's HMAC of the raw body (none 401, wrong 403),
checked before the body is parsed; a body that is not a notification is 400, one whose
every timestamp is older than `max_age_s` is refused as a replay (400); then the
notification is queued and answered 200. Nothing refused is recorded.

Telegram: ``POST /hooks/messengers/telegram/{name}``.

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
from datetime import timedelta

from aiohttp import web

from hub.channels.messengers.telegram_sender import TelegramSender
from hub.channels.messengers.telegram_updates import parse_body, source_of
from hub.channels.messengers.viber_payload import parse_callback
from hub.channels.messengers.viber_payload import signature_ok as viber_signature_ok
from hub.channels.messengers.viber_payload import source_of as viber_source
from hub.channels.messengers.viber_sender import ViberSender
from hub.channels.messengers.vk_payload import CONFIRMATION as VK_CONFIRMATION
from hub.channels.messengers.vk_payload import OK as VK_OK
from hub.channels.messengers.vk_payload import parse_event as parse_vk_event
from hub.channels.messengers.vk_payload import secret_ok as vk_secret_ok
from hub.channels.messengers.vk_payload import source_of as vk_source
from hub.channels.messengers.vk_sender import CONFIRMED_KEY, VkSender
from hub.channels.messengers.whatsapp_payload import (
    parse_notification,
    signature_ok,
    subscription_challenge,
)
from hub.channels.messengers.whatsapp_payload import source_of as whatsapp_source
from hub.channels.messengers.whatsapp_sender import SUBSCRIBED_KEY, WhatsAppSender
from hub.channels.plugin import SENDERS, SINK
from hub.errors import ProtocolError
from hub.model import Checkpoint, utcnow

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


# -- WhatsApp Cloud API -------------------------------------------------------------------

SIGNATURE_HEADER = "X-Hub-Signature-256"


def _number(request: web.Request) -> WhatsAppSender:
    name = request.match_info["name"]
    sender = request.app.get(SENDERS, {}).get(whatsapp_source(name))
    if not isinstance(sender, WhatsAppSender):
        raise web.HTTPNotFound(text=f"no WhatsApp number {name!r} takes webhooks here")
    return sender


@routes.get("/hooks/messengers/whatsapp/{name}", allow_head=False)
async def whatsapp_subscribe(request: web.Request) -> web.Response:
    """Meta's subscription handshake: echo hub.challenge when hub.verify_token is ours."""
    sender = _number(request)
    challenge = subscription_challenge(request.query, sender.hooks.verify_token)
    if challenge is None:
        logger.warning("%s: subscription with a wrong verify token refused", sender.source)
        raise web.HTTPForbidden(text="verify token refused")
    sink = request.app.get(SINK)
    if sink is not None:  # for health: Meta has our webhook
        await sink.put(Checkpoint(source=sender.source, key=SUBSCRIBED_KEY, value=utcnow().isoformat()))
    return web.Response(text=challenge)


@routes.post("/hooks/messengers/whatsapp/{name}")
async def whatsapp_notification(request: web.Request) -> web.Response:
    """Verify the signature of the raw body, refuse stale replays, queue, answer 200."""
    sender = _number(request)
    body = await _body(request)
    header = request.headers.get(SIGNATURE_HEADER)
    if not header:
        logger.warning("%s: notification without a signature refused", sender.source)
        raise web.HTTPUnauthorized(text="signature required")
    if not signature_ok(sender.hooks.app_secret.encode(), body, header):
        logger.warning("%s: notification with a wrong signature refused", sender.source)
        raise web.HTTPForbidden(text="signature refused")
    try:
        data = parse_body(body)
        note = parse_notification(
            data, account=sender.hooks.account, phone_number_id=sender.hooks.phone_number_id
        )
    except ProtocolError as exc:
        raise web.HTTPBadRequest(text=str(exc)) from exc
    if note.newest is not None and utcnow() - note.newest > timedelta(seconds=sender.hooks.max_age_s):
        logger.warning("%s: stale notification (newest %s) refused", sender.source, note.newest)
        raise web.HTTPBadRequest(text="stale notification")
    if not sender.inbox.offer(note):
        raise web.HTTPServiceUnavailable(text="busy; deliver again later")
    return web.json_response({"ok": True})


# -- VK Callback API ----------------------------------------------------------------------


def _community(request: web.Request) -> VkSender:
    name = request.match_info["name"]
    sender = request.app.get(SENDERS, {}).get(vk_source(name))
    if not isinstance(sender, VkSender):
        raise web.HTTPNotFound(text=f"no VK community {name!r} takes events here")
    return sender


@routes.post("/hooks/messengers/vk/{name}")
async def vk_event(request: web.Request) -> web.Response:
    """Check the group and the secret key, answer the confirmation string or queue and
    answer ``ok``."""
    sender = _community(request)
    hooks = sender.hooks
    try:
        data = parse_body(await _body(request))
    except ProtocolError as exc:
        raise web.HTTPBadRequest(text=str(exc)) from exc
    if "secret" not in data and data.get("type") != VK_CONFIRMATION:
        logger.warning("%s: event without the secret key refused", sender.source)
        raise web.HTTPUnauthorized(text="secret key required")
    if "secret" in data and not vk_secret_ok(data, hooks.secret):
        logger.warning("%s: event with a wrong secret key refused", sender.source)
        raise web.HTTPForbidden(text="secret key refused")
    try:
        event = parse_vk_event(data, account=hooks.account)
    except ProtocolError as exc:
        raise web.HTTPBadRequest(text=str(exc)) from exc
    if event.group_id != hooks.group_id:
        logger.warning("%s: event for group %s refused", sender.source, event.group_id)
        raise web.HTTPForbidden(text="not our community")
    if event.type == VK_CONFIRMATION:
        sink = request.app.get(SINK)
        if sink is not None:  # for health: VK has our server
            await sink.put(Checkpoint(source=sender.source, key=CONFIRMED_KEY, value=utcnow().isoformat()))
        return web.Response(text=hooks.confirmation)
    if event.items and not sender.inbox.offer(event):
        raise web.HTTPServiceUnavailable(text="busy; deliver again later")
    return web.Response(text=VK_OK)


# -- Viber REST bot API -------------------------------------------------------------------

VIBER_SIGNATURE_HEADER = "X-Viber-Content-Signature"


def _viber_bot(request: web.Request) -> ViberSender:
    name = request.match_info["name"]
    sender = request.app.get(SENDERS, {}).get(viber_source(name))
    if not isinstance(sender, ViberSender):
        raise web.HTTPNotFound(text=f"no Viber bot {name!r} takes callbacks here")
    return sender


@routes.post("/hooks/messengers/viber/{name}")
async def viber_callback(request: web.Request) -> web.Response:
    """Verify the signature of the raw body, parse, queue, answer 200."""
    sender = _viber_bot(request)
    body = await _body(request)
    header = request.headers.get(VIBER_SIGNATURE_HEADER)
    if not header:
        logger.warning("%s: callback without a signature refused", sender.source)
        raise web.HTTPUnauthorized(text="signature required")
    if not viber_signature_ok(sender.api.auth_token.encode(), body, header):
        logger.warning("%s: callback with a wrong signature refused", sender.source)
        raise web.HTTPForbidden(text="signature refused")
    try:
        callback = parse_callback(parse_body(body), account=sender.account)
    except ProtocolError as exc:
        raise web.HTTPBadRequest(text=str(exc)) from exc
    if utcnow() - callback.at > timedelta(seconds=sender.max_age_s):
        logger.warning("%s: stale callback (%s) refused", sender.source, callback.at)
        raise web.HTTPBadRequest(text="stale callback")
    if (callback.items or callback.status is not None) and not sender.inbox.offer(callback):
        raise web.HTTPServiceUnavailable(text="busy; deliver again later")
    return web.json_response({"status": 0})
