"""Human CLI output in Russian and English: the contact card and the KPI table."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import pytest

from hub.activity import ActivityStore
from hub.demo import seed
from hub.i18n.catalogue import entries
from hub.model import Address, AddressKind, Channel, Status
from tests.helpers.cli import Touchhub


def _store(path: Path) -> dict[str, int]:
    """A small demo world, and Ivan with an old card of his merged into him."""

    async def main() -> dict[str, int]:
        store = await ActivityStore.open(f"sqlite:///{path}")
        try:
            await seed(store.engine, activities=3000, employees=4, contacts=40)
            head = await store.employees.resolve("Анна Иванова")
            ivan = await store.contacts.create(
                "Ivan Petrov",
                addresses=[
                    Address(kind=AddressKind.PHONE, value="+74951230001"),
                    Address(kind=AddressKind.EMAIL, value="ivan@example.com"),
                ],
                organization="Acme LLC",
                owner_employee_id=head,
            )
            old = await store.contacts.create(
                "Ivan P. (old card)",
                addresses=[Address(kind=AddressKind.EMAIL, value="ivan@old.example.com")],
            )
            await store.contacts.merge(old, ivan, by="test")
            return {"ivan": ivan, "old": old, "head": head}
        finally:
            await store.close()

    return asyncio.run(main())


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    path = tmp_path_factory.mktemp("cli-i18n") / "store.db"
    return path, _store(path)


def _cli(path: Path, lang: str | None) -> Touchhub:
    return Touchhub(db=f"sqlite:///{path}", lang=lang)


def test_contact_card_is_readable_in_both_languages(world: tuple[Path, dict[str, int]]) -> None:
    path, ids = world
    ru = _cli(path, "ru").ok("contacts", "show", str(ids["ivan"]))
    en = _cli(path, "en").ok("contacts", "show", str(ids["ivan"]))
    for text in (ru, en):
        assert "None" not in text and "{'" not in text and "[{" not in text
        assert "Ivan Petrov" in text and "+74951230001" in text and "Acme LLC" in text
        assert "Анна Иванова" in text  # the owner by name, not by id
    assert f"Контакт №{ids['ivan']} · Ivan Petrov" in ru
    assert re.search(r"Организация:\s+Acme LLC", ru)
    assert "телефон +74951230001" in ru and "Ответственный" in ru
    assert re.search(r"Organisation:\s+Acme LLC", en) and "Owner" in en
    assert "Region" not in en  # empty fields are left out


def test_a_merged_id_says_so(world: tuple[Path, dict[str, int]]) -> None:
    path, ids = world
    ru = _cli(path, "ru").ok("contacts", "show", str(ids["old"]))
    first = ru.splitlines()[0]
    assert first == f"№{ids['old']} объединён с №{ids['ivan']} «Ivan Petrov»; показан этот контакт."
    en = _cli(path, "en").ok("contacts", "show", str(ids["old"]))
    assert en.splitlines()[0].startswith(f"#{ids['old']} was merged into #{ids['ivan']}")
    data = json.loads(_cli(path, None).ok("contacts", "show", str(ids["old"]), "--json"))
    assert data["id"] == ids["ivan"]
    assert data["merged_from"] == {
        "id": ids["old"],
        "name": "Ivan P. (old card)",
        "merged_into_id": ids["ivan"],
    }
    plain = json.loads(_cli(path, None).ok("contacts", "show", str(ids["ivan"]), "--json"))
    assert "merged_from" not in plain


def test_kpi_table_in_russian(world: tuple[Path, dict[str, int]]) -> None:
    path, _ = world
    ru = _cli(path, "ru").ok("kpi")
    assert ru.startswith("Показатели за ")
    lines = ru.splitlines()
    # A running month says first what it judges (in Russian too); then the table.
    if lines[1].startswith("Текущий период: "):
        del lines[1]
    assert lines[1].split()[:3] == ["Сотрудник", "Показатель", "Факт"]
    assert "Исходящие телефонные звонки" in ru and "Пропущенные звонки, по которым не перезвонили" in ru
    english = {t["en"] for k, t in entries().items() if k.startswith("indicator.")}
    assert not [title for title in english if title in ru]
    en = _cli(path, "en").ok("kpi")
    assert en.startswith("KPI for ") and "Outbound calls" in en
    monitor = _cli(path, "ru").ok("kpi", "monitor")
    assert "Критично (" in monitor and "Без плана: " in monitor


def test_language_by_config_and_time_zone(
    world: tuple[Path, dict[str, int]], tmp_path: Path
) -> None:
    path, _ = world
    # No --lang: the default [kpi] timezone is Europe/Moscow, so Russian.
    assert _cli(path, None).ok("kpi").startswith("Показатели за ")
    config = tmp_path / "touchhub.toml"
    config.write_text(f'[store]\nurl = "sqlite:///{path}"\n[web]\nlocale = "en"\n')
    assert Touchhub(config=config, lang=None).ok("kpi").startswith("KPI for ")
    config.write_text(f'[store]\nurl = "sqlite:///{path}"\n[kpi]\ntimezone = "Europe/Berlin"\n')
    assert Touchhub(config=config, lang=None).ok("kpi").startswith("KPI for ")
    config.write_text(f'[store]\nurl = "sqlite:///{path}"\n[kpi]\ntimezone = "Asia/Novosibirsk"\n')
    assert Touchhub(config=config, lang=None).ok("kpi").startswith("Показатели за ")


def test_activity_and_contact_lists_in_russian(world: tuple[Path, dict[str, int]]) -> None:
    path, _ = world
    text = _cli(path, "ru").ok("activities", "list", "--limit", "200")
    head = text.splitlines()[0].split()
    assert head[:5] == ["№", "когда", "канал", "направление", "статус"]
    codes = {s.value for s in Status} | {c.value for c in Channel} | {"in", "out", "internal"}
    body = "\n".join(text.splitlines()[2:])
    words = set(re.findall(r"(?<![\w.@+-])[a-z_]+(?![\w.@-])", body))
    assert not words & codes, words & codes
    assert "Звонок" in body and "исходящий" in body
    listed = _cli(path, "ru").ok("contacts", "list", "--limit", "100")
    assert listed.splitlines()[0].split()[:3] == ["№", "имя", "организация"]
    assert "лид" in listed  # the demo has leads
    english = _cli(path, "en").ok("activities", "list", "--limit", "5")
    assert english.splitlines()[0].split()[:3] == ["id", "when", "channel"]


def test_kpi_files_in_russian(world: tuple[Path, dict[str, int]], tmp_path: Path) -> None:
    """--csv and --xlsx write the catalogue's words; a Russian CSV is ';'-separated."""
    from openpyxl import load_workbook

    path, _ = world
    ru_csv, en_csv, ru_xlsx = tmp_path / "ru.csv", tmp_path / "en.csv", tmp_path / "ru.xlsx"
    _cli(path, "ru").ok("kpi", "--csv", str(ru_csv), "--xlsx", str(ru_xlsx))
    _cli(path, "en").ok("kpi", "--csv", str(en_csv))
    ru = ru_csv.read_text(encoding="utf-8-sig").splitlines()
    assert ru[0].startswith("Сотрудник;Показатель;Факт;План;% плана;")
    assert "Исходящие телефонные звонки" in ru_csv.read_text(encoding="utf-8-sig")
    assert en_csv.read_text(encoding="utf-8-sig").startswith("Employee,Indicator,Fact,")
    _cli(path, "ru").ok("kpi", "--csv", str(ru_csv), "--delimiter", ",")
    assert ru_csv.read_text(encoding="utf-8-sig").startswith("Сотрудник,Показатель,")
    sheet = load_workbook(ru_xlsx).active
    assert sheet is not None
    header = [c.value for c in sheet[1]]
    assert header[:3] == ["Сотрудник", "Показатель", "Факт"]
    statuses = {r[8] for r in sheet.iter_rows(min_row=2, values_only=True)}
    assert statuses <= {"отстаёт", "под угрозой", "в норме", "не оценивается"}, statuses
