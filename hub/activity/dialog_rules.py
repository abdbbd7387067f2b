"""The rules of messenger dialogs that the API, the command line and the page all obey.

A dialog is one chat on one messenger account: the touches of one `source`
(``"telegram:support"``, platform and account) with one counterpart (the platform's
chat or user id). Whose it is: the responsible employee of its contact, else the
configured queue, else nobody's yet (then every head and employee sees it, like a fresh
lead, decision 0024). Who sees a dialog sees it as they see activities (decision 0036):
an admin every dialog, a head their subtree's, an employee their own; marketers none.
Whoever sees a dialog may answer it; the reply is their outgoing touch.
"""

from __future__ import annotations

from dataclasses import dataclass

from hub.activity.principal import Principal, Role
from hub.activity.visibility import Hierarchy
from hub.errors import NotFound, PermissionDenied, ValidationError
from hub.model import AddressKind

#: The messenger platforms a dialog can be on; each is also the address kind of its chats.
PLATFORMS: tuple[str, ...] = (
    AddressKind.TELEGRAM.value,
    AddressKind.WHATSAPP.value,
    AddressKind.VK.value,
    AddressKind.VIBER.value,
)
#: Longest reply accepted (Telegram's message limit; the others allow as much or more).
MAX_REPLY = 4096


def platform_of(source: str) -> str:
    """The platform of a messenger source: ``"telegram:support"`` → ``"telegram"``."""
    return source.partition(":")[0]


def account_of(source: str) -> str:
    """The account of a messenger source: ``"telegram:support"`` → ``"support"``."""
    return source.partition(":")[2]


def source_for(platform: str, account: str) -> str:
    """The touch source (and sender key) of an account on a platform."""
    return f"{platform}:{account}"


def platform(value: str, *, field: str = "channel") -> str:
    """A platform name as typed, checked against `PLATFORMS`."""
    name = value.strip().casefold()
    if name not in PLATFORMS:
        raise ValidationError(
            f"{field}: {value!r} is not a messenger; use one of {', '.join(PLATFORMS)}",
            field=field,
        )
    return name


def address_kind(source: str) -> AddressKind:
    """The address kind a reply on this source goes to; refused for an unknown platform."""
    name = platform_of(source)
    if name not in PLATFORMS:
        raise ValidationError(f"dialogs on {source!r} cannot be answered", field="source")
    return AddressKind(name)


def reply_text(text: str) -> str:
    """A reply's text: not blank, at most `MAX_REPLY` characters (trailing spaces cut)."""
    cleaned = text.rstrip()
    if not cleaned.strip():
        raise ValidationError("text: a reply needs some text", field="text")
    if len(cleaned) > MAX_REPLY:
        raise ValidationError(
            f"text: a reply is at most {MAX_REPLY} characters, this one has {len(cleaned)}",
            field="text",
        )
    return cleaned


def owner_of(contact_owner: int | None, queue: int | None) -> int | None:
    """Whose a dialog is: its contact's responsible employee, else the queue."""
    return contact_owner if contact_owner is not None else queue


@dataclass(frozen=True, slots=True, kw_only=True)
class DialogScope:
    """The dialogs one caller sees: by owner (`owners` None: any) and, if `unowned`, the
    dialogs nobody owns yet. `me` is the caller's employee (the "mine" filter, replies)."""

    owners: frozenset[int] | None
    unowned: bool
    me: int | None

    @classmethod
    def of(cls, who: Principal, hierarchy: Hierarchy) -> DialogScope:
        """The scope of `who`; marketers and callers who are no employee get none."""
        if who.role == Role.ADMIN:
            return cls(owners=None, unowned=True, me=who.employee_id)
        if who.role not in (Role.HEAD, Role.EMPLOYEE):
            raise PermissionDenied(f"role {who.role!r} does not work with dialogs")
        visible = hierarchy.visible(who.role, who.employee_id)
        if who.employee_id is None or who.employee_id not in hierarchy or visible is None:
            return cls(owners=frozenset(), unowned=False, me=None)
        return cls(owners=frozenset(visible), unowned=True, me=who.employee_id)

    def covers(self, owner: int | None) -> bool:
        """Whether a dialog owned by `owner` (None: nobody) is in view."""
        if owner is None:
            return self.unowned
        return self.owners is None or owner in self.owners

    def check(self, dialog_id: int, owner: int | None) -> None:
        """`NotFound` (as for a missing dialog) when the caller may not see it."""
        if not self.covers(owner):
            raise NotFound(f"dialog #{dialog_id} does not exist")
