"""Who may see, add and lift suppressions: the one rule the API and the CLI both ask.

Admins, heads and marketers read them (a marketer must know why a segment shrank);
admins and marketers add one by hand (a client asked by phone to get no more mail);
only an admin lifts one, because sending again to someone who unsubscribed or whose
address bounced needs a reason someone answers for.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from hub.activity.principal import Principal, Role
from hub.errors import PermissionDenied


class SuppressionAction(StrEnum):
    """What may be done with suppressions."""

    READ = "read"
    ADD = "add"
    LIFT = "lift"


#: Roles allowed each action.
ALLOWED: Mapping[SuppressionAction, tuple[str, ...]] = {
    SuppressionAction.READ: (Role.ADMIN.value, Role.HEAD.value, Role.MARKETER.value),
    SuppressionAction.ADD: (Role.ADMIN.value, Role.MARKETER.value),
    SuppressionAction.LIFT: (Role.ADMIN.value,),
}


def check(who: Principal, action: SuppressionAction) -> Principal:
    """`who` if their role allows `action`; `PermissionDenied` otherwise."""
    roles = ALLOWED[action]
    if who.role not in roles:
        raise PermissionDenied(
            f"role {who.role!r} may not {action.value} suppressions; it needs one of: "
            f"{', '.join(roles)}"
        )
    return who
