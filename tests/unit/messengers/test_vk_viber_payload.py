"""VK Callback API events and Viber callbacks, sans-IO: keys, secrets, signatures, shapes."""

from __future__ import annotations

import json
from typing import Any

import pytest

from hub.channels.messengers.viber_payload import parse_callback
from hub.channels.messengers.viber_payload import signature_ok as viber_signature_ok
from hub.channels.messengers.vk_payload import message_key, parse_event, secret_ok
from hub.channels.messengers.vk_sender import random_id_of
from hub.errors import ProtocolError
from hub.model import Direction, IdentityUpdate, Status, Touch, TouchEdit
from tests.helpers.fake_viber import USER_ID, callback, sign
from tests.helpers.fake_vk import GROUP_ID, event, message


def test_vk_keys_name_a_message_the_same_in_every_event() -> None:
    assert message_key(message(5001, 77, "hi")) == "5001:77"
    ours = random_id_of("our-message-1")
    assert ours == random_id_of("our-message-1") and 0 < ours < 2**31
    assert message_key(message(5001, 1002, "answer", out=1, random_id=ours)) == f"5001:r{ours}"
    assert message_key(message(2000000001, 0, "chat", conversation_message_id=9)) == "2000000001:c9"


def test_vk_events_mean_touches_edits_and_reachability() -> None:
    new = parse_event(json.loads(event("message_new", {"message": message(5001, 7, "hi")}, secret="s")), account="a")
    [touch] = new.items
    assert isinstance(touch, Touch) and (touch.direction, touch.source) == (Direction.IN, "vk:a")
    reply = parse_event(json.loads(event("message_reply", message(5001, 8, "ok", out=1, random_id=5), secret="s")), account="a")
    [out] = reply.items
    assert isinstance(out, Touch) and (out.direction, out.status, out.external_id) == (Direction.OUT, Status.SENT, "5001:r5")
    edit = parse_event(json.loads(event("message_edit", message(5001, 7, "hi!"), secret="s")), account="a")
    assert isinstance(edit.items[0], TouchEdit) and edit.items[0].key == ("vk:a", "5001:7")
    deny = parse_event(json.loads(event("message_deny", {"user_id": 5001}, secret="s")), account="a")
    assert isinstance(deny.items[0], IdentityUpdate) and deny.items[0].unreachable is True
    assert parse_event({"type": "group_join", "group_id": GROUP_ID, "object": {}}, account="a").items == ()
    assert secret_ok({"secret": "s"}, "s") and not secret_ok({"secret": "t"}, "s") and not secret_ok({}, "s")


@pytest.mark.parametrize(
    "data",
    [
        [],
        {"type": "message_new"},
        {"type": "message_new", "group_id": GROUP_ID, "object": {}},
        {"type": "message_new", "group_id": GROUP_ID, "object": {"message": {"peer_id": "x", "date": 1}}},
        {"type": "message_deny", "group_id": GROUP_ID, "object": {"user_id": "5001"}},
    ],
)
def test_vk_events_not_shaped_as_documented_are_refused(data: Any) -> None:
    with pytest.raises(ProtocolError):
        parse_event(data, account="a")


def test_viber_signature_is_the_tokens_hmac_of_exactly_the_body() -> None:
    body = callback("seen", message_token=1, user_id=USER_ID)
    assert viber_signature_ok(b"tok", body, sign("tok", body))
    assert viber_signature_ok(b"tok", body, sign("tok", body).upper())
    assert not viber_signature_ok(b"tok", body + b" ", sign("tok", body))
    assert not viber_signature_ok(b"other", body, sign("tok", body))
    assert not viber_signature_ok(b"tok", body, None)


def test_viber_callbacks_mean_touches_statuses_and_reachability() -> None:
    seen = parse_callback(json.loads(callback("seen", message_token=42, user_id=USER_ID)), account="b")
    assert seen.items == () and seen.status is not None
    assert (seen.status.message_token, seen.status.status) == ("42", Status.READ)
    gone = parse_callback(json.loads(callback("unsubscribed", message_token=1, user_id=USER_ID)), account="b")
    assert isinstance(gone.items[0], IdentityUpdate) and gone.items[0].unreachable is True
    assert parse_callback(json.loads(callback("webhook", message_token=1)), account="b").items == ()


@pytest.mark.parametrize(
    "data",
    [
        {"event": "message", "timestamp": 1},
        {"event": "message", "timestamp": "now", "message_token": 1},
        {"event": "delivered", "timestamp": 1},
        {"event": "subscribed", "timestamp": 1, "user": {}},
        ["message"],
    ],
)
def test_viber_callbacks_not_shaped_as_documented_are_refused(data: Any) -> None:
    with pytest.raises(ProtocolError):
        parse_callback(data, account="b")
