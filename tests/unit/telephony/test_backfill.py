"""Closing an AMI outage: held calls completed from the CDR, gap calls added, nothing twice."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from hub.model import Direction, Status
from hub.telephony.backfill import close_gap
from hub.telephony.call_assembler import AssemblerConfig, FinishedCall
from hub.telephony.replay import chunked, replay_sessions
from tests.helpers.ami_server import recordings

T0 = datetime(2026, 12, 6, 10, 0, tzinfo=UTC)
OUTAGE = next(r for r in recordings() if r.is_outage)
CONFIG = AssemblerConfig(internal_pattern=OUTAGE.internal_pattern, trunk_pattern=OUTAGE.trunk_pattern)


def _call(lid: str, start_s: float, end_s: float | None, **over: object) -> FinishedCall:
    base = FinishedCall(
        linkedid=lid,
        direction=Direction.IN,
        status=Status.ANSWERED,
        counterpart="+74951234567",
        employee="101",
        extensions_rung=("101",),
        started_at=T0 + timedelta(seconds=start_s),
        answered_at=T0 + timedelta(seconds=start_s + 3),
        ended_at=None if end_s is None else T0 + timedelta(seconds=end_s),
    )
    return dataclasses.replace(base, **over)  # type: ignore[arg-type]


def test_a_held_call_takes_its_end_from_its_record_and_keeps_its_exact_answer() -> None:
    held = _call("1.1", 0.25, None, reconciled=True, notes=("ended …: end time unknown",))
    record = _call("1.1", 0, 30, answered_at=T0 + timedelta(seconds=3), backfilled=True)
    (call,) = close_gap([held], [record], known=lambda _l: False, since=T0, until=T0 + timedelta(seconds=60))
    assert call.started_at == held.started_at and call.answered_at == held.answered_at
    assert call.ended_at == record.ended_at and call.talk_seconds == 26.8
    assert call.notes == () and call.backfilled and call.reconciled


def test_gap_calls_come_from_records_but_not_those_logged_live_or_outside_the_gap() -> None:
    records = [
        _call("0.9", -100, -50, backfilled=True),  # ended before the gap: logged live
        _call("1.2", 10, 20, backfilled=True),  # entirely in the gap
        _call("1.3", 15, 25, backfilled=True),  # logged live (known)
        _call("1.4", 70, 80, backfilled=True),  # began after the reconnect
    ]
    got = close_gap(
        [], records, known=lambda lid: lid == "1.3", since=T0, until=T0 + timedelta(seconds=60)
    )
    assert [c.linkedid for c in got] == ["1.2"]


def test_a_call_answered_in_the_gap_takes_status_and_employee_from_its_record() -> None:
    held = _call("2.1", 0, None, status=Status.MISSED, employee=None, answered_at=None)
    record = _call("2.1", 0, 40, employee="102", extensions_rung=("101", "102"))
    (call,) = close_gap([held], [record], known=lambda _l: False, since=T0, until=None)
    assert call.status is Status.ANSWERED and call.employee == "102"
    assert call.extensions_rung == ("101", "102") and call.answered_at == record.answered_at


def test_outage_without_records_says_what_it_does_not_know_instead_of_guessing() -> None:
    sessions = [chunked(raw) for raw in OUTAGE.sessions()]
    calls = {c.linkedid: c for c in replay_sessions(sessions, CONFIG)}
    want = {w["external_id"]: w for w in OUTAGE.expected_calls()}
    first, _gap, third = want
    assert _gap not in calls  # entirely in the outage: only a CDR knows it
    lost = calls[first]
    assert lost.status is Status.ANSWERED and lost.employee == "101"
    assert lost.ended_at is None and lost.talk_seconds is None and lost.reconciled
    assert any("end time unknown" in n for n in lost.notes)
    # The call in progress at the reconnect gets its answer time from the PBX's Cdr event.
    running = calls[third]
    assert running.answered_at is not None and not running.notes
    truth = datetime.fromisoformat(str(want[third]["answered_at"]).replace("Z", "+00:00"))
    assert abs((running.answered_at - truth).total_seconds()) <= 1.0


def test_a_call_running_at_reconnect_without_a_cdr_event_has_no_made_up_answer_time() -> None:
    before, after = OUTAGE.sessions()

    cut = b"\r\n\r\n".join(
        f for f in after.split(b"\r\n\r\n") if not f.startswith(b"Event: Cdr")
    )
    calls = {c.linkedid: c for c in replay_sessions([chunked(before), chunked(cut)], CONFIG)}
    third = list(OUTAGE.expected_calls())[2]["external_id"]
    running = calls[str(third)]
    assert running.status is Status.ANSWERED and running.employee == "103"
    assert running.answered_at is None and running.talk_seconds is None
    assert any("answer time unknown" in n for n in running.notes)
    assert running.extensions_rung == ("103",)
