"""Body fields that name other things (an owner, a head, a contact) must name real ones.

A missing reference is `UnknownReference`: 404 naming the field, so a client tells "you
named nobody" from "your input is malformed" (422); a merged contact's id leads to the
contact it joined.
"""

from __future__ import annotations

from hub.activity import ActivityStore
from hub.errors import NotFound, UnknownReference


async def referenced_employee(store: ActivityStore, employee_id: int, field: str) -> int:
    """`employee_id` if that employee exists; otherwise `UnknownReference` on `field`."""
    try:
        await store.employees.get(employee_id)
    except NotFound as exc:
        raise UnknownReference(
            f"{field}: employee #{employee_id} does not exist", field=field
        ) from exc
    return employee_id


async def referenced_contact(store: ActivityStore, contact_id: int, field: str) -> int:
    """The id of the contact `contact_id` names (after merges); else `UnknownReference`."""
    try:
        contact = await store.contacts.get(contact_id)
    except NotFound as exc:
        raise UnknownReference(
            f"{field}: contact #{contact_id} does not exist", field=field
        ) from exc
    return int(contact["id"])
