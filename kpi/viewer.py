"""Who is looking: visibility follows the position hierarchy in CLI, API and UI alike.

An employee sees their own numbers, a head their whole subtree, an admin everyone.
Plans may be set only by an admin or by a head for someone strictly below them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from hub.activity.principal import Role
from hub.activity.visibility import Hierarchy as EmployeeHierarchy
from hub.errors import PermissionDenied, ValidationError
from kpi.queries import EmployeeRow

__all__ = ["Hierarchy", "Role", "Viewer"]


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
    """Employees and who reports to whom; answers subtree questions without more SQL.

    Who may see whom is the store's one rule (`hub.activity.visibility`); KPI adds only
    that a non-admin who is no known employee sees no KPI at all.
    """

    def __init__(self, rows: Iterable[EmployeeRow]) -> None:
        self.by_id: dict[int, EmployeeRow] = {r.id: r for r in rows}
        self.rule = EmployeeHierarchy((r.id, r.head_id) for r in self.by_id.values())

    def subtree(self, root: int) -> list[int]:
        """`root` and everyone below it (cycles in bad data are cut)."""
        return self.rule.subtree(root)

    def subordinates(self, head: int) -> list[int]:
        """Everyone strictly below `head`."""
        return [e for e in self.subtree(head) if e != head]

    def visible(self, viewer: Viewer) -> list[int]:
        """The employee ids `viewer` may see, in hierarchy order."""
        if viewer.role is not Role.ADMIN and (
            viewer.employee_id is None or viewer.employee_id not in self.by_id
        ):
            raise PermissionDenied(f"{viewer.role} without a known employee sees no KPI")
        found = self.rule.visible(viewer.role, viewer.employee_id)
        return sorted(self.by_id) if found is None else found

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
