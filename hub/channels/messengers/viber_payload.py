"""Viber REST bot API callbacks → touches, statuses and reachability (sans-IO: bytes and
JSON in, items out).

Viber documents (https://developers.viber.com/docs/api/rest-bot-api/#callbacks): every
callback is a POST whose ``X-Viber-Content-Signature`` header is the hex HMAC-SHA256 of the
raw body keyed with the bot's authentication token (`signature_ok`), a JSON object with
``event``, ``timestamp`` (epoch milliseconds) and ``message_token``:

- ``message``: ``sender`` {id, name, …} and ``message`` {type, text, media, file_name, …}
  — a `Touch` in (key: the message token; media as metadata, nothing fetched);
- ``delivered`` / ``seen`` / ``failed`` (``user_id``, ``desc``): a `ViberStatus` of a
  message we sent, named by the token Viber gave it (the inbox finds our touch for it);
- ``subscribed`` / ``unsubscribed``: the user is reachable again / no longer;
- ``conversation_started``, ``webhook`` (Viber checking our URL at set_webhook): nothing
  to record.

Every callback carries its time; one older than the account's `max_age_s` is refused by
the webhook as a replayed capture.

A Viber user id is an opaque token (``01234567890A=``), the address of `AddressKind.VIBER`
the hub answers to. Anything not shaped as documented raises `ProtocolError`. No asyncio.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from hub.errors import ProtocolError
from hub.model import (
    Address,
    AddressKind,
    Channel,
    Direction,
    IdentityUpdate,
    SinkItem,
    Status,
    Touch,
)

WEBHOOK_EVENT = "webhook"
STATUSES = {"delivered": Status.DELIVERED, "seen": Status.READ, "failed": Status.FAILED}
#: Message fields kept as metadata of a media message (the file itself is not fetched).
MEDIA_FIELDS = ("media", "thumbnail", "file_name", "size", "duration", "sticker_id", "location", "contact")


def source_of(account: str) -> str:
    """The touch source of a Viber bot: ``viber:NAME``."""
    return f"viber:{account}"


def token_key(message_token: int | str) -> str:
    """Checkpoint key naming our touch of a message Viber knows as `message_token`."""
    return f"sent:{message_token}"


def signature_ok(auth_token: bytes, body: bytes, header: str | None) -> bool:
    """Whether ``X-Viber-Content-Signature`` is the token's HMAC-SHA256 of exactly these bytes."""
    if not header:
        return False
    expected = hmac.new(auth_token, body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(header.strip().lower().encode(), expected.encode())


@dataclass(frozen=True, slots=True, kw_only=True)
class ViberStatus:
    """What Viber said of a message we sent; `message_token` is Viber's name for it."""

    message_token: str
    status: Status
    at: datetime
    detail: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class ViberCallback:
    """One callback: its event, the items it means, the status it reports (if any)."""

    event: str
    at: datetime
    items: tuple[SinkItem, ...]
    status: ViberStatus | None = None


def _bad(what: str) -> ProtocolError:
    return ProtocolError(f"Viber callback {what}")


def _str(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise _bad(f"has no {key!r}")
    return value


def _obj(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = data.get(key)
    if not isinstance(value, Mapping):
        raise _bad(f"has no object {key!r}")
    return value


def _time(data: Mapping[str, Any]) -> datetime:
    raw = data.get("timestamp")
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise _bad(f"has a bad timestamp {raw!r}")
    return datetime.fromtimestamp(raw / 1000, UTC)


def _token(data: Mapping[str, Any]) -> str:
    raw = data.get("message_token")
    if isinstance(raw, bool) or not isinstance(raw, (int, str)) or raw == "":
        raise _bad("has no message_token")
    return str(raw)


def _user(source: str, user_id: str, at: datetime, *, unreachable: bool, event: str) -> IdentityUpdate:
    return IdentityUpdate(
        source=source,
        address=Address(kind=AddressKind.VIBER, value=user_id),
        at=at,
        unreachable=unreachable,
        detail=f"Viber {event}",
    )


def _message(source: str, account: str, data: Mapping[str, Any], at: datetime) -> Touch:
    sender = _obj(data, "sender")
    user = _str(sender, "id")
    message = _obj(data, "message")
    kind = _str(message, "type")
    metadata: dict[str, Any] = {"platform": "viber", "account": account, "kind": kind}
    metadata.update({k: message[k] for k in MEDIA_FIELDS if k in message})
    text = message.get("text")
    name = sender.get("name")
    return Touch(
        source=source,
        external_id=_token(data),
        channel=Channel.MESSENGER,
        direction=Direction.IN,
        status=Status.RECEIVED,
        occurred_at=at,
        counterparts=(
            Address(kind=AddressKind.VIBER, value=user, name=name if isinstance(name, str) else None),
        ),
        preview=text if isinstance(text, str) and text else None,
        thread_key=f"{source}:{user}",
        metadata=metadata,
    )


def parse_callback(data: Any, *, account: str) -> ViberCallback:
    """What one callback means."""
    if not isinstance(data, Mapping) or not isinstance(data.get("event"), str):
        raise _bad("is not an object with an event")
    event = data["event"]
    at = _time(data)
    source = source_of(account)
    if event == "message":
        return ViberCallback(event=event, at=at, items=(_message(source, account, data, at),))
    if event in STATUSES:
        desc = data.get("desc")
        status = ViberStatus(
            message_token=_token(data),
            status=STATUSES[event],
            at=at,
            detail=desc if isinstance(desc, str) else None,
        )
        return ViberCallback(event=event, at=at, items=(), status=status)
    if event == "subscribed":
        user = _str(_obj(data, "user"), "id")
        return ViberCallback(event=event, at=at, items=(_user(source, user, at, unreachable=False, event=event),))
    if event == "unsubscribed":
        user = _str(data, "user_id")
        return ViberCallback(event=event, at=at, items=(_user(source, user, at, unreachable=True, event=event),))
    return ViberCallback(event=event, at=at, items=())
