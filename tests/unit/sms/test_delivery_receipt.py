"""Delivery receipt text and message-id spellings (hex in one place, decimal in another)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from hub.channels.sms.delivery_receipt import id_forms, ids_match, parse_receipt
from hub.errors import ProtocolError
from hub.model import Status


def test_parses_the_appendix_b_form() -> None:
    r = parse_receipt(
        "id:0123456789 sub:001 dlvrd:001 submit date:2612061530 done date:2612061531"
        " stat:DELIVRD err:000 text:Hello id:x stat:y"
    )
    assert r.message_id == "0123456789"
    assert (r.submitted, r.delivered) == (1, 1)
    assert r.submit_date == datetime(2026, 12, 6, 15, 30, tzinfo=UTC)
    assert r.done_date == datetime(2026, 12, 6, 15, 31, tzinfo=UTC)
    assert r.stat == "DELIVRD" and r.err == "000"
    assert r.text == "Hello id:x stat:y"
    assert r.status is Status.DELIVERED


@pytest.mark.parametrize(
    ("text", "message_id", "stat", "status"),
    [
        ("id:1 sub:001 dlvrd:000 submit date:2612061530 done date:2612061531 stat:UNDELIV err:001 text:", "1", "UNDELIV", Status.FAILED),
        ("id:ab12 stat:EXPIRED err:0", "ab12", "EXPIRED", Status.FAILED),
        ("ID:77 SUB:001 DLVRD:001 SUBMIT DATE:2612061530 DONE DATE:2612061531 STAT:delivrd ERR:000 Text:x", "77", "DELIVRD", Status.DELIVERED),
        ("id:5 submit_date:2612061530 done_date:2612061531 stat:ACCEPTD", "5", "ACCEPTD", Status.SENT),
        ("id:9 stat:REJECTD", "9", "REJECTD", Status.FAILED),
        ("id:9 stat:WHATEVER", "9", "WHATEVER", Status.SENT),
    ],
)
def test_receipt_variants(text: str, message_id: str, stat: str, status: Status) -> None:
    r = parse_receipt(text)
    assert (r.message_id, r.stat, r.status) == (message_id, stat, status)


def test_dates_with_seconds_and_a_zone() -> None:
    r = parse_receipt(
        "id:1 submit date:261206153045 done date:bad stat:DELIVRD",
        zone=timezone(timedelta(hours=3)),
    )
    assert r.submit_date == datetime(2026, 12, 6, 12, 30, 45, tzinfo=UTC)
    assert r.done_date is None


@pytest.mark.parametrize("text", ["hello there", "stat:DELIVRD err:000", "id:1 err:000"])
def test_not_a_receipt(text: str) -> None:
    with pytest.raises(ProtocolError):
        parse_receipt(text)


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("1a2b", "6699", True),  # hex from submit_sm_resp, decimal in the receipt
        ("6699", "1A2B", True),
        ("0000006699", "6699", True),
        ("1a2b", "1a2b", True),
        ("1a2b", "1a2c", False),
        ("6699", "6698", False),
        ("msg-17", "msg-17", True),
        ("msg-17", "17", False),
    ],
)
def test_ids_match_across_hex_and_decimal(a: str, b: str, same: bool) -> None:
    assert ids_match(a, b) is same


def test_id_forms() -> None:
    assert id_forms("255") >= {"255", "ff"}
    assert id_forms("FF") >= {"ff", "255"}
