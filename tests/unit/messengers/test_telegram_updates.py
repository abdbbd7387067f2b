"""The sans-IO update parser on documented Bot API payloads, table-driven."""

from __future__ import annotations

from typing import Any

import pytest

from hub.channels.messengers.link_token import contact_token, verify_contact_token
from hub.channels.messengers.telegram_updates import parse_body, parse_update
from hub.errors import ProtocolError
from hub.model import AddressKind, Direction, IdentityUpdate, Status, Touch, TouchEdit

SECRET = b"0123456789abcdef0123"


def msg(**extra: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "message_id": 5,
        "from": {"id": 42, "is_bot": False, "first_name": "Ivan", "last_name": "Petrov"},
        "chat": {"id": 42, "type": "private", "first_name": "Ivan"},
        "date": 1_765_000_000,
    }
    base.update(extra)
    return base


def parse(update: dict[str, Any]) -> tuple[Any, ...]:
    return parse_update(update, bot="b", read_token=lambda t: verify_contact_token(SECRET, t)).items


def test_a_text_message_is_an_incoming_touch() -> None:
    [touch] = parse({"update_id": 1, "message": msg(text="hello")})
    assert isinstance(touch, Touch)
    assert (touch.source, touch.external_id) == ("telegram:b", "42:5")
    assert (touch.direction, touch.status, touch.preview) == (Direction.IN, Status.RECEIVED, "hello")
    [who] = touch.counterparts
    assert (who.kind, who.value, who.name) == (AddressKind.TELEGRAM, "42", "Ivan Petrov")
    assert touch.occurred_at.timestamp() == 1_765_000_000


@pytest.mark.parametrize(
    ("extra", "kind", "file_id"),
    [
        ({"photo": [{"file_id": "s", "file_unique_id": "s1", "width": 1, "height": 1},
                    {"file_id": "l", "file_unique_id": "l1", "width": 9, "height": 9}]}, "photo", "l"),
        ({"document": {"file_id": "d", "file_unique_id": "d1", "file_name": "a.pdf"}}, "document", "d"),
        ({"voice": {"file_id": "v", "file_unique_id": "v1", "duration": 3}}, "voice", "v"),
    ],
)
def test_media_keeps_metadata_and_file_ids(extra: dict[str, Any], kind: str, file_id: str) -> None:
    parsed = parse_update({"update_id": 2, "message": msg(caption="see", **extra)}, bot="b")
    [touch] = parsed.items
    assert isinstance(touch, Touch) and touch.preview == "see"
    assert touch.metadata["kind"] == kind and touch.metadata["files"][0]["file_id"] == file_id
    assert [f.file_id for f in parsed.files] == [file_id]


def test_an_edited_message_is_an_edit_of_the_same_key() -> None:
    [edit] = parse({"update_id": 3, "edited_message": msg(text="v2", edit_date=1_765_000_100)})
    assert isinstance(edit, TouchEdit)
    assert edit.key == ("telegram:b", "42:5") and edit.touch.preview == "v2"
    assert edit.edited_at.timestamp() == 1_765_000_100


def test_own_contact_links_by_phone_a_forwarded_card_does_not() -> None:
    own = parse({"update_id": 4, "message": msg(contact={"phone_number": "+79161234567", "user_id": 42})})
    assert isinstance(own[1], IdentityUpdate) and own[1].link_phone is not None
    assert own[1].link_phone.value == "+79161234567"
    other = parse({"update_id": 5, "message": msg(contact={"phone_number": "+79161234567", "user_id": 7})})
    assert len(other) == 1


def test_a_signed_start_links_a_bad_one_does_not() -> None:
    good = parse({"update_id": 6, "message": msg(text=f"/start {contact_token(SECRET, 31)}")})
    assert isinstance(good[1], IdentityUpdate) and good[1].link_contact_id == 31
    assert isinstance(good[0], Touch) and good[0].preview == "/start"
    bad = parse({"update_id": 7, "message": msg(text=f"/start {contact_token(b'other-secret-xxxxxxxx', 31)}")})
    assert len(bad) == 1


@pytest.mark.parametrize(("status", "unreachable"), [("kicked", True), ("member", False)])
def test_blocking_and_unblocking(status: str, unreachable: bool) -> None:
    change = {
        "chat": {"id": 42, "type": "private"},
        "from": {"id": 42, "is_bot": False, "first_name": "I"},
        "date": 1_765_000_000,
        "old_chat_member": {"status": "member"},
        "new_chat_member": {"status": status},
    }
    [fact] = parse({"update_id": 8, "my_chat_member": change})
    assert isinstance(fact, IdentityUpdate) and fact.unreachable is unreachable


def test_other_kinds_give_nothing_but_their_id() -> None:
    parsed = parse_update({"update_id": 9, "callback_query": {"id": "x"}}, bot="b")
    assert parsed.update_id == 9 and parsed.items == ()


@pytest.mark.parametrize(
    "update",
    [
        {"message": msg(text="no id")},
        {"update_id": "1", "message": msg(text="string id")},
        {"update_id": 1, "message": "not an object"},
        {"update_id": 1, "message": msg(chat={"type": "private"})},
        {"update_id": 1, "message": {**msg(), "date": "yesterday"}},
        {"update_id": 1, "message": msg(photo="big")},
        {"update_id": 1, "message": msg(document={"file_name": "no id"})},
    ],
)
def test_malformed_updates_are_protocol_errors(update: dict[str, Any]) -> None:
    with pytest.raises(ProtocolError):
        parse_update(update, bot="b")


@pytest.mark.parametrize("body", [b"", b"{", b"[]", b"\xff\xfe"])
def test_a_body_that_is_not_a_json_object_is_refused(body: bytes) -> None:
    with pytest.raises(ProtocolError):
        parse_body(body)
