"""API test world: a store with a small hierarchy, the app on loopback, a token per role.

Use it from a fixture::

    async with api_world(store) as api:
        resp = await api.get("/api/v1/contacts", who="marketer")

Seeding costs a few hundred milliseconds per test, so fixtures build one seeded
template file per session (`build_template`) and copy it (`copy_store_file`).

People: ``boss`` (no head) over ``head`` over ``alice`` and ``bob``; ``carol`` stands
alone. Tokens: ``admin`` (no employee), ``head``, ``alice``, ``bob``, ``carol``
(employees) and ``marketer``.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import count
from pathlib import Path
from typing import Any

from aiohttp import ClientResponse, web
from aiohttp.test_utils import TestClient, TestServer

from hub.activity import ActivityStore
from hub.config import Settings
from hub.model import Address, AddressKind, Channel, Direction, Sender, Status, Touch
from hub.web.app import create_app
from hub.web.keys import HealthProbe

#: Extensions of the people in the world, by name.
EXTENSIONS = {"boss": "100", "head": "101", "alice": "102", "bob": "103", "carol": "104"}
#: Token holders and (role, employee) they are made with.
TOKEN_HOLDERS = {
    "admin": ("admin", None),
    "head": ("head", "head"),
    "alice": ("employee", "alice"),
    "bob": ("employee", "bob"),
    "carol": ("employee", "carol"),
    "marketer": ("marketer", None),
}
T0 = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
_external_ids = count(1)


@dataclass
class ApiWorld:
    """The running app and what tests need to talk to it."""

    store: ActivityStore
    app: web.Application
    client: TestClient[web.Request, web.Application]
    employees: dict[str, int]
    tokens: dict[str, str]
    touches: list[Touch] = field(default_factory=list)

    def headers(self, who: str | None) -> dict[str, str]:
        """Authorization header of a token holder (None: no header)."""
        return {} if who is None else {"Authorization": f"Bearer {self.tokens[who]}"}

    async def call(
        self,
        method: str,
        path: str,
        *,
        who: str | None = "admin",
        json: Any = None,
        data: bytes | str | None = None,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> ClientResponse:
        """One request as `who`; `json` is sent as JSON, `data` as raw bytes."""
        # English answers, which the tests read, unless a test asks for another language.
        all_headers = {"Accept-Language": "en", **self.headers(who), **(headers or {})}
        if data is not None and not any(k.lower() == "content-type" for k in all_headers):
            all_headers["Content-Type"] = "application/json"  # raw bytes stand for a JSON body
        return await self.client.request(
            method, path, json=json, data=data, params=params, headers=all_headers
        )

    async def get(self, path: str, **kwargs: Any) -> ClientResponse:
        return await self.call("GET", path, **kwargs)

    async def post(self, path: str, **kwargs: Any) -> ClientResponse:
        return await self.call("POST", path, **kwargs)

    async def patch(self, path: str, **kwargs: Any) -> ClientResponse:
        return await self.call("PATCH", path, **kwargs)

    async def record(
        self,
        *,
        employee: str | None,
        channel: Channel = Channel.CALL,
        counterpart: Address | None = None,
        at: datetime = T0,
        direction: Direction = Direction.IN,
        status: Status = Status.ANSWERED,
    ) -> Touch:
        """Record one touch through the store's real write path (identity resolution included)."""
        touch = Touch(
            source=f"test:{channel.value}",
            external_id=f"t{next(_external_ids)}",
            channel=channel,
            direction=direction,
            status=status,
            occurred_at=at,
            counterparts=(counterpart,) if counterpart else (),
            employee=(
                Address(kind=AddressKind.EXTENSION, value=EXTENSIONS[employee])
                if employee
                else None
            ),
        )
        await self.store.record([touch])
        self.touches.append(touch)
        return touch


async def seed_people(store: ActivityStore) -> dict[str, int]:
    """The hierarchy every API test starts from."""
    ext = {name: (Address(kind=AddressKind.EXTENSION, value=v),) for name, v in EXTENSIONS.items()}
    ids = {"boss": await store.employees.add("Boris Boss", addresses=ext["boss"])}
    ids["head"] = await store.employees.add(
        "Helen Head", head_id=ids["boss"], addresses=ext["head"]
    )
    for name in ("alice", "bob"):
        ids[name] = await store.employees.add(
            name.title(), head_id=ids["head"], addresses=ext[name]
        )
    ids["carol"] = await store.employees.add("Carol", addresses=ext["carol"])
    return ids


async def issue_tokens(store: ActivityStore, employees: Mapping[str, int]) -> dict[str, str]:
    """One bearer token per holder in `TOKEN_HOLDERS`."""
    tokens = {}
    for holder, (role, person) in TOKEN_HOLDERS.items():
        employee_id = employees[person] if person else None
        tokens[holder] = await store.tokens.create(holder, role, employee_id=employee_id)
    return tokens


@dataclass(frozen=True)
class Seeded:
    """What seeding a store made: employee ids and plaintext tokens by name."""

    employees: dict[str, int]
    tokens: dict[str, str]


async def seed_world(store: ActivityStore) -> Seeded:
    """People and tokens every API test starts from."""
    employees = await seed_people(store)
    return Seeded(employees=employees, tokens=await issue_tokens(store, employees))


def build_template(path: Path) -> Seeded:
    """A migrated, seeded SQLite file to copy for each test (runs its own event loop)."""

    async def build() -> Seeded:
        store = await ActivityStore.open(f"sqlite:///{path}")
        try:
            return await seed_world(store)
        finally:
            await store.close()

    return asyncio.run(build())


def copy_store_file(template: Path, target: Path) -> None:
    """Copy a closed SQLite store file (with its WAL, should one be left)."""
    for suffix in ("", "-wal"):
        source = template.with_name(template.name + suffix)
        if source.exists():
            shutil.copyfile(source, target.with_name(target.name + suffix))


@asynccontextmanager
async def api_world(
    store: ActivityStore,
    *,
    seeded: Seeded | None = None,
    settings: Settings | None = None,
    health: HealthProbe | None = None,
    extra_routes: Iterable[web.RouteTableDef | web.AbstractRouteDef] = (),
    senders: Mapping[str, Sender] | None = None,
) -> AsyncIterator[ApiWorld]:
    """The app over `store` (which the caller opens and closes) on a loopback server.

    Pass `seeded` when the store is a copy of a template; otherwise it is seeded here.
    """
    if seeded is None:
        seeded = await seed_world(store)
    employees, tokens = dict(seeded.employees), dict(seeded.tokens)
    app = create_app(
        store, settings or Settings(), health=health, extra_routes=extra_routes, senders=senders
    )
    async with TestClient(TestServer(app)) as client:
        yield ApiWorld(store=store, app=app, client=client, employees=employees, tokens=tokens)


def phone(number: str) -> Address:
    """A client's phone as an adapter would report it."""
    return Address(kind=AddressKind.PHONE, value=number)


def email(value: str) -> Address:
    """A client's e-mail as an adapter would report it."""
    return Address(kind=AddressKind.EMAIL, value=value)


def hours(n: float) -> timedelta:
    return timedelta(hours=n)
