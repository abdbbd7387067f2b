"""What a letter means: direction, our employee, the client participants, flags, bounces.

Pure rules from a `ParsedLetter` and the mailbox's own addresses to `Touch` and
`StatusUpdate` values. The touch key is `("email", Message-ID)` whatever mailbox or
folder the letter was seen in, so one letter is one activity.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hub.channels.email.letter_parser import MailAddress, ParsedLetter, normalize_message_id
from hub.model import (
    Address,
    AddressKind,
    Channel,
    Direction,
    Flag,
    Status,
    StatusUpdate,
    Touch,
    utcnow,
)

#: The one touch source for e-mail, shared by every mailbox (see decision 0003).
SOURCE = "email"
#: DSN actions that mean the letter did not reach the recipient.
FAILED_ACTIONS: frozenset[str] = frozenset({"failed"})


@dataclass(frozen=True, slots=True, kw_only=True)
class Mailbox:
    """Whose letters these are: the account, its own addresses, the company's domains."""

    account: str
    addresses: tuple[str, ...]
    company_domains: frozenset[str] = frozenset()
    bounce_addresses: frozenset[str] = frozenset()

    @classmethod
    def of(
        cls,
        account: str,
        addresses: Iterable[str],
        company_domains: Iterable[str] = (),
        bounce_addresses: Iterable[str] = (),
    ) -> Mailbox:
        """Build with everything case-folded once."""
        return cls(
            account=account,
            addresses=tuple(a.strip().casefold() for a in addresses if a.strip()),
            company_domains=frozenset(d.strip().lstrip("@").casefold() for d in company_domains),
            bounce_addresses=frozenset(b.strip().casefold() for b in bounce_addresses),
        )

    def is_ours(self, address: str) -> bool:
        """True for the mailbox's own addresses and anyone at a company domain."""
        folded = address.casefold()
        if folded in self.addresses:
            return True
        domain = folded.rpartition("@")[2]
        return domain in self.company_domains


def verp_address(bounce_address: str, message_id: str) -> str:
    """`bounces@acme.ru` + `abc@host` → `bounces+abc=host@acme.ru` (the envelope sender)."""
    local, _, domain = bounce_address.partition("@")
    left, _, right = message_id.partition("@")
    return f"{local}+{left}={right}@{domain}" if right else f"{local}+{left}@{domain}"


def verp_message_id(address: str, bounce_addresses: frozenset[str]) -> str | None:
    """The Message-ID a VERP address of ours encodes, or None if it is not one of ours."""
    local, _, domain = address.rpartition("@")
    base, plus, token = local.partition("+")
    if not plus or not token or f"{base}@{domain}".casefold() not in bounce_addresses:
        return None
    left, eq, right = token.rpartition("=")
    return normalize_message_id(f"<{left}@{right}>" if eq else f"<{token}>")


def _dedup(addresses: Iterable[MailAddress]) -> list[MailAddress]:
    seen: set[str] = set()
    out: list[MailAddress] = []
    for item in addresses:
        key = item.address.casefold()
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out


def _wire(item: MailAddress) -> Address:
    return Address(kind=AddressKind.EMAIL, value=item.address, name=item.name)


def flags_of(letter: ParsedLetter) -> frozenset[Flag]:
    """The marks that keep automatic mail out of client-touch counts."""
    flags: set[Flag] = set()
    if letter.is_delivery_report:
        flags.add(Flag.DELIVERY_REPORT)
    elif letter.auto_reply:
        flags.add(Flag.AUTO_REPLY)
    if letter.list_id or letter.bulk:
        flags.add(Flag.MAILING_LIST)
    return frozenset(flags)


def interpret(
    letter: ParsedLetter,
    mailbox: Mailbox,
    *,
    folder: str | None = None,
    received_at: datetime | None = None,
    extra: Mapping[str, Any] | None = None,
) -> list[Touch | StatusUpdate]:
    """The touch a letter is, followed by the bounces it reports (if it is a DSN)."""
    sender = letter.from_[0] if letter.from_ else None
    recipients = _dedup([*letter.to, *letter.cc, *letter.bcc])
    if sender is not None and mailbox.is_ours(sender.address):
        external = [r for r in recipients if not mailbox.is_ours(r.address)]
        direction = Direction.OUT if external else Direction.INTERNAL
        employee: str | None = sender.address
    else:
        direction = Direction.IN
        # The first colleague in To/Cc, whichever mailbox it was seen in, so that the one
        # activity of a letter to two colleagues does not flip between them; the envelope
        # (Delivered-To) and the mailbox itself only for letters where we were Bcc.
        ours = [r.address for r in recipients if mailbox.is_ours(r.address)]
        ours += [a for a in letter.envelope_to if mailbox.is_ours(a)]
        candidates = ours or list(mailbox.addresses)
        employee = candidates[0] if candidates else None
    participants = _dedup([*letter.from_, *recipients])
    counterparts = [p for p in participants if not mailbox.is_ours(p.address)]
    failures = letter.report.failures if letter.report else ()
    if letter.is_delivery_report and failures:
        counterparts = [MailAddress(address=f.recipient) for f in failures if "@" in f.recipient]
    occurred_at = letter.date or received_at or utcnow()
    metadata: dict[str, Any] = {
        "message_id": letter.message_id,
        "synthetic_id": letter.synthetic_id,
        "from": [str(a) for a in letter.from_],
        "to": [str(a) for a in letter.to],
        "cc": [str(a) for a in letter.cc],
        "attachments": [
            {"name": a.name, "size": a.size, "content_type": a.content_type}
            for a in letter.attachments
        ],
        "account": mailbox.account,
    }
    if letter.bcc:
        metadata["bcc"] = [str(a) for a in letter.bcc]
    if folder is not None:
        metadata["folder"] = folder
    if letter.in_reply_to:
        metadata["in_reply_to"] = letter.in_reply_to
    if letter.auto_reply:
        metadata["auto_reply"] = letter.auto_reply
    if letter.list_id:
        metadata["list_id"] = letter.list_id
    if letter.size is not None:
        metadata["size"] = letter.size
    if letter.defects:
        metadata["defects"] = list(letter.defects)
    if extra:
        metadata.update(extra)
    touch = Touch(
        source=SOURCE,
        external_id=letter.message_id,
        channel=Channel.EMAIL,
        direction=direction,
        status=Status.RECEIVED if direction is Direction.IN else Status.SENT,
        occurred_at=occurred_at,
        counterparts=tuple(_wire(c) for c in _dedup(counterparts)),
        employee=Address(kind=AddressKind.EMAIL, value=employee) if employee else None,
        subject=letter.subject or None,
        preview=letter.preview or None,
        thread_key=letter.thread_key,
        flags=flags_of(letter),
        metadata=metadata,
    )
    return [touch, *bounces_of(letter, mailbox, at=occurred_at)]


def bounces_of(letter: ParsedLetter, mailbox: Mailbox, *, at: datetime) -> list[StatusUpdate]:
    """A DSN's failed recipients as "bounced" updates on the original outgoing letter."""
    report = letter.report
    if report is None:
        return []
    original = report.original_message_id
    if original is None:
        for address in letter.envelope_to:
            original = verp_message_id(address, mailbox.bounce_addresses)
            if original:
                break
    if original is None:
        return []
    updates: list[StatusUpdate] = []
    for failure in report.failures:
        if failure.action not in FAILED_ACTIONS or "@" not in failure.recipient:
            continue
        detail = " ".join(x for x in (failure.status, failure.diagnostic) if x) or None
        updates.append(
            StatusUpdate(
                source=SOURCE,
                external_id=original,
                status=Status.BOUNCED,
                at=at,
                detail=detail,
                address=Address(kind=AddressKind.EMAIL, value=failure.recipient),
            )
        )
    return updates
