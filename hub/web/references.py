"""Body fields that name other things (an owner, a head, a contact) must name real ones.

A missing reference is the caller's input error (422 naming the field), not a 404 of
the endpoint itself; a merged contact's id leads to the contact it joined.
"""

from __future__ import annotations

from hub.activity import ActivityStore
from hub.errors import NotFound, ValidationError


async def referenced_employee(store: ActivityStore, employee_id: int, field: str) -> int:
    """`employee_id` if that employee exists; otherwise a `ValidationError` on `field`."""
    try:
        await store.employees.get(employee_id)
    except NotFound as exc:
        raise ValidationError(
            f"{field}: employee #{employee_id} does not exist", field=field
        ) from exc
    return employee_id


async def referenced_contact(store: ActivityStore, contact_id: int, field: str) -> int:
    """The id of the contact `contact_id` names (after merges); else a `ValidationError`."""
    try:
        contact = await store.contacts.get(contact_id)
    except NotFound as exc:
        raise ValidationError(
            f"{field}: contact #{contact_id} does not exist", field=field
        ) from exc
    return int(contact["id"])
