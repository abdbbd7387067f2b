"""Sans-IO letter parsing: bytes in, `ParsedLetter` out; no sockets, no event loop.

Two entry points share every rule: `parse_message` takes a whole letter (a sent
letter, a bounce, a test sample); `parse_parts` takes what IMAP hands over without
downloading attachments (the header block, the BODYSTRUCTURE skeleton and the first
bytes of the text part). A letter that cannot be read raises `LetterParseError`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import html
import quopri
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import Message
from email.parser import BytesParser
from email.policy import Compat32
from email.utils import collapse_rfc2231_value, decode_params, getaddresses, parsedate_to_datetime
from typing import Any

from hub.channels.email.charsets import decode_text
from hub.channels.email.mime import MessageStructure, MimePart, decode_transfer

#: Characters kept for a touch's preview.
PREVIEW_CHARS = 500
#: Characters of the plain text mixed into a synthetic id (well inside any fetched preview).
SYNTHETIC_TEXT_CHARS = 64
#: Right side of ids we make up for letters without a Message-ID.
SYNTHETIC_DOMAIN = "touchhub.invalid"
#: Message-IDs longer than this are hashed (the store's key column is bounded).
MAX_MESSAGE_ID = 250
#: MIME nesting deeper than this is not descended (a malformed or hostile letter).
MAX_MIME_DEPTH = 32
#: More leaf parts than this are not listed.
MAX_PARTS = 500
#: Headers whose presence means an autoresponder wrote the letter (RFC 3834 and vendors).
AUTOREPLY_HEADERS: tuple[str, ...] = ("x-autoreply", "x-autorespond", "x-autoresponse")
#: Precedence values that mean bulk or list mail, and the one that means an autoreply.
BULK_PRECEDENCE: frozenset[str] = frozenset({"bulk", "list", "junk"})
#: Headers that name who a letter was delivered to (VERP bounces arrive at these).
ENVELOPE_HEADERS: tuple[str, ...] = ("delivered-to", "x-original-to", "envelope-to")
#: Local parts of mail systems, whose letters are reports, not people writing.
MAILER_LOCAL_PARTS: frozenset[str] = frozenset({"mailer-daemon", "postmaster"})

_ENCODED_WORD = re.compile(rb"=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=")
_MSGID = re.compile(r"<([^<>\s]+)>")
_FOLD = re.compile(r"\r?\n(?=[ \t])")
_WS = re.compile(r"\s+")
_TAG = re.compile(r"<[^>]*>")
_SCRIPT = re.compile(r"<(script|style|head)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)


class LetterParseError(ValueError):
    """The bytes are not a letter we can read; the caller quarantines them."""


class _RawPolicy(Compat32):
    """Compat32 that hands header values back untouched (8-bit bytes as surrogates)."""

    def header_fetch_parse(self, name: str, value: str) -> str:
        return value


RAW_POLICY = _RawPolicy(linesep="\r\n")


@dataclass(frozen=True, slots=True, kw_only=True)
class MailAddress:
    """A name and an address from a header, as written."""

    address: str
    name: str | None = None

    def __str__(self) -> str:
        return f"{self.name} <{self.address}>" if self.name else self.address


@dataclass(frozen=True, slots=True, kw_only=True)
class Attachment:
    """What was attached: name, approximate size, type; the IMAP section to fetch it."""

    name: str
    size: int
    content_type: str
    section: str


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliveryFailure:
    """One recipient a delivery status notification reports on."""

    recipient: str
    action: str
    status: str
    diagnostic: str


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliveryReport:
    """A DSN's content: the letter it is about and the recipients that failed."""

    original_message_id: str | None
    failures: tuple[DeliveryFailure, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class ParsedLetter:
    """Everything touchhub keeps of a letter, decoded; addresses as seen on the wire."""

    message_id: str
    synthetic_id: bool
    date: datetime | None
    from_: tuple[MailAddress, ...]
    to: tuple[MailAddress, ...]
    cc: tuple[MailAddress, ...]
    bcc: tuple[MailAddress, ...]
    reply_to: tuple[MailAddress, ...]
    envelope_to: tuple[str, ...]
    subject: str
    in_reply_to: str | None
    references: tuple[str, ...]
    preview: str
    attachments: tuple[Attachment, ...]
    content_type: str
    auto_reply: str | None
    list_id: str | None
    bulk: bool
    is_delivery_report: bool
    report: DeliveryReport | None
    size: int | None = None
    defects: tuple[str, ...] = ()

    @property
    def thread_key(self) -> str:
        """The thread's first letter: the head of References, else In-Reply-To, else itself."""
        if self.references:
            return self.references[0]
        return self.in_reply_to or self.message_id


# ---------------------------------------------------------------- header decoding


def _raw_bytes(value: str) -> bytes:
    """Header text back to its wire bytes (8-bit bytes were kept as surrogates)."""
    return _FOLD.sub("", value).encode("utf-8", "surrogateescape")


def _decode_word(charset: bytes, kind: bytes, payload: bytes) -> tuple[str, bytes]:
    """Decode one RFC 2047 encoded word into (charset, bytes)."""
    if kind in (b"b", b"B"):
        compact = payload + b"=" * (-len(payload) % 4)
        try:
            data = base64.b64decode(compact)
        except (binascii.Error, ValueError):
            data = payload
    else:
        data = quopri.decodestring(payload.replace(b"_", b" "), header=True)
    return charset.decode("ascii", "replace"), data


def decode_header_bytes(raw: bytes) -> str:
    """RFC 2047 and raw 8-bit header bytes to text, charset by charset, tolerating breakage.

    Adjacent encoded words in one charset are joined before decoding, because mailers
    split long Cyrillic subjects in the middle of a multi-byte character.
    """
    out: list[str] = []
    pending_charset: str | None = None
    pending: bytearray = bytearray()
    pos = 0

    def flush() -> None:
        nonlocal pending_charset
        if pending_charset is not None:
            out.append(decode_text(bytes(pending), pending_charset))
            pending.clear()
            pending_charset = None

    for match in _ENCODED_WORD.finditer(raw):
        between = raw[pos : match.start()]
        charset, data = _decode_word(match.group(1), match.group(2), match.group(3))
        adjacent = pending_charset is not None and not between.strip()
        if not (
            adjacent and pending_charset is not None and pending_charset.lower() == charset.lower()
        ):
            flush()
            if not adjacent:  # whitespace between two encoded words is not text (RFC 2047 §6.2)
                out.append(decode_text(between, None))
            pending_charset = charset
        pending.extend(data)
        pos = match.end()
    flush()
    out.append(decode_text(raw[pos:], None))
    return "".join(out)


def decode_header(value: str | None) -> str:
    """A header value (as our policy returns it) to clean text."""
    if value is None:
        return ""
    return _WS.sub(" ", decode_header_bytes(_raw_bytes(value))).strip()


def _header(msg: object, name: str) -> str | None:
    if not isinstance(msg, Message):
        return None
    value = msg.get(name)
    return value if isinstance(value, str) else None


def parse_addresses(values: Iterable[str]) -> tuple[MailAddress, ...]:
    """Addresses from header values: split first (names may hold encoded commas), then decode."""
    texts = [decode_text(_raw_bytes(v), None) for v in values]
    result: list[MailAddress] = []
    seen: set[str] = set()
    for name, address in getaddresses(texts):
        address = address.strip().strip("<>").strip()
        if "@" not in address or " " in address:
            continue
        key = address.casefold()
        if key in seen:
            continue
        seen.add(key)
        decoded_name = decode_header_bytes(name.encode("utf-8")).strip() if name else ""
        result.append(MailAddress(address=address, name=decoded_name or None))
    return tuple(result)


def normalize_message_id(value: str | None) -> str | None:
    """`<abc@host>` → `abc@host`; whitespace and brackets dropped, overlong ids hashed."""
    if not value:
        return None
    text = _FOLD.sub("", value)
    match = _MSGID.search(text)
    ident = match.group(1) if match else text.strip().strip("<>").strip()
    ident = _WS.sub("", ident)
    if not ident:
        return None
    if len(ident) > MAX_MESSAGE_ID:
        ident = "long." + hashlib.sha256(ident.encode("utf-8", "surrogateescape")).hexdigest()
    return ident


def parse_message_ids(value: str | None) -> tuple[str, ...]:
    """All ids in a References/In-Reply-To value, in order."""
    if not value:
        return ()
    text = _FOLD.sub("", value)
    found = _MSGID.findall(text) or text.split()
    ids = (normalize_message_id(f"<{i}>") for i in found)
    return tuple(i for i in ids if i)


def parse_date(value: str | None) -> datetime | None:
    """A Date header to aware UTC, or None when it is missing or nonsense."""
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(_WS.sub(" ", value).strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed.tzinfo is None:  # "-0000": the zone is unknown, the time is UTC
        parsed = parsed.replace(tzinfo=UTC)
    if parsed.year < 1980:
        return None
    return parsed.astimezone(UTC)


# ---------------------------------------------------------------- body text


def html_to_text(markup: str) -> str:
    """Rough text of an HTML body, enough for a preview."""
    markup = _SCRIPT.sub(" ", markup)
    markup = re.sub(r"<(br|p|div|tr|li)\b[^>]*>", "\n", markup, flags=re.IGNORECASE)
    return html.unescape(_TAG.sub(" ", markup))


def make_preview(text: str) -> str:
    """Whitespace collapsed and cut to `PREVIEW_CHARS`."""
    return _WS.sub(" ", text).strip()[:PREVIEW_CHARS]


def text_of(part: MimePart, body: bytes, *, truncated: bool) -> str:
    """The readable text of a text part's (possibly truncated) encoded body."""
    data = decode_transfer(body, part.encoding, truncated=truncated)
    text = decode_text(data, part.charset, truncated=truncated)
    return html_to_text(text) if part.content_type == "text/html" else text


# ---------------------------------------------------------------- assembly


def _flags(msg: Message) -> tuple[str | None, str | None, bool]:
    """(auto-reply reason, List-Id, bulk) from the headers that mark automatic mail."""
    reason: str | None = None
    auto = (_header(msg, "Auto-Submitted") or "").strip().lower()
    precedence = (_header(msg, "Precedence") or "").strip().lower()
    if auto and auto != "no":
        reason = f"Auto-Submitted: {auto}"
    elif precedence == "auto_reply":
        reason = "Precedence: auto_reply"
    else:
        for name in AUTOREPLY_HEADERS:
            if msg.get(name) is not None:
                reason = name
                break
    list_id = _header(msg, "List-Id")
    bulk = precedence in BULK_PRECEDENCE or list_id is not None
    return reason, decode_header(list_id) if list_id else None, bulk


def synthetic_message_id(msg: Message, plain_text: str) -> str:
    """A stable id from a letter's content, the same in every mailbox that holds it."""
    digest = hashlib.sha256()
    for name in ("From", "To", "Cc", "Subject", "Date"):
        digest.update(decode_header(_header(msg, name)).encode("utf-8", "surrogatepass"))
        digest.update(b"\x00")
    digest.update(
        _WS.sub(" ", plain_text).strip()[:SYNTHETIC_TEXT_CHARS].encode("utf-8", "replace")
    )
    return f"synthetic.{digest.hexdigest()[:32]}@{SYNTHETIC_DOMAIN}"


def _assemble(
    msg: Message,
    structure: MessageStructure,
    text_part: MimePart | None,
    text: str,
    *,
    size: int | None,
    report: DeliveryReport | None,
) -> ParsedLetter:
    """Build the `ParsedLetter` from the parsed header block, the skeleton and the text."""
    if not any(msg.get(h) for h in ("From", "To", "Date", "Subject", "Message-ID", "Sender")):
        raise LetterParseError("no mail headers (From, To, Date, Subject, Message-ID all missing)")
    message_id = normalize_message_id(_header(msg, "Message-ID"))
    plain = text if text_part is not None and text_part.content_type == "text/plain" else ""
    synthetic = message_id is None
    if message_id is None:
        message_id = synthetic_message_id(msg, plain)
    auto_reply, list_id, bulk = _flags(msg)
    to = parse_addresses(msg.get_all("To") or [])
    envelope: list[str] = []
    for name in ENVELOPE_HEADERS:
        values = msg.get_all(name)
        if values:
            envelope.extend(a.address for a in parse_addresses(values))
    envelope.extend(a.address for a in to)  # a VERP bounce comes back To: the envelope sender
    attachments = tuple(
        Attachment(
            name=part.filename or f"part-{part.section}",
            size=part.decoded_size,
            content_type=part.content_type,
            section=part.section,
        )
        for part in structure.attachments()
    )
    from_ = parse_addresses(msg.get_all("From") or msg.get_all("Sender") or [])
    is_report = structure.is_delivery_report or (
        bool(from_) and from_[0].address.split("@")[0].lower() in MAILER_LOCAL_PARTS
    )
    in_reply_to = parse_message_ids(_header(msg, "In-Reply-To"))
    return ParsedLetter(
        message_id=message_id,
        synthetic_id=synthetic,
        date=parse_date(_header(msg, "Date")),
        from_=from_,
        to=to,
        cc=parse_addresses(msg.get_all("Cc") or []),
        bcc=parse_addresses(msg.get_all("Bcc") or []),
        reply_to=parse_addresses(msg.get_all("Reply-To") or []),
        envelope_to=tuple(dict.fromkeys(envelope)),
        subject=decode_header(_header(msg, "Subject")),
        in_reply_to=in_reply_to[0] if in_reply_to else None,
        references=parse_message_ids(_header(msg, "References")),
        preview=make_preview(text),
        attachments=attachments,
        content_type=structure.content_type,
        auto_reply=auto_reply,
        list_id=list_id,
        bulk=bulk,
        is_delivery_report=is_report,
        report=report,
        size=size,
        defects=structure.defects,
    )


def parse_header_block(header: bytes) -> Message:
    """The header block alone, parsed with values kept raw for our own decoding."""
    return BytesParser(policy=RAW_POLICY).parsebytes(header, headersonly=True)


def parse_parts(
    header: bytes,
    structure: MessageStructure,
    text: bytes | None,
    *,
    size: int | None = None,
) -> ParsedLetter:
    """A letter from IMAP pieces: header block, BODYSTRUCTURE skeleton, first bytes of its text."""
    try:
        msg = parse_header_block(header)
        part = structure.text_part()
        body = ""
        if part is not None and text is not None:
            body = text_of(part, text, truncated=len(text) < part.size)
        return _assemble(msg, structure, part, body, size=size, report=None)
    except LetterParseError:
        raise
    except Exception as exc:  # a parser bug or a hostile letter must not stop the sync
        raise LetterParseError(f"cannot parse letter: {exc!r}") from exc


# ---------------------------------------------------------------- whole messages


def _param(part: Message, name: str, header: str = "content-type") -> str | None:
    """A MIME parameter, RFC 2231 continuations and RFC 2047 words decoded."""
    value: Any = part.get_param(name, header=header)
    if value is None:
        return None
    if isinstance(value, tuple):
        value = collapse_rfc2231_value(value, errors="replace", fallback_charset="utf-8")
    return decode_header(str(value)) or None


def _leaves(
    msg: Message, section: str, depth: int, out: list[MimePart], defects: list[str]
) -> None:
    """Walk a parsed message into leaf parts numbered like IMAP sections."""
    if msg.is_multipart() and msg.get_content_maintype() == "multipart":
        if depth >= MAX_MIME_DEPTH:
            defects.append(f"MIME nesting deeper than {MAX_MIME_DEPTH} at {section or 'root'}")
            return
        payload = msg.get_payload()
        for index, child in enumerate(payload if isinstance(payload, list) else [], start=1):
            if len(out) >= MAX_PARTS:
                defects.append(f"more than {MAX_PARTS} parts")
                return
            _leaves(child, f"{section}.{index}" if section else str(index), depth + 1, out, defects)
        return
    raw = msg.as_bytes(policy=RAW_POLICY) if msg.is_multipart() else _payload_bytes(msg)
    if msg.is_multipart():  # message/rfc822: its body is everything after its header
        raw = raw.split(b"\r\n\r\n", 1)[-1]
    disposition = msg.get_content_disposition() or None
    filename = _param(msg, "filename", "content-disposition") or _param(msg, "name")
    out.append(
        MimePart(
            section=section or "1",
            content_type=msg.get_content_type(),
            charset=_param(msg, "charset"),
            encoding=(_header(msg, "Content-Transfer-Encoding") or "7bit").strip().lower(),
            size=len(raw),
            disposition=disposition,
            filename=filename,
        )
    )


def _payload_bytes(part: Message) -> bytes:
    """A leaf's encoded body as it was on the wire, lines ending in CRLF."""
    payload = getattr(part, "_payload", None)  # get_payload() would re-decode 8-bit text
    if not isinstance(payload, str):
        return b""
    data = payload.encode("utf-8", "surrogateescape")
    return re.sub(rb"\r?\n", b"\r\n", data)


def _find(msg: Message, section: str) -> Message | None:
    """The sub-part at an IMAP section number."""
    node: Message = msg
    if section == "1" and not msg.is_multipart():
        return msg
    for index in section.split("."):
        payload = node.get_payload()
        if not isinstance(payload, list) or int(index) > len(payload):
            return None
        child = payload[int(index) - 1]
        if not isinstance(child, Message):
            return None
        node = child
    return node


def _delivery_report(msg: Message) -> DeliveryReport | None:
    """Read a multipart/report DSN: failed recipients, status codes, the original's id."""
    original: str | None = None
    failures: list[DeliveryFailure] = []
    for part in msg.walk():
        ctype = part.get_content_type()
        if ctype in ("message/delivery-status", "message/global-delivery-status"):
            blocks = part.get_payload()
            if not isinstance(blocks, list):
                continue
            for block in blocks[1:] if len(blocks) > 1 else blocks:
                recipient = _header(block, "Final-Recipient") or _header(
                    block, "Original-Recipient"
                )
                if not recipient:
                    continue
                address = recipient.split(";", 1)[-1].strip().strip("<>")
                diagnostic = (_header(block, "Diagnostic-Code") or "").split(";", 1)[-1]
                failures.append(
                    DeliveryFailure(
                        recipient=address,
                        action=(_header(block, "Action") or "").strip().lower(),
                        status=(_header(block, "Status") or "").strip(),
                        diagnostic=_WS.sub(" ", _FOLD.sub("", diagnostic)).strip(),
                    )
                )
        elif ctype in ("message/rfc822", "message/global") and original is None:
            inner = part.get_payload()
            if isinstance(inner, list) and inner:
                original = normalize_message_id(_header(inner[0], "Message-ID"))
        elif ctype == "text/rfc822-headers" and original is None:
            headers = parse_header_block(_payload_bytes(part).lstrip())
            original = normalize_message_id(_header(headers, "Message-ID"))
    if not failures and original is None:
        return None
    return DeliveryReport(original_message_id=original, failures=tuple(failures))


def structure_of(msg: Message) -> MessageStructure:
    """The skeleton of a parsed message, numbered like IMAP sections."""
    leaves: list[MimePart] = []
    defects = [type(d).__name__ for d in msg.defects]
    _leaves(msg, "", 0, leaves, defects)
    params = {k.lower(): v for k, v in (msg.get_params() or [])[1:] if isinstance(v, str)}
    return MessageStructure(
        content_type=msg.get_content_type(),
        params=params,
        parts=tuple(leaves),
        defects=tuple(defects),
    )


def parse_message(raw: bytes) -> ParsedLetter:
    """A whole letter's bytes to a `ParsedLetter` (bounces included)."""
    try:
        if not raw.strip():
            raise LetterParseError("empty letter")
        msg = BytesParser(policy=RAW_POLICY).parsebytes(raw)
        structure = structure_of(msg)
        part = structure.text_part()
        text = ""
        if part is not None:
            node = _find(msg, part.section)
            if node is not None:
                text = text_of(part, _payload_bytes(node), truncated=False)
        report = _delivery_report(msg) if structure.is_delivery_report else None
        return _assemble(msg, structure, part, text, size=len(raw), report=report)
    except LetterParseError:
        raise
    except RecursionError as exc:
        raise LetterParseError("MIME nested too deep to parse") from exc
    except Exception as exc:  # a parser bug or a hostile letter must not stop the sync
        raise LetterParseError(f"cannot parse letter: {exc!r}") from exc


def decode_params_value(params: list[tuple[str, str]], name: str) -> str | None:
    """A parameter from a raw (name, value) list, RFC 2231 and RFC 2047 decoded."""
    for key, value in decode_params(params)[1:] if params else []:
        if key.lower() == name:
            if isinstance(value, tuple):
                value = collapse_rfc2231_value(value, errors="replace", fallback_charset="utf-8")
            return decode_header(str(value)) or None
    return None
