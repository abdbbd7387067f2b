"""The rules of a campaign's life, the one home the CLI and the API both call.

create (checked: channel, template version, segment, sender, schedule, throttle) →
start (the recipient snapshot; due times from the schedule) → pause / resume / cancel →
finished when nothing is pending, deferred or sending. `resend_unknown` is the
marketer's explicit choice to offer the recipients whose outcome a crash hid again.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from hub.activity import ActivityStore
from hub.activity.repos.base import checked_name
from hub.activity.repos.campaigns import (
    CampaignRow,
    CampaignState,
    NewCampaign,
    RecipientState,
    Snapshot,
)
from hub.campaigns import segment_sql
from hub.campaigns.engine import template_of
from hub.campaigns.schedule import ScheduleKind, next_local_hour, zone
from hub.campaigns.segments import parse
from hub.errors import Conflict, NotFound, UnknownReference, ValidationError
from hub.model import Channel, utc, utcnow
from hub.templates import compile_template

#: Channels a campaign can send on.
CHANNELS = (Channel.EMAIL, Channel.SMS)
#: The fastest throttle accepted (messages per second).
MAX_THROTTLE = 10_000.0


@dataclass(frozen=True, slots=True, kw_only=True)
class CampaignSpec:
    """What a marketer asks for; `sender` is a key of the configured senders (``sales`` or
    ``email:sales``); exactly one of `segment_id` and `segment` (an inline filter)."""

    name: str
    channel: str
    template_id: int
    template_version: int | None = None
    segment_id: int | None = None
    segment: Mapping[str, Any] | None = None
    sender: str
    schedule: str = ScheduleKind.NOW.value
    send_at: datetime | None = None
    local_hour: int | None = None
    throttle_per_s: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Summary:
    """A campaign and its recipients per state (and skips per reason)."""

    campaign: CampaignRow
    counts: Mapping[str, int]
    skipped: Mapping[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def open(self) -> int:
        """Recipients with work left (pending, deferred, sending)."""
        return sum(
            self.counts.get(s.value, 0)
            for s in (RecipientState.PENDING, RecipientState.DEFERRED, RecipientState.SENDING)
        )

    def as_dict(self) -> dict[str, Any]:
        c = self.campaign
        return {
            "id": c.id,
            "name": c.name,
            "channel": c.channel,
            "state": c.state,
            "template_id": c.template_id,
            "template_version": c.template_version,
            "segment_id": c.segment_id,
            "segment": dict(c.segment),
            "sender": c.sender,
            "schedule": c.schedule,
            "send_at": c.send_at,
            "local_hour": c.local_hour,
            "throttle_per_s": c.throttle_per_s,
            "created_by": c.created_by,
            "created_at": c.created_at,
            "started_at": c.started_at,
            "finished_at": c.finished_at,
            "counts": dict(self.counts),
            "skipped": dict(self.skipped),
            "total": self.total,
        }


#: Where the config names each channel's senders.
SENDER_SECTIONS = {"email": "email.accounts", "sms": "sms.gateways"}


def sender_key(channel: str, sender: str, known: Collection[str]) -> str:
    """The full ``{channel}:{key}`` of a sender, which must be configured for `channel`."""
    key = sender if ":" in sender else f"{channel}:{sender}"
    if not key.startswith(f"{channel}:"):
        raise UnknownReference(f"sender {sender!r} is not a {channel} sender", field="sender")
    if key not in known:
        names = ", ".join(sorted(k for k in known if k.startswith(f"{channel}:")))
        if not names:
            raise UnknownReference(
                f"no {channel} sender is configured yet: add [{SENDER_SECTIONS[channel]}.NAME]"
                " to the config",
                field="sender",
            )
        raise UnknownReference(
            f"no {channel} sender {key!r} is configured (configured: {names})", field="sender"
        )
    return key


def _check_schedule(spec: CampaignSpec) -> None:
    try:
        kind = ScheduleKind(spec.schedule)
    except ValueError:
        known = ", ".join(k.value for k in ScheduleKind)
        raise ValidationError(
            f"schedule {spec.schedule!r} is not one of {known}", field="schedule"
        ) from None
    if kind is ScheduleKind.AT and spec.send_at is None:
        raise ValidationError("schedule 'at' needs send_at", field="send_at")
    if kind is ScheduleKind.LOCAL_HOUR and spec.local_hour is None:
        raise ValidationError("schedule 'local_hour' needs local_hour", field="local_hour")
    if kind is not ScheduleKind.AT and spec.send_at is not None:
        raise ValidationError("send_at goes with schedule 'at' only", field="send_at")
    if kind is not ScheduleKind.LOCAL_HOUR and spec.local_hour is not None:
        raise ValidationError("local_hour goes with schedule 'local_hour' only", field="local_hour")
    if spec.local_hour is not None and not 0 <= spec.local_hour <= 23:
        raise ValidationError("local_hour is an hour from 0 to 23", field="local_hour")
    if spec.send_at is not None and spec.send_at.tzinfo is None:
        raise ValidationError("send_at needs a time zone (e.g. Z or +03:00)", field="send_at")


class CampaignManager:
    """Create, start, pause, resume, cancel and report campaigns; `senders` are the keys
    of the configured senders (``email:sales``, ``sms:kannel``)."""

    def __init__(self, store: ActivityStore, *, senders: Collection[str], tz: ZoneInfo) -> None:
        self.store = store
        self.repo = store.campaigns
        self.senders = senders
        self.tz = tz

    async def create(self, spec: CampaignSpec, *, created_by: str) -> CampaignRow:
        """Check every part of `spec` and save a draft; refusals name the field."""
        name = checked_name(spec.name, "campaign")
        if spec.channel not in {c.value for c in CHANNELS}:
            raise ValidationError(
                f"channel {spec.channel!r} cannot carry campaigns (email, sms)", field="channel"
            )
        if (spec.segment_id is None) == (spec.segment is None):
            raise ValidationError("give either segment_id or an inline segment", field="segment")
        if spec.segment is not None:
            definition: Mapping[str, Any] = dict(spec.segment)
            try:
                parse(definition)
            except ValidationError as exc:
                raise ValidationError(str(exc), field=f"segment.{exc.field or ''}".rstrip(".")) from exc
        else:
            assert spec.segment_id is not None
            try:
                definition = (await self.store.segments.get(spec.segment_id)).definition
            except NotFound as exc:
                raise UnknownReference(str(exc), field="segment_id") from exc
        try:
            template = await self.store.templates.get(spec.template_id)
            version = await self.store.templates.version(spec.template_id, spec.template_version)
        except NotFound as exc:
            field = "template_id" if spec.template_version is None else "template_version"
            raise UnknownReference(str(exc), field=field) from exc
        if template.channel != spec.channel:
            raise Conflict(
                f"template {template.id} is a {template.channel} template, not {spec.channel}",
                field="template_id",
            )
        compile_template(template_of(version))  # a broken text is refused now, not mid-send
        sender = sender_key(spec.channel, spec.sender, self.senders)
        _check_schedule(spec)
        if spec.throttle_per_s is not None and not 0 < spec.throttle_per_s <= MAX_THROTTLE:
            raise ValidationError(
                f"throttle is more than 0 and at most {MAX_THROTTLE:g} messages/s",
                field="throttle_per_s",
            )
        return await self.repo.create(
            NewCampaign(
                name=name,
                channel=spec.channel,
                template_id=spec.template_id,
                template_version=version.version,
                segment_id=spec.segment_id,
                segment=definition,
                sender=sender,
                schedule=spec.schedule,
                send_at=utc(spec.send_at) if spec.send_at is not None else None,
                local_hour=spec.local_hour,
                throttle_per_s=spec.throttle_per_s,
                created_by=created_by,
            )
        )

    async def start(self, campaign_id: int) -> Snapshot:
        """Snapshot the recipients of a draft and set it running (a saved segment is read
        as it is now); scheduled campaigns get their recipients' due times."""
        campaign = await self.repo.get(campaign_id)
        if campaign.state != CampaignState.DRAFT.value:
            raise Conflict(
                f"campaign {campaign_id} is {campaign.state}; only a draft can start", field="state"
            )
        if campaign.segment_id is not None:
            saved = await self.store.segments.get(campaign.segment_id)
            campaign = _with_segment(campaign, saved.definition)
        now = utcnow()
        kind = ScheduleKind(campaign.schedule)
        due = campaign.send_at if kind is ScheduleKind.AT and campaign.send_at else now
        members = segment_sql.membership(parse(dict(campaign.segment)), now)
        snapshot = await self.repo.snapshot(
            campaign, members, due_at=due, with_tz=kind is ScheduleKind.LOCAL_HOUR
        )
        if kind is ScheduleKind.LOCAL_HOUR:
            assert campaign.local_hour is not None
            hour = campaign.local_hour
            zones = await self.repo.time_zones(campaign_id)
            await self.repo.set_due(
                campaign_id, {tz: next_local_hour(now, hour, zone(tz, self.tz)) for tz in zones}
            )
        return snapshot

    async def pause(self, campaign_id: int) -> CampaignRow:
        """Stop claiming; messages already offered finish and are recorded."""
        await self._move(campaign_id, CampaignState.PAUSED, (CampaignState.RUNNING,))
        return await self.repo.get(campaign_id)

    async def resume(self, campaign_id: int) -> CampaignRow:
        await self._move(campaign_id, CampaignState.RUNNING, (CampaignState.PAUSED,))
        return await self.repo.get(campaign_id)

    async def cancel(self, campaign_id: int) -> CampaignRow:
        """Nothing more is sent; pending and deferred recipients are skipped ("cancelled")."""
        await self._move(
            campaign_id,
            CampaignState.CANCELLED,
            (CampaignState.DRAFT, CampaignState.RUNNING, CampaignState.PAUSED),
        )
        await self.repo.cancel_open(campaign_id)
        await self.store.call_rounds.cancel_items(campaign_id)  # a call round's open calls
        return await self.repo.get(campaign_id)

    async def resend_unknown(self, campaign_id: int) -> int:
        """Offer the `unknown` recipients again: the marketer accepts that some of them may
        get a second copy. Refused for a cancelled campaign."""
        campaign = await self.repo.get(campaign_id)
        if campaign.state in (CampaignState.CANCELLED.value, CampaignState.DRAFT.value):
            raise Conflict(f"campaign {campaign_id} is {campaign.state}", field="state")
        return await self.repo.resend_unknown(campaign_id)

    async def summary(self, campaign_id: int) -> Summary:
        campaign = await self.repo.get(campaign_id)
        return Summary(
            campaign=campaign,
            counts=await self.repo.counts(campaign_id),
            skipped=await self.repo.skip_reasons(campaign_id),
        )

    async def _move(
        self, campaign_id: int, to: CampaignState, allowed: tuple[CampaignState, ...]
    ) -> None:
        if not await self.repo.move(campaign_id, to, allowed_from=allowed):
            campaign = await self.repo.get(campaign_id)
            froms = " or ".join(s.value for s in allowed)
            raise Conflict(
                f"campaign {campaign_id} is {campaign.state}; it can become {to.value} only "
                f"when {froms}",
                field="state",
            )


def _with_segment(campaign: CampaignRow, definition: Mapping[str, Any]) -> CampaignRow:
    return replace(campaign, segment=dict(definition))
