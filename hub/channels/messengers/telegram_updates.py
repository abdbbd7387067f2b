"""Telegram Bot API updates → touches, edits and identity facts (sans-IO: JSON in, items out).

The parser reads the documented `Update` object (https://core.telegram.org/bots/api#update)
as it arrives from getUpdates or a webhook, and says what it means for the store:

- ``message``: a `Touch` in (text; a photo, document or voice as metadata and file ids, the
  caption as text). External id ``<chat id>:<message id>``, unique per bot (the source).
- ``edited_message``: a `TouchEdit` of that same touch.
- ``message.contact`` with a phone, shared by the client itself (``contact.user_id`` is the
  sender): the touch and an `IdentityUpdate` giving the chat to the contact with that phone.
  A contact card of somebody else is only recorded.
- ``/start <token>`` with a token the hub signed: an `IdentityUpdate` naming that contact.
- ``my_chat_member`` in a private chat: the client blocked the bot (kicked) → unreachable;
  unblocked (member) → reachable again.

Other update kinds give nothing (and still move the offset). Anything that does not follow
the documented shape raises `ProtocolError`; the adapter quarantines it with its raw bytes.
No asyncio, no network.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
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
)

#: Chat member states that mean the client has shut the bot out / let it in again.
SHUT_OUT = frozenset({"kicked", "left"})
LET_IN = frozenset({"member"})
#: Media kinds whose file ids are kept (a photo comes in several sizes: the largest is kept).
MEDIA_KINDS = ("photo", "document", "voice")
START = "/start"
#: What a JSON object decodes to; `dict` first, so the common case skips the ABC check.
OBJECT = (dict, Mapping)


def source_of(bot: str) -> str:
    """The touch source of bot `bot`: ``telegram:NAME`` (also its sender's key)."""
    return f"telegram:{bot}"


def external_id_of(chat_id: int | str, message_id: int | str) -> str:
    """The external id of a message: ``<chat id>:<message id>``."""
    return f"{chat_id}:{message_id}"


def thread_of(source: str, chat_id: int | str) -> str:
    """The thread of one chat on one bot (a dialog)."""
    return f"{source}:{chat_id}"


@dataclass(frozen=True, slots=True, kw_only=True)
class FileRef:
    """A file a message carries, as Telegram names it; fetched only when files are kept."""

    external_id: str
    kind: str
    file_id: str
    file_unique_id: str
    file_name: str | None = None
    mime_type: str | None = None
    file_size: int | None = None
    duration: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ParsedUpdate:
    """What one update means: the items for the sink and the files it carries."""

    update_id: int
    items: tuple[SinkItem, ...] = ()
    files: tuple[FileRef, ...] = ()


#: Reads a `/start` token; returns the contact id it names or None (the hub's secret inside).
TokenReader = Callable[[str], int | None]


def _bad(what: str, update_id: int | None = None) -> ProtocolError:
    return ProtocolError(
        f"Telegram update {what}", external_id=None if update_id is None else f"update:{update_id}"
    )


def _obj(data: Mapping[str, Any], key: str, uid: int | None) -> Mapping[str, Any]:
    value = data.get(key)
    if not isinstance(value, OBJECT):
        raise _bad(f"has no object {key!r}", uid)
    return value


def _int(data: Mapping[str, Any], key: str, uid: int | None) -> int:
    value = data.get(key)
    if not isinstance(value, int) or isinstance(value, bool):
        raise _bad(f"has no integer {key!r}", uid)
    return value


def _text(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    return value if isinstance(value, str) else None


def _when(value: int) -> datetime:
    return datetime.fromtimestamp(value, UTC)


def update_id_of(raw: object) -> int | None:
    """The update id of a raw update, if it has a readable one (for offsets of bad input)."""
    if isinstance(raw, OBJECT):
        value = raw.get("update_id")
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None


def _name(user: Mapping[str, Any]) -> str | None:
    parts = [p for p in (_text(user, "first_name"), _text(user, "last_name")) if p]
    if parts:
        return " ".join(parts)
    username = _text(user, "username")
    return f"@{username}" if username else _text(user, "title")


def _files(message: Mapping[str, Any], external_id: str, uid: int) -> tuple[str, list[FileRef]]:
    """The message's kind and its files (largest photo size only)."""
    for kind in MEDIA_KINDS:
        media = message.get(kind)
        if media is None:
            continue
        if kind == "photo":
            if not isinstance(media, list) or not media:
                raise _bad("has a photo that is not a list of sizes", uid)
            sizes = [s for s in media if isinstance(s, OBJECT)]
            media = max(sizes, key=lambda s: (s.get("width", 0) or 0) * (s.get("height", 0) or 0))
        if not isinstance(media, OBJECT):
            raise _bad(f"has a {kind} that is not an object", uid)
        file_id, unique = _text(media, "file_id"), _text(media, "file_unique_id")
        if not file_id or not unique:
            raise _bad(f"has a {kind} without file_id", uid)
        size, duration = media.get("file_size"), media.get("duration")
        ref = FileRef(
            external_id=external_id,
            kind=kind,
            file_id=file_id,
            file_unique_id=unique,
            file_name=_text(media, "file_name"),
            mime_type=_text(media, "mime_type"),
            file_size=size if isinstance(size, int) else None,
            duration=duration if isinstance(duration, int) else None,
        )
        return kind, [ref]
    if isinstance(message.get("contact"), OBJECT):
        return "contact", []
    return ("text" if isinstance(message.get("text"), str) else "other"), []


def _file_meta(ref: FileRef) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "kind": ref.kind,
        "file_id": ref.file_id,
        "file_unique_id": ref.file_unique_id,
    }
    for key in ("file_name", "mime_type", "file_size", "duration"):
        if getattr(ref, key) is not None:
            meta[key] = getattr(ref, key)
    return meta


def _message_touch(
    source: str, bot: str, message: Mapping[str, Any], uid: int
) -> tuple[Touch, list[FileRef]]:
    chat = _obj(message, "chat", uid)
    chat_id = _int(chat, "id", uid)
    message_id = _int(message, "message_id", uid)
    date = _int(message, "date", uid)
    sender = message.get("from")
    who = sender if isinstance(sender, OBJECT) else chat
    external_id = external_id_of(chat_id, message_id)
    kind, files = _files(message, external_id, uid)
    text = _text(message, "text") or _text(message, "caption")
    metadata: dict[str, Any] = {
        "platform": "telegram",
        "bot": bot,
        "chat_id": chat_id,
        "message_id": message_id,
        "chat_type": _text(chat, "type"),
        "kind": kind,
    }
    if isinstance(sender, OBJECT):
        metadata["from"] = {
            k: sender[k] for k in ("id", "username", "first_name", "last_name") if k in sender
        }
    if files:
        metadata["files"] = [_file_meta(f) for f in files]
    contact = message.get("contact")
    if isinstance(contact, OBJECT):
        metadata["contact"] = {
            k: contact[k] for k in ("phone_number", "first_name", "last_name", "user_id") if k in contact
        }
        text = text or f"contact: {_text(contact, 'phone_number') or _name(contact) or '?'}"
    if text is not None and text.startswith(START):
        text = START  # the token is a key to a contact: not shown on the timeline
    touch = Touch(
        source=source,
        external_id=external_id,
        channel=Channel.MESSENGER,
        direction=Direction.IN,
        status=Status.RECEIVED,
        occurred_at=_when(date),
        counterparts=(Address(kind=AddressKind.TELEGRAM, value=str(chat_id), name=_name(who)),),
        preview=text,
        thread_key=thread_of(source, chat_id),
        metadata=metadata,
    )
    return touch, files


def _links(
    source: str, message: Mapping[str, Any], touch: Touch, read_token: TokenReader | None
) -> list[IdentityUpdate]:
    """Identity facts a new message carries: a phone the client shared, a signed /start."""
    chat_address = touch.counterparts[0]
    sender = message.get("from")
    sender_id = sender.get("id") if isinstance(sender, OBJECT) else None
    facts: list[IdentityUpdate] = []
    contact = message.get("contact")
    if isinstance(contact, OBJECT):
        phone = _text(contact, "phone_number")
        # Only the client's own number links: anyone can forward somebody else's card.
        if phone and sender_id is not None and contact.get("user_id") == sender_id:
            facts.append(
                IdentityUpdate(
                    source=source,
                    address=chat_address,
                    at=touch.occurred_at,
                    link_phone=Address(kind=AddressKind.PHONE, value=phone),
                    detail="contact shared",
                )
            )
    text = _text(message, "text")
    if text and read_token is not None:
        command, _, argument = text.partition(" ")
        if command.split("@")[0] == START and argument.strip():
            contact_id = read_token(argument.strip())
            if contact_id is not None:
                facts.append(
                    IdentityUpdate(
                        source=source,
                        address=chat_address,
                        at=touch.occurred_at,
                        link_contact_id=contact_id,
                        detail="signed /start link",
                    )
                )
    return facts


def _member_change(source: str, change: Mapping[str, Any], uid: int) -> list[SinkItem]:
    chat = _obj(change, "chat", uid)
    if _text(chat, "type") != "private":
        return []
    status = _text(_obj(change, "new_chat_member", uid), "status")
    address = Address(kind=AddressKind.TELEGRAM, value=str(_int(chat, "id", uid)))
    at = _when(_int(change, "date", uid))
    if status in SHUT_OUT:
        return [
            IdentityUpdate(
                source=source, address=address, at=at, unreachable=True, detail="the client blocked the bot"
            )
        ]
    if status in LET_IN:
        return [IdentityUpdate(source=source, address=address, at=at, unreachable=False)]
    return []


def parse_update(
    raw: Mapping[str, Any], *, bot: str, read_token: TokenReader | None = None
) -> ParsedUpdate:
    """What one update means for the store; `ProtocolError` when it is not a valid update."""
    if not isinstance(raw, OBJECT):
        raise _bad("is not an object")
    uid = _int(raw, "update_id", None)
    source = source_of(bot)
    if "message" in raw:
        message = _obj(raw, "message", uid)
        touch, files = _message_touch(source, bot, message, uid)
        items: list[SinkItem] = [touch, *_links(source, message, touch, read_token)]
        return ParsedUpdate(update_id=uid, items=tuple(items), files=tuple(files))
    if "edited_message" in raw:
        message = _obj(raw, "edited_message", uid)
        touch, files = _message_touch(source, bot, message, uid)
        edited = message.get("edit_date")
        at = _when(edited) if isinstance(edited, int) else touch.occurred_at
        return ParsedUpdate(
            update_id=uid, items=(TouchEdit(touch=touch, edited_at=at),), files=tuple(files)
        )
    if "my_chat_member" in raw:
        return ParsedUpdate(
            update_id=uid, items=tuple(_member_change(source, _obj(raw, "my_chat_member", uid), uid))
        )
    return ParsedUpdate(update_id=uid)


@dataclass(frozen=True, slots=True)
class UpdatesAnswer:
    """A getUpdates answer: its text as Telegram sent it (what the polling spool keeps, so
    it is never encoded again) and the update objects in it."""

    text: str
    updates: list[Any]


def updates_in(text: str) -> list[Any]:
    """The updates of a getUpdates answer's text (``{"ok": true, "result": [...]}``; a bare
    list is what spools written before decision 0083 hold); `ProtocolError` otherwise."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ProtocolError(f"getUpdates answered something that is not JSON: {exc}") from exc
    if isinstance(data, OBJECT) and data.get("ok") is True:
        data = data.get("result")
    if not isinstance(data, list):
        raise ProtocolError(f"getUpdates answered {type(data).__name__}, not a list of updates")
    return data


def read_answer(body: bytes) -> UpdatesAnswer:
    """getUpdates' answer body → its text and updates; `ProtocolError` when unreadable."""
    try:
        text = body.decode()
    except UnicodeDecodeError as exc:
        raise ProtocolError(f"getUpdates answered bytes that are not UTF-8: {exc}") from exc
    return UpdatesAnswer(text, updates_in(text))


def parse_body(body: bytes) -> Mapping[str, Any]:
    """A webhook body → the update object; `ProtocolError` when it is not JSON of an object."""
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ProtocolError(f"Telegram webhook body is not JSON: {exc}") from exc
    if not isinstance(data, OBJECT):
        raise ProtocolError("Telegram webhook body is not a JSON object")
    return data
