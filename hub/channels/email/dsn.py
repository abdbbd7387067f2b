"""Reading bounce letters (sans-IO): what a DSN says about which recipients failed and why.

RFC 3464 ``multipart/report`` (Postfix, Exim 4.9x, Gmail, Exchange) and the common
plain-text forms (older Exim, qmail, Gmail's "failed permanently") give the failed
recipients with their status, the original Message-ID and the addresses the DSN was
delivered to (where a VERP return path shows). A letter that is no bounce (a reply, an
autoresponder) is None. Which campaign recipient a bounce is about, and whether it
suppresses the address, is the campaigns' business (`hub/campaigns/bounces.py`).
"""

from __future__ import annotations

import hashlib
import re
from email.message import Message
from email.parser import BytesParser
from email.policy import compat32
from email.utils import getaddresses

from hub.channels.email.letter_parser import normalize_message_id
from hub.model import Bounce, FailedRecipient

#: Characters of a diagnostic kept.
MAX_DIAGNOSTIC = 1000

_STATUS = re.compile(r"(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?![\d.])")
_SMTP_CODE = re.compile(r"(?<!\d)([245]\d\d)(?=[ -])")
_ADDRESS = re.compile(r"<?([A-Za-z0-9._%+'=/-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)>?")
_COPY_MARKERS = re.compile(
    r"^\s*(?:-{2,}\s*This is a copy of (?:the|your) message"
    r"|-{2,}\s*Below this line is a copy of the message"
    r"|-{2,}\s*Original message\s*-{2,}"
    r"|-{2,}\s*The header of the original message"
    r"|-{2,}\s*Original Message)",
    re.IGNORECASE | re.MULTILINE,
)
_PERMANENT = re.compile(
    r"permanent error|failed permanently|permanent failure|I've given up|could not be delivered",
    re.IGNORECASE,
)
_TEMPORARY = re.compile(
    r"temporary (?:error|failure|problem)|not yet been delivered|delayed|will (?:keep )?"
    r"(?:retry|trying)|try again later",
    re.IGNORECASE,
)
_BOUNCE_SUBJECT = re.compile(
    r"undeliver|delivery status notification|mail delivery (?:failed|failure|system)"
    r"|failure notice|returned mail|delivery failure|warning: message .* delayed"
    r"|не доставлено|недоставлен",
    re.IGNORECASE,
)
_SYSTEM_SENDERS = ("mailer-daemon@", "postmaster@", "mail-daemon@")
_MESSAGE_ID_HEADER = re.compile(r"^Message-ID:\s*(<[^>\r\n]+>)", re.IGNORECASE | re.MULTILINE)
_ENVELOPE_HEADERS = ("Delivered-To", "X-Original-To", "Envelope-To", "To")


def _text(value: object) -> str:
    return " ".join(str(value or "").split())


def _decoded(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return str(part.get_payload() or "")
    charset = part.get_content_charset() or "utf-8"
    try:
        return payload.decode(charset, errors="replace")
    except LookupError:
        return payload.decode("utf-8", errors="replace")


def _field_address(value: str | None) -> str | None:
    """``rfc822; Anna@Client.RU`` → ``Anna@Client.RU``."""
    if not value:
        return None
    address = _text(value).split(";", 1)[-1].strip().strip("<>")
    return address if "@" in address else None


def _codes(text: str) -> tuple[str | None, int | None]:
    """The first enhanced status code and SMTP reply code in a text."""
    status = _STATUS.search(text)
    code = _SMTP_CODE.search(text)
    return (
        ".".join(status.groups()) if status else None,
        int(code.group(1)) if code else None,
    )


def _report_recipients(msg: Message) -> list[FailedRecipient]:
    found: list[FailedRecipient] = []
    for part in msg.walk():
        if part.get_content_type() not in (
            "message/delivery-status",
            "message/global-delivery-status",
        ):
            continue
        blocks = part.get_payload()
        if not isinstance(blocks, list):
            continue
        for block in blocks:
            if not isinstance(block, Message):
                continue
            final = _field_address(block.get("Final-Recipient"))
            original = _field_address(block.get("Original-Recipient"))
            if final is None and original is None:
                continue  # the per-message block
            diagnostic = _text(block.get("Diagnostic-Code", "")).split(";", 1)[-1].strip()
            status = _text(block.get("Status", "")) or None
            from_diag_status, code = _codes(diagnostic)
            found.append(
                FailedRecipient(
                    address=final or original or "",
                    original=original,
                    action=_text(block.get("Action", "failed")).lower() or "failed",
                    status=status or from_diag_status,
                    smtp_code=code,
                    diagnostic=diagnostic[:MAX_DIAGNOSTIC] or None,
                )
            )
    return found


def _original_message_id(msg: Message, text: str) -> str | None:
    for part in msg.walk():
        ctype = part.get_content_type()
        if ctype in ("message/rfc822", "message/global"):
            inner = part.get_payload()
            if isinstance(inner, list) and inner and isinstance(inner[0], Message):
                found = normalize_message_id(inner[0].get("Message-ID"))
                if found:
                    return found
        elif ctype == "text/rfc822-headers":
            match = _MESSAGE_ID_HEADER.search(_decoded(part))
            if match:
                return normalize_message_id(match.group(1))
    copy = _COPY_MARKERS.search(text)
    if copy is not None:
        match = _MESSAGE_ID_HEADER.search(text, copy.end())
        if match:
            return normalize_message_id(match.group(1))
    return None


def _first_text(msg: Message) -> str:
    for part in msg.walk():
        if part.get_content_type() == "text/plain" and not part.get_filename():
            return _decoded(part)
    return ""


def _text_recipients(msg: Message, text: str, ours: set[str]) -> list[FailedRecipient]:
    """Failed recipients of a plain-text bounce: X-Failed-Recipients, else the addresses
    in the report above the quoted original (not the bounce's own sender or addressee)."""
    report = text[: m.start()] if (m := _COPY_MARKERS.search(text)) else text
    status, code = _codes(report)
    diagnostic = None
    for line in report.splitlines():
        if _SMTP_CODE.search(line) or _STATUS.search(line):
            diagnostic = _text(line)[:MAX_DIAGNOSTIC]
            break
    named = [a for _, a in getaddresses(msg.get_all("X-Failed-Recipients") or []) if "@" in a]
    if not named:
        named = [
            a
            for a in (match.group(1) for match in _ADDRESS.finditer(report))
            if a.casefold() not in ours and not a.casefold().startswith(_SYSTEM_SENDERS)
        ]
    seen: set[str] = set()
    out: list[FailedRecipient] = []
    for address in named:
        if address.casefold() in seen:
            continue
        seen.add(address.casefold())
        out.append(
            FailedRecipient(address=address, status=status, smtp_code=code, diagnostic=diagnostic)
        )
    return out


def _is_bounce(msg: Message) -> bool:
    sender = _text(msg.get("From", "")).casefold()
    return (
        msg.get_content_type() == "multipart/report"
        or bool(msg.get("X-Failed-Recipients"))
        or any(s in sender for s in _SYSTEM_SENDERS)
        or bool(_BOUNCE_SUBJECT.search(_text(msg.get("Subject", ""))))
    )


def parse_bounce(raw: bytes) -> Bounce | None:
    """What a letter in the bounce mailbox reports, or None if it is not a bounce."""
    msg = BytesParser(policy=compat32).parsebytes(raw)
    if not _is_bounce(msg):
        return None
    delivered = tuple(
        a for h in _ENVELOPE_HEADERS for _, a in getaddresses(msg.get_all(h) or []) if "@" in a
    )
    text = _first_text(msg)
    recipients = _report_recipients(msg)
    form = "rfc3464"
    if not recipients:
        form = "text"
        ours = {a.casefold() for a in delivered}
        ours.update(a.casefold() for _, a in getaddresses(msg.get_all("From") or []))
        recipients = _text_recipients(msg, text, ours)
    own_id = normalize_message_id(msg.get("Message-ID"))
    key = own_id or "sha256:" + hashlib.sha256(raw).hexdigest()
    hint = True if _PERMANENT.search(text) else False if _TEMPORARY.search(text) else None
    return Bounce(
        key=key,
        form=form,
        recipients=tuple(recipients),
        original_message_id=_original_message_id(msg, text),
        delivered_to=delivered,
        permanent_hint=hint,
    )
