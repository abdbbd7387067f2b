"""The command line refuses what the API refuses: the rules live where both go through."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hub.activity import ActivityFilter, ActivityStore
from hub.model import Address, AddressKind, Channel, Direction, Status, Touch
from tests.helpers.cli import CliResult, Touchhub


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/rules.db"


def cli(db: str, *args: str) -> CliResult:
    """`touchhub --db DB ARGS…` in-process; the helper fails the test on any traceback."""
    return Touchhub(db=db).run(*args)


def captured(db: str) -> dict[str, int]:
    """A received letter and a missed call, as capture writes them; their ids by kind."""

    async def write() -> dict[str, int]:
        store = await ActivityStore.open(db)
        try:
            await store.employees.add(
                "Petr", addresses=[Address(kind=AddressKind.EXTENSION, value="101")]
            )
            at = datetime(2026, 3, 2, 10, tzinfo=UTC)
            touches = [
                Touch(
                    source="imap:sales",
                    external_id="m1@acme.ru",
                    channel=Channel.EMAIL,
                    direction=Direction.IN,
                    status=Status.RECEIVED,
                    occurred_at=at,
                    counterparts=(Address(kind=AddressKind.EMAIL, value="client@acme.ru"),),
                    subject="Invoice",
                ),
                Touch(
                    source="ami:office",
                    external_id="1700000000.1",
                    channel=Channel.CALL,
                    direction=Direction.IN,
                    status=Status.MISSED,
                    occurred_at=at,
                    counterparts=(Address(kind=AddressKind.PHONE, value="+74951234567"),),
                    employee=Address(kind=AddressKind.EXTENSION, value="101"),
                ),
            ]
            await store.record(touches)
            page = await store.activities.list(ActivityFilter())
            return {
                row["channel"]: row["id"] for row in page.items if row["source"] != "callback"
            }
        finally:
            await store.close()

    return asyncio.run(write())


def test_complete_refuses_captured_touches_and_leaves_them_as_they_were(db: str) -> None:
    ids = captured(db)
    for activity_id in ids.values():
        before = json.loads(cli(db, "activities", "list", "--json").stdout)["items"]
        result = cli(db, "interaction", "complete", str(activity_id), "--result", "done")
        assert result.exit_code == 1, result.output
        assert "not a planned interaction" in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
        assert json.loads(cli(db, "activities", "list", "--json").stdout)["items"] == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--subject", "   "], "subject is empty"),
        (["--subject", "Call", "--hours", "-5"], "duration"),
        (["--subject", "Call", "--hours", "nan"], "duration"),
        (["--subject", "Call", "--at", "5448-01-01T10:00:00"], "occurred_at"),
        (["--subject", "Call", "--due", "0019-01-01T10:00:00"], "due_at"),
    ],
)
def test_interaction_add_refuses_what_the_api_refuses(
    db: str, args: list[str], message: str
) -> None:
    result = cli(db, "interaction", "add", "--kind", "call", *args)
    assert result.exit_code == 1, result.output
    assert message in result.stderr
    assert json.loads(cli(db, "activities", "list", "--json").stdout)["items"] == []


@pytest.mark.parametrize("extension", ["abc", "¹⁰¹", "١٠١", "10 1"])
def test_employee_extension_is_what_a_keypad_dials(db: str, extension: str) -> None:
    result = cli(db, "employees", "add", "Petr", "--extension", extension)
    assert result.exit_code == 1 and "not an extension" in result.stderr
    assert json.loads(cli(db, "employees", "list", "--json").stdout) == []


def test_employee_name_longer_than_the_column_is_refused(db: str) -> None:
    result = cli(db, "employees", "add", "Я" * 201)
    assert result.exit_code == 1 and "longer than 200" in result.stderr


def test_demo_seed_refuses_a_store_with_data_unless_forced(db: str) -> None:
    assert cli(db, "employees", "add", "Petr", "--extension", "101").exit_code == 0
    result = cli(db, "demo", "seed", "--activities", "50")
    assert result.exit_code == 1, result.output
    assert "already holds 1 employees" in result.stderr and "--force" in result.stderr
    assert len(json.loads(cli(db, "employees", "list", "--json").stdout)) == 1
    forced = cli(db, "demo", "seed", "--activities", "50", "--force")
    assert forced.exit_code == 0, forced.output
    assert len(json.loads(cli(db, "employees", "list", "--json").stdout)) > 1


@pytest.mark.parametrize(
    "args",
    [
        ["activities", "list", "--employee", "\u00b9"],
        ["kpi", "--employee", "\u00b2"],
        ["interaction", "add", "--kind", "task", "--subject", "s", "--employee", "\u0661"],
    ],
)
def test_a_unicode_digit_names_no_employee(db: str, args: list[str]) -> None:
    assert cli(db, "employees", "add", "Petr", "--extension", "101").exit_code == 0
    result = cli(db, *args)
    assert result.exit_code == 1 and "no employee matches" in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["contacts", "show", "9" * 5000],
        ["contacts", "show", "\u00b9"],
        ["contacts", "show", "1_0"],
        ["contacts", "list", "--limit", "0"],
        ["contacts", "list", "--offset", "-1"],
        ["activities", "list", "--limit", "100000"],
        ["activities", "list", "--contact", "\u0661"],
        ["interaction", "complete", "9" * 30, "--result", "r"],
    ],
)
def test_numbers_out_of_range_are_refused_not_clamped(db: str, args: list[str]) -> None:
    result = cli(db, *args)
    assert result.exit_code == 2, result.output
    assert "is not a whole number" in result.stderr
    assert "set_int_max_str_digits" not in result.stderr and len(result.stderr) < 400


@pytest.mark.parametrize(
    "data",
    [b"", b"not AMI at all\n", b"Asterisk Call Manager/7.0.3\r\n\r\nEvent: FullyBooted\r\n\r\n"],
)
def test_ami_replay_of_a_file_without_calls_says_so(
    db: str, tmp_path: Path, data: bytes
) -> None:
    file = tmp_path / "empty.raw"
    file.write_bytes(data)
    result = cli(db, "ami", "replay", str(file))
    assert result.exit_code == 1, result.output
    assert "no calls found" in result.stderr and result.stdout == ""
