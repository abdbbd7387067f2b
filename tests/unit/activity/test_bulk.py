"""The bulk writer binds the same values SQLAlchemy would."""

from __future__ import annotations


def test_bulk_time_format_is_sqlalchemys() -> None:
    """bulk.executemany must store times exactly as SQLAlchemy does (range queries compare text)."""
    from datetime import UTC, datetime, timedelta, timezone

    from sqlalchemy.dialects import sqlite

    from hub.activity.bulk import _sqlite_utc
    from hub.activity.schema import UTCDateTime

    dialect = sqlite.dialect()
    process = UTCDateTime().dialect_impl(dialect).bind_processor(dialect)
    assert process is not None
    for value in (
        datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        datetime(2026, 1, 2, 3, 4, 5, 7, tzinfo=UTC),
        datetime(2026, 3, 29, 1, 30, tzinfo=timezone(timedelta(hours=3))),
    ):
        assert _sqlite_utc(value) == process(value)
