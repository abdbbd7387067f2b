"""Sans-IO Asterisk Manager Interface parser: bytes in, messages out, no sockets, no asyncio.

Frames are split on bytes first (so a multi-byte character cut across two reads is never
lost) and each complete frame is decoded on its own: UTF-8, else the configured fallback
(cp1251 by default, for the caller names Russian PBXs send). Lines that are not headers are
reported as `AmiGarbage` and the stream goes on.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

#: Encoding tried when a frame is not valid UTF-8 (cp1251: Cyrillic caller names).
DEFAULT_FALLBACK_ENCODING = "cp1251"
#: A frame larger than this without a blank line is dropped as garbage (memory bound).
MAX_FRAME_BYTES = 1_048_576
#: What the first line of every AMI connection starts with.
BANNER_PREFIX = b"Asterisk Call Manager"
#: Ends the body of a `Response: Follows` (old `Command` action).
END_COMMAND = "--END COMMAND--"

_FOLLOWS = b"Response: Follows"
_HEADER_RE = re.compile(r"^([A-Za-z0-9_()\-]+):(?: (.*)|)$")


@dataclass(frozen=True, slots=True, kw_only=True)
class AmiMessage:
    """One AMI frame (event, response or action) with its headers and raw bytes."""

    headers: dict[str, str]
    raw: bytes = b""
    #: every value of a header that occurs more than once (ChanVariable, Output …)
    multi: Mapping[str, tuple[str, ...]] | None = None
    #: text of a `Response: Follows` body
    body: str | None = None

    @property
    def event(self) -> str | None:
        """The `Event:` name, or None for responses."""
        return self.headers.get("Event")

    @property
    def response(self) -> str | None:
        """The `Response:` value (Success, Error, Follows, Goodbye), or None for events."""
        return self.headers.get("Response")

    @property
    def action_id(self) -> str | None:
        """The ActionID this frame answers, if any."""
        return self.headers.get("ActionID")

    def get(self, key: str, default: str | None = None) -> str | None:
        """The first value of header `key`."""
        return self.headers.get(key, default)

    def getall(self, key: str) -> tuple[str, ...]:
        """Every value of header `key`, in order (repeated keys such as ChanVariable)."""
        values = self.multi.get(key) if self.multi else None
        if values is not None:
            return values
        value = self.headers.get(key)
        return () if value is None else (value,)

    def variables(self, key: str = "ChanVariable") -> dict[str, str]:
        """`ChanVariable: NAME=value` lines as a dict."""
        result: dict[str, str] = {}
        for item in self.getall(key):
            name, _, value = item.partition("=")
            result[name] = value
        return result


@dataclass(frozen=True, slots=True, kw_only=True)
class AmiBanner:
    """The greeting line a server sends first (`Asterisk Call Manager/11.0.0`)."""

    text: str

    @property
    def version(self) -> str:
        """The AMI protocol version after the slash."""
        return self.text.rpartition("/")[2]


@dataclass(frozen=True, slots=True, kw_only=True)
class AmiGarbage:
    """Bytes that are not AMI, kept with the reason so they can be quarantined."""

    raw: bytes
    reason: str


AmiItem = AmiMessage | AmiBanner | AmiGarbage


def _decode(data: bytes, fallback: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode(fallback, "replace")


class AmiParser:
    """Incremental AMI parser: `feed(bytes)` returns every message completed by those bytes."""

    def __init__(
        self,
        *,
        fallback_encoding: str = DEFAULT_FALLBACK_ENCODING,
        max_frame_bytes: int = MAX_FRAME_BYTES,
        expect_banner: bool = True,
        wanted_events: frozenset[str] | None = None,
    ) -> None:
        "".encode(fallback_encoding)  # fail early on an unknown encoding
        #: events outside this set (and not answering an action) are counted, not parsed
        self._wanted = (
            None if wanted_events is None else frozenset(e.encode() for e in wanted_events)
        )
        self.skipped = 0
        self._fallback = fallback_encoding
        self._max = max_frame_bytes
        self._expect_banner = expect_banner
        self._buf = b""
        self._follows: list[bytes] | None = None

    @property
    def buffered(self) -> int:
        """Bytes held back waiting for the end of a frame."""
        return len(self._buf)

    def feed(self, data: bytes) -> list[AmiItem]:
        """Add bytes read from the wire; return the frames they complete, in order."""
        buf = self._buf + data if self._buf else data
        if b"\r" in buf:
            buf = buf.replace(b"\r\n", b"\n")
        out: list[AmiItem] = []
        if self._expect_banner:
            end = buf.find(b"\n")
            if end < 0:
                self._buf = self._check_size(buf, out)
                return out
            first = buf[:end]
            self._expect_banner = False
            if first.startswith(BANNER_PREFIX) or b": " not in first:
                out.append(AmiBanner(text=_decode(first, self._fallback).strip()))
                buf = buf[end + 1 :]
        frames = buf.split(b"\n\n")
        self._buf = self._check_size(frames.pop(), out)
        wanted = self._wanted
        fallback = self._fallback
        for frame in frames:
            if self._follows is not None or frame.startswith(_FOLLOWS):
                self._collect_follows(frame, out)
                continue
            if not frame:
                continue
            if frame[0] == 10:  # extra blank lines between frames
                frame = frame.lstrip(b"\n")
                if not frame:
                    continue
            if wanted is not None and frame.startswith(b"Event: "):
                end = frame.find(b"\n")
                if (
                    frame[7 : end if end >= 0 else None] not in wanted
                    and b"\nActionID: " not in frame
                ):
                    self.skipped += 1
                    continue
            try:
                text = frame.decode("utf-8")
            except UnicodeDecodeError:
                text = frame.decode(fallback, "replace")
            lines = text.split("\n")
            try:
                headers = dict([line.split(": ", 1) for line in lines])
            except ValueError:
                self._parse_slow(frame, lines, out)
                continue
            if len(headers) != len(lines):
                self._parse_slow(frame, lines, out)
                continue
            out.append(AmiMessage(headers=headers, raw=frame))
        return out

    def _check_size(self, rest: bytes, out: list[AmiItem]) -> bytes:
        if len(rest) > self._max:
            out.append(AmiGarbage(raw=rest[:256], reason=f"frame over {self._max} bytes dropped"))
            return b""
        return rest

    def _parse_slow(self, frame: bytes, lines: list[str], out: list[AmiItem]) -> None:
        headers: dict[str, str] = {}
        multi: dict[str, list[str]] = {}
        bad: list[str] = []
        for line in lines:
            key, sep, value = line.partition(": ")
            if not sep:
                match = _HEADER_RE.match(line.rstrip("\r"))
                if match is None:
                    if line.strip():
                        bad.append(line)
                    continue
                key, value = match.group(1), match.group(2) or ""
            if key in headers:
                multi.setdefault(key, [headers[key]]).append(value)
            else:
                headers[key] = value
        if bad:
            raw_bad = "\n".join(bad).encode("utf-8", "replace")
            reason = "not an AMI header line" if headers else "frame without AMI headers"
            out.append(AmiGarbage(raw=raw_bad if headers else frame, reason=reason))
        if headers:
            frozen = {k: tuple(v) for k, v in multi.items()}
            out.append(AmiMessage(headers=headers, raw=frame, multi=frozen or None))

    def _collect_follows(self, frame: bytes, out: list[AmiItem]) -> None:
        parts = self._follows if self._follows is not None else []
        parts.append(frame)
        if END_COMMAND.encode() not in frame:
            self._follows = parts
            if sum(len(p) for p in parts) > self._max:
                out.append(AmiGarbage(raw=parts[0][:256], reason="Follows body too large"))
                self._follows = None
            return
        self._follows = None
        raw = b"\n\n".join(parts)
        text = _decode(raw, self._fallback)
        headers: dict[str, str] = {}
        body_lines: list[str] = []
        in_body = False
        for line in text.split("\n"):
            if not in_body:
                match = _HEADER_RE.match(line)
                if match is not None and match.group(1) not in headers:
                    headers[match.group(1)] = match.group(2) or ""
                    continue
                in_body = True
            if line.strip() == END_COMMAND:
                break
            body_lines.append(line)
        out.append(AmiMessage(headers=headers, raw=raw, body="\n".join(body_lines)))


def encode_action(name: str, fields: Mapping[str, str | list[str]] | None = None) -> bytes:
    """Serialise an action: `Action: NAME` then each field (a list repeats the key)."""
    lines = [f"Action: {name}"]
    for key, value in (fields or {}).items():
        values = value if isinstance(value, list) else [value]
        for item in values:
            if "\r" in item or "\n" in item:
                raise ValueError(f"AMI field {key} may not contain a line break")
            lines.append(f"{key}: {item}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")
