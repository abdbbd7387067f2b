"""Every role against every contact and activity route: 200/403/404 as decision 0024 says.

People: ``boss`` over ``head`` over ``alice`` and ``bob``; ``carol`` in another group.
Each test gives one client to each of them plus an unowned lead, then asks every
route as one token holder; the expected status comes from the policy table below,
written out here rather than computed by the code under test.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import update

from hub.activity import ActivityFilter
from hub.activity.schema import contacts
from hub.model import Address, AddressKind, Channel
from tests.helpers.web import EXTENSIONS, T0, ApiWorld

#: Owners of the seeded clients; None is an unowned lead.
OWNERS: tuple[str | None, ...] = ("boss", "head", "alice", "bob", "carol", None)
EVERYONE = frozenset(OWNERS)
#: Clients each token holder sees (decision 0024: own and subordinates', plus leads).
READS: dict[str, frozenset[str | None]] = {
    "admin": EVERYONE,
    "marketer": EVERYONE,
    "head": frozenset({"head", "alice", "bob", None}),
    "alice": frozenset({"alice", None}),
    "bob": frozenset({"bob", None}),
    "carol": frozenset({"carol", None}),
}
#: Employees whose activities and extensions each holder sees (marketers: none, 403).
TEAMS: dict[str, frozenset[str]] = {
    "admin": frozenset(EXTENSIONS),
    "head": frozenset({"head", "alice", "bob"}),
    "alice": frozenset({"alice"}),
    "bob": frozenset({"bob"}),
    "carol": frozenset({"carol"}),
}
HOLDERS = tuple(READS)
EMPLOYEES = ("alice", "bob", "carol")


def read_status(who: str, owner: str | None) -> int:
    return 200 if owner in READS[who] else 404


def edit_status(who: str, owner: str | None) -> int:
    """Field changes: employees never write; writers change what they see."""
    return 403 if who in EMPLOYEES else read_status(who, owner)


def assign_status(who: str, owner: str | None, new: str) -> int:
    """Giving a client to `new`: only inside the caller's team; marketers never.

    Naming the owner it already has changes nothing and is an ordinary edit."""
    if who in EMPLOYEES or read_status(who, owner) == 404 or new == owner:
        return edit_status(who, owner)
    if who == "marketer":
        return 403
    return 200 if new in TEAMS[who] else 403


def merge_status(who: str, owner: str | None) -> int:
    """Merges (and their undo) of two clients of `owner`: admins and heads, in scope."""
    if who in (*EMPLOYEES, "marketer"):
        return 403
    return read_status(who, owner)


def _key(owner: str | None) -> str:
    return owner or "lead"


async def seed_clients(api: ApiWorld, tag: str = "") -> dict[str | None, int]:
    """One client per owner (and an unowned lead), each with a phone."""
    made = {}
    for n, owner in enumerate(OWNERS):
        made[owner] = await api.store.contacts.create(
            f"Client of {_key(owner)}{tag}",
            addresses=[
                Address(kind=AddressKind.PHONE, value=f"+7495{len(tag)}{n:06d}"),
            ],
            owner_employee_id=None if owner is None else api.employees[owner],
            is_lead=owner is None,
        )
    return made


def check(found: list[tuple[Any, ...]]) -> None:
    """Assert every (case, got, wanted) row agrees, listing all that do not."""
    wrong = [row for row in found if row[-2] != row[-1]]
    assert not wrong, "\n".join(f"{r[:-2]}: got {r[-2]}, want {r[-1]}" for r in wrong)


@pytest.mark.parametrize("who", HOLDERS)
async def test_get_and_timeline(api: ApiWorld, who: str) -> None:
    clients = await seed_clients(api)
    found = []
    for owner, cid in clients.items():
        resp = await api.get(f"/api/v1/contacts/{cid}", who=who)
        found.append(("get", _key(owner), resp.status, read_status(who, owner)))
        if resp.status == 404:
            assert "does not exist" in (await resp.json())["error"]["message"]
        resp = await api.get(f"/api/v1/contacts/{cid}/timeline", who=who)
        want = 403 if who == "marketer" else read_status(who, owner)
        found.append(("timeline", _key(owner), resp.status, want))
    check(found)


@pytest.mark.parametrize("who", HOLDERS)
async def test_search_pages_only_what_one_sees(api: ApiWorld, who: str) -> None:
    clients = await seed_clients(api)
    resp = await api.get("/api/v1/contacts", params={"limit": "500"}, who=who)
    assert resp.status == 200
    seen = {c["id"] for c in (await resp.json())["items"]}
    assert seen == {clients[o] for o in READS[who]}
    # a phone search for someone else's client finds nothing rather than revealing it
    resp = await api.get("/api/v1/contacts", params={"q": "+74950000004"}, who=who)
    hits = [c["id"] for c in (await resp.json())["items"]]
    assert hits == ([clients["carol"]] if "carol" in READS[who] else [])


@pytest.mark.parametrize("who", HOLDERS)
async def test_patch_fields_and_owner(api: ApiWorld, who: str) -> None:
    clients = await seed_clients(api)
    found = []
    for owner, cid in clients.items():
        resp = await api.patch(f"/api/v1/contacts/{cid}", json={"city": "Omsk"}, who=who)
        found.append(("city", _key(owner), resp.status, edit_status(who, owner)))
        for new in ("bob", "carol"):
            resp = await api.patch(
                f"/api/v1/contacts/{cid}",
                json={"owner_employee_id": api.employees[new]},
                who=who,
            )
            found.append(("owner", _key(owner), new, resp.status, assign_status(who, owner, new)))
            if resp.status == 200:  # give it back for the next case
                await _set_owner(api, cid, owner)
    check(found)
    for owner, cid in clients.items():
        contact = await api.store.contacts.get(cid)
        wanted = None if owner is None else api.employees[owner]
        assert contact["owner_employee_id"] == wanted, "a refused change still landed"


async def _set_owner(api: ApiWorld, contact_id: int, owner: str | None) -> None:
    """Put a client's owner back (None too, which the API never sets)."""
    owner_id = None if owner is None else api.employees[owner]
    async with api.store.engine.begin() as conn:
        await conn.execute(
            update(contacts).where(contacts.c.id == contact_id).values(owner_employee_id=owner_id)
        )


def claim_status(who: str, owner: str | None) -> int:
    """Taking a client as one's own: people only, leads (or what is already theirs)."""
    if who in ("admin", "marketer"):
        return 403
    if read_status(who, owner) == 404:
        return 404
    return 200 if owner in (None, who) else 409


@pytest.mark.parametrize("who", HOLDERS)
async def test_claim(api: ApiWorld, who: str) -> None:
    clients = await seed_clients(api)
    found = []
    for owner, cid in clients.items():
        resp = await api.post(f"/api/v1/contacts/{cid}/claim", who=who)
        found.append(("claim", _key(owner), resp.status, claim_status(who, owner)))
        if resp.status == 200:
            assert (await resp.json())["owner_employee_id"] == api.employees[who]
            await _set_owner(api, cid, owner)
    check(found)


async def test_two_claims_of_one_lead_make_one_owner(api: ApiWorld) -> None:
    lead = (await seed_clients(api))[None]
    answers = await asyncio.gather(
        *(api.post(f"/api/v1/contacts/{lead}/claim", who=w) for w in ("alice", "bob", "carol"))
    )
    # the losers get 409 when they read the lead before the winner's claim landed, and
    # 404 after it (the lead is then someone else's client): never a second owner
    statuses = sorted(r.status for r in answers)
    assert statuses[0] == 200 and set(statuses[1:]) <= {404, 409}, statuses
    people = ("alice", "bob", "carol")
    winner = next(w for w, r in zip(people, answers, strict=True) if r.status == 200)
    assert (await api.store.contacts.get(lead))["owner_employee_id"] == api.employees[winner]
    # the lead is now the winner's client: the others no longer see it
    for who in ("alice", "bob", "carol"):
        resp = await api.get(f"/api/v1/contacts/{lead}", who=who)
        assert resp.status == (200 if who == winner else 404)


@pytest.mark.parametrize("who", HOLDERS)
async def test_create_with_an_owner(api: ApiWorld, who: str) -> None:
    found = []
    for owner in OWNERS:
        body: dict[str, Any] = {"name": f"new for {_key(owner)}"}
        if owner is not None:
            body["owner_employee_id"] = api.employees[owner]
        resp = await api.post("/api/v1/contacts", json=body, who=who)
        if who in EMPLOYEES:
            want = 403
        elif owner is None:
            want = 201
        elif who == "marketer":
            want = 403
        else:
            want = 201 if owner in TEAMS[who] else 403
        found.append(("create", _key(owner), resp.status, want))
    check(found)


@pytest.mark.parametrize("who", HOLDERS)
async def test_merge_and_undo(api: ApiWorld, who: str) -> None:
    first = await seed_clients(api)
    second = await seed_clients(api, tag=" (dup)")
    found = []
    for owner in OWNERS:
        resp = await api.post(
            f"/api/v1/contacts/{second[owner]}/merge", json={"into": first[owner]}, who=who
        )
        found.append(("merge", _key(owner), resp.status, merge_status(who, owner)))
        if resp.status == 200:
            merge_id = (await resp.json())["merge_id"]
        else:
            merge_id = (await api.store.contacts.merge(second[owner], first[owner])).merge_id
        resp = await api.post(f"/api/v1/contacts/merges/{merge_id}/undo", who=who)
        found.append(("undo", _key(owner), resp.status, merge_status(who, owner)))
    # across scopes: a client of the caller's team into one outside it, and back
    for source, target in (("alice", "carol"), ("carol", "alice")):
        resp = await api.post(
            f"/api/v1/contacts/{second[source]}/merge", json={"into": first[target]}, who=who
        )
        want = min(merge_status(who, source), merge_status(who, target), key=_severity)
        found.append(("merge", source, target, resp.status, want))
    check(found)


def _severity(status: int) -> int:
    """Which refusal wins when two contacts differ: 403 (role), then 404, then 200."""
    return {403: 0, 404: 1, 200: 2}[status]


@pytest.mark.parametrize("who", HOLDERS)
async def test_activity_routes(api: ApiWorld, who: str) -> None:
    clients = await seed_clients(api)
    found = []
    for person in EXTENSIONS:
        touch = await api.record(employee=person, at=T0)
        page = await api.store.activities.list(ActivityFilter(), limit=500)
        aid = next(a["id"] for a in page.items if a["external_id"] == touch.external_id)
        resp = await api.get(f"/api/v1/activities/{aid}", who=who)
        want = 403 if who == "marketer" else (200 if person in TEAMS[who] else 403)
        found.append(("activity", person, resp.status, want))
        task = await api.store.activities.add_interaction(
            channel=Channel.TASK,
            employee_id=api.employees[person],
            contact_id=None,
            subject="call back",
            due_at=T0,
        )
        resp = await api.post(
            f"/api/v1/interactions/{task}/complete", json={"result": "done"}, who=who
        )
        found.append(("complete", person, resp.status, want))
    for owner, cid in clients.items():
        body: dict[str, Any] = {"channel": "meeting", "subject": "visit", "contact_id": cid}
        if who in ("admin",):
            body["employee_id"] = api.employees["alice"]
        resp = await api.post("/api/v1/interactions", json=body, who=who)
        want = 403 if who == "marketer" else (201 if owner in READS[who] else 404)
        found.append(("interaction", _key(owner), resp.status, want))
    check(found)


@pytest.mark.parametrize("who", HOLDERS)
async def test_calls_live_state_and_contact_number(api: ApiWorld, who: str) -> None:
    clients = await seed_clients(api)
    found = []
    for person, extension in EXTENSIONS.items():
        resp = await api.get(f"/api/v1/calls/live/{extension}", who=who)
        want = 403 if who == "marketer" else (200 if person in TEAMS[who] else 403)
        found.append(("live", person, resp.status, want))
        if resp.status == 200:
            assert await resp.json() == {"extension": extension, "state": "idle"}
    own = EXTENSIONS["head" if who in ("admin", "marketer") else who]
    for owner, cid in clients.items():
        resp = await api.post(
            "/api/v1/calls", json={"employee": own, "contact_id": cid}, who=who
        )
        # no PBX here: a contact the caller may dial gets as far as "not configured"
        want = 403 if who == "marketer" else (503 if owner in READS[who] else 404)
        found.append(("call", _key(owner), resp.status, want))
    check(found)
