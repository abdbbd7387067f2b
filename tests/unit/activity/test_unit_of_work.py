"""What a transaction's reported changes come to when the projections see them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hub.activity.unit_of_work import ChangeLog

AT = datetime(2026, 11, 3, 9, tzinfo=UTC)


def row(aid: int | None, status: str = "sent", **more: Any) -> dict[str, Any]:
    return {
        "id": aid,
        "channel": "sms",
        "direction": "out",
        "status": status,
        "occurred_at": AT,
        "contact_id": 1,
        "is_client": True,
        "meta": {},
        **more,
    }


def test_an_insert_then_updates_is_one_added_row() -> None:
    log = ChangeLog()
    log.activities_changed([], [row(1)])
    log.activities_changed([row(1)], [row(1, "delivered")])
    log.activities_changed([row(1, "delivered")], [row(1, "read")])
    changes = log.changes()
    assert changes.removed == [] and changes.added == [row(1, "read")]


def test_updates_are_the_first_state_out_and_the_last_in() -> None:
    log = ChangeLog()
    log.activities_changed([row(2)], [row(2, "delivered")])
    log.activities_changed([row(2, "delivered")], [row(2, "read")])
    changes = log.changes()
    assert changes.removed == [row(2)] and changes.added == [row(2, "read")]


def test_order_within_a_report_does_not_matter() -> None:
    """A task raised and closed in one batch is reported as: out planned, in planned, in done."""
    log = ChangeLog()
    log.activities_changed([row(3, "planned")], [row(3, "planned"), row(3, "completed")])
    changes = log.changes()
    assert changes.removed == [] and changes.added == [row(3, "completed")]


def test_a_change_of_nothing_projected_is_left_out() -> None:
    log = ChangeLog()
    log.activities_changed([row(4)], [row(4, updated_at=AT, subject="new")])
    naive = row(4, occurred_at=AT.replace(tzinfo=None))  # as some drivers read it back
    log.activities_changed([naive], [row(4)])
    assert not log.changes()


def test_contacts_and_rows_without_id_pass_through() -> None:
    log = ChangeLog()
    log.contacts_changed([7, None, 7, 8])
    log.activities_changed([row(None, "sent")], [row(None, "read")])
    changes = log.changes()
    assert changes.contacts == {7, 8}
    assert changes.removed == [row(None)] and changes.added == [row(None, "read")]
