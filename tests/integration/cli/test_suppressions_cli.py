"""`touchhub suppressions`: add, list, lift, each role's `--token`; bounces from Dovecot."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from hub.activity import ActivityStore
from hub.campaigns import verp
from hub.campaigns.signing import SigningKeys
from hub.model import Address, AddressKind
from tests.helpers import dsn_samples as samples
from tests.helpers.cli import Touchhub
from tests.helpers.dovecot import DEFAULT_USERS, Dovecot

SECRET = "c" * 40


def _seed(url: str) -> dict[str, str]:
    async def main() -> dict[str, str]:
        store = await ActivityStore.open(url)
        try:
            await store.contacts.create(
                "Anna", addresses=[Address(kind=AddressKind.EMAIL, value="anna@client.ru")]
            )
            head = await store.employees.add("Helen")
            alice = await store.employees.add("Alice", head_id=head)
            return {
                "marketer": await store.tokens.create("mia", "marketer"),
                "head": await store.tokens.create("helen", "head", employee_id=head),
                "employee": await store.tokens.create("alice", "employee", employee_id=alice),
                "admin": await store.tokens.create("root", "admin"),
            }
        finally:
            await store.close()

    return asyncio.run(main())


def test_lifecycle_with_each_role(tmp_path: Path) -> None:
    th = Touchhub.sqlite(tmp_path / "cli.db")
    tokens = _seed(th.db or "")
    refused = th.fails(
        "suppressions", "--token", tokens["employee"], "add", "--channel", "email", "a@b.ru"
    )
    assert "may not add suppressions" in refused.output
    th.fails("suppressions", "--token", tokens["employee"], "list")
    th.fails("suppressions", "--token", "nope", "list")

    made = json.loads(
        th.ok(
            "suppressions", "--token", tokens["marketer"], "add", "--channel", "email",
            "Anna@Client.RU", "--detail", "asked by phone", "--json",
        )
    )
    assert (made["address"], made["created"], made["created_by"]) == ("anna@client.ru", True, "mia")
    again = th.ok("suppressions", "add", "--channel", "email", "anna@client.ru")
    assert "already suppressed" in again
    for who in ("marketer", "head", "admin"):
        listed = json.loads(th.ok("suppressions", "--token", tokens[who], "list", "--json"))
        assert listed["total"] == 1
    assert "anna@client.ru" in th.ok("suppressions", "list")

    for who in ("marketer", "head"):
        out = th.fails("suppressions", "--token", tokens[who], "lift", str(made["id"]))
        assert "may not lift" in out.output
    lifted = th.ok("suppressions", "--token", tokens["admin"], "lift", str(made["id"]))
    assert "lifted by root" in lifted or "by root" in lifted
    assert json.loads(th.ok("suppressions", "list", "--json"))["total"] == 0
    assert json.loads(th.ok("suppressions", "list", "--state", "lifted", "--json"))["total"] == 1
    th.fails("suppressions", "lift", "999")
    th.fails("suppressions", "add", "--channel", "sms", "not a phone")


def test_fetch_bounces_from_the_configured_mailbox(tmp_path: Path, dovecot: Dovecot) -> None:
    config = tmp_path / "touchhub.toml"
    config.write_text(
        f"""
[store]
url = "sqlite:///{tmp_path}/cli.db"

[campaigns]
secret = "env:TH_CAMPAIGN_SECRET"
bounce_address = "bounces@acme.ru"
bounce_mailbox = "bounces/INBOX"

[email.accounts.bounces]
imap = "{dovecot.url('ivan')}"
password = "{DEFAULT_USERS['ivan']}"
""",
        encoding="utf-8",
    )
    th = Touchhub(config=config, env={"TH_CAMPAIGN_SECRET": SECRET})
    _seed(f"sqlite:///{tmp_path}/cli.db")
    keys = SigningKeys.single(SECRET.encode())
    path = verp.return_path(keys, "bounces@acme.ru", 2, 7, "anna@client.ru")
    dovecot.append("ivan", [samples.qmail("anna@client.ru", path, "<x@acme.ru>")])
    out = json.loads(th.ok("suppressions", "fetch-bounces", "--json"))
    assert (out["letters"], out["recorded"]) == (1, 1)
    listed = json.loads(th.ok("suppressions", "list", "--json"))
    assert [(i["address"], i["reason"], i["campaign_id"]) for i in listed["items"]] == [
        ("anna@client.ru", "bounced", 2)
    ]
    assert json.loads(th.ok("suppressions", "fetch-bounces", "--json"))["letters"] == 0
