"""What call round tests share: Alice's and Bob's clients with phones, a script, calls."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from itertools import count

from hub.activity import ActivityStore
from hub.campaigns.call_rounds import CallRoundManager, CallRoundSpec
from hub.model import Address, AddressKind, Channel, Direction, Status, Touch
from tests.helpers.web import EXTENSIONS, seed_world

#: Clients: name → (phone, owner).
CLIENTS = {
    "Ivan Petrov": ("+74951230001", "alice"),
    "Olga Ivanova": ("+74951230002", "alice"),
    "Petr Sokolov": ("+74951230003", "bob"),
    "Anna Belova": ("+74951230004", "carol"),
    "Nikolay Orlov": ("+74951230005", None),
}
SCRIPT = "Здравствуйте, {{ contact.name }}! Звоним от {{ company.name }} по поводу заказа."
_ids = count(1)


@dataclass(frozen=True)
class RoundWorld:
    """Employees and tokens of `seed_world`, the clients by name and the script's template."""

    employees: dict[str, int]
    tokens: dict[str, str]
    clients: dict[str, int]
    template_id: int


async def seed_round_world(store: ActivityStore) -> RoundWorld:
    seeded = await seed_world(store)
    clients: dict[str, int] = {}
    for name, (phone, owner) in CLIENTS.items():
        clients[name] = await store.contacts.create(
            name,
            owner_employee_id=seeded.employees[owner] if owner else None,
            addresses=[Address(kind=AddressKind.PHONE, value=phone)],
        )
    # a contact without a phone: in the segment, but there is nothing to dial
    clients["Mute Client"] = await store.contacts.create(
        "Mute Client", addresses=[Address(kind=AddressKind.EMAIL, value="mute@client.test")]
    )
    template = await store.templates.create(name="round script", channel="sms", created_by="t")
    await store.templates.add_version(
        template.id, subject=None, html=None, text=SCRIPT, created_by="t"
    )
    return RoundWorld(
        employees=seeded.employees,
        tokens=seeded.tokens,
        clients=clients,
        template_id=template.id,
    )


async def start_round(
    store: ActivityStore,
    world: RoundWorld,
    *,
    employees: tuple[str, ...] = ("alice", "bob"),
    spread: str = "owner",
    name: str = "Spring round",
    max_attempts: int = 2,
    retry_minutes: int = 60,
) -> int:
    """A round over every contact, started; its campaign id."""
    manager = CallRoundManager(store, tz=store.tz, company="Acme")
    row = await manager.create(
        CallRoundSpec(
            name=name,
            template_id=world.template_id,
            segment={"all": []},
            employees=[world.employees[e] for e in employees],
            spread=spread,
            day_start="00:00",
            day_end="24:00",
            call_minutes=5,
            retry_minutes=retry_minutes,
            max_attempts=max_attempts,
        ),
        created_by="test",
    )
    await manager.start(row.id)
    return row.id


def call(
    employee: str,
    phone: str,
    at: datetime,
    *,
    status: Status = Status.ANSWERED,
    direction: Direction = Direction.OUT,
) -> Touch:
    """A call as the PBX capture logs it (the store's record path)."""
    return Touch(
        source="ami:office",
        external_id=f"round-call-{next(_ids)}",
        channel=Channel.CALL,
        direction=direction,
        status=status,
        occurred_at=at,
        answered_at=at if status is Status.ANSWERED else None,
        counterparts=(Address(kind=AddressKind.PHONE, value=phone),),
        employee=Address(kind=AddressKind.EXTENSION, value=EXTENSIONS[employee]),
        talk_seconds=60.0 if status is Status.ANSWERED else None,
    )
