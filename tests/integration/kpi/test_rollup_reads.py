"""Facts read from the roll-ups at the edges the property test rarely reaches."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from kpi.service import KpiService
from kpi.settings import KpiSettings
from kpi.viewer import Viewer
from tests.integration.kpi.world import World, msk

ADMIN = Viewer.admin()


async def test_forgotten_window_inside_one_month_with_touches_around_it(
    world: World, engine: AsyncEngine
) -> None:
    """Window [Oct 11, Oct 21) inside October: touched on the 5th and 25th only is
    forgotten although the month's first/last touches straddle the window."""
    anna = await world.employee("Anna")
    around = await world.contact("Around", owner=anna)
    inside = await world.contact("Inside", owner=anna)
    for contact, day in ((around, 5), (around, 25), (inside, 5), (inside, 15), (inside, 25)):
        await world.activity(
            channel="call",
            direction="out",
            status="answered",
            occurred_at=msk(2026, 10, day, 12),
            employee_id=anna,
            contact_id=contact,
        )
    service = KpiService(
        engine,
        KpiSettings(forgotten_after_days=10),
        clock=lambda: datetime(2026, 12, 1, tzinfo=UTC),
    )
    table = await service.table(ADMIN, "2026-10-20", indicators=["forgotten_clients"])
    assert table.cell(anna, "forgotten_clients").fact == 1
    page = await service.drill(ADMIN, "forgotten_clients", anna, "2026-10-20")
    assert [item["id"] for item in page.items] == [around]


async def test_missed_call_called_back_by_a_later_answered_call(
    world: World, engine: AsyncEngine
) -> None:
    anna = await world.employee("Anna")
    client = await world.contact("Client", owner=anna)
    missed = dict(
        channel="call", direction="in", status="missed", employee_id=anna, contact_id=client
    )
    first = await world.activity(**missed, occurred_at=msk(2026, 10, 5, 10))
    await world.activity(**missed, occurred_at=msk(2026, 10, 7, 10))
    service = KpiService(engine, clock=lambda: datetime(2026, 12, 1, tzinfo=UTC))

    async def open_calls() -> list[int]:
        page = await service.drill(ADMIN, "missed_not_called_back", anna, "2026-10")
        fact = (await service.table(ADMIN, "2026-10", indicators=["missed_not_called_back"])).cell(
            anna, "missed_not_called_back"
        )
        assert fact.records == page.total
        return [item["id"] for item in page.items]

    assert len(await open_calls()) == 2
    answered = await world.activity(
        channel="call",
        direction="out",
        status="answered",
        occurred_at=msk(2026, 10, 6, 10),
        employee_id=anna,
        contact_id=client,
    )
    assert first not in await open_calls()  # called back on the 6th; the 7th is still open
    assert len(await open_calls()) == 1
    await world.change(answered, status="no_answer")  # it was not answered after all
    assert len(await open_calls()) == 2
