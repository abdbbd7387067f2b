"""The call assembler on the shared recordings and on hand-written event sequences."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest

from hub.model import Direction, Status
from hub.telephony.ami_protocol import AmiMessage
from hub.telephony.call_assembler import AssemblerConfig, CallAssembler, FinishedCall, device_of
from hub.telephony.replay import ReplayStats, chunked, replay
from tests.helpers.ami_server import (
    LOCAL_TRUNK_PATTERN,
    RECORDED_INTERNAL_PATTERN,
    Recording,
    events_only,
    interleave,
    recordings,
    renumber,
    replay_recording,
    strip_optional,
)

TIME_KEYS = ("started_at", "answered_at", "ended_at")
SECONDS_KEYS = ("ring_seconds", "talk_seconds")
RECS = recordings()
#: Recordings of one uninterrupted connection each.
WHOLE = [r for r in RECS if not r.is_outage]


def _config(rec: Recording) -> AssemblerConfig:
    return AssemblerConfig(internal_pattern=rec.internal_pattern, trunk_pattern=rec.trunk_pattern)


def _replay(data: bytes, config: AssemblerConfig, chunk: int = 65_536) -> list[dict[str, Any]]:
    stats = ReplayStats()
    calls = [c.as_replay_dict() for c in replay(chunked(data, chunk), config, stats=stats)]
    assert not stats.garbage and not stats.refused
    return calls


def _replay_rec(
    rec: Recording, chunk: int = 65_536, transform: Callable[[bytes], bytes] = lambda b: b
) -> list[dict[str, Any]]:
    stats = ReplayStats()
    calls = replay_recording(rec, _config(rec), chunk, transform, stats)
    assert not stats.garbage and not stats.refused
    return [c.as_replay_dict() for c in calls]


def _ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _compare(got: dict[str, Any], want: dict[str, Any], *, with_times: bool) -> None:
    for key, expected in want.items():
        if key in TIME_KEYS:
            if not with_times:
                continue
            if expected is None:
                assert got[key] is None, key
            else:
                assert abs((_ts(got[key]) - _ts(expected)).total_seconds()) <= 1.0, key
        elif key in SECONDS_KEYS:
            if with_times:
                assert abs(got[key] - expected) <= 1.0, key
        else:
            assert got.get(key) == expected, (key, got.get(key), expected)
    if "employee" not in want:
        assert "employee" not in got


@pytest.mark.parametrize("rec", RECS, ids=lambda r: r.name)
@pytest.mark.parametrize("chunk", [13, 65_536])
def test_recording_gives_expected_calls(rec: Recording, chunk: int) -> None:
    got = _replay_rec(rec, chunk)
    want = rec.expected_calls()
    assert [g["external_id"] for g in got] == [w["external_id"] for w in want]
    for g, w in zip(got, want, strict=True):
        _compare(g, w, with_times=True)


@pytest.mark.parametrize("rec", RECS, ids=lambda r: r.name)
def test_recording_without_timestamps_cdr_cel_gives_same_calls(rec: Recording) -> None:
    for raw in rec.sessions():
        stripped = strip_optional(raw)
        assert b"Timestamp:" not in stripped and b"Event: Cdr" not in stripped
    got = _replay_rec(rec, transform=strip_optional)
    want = rec.expected_calls()
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        _compare(g, w, with_times=False)
        if not g.get("backfilled"):
            assert g["started_at"] is None  # no Timestamp: no time is made up


def test_many_calls_interleaved_each_once() -> None:
    streams = [
        renumber(events_only(r.read()), i * 20 + n)
        for n, r in enumerate(WHOLE)
        for i in range(20)
    ]
    config = AssemblerConfig(
        internal_pattern=RECORDED_INTERNAL_PATTERN,
        trunk_pattern=LOCAL_TRUNK_PATTERN + "|PJSIP/provider-",
    )
    assembler = CallAssembler(config)
    from hub.telephony.ami_protocol import AmiParser

    parser = AmiParser(expect_banner=False)
    done: list[FinishedCall] = []
    peak = 0
    for frame in interleave(streams, 50):
        for item in parser.feed(frame):
            assert isinstance(item, AmiMessage)
            done += assembler.feed(item)
        peak = max(peak, assembler.calls_in_flight)
    ids = [c.linkedid for c in done]
    assert len(ids) == len(set(ids)) == len(streams)
    assert not [c for c in done if c.unclosed]
    assert peak <= 2 * 50  # 50 streams at a time; a pickup has two Linkedids until it merges
    assert assembler.calls_in_flight == assembler.channels_in_flight == 0
    by_status: dict[Status, int] = {}
    for call in done:
        by_status[call.status] = by_status.get(call.status, 0) + 1
    assert by_status[Status.MISSED] == 40 and by_status[Status.BUSY] == 20


# ------------------------------------------------------------ hand-written events


def ev(event: str, **fields: str) -> AmiMessage:
    headers = {"Event": event}
    headers.update({k.replace("_", "-") if k == "Cause_txt" else k: v for k, v in fields.items()})
    return AmiMessage(headers=headers)


def chan(
    prefix: str, name: str, uid: str, linkedid: str, cid: str = "", state: str = "Up"
) -> dict[str, str]:
    return {
        f"{prefix}Channel": name,
        f"{prefix}Uniqueid": uid,
        f"{prefix}Linkedid": linkedid,
        f"{prefix}CallerIDNum": cid,
        f"{prefix}ChannelStateDesc": state,
    }


PJSIP = AssemblerConfig(internal_pattern=r"^\d{3}$", trunk_pattern=r"^PJSIP/provider-")


def feed_all(
    assembler: CallAssembler, events: list[AmiMessage], t0: float = 1000.0
) -> list[FinishedCall]:
    out: list[FinishedCall] = []
    for i, event in enumerate(events):
        out += assembler.feed(event, t0 + i)
    return out


def test_attended_transfer_records_chain_and_last_talker() -> None:
    L1, L2 = "10.1", "10.3"
    client = chan("", "PJSIP/provider-01", "10.1", L1, "+74951112233")
    a101 = chan("", "PJSIP/101-02", "10.2", L1, "101")
    a101b = chan("", "PJSIP/101-03", "10.3", L2, "101")
    a103 = chan("", "PJSIP/103-04", "10.4", L2, "103")
    dest = lambda c: {("Dest" + k): v for k, v in c.items()}  # noqa: E731
    events = [
        ev("Newchannel", **client, Context="from-trunk"),
        ev("Newchannel", **a101),
        ev("DialBegin", **client, **dest(a101)),
        ev("DialEnd", **client, **dest(a101), DialStatus="ANSWER"),
        ev("BridgeEnter", **a101, BridgeUniqueid="b1"),
        ev("BridgeEnter", **client, BridgeUniqueid="b1"),
        ev("Newchannel", **a101b),
        ev("Newchannel", **a103),
        ev("DialBegin", **a101b, **dest(a103)),
        ev("DialEnd", **a101b, **dest(a103), DialStatus="ANSWER"),
        ev("BridgeEnter", **a101b, BridgeUniqueid="b2"),
        ev("BridgeEnter", **a103, BridgeUniqueid="b2"),
        ev(
            "AttendedTransfer",
            Result="Success",
            **{("OrigTransferer" + k): v for k, v in a101.items()},
            **{("SecondTransferer" + k): v for k, v in a101b.items()},
            **{("Transferee" + k): v for k, v in client.items()},
            **{("TransferTarget" + k): v for k, v in a103.items()},
            DestType="Bridge",
        ),
        ev("BridgeLeave", **a101, BridgeUniqueid="b1"),
        ev("Hangup", **a101, Cause="16"),
        ev("BridgeLeave", **a101b, BridgeUniqueid="b2"),
        ev("Hangup", **a101b, Cause="16"),
        ev("BridgeLeave", **a103, BridgeUniqueid="b2"),
        ev("BridgeEnter", **{**a103, "Linkedid": L1}, BridgeUniqueid="b1"),
        ev("Hangup", **{**a103, "Linkedid": L1}, Cause="16"),
        ev("Hangup", **client, Cause="16"),
    ]
    done = {c.linkedid: c for c in feed_all(CallAssembler(PJSIP), events)}
    call = done[L1]
    assert call.direction is Direction.IN and call.status is Status.ANSWERED
    assert call.employee == "103"
    assert [t.as_dict() for t in call.transfers] == [
        {"from": "101", "to": "103", "kind": "attended"}
    ]
    consult = done[L2]
    assert consult.direction is Direction.INTERNAL and consult.employee == "101"
    assert consult.counterpart_extension == "103"


@pytest.mark.parametrize(
    ("dial_status", "cause", "status"),
    [
        ("BUSY", "17", Status.BUSY),
        ("NOANSWER", "19", Status.NO_ANSWER),
        ("CANCEL", "16", Status.NO_ANSWER),
        ("CONGESTION", "34", Status.FAILED),
        ("CHANUNAVAIL", "3", Status.FAILED),
        (None, "17", Status.BUSY),
        (None, "34", Status.FAILED),
    ],
)
def test_outbound_outcomes(dial_status: str | None, cause: str, status: Status) -> None:
    caller = chan("", "PJSIP/101-01", "20.1", "20.1", "101", "Ring")
    trunk = chan("", "PJSIP/provider-02", "20.2", "20.1", "+74950000000", "Down")
    dest = {("Dest" + k): v for k, v in trunk.items()}
    events = [
        ev("Newchannel", **caller),
        ev("Newchannel", **trunk),
        ev("DialBegin", **caller, **dest, DialString="+74950000000@provider"),
    ]
    if dial_status:
        events.append(ev("DialEnd", **caller, **dest, DialStatus=dial_status))
    events += [ev("Hangup", **trunk, Cause=cause), ev("Hangup", **caller, Cause=cause)]
    (call,) = feed_all(CallAssembler(PJSIP), events)
    assert call.direction is Direction.OUT
    assert call.status is status
    assert call.employee == "101" and call.counterpart == "+74950000000"
    assert call.answered_at is None and call.talk_seconds == 0.0


def test_unclosed_call_expires_flagged() -> None:
    assembler = CallAssembler(AssemblerConfig(unclosed_after_s=60, **_pat()))
    caller = chan("", "PJSIP/101-01", "30.1", "30.1", "101")
    assert not feed_all(assembler, [ev("Newchannel", **caller)], t0=1000)
    assert assembler.expire(1030) == []
    (call,) = assembler.expire(1061)
    assert call.unclosed and call.linkedid == "30.1"
    assert assembler.calls_in_flight == 0 and assembler.channels_in_flight == 0
    # a late Hangup for it does not resurrect the call
    assert not assembler.feed(ev("Hangup", **caller), 1100)
    assert assembler.calls_in_flight == 0


def _pat() -> dict[str, str]:
    return {"internal_pattern": r"^\d{3}$", "trunk_pattern": r"^PJSIP/provider-"}


def test_memory_bounded_by_max_calls() -> None:
    assembler = CallAssembler(AssemblerConfig(max_calls=100, **_pat()))
    evicted = []
    for i in range(1000):
        evicted += assembler.feed(
            ev("Newchannel", **chan("", f"PJSIP/101-{i}", f"40.{i}", f"40.{i}", "101")), float(i)
        )
    assert assembler.calls_in_flight == 100
    assert len(evicted) == 900 and all(c.unclosed for c in evicted)
    assert assembler.channels_in_flight == 100


def test_reconcile_closes_calls_gone_during_outage_and_adopts_new_ones() -> None:
    assembler = CallAssembler(PJSIP)
    gone = chan("", "PJSIP/provider-01", "50.1", "50.1", "+7495", "Ring")
    feed_all(assembler, [ev("Newchannel", **gone, Context="from-trunk")])
    live_client = {**chan("", "PJSIP/provider-09", "51.1", "51.1", "+7499"), "BridgeId": "bx"}
    live_phone = {**chan("", "PJSIP/102-0a", "51.2", "51.1", "102"), "BridgeId": "bx"}
    snapshot = [
        AmiMessage(
            headers={"Event": "CoreShowChannel", "ActionID": "1", **h, "Duration": "00:01:05"}
        )
        for h in (live_client, live_phone)
    ]
    (closed,) = assembler.reconcile(snapshot, 5000.0)
    assert closed.linkedid == "50.1" and closed.reconciled and closed.status is Status.MISSED
    assert assembler.live_state() == {"102": "talking"}
    done = feed_all(assembler, [ev("Hangup", **live_phone), ev("Hangup", **live_client)], t0=5010)
    (call,) = done
    assert call.linkedid == "51.1" and call.reconciled
    assert call.status is Status.ANSWERED and call.employee == "102"
    assert call.counterpart == "+7499"
    assert call.started_at is not None and call.started_at.timestamp() == pytest.approx(5000 - 65)


def test_live_state_ringing_then_talking() -> None:
    assembler = CallAssembler(PJSIP)
    client = chan("", "PJSIP/provider-01", "60.1", "60.1", "+7495", "Ring")
    phone = chan("", "PJSIP/101-02", "60.2", "60.1", "101", "Ringing")
    dest = {("Dest" + k): v for k, v in phone.items()}
    feed_all(
        assembler,
        [ev("Newchannel", **client), ev("Newchannel", **phone), ev("DialBegin", **client, **dest)],
    )
    assert assembler.live_state() == {"101": "ringing"}
    feed_all(
        assembler,
        [
            ev("DialEnd", **client, **dest, DialStatus="ANSWER"),
            ev("Newstate", **{**phone, "ChannelStateDesc": "Up"}),
        ],
    )
    assert assembler.live_state() == {"101": "talking"}


def test_queue_wait_from_timestamps_or_holdtime() -> None:
    rec = next(r for r in RECS if r.name.startswith("07_"))
    (call,) = list(replay([rec.read()], _config(rec)))
    assert call.queue_wait_seconds == pytest.approx(12.0, abs=0.5)
    (bare,) = list(replay([strip_optional(rec.read())], _config(rec)))
    assert bare.queue_wait_seconds == pytest.approx(12.0)


@pytest.mark.parametrize(
    ("channel", "device"),
    [
        ("PJSIP/101-0000000b", "101"),
        ("SIP/sales-office-0000001a", "sales-office"),
        ("Local/101@phones-0000000a;1", "101"),
        ("IAX2/trunk-1234", "trunk"),
        ("DAHDI/1-1", "1"),
        ("weird", "weird"),
    ],
)
def test_device_of(channel: str, device: str) -> None:
    assert device_of(channel) == device


def test_internal_never_client_and_counterpart_extension() -> None:
    rec = next(r for r in RECS if r.name.startswith("09_"))
    (call,) = list(replay([rec.read()], _config(rec)))
    assert call.direction is Direction.INTERNAL
    assert call.counterpart_extension == "102"
    assert call.as_replay_dict()["counterpart"] is None
