"""Contacts: create, change, search by name/phone/e-mail, merge (and undo), a contact's timeline.

Who may see and change which contact is decided by `ContactAccess` (decision 0024):
a contact outside what the caller may read answers 404, as if it did not exist.

Addresses are checked here before the store sees them, so an invalid phone or one
that already belongs to another contact is answered with the exact field (e.g.
``phones.1``) and, for a clash, the owner's id.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from pydantic import BaseModel

from hub.activity import ActivityFilter, ActivityStore
from hub.activity.addresses import normalize
from hub.activity.contact_scope import ContactAccess
from hub.errors import Conflict, InvalidAddress, ValidationError
from hub.model import CONTACT_KINDS, Address, AddressKind
from hub.web.auth import (
    ACTIVITY_READERS,
    ALL_ROLES,
    CONTACT_CLAIMERS,
    CONTACT_MERGERS,
    CONTACT_WRITERS,
    contact_access,
    require,
    visible_employees,
)
from hub.web.keys import STORE
from hub.web.openapi import describe
from hub.web.parsing import created, parse_query, path_id, read_json, respond
from hub.web.references import referenced_employee
from hub.web.schemas import (
    ActivityPage,
    AddressIn,
    ContactCreate,
    ContactOut,
    ContactPage,
    ContactQuery,
    ContactUpdate,
    MergeIn,
    MergeOut,
    PageQuery,
)

routes = web.RouteTableDef()
TAG = "contacts"


class UnmergeOut(BaseModel):
    """What undoing a merge gave back, and both contacts as they are now."""

    merge_id: int
    source_id: int
    target_id: int
    identities_restored: int
    activities_restored: int
    fields_restored: list[str]
    source: ContactOut
    target: ContactOut


async def readable_contact(
    store: ActivityStore, access: ContactAccess, contact_id: int
) -> dict[str, Any]:
    """The contact `contact_id` leads to, if the caller may see it; else `NotFound`."""
    contact = await store.contacts.get(contact_id)
    access.check_read(contact_id, contact["owner_employee_id"])
    return contact


@dataclass(frozen=True, slots=True)
class Entered:
    """An address from a request, the field it came from, and its normalised key."""

    field: str
    address: Address
    key: tuple[str, str]


def entered_addresses(
    region: str,
    phones: Sequence[str],
    emails: Sequence[str],
    addresses: Sequence[AddressIn],
    *,
    names: tuple[str, str, str],
) -> list[Entered]:
    """Normalise every address of a request, naming the field and value of a bad one."""
    raw: list[tuple[str, AddressKind, str]] = [
        *((f"{names[0]}.{i}", AddressKind.PHONE, v) for i, v in enumerate(phones)),
        *((f"{names[1]}.{i}", AddressKind.EMAIL, v) for i, v in enumerate(emails)),
        *((f"{names[2]}.{i}", a.kind, a.value) for i, a in enumerate(addresses)),
    ]
    result: list[Entered] = []
    for field, kind, value in raw:
        if kind not in CONTACT_KINDS:
            raise ValidationError(
                f"{field}: {kind.value} is not a contact address", field=f"{field}.kind"
            )
        try:
            normal = normalize(kind, value, region)
        except InvalidAddress as exc:
            raise InvalidAddress(f"{field}: {exc}", field=field) from exc
        key = (kind.value, normal)
        if all(e.key != key for e in result):
            result.append(Entered(field, Address(kind=kind, value=value), key))
    return result


async def refuse_taken(
    store: ActivityStore, entered: Sequence[Entered], *, contact_id: int | None
) -> None:
    """A `Conflict` naming the owner when an address belongs to another contact."""
    if not entered:
        return
    owners = await store.contacts.owners([e.address for e in entered])
    for e in entered:
        owner = owners.get(e.key)
        if owner is not None and owner != contact_id:
            kind, value = e.key
            raise Conflict(
                f"{e.field}: {kind} {value} already belongs to contact #{owner}",
                field=e.field,
                details={"owner_contact_id": owner, "kind": kind, "value": value},
            )


async def checked_input(
    store: ActivityStore,
    lists: tuple[Sequence[str], Sequence[str], Sequence[AddressIn]],
    names: tuple[str, str, str],
    *,
    owner: int | None,
    contact_id: int | None,
) -> list[Entered]:
    """A contact write's addresses, normalised and free, and its owner, existing."""
    entered = entered_addresses(store.region, *lists, names=names)
    await refuse_taken(store, entered, contact_id=contact_id)
    if owner is not None:
        await referenced_employee(store, owner, "owner_employee_id")
    return entered


def _fields(body: ContactCreate | ContactUpdate) -> dict[str, Any]:
    names = ("position", "region", "city", "importance", "segment", "is_lead", "owner_employee_id")
    return {name: getattr(body, name) for name in names}


@routes.post("/api/v1/contacts")
@describe(
    "Create a contact",
    tag=TAG,
    body=ContactCreate,
    response=ContactOut,
    status=201,
    roles=CONTACT_WRITERS,
    errors=(409,),
)
async def create_contact(request: web.Request) -> web.Response:
    """Adds a client by hand; addresses are normalised and must not belong to anyone else."""
    who = require(request, *CONTACT_WRITERS)
    body = await read_json(request, ContactCreate)
    store = request.app[STORE]
    entered = await checked_input(
        store,
        (body.phones, body.emails, body.addresses),
        ("phones", "emails", "addresses"),
        owner=body.owner_employee_id,
        contact_id=None,
    )
    (await contact_access(store, who)).check_assign(None, body.owner_employee_id)
    contact_id = await store.contacts.create(
        body.name,
        addresses=[e.address for e in entered],
        organization=body.organization,
        custom=body.custom or None,
        **_fields(body),
    )
    return created(
        ContactOut, await store.contacts.get(contact_id), f"/api/v1/contacts/{contact_id}"
    )


@routes.get("/api/v1/contacts")
@describe(
    "Search contacts by name, phone or e-mail",
    tag=TAG,
    query=ContactQuery,
    response=ContactPage,
    roles=ALL_ROLES,
)
async def search_contacts(request: web.Request) -> web.Response:
    """Finds a client however the caller spells the phone or e-mail; merged ones are hidden.

    Only the contacts the caller may see are searched (decision 0024)."""
    who = require(request, *ALL_ROLES)
    query = parse_query(request, ContactQuery)
    store = request.app[STORE]
    access = await contact_access(store, who)
    items = await store.contacts.search(
        query.q, limit=query.limit, offset=query.offset, scope=access.read
    )
    next_offset = query.offset + len(items) if len(items) == query.limit else None
    return respond(ContactPage, {"items": items, "next_offset": next_offset})


@routes.get("/api/v1/contacts/{id}")
@describe("Get a contact", tag=TAG, response=ContactOut, roles=ALL_ROLES)
async def get_contact(request: web.Request) -> web.Response:
    """One contact with its identities; a merged contact's id leads to the one it joined,
    and `merged_from` then names the contact asked for."""
    who = require(request, *ALL_ROLES)
    contact_id = path_id(request, what="contact")
    store = request.app[STORE]
    access = await contact_access(store, who)
    contact = await readable_contact(store, access, contact_id)
    if contact["id"] != contact_id:
        contact = {**contact, "merged_from": await store.contacts.merged_from(contact_id)}
    return respond(ContactOut, contact)


@routes.patch("/api/v1/contacts/{id}")
@describe(
    "Change a contact",
    tag=TAG,
    body=ContactUpdate,
    response=ContactOut,
    roles=CONTACT_WRITERS,
    errors=(409,),
)
async def update_contact(request: web.Request) -> web.Response:
    """Sets the given fields and adds addresses; absent or null fields stay as they are."""
    who = require(request, *CONTACT_WRITERS)
    contact_id = path_id(request, what="contact")
    body = await read_json(request, ContactUpdate)
    store = request.app[STORE]
    access = await contact_access(store, who)
    current = await store.contacts.get(contact_id)
    target = int(current["id"])
    access.check_edit(contact_id, current["owner_employee_id"])
    entered = await checked_input(
        store,
        (body.add_phones, body.add_emails, body.add_addresses),
        ("add_phones", "add_emails", "add_addresses"),
        owner=body.owner_employee_id,
        contact_id=target,
    )
    access.check_assign(current["owner_employee_id"], body.owner_employee_id)
    fields = {k: v for k, v in _fields(body).items() if v is not None}
    if body.name is not None:
        fields["name"] = body.name
    await store.contacts.update(
        target,
        add_addresses=[e.address for e in entered],
        organization=body.organization,
        custom=body.custom or None,
        **fields,
    )
    return respond(ContactOut, await store.contacts.get(target))


@routes.post("/api/v1/contacts/{id}/claim")
@describe(
    "Take an unowned lead as one's own client",
    tag=TAG,
    response=ContactOut,
    roles=CONTACT_CLAIMERS,
    errors=(409,),
)
async def claim_contact(request: web.Request) -> web.Response:
    """The caller becomes the owner of a lead; a client someone already owns is a 409."""
    who = require(request, *CONTACT_CLAIMERS)
    contact_id = path_id(request, what="contact")
    store = request.app[STORE]
    access = await contact_access(store, who)
    contact = await store.contacts.get(contact_id)
    target = int(contact["id"])
    me = access.check_claim(contact_id, contact["owner_employee_id"])
    if await store.contacts.claim(target, me) != me:
        raise Conflict(
            f"contact #{contact_id} was just claimed by someone else or merged",
            field="owner_employee_id",
        )
    return respond(ContactOut, await store.contacts.get(target))


@routes.post("/api/v1/contacts/{id}/merge")
@describe(
    "Merge this contact into another",
    tag=TAG,
    body=MergeIn,
    response=MergeOut,
    roles=CONTACT_MERGERS,
    errors=(409,),
)
async def merge_contact(request: web.Request) -> web.Response:
    """Joins duplicates: identities and activities move to `into`, nothing is lost.

    Both contacts must be ones the caller may change; `merge_id` undoes it."""
    who = require(request, *CONTACT_MERGERS)
    source_id = path_id(request, what="contact")
    body = await read_json(request, MergeIn)
    store = request.app[STORE]
    access = await contact_access(store, who)
    source = await store.contacts.get(source_id)
    target = await store.contacts.get(body.into)
    access.check_merge(
        [
            (source_id, source["owner_employee_id"]),
            (body.into, target["owner_employee_id"]),
        ]
    )
    # The body may name a contact by an id that was itself merged away: it leads on.
    merged = await store.contacts.merge(source_id, int(target["id"]), by=who.name)
    return respond(
        MergeOut,
        {
            "source_id": merged.source_id,
            "target_id": merged.target_id,
            "identities_moved": merged.identities_moved,
            "activities_moved": merged.activities_moved,
            "fields_filled": merged.fields_filled,
            "contact": await store.contacts.get(merged.target_id),
            "merge_id": merged.merge_id,
        },
    )


@routes.post("/api/v1/contacts/merges/{id}/undo")
@describe(
    "Undo a merge: the joined contact gets back its identities and activities",
    tag=TAG,
    response=UnmergeOut,
    roles=CONTACT_MERGERS,
    errors=(409,),
)
async def undo_merge(request: web.Request) -> web.Response:
    """Gives back what merge `id` moved; allowed to whoever could make that merge now."""
    who = require(request, *CONTACT_MERGERS)
    merge_id = path_id(request, what="merge")
    store = request.app[STORE]
    access = await contact_access(store, who)
    undone = await store.contacts.unmerge_as(access, merge_id)
    return respond(
        UnmergeOut,
        {
            "merge_id": undone.merge_id,
            "source_id": undone.source_id,
            "target_id": undone.target_id,
            "identities_restored": undone.identities_restored,
            "activities_restored": undone.activities_restored,
            "fields_restored": undone.fields_restored,
            "source": await store.contacts.get(undone.source_id),
            "target": await store.contacts.get(undone.target_id),
        },
    )


@routes.get("/api/v1/contacts/{id}/timeline")
@describe(
    "A contact's activities across channels, newest first",
    tag=TAG,
    query=PageQuery,
    response=ActivityPage,
    roles=ACTIVITY_READERS,
)
async def contact_timeline(request: web.Request) -> web.Response:
    """Every call, letter and message with the client, limited to what the caller may see."""
    who = require(request, *ACTIVITY_READERS)
    contact_id = path_id(request, what="contact")
    query = parse_query(request, PageQuery)
    store = request.app[STORE]
    contact = await readable_contact(store, await contact_access(store, who), contact_id)
    visible = await visible_employees(store, who)
    page = await store.activities.list(
        ActivityFilter(contact_id=int(contact["id"]), employee_ids=visible),
        limit=query.limit,
        cursor=query.cursor,
    )
    return respond(ActivityPage, {"items": page.items, "next_cursor": page.next_cursor})
