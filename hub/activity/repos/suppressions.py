"""Suppressions: addresses a channel must not send campaigns to, and lifting them.

At most one suppression of an address is active (not lifted) per channel: suppressing
an address already suppressed changes nothing and says so (`created=False`), which makes
a repeated unsubscribe, bounce or opt-out harmless. A suppression that names a contact
writes a note on the contact's timeline in the same transaction, so the contact's page
says when and why mail stopped. Lifting keeps the row (who lifted it, when); a later
suppression of the same address is a new row.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import and_, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import RowMapping

from hub.activity.addresses import normalize
from hub.activity.dialect import one_of
from hub.activity.repos.base import MAX_PAGE, Repo
from hub.activity.schema import activities, contacts, identities, suppressions
from hub.activity.unit_of_work import UnitOfWork
from hub.errors import NotFound, ValidationError
from hub.model import OPT_OUT_KEY, AddressKind, Channel, Direction, Status, utcnow

#: Activity source of the notes suppressions write on a contact's timeline.
NOTE_SOURCE = "suppressions"
#: Channels campaigns send on, and the address kind each suppresses.
KIND_OF_CHANNEL: dict[Channel, AddressKind] = {
    Channel.EMAIL: AddressKind.EMAIL,
    Channel.SMS: AddressKind.PHONE,
}
#: Merged contacts followed at most this far to the one that holds the identities now.
MAX_MERGE_HOPS = 16
_ACTIVE = suppressions.c.lifted_at.is_(None)


class Reason(StrEnum):
    """Why an address is suppressed."""

    UNSUBSCRIBED = "unsubscribed"
    BOUNCED = "bounced"
    OPTED_OUT = "opted_out"
    COMPLAINED = "complained"
    MANUAL = "manual"


#: How each reason reads on the contact's timeline.
_NOTE_TEXT = {
    Reason.UNSUBSCRIBED: "Unsubscribed",
    Reason.BOUNCED: "Address bounced (hard)",
    Reason.OPTED_OUT: "Opted out",
    Reason.COMPLAINED: "Complained",
    Reason.MANUAL: "Suppressed by hand",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Suppression:
    """One suppression as stored."""

    id: int
    channel: str
    address: str
    reason: str
    detail: str | None
    campaign_id: int | None
    contact_id: int | None
    created_by: str | None
    created_at: datetime
    lifted_at: datetime | None
    lifted_by: str | None

    @property
    def active(self) -> bool:
        return self.lifted_at is None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "channel": self.channel,
            "address": self.address,
            "reason": self.reason,
            "detail": self.detail,
            "campaign_id": self.campaign_id,
            "contact_id": self.contact_id,
            "created_by": self.created_by,
            "created_at": self.created_at,
            "lifted_at": self.lifted_at,
            "lifted_by": self.lifted_by,
            "active": self.active,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Suppressed:
    """What `suppress` did: the active suppression, and whether this call made it."""

    suppression: Suppression
    created: bool


def _row(row: RowMapping) -> Suppression:
    return Suppression(
        id=row["id"],
        channel=row["channel"],
        address=row["address"],
        reason=row["reason"],
        detail=row["detail"],
        campaign_id=row["campaign_id"],
        contact_id=row["contact_id"],
        created_by=row["created_by"],
        created_at=row["created_at"],
        lifted_at=row["lifted_at"],
        lifted_by=row["lifted_by"],
    )


def kind_of(channel: Channel) -> AddressKind:
    """The address kind a channel's suppressions hold; `ValidationError` for other channels."""
    try:
        return KIND_OF_CHANNEL[channel]
    except KeyError:
        raise ValidationError(
            f"campaigns do not send on {channel.value}; suppressions are for email and sms",
            field="channel",
        ) from None


class SuppressionsRepo(Repo):
    """Suppress, list, look up and lift."""

    def normalised(self, channel: Channel, address: str) -> str:
        """`address` as the channel's suppressions store it (`InvalidAddress` if it can't be)."""
        return normalize(kind_of(channel), address, self.options.region)

    async def suppress(
        self,
        *,
        channel: Channel,
        address: str,
        reason: Reason,
        detail: str | None = None,
        campaign_id: int | None = None,
        contact_id: int | None = None,
        by: str | None = None,
    ) -> Suppressed:
        """Suppress `address` on `channel` unless it already is (see the module's notes)."""
        async with self.tx() as work:
            return await self.suppress_in(
                work,
                channel=channel,
                address=address,
                reason=reason,
                detail=detail,
                campaign_id=campaign_id,
                contact_id=contact_id,
                by=by,
            )

    async def suppress_in(
        self,
        work: UnitOfWork,
        *,
        channel: Channel,
        address: str,
        reason: Reason,
        detail: str | None = None,
        campaign_id: int | None = None,
        contact_id: int | None = None,
        by: str | None = None,
    ) -> Suppressed:
        """`suppress` inside the caller's transaction (a bounce and its suppression are one)."""
        conn = work.conn
        value = self.normalised(channel, address)
        if contact_id is None:
            contact_id = await conn.scalar(
                select(identities.c.contact_id).where(
                    and_(identities.c.kind == kind_of(channel).value, identities.c.value == value)
                )
            )
        now = utcnow()
        row = {
            "channel": channel.value,
            "address": value,
            "reason": reason.value,
            "detail": detail,
            "campaign_id": campaign_id,
            "contact_id": contact_id,
            "created_by": by,
            "created_at": now,
        }
        builder = postgresql.insert if self.dialect == "postgresql" else sqlite.insert
        result = await conn.execute(
            builder(suppressions)
            .values(row)
            .on_conflict_do_nothing(
                index_elements=["channel", "address"], index_where=_ACTIVE
            )
            .returning(*suppressions.c)
        )
        inserted = result.mappings().first()
        if inserted is None:
            existing = (
                await conn.execute(
                    select(suppressions).where(
                        and_(
                            suppressions.c.channel == channel.value,
                            suppressions.c.address == value,
                            _ACTIVE,
                        )
                    )
                )
            ).mappings().one()
            return Suppressed(suppression=_row(existing), created=False)
        made = _row(inserted)
        if made.contact_id is not None:
            await self._note(work, made)
        return Suppressed(suppression=made, created=True)

    async def opt_outs_written(
        self, work: UnitOfWork, inserted: Iterable[Mapping[str, Any]]
    ) -> None:
        """Suppress the senders of newly recorded incoming SMS marked as opt-outs (the SMS
        channel marks them, decision 0028), in the same transaction as the SMS itself."""
        for row in inserted:
            meta = row.get("meta") or {}
            if (
                row.get("channel") != Channel.SMS.value
                or row.get("direction") != Direction.IN.value
                or meta.get(OPT_OUT_KEY) is not True
                or not row.get("counterpart")
            ):
                continue
            try:
                await self.suppress_in(
                    work,
                    channel=Channel.SMS,
                    address=str(row["counterpart"]),
                    reason=Reason.OPTED_OUT,
                    contact_id=row.get("contact_id"),
                    detail=f"SMS {row.get('external_id')}",
                    by="sms-opt-out",
                )
            except ValidationError:  # not a phone number: nothing a campaign could send to
                continue

    async def _note(self, work: UnitOfWork, made: Suppression) -> None:
        """A note on the contact's timeline: what was suppressed, why, from which campaign."""
        conn = work.conn
        if await conn.scalar(select(contacts.c.id).where(contacts.c.id == made.contact_id)) is None:
            return
        campaign = f" from campaign #{made.campaign_id}" if made.campaign_id else ""
        text = f"{_NOTE_TEXT[Reason(made.reason)]}{campaign}: {made.channel} {made.address}"
        row: dict[str, Any] = {
            "source": NOTE_SOURCE,
            "external_id": f"suppression:{made.id}",
            "channel": Channel.NOTE.value,
            "direction": Direction.IN.value,
            "status": Status.COMPLETED.value,
            "occurred_at": made.created_at,
            "completed_at": made.created_at,
            "contact_id": made.contact_id,
            "employee_id": None,
            "counterpart": made.address,
            "subject": text,
            "preview": made.detail,
            "is_client": False,
            "flags": "",
            "meta": {
                "suppression_id": made.id,
                "reason": made.reason,
                "channel": made.channel,
                "campaign_id": made.campaign_id,
            },
            "created_at": made.created_at,
            "updated_at": made.created_at,
        }
        row["id"] = int(
            (await conn.execute(insert(activities).returning(activities.c.id), row)).scalar_one()
        )
        work.activities_changed([], [row])

    async def get(self, suppression_id: int) -> Suppression:
        """The suppression with this id, or `NotFound`."""
        async with self.read() as conn:
            row = (
                await conn.execute(select(suppressions).where(suppressions.c.id == suppression_id))
            ).mappings().first()
        if row is None:
            raise NotFound(f"no suppression {suppression_id}")
        return _row(row)

    async def search(
        self,
        *,
        channel: Channel | None = None,
        address: str | None = None,
        active: bool | None = True,
        campaign_id: int | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[Suppression], int]:
        """A page of suppressions, newest first, and how many match in all."""
        where = []
        if channel is not None:
            where.append(suppressions.c.channel == channel.value)
            if address is not None:
                # A search, not a write: what the channel cannot store is simply not found.
                try:
                    value = self.normalised(channel, address)
                except ValidationError:
                    value = address.strip()
                where.append(suppressions.c.address == value)
        elif address is not None:
            where.append(suppressions.c.address.in_(self._spellings(address)))
        if active is not None:
            where.append(_ACTIVE if active else suppressions.c.lifted_at.is_not(None))
        if campaign_id is not None:
            where.append(suppressions.c.campaign_id == campaign_id)
        condition = and_(True, *where)
        async with self.read() as conn:
            total = int(
                await conn.scalar(select(func.count()).select_from(suppressions).where(condition))
                or 0
            )
            rows = (
                await conn.execute(
                    select(suppressions)
                    .where(condition)
                    .order_by(suppressions.c.id.desc())
                    .limit(min(limit, MAX_PAGE))
                    .offset(offset)
                )
            ).mappings()
            return [_row(r) for r in rows], total

    def _spellings(self, address: str) -> list[str]:
        """An address as each channel would store it (for a search without a channel)."""
        found = {address.strip()}
        for channel in KIND_OF_CHANNEL:
            with contextlib.suppress(ValidationError):
                found.add(self.normalised(channel, address))
        return sorted(found)

    async def lift(self, suppression_id: int, *, by: str) -> Suppression:
        """Lift a suppression: campaigns may send to the address again. Lifting one already
        lifted changes nothing."""
        async with self.tx() as work:
            await work.conn.execute(
                update(suppressions)
                .where(and_(suppressions.c.id == suppression_id, _ACTIVE))
                .values(lifted_at=utcnow(), lifted_by=by)
            )
        return await self.get(suppression_id)

    async def suppressed(self, channel: Channel, addresses: Iterable[str]) -> set[str]:
        """Which of these normalised addresses are suppressed on `channel` now (the engine's
        skip check)."""
        wanted = sorted(set(addresses))
        found: set[str] = set()
        async with self.read() as conn:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                rows = await conn.execute(
                    select(suppressions.c.address).where(
                        and_(
                            suppressions.c.channel == channel.value,
                            one_of(conn, suppressions.c.address, chunk),
                            _ACTIVE,
                        )
                    )
                )
                found.update(r[0] for r in rows)
        return found

    async def addresses_of(self, contact_id: int, kind: AddressKind) -> tuple[int, list[str]]:
        """The contact that holds `contact_id`'s identities now (following merges) and its
        addresses of `kind`; `NotFound` when the contact is gone."""
        async with self.read() as conn:
            current = contact_id
            for _ in range(MAX_MERGE_HOPS):
                merged = (
                    await conn.execute(
                        select(contacts.c.id, contacts.c.merged_into_id).where(
                            contacts.c.id == current
                        )
                    )
                ).first()
                if merged is None:
                    raise NotFound(f"contact #{contact_id} does not exist")
                if merged.merged_into_id is None:
                    break
                current = int(merged.merged_into_id)
            rows = await conn.execute(
                select(identities.c.value).where(
                    and_(identities.c.contact_id == current, identities.c.kind == kind.value)
                )
            )
            return current, [r[0] for r in rows]
