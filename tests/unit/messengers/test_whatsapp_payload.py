"""WhatsApp Cloud API webhooks, sans-IO: the signature, the handshake, notifications."""

from __future__ import annotations

import json

import pytest

from hub.channels.messengers.whatsapp_payload import (
    parse_notification,
    signature_ok,
    subscription_challenge,
    window_key,
)
from hub.errors import ProtocolError
from hub.model import Checkpoint, Status, StatusUpdate, Touch
from tests.helpers.fake_whatsapp import PHONE_NUMBER_ID, notification, sign, text_message

SECRET = "app-secret"


@pytest.mark.parametrize(
    ("header", "ok"),
    [
        (sign(SECRET, b"{}"), True),
        (sign(SECRET, b"{}").upper().replace("SHA256=", "sha256="), True),
        (sign("other", b"{}"), False),
        (sign(SECRET, b"{} "), False),
        ("sha1=" + sign(SECRET, b"{}")[7:], False),
        ("", False),
        (None, False),
    ],
)
def test_the_signature_is_the_apps_hmac_of_the_raw_body(header: str | None, ok: bool) -> None:
    assert signature_ok(SECRET.encode(), b"{}", header) is ok


def test_the_handshake_answers_only_our_verify_token() -> None:
    query = {"hub.mode": "subscribe", "hub.verify_token": "t0k", "hub.challenge": "42"}
    assert subscription_challenge(query, "t0k") == "42"
    assert subscription_challenge({**query, "hub.verify_token": "x"}, "t0k") is None
    assert subscription_challenge({**query, "hub.mode": "unsubscribe"}, "t0k") is None


def test_messages_statuses_and_windows() -> None:
    body = notification(
        messages=[text_message("79161234567", "wamid.A", "hello", 1_765_000_000)],
        statuses=[
            {"id": "wamid.B", "status": "failed", "timestamp": "1765000100", "recipient_id": "1",
             "errors": [{"code": 131047, "title": "Re-engagement message"}]},
            {"id": "wamid.C", "status": "deleted", "timestamp": "1765000100"},
        ],
    )
    note = parse_notification(json.loads(body), account="sales", phone_number_id=PHONE_NUMBER_ID)
    touch, window, update = note.items
    assert isinstance(touch, Touch) and touch.external_id == "wamid.A" and touch.preview == "hello"
    assert isinstance(window, Checkpoint) and window.key == window_key("+7 916 123-45-67")
    assert isinstance(update, StatusUpdate) and update.status is Status.FAILED
    assert update.external_id == "wamid.B" and update.detail == "131047 Re-engagement message"
    assert note.newest is not None and note.newest.timestamp() == 1_765_000_100


def test_another_numbers_changes_are_left_alone() -> None:
    body = notification(messages=[text_message("1", "wamid.A", "x", 1)], phone_number_id="999")
    assert parse_notification(json.loads(body), account="s", phone_number_id=PHONE_NUMBER_ID).items == ()


@pytest.mark.parametrize(
    "data",
    [
        {"object": "page"},
        {"object": "whatsapp_business_account", "entry": "x"},
        json.loads(notification(messages=[{"from": "1", "id": "w", "type": "text", "timestamp": "soon"}])),
        json.loads(notification(messages=[{"id": "w", "type": "text", "timestamp": "1"}])),
    ],
)
def test_malformed_notifications_are_protocol_errors(data: dict[str, object]) -> None:
    with pytest.raises(ProtocolError):
        parse_notification(data, account="s", phone_number_id=None)
