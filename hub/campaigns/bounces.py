"""Campaign bounces: DSNs from the bounce mailbox and 5xx refusals at send time.

Three steps, each its own piece:

- `parse_bounce(raw)` (sans-IO) reads a DSN: RFC 3464 ``multipart/report`` (Postfix,
  Exim 4.9x, Gmail, Exchange) and the common plain-text forms (older Exim, qmail, Gmail's
  "failed permanently"), giving the failed recipients with their status, the original
  Message-ID and the addresses the DSN was delivered to. A letter that is no bounce
  (a reply, an autoresponder) is None.
- `BounceMatcher.match` finds the campaign recipient: by our VERP return path in
  Delivered-To / X-Original-To / To, else by our Message-ID in the original's headers.
  The VERP signature covers the recipient's address, so only the address the letter was
  sent to can be suppressed; a failure naming another address is ignored and logged.
- `classify` says hard (5.x.x, or a 5xx answer) or soft (4.x.x, 4xx, "delayed"); the store
  records each event once (`store.campaign_bounces.record`) and a hard one suppresses.

`BounceMailbox` reads the configured folder over IMAP (the e-mail channel's connection)
from its checkpoint on; `bounces_at_send` turns a `SendResult`'s 5xx refusals into events.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from email.message import Message
from email.parser import BytesParser
from email.policy import compat32
from email.utils import getaddresses

from hub.activity import ActivityStore
from hub.activity.repos import BounceEvent, BounceKind, BounceOrigin
from hub.campaigns import verp
from hub.campaigns.signing import SigningKeys
from hub.channels.email.factory import build_capture
from hub.channels.email.imap_capture import FolderCheckpoint
from hub.channels.email.imap_connection import ImapConnection
from hub.channels.email.imap_protocol import uid_set
from hub.channels.email.letter_parser import normalize_message_id
from hub.channels.email.plugin import PLUGIN as EMAIL
from hub.channels.email.smtp_sender import LETTER_REFUSED
from hub.config import CoreSettings
from hub.errors import ConfigError
from hub.model import Channel, Checkpoint, SendOutcome, SendResult, utcnow

logger = logging.getLogger(__name__)

#: Letters fetched from the bounce mailbox per UID FETCH.
FETCH_BATCH = 50
#: Longest bounce read whole; a DSN is a few KiB, one quoting a big original is cut there.
MAX_BOUNCE_BYTES = 2 * 1024 * 1024
#: Characters of a diagnostic kept.
MAX_DIAGNOSTIC = 1000
#: Checkpoint source of the bounce mailbox reader.
CHECKPOINT_SOURCE = "campaign-bounces"

#: DSN actions that say nothing went wrong.
_NOT_FAILED = frozenset({"delivered", "relayed", "expanded"})
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


@dataclass(frozen=True, slots=True, kw_only=True)
class FailedRecipient:
    """One recipient a bounce reports on: as finally tried, as first given, and why."""

    address: str
    original: str | None = None
    action: str = "failed"
    status: str | None = None
    smtp_code: int | None = None
    diagnostic: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Bounce:
    """What a bounce letter says."""

    key: str
    form: str
    recipients: tuple[FailedRecipient, ...]
    original_message_id: str | None
    delivered_to: tuple[str, ...]
    permanent_hint: bool | None = None


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


def classify(failure: FailedRecipient, permanent_hint: bool | None = None) -> BounceKind | None:
    """Hard or soft, or None when the report says the letter went through."""
    if failure.action in _NOT_FAILED:
        return None
    status = failure.status or ""
    if status.startswith("5."):
        return BounceKind.HARD
    if status.startswith("4."):
        return BounceKind.SOFT
    if status.startswith("2."):
        return None
    if failure.smtp_code is not None:
        return BounceKind.HARD if failure.smtp_code >= 500 else BounceKind.SOFT
    if failure.action == "delayed":
        return BounceKind.SOFT
    if permanent_hint is True or (failure.action == "failed" and permanent_hint is None):
        return BounceKind.HARD
    return BounceKind.SOFT


#: The engine's own lookup of a Message-ID it made some other way (None: not a campaign's).
MessageIdLookup = Callable[[str], Awaitable[verp.VerpTag | None]]


@dataclass(frozen=True, slots=True)
class BounceMatcher:
    """Finds the campaign recipient a bounce is about."""

    keys: SigningKeys
    bounce_address: str | None
    lookup: MessageIdLookup | None = None

    async def tag_of(self, bounce: Bounce) -> verp.VerpTag | None:
        """The recipient's tag from the return path, else from the original's Message-ID."""
        if self.bounce_address:
            for address in bounce.delivered_to:
                found = verp.parse(address, self.bounce_address)
                if found is not None:
                    return found
        if bounce.original_message_id:
            found = verp.parse_message_id(bounce.original_message_id)
            if found is not None:
                return found
            if self.lookup is not None:
                return await self.lookup(bounce.original_message_id)
        return None

    async def events(self, bounce: Bounce, *, at: datetime) -> list[BounceEvent]:
        """The bounce events this DSN makes: one per failed recipient the tag was signed
        for; the rest are logged and ignored."""
        found = await self.tag_of(bounce)
        if found is None:
            logger.info("bounce %s names no campaign recipient of ours", bounce.key)
            return []
        events: list[BounceEvent] = []
        for failure in bounce.recipients:
            kind = classify(failure, bounce.permanent_hint)
            if kind is None:
                continue
            address = next(
                (
                    a
                    for a in (failure.original, failure.address)
                    if a and verp.verify(self.keys, found, a)
                ),
                None,
            )
            if address is None:
                logger.warning(
                    "bounce %s: %s is not the address campaign %d recipient %d was sent to "
                    "(or the signature is forged); ignored",
                    bounce.key,
                    failure.address,
                    found.campaign_id,
                    found.recipient_id,
                )
                continue
            events.append(
                BounceEvent(
                    campaign_id=found.campaign_id,
                    recipient_id=found.recipient_id,
                    channel=Channel.EMAIL,
                    address=address.casefold(),
                    kind=kind,
                    origin=BounceOrigin.DSN,
                    source_key=bounce.key,
                    status=failure.status,
                    smtp_code=failure.smtp_code,
                    diagnostic=failure.diagnostic,
                    message_id=bounce.original_message_id,
                    received_at=at,
                )
            )
        return events


async def record_bounce(store: ActivityStore, event: BounceEvent) -> bool:
    """Record one bounce event (once); a hard bounce suppresses its address. True if new."""
    return await store.campaign_bounces.record(event)


def bounces_at_send(
    result: SendResult, *, campaign_id: int, recipient_id: int
) -> list[BounceEvent]:
    """Recipients a server refused with 5xx at RCPT time, as hard bounce events (a refusal
    of the whole letter at MAIL FROM or DATA says nothing about the address)."""
    events: list[BounceEvent] = []
    for rcpt in result.recipients:
        if (
            rcpt.outcome is not SendOutcome.PERMANENT_FAILURE
            or rcpt.code is None
            or (rcpt.reason or "").startswith(LETTER_REFUSED)
        ):
            continue
        status, _code = _codes(rcpt.reason or "")
        events.append(
            BounceEvent(
                campaign_id=campaign_id,
                recipient_id=recipient_id,
                channel=Channel.EMAIL,
                address=rcpt.address.value.strip().casefold(),
                kind=BounceKind.HARD,
                origin=BounceOrigin.SEND,
                source_key=result.external_id or f"c{campaign_id}-r{recipient_id}",
                status=status,
                smtp_code=rcpt.code,
                diagnostic=(rcpt.reason or "")[:MAX_DIAGNOSTIC] or None,
                message_id=result.external_id,
                received_at=utcnow(),
            )
        )
    return events


async def record_send_result(
    store: ActivityStore, result: SendResult, *, campaign_id: int, recipient_id: int
) -> int:
    """Record the 5xx refusals of one campaign send; how many were new."""
    new = 0
    for event in bounces_at_send(result, campaign_id=campaign_id, recipient_id=recipient_id):
        new += await record_bounce(store, event)
    return new


@dataclass(frozen=True, slots=True, kw_only=True)
class SyncReport:
    """What one pass over the bounce mailbox did."""

    letters: int = 0
    bounces: int = 0
    recorded: int = 0
    unmatched: int = 0


class BounceMailbox:
    """Reads DSNs from one IMAP folder (read-only) from its checkpoint on."""

    def __init__(
        self,
        *,
        store: ActivityStore,
        connect: Callable[[], ImapConnection],
        folder: str,
        matcher: BounceMatcher,
        name: str,
    ) -> None:
        self.store = store
        self.connect = connect
        self.folder = folder
        self.matcher = matcher
        self.name = name

    async def sync_once(self) -> SyncReport:
        """Read the letters that arrived since the last pass; record their bounces."""
        conn = self.connect()
        await conn.open()
        try:
            return await self._sync(conn)
        finally:
            await conn.close()

    async def _sync(self, conn: ImapConnection) -> SyncReport:
        info = await conn.examine(self.folder)
        key = f"{self.name}:{self.folder}"
        saved = FolderCheckpoint.load(await self.store.get_checkpoint(CHECKPOINT_SOURCE, key))
        last = saved.last_uid if saved and saved.uidvalidity == info.uidvalidity else 0
        uids = [u for u in await conn.uid_search("UID", f"{last + 1}:*") if u > last]
        report = SyncReport()
        for start in range(0, len(uids), FETCH_BATCH):
            batch = uids[start : start + FETCH_BATCH]
            fetched = await conn.uid_fetch(uid_set(batch), "(UID RFC822.SIZE BODY.PEEK[])")
            for message in fetched:
                report = await self._one(message.bytes_of("BODY[]") or b"", report)
            last = max(last, batch[-1])
            await self._save(key, info.uidvalidity, last)
        return report

    async def _one(self, raw: bytes, report: SyncReport) -> SyncReport:
        letters, bounces, recorded, unmatched = (
            report.letters + 1,
            report.bounces,
            report.recorded,
            report.unmatched,
        )
        try:
            bounce = parse_bounce(raw[:MAX_BOUNCE_BYTES])
        except Exception as exc:  # one unreadable letter must not stop the pass
            logger.warning("%s: unreadable letter in the bounce mailbox: %r", self.name, exc)
            bounce = None
        if bounce is not None:
            bounces += 1
            events = await self.matcher.events(bounce, at=utcnow())
            unmatched += not events
            for event in events:
                recorded += await record_bounce(self.store, event)
        return SyncReport(letters=letters, bounces=bounces, recorded=recorded, unmatched=unmatched)

    async def _save(self, key: str, uidvalidity: int, last_uid: int) -> None:
        value = FolderCheckpoint(uidvalidity=uidvalidity, last_uid=last_uid).dump()
        await self.store.apply([Checkpoint(source=CHECKPOINT_SOURCE, key=key, value=value)])


def bounce_mailbox(
    settings: CoreSettings, store: ActivityStore, *, lookup: MessageIdLookup | None = None
) -> BounceMailbox:
    """The reader of `[campaigns] bounce_mailbox` (ACCOUNT/FOLDER of an e-mail account)."""
    campaigns = settings.campaigns
    if not campaigns.bounce_mailbox:
        raise ConfigError("campaigns.bounce_mailbox is not set (ACCOUNT/FOLDER)")
    email = EMAIL.settings_of(settings)
    account, _, folder = campaigns.bounce_mailbox.partition("/")
    capture = build_capture(email, account)
    conf = email.accounts[account]
    password = conf.password.get_secret_value() if conf.password else ""

    def connect() -> ImapConnection:
        return ImapConnection(
            capture.url, password, timeout=email.timeout_s, ssl_context=capture.ssl_context
        )

    return BounceMailbox(
        store=store,
        connect=connect,
        folder=folder,
        matcher=BounceMatcher(SigningKeys.of(campaigns), campaigns.bounce_address, lookup),
        name=account,
    )
