"""SMS in the KPI, on the real store: recorded as the senders record them, counted as the
catalogue says (sent, delivered share) and as client touches."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from hub.activity import ActivityStore
from hub.model import Address, AddressKind, Channel, Direction, Status, StatusUpdate, Touch
from kpi.service import KpiService
from kpi.settings import KpiSettings
from kpi.viewer import Viewer

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def sms(n: int, direction: Direction = Direction.OUT, status: Status = Status.QUEUED) -> Touch:
    return Touch(
        source="sms:main",
        external_id=f"sms-{n}",
        channel=Channel.SMS,
        direction=direction,
        status=status,
        occurred_at=datetime(2026, 11, 10, 12, tzinfo=UTC) + timedelta(minutes=n),
        counterparts=(Address(kind=AddressKind.PHONE, value=f"7900123450{n % 3}"),),
        employee=Address(kind=AddressKind.EXTENSION, value="101") if direction is Direction.OUT else None,
        preview=f"text {n}",
    )


async def test_sms_indicators_and_touches_on_the_real_store(tmp_path: Path) -> None:
    store = await ActivityStore.open(f"sqlite:///{tmp_path}/hub.db")
    try:
        anna = await store.employees.add("Anna", addresses=[Address(kind=AddressKind.EXTENSION, value="101")])
        writer = store.writer()
        await writer.start()
        for n in range(7):
            await writer.put(sms(n))
        await writer.flush()
        at = datetime(2026, 11, 10, 13, tzinfo=UTC)
        # 0-4 taken by the gateway; 0-2 then delivered, 3 failed later, 4 still only sent;
        # 5 refused at once; 6 unknown (no answer: stays queued)
        for n in range(5):
            await writer.put(StatusUpdate(source="sms:main", external_id=f"sms-{n}", status=Status.SENT, at=at))
        for n in range(3):
            await writer.put(StatusUpdate(source="sms:main", external_id=f"sms-{n}", status=Status.DELIVERED, at=at))
        await writer.put(StatusUpdate(source="sms:main", external_id="sms-3", status=Status.FAILED, at=at))
        await writer.put(StatusUpdate(source="sms:main", external_id="sms-5", status=Status.FAILED, at=at))
        await writer.put(sms(9, Direction.IN, Status.RECEIVED))  # a reply: a touch, not "sent"
        await writer.stop()

        kpi = KpiService(store.engine, KpiSettings(), clock=lambda: NOW)
        table = await kpi.table(Viewer.admin(), "2026-11", employee=anna)
        facts = {c.indicator: c.fact for c in table.cells}
        assert facts["sms_sent"] == 4  # 0, 1, 2 delivered + 4 sent
        assert facts["sms_delivered_share"] == 50.0  # 3 delivered of 6 taken or failed
        assert await kpi.drill_count(Viewer.admin(), "sms_delivered_share", anna, "2026-11") == 3
        # Client touches: the 4 SMS the gateway took, over 3 clients; failed and queued are not touches.
        assert facts["touches_per_client"] == 4 / 3
    finally:
        await store.close()
