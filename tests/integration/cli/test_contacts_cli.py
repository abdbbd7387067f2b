"""`touchhub contacts`: merge and unmerge, and `--token` seeing only what that user may."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from click.testing import CliRunner

from hub.activity import ActivityStore
from hub.cli import cli
from hub.model import Address, AddressKind


def _seed(url: str) -> dict[str, object]:
    """A head over Anna, Carol elsewhere; a client of each, a lead, and tokens."""

    async def main() -> dict[str, object]:
        store = await ActivityStore.open(url)
        try:
            head = await store.employees.add("Helen")
            anna = await store.employees.add("Anna", head_id=head)
            carol = await store.employees.add("Carol")
            made: dict[str, object] = {
                name: await store.contacts.create(
                    f"Client of {name}",
                    addresses=[Address(kind=AddressKind.PHONE, value=f"+7916000000{n}")],
                    owner_employee_id=owner,
                )
                for n, (name, owner) in enumerate(
                    (("anna", anna), ("anna2", anna), ("carol", carol), ("lead", None))
                )
            }
            made["anna_token"] = await store.tokens.create("anna", "employee", employee_id=anna)
            made["head_token"] = await store.tokens.create("helen", "head", employee_id=head)
            return made
        finally:
            await store.close()

    return asyncio.run(main())


def test_merge_then_unmerge_as_the_local_admin(tmp_path: Path) -> None:
    base = ["--lang", "en", "--db", f"sqlite:///{tmp_path}/cli.db"]  # its words are read
    ids = _seed(f"sqlite:///{tmp_path}/cli.db")
    runner = CliRunner()
    result = runner.invoke(
        cli, [*base, "contacts", "merge", str(ids["anna2"]), str(ids["carol"]), "--json"]
    )
    assert result.exit_code == 0, result.output
    merged = json.loads(result.stdout)
    assert merged["identities_moved"] == 1 and merged["merge_id"]
    result = runner.invoke(cli, [*base, "contacts", "unmerge", str(merged["merge_id"])])
    assert result.exit_code == 0, result.output
    assert f"#{ids['anna2']} is back with 1 identities" in result.stdout
    result = runner.invoke(cli, [*base, "contacts", "show", str(ids["anna2"]), "--json"])
    back = json.loads(result.stdout)
    assert back["id"] == ids["anna2"] and back["merged_into_id"] is None
    assert [i["value"] for i in back["identities"]] == ["+79160000001"]
    again = runner.invoke(cli, [*base, "contacts", "unmerge", str(merged["merge_id"])])
    assert again.exit_code != 0 and "already undone" in again.output


def test_token_limits_what_the_command_sees_and_changes(tmp_path: Path) -> None:
    base = ["--lang", "en", "--db", f"sqlite:///{tmp_path}/cli.db"]  # its words are read
    ids = _seed(f"sqlite:///{tmp_path}/cli.db")
    runner = CliRunner()
    as_anna = [*base, "contacts", "--token", str(ids["anna_token"])]
    result = runner.invoke(cli, [*as_anna, "list", "--json"])
    assert result.exit_code == 0, result.output
    assert {c["id"] for c in json.loads(result.stdout)} == {
        ids["anna"],
        ids["anna2"],
        ids["lead"],
    }
    hidden = runner.invoke(cli, [*as_anna, "show", str(ids["carol"])])
    assert hidden.exit_code != 0 and f"contact #{ids['carol']} does not exist" in hidden.output
    refused = runner.invoke(cli, [*as_anna, "merge", str(ids["anna2"]), str(ids["anna"])])
    assert refused.exit_code != 0 and "may not merge" in refused.output
    as_head = [*base, "contacts", "--token", str(ids["head_token"])]
    across = runner.invoke(cli, [*as_head, "merge", str(ids["anna2"]), str(ids["carol"])])
    assert across.exit_code != 0 and "does not exist" in across.output
    ok = runner.invoke(cli, [*as_head, "merge", str(ids["lead"]), str(ids["anna"]), "--json"])
    assert ok.exit_code == 0, ok.output
    bad = runner.invoke(cli, [*base, "contacts", "--token", "th_nope", "list"])
    assert bad.exit_code != 0 and "unknown or revoked" in bad.output
