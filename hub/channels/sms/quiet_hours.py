"""Quiet hours: non-urgent SMS are held while it is night where the recipient is.

`[sms] quiet_hours = "21:00-09:00"` is read in the recipient's time zone: the zone of the
number when the numbering plan gives exactly one (a Moscow landline, a US area code), else
the company's (`[sms] company_timezone`, by default `[kpi] timezone`) — Russian mobile
numbers span eleven zones. A held message is recorded at once (queued, with `not_before`
in its metadata) and sent when the quiet time ends; a message whose metadata says
``urgent`` goes at once. A held message is also pending in the gateway's outbox
(`hub.channels.sms.outbox`): after a restart the process holding the gateway's outbox lease
takes it up and sends it when its hour comes, once.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from phonenumbers import timezone as number_zones

from hub.channels.sms.outbox import Outbox, PendingState
from hub.channels.sms.outgoing import commit_together
from hub.errors import ChannelError, ConfigError
from hub.model import OutgoingMessage, SendOutcome, SendResult, Sink, Touch, utcnow

logger = logging.getLogger(__name__)

#: Metadata key of a message that must not wait (API/CLI `urgent`).
URGENT_KEY = "urgent"
#: Metadata key of the moment a held message may go.
NOT_BEFORE_KEY = "not_before"
_SPEC = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
#: Region assumed for numbers written without a country code.
DEFAULT_REGION = "RU"


def parse_window(spec: str) -> tuple[time, time]:
    """"21:00-09:00" → (21:00, 09:00); a window may cross midnight, but not be empty."""
    match = _SPEC.match(spec)
    if match is None:
        raise ValueError(f"quiet_hours must look like 21:00-09:00, not {spec!r}")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    try:
        start, end = time(h1, m1), time(h2, m2)
    except ValueError as exc:
        raise ValueError(f"quiet_hours {spec!r}: {exc}") from exc
    if start == end:
        raise ValueError(f"quiet_hours {spec!r} is empty")
    return start, end


@dataclass(frozen=True, slots=True, kw_only=True)
class QuietHours:
    """The quiet window and the zone to read it in when the number does not say."""

    start: time
    end: time
    company_zone: ZoneInfo

    @classmethod
    def parse(cls, spec: str, company_timezone: str) -> QuietHours:
        start, end = parse_window(spec)
        try:
            zone = ZoneInfo(company_timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ConfigError(f"unknown time zone {company_timezone!r}") from exc
        return cls(start=start, end=end, company_zone=zone)

    def zone_of(self, number: str) -> ZoneInfo:
        """The recipient's zone: the number's when it has exactly one, else the company's."""
        digits = "".join(c for c in number if c.isdigit())
        # 79001234567 is international without its "+"; 89001234567 and short forms are national
        written = "+" + digits if len(digits) >= 11 and not digits.startswith("8") else number
        try:
            parsed = phonenumbers.parse(written, DEFAULT_REGION)
        except phonenumbers.NumberParseException:
            return self.company_zone
        zones = [z for z in number_zones.time_zones_for_number(parsed) if z != "Etc/Unknown"]
        if len(zones) != 1:
            return self.company_zone
        try:
            return ZoneInfo(zones[0])
        except ZoneInfoNotFoundError:
            return self.company_zone

    def quiet_until(self, number: str, now: datetime) -> datetime | None:
        """When the quiet time at `number` ends (UTC), or None when it is not quiet there now."""
        zone = self.zone_of(number)
        local = now.astimezone(zone)
        t = local.time()
        if self.start < self.end:
            quiet = self.start <= t < self.end
        else:
            quiet = t >= self.start or t < self.end
        if not quiet:
            return None
        day = local.date() if t < self.end else local.date() + timedelta(days=1)
        return datetime.combine(day, self.end, tzinfo=zone).astimezone(UTC)


Send = Callable[[OutgoingMessage], Awaitable[SendResult]]


def held_until_of(result: SendResult) -> str | None:
    """When a held message goes (ISO, UTC), or None when `result` is not a hold."""
    if result.outcome is not SendOutcome.TEMPORARY_FAILURE or result.touch is None:
        return None
    value = result.touch.metadata.get(NOT_BEFORE_KEY)
    return str(value) if value else None


class Holder:
    """Holds a sender's non-urgent messages through quiet hours and sends them after.

    A held message is pending in the gateway's outbox (`held`, with when it may go),
    committed with its touch: after a restart the gateway's outbox adapter finds it and
    hands it back (`resume`). Each message waits once in a process; when its time comes it
    goes only if its entry is still held by this process (another process that took it
    over sends it instead) — sent exactly once.
    """

    def __init__(
        self,
        quiet: QuietHours,
        *,
        clock: Callable[[], datetime] = utcnow,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.quiet = quiet
        self.clock = clock
        self.sleep = sleep
        self._waiting: dict[str, asyncio.Task[None]] = {}

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    def until(self, message: OutgoingMessage) -> datetime | None:
        """When `message` may go, if not now (urgent and already-held messages go now)."""
        if message.metadata.get(URGENT_KEY) or NOT_BEFORE_KEY in message.metadata:
            return None
        return self.quiet.quiet_until(message.to[0].value, self.clock())

    async def hold(
        self, message: OutgoingMessage, touch: Touch, sink: Sink | None, send: Send, outbox: Outbox
    ) -> SendResult | None:
        """Record and hold `message` if it must wait; None when it may go now."""
        until = self.until(message)
        if until is None:
            return None
        stamp = until.isoformat()
        held = replace(touch, metadata={**touch.metadata, NOT_BEFORE_KEY: stamp})
        later = replace(
            message, message_id=touch.external_id, metadata={**message.metadata, NOT_BEFORE_KEY: stamp}
        )
        if sink is not None:
            await sink.put(held)
            await outbox.hold(later, touch.external_id, until)
            await commit_together(sink)
        self.resume(later, until, send, outbox)
        reason = f"held for quiet hours until {stamp}"
        return SendResult(
            outcome=SendOutcome.TEMPORARY_FAILURE, external_id=touch.external_id, reason=reason, touch=held
        )

    def resume(self, message: OutgoingMessage, until: datetime, send: Send, outbox: Outbox) -> bool:
        """Wait for `until`, then send `message` (held already); False if it waits here already."""
        key = message.message_id or ""
        if key in self._waiting:
            return False
        task = asyncio.create_task(self._release(message, until, send, outbox), name=f"sms:held:{key}")
        self._waiting[key] = task
        task.add_done_callback(lambda _t: self._waiting.pop(key, None))
        return True

    async def _release(self, message: OutgoingMessage, until: datetime, send: Send, outbox: Outbox) -> None:
        await self.sleep(max(0.0, (until - self.clock()).total_seconds()))
        message_id = message.message_id or ""
        if outbox.sink is not None:
            entry = await outbox.get(message_id)
            if entry is None or entry.state is not PendingState.HELD or entry.owner != outbox.owner:
                logger.info("held SMS %s is not this process's to send any more", message_id)
                return
        try:
            await send(message)
        except ChannelError as exc:
            logger.warning("held SMS %s not sent after quiet hours: %s", message_id, exc)

    async def close(self) -> None:
        """Stop waiting (the held messages stay pending, for the next process to send)."""
        tasks = list(self._waiting.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
