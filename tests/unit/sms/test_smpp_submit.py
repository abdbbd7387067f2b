"""Text → submit_sm parts, and the submit window's shrinking and growing."""

from __future__ import annotations

import asyncio

import pytest

from hub.channels.sms.encoding import count_segments
from hub.channels.sms.smpp_client import SubmitWindow
from hub.channels.sms.smpp_pdu import ESM_UDHI, encode
from hub.channels.sms.smpp_submit import Addressing, build_submits
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


async def test_window_halves_and_grows_back() -> None:
    window = SubmitWindow(8, recovery=3)
    await window.shrink()
    await window.shrink()
    assert window.size == 2
    for _ in range(3):
        await window.success()
    assert window.size == 3
    for _ in range(100):
        await window.success()
    assert window.size == 8  # never above the configured limit


async def test_window_blocks_at_its_size() -> None:
    window = SubmitWindow(2, recovery=1)
    await window.acquire()
    await window.acquire()
    third = asyncio.create_task(window.acquire())
    await asyncio.sleep(0.01)
    assert not third.done()
    await window.release()
    await asyncio.wait_for(third, 1)
    assert window.in_flight == 2 and window.peak == 2
