"""Sans-IO IMAP reading: FETCH, BODYSTRUCTURE, LIST, SELECT and SEARCH responses to values.

aioimaplib hands a command's response over as a list of lines (`bytes`) with each
literal as a separate `bytearray`; these functions turn such lists into values
without touching a socket, so they are tested on recorded bytes.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import collapse_rfc2231_value, decode_params

from hub.channels.email.charsets import decode_text
from hub.channels.email.letter_parser import decode_header
from hub.channels.email.mime import MessageStructure, MimePart
from hub.text import ascii_int

#: BODYSTRUCTURE nesting deeper than this is refused (malformed or hostile).
MAX_STRUCTURE_DEPTH = 32

Value = str | bytes | None | list["Value"]

_FETCH_START = re.compile(rb"^(\d+) FETCH \(")
_LITERAL_MARK = re.compile(rb"\{(\d+)\+?\}$")
_ATOM_END = b' ()"{\r\n'
_SELECT_CODES = re.compile(rb"\[(UIDVALIDITY|UIDNEXT) (\d+)\]")
_EXISTS = re.compile(rb"^(\d+) EXISTS")
_INTERNALDATE = "%d-%b-%Y %H:%M:%S %z"


class ImapParseError(ValueError):
    """A response that does not follow the IMAP grammar."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Literal:
    """A literal string ({n} then n bytes)."""

    data: bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class FetchedMessage:
    """One message of a FETCH response: its UID and the data items, keyed in upper case."""

    uid: int
    items: dict[str, Value] = field(default_factory=dict)

    def bytes_of(self, key: str) -> bytes | None:
        """A string item (quoted or literal) as bytes; `key` like ``BODY[HEADER]``."""
        value = self.items.get(key.upper())
        return value if isinstance(value, bytes) else None

    def int_of(self, key: str) -> int | None:
        value = self.items.get(key.upper())
        return ascii_int(value) if isinstance(value, str) else None


@dataclass(frozen=True, slots=True, kw_only=True)
class FolderInfo:
    """A mailbox from LIST: its name as the server spells it, flags, delimiter."""

    name: str
    flags: frozenset[str]
    delimiter: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class SelectInfo:
    """What SELECT/EXAMINE says about a folder."""

    uidvalidity: int
    uidnext: int | None
    exists: int


# ---------------------------------------------------------------- tokenizer


class _Reader:
    """Walks one message's chunks (text lines and literals) token by token."""

    def __init__(self, chunks: Sequence[bytes | bytearray]) -> None:
        self.chunks = chunks
        self.index = 0
        self.pos = 0

    def _line(self) -> bytes | None:
        while self.index < len(self.chunks):
            chunk = self.chunks[self.index]
            if isinstance(chunk, bytearray):
                raise ImapParseError("literal without a {n} marker")
            if self.pos < len(chunk):
                return chunk
            self.index += 1
            self.pos = 0
        return None

    def _skip_space(self) -> bytes | None:
        line = self._line()
        while line is not None:
            while self.pos < len(line) and line[self.pos] in b" \r\n":
                self.pos += 1
            if self.pos < len(line):
                return line
            line = self._line()
        return None

    def value(self, depth: int = 0) -> Value:
        """Read the next value: atom (str), string (bytes), NIL (None) or list."""
        if depth > MAX_STRUCTURE_DEPTH:
            raise ImapParseError(f"nesting deeper than {MAX_STRUCTURE_DEPTH}")
        line = self._skip_space()
        if line is None:
            raise ImapParseError("unexpected end of response")
        char = line[self.pos]
        if char == ord("("):
            self.pos += 1
            items: list[Value] = []
            while True:
                line = self._skip_space()
                if line is None:
                    raise ImapParseError("unclosed parenthesis")
                if line[self.pos] == ord(")"):
                    self.pos += 1
                    return items
                items.append(self.value(depth + 1))
        if char == ord(")"):
            raise ImapParseError("unexpected ')'")
        if char == ord('"'):
            return self._quoted(line)
        if char == ord("{"):
            return self._literal(line)
        return self._atom(line)

    def _quoted(self, line: bytes) -> bytes:
        out = bytearray()
        i = self.pos + 1
        while i < len(line):
            c = line[i]
            if c == ord("\\") and i + 1 < len(line):
                out.append(line[i + 1])
                i += 2
                continue
            if c == ord('"'):
                self.pos = i + 1
                return bytes(out)
            out.append(c)
            i += 1
        raise ImapParseError("unterminated quoted string")

    def _literal(self, line: bytes) -> bytes:
        match = _LITERAL_MARK.match(line, self.pos)
        if match is None or match.end() != len(line):
            raise ImapParseError("bad literal marker")
        self.index += 1
        self.pos = 0
        if self.index >= len(self.chunks) or not isinstance(self.chunks[self.index], bytearray):
            if int(match.group(1)) == 0:
                return b""
            raise ImapParseError("literal data missing")
        data = bytes(self.chunks[self.index])
        self.index += 1
        return data

    def _atom(self, line: bytes) -> str:
        start = i = self.pos
        depth = 0
        while i < len(line):
            c = line[i]
            if c == ord("["):
                depth += 1
            elif c == ord("]"):
                depth -= 1
            elif depth == 0 and c in _ATOM_END:
                break
            i += 1
        self.pos = i
        atom = line[start:i].decode("ascii", "replace")
        return None if atom.upper() == "NIL" else atom  # type: ignore[return-value]

    def at_end(self) -> bool:
        return self._skip_space() is None


def parse_values(chunks: Sequence[bytes | bytearray]) -> list[Value]:
    """Every value in a run of chunks (used for LIST lines and tests)."""
    reader = _Reader(chunks)
    values: list[Value] = []
    while not reader.at_end():
        values.append(reader.value())
    return values


# ---------------------------------------------------------------- FETCH


def split_fetch_lines(lines: Sequence[bytes | bytearray]) -> list[list[bytes | bytearray]]:
    """Group a FETCH response's lines into one chunk list per message (status line dropped)."""
    groups: list[list[bytes | bytearray]] = []
    for chunk in lines:
        if not isinstance(chunk, bytearray) and _FETCH_START.match(chunk):
            groups.append([chunk])
        elif groups:
            groups[-1].append(chunk)
    return groups


def parse_fetch(lines: Sequence[bytes | bytearray]) -> list[FetchedMessage]:
    """A UID FETCH response (aioimaplib's `lines`, last one the tagged text) to messages."""
    messages: list[FetchedMessage] = []
    body = list(lines[:-1]) if lines and not isinstance(lines[-1], bytearray) else list(lines)
    for group in split_fetch_lines(body):
        first = group[0]
        match = _FETCH_START.match(first)
        assert match is not None
        reader = _Reader([bytes(first[match.end() - 1 :]), *group[1:]])
        data = reader.value()
        if not isinstance(data, list) or len(data) % 2:
            raise ImapParseError(f"bad FETCH data for message {match.group(1).decode()}")
        items: dict[str, Value] = {}
        for key, value in zip(data[::2], data[1::2], strict=True):
            if not isinstance(key, str):
                raise ImapParseError("FETCH item name is not an atom")
            items[_item_key(key)] = value
        uid = items.get("UID")
        uid_number = ascii_int(uid) if isinstance(uid, str) else None
        if uid_number is not None:
            messages.append(FetchedMessage(uid=uid_number, items=items))
    return messages


def _item_key(key: str) -> str:
    """`BODY[1]<0>` → `BODY[1]`: the origin octet is noise for us."""
    key = key.upper()
    if key.endswith(">") and "<" in key:
        key = key[: key.rindex("<")]
    return key


def parse_internaldate(value: Value) -> datetime | None:
    """`"17-Jul-1996 02:44:25 -0700"` to aware UTC."""
    if not isinstance(value, bytes):
        return None
    try:
        return datetime.strptime(value.decode("ascii").strip(), _INTERNALDATE).astimezone(UTC)
    except ValueError:
        return None


# ---------------------------------------------------------------- BODYSTRUCTURE


def _text(value: Value) -> str | None:
    if isinstance(value, bytes):
        return decode_text(value, None)
    if isinstance(value, str):
        return value
    return None


def _params(value: Value) -> dict[str, str]:
    """A BODYSTRUCTURE parameter list, RFC 2231 continuations and RFC 2047 words decoded."""
    if not isinstance(value, list):
        return {}
    raw: list[tuple[str, str]] = []
    for key, item in zip(value[::2], value[1::2], strict=False):
        k, v = _text(key), _text(item)
        if k is not None and v is not None:
            raw.append((k.lower(), v))
    if not raw:
        return {}
    result: dict[str, str] = {}
    for key, decoded in decode_params([("", ""), *raw])[1:]:
        if isinstance(decoded, tuple):
            text = collapse_rfc2231_value(decoded, errors="replace", fallback_charset="utf-8")
        else:
            text = decoded
        result[key.lower()] = decode_header(str(text).strip('"'))
    return result


def _leaf(node: list[Value], section: str) -> MimePart:
    if len(node) < 7:
        raise ImapParseError(f"BODYSTRUCTURE part {section} too short")
    maintype = (_text(node[0]) or "application").lower()
    subtype = (_text(node[1]) or "octet-stream").lower()
    params = _params(node[2])
    encoding = (_text(node[5]) or "7bit").lower()
    size_text = _text(node[6]) or "0"
    size = ascii_int(size_text) or 0
    ext_start = 7
    if maintype == "text":
        ext_start = 8
    elif (maintype, subtype) in (("message", "rfc822"), ("message", "global")):
        ext_start = 10
    disposition: str | None = None
    disp_params: dict[str, str] = {}
    if len(node) > ext_start + 1 and isinstance(node[ext_start + 1], list):
        disp = node[ext_start + 1]
        assert isinstance(disp, list)
        disposition = (_text(disp[0]) or "").lower() or None if disp else None
        disp_params = _params(disp[1]) if len(disp) > 1 else {}
    filename = disp_params.get("filename") or params.get("name")
    return MimePart(
        section=section,
        content_type=f"{maintype}/{subtype}",
        charset=params.get("charset"),
        encoding=encoding,
        size=size,
        disposition=disposition,
        filename=filename or None,
    )


def _walk(node: Value, section: str, depth: int, out: list[MimePart]) -> tuple[str, dict[str, str]]:
    """Collect leaves; return this node's content type and parameters."""
    if depth > MAX_STRUCTURE_DEPTH:
        raise ImapParseError("BODYSTRUCTURE nested too deep")
    if not isinstance(node, list) or not node:
        raise ImapParseError(f"BODYSTRUCTURE part {section or 'root'} is not a list")
    if isinstance(node[0], list):  # multipart: children, then subtype, then extension data
        index = 0
        while index < len(node) and isinstance(node[index], list):
            child_section = f"{section}.{index + 1}" if section else str(index + 1)
            _walk(node[index], child_section, depth + 1, out)
            index += 1
        subtype = (_text(node[index]) if index < len(node) else None) or "mixed"
        params = _params(node[index + 1]) if index + 1 < len(node) else {}
        return f"multipart/{subtype.lower()}", params
    part = _leaf(node, section or "1")
    out.append(part)
    return part.content_type, _params(node[2])


def parse_bodystructure(value: Value) -> MessageStructure:
    """A parsed BODYSTRUCTURE value to the letter's skeleton, numbered by IMAP section."""
    leaves: list[MimePart] = []
    content_type, params = _walk(value, "", 0, leaves)
    return MessageStructure(content_type=content_type, params=params, parts=tuple(leaves))


# ---------------------------------------------------------------- LIST, SELECT, SEARCH


def parse_list(lines: Sequence[bytes | bytearray]) -> list[FolderInfo]:
    """LIST response lines (`(\\HasNoChildren \\Sent) "/" Sent`) to folders; last line is status."""
    folders: list[FolderInfo] = []
    pending: list[bytes | bytearray] = []
    for chunk in [*lines[:-1], b""]:
        if isinstance(chunk, bytearray) or (pending and _LITERAL_MARK.search(pending[-1])):
            pending.append(chunk)
            continue
        if pending:
            folders.extend(_list_entry(pending))
        chunk = chunk.removeprefix(b"LIST ")  # aioimaplib strips the name; a stdlib client not
        pending = [chunk] if chunk.startswith(b"(") else []
    return folders


def _list_entry(chunks: list[bytes | bytearray]) -> list[FolderInfo]:
    values = parse_values(chunks)
    if len(values) < 3 or not isinstance(values[0], list):
        return []
    flags = frozenset(str(f).lower() for f in values[0] if isinstance(f, str))
    delimiter = _text(values[1])
    name = values[2]
    text = name.decode("utf-8", "replace") if isinstance(name, bytes) else str(name)
    return [FolderInfo(name=text, flags=flags, delimiter=delimiter)]


def parse_select(lines: Sequence[bytes | bytearray]) -> SelectInfo:
    """SELECT/EXAMINE response lines to UIDVALIDITY, UIDNEXT and EXISTS."""
    codes: dict[bytes, int] = {}
    exists = 0
    for line in lines:
        if isinstance(line, bytearray):
            continue
        for match in _SELECT_CODES.finditer(line):
            codes[match.group(1)] = int(match.group(2))
        found = _EXISTS.match(line)
        if found:
            exists = int(found.group(1))
    if b"UIDVALIDITY" not in codes:
        raise ImapParseError("SELECT response without UIDVALIDITY")
    return SelectInfo(
        uidvalidity=codes[b"UIDVALIDITY"], uidnext=codes.get(b"UIDNEXT"), exists=exists
    )


def parse_search(lines: Sequence[bytes | bytearray]) -> list[int]:
    """SEARCH response lines (last one the status) to numbers, sorted."""
    numbers: list[int] = []
    for line in lines[:-1]:
        if isinstance(line, bytes):
            numbers.extend(int(n) for n in line.removeprefix(b"SEARCH").split() if n.isdigit())
    return sorted(numbers)


def uid_set(uids: Sequence[int]) -> str:
    """`[1,2,3,7]` → `1:3,7` (short command lines for big batches)."""
    ranges: list[str] = []
    ordered = sorted(uids)
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] == ordered[j] + 1:
            j += 1
        ranges.append(str(ordered[i]) if i == j else f"{ordered[i]}:{ordered[j]}")
        i = j + 1
    return ",".join(ranges)


def quote(text: str) -> str:
    """An IMAP quoted string."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def encode_mailbox(name: str) -> str:
    """A folder name in modified UTF-7 (RFC 3501 §5.1.3), e.g. «Отправленные»."""
    out: list[str] = []
    pending: list[str] = []

    def flush() -> None:
        if pending:
            data = "".join(pending).encode("utf-16-be")
            out.append("&" + base64.b64encode(data).decode().rstrip("=").replace("/", ",") + "-")
            pending.clear()

    for char in name:
        if 0x20 <= ord(char) <= 0x7E:
            flush()
            out.append("&-" if char == "&" else char)
        else:
            pending.append(char)
    flush()
    return "".join(out)


def imap_date(value: datetime) -> str:
    """A date for SEARCH SINCE (`1-Feb-2026`)."""
    months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    return f"{value.day}-{months[value.month - 1]}-{value.year}"
