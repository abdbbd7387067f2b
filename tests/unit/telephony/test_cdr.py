"""Asterisk's CDR lines into calls: the same calls live capture gives, from the records alone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from hub.model import Direction, Status
from hub.telephony.call_assembler import AssemblerConfig
from hub.telephony.cdr import CdrReadStats, parse_lines, read_cdr
from hub.telephony.cdr_source import CsvCdrSource
from tests.helpers.ami_server import Recording, recordings

WITH_CDR = [r for r in recordings() if r.cdr is not None]
#: Where a CDR cannot say what live capture can, and what it says instead.
#: P14: a click-to-call's CDR `answer` is the employee's answer, not the client's.
#: P15: a refused click-to-call's CDR has `s` as its destination, not the client's number.
TIMES_UNKNOWN_TO_CDR = {"P14_click_to_call_101_to_client": {"answered_at", "ring_seconds", "talk_seconds"}}
COUNTERPART_UNKNOWN_TO_CDR = {"P15_click_to_call_employee_busy"}


def _config(rec: Recording) -> AssemblerConfig:
    return AssemblerConfig(internal_pattern=rec.internal_pattern, trunk_pattern=rec.trunk_pattern)


def _ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def test_every_recording_with_a_cdr_file_is_covered() -> None:
    assert {r.name[:3] for r in WITH_CDR} >= {"P11", "P12", "P13", "P14", "P15", "P16"}


@pytest.mark.parametrize("rec", WITH_CDR, ids=lambda r: r.name)
def test_cdr_gives_the_recorded_calls(rec: Recording) -> None:
    assert rec.cdr is not None
    stats = CdrReadStats()
    got = [c.as_replay_dict() for c in read_cdr(rec.cdr.read_text("utf-8"), _config(rec), stats)]
    want = rec.expected_calls()
    assert not stats.refused
    assert [g["external_id"] for g in got] == [w["external_id"] for w in want]
    skip_times = TIMES_UNKNOWN_TO_CDR.get(rec.name, set())
    for g, w in zip(got, want, strict=True):
        assert g["backfilled"] is True
        for key, expected in w.items():
            if key in skip_times:
                continue
            if key in ("started_at", "answered_at", "ended_at"):
                if expected is None:
                    assert g[key] is None, key
                else:
                    assert abs((_ts(g[key]) - _ts(expected)).total_seconds()) <= 1.0, key
            elif key in ("ring_seconds", "talk_seconds"):
                assert abs(g[key] - expected) <= 1.0, (key, g[key], expected)
            elif key == "counterpart" and rec.name in COUNTERPART_UNKNOWN_TO_CDR:
                assert g[key] is None and g["notes"], "an unknown number is said, not guessed"
            else:
                assert g.get(key) == expected, (key, g.get(key), expected)


HEADER = (
    "accountcode,src,dst,dcontext,clid,channel,dstchannel,lastapp,lastdata,start,answer,end,"
    "duration,billsec,disposition,amaflags,uniqueid,userfield,peeraccount,linkedid,sequence\n"
)
CONFIG = AssemblerConfig(internal_pattern=r"^1\d\d$", trunk_pattern=r"PJSIP/provider-")


def _line(**over: Any) -> str:
    cells: dict[str, Any] = {
        "accountcode": "",
        "src": "+74951234567",
        "dst": "74950000101",
        "dcontext": "from-trunk",
        "clid": "",
        "channel": "PJSIP/provider-00000001",
        "dstchannel": "PJSIP/101-00000002",
        "lastapp": "Dial",
        "lastdata": "PJSIP/101&PJSIP/102,30,t",
        "start": "2026-12-06 10:00:00",
        "answer": "",
        "end": "2026-12-06 10:00:20",
        "duration": 20,
        "billsec": 0,
        "disposition": "NO ANSWER",
        "amaflags": "DOCUMENTATION",
        "uniqueid": "100.1",
        "userfield": "",
        "peeraccount": "",
        "linkedid": "100.1",
        "sequence": 1,
    }
    cells.update(over)
    return ",".join(f'"{v}"' if isinstance(v, str) else str(v) for v in cells.values()) + "\n"


def test_missed_ring_group_call_names_both_phones_and_no_single_employee() -> None:
    (call,) = read_cdr(HEADER + _line(), CONFIG)
    assert call.direction is Direction.IN and call.status is Status.MISSED
    assert call.extensions_rung == ("101", "102") and call.employee is None
    assert call.ring_seconds == 20.0 and call.talk_seconds == 0.0


def test_busy_when_every_dial_was_busy_and_a_lone_phone_is_the_employee() -> None:
    text = _line(disposition="BUSY", lastdata="PJSIP/102,30,t", dstchannel="PJSIP/102-01")
    (call,) = read_cdr(text, CONFIG)  # no header line, as Master.csv is written
    assert call.status is Status.BUSY and call.employee == "102"


def test_outbound_answered_and_internal_calls() -> None:
    out = _line(
        src="101",
        dst="84951234567",
        dcontext="from-internal",
        channel="PJSIP/101-07",
        dstchannel="PJSIP/provider-08",
        lastdata="PJSIP/84951234567@provider,30",
        answer="2026-12-06 10:00:05",
        disposition="ANSWERED",
        uniqueid="200.1",
        linkedid="200.1",
    )
    internal = _line(
        src="101",
        dst="102",
        dcontext="from-internal",
        channel="PJSIP/101-09",
        dstchannel="PJSIP/102-0a",
        lastdata="PJSIP/102,30",
        start="2026-12-06 11:00:00",
        uniqueid="300.1",
        linkedid="300.1",
    )
    first, second = read_cdr(HEADER + out + internal, CONFIG)
    assert (first.direction, first.status, first.employee, first.counterpart) == (
        Direction.OUT,
        Status.ANSWERED,
        "101",
        "84951234567",
    )
    assert first.ring_seconds == 5.0 and first.talk_seconds == 15.0
    assert (second.direction, second.status, second.employee) == (
        Direction.INTERNAL,
        Status.NO_ANSWER,
        "101",
    )
    assert second.counterpart_extension == "102" and second.extensions_rung == ("102",)


@pytest.mark.parametrize(
    "text",
    ['"a","b"\n', '"","1","2","ctx","","chan","","","","x","","y",0,0,"ANSWERED","","",""\n'],
)
def test_bad_lines_are_refused_with_their_line_number_and_nothing_raises(text: str) -> None:
    stats = CdrReadStats()
    assert parse_lines(HEADER + text, stats) == []
    assert stats.refused and stats.refused[0][0] == 2


def test_garbage_times_give_no_time_rather_than_a_wrong_one() -> None:
    (call,) = read_cdr(_line(start="yesterday", end="", answer=""), CONFIG)
    assert call.started_at is None and call.ended_at is None and call.ring_seconds is None


async def test_a_long_master_csv_is_read_from_its_end_once_and_only_as_far_as_needed(
    tmp_path: Path,
) -> None:
    base = datetime(2026, 12, 1, tzinfo=UTC)
    rows = []
    for i in range(200):
        start = (base + timedelta(minutes=5 * i)).strftime("%Y-%m-%d %H:%M:%S")
        end = (base + timedelta(minutes=5 * i, seconds=30)).strftime("%Y-%m-%d %H:%M:%S")
        rows.append(
            _line(
                start=start,
                answer=start,
                end=end,
                disposition="ANSWERED",
                uniqueid=f"{i}.1",
                linkedid=f"{i}.1",
                sequence=i,
            )
        )
    master = tmp_path / "Master.csv"
    master.write_text("".join(rows), encoding="utf-8")
    source = CsvCdrSource(master, CONFIG, block_bytes=300)  # many blocks, lines cut across them
    calls = await source.calls_since(base)
    assert len(calls) == 200 and source.stats.lines == 200  # every line once
    recent = await source.calls_since(base + timedelta(minutes=5 * 190))
    assert [c.linkedid for c in recent] == [f"{i}.1" for i in range(190, 200)]
    assert source.stats.lines < 100  # stopped reading back once past the gap (and 4 h)
