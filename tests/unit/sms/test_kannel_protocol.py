"""Kannel sendsms replies, DLR codes and MO parameters, as recorded from Kannel 1.4.5."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import parse_qs, parse_qsl, urlsplit

import pytest

from hub.channels.sms.kannel_protocol import (
    DLR_MASK_ALL,
    ReplyKind,
    SendsmsRequest,
    dlr_url_for,
    mo_get_url,
    parse_dlr,
    parse_mo,
    parse_sendsms_reply,
    sendsms_query,
)
from hub.errors import ProtocolError
from hub.model import AddressKind, Channel, Direction, SendOutcome, Status

# (HTTP status, body) exactly as smsbox 1.4.5 answered them here
RECORDED_REPLIES = [
    (202, b"0: Accepted for delivery", ReplyKind.ACCEPTED, SendOutcome.SENT),
    (202, b"3: Queued for later delivery", ReplyKind.QUEUED, SendOutcome.SENT),
    (403, b"Authorization failed for sendsms", ReplyKind.AUTH_FAILED, SendOutcome.PERMANENT_FAILURE),
    (400, b"Missing receiver number, rejected", ReplyKind.REJECTED, SendOutcome.PERMANENT_FAILURE),
    (400, b"Sender missing and no global set, rejected", ReplyKind.REJECTED, SendOutcome.PERMANENT_FAILURE),
    (400, b"Coding field misformed, rejected", ReplyKind.REJECTED, SendOutcome.PERMANENT_FAILURE),
    (400, b"Empty receiver number not allowed, rejected", ReplyKind.REJECTED, SendOutcome.PERMANENT_FAILURE),
    # other answers in the smsbox binary, with the HTTP status smsbox.c gives each
    (403, b"Not routable. Do not try again.", ReplyKind.NOT_ROUTABLE, SendOutcome.PERMANENT_FAILURE),
    (503, b"Temporal failure, try again later.", ReplyKind.TEMPORARY, SendOutcome.TEMPORARY_FAILURE),
    (500, b"Sending failed.", ReplyKind.TEMPORARY, SendOutcome.TEMPORARY_FAILURE),
]


@pytest.mark.parametrize(("status", "body", "kind", "outcome"), RECORDED_REPLIES)
def test_sendsms_replies(status: int, body: bytes, kind: ReplyKind, outcome: SendOutcome) -> None:
    reply = parse_sendsms_reply(status, body)
    assert (reply.kind, reply.outcome) == (kind, outcome)
    assert reply.text == body.decode()


def test_unexpected_success_text_is_a_protocol_error() -> None:
    with pytest.raises(ProtocolError):
        parse_sendsms_reply(200, b"<html>proxy page</html>")


def test_sendsms_query_for_gsm_and_cyrillic() -> None:
    base = SendsmsRequest(
        username="tester",
        password="testpw",
        sender="Shop",
        to="79001234567",
        text="Hello €",
        message_id="m-1",
        dlr_url="http://127.0.0.1:8080/sms/kannel/dlr",
    )
    params = dict(parse_qsl(sendsms_query(base)))
    assert params["coding"] == "0" and params["charset"] == "UTF-8"
    assert params["text"] == "Hello €"
    assert params["dlr-mask"] == str(DLR_MASK_ALL) == "31"
    dlr = urlsplit(params["dlr-url"])
    assert dlr.path == "/sms/kannel/dlr"
    assert dlr.query == "id=m-1&type=%d&at=%T&reply=%A&smsc_id=%F&smsc=%i"
    ru = dict(parse_qsl(sendsms_query(SendsmsRequest(
        username="u", password="p", sender="S", to="7", text="Привет", message_id="x"
    ))))
    assert ru["coding"] == "2" and ru["text"] == "Привет" and "dlr-url" not in ru


def test_dlr_url_keeps_an_existing_query_and_escapes_our_id() -> None:
    url = dlr_url_for("http://h/dlr?token=abc", "id with&amp")
    assert url.startswith("http://h/dlr?token=abc&id=id+with%26amp&type=%d")


# dlr-url calls recorded from Kannel with the fake SMSC (type 8 then type 1)
@pytest.mark.parametrize(
    ("query", "status", "detail"),
    [
        ("id=m-1&type=8&at=1796571915&reply=ACK/&smsc_id=&smsc=FAKE", Status.SENT, "ACK/"),
        ("id=m-1&type=1&at=1796571915&reply=&smsc_id=6e83cc2e&smsc=FAKE", Status.DELIVERED, None),
        ("id=m-1&type=2&at=1796571915", Status.FAILED, None),
        ("id=m-1&type=4&at=1796571915", Status.QUEUED, None),
        ("id=m-1&type=16&at=1796571915&reply=NACK/0x0000000b/Invalid+Destination", Status.FAILED, "NACK/0x0000000b/Invalid Destination"),
    ],
)
def test_dlr_codes(query: str, status: Status, detail: str | None) -> None:
    params = {k: v[0] for k, v in parse_qs(query, keep_blank_values=True).items()}
    update = parse_dlr(params, source="kannel:main")
    assert (update.external_id, update.status, update.detail) == ("m-1", status, detail)
    assert update.at == datetime.fromtimestamp(1796571915, UTC)


@pytest.mark.parametrize("params", [{"type": "1"}, {"id": "m", "type": "3"}, {"id": "m", "type": "x"}])
def test_bad_dlr(params: dict[str, str]) -> None:
    with pytest.raises(ProtocolError):
        parse_dlr(params, source="kannel:main")


def test_mo_get_url_and_recorded_mo() -> None:
    assert mo_get_url("http://h/sms/kannel/mo") == (
        "http://h/sms/kannel/mo?from=%p&to=%P&text=%a&id=%I&at=%T&smsc=%i&coding=%c&charset=%C"
    )
    # as Kannel called it for fakesmsc's "79001234567 1234 text Привет мир"
    query = (
        "from=79001234567&to=1234&text=%D0%9F%D1%80%D0%B8%D0%B2%D0%B5%D1%82+%D0%BC%D0%B8%D1%80"
        "&id=74f29f68-7a62-4819-8f38-c18777d0df10&at=1796571914&smsc=FAKE&coding=0&charset=UTF-8"
    )
    touch = parse_mo(dict(parse_qsl(query)), source="kannel:main")
    assert touch.external_id == "74f29f68-7a62-4819-8f38-c18777d0df10"
    assert (touch.channel, touch.direction, touch.status) == (Channel.SMS, Direction.IN, Status.RECEIVED)
    assert touch.preview == "Привет мир"
    assert touch.counterparts[0].kind is AddressKind.PHONE and touch.counterparts[0].value == "79001234567"
    assert touch.employee is not None and touch.employee.value == "1234"
    assert touch.occurred_at == datetime.fromtimestamp(1796571914, UTC)
    assert touch.metadata == {"smsc": "FAKE", "coding": "0", "charset": "UTF-8"}
    with pytest.raises(ProtocolError):
        parse_mo({"text": "no sender"}, source="kannel:main")
