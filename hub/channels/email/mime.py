"""A letter's MIME skeleton (parts, sections, sizes) whether read from BODYSTRUCTURE or bytes.

Both the IMAP path (BODYSTRUCTURE) and the whole-message path (the `email` package)
describe a letter with these values, so that one set of rules picks the text part and
lists attachments for both.
"""

from __future__ import annotations

import base64
import binascii
import quopri
from dataclasses import dataclass, field

#: Content types that carry a report rather than something a person attached.
REPORT_PART_TYPES: frozenset[str] = frozenset(
    {
        "message/delivery-status",
        "message/global-delivery-status",
        "text/rfc822-headers",
        "message/disposition-notification",
    }
)
#: Base64 lines are 76 characters plus CRLF: decoded size ≈ encoded × 57/78.
BASE64_RATIO = 57 / 78


@dataclass(frozen=True, slots=True, kw_only=True)
class MimePart:
    """One leaf of a letter: its IMAP section number, type, encoding and encoded size."""

    section: str
    content_type: str
    charset: str | None = None
    encoding: str = "7bit"
    size: int = 0
    disposition: str | None = None
    filename: str | None = None

    @property
    def decoded_size(self) -> int:
        """The size a person would see (base64 costs a third more on the wire)."""
        if self.encoding == "base64":
            return int(self.size * BASE64_RATIO)
        return self.size

    @property
    def is_attachment(self) -> bool:
        """A part a person attached, as opposed to the letter's own text."""
        if self.content_type in REPORT_PART_TYPES:
            return False
        if self.disposition == "attachment" or self.filename:
            return True
        return not self.content_type.startswith(("text/", "multipart/"))


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageStructure:
    """The root content type, its parameters and every leaf part in order."""

    content_type: str
    params: dict[str, str] = field(default_factory=dict)
    parts: tuple[MimePart, ...] = ()
    defects: tuple[str, ...] = ()

    @property
    def is_delivery_report(self) -> bool:
        """A DSN: multipart/report; report-type=delivery-status (RFC 3464)."""
        return self.content_type == "multipart/report" and self.params.get(
            "report-type", ""
        ).lower() in ("delivery-status", "global-delivery-status")

    def text_part(self) -> MimePart | None:
        """The part whose text becomes the preview: plain text first, else HTML."""
        texts = [
            p for p in self.parts if p.content_type.startswith("text/") and not p.is_attachment
        ]
        for wanted in ("text/plain", "text/html"):
            for part in texts:
                if part.content_type == wanted:
                    return part
        return None

    def attachments(self) -> tuple[MimePart, ...]:
        """The parts a person attached."""
        return tuple(p for p in self.parts if p.is_attachment)


def decode_transfer(data: bytes, encoding: str, *, truncated: bool = False) -> bytes:
    """Undo a Content-Transfer-Encoding; a truncated base64 tail is cut, not an error."""
    encoding = encoding.lower()
    if encoding == "base64":
        compact = b"".join(data.split())
        if truncated:
            compact = compact[: len(compact) - len(compact) % 4]
        try:
            return base64.b64decode(compact + b"=" * (-len(compact) % 4))
        except (binascii.Error, ValueError):
            return b""  # not base64 at all; the preview stays empty, the letter is kept
    if encoding == "quoted-printable":
        return quopri.decodestring(data)
    return data
