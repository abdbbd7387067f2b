"""A connection lost at any frame of a recording, then re-established: what the new
connection rebuilds from `CoreShowChannels`, completed by the CDR record of each call
that lived through it, equals what one unbroken connection gives (times within 1 s)."""

from __future__ import annotations

import pytest

from hub.telephony.ami_protocol import AmiMessage, AmiParser
from hub.telephony.backfill import merge
from hub.telephony.call_assembler import (
    ASSEMBLER_EVENTS,
    AssemblerConfig,
    CallAssembler,
    FinishedCall,
)
from hub.telephony.cdr import read_cdr
from tests.helpers.ami_server import (
    Recording,
    channels_at,
    events_only,
    frames,
    pbx_time,
    recordings,
)

#: Pickups (the picker's own Linkedid) and an attended transfer (a consultation leg).
RECS = [r for r in recordings() if r.name.startswith(("P11_", "P12_", "P13_"))]


def _messages(data: bytes, wanted: frozenset[str] | None = ASSEMBLER_EVENTS) -> list[AmiMessage]:
    return [m for m in AmiParser(wanted_events=wanted).feed(data) if isinstance(m, AmiMessage)]


def _listing(stream: bytes) -> list[AmiMessage]:
    text = "".join(
        "Event: CoreShowChannel\r\n" + "".join(f"{k}: {v}\r\n" for k, v in chan.items()) + "\r\n"
        for chan in channels_at(stream)
    )
    return _messages(text.encode(), None)


def _feed(assembler: CallAssembler, messages: list[AmiMessage]) -> list[FinishedCall]:
    out: list[FinishedCall] = []
    for message in messages:
        out += assembler.feed(message, None)
    return out


def _view(call: FinishedCall) -> tuple[object, ...]:
    return (
        call.direction,
        call.status,
        call.employee,
        call.counterpart,
        call.extensions_rung,
        tuple(t.as_dict()["to"] for t in call.transfers),
    )


def _close(a: object, b: object) -> bool:
    if a is None or b is None:
        return a is b
    return abs((a - b).total_seconds()) <= 1.0  # type: ignore[operator]


@pytest.mark.parametrize("rec", RECS, ids=lambda r: r.name)
def test_a_reconnect_at_every_frame_gives_the_unbroken_calls(rec: Recording) -> None:
    config = AssemblerConfig(internal_pattern=rec.internal_pattern, trunk_pattern=rec.trunk_pattern)
    assert rec.cdr is not None
    records = {c.linkedid: c for c in read_cdr(rec.cdr.read_text(encoding="utf-8"), config)}
    fr = frames(events_only(rec.read()))
    whole = {c.linkedid: c for c in _feed(CallAssembler(config), _messages(b"".join(fr)))}
    assert whole
    for cut in range(1, len(fr)):
        before = b"".join(fr[:cut])
        first = CallAssembler(config)
        done = _feed(first, _messages(before))
        second = CallAssembler(config)
        rest = second.reconcile(_listing(before), pbx_time(before))
        rest += _feed(second, _messages(b"".join(fr[cut:])))
        # what the adapter does with a call that lived through the reconnect
        rest = [
            merge(c, records[c.linkedid]) if c.reconciled and c.linkedid in records else c
            for c in rest
        ]
        got = done + rest
        ids = [c.linkedid for c in got]
        assert sorted(ids) == sorted(whole), (cut, fr[cut - 1][:40])
        for call in got:
            want = whole[call.linkedid]
            assert _view(call) == _view(want), (cut, fr[cut - 1][:40])
            for field in ("started_at", "answered_at", "ended_at"):
                assert _close(getattr(call, field), getattr(want, field)), (cut, field)
