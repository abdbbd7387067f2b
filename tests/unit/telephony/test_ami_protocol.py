"""The sans-IO AMI parser on bytes: splits, line endings, encodings, Follows, garbage."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.telephony.ami_protocol import (
    AmiBanner,
    AmiGarbage,
    AmiItem,
    AmiMessage,
    AmiParser,
    encode_action,
)
from tests.helpers.ami_server import Recording, recordings

NAME = "Иван Петров"


def _event(name_bytes: bytes, eol: bytes = b"\r\n") -> bytes:
    lines = [
        b"Event: Newchannel",
        b"Channel: PJSIP/101-00000001",
        b"CallerIDNum: 101",
        b"CallerIDName: " + name_bytes,
        b"Uniqueid: 1.1",
        b"Linkedid: 1.1",
    ]
    return eol.join(lines) + eol + eol


def _messages(items: list[AmiItem]) -> list[AmiMessage]:
    return [i for i in items if isinstance(i, AmiMessage)]


@pytest.mark.parametrize(
    ("encoding", "eol"),
    [("utf-8", b"\r\n"), ("cp1251", b"\r\n"), ("utf-8", b"\n"), ("cp1251", b"\n")],
)
def test_cyrillic_name_split_at_every_byte(encoding: str, eol: bytes) -> None:
    data = b"Asterisk Call Manager/11.0.0" + eol + _event(NAME.encode(encoding), eol)
    for cut in range(1, len(data)):
        parser = AmiParser()
        items = parser.feed(data[:cut]) + parser.feed(data[cut:])
        msgs = _messages(items)
        assert len(msgs) == 1, cut
        assert msgs[0].get("CallerIDName") == NAME, cut
        assert isinstance(items[0], AmiBanner)
        assert not [i for i in items if isinstance(i, AmiGarbage)]


def test_byte_by_byte_feed() -> None:
    data = _event(NAME.encode()) * 3
    parser = AmiParser(expect_banner=False)
    items: list[AmiItem] = []
    for i in range(len(data)):
        items += parser.feed(data[i : i + 1])
    assert [m.get("CallerIDName") for m in _messages(items)] == [NAME] * 3
    assert parser.buffered == 0


def test_latin1_with_configured_fallback() -> None:
    parser = AmiParser(fallback_encoding="latin-1", expect_banner=False)
    (msg,) = _messages(parser.feed(_event("José Müller".encode("latin-1"))))
    assert msg.get("CallerIDName") == "José Müller"


def test_banner_then_response() -> None:
    parser = AmiParser()
    items = parser.feed(
        b"Asterisk Call Manager/11.0.0\r\nResponse: Success\r\nActionID: 1\r\n"
        b"Message: Authentication accepted\r\n\r\n"
    )
    banner, response = items
    assert isinstance(banner, AmiBanner) and banner.version == "11.0.0"
    assert isinstance(response, AmiMessage)
    assert response.response == "Success" and response.action_id == "1"
    assert response.event is None


def test_repeated_keys_kept_in_order() -> None:
    data = (
        b"Event: Newchannel\r\nChannel: PJSIP/1-1\r\nChanVariable: A=1\r\n"
        b"ChanVariable: B=two=2\r\nChanVariable: C=\r\nUniqueid: 1.1\r\n\r\n"
    )
    (msg,) = _messages(AmiParser(expect_banner=False).feed(data))
    assert msg.getall("ChanVariable") == ("A=1", "B=two=2", "C=")
    assert msg.variables() == {"A": "1", "B": "two=2", "C": ""}
    assert msg.get("ChanVariable") == "A=1"
    assert msg.getall("Channel") == ("PJSIP/1-1",)
    assert msg.getall("Missing") == ()


def test_response_follows_body_with_blank_lines() -> None:
    data = (
        b"Response: Follows\r\nPrivilege: Command\r\nActionID: 7\r\n"
        b"Channel              Location\r\n\r\nPJSIP/101-0001   s@default:1\r\n"
        b"--END COMMAND--\r\n\r\nEvent: FullyBooted\r\nStatus: Fully Booted\r\n\r\n"
    )
    for cut in (5, 60, 90, len(data) - 3):
        parser = AmiParser(expect_banner=False)
        msgs = _messages(parser.feed(data[:cut]) + parser.feed(data[cut:]))
        assert [m.response or m.event for m in msgs] == ["Follows", "FullyBooted"]
        follows = msgs[0]
        assert follows.action_id == "7"
        assert follows.body is not None
        assert "PJSIP/101-0001" in follows.body and "Channel" in follows.body
        assert "--END COMMAND--" not in follows.body


@pytest.mark.parametrize(
    ("frame", "kept", "garbage"),
    [
        (b"this is not ami\r\n\r\n", 0, 1),
        (b"Event: Hangup\r\nnot a header line\r\nUniqueid: 1.1\r\n\r\n", 1, 1),
        (b"\x00\xff\xfe\r\n\r\n", 0, 1),
        (b"Event: Hangup\r\nAccountCode:\r\nUniqueid: 1.1\r\n\r\n", 1, 0),
    ],
)
def test_garbage_quarantined_stream_goes_on(frame: bytes, kept: int, garbage: int) -> None:
    parser = AmiParser(expect_banner=False)
    good = b"Event: FullyBooted\r\nStatus: Fully Booted\r\n\r\n"
    items = parser.feed(good + frame + good)
    msgs = _messages(items)
    assert len(msgs) == 2 + kept
    assert msgs[0].event == msgs[-1].event == "FullyBooted"
    assert len([i for i in items if isinstance(i, AmiGarbage)]) == garbage


def test_oversized_frame_dropped() -> None:
    parser = AmiParser(expect_banner=False, max_frame_bytes=100)
    items = parser.feed(b"Event: X\r\nData: " + b"a" * 500)
    assert isinstance(items[0], AmiGarbage)
    assert parser.buffered == 0
    assert _messages(parser.feed(b"\r\n\r\nEvent: Y\r\n\r\n"))[-1].event == "Y"


def test_encode_action_repeats_list_fields() -> None:
    raw = encode_action("Originate", {"Channel": "PJSIP/101", "Variable": ["A=1", "B=2"]})
    assert raw == (
        b"Action: Originate\r\nChannel: PJSIP/101\r\nVariable: A=1\r\nVariable: B=2\r\n\r\n"
    )
    with pytest.raises(ValueError):
        encode_action("Login", {"Secret": "a\r\nAction: Command"})


@pytest.mark.parametrize(
    "part", [(r, p) for r in recordings() for p in r.parts], ids=lambda rp: rp[1].stem
)
@pytest.mark.parametrize("chunk", [1, 7, 4096, 1 << 20])
def test_recordings_parse_whole_in_any_chunking(part: tuple[Recording, Path], chunk: int) -> None:
    rec, path = part
    raw = path.read_bytes()
    parser = AmiParser()
    items: list[AmiItem] = []
    for i in range(0, len(raw), chunk):
        items += parser.feed(raw[i : i + chunk])
    assert isinstance(items[0], AmiBanner)
    assert not [i for i in items if isinstance(i, AmiGarbage)]
    msgs = _messages(items)
    assert msgs[0].response == "Success"
    # A connection that was dropped has no Logoff; it was cut between two messages, so
    # every message is whole and nothing is left half-read.
    if rec.cut_short(path):
        assert msgs[-1].response != "Goodbye" and raw.endswith(b"\r\n\r\n")
    else:
        assert msgs[-1].response == "Goodbye"
    assert len(msgs) == raw.count(b"\r\n\r\n")
