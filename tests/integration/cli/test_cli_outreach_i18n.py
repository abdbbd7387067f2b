"""Human output of campaign, template, segment, sms, messenger and suppressions in Russian.

The catalogue check of these commands: every line they print in Russian mode is the
catalogue's, with no English word left (only the data: addresses, account names, the
filter's JSON), plurals by Babel, and the English mode still English.
"""

from __future__ import annotations

import asyncio
import json
import re
from datetime import timedelta
from pathlib import Path

import pytest

from hub.activity import ActivityStore
from hub.model import Address, AddressKind, utcnow
from tests.helpers.campaign_world import addresses, email_template, seed_contacts
from tests.helpers.cli import CliResult, Touchhub
from tests.helpers.fake_messenger import incoming

#: Latin words a Russian line may hold: data, not words (the sender "email:ivan" and the
#: messenger account "telegram:support" as configured, the local operator "cli" who lifts,
#: the SMS encoding, a markup language).
DATA_WORDS = {"email", "ivan", "telegram", "support", "ucs2", "gsm7", "HTML", "cli"}
#: What is data wherever it appears: e-mail addresses, JSON (a segment's filter), options.
DATA = re.compile(r"\S+@\S+|\{.*\}|--[\w-]+")
LATIN = re.compile(r"[A-Za-z][A-Za-z0-9_]{2,}")


def _world(path: Path) -> dict[str, int]:
    async def main() -> dict[str, int]:
        store = await ActivityStore.open(f"sqlite:///{path}")
        try:
            contacts = await seed_contacts(store, addresses(5))
            template = await email_template(store, "Новости")
            anna = await store.employees.add(
                "Анна Смирнова", addresses=[Address(kind=AddressKind.EXTENSION, value="201")]
            )
            await store.contacts.update(
                contacts[0],
                owner_employee_id=anna,
                add_addresses=[Address(kind=AddressKind.TELEGRAM, value="5001")],
            )
            t0 = utcnow() - timedelta(hours=1)
            await store.record(
                [
                    incoming("telegram", "support", "5001", "Добрый день", t0),
                    incoming("telegram", "support", "5001", "Сколько стоит?", t0 + timedelta(minutes=1)),
                ]
            )
            return {"template": template, "contact": contacts[0]}
        finally:
            await store.close()

    return asyncio.run(main())


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    folder = tmp_path_factory.mktemp("outreach-i18n")
    db = folder / "store.db"
    ids = _world(db)
    config = folder / "touchhub.toml"
    config.write_text(
        "demo_on_empty = false\n"
        f'[store]\nurl = "sqlite:///{db}"\n'
        '[email.accounts.ivan]\npassword = "pw"\naddresses = ["ivan@acme.ru"]\n'
        'smtp = "smtp://127.0.0.1:9"\n'
        '[campaigns]\ncompany_name = "Акме"\n',
        encoding="utf-8",
    )
    return config, ids


def _russian(result: CliResult) -> str:
    """The output, checked: no English word outside the data."""
    text = result.output
    words = [w for w in LATIN.findall(DATA.sub("", text)) if w not in DATA_WORDS]
    assert not words, (words, text)
    return text


def test_every_line_of_the_outreach_commands_is_russian(world: tuple[Path, dict[str, int]]) -> None:
    config, ids = world
    ru = Touchhub(config=config, lang="ru")
    template = str(ids["template"])

    saved = _russian(ru.run("template", "add-version", template, "--subject", "Зима",
                            "--html", "<p>Скидки</p>"))  # fmt: skip
    assert saved.strip() == f"шаблон {template}, версия 2"
    shown = _russian(ru.run("template", "show", template))
    assert "название: Новости" in shown and "канал: Письмо" in shown and "тема: Зима" in shown

    kazan = json.dumps({"field": "city", "op": "eq", "value": "Казань"}, ensure_ascii=False)
    segment = _russian(ru.run("segment", "create", "--name", "Казань", "--filter", kazan)).split()[1]
    listed = _russian(ru.run("segment", "list")).splitlines()
    assert listed[0].split() == ["№", "название", "условие"]
    counted = _russian(ru.run("segment", "count", segment, "--sample", "2")).splitlines()
    assert counted[0] == "5 контактов" and counted[1].startswith("выборка: ")
    first = json.dumps({"field": "name", "op": "eq", "value": f"Клиент {ids['contact']}"}, ensure_ascii=False)
    one = _russian(ru.run("segment", "count", "--filter", first))
    assert one.strip() == "1 контакт"

    created = _russian(ru.run("campaign", "create", "--name", "Зимняя", "--template", template,
                              "--segment", segment, "--sender", "ivan"))  # fmt: skip
    lines = created.splitlines()
    campaign = re.match(r"Рассылка (\d+) «Зимняя»: черновик \(Письмо через email:ivan\)", lines[0])
    assert campaign, lines[0]
    assert lines[1] == "0 получателей: " + ", ".join(
        f"{s} 0" for s in ("в очереди", "отправляется", "отправлено", "отложено", "ошибка",
                           "не доставлено", "пропущено", "неизвестно")
    )  # fmt: skip
    number = campaign.group(1)
    started = _russian(ru.run("campaign", "start", number)).splitlines()
    assert started[0].endswith("идёт (Письмо через email:ivan)")
    assert started[1].startswith("5 получателей: в очереди 5, ")
    assert _russian(ru.run("campaign", "pause", number)).splitlines()[0].endswith(
        "приостановлена (Письмо через email:ivan)"
    )
    table = _russian(ru.run("campaign", "list")).splitlines()
    assert table[0].split() == ["№", "название", "состояние", "канал", "отправлено", "осталось", "всего"]
    assert "приостановлена" in table[2] and "Письмо" in table[2]
    cancelled = _russian(ru.run("campaign", "cancel", number)).splitlines()
    assert cancelled[0].endswith("отменена (Письмо через email:ivan)")
    assert "пропущено 5" in cancelled[1]

    parts = _russian(ru.run("sms", "segments", "я" * 71)).strip()
    assert parts == "ucs2: 2 части, единиц: 71; в последней части осталось 63 из 67"
    assert _russian(ru.run("sms", "segments", "я")).startswith("ucs2: 1 часть, ")

    dialogs = _russian(ru.run("messenger", "dialogs")).splitlines()
    assert dialogs[0].split()[:4] == ["№", "учётная", "запись", "контакт"]
    assert "Анна Смирнова" in dialogs[2] and "← Сколько стоит?" in dialogs[2]

    added = _russian(ru.run("suppressions", "add", "--channel", "email", "c000001@client.test"))
    assert added.startswith("в стоп-листе: Письмо c000001@client.test (№") and "вручную" in added
    again = _russian(ru.run("suppressions", "add", "--channel", "email", "c000001@client.test"))
    assert again.startswith("уже в стоп-листе: ")
    rows = _russian(ru.run("suppressions", "list")).splitlines()
    assert rows[0].split()[:4] == ["№", "канал", "адрес", "причина"]
    assert "действует" in rows[2]
    made = re.search(r"№(\d+)", added)
    assert made is not None
    lifted = _russian(ru.run("suppressions", "lift", made.group(1)))
    assert lifted.startswith(f"снят запрет №{made.group(1)}: Письмо c000001@client.test (")
    assert "снят: " in _russian(ru.run("suppressions", "list", "--state", "lifted"))


def test_english_mode_stays_english(world: tuple[Path, dict[str, int]]) -> None:
    config, ids = world
    en = Touchhub(config=config, lang="en")
    assert en.ok("segment", "count", "--filter", '{"all": []}').strip() == "5 contacts"
    assert en.ok("sms", "segments", "Hello").startswith("gsm7: 1 part, 5 units, ")
    assert en.ok("template", "show", str(ids["template"])).startswith("id: ")
    assert en.ok("messenger", "dialogs").splitlines()[0].split()[:4] == [
        "id", "account", "contact", "owner"
    ]
