"""Quiet hours: read in the recipient's zone (the number's when it has one), across midnight."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from hub.channels.sms.quiet_hours import QuietHours, parse_window

Q = QuietHours.parse("21:00-09:00", "Europe/Moscow")


@pytest.mark.parametrize(
    ("number", "utc", "until"),
    [
        ("+74951234567", datetime(2026, 12, 6, 17, 59, tzinfo=UTC), None),  # 20:59 in Moscow
        ("+74951234567", datetime(2026, 12, 6, 18, 0, tzinfo=UTC), datetime(2026, 12, 7, 6, tzinfo=UTC)),
        ("+74951234567", datetime(2026, 12, 7, 5, 59, tzinfo=UTC), datetime(2026, 12, 7, 6, tzinfo=UTC)),
        ("+74951234567", datetime(2026, 12, 7, 6, 0, tzinfo=UTC), None),
        # Novosibirsk is UTC+7: 09:00 there is 02:00 UTC
        ("+73832123456", datetime(2026, 12, 6, 20, 0, tzinfo=UTC), datetime(2026, 12, 7, 2, tzinfo=UTC)),
        # a Russian mobile number spans many zones: the company's (Moscow) is used
        ("79001234567", datetime(2026, 12, 6, 20, 0, tzinfo=UTC), datetime(2026, 12, 7, 6, tzinfo=UTC)),
        ("+14155550100", datetime(2026, 12, 6, 20, 0, tzinfo=UTC), None),  # noon in California
    ],
)
def test_quiet_until(number: str, utc: datetime, until: datetime | None) -> None:
    assert Q.quiet_until(number, utc) == until


def test_a_daytime_window_and_bad_specs() -> None:
    day = QuietHours.parse("13:00-14:00", "UTC")
    assert day.quiet_until("+442071234567", datetime(2026, 12, 6, 13, 30, tzinfo=UTC)) == datetime(
        2026, 12, 6, 14, tzinfo=UTC
    )
    assert day.quiet_until("+442071234567", datetime(2026, 12, 6, 14, 30, tzinfo=UTC)) is None
    for spec in ("21-9", "25:00-09:00", "09:00-09:00"):
        with pytest.raises(ValueError, match="quiet_hours"):
            parse_window(spec)
