"""Who is asking: an authenticated caller, its role and, for people, the employee it is."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    """API user roles (the `api_users.role` values)."""

    ADMIN = "admin"
    HEAD = "head"
    EMPLOYEE = "employee"
    MARKETER = "marketer"


#: Every role, as stored and as typed on the command line.
ROLES = tuple(role.value for role in Role)


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller: its role and, for heads and employees, who they are."""

    name: str
    role: str
    employee_id: int | None = None
    user_id: int | None = None

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN


#: The local operator: the command line without `--as`.
ADMIN = Principal(name="cli", role=Role.ADMIN.value)
