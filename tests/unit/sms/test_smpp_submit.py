"""Text → submit_sm parts, and the submit window's shrinking and growing."""

from __future__ import annotations

import asyncio

import pytest

from hub.channels.sms.encoding import count_segments, decode_payload
from hub.channels.sms.smpp_client import SubmitWindow
from hub.channels.sms.smpp_pdu import ESM_UDHI, Tlvs, decode, encode
from hub.channels.sms.smpp_submit import Addressing, LongMessages, build_submits
from hub.channels.sms.udh import split_udh

TO = Addressing(source_addr="Shop", destination_addr="79001234567")


def test_single_part_goes_bare() -> None:
    (submit,) = build_submits("Hi", TO, reference=1)
    assert submit.esm_class == 0 and submit.short_message == b"Hi"
    assert submit.registered_delivery == 1 and submit.data_coding == 0
    assert (submit.dest_addr_ton, submit.dest_addr_npi) == (1, 1)


@pytest.mark.parametrize("text", ["Ж" * 200, "x€" * 120])
def test_long_message_parts_carry_one_reference(text: str) -> None:
    submits = build_submits(text, TO, reference=0x1FF, receipt=False)
    assert len(submits) == count_segments(text).parts
    for n, submit in enumerate(submits, start=1):
        assert submit.esm_class == ESM_UDHI and submit.registered_delivery == 0
        header, _ = split_udh(submit.short_message)
        assert header.concat is not None
        assert (header.concat.reference, header.concat.total, header.concat.seqnum) == (
            0xFF,
            len(submits),
            n,
        )
        assert len(submit.short_message) <= 160
        encode(submit)  # fits the PDU limits


def test_window_halves_and_grows_back() -> None:
    window = SubmitWindow(8, recovery=3)
    window.shrink()
    window.shrink()
    assert window.size == 2
    for _ in range(3):
        window.success()
    assert window.size == 3
    for _ in range(100):
        window.success()
    assert window.size == 8  # never above the configured limit


async def test_window_blocks_at_its_size() -> None:
    window = SubmitWindow(2, recovery=1)
    await window.acquire()
    await window.acquire()
    third = asyncio.create_task(window.acquire())
    await asyncio.sleep(0.01)
    assert not third.done()
    window.release()
    await asyncio.wait_for(third, 1)
    assert window.in_flight == 2 and window.peak == 2


async def test_a_waiter_cancelled_as_it_is_given_a_place_gives_it_back() -> None:
    window = SubmitWindow(1, recovery=1)
    await window.acquire()
    waiting = [asyncio.create_task(window.acquire()) for _ in range(2)]
    await asyncio.sleep(0)
    window.release()  # the place goes to the first waiter ...
    waiting[0].cancel()  # ... which is cancelled before it runs
    await asyncio.wait_for(waiting[1], 1)  # the place went on instead of being lost
    assert waiting[0].cancelled() and window.in_flight == 1
    window.release()
    assert window.in_flight == 0


async def test_places_are_given_in_arrival_order() -> None:
    window = SubmitWindow(1, recovery=1)
    await window.acquire()
    order: list[int] = []

    async def take(n: int) -> None:
        await window.acquire()
        order.append(n)

    tasks = [asyncio.create_task(take(n)) for n in range(4)]
    await asyncio.sleep(0)
    for _ in range(4):
        window.release()
        await asyncio.sleep(0)
    await asyncio.wait_for(asyncio.gather(*tasks), 1)
    assert order == [0, 1, 2, 3]


@pytest.mark.parametrize("text", ["Ж" * 200, "x€" * 120])
def test_sar_parts_carry_the_reference_in_tlvs_and_no_udh(text: str) -> None:
    submits = build_submits(text, TO, reference=0x1234, long_messages=LongMessages.SAR)
    total = count_segments(text).parts
    assert len(submits) == total
    limit = 153 if text.startswith("x") else 134  # septets or octets of a part behind a UDH
    for n, submit in enumerate(submits, start=1):
        assert submit.esm_class == 0
        tlvs = submit.tlvs
        assert (tlvs.sar_msg_ref_num, tlvs.sar_total_segments, tlvs.sar_segment_seqnum) == (0x1234, total, n)
        assert len(submit.short_message) <= limit
        assert decode(encode(submit)) == submit  # the TLVs survive our own codec


@pytest.mark.parametrize("text", ["Ж" * 200, "x€" * 120])
def test_payload_is_one_pdu_with_the_whole_text(text: str) -> None:
    (submit,) = build_submits(text, TO, reference=7, long_messages=LongMessages.PAYLOAD)
    assert submit.short_message == b"" and submit.esm_class == 0
    assert submit.tlvs.message_payload is not None
    assert decode_payload(submit.tlvs.message_payload, submit.data_coding) == text
    assert decode(encode(submit)) == submit


@pytest.mark.parametrize("mode", list(LongMessages))
def test_a_short_text_is_one_bare_pdu_whatever_the_mode(mode: LongMessages) -> None:
    (submit,) = build_submits("Hi", TO, reference=1, long_messages=mode)
    assert submit.short_message == b"Hi" and submit.esm_class == 0 and submit.tlvs == Tlvs()
