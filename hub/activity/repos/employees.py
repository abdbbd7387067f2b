"""Employees, their addresses (extensions, mailboxes, bot accounts) and the hierarchy."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import and_, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.activity.addresses import normalize
from hub.activity.principal import Principal
from hub.activity.repos.base import Repo, jsonable
from hub.activity.schema import employee_addresses, employees
from hub.activity.visibility import Hierarchy
from hub.errors import Conflict, NotFound, ValidationError
from hub.model import Address, AddressKind, utcnow
from hub.text import ascii_int

#: Longest employee name or position (the columns' size).
MAX_EMPLOYEE_TEXT = 200


async def hierarchy_of(conn: AsyncConnection) -> Hierarchy:
    """Every employee (by id) and their head, read on `conn`."""
    pairs = (
        await conn.execute(select(employees.c.id, employees.c.head_id).order_by(employees.c.id))
    ).all()
    return Hierarchy((int(eid), head) for eid, head in pairs)


class EmployeeRepo(Repo):
    """Employees, their addresses (extensions, mailboxes, bot accounts) and the hierarchy."""

    async def add(
        self,
        name: str,
        *,
        position: str | None = None,
        head_id: int | None = None,
        addresses: Sequence[Address] = (),
        active: bool = True,
    ) -> int:
        """Add an employee; an address already taken is a `ValidationError` naming it."""
        if not name.strip():
            raise ValidationError("employee name is empty", field="name")
        for what, text in (("name", name.strip()), ("position", position or "")):
            if len(text) > MAX_EMPLOYEE_TEXT:
                raise ValidationError(
                    f"employee {what} is longer than {MAX_EMPLOYEE_TEXT} characters", field=what
                )
        async with self.tx() as work:
            conn = work.conn
            if head_id is not None:
                await self._must_exist(conn, head_id)
            employee_id = int(
                (
                    await conn.execute(
                        insert(employees).returning(employees.c.id),
                        {
                            "name": name.strip(),
                            "position": position,
                            "head_id": head_id,
                            "active": active,
                            "created_at": utcnow(),
                        },
                    )
                ).scalar_one()
            )
            await self._add_addresses(conn, employee_id, addresses)
        return employee_id

    async def add_addresses(self, employee_id: int, addresses: Sequence[Address]) -> None:
        async with self.tx() as work:
            conn = work.conn
            await self._must_exist(conn, employee_id)
            await self._add_addresses(conn, employee_id, addresses)

    async def _add_addresses(
        self, conn: AsyncConnection, employee_id: int, addresses: Sequence[Address]
    ) -> None:
        for address in addresses:
            value = normalize(address.kind, address.value, self.options.region)
            taken = await conn.scalar(
                select(employee_addresses.c.employee_id).where(
                    and_(
                        employee_addresses.c.kind == address.kind.value,
                        employee_addresses.c.value == value,
                    )
                )
            )
            if taken is not None and taken != employee_id:
                raise Conflict(
                    f"{address.kind.value} {value} already belongs to employee #{taken}",
                    field=address.kind.value,
                    details={
                        "owner_employee_id": taken,
                        "kind": address.kind.value,
                        "value": value,
                    },
                )
            if taken is None:
                await conn.execute(
                    insert(employee_addresses),
                    {"employee_id": employee_id, "kind": address.kind.value, "value": value},
                )

    async def _must_exist(self, conn: AsyncConnection, employee_id: int) -> None:
        if await conn.scalar(select(employees.c.id).where(employees.c.id == employee_id)) is None:
            raise NotFound(f"employee #{employee_id} does not exist")

    async def list(self, *, ids: Iterable[int] | None = None) -> list[dict[str, Any]]:
        """Employees with their addresses, optionally only `ids`."""
        async with self.read() as conn:
            stmt = select(employees).order_by(employees.c.id)
            if ids is not None:
                stmt = stmt.where(employees.c.id.in_(list(ids)))
            rows = [dict(r) for r in (await conn.execute(stmt)).mappings()]
            addr = (await conn.execute(select(employee_addresses))).mappings().all()
        by_emp: dict[int, list[dict[str, str]]] = {}
        for a in addr:
            by_emp.setdefault(a["employee_id"], []).append({"kind": a["kind"], "value": a["value"]})
        for row in rows:
            row["addresses"] = by_emp.get(row["id"], [])
        return [jsonable(r) for r in rows]

    async def get(self, employee_id: int) -> dict[str, Any]:
        found = await self.list(ids=[employee_id])
        if not found:
            raise NotFound(f"employee #{employee_id} does not exist")
        return found[0]

    async def resolve(self, ref: str) -> int:
        """Find an employee by id, extension, e-mail address or exact name."""
        ref = ref.strip()
        async with self.read() as conn:
            as_id = ascii_int(ref, minimum=1)
            if as_id is not None:
                found = await conn.scalar(select(employees.c.id).where(employees.c.id == as_id))
                if found is not None:
                    return int(found)
            for kind in (AddressKind.EXTENSION, AddressKind.EMAIL):
                found = await conn.scalar(
                    select(employee_addresses.c.employee_id).where(
                        and_(
                            employee_addresses.c.kind == kind.value,
                            employee_addresses.c.value == ref.casefold()
                            if kind is AddressKind.EMAIL
                            else employee_addresses.c.value == ref,
                        )
                    )
                )
                if found is not None:
                    return int(found)
            names = (
                (await conn.execute(select(employees.c.id).where(employees.c.name == ref)))
                .scalars()
                .all()
            )
        if len(names) == 1:
            return int(names[0])
        if len(names) > 1:
            raise ValidationError(
                f"several employees are called {ref!r}; use the id", field="employee"
            )
        raise NotFound(f"no employee matches {ref!r} (id, extension, e-mail or exact name)")

    async def hierarchy(self) -> Hierarchy:
        """Every employee and their head, for visibility questions."""
        async with self.read() as conn:
            return await hierarchy_of(conn)

    async def subtree(self, employee_id: int) -> set[int]:
        """The employee and everyone below them in the hierarchy."""
        return set((await self.hierarchy()).subtree(employee_id))

    async def visible_to(self, who: Principal) -> set[int] | None:
        """Employee ids whose activities `who` may see; None means all."""
        found = (await self.hierarchy()).visible(who.role, who.employee_id)
        return None if found is None else set(found)
