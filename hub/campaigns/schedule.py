"""When a campaign's recipients become due: now, at a time, or at a local hour in each
recipient's time zone (``custom.timezone``, else the store's)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from hub.model import utc


class ScheduleKind(StrEnum):
    """How a campaign is timed."""

    NOW = "now"
    AT = "at"
    LOCAL_HOUR = "local_hour"


def zone(name: str | None, default: ZoneInfo) -> ZoneInfo:
    """The time zone a contact's ``custom.timezone`` names, or `default` when it names none."""
    if not name:
        return default
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return default


def next_local_hour(now: datetime, hour: int, tz: ZoneInfo) -> datetime:
    """The first moment at or after `now` when the clock in `tz` shows `hour`:00 (UTC)."""
    local = now.astimezone(tz)
    candidate = datetime.combine(local.date(), time(hour), tz)
    if candidate < local:
        candidate = datetime.combine(local.date() + timedelta(days=1), time(hour), tz)
    return utc(candidate)
