"""Unsubscribe links: ``GET /u/{token}`` (a page with a confirm button) and ``POST /u/{token}``.

The POST is RFC 8058's one-click unsubscribe (body ``List-Unsubscribe=One-Click``), sent by
mail clients without any login, and the page's button sends the same. It records a
suppression of the address (reason ``unsubscribed``, the campaign) together with a note
on the contact, in one transaction; doing it again changes nothing and answers the same.
The GET only shows the page: mail scanners follow links, so a GET never unsubscribes and
records nothing (no tracking either). A token that fails verification is a 403 page,
logged, and nothing is recorded. Pages are plain HTML in Russian or English (``?lang=``,
else the browser's Accept-Language), under the dashboard's Content-Security-Policy.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Mapping

from aiohttp import web

from hub.activity.repos import Reason
from hub.campaigns.signing import SigningKeys
from hub.campaigns.unsubscribe import (
    CHANNEL_OF_KIND,
    ONE_CLICK,
    PATH_PREFIX,
    ForgedToken,
    names_address,
    verify,
)
from hub.errors import ConfigError, NotFound
from hub.i18n import LOCALES, accepted_locale, text
from hub.web.dashboard import SECURITY_HEADERS
from hub.web.keys import SETTINGS, STORE

logger = logging.getLogger(__name__)
routes = web.RouteTableDef()

#: Largest form body a one-click POST may carry (RFC 8058's is 26 bytes).
MAX_FORM_BYTES = 4096
#: Who the suppression says made it.
UNSUBSCRIBED_BY = "unsubscribe-link"


#: The pages' words: `[unsubscribe]` of the catalogue (title, confirm_question,
#: confirm_button, done, forged, gone, bad_request, other_language).
WORDS = "unsubscribe."


def say(lang: str, key: str) -> str:
    """A word of the pages in `lang`."""
    return text(lang, WORDS + key)


def language(request: web.Request) -> str:
    """``?lang=`` if it is one we speak, else the first of Accept-Language we speak, else ru."""
    asked = request.query.get("lang", "")
    if asked in LOCALES:
        return asked
    return accepted_locale(request.headers.get("Accept-Language")) or "ru"


def page(request: web.Request, lang: str, message: str, *, status: int, form: bool = False) -> web.Response:
    """One plain page: the message, and the confirm button when `form`."""
    other = "en" if lang == "ru" else "ru"
    title = html.escape(say(lang, "title"))
    switch = html.escape(say(lang, "other_language"))
    confirm = html.escape(say(lang, "confirm_button"))
    path = html.escape(request.path, quote=True)
    button = (
        f'<form method="post" action="{path}?lang={lang}">'
        f'<input type="hidden" name="List-Unsubscribe" value="One-Click">'
        f'<button type="submit">{confirm}</button></form>'
        if form
        else ""
    )
    body = (
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta name="robots" content="noindex"><title>{title}</title></head>'
        f"<body><main><h1>{title}</h1><p>{html.escape(message)}</p>{button}"
        f'<p><a href="{path}?lang={other}" hreflang="{other}">{switch}</a></p>'
        f"</main></body></html>"
    )
    headers = {**SECURITY_HEADERS, "Cache-Control": "no-store", "Content-Language": lang}
    return web.Response(
        status=status, text=body, content_type="text/html", charset="utf-8", headers=headers
    )


def _keys(request: web.Request) -> SigningKeys | None:
    try:
        return SigningKeys.of(request.app[SETTINGS].campaigns)
    except ConfigError:
        return None


def _refused(request: web.Request, lang: str, reason: str) -> web.Response:
    logger.warning(
        "refused unsubscribe link from %s: %s", request.remote or "unknown", reason
    )
    return page(request, lang, say(lang, "forged"), status=403)


@routes.get(PATH_PREFIX + "{token}")
async def confirm_page(request: web.Request) -> web.Response:
    """The page a person reaches by clicking: asks to confirm; changes nothing."""
    lang = language(request)
    keys = _keys(request)
    if keys is None:
        return _refused(request, lang, "campaigns.secret is not set")
    try:
        verify(keys, request.match_info["token"])
    except ForgedToken as exc:
        return _refused(request, lang, str(exc))
    return page(request, lang, say(lang, "confirm_question"), status=200, form=True)


async def _form(request: web.Request) -> Mapping[str, str] | None:
    """The POSTed form (urlencoded or multipart, as RFC 8058 allows), or None if too big."""
    if request.content_length is not None and request.content_length > MAX_FORM_BYTES:
        return None
    try:
        data = await request.post()
    except (ValueError, web.HTTPException):
        return None
    return {k: v for k, v in data.items() if isinstance(v, str)}


@routes.post(PATH_PREFIX + "{token}")
async def one_click(request: web.Request) -> web.Response:
    """RFC 8058 one-click unsubscribe (and the page's button): suppress, answer 200."""
    lang = language(request)
    keys = _keys(request)
    if keys is None:
        return _refused(request, lang, "campaigns.secret is not set")
    try:
        token = verify(keys, request.match_info["token"])
    except ForgedToken as exc:
        return _refused(request, lang, str(exc))
    form = await _form(request)
    name, _, value = ONE_CLICK.partition("=")
    if form is None or form.get(name) != value:
        return page(request, lang, say(lang, "bad_request"), status=400)
    store = request.app[STORE]
    try:
        holder, addresses = await store.suppressions.addresses_of(token.contact_id, token.kind)
    except NotFound:
        holder, addresses = token.contact_id, []
    address = next((a for a in addresses if names_address(keys, token, a)), None)
    if address is None:
        logger.info(
            "unsubscribe link of campaign %d recipient %d names an address contact #%d "
            "no longer has",
            token.campaign_id,
            token.recipient_id,
            token.contact_id,
        )
        return page(request, lang, say(lang, "gone"), status=410)
    done = await store.suppressions.suppress(
        channel=CHANNEL_OF_KIND[token.kind],
        address=address,
        reason=Reason.UNSUBSCRIBED,
        campaign_id=token.campaign_id,
        contact_id=holder,
        detail=f"recipient #{token.recipient_id}",
        by=UNSUBSCRIBED_BY,
    )
    if done.created:
        logger.info(
            "contact #%d unsubscribed from %s (campaign %d)",
            holder,
            CHANNEL_OF_KIND[token.kind].value,
            token.campaign_id,
        )
    return page(request, lang, say(lang, "done"), status=200)
