"""Who may see whose data: the one rule behind activity listings, the API and KPI.

An admin sees every employee, a head their whole subtree, anyone else (an employee, a
marketer) only themselves; a caller who is no employee sees nobody's. The hierarchy is
the employees' `head_id` links; a loop in bad data is cut, never followed twice.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from hub.activity.principal import Role


class Hierarchy:
    """Employees (in the order given) and who reports to whom."""

    def __init__(self, heads: Iterable[tuple[int, int | None]]) -> None:
        pairs = list(heads)
        self.ids: list[int] = [employee for employee, _ in pairs]
        self.children: dict[int, list[int]] = defaultdict(list)
        for employee, head in pairs:
            if head is not None and head != employee:
                self.children[head].append(employee)
        self._known = set(self.ids)

    def __contains__(self, employee_id: object) -> bool:
        return employee_id in self._known

    def subtree(self, root: int) -> list[int]:
        """`root` and everyone below it, depth first in the given order; [] for no such root."""
        seen: set[int] = set()
        order: list[int] = []
        stack = [root]
        while stack:
            current = stack.pop()
            if current in seen or current not in self._known:
                continue
            seen.add(current)
            order.append(current)
            stack.extend(reversed(self.children.get(current, [])))
        return order

    def visible(self, role: str, employee_id: int | None) -> list[int] | None:
        """The employee ids a caller with `role` (and `employee_id`) may see; None: all."""
        if role == Role.ADMIN:
            return None
        if employee_id is None:
            return []
        if role == Role.HEAD:
            return self.subtree(employee_id)
        return [employee_id]
