"""`touchhub messenger dialogs` and `messenger send`: the dialogs' rules, one-line refusals."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path

import pytest

from hub.activity import ActivityStore
from hub.model import Address, AddressKind, utcnow
from tests.helpers.cli import Touchhub
from tests.helpers.fake_messenger import incoming


def _seed(url: str) -> dict[str, int]:
    """Anna's client and a stranger writing to telegram:support; Bob owns nothing."""

    async def main() -> dict[str, int]:
        store = await ActivityStore.open(url)
        try:
            anna = await store.employees.add(
                "Anna", addresses=[Address(kind=AddressKind.EXTENSION, value="201")]
            )
            bob = await store.employees.add("Bob")
            client = await store.contacts.create(
                "Ivan Client",
                owner_employee_id=anna,
                addresses=[Address(kind=AddressKind.TELEGRAM, value="5001")],
            )
            t0 = utcnow() - timedelta(hours=1)
            await store.record(
                [
                    incoming("telegram", "support", "5001", "hello", t0),
                    incoming("telegram", "support", "5001", "price?", t0 + timedelta(minutes=1)),
                    incoming("telegram", "support", "7007", "who is this", t0 + timedelta(minutes=2)),
                ]
            )
            return {"anna": anna, "bob": bob, "client": client}
        finally:
            await store.close()

    return asyncio.run(main())


@pytest.fixture
def hub(tmp_path: Path) -> tuple[Touchhub, dict[str, int]]:
    th = Touchhub.sqlite(tmp_path / "m.db")
    assert th.db is not None
    return th, _seed(th.db)


def test_dialogs_are_listed_with_unread_counts(hub: tuple[Touchhub, dict[str, int]]) -> None:
    th, ids = hub
    out = th.ok("messenger", "dialogs")
    lines = out.splitlines()
    assert lines[0].split()[:5] == ["id", "account", "contact", "owner", "unread"]
    assert "Ivan Client" in out and "Anna" in out and "who is this" in out
    data = json.loads(th.ok("messenger", "dialogs", "--json", "--unanswered"))
    assert {d["counterpart"]: d["unread"] for d in data["items"]} == {"5001": 2, "7007": 1}
    mine = json.loads(th.ok("messenger", "dialogs", "--json", "--as", "201", "--mine"))
    assert [d["contact_id"] for d in mine["items"]] == [ids["client"]]
    bobs = json.loads(th.ok("messenger", "dialogs", "--json", "--as", "Bob", "--mine"))
    assert bobs["items"] == []
    assert json.loads(th.ok("messenger", "dialogs", "--json", "--channel", "vk"))["items"] == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["send", "--contact", "1", "--channel", "telegram", "--text", "hi"],
            "no telegram account is configured to send from",
        ),
        (
            ["send", "--contact", "1", "--channel", "vk", "--account", "x", "--text", "hi"],
            "no vk account 'x' is configured",
        ),
        (["send", "--contact", "1", "--channel", "icq", "--text", "hi"], "'icq' is not one of"),
        (["send", "--contact", "0", "--channel", "vk", "--text", "hi"], "--contact"),
        (["dialogs", "--account", "support"], "--account needs --channel"),
        (["dialogs", "--mine"], "--mine needs --as"),
        (["dialogs", "--as", "nobody"], "no employee matches 'nobody'"),
        (["dialogs", "--cursor", "bad"], "cursor 'bad'"),
    ],
)
def test_refusals_are_one_line(
    hub: tuple[Touchhub, dict[str, int]], args: list[str], message: str
) -> None:
    th, _ = hub
    result = th.fails("messenger", *args)
    assert message in result.output, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error")]
    assert len(errors) == 1, result.output
