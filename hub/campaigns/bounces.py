"""Campaign bounces: DSNs from the bounce mailbox and 5xx refusals at send time.

The e-mail channel reads a DSN (`hub/channels/email/dsn.py`: the failed recipients with
their status, the original Message-ID, the addresses it was delivered to); here:

- `BounceMatcher.match` finds the campaign recipient: by our VERP return path in
  Delivered-To / X-Original-To / To, else by our Message-ID in the original's headers.
  The VERP signature covers the recipient's address, so only the address the letter was
  sent to can be suppressed; a failure naming another address is ignored and logged.
- `classify` says hard (5.x.x, or a 5xx answer) or soft (4.x.x, 4xx, "delayed"); the store
  records each event once (`store.campaign_bounces.record`) and a hard one suppresses.

`BounceMailbox` takes the bounces of the configured folder (a `BounceSource`: the e-mail
channel's `BounceFolder`, wired in `hub/runtime.py`) from its checkpoint on;
`bounces_at_send` turns a `SendResult`'s 5xx refusals into events.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from contextlib import aclosing
from dataclasses import dataclass
from datetime import datetime

from hub.activity import ActivityStore
from hub.activity.repos import BounceEvent, BounceKind, BounceOrigin
from hub.campaigns import verp
from hub.campaigns.signing import SigningKeys
from hub.model import (
    LETTER_REFUSED,
    Bounce,
    BounceBatch,
    BounceSource,
    Channel,
    Checkpoint,
    FailedRecipient,
    SendOutcome,
    SendResult,
    utcnow,
)

logger = logging.getLogger(__name__)

#: Characters of a diagnostic kept.
MAX_DIAGNOSTIC = 1000
#: Checkpoint source of the bounce mailbox reader.
CHECKPOINT_SOURCE = "campaign-bounces"

#: DSN actions that say nothing went wrong.
_NOT_FAILED = frozenset({"delivered", "relayed", "expanded"})
#: An RFC 3463 enhanced status code in a server's reply text.
_ENHANCED_STATUS = re.compile(r"(?<![\d.])([245]\.\d{1,3}\.\d{1,3})(?![\d.])")



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
        found = _ENHANCED_STATUS.search(rcpt.reason or "")
        events.append(
            BounceEvent(
                campaign_id=campaign_id,
                recipient_id=recipient_id,
                channel=Channel.EMAIL,
                address=rcpt.address.value.strip().casefold(),
                kind=BounceKind.HARD,
                origin=BounceOrigin.SEND,
                source_key=result.external_id or f"c{campaign_id}-r{recipient_id}",
                status=found.group(1) if found else None,
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
    """Records the bounces of one folder from its checkpoint on, batch by batch."""

    def __init__(
        self, *, store: ActivityStore, source: BounceSource, matcher: BounceMatcher
    ) -> None:
        self.store = store
        self.source = source
        self.matcher = matcher

    async def sync_once(self) -> SyncReport:
        """Read the letters that arrived since the last pass; record their bounces."""
        key = self.source.key
        report = SyncReport()
        saved = await self.store.get_checkpoint(CHECKPOINT_SOURCE, key)
        async with aclosing(self.source.read(saved)) as batches:
            async for batch in batches:
                report = await self._batch(batch, report)
                await self.store.apply(
                    [Checkpoint(source=CHECKPOINT_SOURCE, key=key, value=batch.resume)]
                )
        return report

    async def _batch(self, batch: BounceBatch, report: SyncReport) -> SyncReport:
        recorded = unmatched = 0
        for bounce in batch.bounces:
            events = await self.matcher.events(bounce, at=utcnow())
            unmatched += not events
            for event in events:
                recorded += await record_bounce(self.store, event)
        return SyncReport(
            letters=report.letters + batch.letters,
            bounces=report.bounces + len(batch.bounces),
            recorded=report.recorded + recorded,
            unmatched=report.unmatched + unmatched,
        )
