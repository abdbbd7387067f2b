"""WhatsApp Cloud API webhooks → touches and status updates (sans-IO: bytes and JSON in).

Meta documents (https://developers.facebook.com/docs/graph-api/webhooks/getting-started,
https://developers.facebook.com/docs/whatsapp/cloud-api/webhooks/components):

- the subscription handshake: ``GET ?hub.mode=subscribe&hub.verify_token=T&hub.challenge=C``
  is answered with C when T is ours (`subscription_challenge`);
- every notification is signed: ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw
  body with the app secret>`` (`signature_ok`);
- a notification is ``{"object": "whatsapp_business_account", "entry": [{"changes":
  [{"field": "messages", "value": {"metadata": {"phone_number_id"}, "contacts": [...],
  "messages": [...], "statuses": [...]}}]}]}``.

An incoming message is a `Touch` (external id: its ``wamid``; counterpart
`AddressKind.WHATSAPP` with the sender's number) and a `Checkpoint` ``window:<wa_id>``
holding its time, written with it: the sender reads it to keep WhatsApp's 24-hour
customer-service window. A status (sent, delivered, read, failed) is a `StatusUpdate` of
our outgoing touch, found by the ``biz_opaque_callback_data`` we sent with it. Meta retries
a webhook for up to seven days; a notification whose every timestamp is older than
`max_age` is refused as stale (a replayed capture). No asyncio here.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from hub.errors import ProtocolError
from hub.model import (
    Address,
    AddressKind,
    Channel,
    Checkpoint,
    Direction,
    SinkItem,
    Status,
    StatusUpdate,
    Touch,
)

SIGNATURE_PREFIX = "sha256="
OBJECT = "whatsapp_business_account"
#: Meta retries an undelivered webhook for up to seven days; older is a replay.
DEFAULT_MAX_AGE = timedelta(days=7, hours=1)
#: WhatsApp's customer-service window: free text only this long after the client wrote.
SERVICE_WINDOW = timedelta(hours=24)
WINDOW_KEY = "window:{wa_id}"
MEDIA_TYPES = ("image", "document", "audio", "video", "sticker")
STATUSES = {
    "sent": Status.SENT,
    "delivered": Status.DELIVERED,
    "read": Status.READ,
    "failed": Status.FAILED,
}


def source_of(account: str) -> str:
    """The touch source of a WhatsApp number: ``whatsapp:NAME``."""
    return f"whatsapp:{account}"


def window_key(wa_id: str) -> str:
    """Checkpoint key of the last time client `wa_id` wrote (digits only)."""
    return WINDOW_KEY.format(wa_id="".join(ch for ch in wa_id if ch.isdigit()))


def signature_ok(app_secret: bytes, body: bytes, header: str | None) -> bool:
    """Whether ``X-Hub-Signature-256`` is the app's HMAC of exactly these bytes."""
    if not header or not header.startswith(SIGNATURE_PREFIX):
        return False
    expected = hmac.new(app_secret, body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(header[len(SIGNATURE_PREFIX) :].strip().lower(), expected)


def subscription_challenge(query: Mapping[str, str], verify_token: str) -> str | None:
    """The challenge to echo for a subscription request with our verify token, else None."""
    if query.get("hub.mode") != "subscribe":
        return None
    given = query.get("hub.verify_token", "")
    if not hmac.compare_digest(given.encode(), verify_token.encode()):
        return None
    return query.get("hub.challenge")


@dataclass(frozen=True, slots=True, kw_only=True)
class Notification:
    """What one notification means: items for the sink, and its newest timestamp."""

    items: tuple[SinkItem, ...]
    newest: datetime | None


def _bad(what: str) -> ProtocolError:
    return ProtocolError(f"WhatsApp notification {what}")


def _list(data: Mapping[str, Any], key: str) -> list[Any]:
    value = data.get(key, [])
    if not isinstance(value, list):
        raise _bad(f"has {key!r} that is not a list")
    return value


def _str(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise _bad(f"has no {key!r}")
    return value


def _time(data: Mapping[str, Any]) -> datetime:
    raw = data.get("timestamp")
    try:
        return datetime.fromtimestamp(int(str(raw)), UTC)
    except (TypeError, ValueError) as exc:
        raise _bad(f"has a bad timestamp {raw!r}") from exc


def _message(source: str, account: str, msg: Mapping[str, Any], names: Mapping[str, str]) -> Touch:
    if not isinstance(msg, Mapping):
        raise _bad("has a message that is not an object")
    sender = _str(msg, "from")
    kind = _str(msg, "type")
    metadata: dict[str, Any] = {"platform": "whatsapp", "account": account, "kind": kind}
    text: str | None = None
    body = msg.get(kind)
    if kind == "text" and isinstance(body, Mapping):
        text = body.get("body") if isinstance(body.get("body"), str) else None
    elif kind in MEDIA_TYPES and isinstance(body, Mapping):
        metadata["files"] = [
            {k: body[k] for k in ("id", "mime_type", "sha256", "filename") if k in body}
        ]
        caption = body.get("caption")
        text = caption if isinstance(caption, str) else None
    context = msg.get("context")
    if isinstance(context, Mapping) and isinstance(context.get("id"), str):
        metadata["reply_to"] = context["id"]
    return Touch(
        source=source,
        external_id=_str(msg, "id"),
        channel=Channel.MESSENGER,
        direction=Direction.IN,
        status=Status.RECEIVED,
        occurred_at=_time(msg),
        counterparts=(Address(kind=AddressKind.WHATSAPP, value=sender, name=names.get(sender)),),
        preview=text,
        thread_key=f"{source}:{sender}",
        metadata=metadata,
    )


def _status(source: str, st: Mapping[str, Any]) -> StatusUpdate | None:
    if not isinstance(st, Mapping):
        raise _bad("has a status that is not an object")
    status = STATUSES.get(str(st.get("status")))
    if status is None:
        return None
    ours = st.get("biz_opaque_callback_data")
    external_id = ours if isinstance(ours, str) and ours else _str(st, "id")
    detail = None
    errors = st.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], Mapping):
        first = errors[0]
        detail = f"{first.get('code', '')} {first.get('title') or first.get('message') or ''}".strip()
    return StatusUpdate(source=source, external_id=external_id, status=status, at=_time(st), detail=detail)


def parse_notification(
    data: Mapping[str, Any], *, account: str, phone_number_id: str | None
) -> Notification:
    """Touches, window checkpoints and status updates of one notification (for our number)."""
    if not isinstance(data, Mapping) or data.get("object") != OBJECT:
        raise _bad(f"is not about a {OBJECT}")
    source = source_of(account)
    items: list[SinkItem] = []
    newest: datetime | None = None
    for entry in _list(data, "entry"):
        if not isinstance(entry, Mapping):
            raise _bad("has an entry that is not an object")
        for change in _list(entry, "changes"):
            if not isinstance(change, Mapping) or change.get("field") != "messages":
                continue
            value = change.get("value")
            if not isinstance(value, Mapping):
                raise _bad("has a change without a value")
            meta = value.get("metadata")
            number = meta.get("phone_number_id") if isinstance(meta, Mapping) else None
            if phone_number_id is not None and number != phone_number_id:
                continue  # another number of the same business account
            names = {
                str(c.get("wa_id")): str(c["profile"]["name"])
                for c in _list(value, "contacts")
                if isinstance(c, Mapping)
                and isinstance(c.get("profile"), Mapping)
                and isinstance(c["profile"].get("name"), str)
            }
            for msg in _list(value, "messages"):
                touch = _message(source, account, msg, names)
                sender = touch.counterparts[0].value
                items.append(touch)
                items.append(
                    Checkpoint(source=source, key=window_key(sender), value=touch.occurred_at.isoformat())
                )
                newest = max(newest or touch.occurred_at, touch.occurred_at)
            for st in _list(value, "statuses"):
                update = _status(source, st)
                if update is not None:
                    items.append(update)
                    newest = max(newest or update.at, update.at)
    return Notification(items=tuple(items), newest=newest)
