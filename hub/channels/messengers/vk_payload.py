"""VK Callback API events → touches, edits and reachability (sans-IO: JSON in, items out).

VK documents (https://dev.vk.com/ru/api/callback/getting-started,
https://dev.vk.com/ru/api/community-events/json-schema): every event is a POST of
``{"type", "object", "group_id", "event_id", "v", "secret"}``; ``secret`` is the key set
for the server (`secret_ok`); the ``confirmation`` event is answered with the community's
confirmation string, every other with the plain text ``ok`` (VK retries anything else).

- ``message_new``: ``object.message`` (with ``client_info`` beside it) — a `Touch` in:
  text, attachments as metadata (type and ids, nothing fetched).
- ``message_edit``: ``object`` is the message — a `TouchEdit` of the same touch.
- ``message_reply``: ``object`` is a message the community sent (``out`` = 1) — a `Touch`
  out. A message we sent carries our ``random_id``, so its key is the one the sender
  recorded it under (`outgoing_id`) and recording it again changes nothing.
- ``message_allow`` / ``message_deny``: ``object.user_id`` — reachable / unreachable.

Keys: an incoming message is ``<peer_id>:<id>`` (the community's message id), an outgoing
one with a ``random_id`` ``<peer_id>:r<random_id>``. Other event types give nothing.
Anything not shaped as documented raises `ProtocolError`. No asyncio, no network.
"""

from __future__ import annotations

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
    TouchEdit,
    utcnow,
)

CONFIRMATION = "confirmation"
#: What VK must be answered for every event but the confirmation.
OK = "ok"
ATTACHMENT_IDS = ("id", "owner_id", "access_key", "title", "ext", "duration", "link_mp3", "url")


def source_of(account: str) -> str:
    """The touch source of a VK community: ``vk:NAME``."""
    return f"vk:{account}"


def outgoing_id(peer_id: int | str, random_id: int) -> str:
    """The key of a message the community sent with `random_id`."""
    return f"{peer_id}:r{random_id}"


def secret_ok(event: Mapping[str, Any], secret: str) -> bool:
    """Whether the event carries our secret key (compared in constant time)."""
    given = event.get("secret")
    return isinstance(given, str) and hmac.compare_digest(given.encode(), secret.encode())


@dataclass(frozen=True, slots=True, kw_only=True)
class VkEvent:
    """One event: its type and the items it means for the store."""

    type: str
    group_id: int
    items: tuple[SinkItem, ...]


def _bad(what: str) -> ProtocolError:
    return ProtocolError(f"VK event {what}")


def _int(data: Mapping[str, Any], key: str) -> int:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise _bad(f"has no integer {key!r}")
    return value


def _obj(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = data.get(key)
    if not isinstance(value, Mapping):
        raise _bad(f"has no object {key!r}")
    return value


def _attachments(message: Mapping[str, Any]) -> list[dict[str, Any]]:
    found = message.get("attachments", [])
    if not isinstance(found, list):
        raise _bad("has attachments that are not a list")
    kept = []
    for attachment in found:
        if not isinstance(attachment, Mapping) or not isinstance(attachment.get("type"), str):
            raise _bad("has an attachment without a type")
        kind = attachment["type"]
        body = attachment.get(kind)
        meta: dict[str, Any] = {"type": kind}
        if isinstance(body, Mapping):
            meta.update({k: body[k] for k in ATTACHMENT_IDS if k in body})
        kept.append(meta)
    return kept


def message_key(message: Mapping[str, Any]) -> str:
    """The touch key of a message as VK shows it in any event."""
    peer = _int(message, "peer_id")
    random_id = message.get("random_id")
    if message.get("out") == 1 and isinstance(random_id, int) and random_id != 0:
        return outgoing_id(peer, random_id)
    number = message.get("id")
    if isinstance(number, int) and number > 0:
        return f"{peer}:{number}"
    return f"{peer}:c{_int(message, 'conversation_message_id')}"


def message_touch(source: str, account: str, message: Mapping[str, Any]) -> Touch:
    """The touch of a message (in, or out when ``out`` is 1)."""
    peer = _int(message, "peer_id")
    out = message.get("out") == 1
    text = message.get("text")
    metadata: dict[str, Any] = {"platform": "vk", "account": account, "peer_id": peer}
    if "id" in message:
        metadata["vk_message_id"] = message["id"]
    attachments = _attachments(message)
    if attachments:
        metadata["attachments"] = attachments
    reply = message.get("reply_message")
    if isinstance(reply, Mapping) and isinstance(reply.get("id"), int):
        metadata["reply_to"] = f"{peer}:{reply['id']}"
    return Touch(
        source=source,
        external_id=message_key(message),
        channel=Channel.MESSENGER,
        direction=Direction.OUT if out else Direction.IN,
        status=Status.SENT if out else Status.RECEIVED,
        occurred_at=datetime.fromtimestamp(_int(message, "date"), UTC),
        counterparts=(Address(kind=AddressKind.VK, value=str(peer)),),
        preview=text if isinstance(text, str) and text else None,
        thread_key=f"{source}:{peer}",
        metadata=metadata,
    )


def parse_event(data: Any, *, account: str) -> VkEvent:
    """What one Callback API event means (its secret and group are the webhook's to check)."""
    if not isinstance(data, Mapping) or not isinstance(data.get("type"), str):
        raise _bad("is not an object with a type")
    kind = data["type"]
    group_id = _int(data, "group_id")
    source = source_of(account)
    if kind == CONFIRMATION:
        return VkEvent(type=kind, group_id=group_id, items=())
    items: tuple[SinkItem, ...] = ()
    if kind == "message_new":
        items = (message_touch(source, account, _obj(_obj(data, "object"), "message")),)
    elif kind == "message_reply":
        items = (message_touch(source, account, _obj(data, "object")),)
    elif kind == "message_edit":
        message = _obj(data, "object")
        touch = message_touch(source, account, message)
        at = message.get("update_time")
        edited = datetime.fromtimestamp(at, UTC) if isinstance(at, int) else touch.occurred_at
        items = (TouchEdit(touch=touch, edited_at=edited),)
    elif kind in ("message_allow", "message_deny"):
        user = _int(_obj(data, "object"), "user_id")
        items = (
            IdentityUpdate(
                source=source,
                address=Address(kind=AddressKind.VK, value=str(user)),
                at=utcnow(),
                unreachable=kind == "message_deny",
                detail=f"VK {kind}",
            ),
        )
    return VkEvent(type=kind, group_id=group_id, items=items)
