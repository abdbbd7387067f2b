"""The local-hour schedule: the next time each recipient's clock shows the hour."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from hub.campaigns.schedule import next_local_hour, zone

MSK = ZoneInfo("Europe/Moscow")


@pytest.mark.parametrize(
    ("now", "hour", "tz", "expected"),
    [
        # 08:00 UTC is 11:00 in Moscow: 10:00 has passed, tomorrow's 10:00 is 07:00 UTC
        (datetime(2026, 12, 6, 8, 0, tzinfo=UTC), 10, "Europe/Moscow", datetime(2026, 12, 7, 7, 0, tzinfo=UTC)),
        (datetime(2026, 12, 6, 8, 0, tzinfo=UTC), 12, "Europe/Moscow", datetime(2026, 12, 6, 9, 0, tzinfo=UTC)),
        # Vladivostok is UTC+10: 10:00 there is 00:00 UTC
        (datetime(2026, 12, 6, 8, 0, tzinfo=UTC), 10, "Asia/Vladivostok", datetime(2026, 12, 7, 0, 0, tzinfo=UTC)),
        # exactly on the hour: now
        (datetime(2026, 12, 6, 7, 0, tzinfo=UTC), 10, "Europe/Moscow", datetime(2026, 12, 6, 7, 0, tzinfo=UTC)),
        # New York on the day summer time ends (01:00 happens twice; 09:00 is UTC-5)
        (datetime(2026, 11, 1, 12, 0, tzinfo=UTC), 9, "America/New_York", datetime(2026, 11, 1, 14, 0, tzinfo=UTC)),
    ],
)
def test_next_local_hour(now: datetime, hour: int, tz: str, expected: datetime) -> None:
    assert next_local_hour(now, hour, ZoneInfo(tz)) == expected


@pytest.mark.parametrize("name", [None, "", "Mars/Olympus", "../../etc/passwd", "Europe/Moscow "])
def test_a_zone_that_names_nothing_falls_back(name: str | None) -> None:
    got = zone(name, MSK)
    assert got == MSK


def test_a_named_zone_is_used() -> None:
    assert zone("Asia/Vladivostok", MSK) == ZoneInfo("Asia/Vladivostok")
