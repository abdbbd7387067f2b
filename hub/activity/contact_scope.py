"""Who may see and change which contacts: the one contact-access rule (decision 0024).

A contact belongs to the scope of its owner (`owner_employee_id`). An admin reads and
changes every contact. A head reads and changes the clients of their subtree; an
employee reads their own. Contacts without an owner (fresh leads) are read by every
head and employee, so incoming leads get picked up: a head or employee claims one for
themselves, and a head may also assign it to someone inside their subtree. A marketer
reads every contact (segments need the whole base) and may edit its descriptive
fields, but never sets an owner nor merges. Merges and their undo need both contacts
inside the caller's edit scope.

The rule is pure: `ContactAccess.of(principal, hierarchy)` is computed once per request
(or command) and the API, the CLI and the repository filter all ask it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from hub.activity.principal import Principal, Role
from hub.activity.visibility import Hierarchy
from hub.errors import Conflict, NotFound, PermissionDenied


@dataclass(frozen=True, slots=True, kw_only=True)
class ContactScope:
    """A set of contacts named by their owners: `owners` (None: any) and, if `unowned`, none."""

    owners: frozenset[int] | None
    unowned: bool = True

    @property
    def everything(self) -> bool:
        """Whether the scope covers every contact (no filter needed)."""
        return self.owners is None and self.unowned

    @property
    def empty(self) -> bool:
        """Whether the scope covers no contact at all."""
        return self.owners is not None and not self.owners and not self.unowned

    def covers(self, owner: int | None) -> bool:
        """Whether a contact owned by `owner` (None: unowned) is inside the scope."""
        if owner is None:
            return self.unowned
        return self.owners is None or owner in self.owners


#: Every contact.
EVERY_CONTACT = ContactScope(owners=None, unowned=True)
#: No contact.
NO_CONTACT = ContactScope(owners=frozenset(), unowned=False)


def _owned_by(employees: Iterable[int], *, unowned: bool) -> ContactScope:
    return ContactScope(owners=frozenset(employees), unowned=unowned)


@dataclass(frozen=True, slots=True, kw_only=True)
class ContactAccess:
    """What one caller may do with contacts.

    `read`: contacts the caller sees (others answer 404, never revealing they exist).
    `edit`: contacts whose fields the caller may change, merge and unmerge.
    `assign`: owners the caller may give a contact (empty: may not set an owner).
    `merge`: whether the caller may merge (and undo merges) within `edit`.
    """

    who: Principal
    read: ContactScope
    edit: ContactScope
    assign: ContactScope
    merge: bool

    @classmethod
    def of(cls, who: Principal, hierarchy: Hierarchy) -> ContactAccess:
        """The access of `who`, given the employees' hierarchy."""
        if who.role == Role.ADMIN:
            return cls(
                who=who, read=EVERY_CONTACT, edit=EVERY_CONTACT, assign=EVERY_CONTACT, merge=True
            )
        if who.role == Role.MARKETER:
            return cls(
                who=who, read=EVERY_CONTACT, edit=EVERY_CONTACT, assign=NO_CONTACT, merge=False
            )
        if who.employee_id is None or who.employee_id not in hierarchy:
            return cls(who=who, read=NO_CONTACT, edit=NO_CONTACT, assign=NO_CONTACT, merge=False)
        if who.role == Role.HEAD:
            team = hierarchy.subtree(who.employee_id)
            return cls(
                who=who,
                read=_owned_by(team, unowned=True),
                edit=_owned_by(team, unowned=True),
                assign=_owned_by(team, unowned=False),
                merge=True,
            )
        return cls(
            who=who,
            read=_owned_by([who.employee_id], unowned=True),
            edit=NO_CONTACT,
            assign=NO_CONTACT,
            merge=False,
        )

    @property
    def may_write(self) -> bool:
        """Whether the caller may create or change any contact at all."""
        return not self.edit.empty

    def check_read(self, contact_id: int, owner: int | None) -> None:
        """`NotFound` (as for a missing contact) when the caller may not see it."""
        if not self.read.covers(owner):
            raise NotFound(f"contact #{contact_id} does not exist")

    def check_edit(self, contact_id: int, owner: int | None) -> None:
        """`NotFound` when the contact is unseen, `PermissionDenied` when it is only seen."""
        self.check_read(contact_id, owner)
        if not self.edit.covers(owner):
            raise PermissionDenied(f"contact #{contact_id} is outside the clients you may change")

    def check_assign(self, current: int | None, new: int | None) -> None:
        """`PermissionDenied` unless the caller may give a contact owner `new` (None: keep)."""
        if new is None or new == current:
            return
        if not self.assign.covers(new):
            raise PermissionDenied(
                f"you may not make employee #{new} the owner of a client"
                if not self.assign.empty
                else f"role {self.who.role!r} may not assign clients to employees"
            )

    def check_claim(self, contact_id: int, owner: int | None) -> int:
        """The caller's employee id, if they may take this contact for themselves.

        Heads and employees claim leads they see; a contact someone owns is not
        claimable (`Conflict`), one the caller already owns is fine."""
        self.check_read(contact_id, owner)
        me = self.who.employee_id
        if me is None or self.who.role not in (Role.HEAD, Role.EMPLOYEE):
            raise PermissionDenied("only heads and employees claim clients for themselves")
        if owner is not None and owner != me:
            raise Conflict(
                f"contact #{contact_id} already belongs to employee #{owner}",
                field="owner_employee_id",
                details={"owner_employee_id": owner},
            )
        return me

    def check_merge(self, contacts: Iterable[tuple[int, int | None]]) -> None:
        """`PermissionDenied`/`NotFound` unless the caller may merge these (id, owner) contacts."""
        pairs = list(contacts)
        for contact_id, owner in pairs:
            self.check_read(contact_id, owner)
        if not self.merge:
            raise PermissionDenied(f"role {self.who.role!r} may not merge contacts")
        for contact_id, owner in pairs:
            self.check_edit(contact_id, owner)
