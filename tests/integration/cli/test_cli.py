"""The command line as a user runs it, against a real store file."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from pathlib import Path

import pytest

from hub.config import load_settings
from tests.helpers.cli import Touchhub

CSV = (
    "name,organization,phone,email,segment\n"
    "Ivan Petrov,Acme,+7 495 1234567,ivan@acme.ru,A\n"
    "Anna,Beta,8 916 111-22-33;8 916 444-55-66,,B\n"
    "Broken,Gamma,123,,C\n"
)


@pytest.fixture
def touchhub(tmp_path: Path) -> Touchhub:
    return Touchhub.sqlite(tmp_path / "cli.db")


def test_import_contacts_twice_changes_nothing(touchhub: Touchhub, tmp_path: Path) -> None:
    file = tmp_path / "c.csv"
    file.write_text(CSV, encoding="utf-8")
    first = json.loads(touchhub.ok("import", "contacts", str(file), "--json"))
    assert (first["created"], first["updated"], first["rejected"]) == (2, 0, 1)
    assert first["rejects"][0]["line"] == 4 and "phone" in first["rejects"][0]["reason"]
    again = json.loads(touchhub.ok("import", "contacts", str(file), "--json"))
    assert (again["created"], again["updated"], again["rejected"]) == (0, 0, 1)
    assert "created 0, updated 0, rejected 1" in touchhub.ok("import", "contacts", str(file))
    listed = json.loads(touchhub.ok("contacts", "list", "--json"))
    assert sorted(c["name"] for c in listed) == ["Anna", "Ivan Petrov"]


def test_import_speaks_russian_and_refuses_an_unclosed_quote(tmp_path: Path) -> None:
    """A Russian user's first command: the report, each refused line and the summary in
    Russian; a file whose quote is never closed refused with its line, nothing imported."""
    touchhub = dataclasses.replace(Touchhub.sqlite(tmp_path / "ru.db"), lang="ru")
    file = tmp_path / "клиенты.csv"
    file.write_bytes(
        "ФИО;Телефон;Email\nИван Петров;+7 495 123-45-67;\nАнна;8 (495) 123-45-67;\nОльга;;ольга@\n".encode("cp1251")
    )
    result = touchhub.run("import", "contacts", str(file))
    assert result.exit_code == 0, result.output
    assert "строка 3: телефон +74951234567 уже есть в строке 2" in result.stderr
    assert "строка 4: email: «ольга@» — не адрес e-mail" in result.stderr
    assert "импорт клиенты.csv: 1/1 готово" in result.stderr
    assert "создано 1, обновлено 0, без изменений 0, отклонено 2" in result.stdout

    broken = tmp_path / "broken.csv"
    broken.write_text('name,phone\nИван,+74957654321\n"Пётр,+74957654322\nОля,+74957654323\n', encoding="utf-8")
    refused = touchhub.run("import", "contacts", str(broken))
    assert refused.exit_code != 0 and "Traceback" not in refused.output
    assert "Ошибка: строка 3: здесь начинается поле в кавычках, которое нигде не закрыто" in refused.output
    listed = json.loads(touchhub.ok("contacts", "list", "--json", "-q", "+74957654321"))
    assert listed == []  # nothing of the file was imported


def test_employees_import_reads_a_russian_staff_list_and_says_why_in_russian(tmp_path: Path) -> None:
    touchhub = dataclasses.replace(Touchhub.sqlite(tmp_path / "staff.db"), lang="ru")
    staff = tmp_path / "сотрудники.csv"
    staff.write_bytes(
        (
            "ФИО;Должность;Руководитель;Внутренний;Почта\n"
            "Котов Илья;Менеджер;Сидорова Анна;702;\n"
            "Сидорова Анна;Руководитель отдела;;701;anna@acme.ru\n"
            "Орлов Пётр;Менеджер;Никто;703;\n"
            "Зайцев Олег;Менеджер;;7٠4;\n"
            "Белов Иван;Стажёр;Зайцев Олег;705;\n"
        ).encode()  # UTF-8: cp1251 has no Arabic-Indic digits
    )
    result = touchhub.run("employees", "import", str(staff))
    assert result.exit_code == 0, result.output
    assert "строка 4: руководителя 'Никто' нет ни в файле, ни в базе" in result.stderr
    assert "строка 5: «7٠4» — не внутренний номер" in result.stderr
    assert "строка 6: руководитель 'Зайцев Олег' не импортирован (строка 5)" in result.stderr
    assert "создано 2, уже были 0, отклонено 3" in result.stdout
    people = {e["name"]: e for e in json.loads(touchhub.ok("employees", "list", "--json"))}
    assert people["Котов Илья"]["head_id"] == people["Сидорова Анна"]["id"]
    again = touchhub.ok("employees", "import", str(staff))
    assert "создано 0, уже были 2, отклонено 3" in again


def test_import_cp1251_updates_a_lead_found_by_phone(touchhub: Touchhub, tmp_path: Path) -> None:
    file = tmp_path / "a.csv"
    file.write_text("name,phone\n+79161112233,+79161112233\n", encoding="utf-8")
    touchhub.ok("import", "contacts", str(file))
    ru = tmp_path / "ru.csv"
    ru.write_bytes("ФИО;Телефон;Город\nАнна Смирнова;8 916 111-22-33;Тверь\n".encode("cp1251"))
    report = json.loads(touchhub.ok("import", "contacts", str(ru), "--json"))
    assert (report["created"], report["updated"]) == (0, 1)
    (contact,) = json.loads(
        touchhub.ok("contacts", "list", "--json", "-q", "+7 916 111 22 33")
    )
    assert contact["name"] == "Анна Смирнова" and contact["city"] == "Тверь"


def test_employees_interactions_activities_and_tokens(touchhub: Touchhub, tmp_path: Path) -> None:
    staff = tmp_path / "staff.csv"
    staff.write_text(
        "name,position,head,extension,email\nPetr,Manager,Olga,101,petr@acme.ru\n"
        "Olga,Head of sales,,100,olga@acme.ru\nLost,Manager,Nobody,102,\n",
        encoding="utf-8",
    )
    report = json.loads(touchhub.ok("employees", "import", str(staff), "--json"))
    assert (report["created"], report["rejected"]) == (2, 1)
    people = {e["name"]: e for e in json.loads(touchhub.ok("employees", "list", "--json"))}
    assert people["Petr"]["head_id"] == people["Olga"]["id"]
    added = json.loads(
        touchhub.ok(
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
    # A time without an offset is the company's clock ([kpi] timezone, Moscow by default):
    # 10:00 in Moscow is 07:00 UTC. An explicit offset is taken as written.
    assert added["due_at"].startswith("2030-01-01T07:00:00"), added["due_at"]
    written = json.loads(
        touchhub.ok(
            "interaction", "add", "--kind", "call", "--subject", "Offset", "--employee", "101",
            "--due", "2030-01-01T10:00:00+05:00", "--json",
        )
    )  # fmt: skip
    assert written["due_at"].startswith("2030-01-01T05:00:00"), written["due_at"]
    done = json.loads(
        touchhub.ok("interaction", "complete", str(added["id"]), "--result", "ok", "--json")
    )
    assert done["status"] == "completed"
    listed = json.loads(touchhub.ok("activities", "list", "--employee", "Petr", "--json"))
    assert [a["id"] for a in listed["items"]] == [added["id"], written["id"]] or [
        a["id"] for a in listed["items"]
    ] == [written["id"], added["id"]]
    since = json.loads(
        touchhub.ok("activities", "list", "--since", "2030-01-01 09:30", "--json")
    )  # 09:30 in Moscow is 06:30 UTC: after the call (05:00 UTC), before the meeting (07:00)
    assert [a["id"] for a in since["items"]] == [added["id"]]
    token = touchhub.ok("token", "create", "--role", "head", "--employee", "Olga").strip()
    assert token.startswith("th_")


def test_errors_are_clear_and_exit_non_zero(touchhub: Touchhub) -> None:
    assert "contact #424242 does not exist" in touchhub.fails("contacts", "show", "424242").output
    result = Touchhub(db="postgresql://u:pw@127.0.0.1:1/x").fails("contacts", "list")
    assert "cannot open the store" in result.output and "pw" not in result.output
    result = touchhub.fails("employees", "add", "X", "--extension", "10 1")
    assert "not an extension" in result.output


def test_init_writes_a_config_that_loads(tmp_path: Path) -> None:
    config = tmp_path / "touchhub.toml"
    Touchhub.sqlite(tmp_path / "i.db", config=config).ok("init")
    text = config.read_text()
    for section in (
        "[store]",
        "[web]",
        "[telephony.pbx.office]",
        "[email.accounts.sales]",
        "[kpi]",
    ):
        assert section in text
    assert load_settings(config).store.default_region == "RU"


def test_bad_config_names_the_key(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text('[store]\nurl = "env:TOUCHHUB_TEST_MISSING"\n')
    touchhub = Touchhub(config=config)
    assert "TOUCHHUB_TEST_MISSING" in touchhub.fails("contacts", "list").output
    config.write_text("[store]\nbatch_size = -1\n")
    assert "store.batch_size" in touchhub.fails("contacts", "list").output


def test_console_entry_point_runs(tmp_path: Path) -> None:
    result = Touchhub.sqlite(tmp_path / "e.db").run_process("contacts", "list", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == []


def test_kpi_rebuild_restores_the_same_numbers(touchhub: Touchhub, tmp_path: Path) -> None:
    """A store whose client-base deltas are gone (as before migration 0003) gets them back
    from `kpi rebuild`, which names the steps and gives the same table."""
    touchhub.ok("demo", "seed", "--activities", "2000")
    before = json.loads(touchhub.ok("kpi", "--json"))
    db = sqlite3.connect(tmp_path / "cli.db")
    owned = db.execute(
        "SELECT count(*) FROM contacts WHERE owner_employee_id IS NOT NULL"
        " AND merged_into_id IS NULL"
    ).fetchone()[0]
    for table in ("kpi_client_base_meta", "kpi_client_state", "kpi_owner_day", "kpi_owner_month"):
        db.execute(f"DELETE FROM {table}")
    db.commit()
    db.close()
    scanned = json.loads(touchhub.ok("kpi", "--json"))
    # a scan gives the same facts; only the deltas know last month's client base (arrows)
    assert [(c["employee"], c["indicator"], c["fact"], c["records"]) for c in scanned] == [
        (c["employee"], c["indicator"], c["fact"], c["records"]) for c in before
    ]
    result = touchhub.run("kpi", "rebuild")
    assert result.exit_code == 0, result.output
    assert "rebuilding roll-ups" in result.stderr and "rebuilding client base" in result.stderr
    assert f"client base: {owned} owned clients (forgotten after 30 days)" in result.stdout
    assert json.loads(touchhub.ok("kpi", "--json")) == before


def test_reimport_of_an_unchanged_file_creates_and_updates_nothing(
    touchhub: Touchhub, tmp_path: Path
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
    first = json.loads(touchhub.ok("import", "contacts", str(file), "--json"))
    assert (first["created"], first["updated"]) == (3, 0)
    assert first["rejects"] == [{"line": 4, "reason": "phone +74951234567 is already on line 3"}]
    for _ in range(2):
        again = json.loads(touchhub.ok("import", "contacts", str(file), "--json"))
        assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 3)
    names = sorted(c["name"] for c in json.loads(touchhub.ok("contacts", "list", "--json")))
    assert names == ["Ivan", "Nameless Corp contact", "Olga"]
