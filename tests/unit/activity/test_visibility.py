"""Who sees whom: admin all, head their subtree, everyone else themselves, no employee nobody."""

from __future__ import annotations

import pytest

from hub.activity.principal import Role
from hub.activity.visibility import Hierarchy

#: 1 heads 2 and 5; 2 heads 3 and 4; 6 stands alone; 7 and 8 head each other (bad data);
#: 9 names itself as its head.
TEAM = Hierarchy([(1, None), (2, 1), (3, 2), (4, 2), (5, 1), (6, None), (7, 8), (8, 7), (9, 9)])


@pytest.mark.parametrize(
    ("role", "employee", "sees"),
    [
        (Role.ADMIN, None, None),
        (Role.ADMIN, 3, None),
        (Role.HEAD, 1, [1, 2, 3, 4, 5]),
        (Role.HEAD, 2, [2, 3, 4]),
        (Role.HEAD, 3, [3]),
        (Role.HEAD, 7, [7, 8]),
        (Role.HEAD, 9, [9]),
        (Role.HEAD, 42, []),
        (Role.EMPLOYEE, 2, [2]),
        (Role.MARKETER, 5, [5]),
        (Role.HEAD, None, []),
        (Role.EMPLOYEE, None, []),
        (Role.MARKETER, None, []),
    ],
)
def test_visible(role: Role, employee: int | None, sees: list[int] | None) -> None:
    assert TEAM.visible(role, employee) == sees
    assert TEAM.visible(role.value, employee) == sees  # stored strings answer the same


def test_subtree_is_depth_first_in_the_given_order() -> None:
    assert TEAM.subtree(1) == [1, 2, 3, 4, 5]
    assert 3 in TEAM and 42 not in TEAM
