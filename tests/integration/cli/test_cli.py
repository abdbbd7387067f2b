"""The command line as a user runs it, against a real store file."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from hub.cli import cli

CSV = (
    "name,organization,phone,email,segment\n"
    "Ivan Petrov,Acme,+7 495 1234567,ivan@acme.ru,A\n"
    "Anna,Beta,8 916 111-22-33;8 916 444-55-66,,B\n"
    "Broken,Gamma,123,,C\n"
)


@pytest.fixture
def runner_db(tmp_path: Path) -> tuple[CliRunner, list[str]]:
    return CliRunner(), ["--db", f"sqlite:///{tmp_path}/cli.db"]


def invoke(runner_db: tuple[CliRunner, list[str]], *args: str) -> str:
    runner, base = runner_db
    result = runner.invoke(cli, [*base, *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


def test_import_contacts_twice_changes_nothing(
    runner_db: tuple[CliRunner, list[str]], tmp_path: Path
) -> None:
    file = tmp_path / "c.csv"
    file.write_text(CSV, encoding="utf-8")
    first = json.loads(invoke(runner_db, "import", "contacts", str(file), "--json"))
    assert (first["created"], first["updated"], first["rejected"]) == (2, 0, 1)
    assert first["rejects"][0]["line"] == 4 and "phone" in first["rejects"][0]["reason"]
    again = json.loads(invoke(runner_db, "import", "contacts", str(file), "--json"))
    assert (again["created"], again["updated"], again["rejected"]) == (0, 0, 1)
    assert "created 0, updated 0, rejected 1" in invoke(runner_db, "import", "contacts", str(file))
    listed = json.loads(invoke(runner_db, "contacts", "list", "--json"))
    assert sorted(c["name"] for c in listed) == ["Anna", "Ivan Petrov"]


def test_import_cp1251_updates_a_lead_found_by_phone(
    runner_db: tuple[CliRunner, list[str]], tmp_path: Path
) -> None:
    file = tmp_path / "a.csv"
    file.write_text("name,phone\n+79161112233,+79161112233\n", encoding="utf-8")
    invoke(runner_db, "import", "contacts", str(file))
    ru = tmp_path / "ru.csv"
    ru.write_bytes("ФИО;Телефон;Город\nАнна Смирнова;8 916 111-22-33;Тверь\n".encode("cp1251"))
    report = json.loads(invoke(runner_db, "import", "contacts", str(ru), "--json"))
    assert (report["created"], report["updated"]) == (0, 1)
    (contact,) = json.loads(
        invoke(runner_db, "contacts", "list", "--json", "-q", "+7 916 111 22 33")
    )
    assert contact["name"] == "Анна Смирнова" and contact["city"] == "Тверь"


def test_employees_interactions_activities_and_tokens(
    runner_db: tuple[CliRunner, list[str]], tmp_path: Path
) -> None:
    staff = tmp_path / "staff.csv"
    staff.write_text(
        "name,position,head,extension,email\nPetr,Manager,Olga,101,petr@acme.ru\n"
        "Olga,Head of sales,,100,olga@acme.ru\nLost,Manager,Nobody,102,\n",
        encoding="utf-8",
    )
    report = json.loads(invoke(runner_db, "employees", "import", str(staff), "--json"))
    assert (report["created"], report["rejected"]) == (2, 1)
    people = {e["name"]: e for e in json.loads(invoke(runner_db, "employees", "list", "--json"))}
    assert people["Petr"]["head_id"] == people["Olga"]["id"]
    added = json.loads(
        invoke(
            runner_db,
            "interaction",
            "add",
            "--kind",
            "meeting",
            "--subject",
            "Demo",
            "--employee",
            "101",
            "--due",
            "2030-01-01T10:00:00",
            "--json",
        )
    )
    assert added["status"] == "planned" and added["employee_id"] == people["Petr"]["id"]
    done = json.loads(
        invoke(runner_db, "interaction", "complete", str(added["id"]), "--result", "ok", "--json")
    )
    assert done["status"] == "completed"
    listed = json.loads(invoke(runner_db, "activities", "list", "--employee", "Petr", "--json"))
    assert [a["id"] for a in listed["items"]] == [added["id"]]
    token = invoke(runner_db, "token", "create", "--role", "head", "--employee", "Olga").strip()
    assert token.startswith("th_")


def test_errors_are_clear_and_exit_non_zero(runner_db: tuple[CliRunner, list[str]]) -> None:
    runner, base = runner_db
    result = runner.invoke(cli, [*base, "contacts", "show", "424242"])
    assert result.exit_code != 0 and "contact #424242 does not exist" in result.output
    result = runner.invoke(cli, ["--db", "postgresql://u:pw@127.0.0.1:1/x", "contacts", "list"])
    assert (
        result.exit_code != 0
        and "cannot open the store" in result.output
        and "pw" not in result.output
    )
    result = runner.invoke(cli, [*base, "employees", "add", "X", "--extension", "10 1"])
    assert result.exit_code != 0 and "not an extension" in result.output


def test_init_writes_a_config_that_loads(tmp_path: Path) -> None:
    config = tmp_path / "touchhub.toml"
    result = CliRunner().invoke(
        cli, ["--config", str(config), "--db", f"sqlite:///{tmp_path}/i.db", "init"]
    )
    assert result.exit_code == 0, result.output
    text = config.read_text()
    for section in (
        "[store]",
        "[web]",
        "[telephony.pbx.office]",
        "[email.accounts.sales]",
        "[kpi]",
    ):
        assert section in text
    from hub.config import load_settings

    assert load_settings(config).store.default_region == "RU"


def test_bad_config_names_the_key(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text('[store]\nurl = "env:TOUCHHUB_TEST_MISSING"\n')
    result = CliRunner().invoke(cli, ["--config", str(config), "contacts", "list"])
    assert result.exit_code != 0 and "TOUCHHUB_TEST_MISSING" in result.output
    config.write_text("[store]\nbatch_size = -1\n")
    result = CliRunner().invoke(cli, ["--config", str(config), "contacts", "list"])
    assert result.exit_code != 0 and "store.batch_size" in result.output


def test_console_entry_point_runs(tmp_path: Path) -> None:
    exe = Path(sys.executable).with_name("touchhub")
    out = subprocess.run(
        [str(exe), "--db", f"sqlite:///{tmp_path}/e.db", "contacts", "list", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert json.loads(out.stdout) == []


def test_kpi_rebuild_restores_the_same_numbers(
    runner_db: tuple[CliRunner, list[str]], tmp_path: Path
) -> None:
    """A store whose client-base deltas are gone (as before migration 0003) gets them back
    from `kpi rebuild`, which names the steps and gives the same table."""
    import sqlite3

    invoke(runner_db, "demo", "seed", "--activities", "2000")
    before = json.loads(invoke(runner_db, "kpi", "--json"))
    db = sqlite3.connect(tmp_path / "cli.db")
    owned = db.execute(
        "SELECT count(*) FROM contacts WHERE owner_employee_id IS NOT NULL"
        " AND merged_into_id IS NULL"
    ).fetchone()[0]
    for table in ("kpi_client_base_meta", "kpi_client_state", "kpi_owner_day", "kpi_owner_month"):
        db.execute(f"DELETE FROM {table}")
    db.commit()
    db.close()
    scanned = json.loads(invoke(runner_db, "kpi", "--json"))
    # a scan gives the same facts; only the deltas know last month's client base (arrows)
    assert [(c["employee"], c["indicator"], c["fact"], c["records"]) for c in scanned] == [
        (c["employee"], c["indicator"], c["fact"], c["records"]) for c in before
    ]
    runner, base = runner_db
    result = runner.invoke(cli, [*base, "kpi", "rebuild"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "rebuilding roll-ups" in result.stderr and "rebuilding client base" in result.stderr
    assert f"client base: {owned} owned clients (forgotten after 30 days)" in result.stdout
    assert json.loads(invoke(runner_db, "kpi", "--json")) == before


def test_reimport_of_an_unchanged_file_creates_and_updates_nothing(
    runner_db: tuple[CliRunner, list[str]], tmp_path: Path
) -> None:
    """A row with only a name, and two rows sharing a number, are no-ops the second time."""
    file = tmp_path / "same.csv"
    file.write_text(
        "name,organization,phone,email\n"
        "Nameless Corp contact,Acme,,\n"
        "Ivan,,+7 495 123-45-67,\n"
        "Petr,,8 495 1234567,\n"
        "Olga,,,olga@acme.ru\n",
        encoding="utf-8",
    )
    first = json.loads(invoke(runner_db, "import", "contacts", str(file), "--json"))
    assert (first["created"], first["updated"]) == (3, 0)
    assert first["rejects"] == [{"line": 4, "reason": "phone +74951234567 is already on line 3"}]
    for _ in range(2):
        again = json.loads(invoke(runner_db, "import", "contacts", str(file), "--json"))
        assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 3)
    names = sorted(c["name"] for c in json.loads(invoke(runner_db, "contacts", "list", "--json")))
    assert names == ["Ivan", "Nameless Corp contact", "Olga"]
