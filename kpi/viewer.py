"""Who is looking: visibility follows the position hierarchy in CLI, API and UI alike.

An employee sees their own numbers, a head their whole subtree, an admin everyone.
Plans may be set only by an admin or by a head for someone strictly below them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from hub.errors import PermissionDenied, ValidationError
from kpi.queries import EmployeeRow


class Role(StrEnum):
    """API user roles (the `api_users.role` values)."""

    ADMIN = "admin"
    HEAD = "head"
    EMPLOYEE = "employee"
    MARKETER = "marketer"


@dataclass(frozen=True, slots=True)
class Viewer:
    """The person asking: a role and, except for a pure admin, their employee id."""

    role: Role
    employee_id: int | None = None

    @classmethod
    def of(cls, role: str, employee_id: int | None = None) -> Viewer:
        """Build from stored strings, refusing an unknown role."""
        try:
            return cls(Role(role), employee_id)
        except ValueError:
            raise ValidationError(f"unknown role {role!r}", field="role") from None

    @classmethod
    def admin(cls) -> Viewer:
        """The local operator (CLI without --as)."""
        return cls(Role.ADMIN)

    def as_dict(self) -> dict[str, object]:
        return {"role": self.role.value, "employee_id": self.employee_id}


class Hierarchy:
    """Employees and who reports to whom; answers subtree questions without more SQL."""

    def __init__(self, rows: Iterable[EmployeeRow]) -> None:
        self.by_id: dict[int, EmployeeRow] = {r.id: r for r in rows}
        self.children: dict[int, list[int]] = defaultdict(list)
        for row in self.by_id.values():
            if row.head_id is not None and row.head_id != row.id:
                self.children[row.head_id].append(row.id)

    def subtree(self, root: int) -> list[int]:
        """`root` and everyone below it (cycles in bad data are cut)."""
        seen: set[int] = set()
        order: list[int] = []
        stack = [root]
        while stack:
            current = stack.pop()
            if current in seen or current not in self.by_id:
                continue
            seen.add(current)
            order.append(current)
            stack.extend(reversed(self.children.get(current, [])))
        return order

    def subordinates(self, head: int) -> list[int]:
        """Everyone strictly below `head`."""
        return [e for e in self.subtree(head) if e != head]

    def visible(self, viewer: Viewer) -> list[int]:
        """The employee ids `viewer` may see, in hierarchy order."""
        if viewer.role is Role.ADMIN and viewer.employee_id is None:
            return sorted(self.by_id)
        if viewer.role is Role.ADMIN:
            return sorted(self.by_id)
        if viewer.employee_id is None or viewer.employee_id not in self.by_id:
            raise PermissionDenied(f"{viewer.role} without a known employee sees no KPI")
        if viewer.role is Role.HEAD:
            return self.subtree(viewer.employee_id)
        return [viewer.employee_id]

    def require_visible(self, viewer: Viewer, employee_id: int) -> None:
        """Raise `PermissionDenied` unless `viewer` may see `employee_id`."""
        if employee_id not in self.visible(viewer):
            raise PermissionDenied(f"employee {employee_id} is outside what you may see")

    def require_planner(self, viewer: Viewer, employee_id: int) -> None:
        """Raise `PermissionDenied` unless `viewer` may set plans for `employee_id`."""
        if viewer.role is Role.ADMIN:
            return
        if viewer.role is not Role.HEAD or viewer.employee_id is None:
            raise PermissionDenied("only a head or an admin may set plans")
        if employee_id not in self.subordinates(viewer.employee_id):
            name = self.by_id[employee_id].name if employee_id in self.by_id else employee_id
            raise PermissionDenied(
                f"employee {name} (id {employee_id}) is not below you in the hierarchy; "
                "only their head or an admin may set their plans"
            )
