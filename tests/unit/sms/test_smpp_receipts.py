"""ReceiptMatcher: receipts find their message by any id spelling, early ones wait, parts add up."""

from __future__ import annotations

from hub.channels.sms.smpp_incoming import SmppReceipt
from hub.channels.sms.smpp_receipts import ReceiptMatcher
from hub.model import Status


def receipt(smsc_id: str, status: Status = Status.DELIVERED) -> SmppReceipt:
    return SmppReceipt(message_id=smsc_id, status=status, source_addr="7900", destination_addr="Shop")


def test_a_receipt_in_decimal_finds_the_hex_id() -> None:
    m = ReceiptMatcher()
    m.expect("ours", 1)
    assert m.sent("ours", "1a2b0") == []
    (r,) = m.receipt(receipt(str(0x1A2B0)), 0)
    assert (r.message_id, r.status) == ("ours", Status.DELIVERED)
    assert m.receipt(receipt("1a2b0"), 1) == []  # final: a repeat changes nothing


def test_a_receipt_before_the_response_is_held_then_applied() -> None:
    m = ReceiptMatcher()
    m.expect("ours", 1)
    assert m.receipt(receipt("77"), 0) == [] and m.held == 1
    (r,) = m.sent("ours", "4d")  # 0x4d == 77
    assert r.message_id == "ours" and r.status is Status.DELIVERED and m.held == 0


def test_every_part_must_be_delivered_and_one_failed_part_fails_it() -> None:
    m = ReceiptMatcher()
    m.expect("long", 2)
    m.sent("long", "a1")
    m.sent("long", "a2")
    assert m.receipt(receipt("a1"), 0) == []
    (r,) = m.receipt(receipt("a2"), 0)
    assert r.status is Status.DELIVERED
    m.expect("bad", 2)
    m.sent("bad", "b1")
    m.sent("bad", "b2")
    (f,) = m.receipt(receipt("b1", Status.FAILED), 0)
    assert f.status is Status.FAILED and m.receipt(receipt("b2"), 0) == []


def test_receipts_never_matched_are_handed_back_not_dropped() -> None:
    m = ReceiptMatcher(hold_s=10, max_held=2)
    for i in range(3):
        m.receipt(receipt(f"z{i}"), float(i))
    assert [r.message_id for r in m.expire(5)] == ["z0"]  # pushed out by newer ones
    assert [r.message_id for r in m.expire(11.5)] == ["z1"]
    assert m.held == 1


def test_an_exact_id_wins_over_another_message_spelled_the_same() -> None:
    m = ReceiptMatcher()
    m.expect("sixteen", 1)
    m.sent("sixteen", "16")  # hex 16 is decimal 22, decimal 16 is hex 10
    m.expect("ten", 1)
    m.sent("ten", "10")
    (r,) = m.receipt(receipt("10"), 0)
    assert r.message_id == "ten"


def test_without_spellings_ids_match_only_as_given() -> None:
    m = ReceiptMatcher(spellings=False)
    m.expect("ours", 1)
    m.sent("ours", "1a")
    assert m.receipt(receipt("26"), 0) == [] and m.held == 1
