"""Bounces of campaign recipients: each recorded once; a hard one suppresses the address.

The recipients table belongs to the campaign engine; this table names the recipient by
(campaign_id, recipient_id) for the engine to join. `event_key` identifies the event
(the DSN and the recipient it reports, or the send that was refused), so the same DSN
read twice, or the mailbox re-read from the start, records nothing new.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import RowMapping

from hub.activity.dialect import insert_ignore
from hub.activity.repos.base import Repo
from hub.activity.repos.suppressions import Reason, SuppressionsRepo
from hub.activity.schema import campaign_bounces
from hub.model import Channel


class BounceKind(StrEnum):
    """Permanent (the address is dead: suppress) or temporary (only counted)."""

    HARD = "hard"
    SOFT = "soft"


class BounceOrigin(StrEnum):
    """Where the bounce was learnt: a DSN in the bounce mailbox, or the SMTP answer."""

    DSN = "dsn"
    SEND = "send"


@dataclass(frozen=True, slots=True, kw_only=True)
class BounceEvent:
    """One recipient's bounce, as `hub.campaigns.bounces` makes it."""

    campaign_id: int
    recipient_id: int
    channel: Channel
    address: str
    kind: BounceKind
    origin: BounceOrigin
    #: What identifies the event at its origin (the DSN's Message-ID, the send's id).
    source_key: str
    status: str | None = None
    smtp_code: int | None = None
    diagnostic: str | None = None
    message_id: str | None = None
    received_at: datetime

    @property
    def event_key(self) -> str:
        """The event's identity: its origin, its key there, the recipient and the address."""
        text = "\x00".join(
            (
                self.origin.value,
                self.source_key,
                str(self.campaign_id),
                str(self.recipient_id),
                self.address.casefold(),
            )
        )
        return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordedBounce:
    """A bounce as stored."""

    id: int
    campaign_id: int
    recipient_id: int
    channel: str
    address: str
    kind: str
    status: str | None
    smtp_code: int | None
    diagnostic: str | None
    message_id: str | None
    origin: str
    received_at: datetime

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}


def _row(row: RowMapping) -> RecordedBounce:
    return RecordedBounce(**{k: row[k] for k in RecordedBounce.__slots__})


#: Longest diagnostic kept (a DSN may quote a whole SMTP dialogue).
MAX_DIAGNOSTIC = 2000


class CampaignBouncesRepo(Repo):
    """Record bounces once; read them per campaign."""

    def __init__(self, suppressions: SuppressionsRepo) -> None:
        super().__init__(suppressions.engine, suppressions.options)
        self.suppressions = suppressions

    async def record(self, event: BounceEvent) -> bool:
        """Record `event` unless it was recorded before; a hard bounce also suppresses the
        address for later campaigns, in the same transaction. True when it was new."""
        diagnostic = (event.diagnostic or "")[:MAX_DIAGNOSTIC] or None
        async with self.tx() as work:
            result = await work.conn.execute(
                insert_ignore(work.conn, campaign_bounces, ("event_key",)).values(
                    campaign_id=event.campaign_id,
                    recipient_id=event.recipient_id,
                    channel=event.channel.value,
                    address=event.address,
                    kind=event.kind.value,
                    status=event.status,
                    smtp_code=event.smtp_code,
                    diagnostic=diagnostic,
                    message_id=event.message_id,
                    origin=event.origin.value,
                    event_key=event.event_key,
                    received_at=event.received_at,
                )
            )
            if result.rowcount == 0:
                return False
            if event.kind is BounceKind.HARD:
                code = " ".join(
                    str(x) for x in (event.smtp_code, event.status) if x is not None
                )
                await self.suppressions.suppress_in(
                    work,
                    channel=event.channel,
                    address=event.address,
                    reason=Reason.BOUNCED,
                    detail=" ".join(x for x in (code, diagnostic or "") if x) or None,
                    campaign_id=event.campaign_id,
                    by=f"bounce:{event.origin.value}",
                )
            return True

    async def of_campaign(self, campaign_id: int) -> list[RecordedBounce]:
        """Every bounce of a campaign, in the order they were recorded."""
        async with self.read() as conn:
            rows = (
                await conn.execute(
                    select(campaign_bounces)
                    .where(campaign_bounces.c.campaign_id == campaign_id)
                    .order_by(campaign_bounces.c.id)
                )
            ).mappings()
            return [_row(r) for r in rows]

    async def counts(self, campaign_id: int) -> dict[str, int]:
        """Recipients of a campaign that bounced, by kind (a recipient counts once per kind)."""
        c = campaign_bounces.c
        async with self.read() as conn:
            rows = await conn.execute(
                select(c.kind, func.count(func.distinct(c.recipient_id)))
                .where(c.campaign_id == campaign_id)
                .group_by(c.kind)
            )
            found = {str(kind): int(n) for kind, n in rows}
        return {kind.value: found.get(kind.value, 0) for kind in BounceKind}
