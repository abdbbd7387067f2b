"""E2E fixtures: the real app on loopback over a seeded store, and one headless Chromium.

The world: ``boss`` over ``head`` over ``alice`` and ``bob``; ``carol`` alone (as in
`tests.helpers.web`). Touches fall in the current month and the previous one, so
arrows have something to compare with; plans make every colour appear:

* head: outbound calls 3/3 (green, better than last month), meetings 0/4 (red);
* alice: outbound calls 6/10 (yellow), outgoing letters 1/1 (green);
* bob: outbound calls 2/10 (red).

Alice's client Ivan Petrov has calls, a letter, an SMS and a messenger message this
month and 18 older calls, so his timeline needs "load more".
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import count
from zoneinfo import ZoneInfo

import pytest
from selenium import webdriver

from hub.activity import ActivityStore
from hub.config import Settings, WebSettings
from hub.model import Address, AddressKind, Channel, Direction, Status, Touch, utcnow
from kpi.periods import Period, PeriodKind, local_day, local_midnight
from kpi.service import KpiService
from kpi.settings import KpiSettings
from kpi.viewer import Viewer
from tests.helpers.browser import LiveApp, chromium
from tests.helpers.web import EXTENSIONS, seed_world

IVAN_PHONE = "+74951230001"
IVAN_EMAIL = "ivan.petrov@example.com"
IVAN_TELEGRAM = "ivanpetrov"
#: Plans of the current month: (indicator, employee, value).
PLANS = (
    ("outbound_calls", "alice", 10),
    ("outbound_calls", "bob", 10),
    ("outbound_calls", "head", 3),
    ("outbound_calls", "carol", 5),
    ("meetings_held", "head", 4),
    ("outgoing_letters", "alice", 1),
)
#: Outbound client calls per employee: (this month, last month).
OUTBOUND = {"alice": (6, 3), "bob": (2, 4), "head": (3, 1), "carol": (5, 0)}
OLDER_IVAN_CALLS = 18


@dataclass(frozen=True)
class E2EWorld:
    """What the seeded store holds, for the tests to check the pages against."""

    employees: dict[str, int]
    tokens: dict[str, str]
    month: str
    previous: str
    ivan: int
    ivan_touches: int


class Seeder:
    """Writes touches through the store's real write path, each with a fresh external id."""

    def __init__(self, store: ActivityStore) -> None:
        self.store = store
        self.ids = count(1)

    async def touch(
        self,
        employee: str,
        at: datetime,
        *,
        channel: Channel = Channel.CALL,
        direction: Direction = Direction.OUT,
        status: Status = Status.ANSWERED,
        counterpart: Address,
        subject: str | None = None,
        talk_s: float | None = None,
    ) -> None:
        # A messenger message comes from a Telegram account, as a real one does (its
        # dialog then names the platform and the account, not a channel code).
        source = "telegram:e2e" if channel is Channel.MESSENGER else f"e2e:{channel.value}"
        await self.store.record(
            [
                Touch(
                    source=source,
                    external_id=f"e2e-{next(self.ids)}",
                    channel=channel,
                    direction=direction,
                    status=status,
                    occurred_at=at,
                    counterparts=(counterpart,),
                    employee=Address(kind=AddressKind.EXTENSION, value=EXTENSIONS[employee]),
                    subject=subject,
                    talk_seconds=talk_s,
                )
            ]
        )


async def seed(store: ActivityStore) -> E2EWorld:
    """People, tokens, Ivan, touches in this month and the last, and plans."""
    seeded = await seed_world(store)
    people = seeded.employees
    service = KpiService(store)
    month = service.current_month()
    previous = month.previous()
    start = local_midnight(month.start, service.tz)
    # Spread this month's touches between its first minute and a few minutes ago.
    span = max(utcnow() - start - timedelta(minutes=5), timedelta(minutes=30))

    def this_month(i: int, of: int) -> datetime:
        return start + span * (i + 1) / (of + 2)

    def last_month(i: int) -> datetime:
        return local_midnight(previous.start, service.tz) + timedelta(days=2, hours=i)

    ivan = await store.contacts.create(
        "Ivan Petrov",
        addresses=(
            Address(kind=AddressKind.PHONE, value=IVAN_PHONE),
            Address(kind=AddressKind.EMAIL, value=IVAN_EMAIL),
            Address(kind=AddressKind.TELEGRAM, value=IVAN_TELEGRAM),
        ),
        organization="Acme LLC",
        city="Moscow",
        owner_employee_id=people["alice"],
    )
    phone_of = {"alice": IVAN_PHONE}
    seeder = Seeder(store)
    ivan_touches = 0
    for name, (now_n, before_n) in OUTBOUND.items():
        for i in range(now_n):
            to_ivan = name == "alice" and i % 2 == 0
            number = phone_of[name] if to_ivan else f"+7495{EXTENSIONS[name]}{i:04d}"
            ivan_touches += to_ivan
            await seeder.touch(
                name,
                this_month(i, now_n),
                counterpart=Address(kind=AddressKind.PHONE, value=number),
                talk_s=60.0 + i,
            )
        for i in range(before_n):
            await seeder.touch(
                name,
                last_month(i),
                counterpart=Address(
                    kind=AddressKind.PHONE, value=f"+7496{EXTENSIONS[name]}{i:04d}"
                ),
            )
    others = [
        (Channel.EMAIL, Status.SENT, Address(kind=AddressKind.EMAIL, value=IVAN_EMAIL), "Offer"),
        (Channel.SMS, Status.SENT, Address(kind=AddressKind.PHONE, value=IVAN_PHONE), None),
        (
            Channel.MESSENGER,
            Status.SENT,
            Address(kind=AddressKind.TELEGRAM, value=IVAN_TELEGRAM),
            None,
        ),
    ]
    for i, (channel, status, address, subject) in enumerate(others):
        await seeder.touch(
            "alice",
            this_month(i, len(others)) + timedelta(minutes=1),
            channel=channel,
            status=status,
            counterpart=address,
            subject=subject,
        )
        ivan_touches += 1
    for i in range(OLDER_IVAN_CALLS):
        await seeder.touch(
            "alice",
            last_month(i) + timedelta(minutes=30),
            direction=Direction.IN,
            counterpart=Address(kind=AddressKind.PHONE, value=IVAN_PHONE),
        )
        ivan_touches += 1
    for indicator, name, value in PLANS:
        await service.set_plan(
            Viewer.admin(), indicator, month.key, value, employees=[people[name]]
        )
    return E2EWorld(
        employees=people,
        tokens=seeded.tokens,
        month=month.key,
        previous=previous.key,
        ivan=ivan,
        ivan_touches=ivan_touches,
    )


def whole_month_calendar() -> Settings:
    """Settings whose company calendar has no working day left in this month after today
    (and no weekends), so the running month is judged against its whole plans whatever
    day the tests run: the colours above hold on the 1st as on the 30th."""
    kpi = KpiSettings()
    month = Period.current(PeriodKind.MONTH, utcnow(), ZoneInfo(kpi.timezone))
    today = local_day(utcnow(), ZoneInfo(kpi.timezone))
    rest = [d.isoformat() for d in month.days() if d > today]
    return Settings(kpi=KpiSettings(weekends=[], holidays=rest))


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveApp, E2EWorld]]:
    """The app serving a freshly seeded store file on a free loopback port, in English
    (the tests read English words; the Russian pages have tests of their own)."""
    settings = whole_month_calendar().model_copy(update={"web": WebSettings(locale="en")})
    app = LiveApp(tmp_path_factory.mktemp("e2e") / "touchhub.db", settings)
    world = app.start(seed)
    try:
        yield app, world
    finally:
        app.stop()


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[webdriver.Chrome]:
    """One headless Chromium with a fresh profile for the module."""
    with chromium(tmp_path_factory.mktemp("chrome-profile")) as driver:
        yield driver
