"""The contact-access rule on its own: who reads, edits, assigns, claims and merges what."""

from __future__ import annotations

import pytest

from hub.activity.contact_scope import EVERY_CONTACT, NO_CONTACT, ContactAccess, ContactScope
from hub.activity.principal import Principal
from hub.activity.visibility import Hierarchy
from hub.errors import Conflict, NotFound, PermissionDenied

#: 1 heads 2, who heads 3 and 4; 5 stands alone.
HIERARCHY = Hierarchy([(1, None), (2, 1), (3, 2), (4, 2), (5, None)])


def access(role: str, employee: int | None = None) -> ContactAccess:
    return ContactAccess.of(Principal(name=role, role=role, employee_id=employee), HIERARCHY)


@pytest.mark.parametrize(
    ("scope", "owner", "covered"),
    [
        (EVERY_CONTACT, None, True),
        (EVERY_CONTACT, 9, True),
        (NO_CONTACT, None, False),
        (NO_CONTACT, 9, False),
        (ContactScope(owners=frozenset({3}), unowned=False), 3, True),
        (ContactScope(owners=frozenset({3}), unowned=False), None, False),
        (ContactScope(owners=frozenset({3}), unowned=True), None, True),
        (ContactScope(owners=None, unowned=False), None, False),
    ],
)
def test_scope_covers(scope: ContactScope, owner: int | None, covered: bool) -> None:
    assert scope.covers(owner) is covered


@pytest.mark.parametrize(
    ("role", "employee", "reads"),
    [
        ("admin", None, {1, 2, 3, 4, 5, None}),
        ("marketer", None, {1, 2, 3, 4, 5, None}),
        ("head", 2, {2, 3, 4, None}),
        ("employee", 3, {3, None}),
        ("employee", 5, {5, None}),
        ("head", None, set()),  # a head token without an employee sees nothing
        ("employee", 99, set()),  # nor one whose employee is gone
    ],
)
def test_reads_follow_the_hierarchy(
    role: str, employee: int | None, reads: set[int | None]
) -> None:
    rule = access(role, employee)
    assert {o for o in (1, 2, 3, 4, 5, None) if rule.read.covers(o)} == reads
    for owner in (1, 2, 3, 4, 5, None):
        if owner in reads:
            rule.check_read(7, owner)
        else:
            with pytest.raises(NotFound, match="contact #7 does not exist"):
                rule.check_read(7, owner)


def test_head_assigns_inside_the_team_only() -> None:
    head = access("head", 2)
    head.check_assign(None, 3)
    head.check_assign(3, 4)
    head.check_assign(5, 5)  # unchanged owner: not a reassignment
    with pytest.raises(PermissionDenied, match="employee #5"):
        head.check_assign(3, 5)
    with pytest.raises(PermissionDenied, match="may not assign"):
        access("marketer").check_assign(None, 3)


def test_edit_refusals_tell_unseen_from_unchangeable() -> None:
    with pytest.raises(NotFound):
        access("head", 2).check_edit(1, 5)
    with pytest.raises(PermissionDenied):
        access("employee", 3).check_edit(1, 3)
    access("marketer").check_edit(1, 5)


def test_claims_and_merges() -> None:
    assert access("employee", 3).check_claim(1, None) == 3
    assert access("employee", 3).check_claim(1, 3) == 3
    with pytest.raises(Conflict, match="employee #4"):
        access("head", 2).check_claim(1, 4)
    with pytest.raises(PermissionDenied):
        access("admin").check_claim(1, None)
    access("head", 2).check_merge([(1, 3), (2, None)])
    with pytest.raises(NotFound):
        access("head", 2).check_merge([(1, 3), (2, 5)])
    with pytest.raises(PermissionDenied, match="may not merge"):
        access("marketer").check_merge([(1, 3), (2, 4)])
    with pytest.raises(PermissionDenied, match="may not merge"):
        access("employee", 3).check_merge([(1, 3), (2, None)])
