"""`touchhub template …` and `touchhub segment …`: saved only when checked, errors on one line."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from pathlib import Path

from hub.activity import ActivityStore
from tests.helpers.campaign_world import seed_contacts
from tests.helpers.cli import Touchhub


async def two_contacts(url: str) -> None:
    store = await ActivityStore.open(url)
    try:
        await seed_contacts(store, ["anna@c.test"], city="Казань")
        await seed_contacts(store, ["boris@c.test"], city="Уфа")
    finally:
        await store.close()


def test_templates_are_checked_saved_and_versioned(tmp_path: Path) -> None:
    cli = Touchhub.sqlite(tmp_path / "t.db")
    made = json.loads(
        cli.ok("template", "create", "--name", "news", "--subject", "Hi {{ contact.name }}",
               "--html", "<p>{{ company.name }}</p>", "--json")
    )  # fmt: skip
    assert made["version"] == 1
    tid = str(made["id"])
    assert "version 2" in cli.ok("template", "add-version", tid, "--subject", "Hello",
                                 "--html", "<p>x</p>")  # fmt: skip
    shown = json.loads(cli.ok("template", "show", tid, "--version", "1", "--json"))
    assert shown["subject"] == "Hi {{ contact.name }}" and shown["version"] == 1
    bad = cli.fails("template", "create", "--name", "bad", "--subject", "x",
                    "--html", "<p>{{ contact.nmae }}</p>")  # fmt: skip
    assert "nmae" in bad.stderr and "line 1" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1
    russian = replace(cli, lang="ru").run("template", "create", "--name", "Новости",
                                          "--subject", "Новости для {{ contact.name }}",
                                          "--html", "<p>{{ contact.nmae }}</p>")  # fmt: skip
    assert russian.exit_code != 0
    assert russian.stderr.startswith("Ошибка: html, строка 1: поля contact.nmae нет"), russian.stderr
    assert "(есть: city, custom," in russian.stderr and "ошибка в шаблоне" not in russian.stderr
    unclosed = replace(cli, lang="ru").run("template", "create", "--name", "x",
                                           "--subject", "x {{ contact.name", "--html", "<p>x</p>")  # fmt: skip
    assert "subject, строка 1: не закрыто {{ … }}: не хватает }}" in unclosed.stderr, unclosed.stderr
    unsafe = cli.fails("template", "create", "--name", "evil", "--subject", "x",
                       "--html", "{{ ''.__class__ }}")  # fmt: skip
    assert "Error" in unsafe.stderr
    sms = cli.fails("template", "create", "--name", "s", "--channel", "sms")
    assert "--text" in sms.stderr


def test_segments_are_checked_saved_listed_and_counted(tmp_path: Path) -> None:
    cli = Touchhub.sqlite(tmp_path / "t.db")
    asyncio.run(two_contacts(f"sqlite:///{tmp_path / 't.db'}"))
    kazan = json.dumps({"field": "city", "op": "eq", "value": "Казань"}, ensure_ascii=False)
    assert "segment 1" in cli.ok("segment", "create", "--name", "kazan", "--filter", kazan)
    assert "kazan" in cli.ok("segment", "list")
    counted = json.loads(cli.ok("segment", "count", "1", "--sample", "5", "--json"))
    assert counted["count"] == 1 and len(counted["sample"]) == 1
    inline = json.loads(cli.ok("segment", "count", "--filter", '{"all": []}', "--json"))
    assert inline["count"] == 2
    bad = cli.fails("segment", "create", "--name", "x", "--filter", '{"field": "city", "op": "like", "value": "a"}')
    assert "like" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1
    assert "Error" in cli.fails("segment", "count").output


def test_a_blank_or_overlong_name_is_refused_as_the_api_refuses_it(tmp_path: Path) -> None:
    """The rule lives in the store's repositories, which the API and the command line share:
    the command line used to save a template or a segment called "  " or 400 letters long."""
    cli = Touchhub.sqlite(tmp_path / "n.db")
    ru = replace(cli, lang="ru")
    kazan = '{"field":"city","op":"eq","value":"Казань"}'
    for name in ("   ", "я" * 201):
        refused = ru.run("template", "create", "--name", name, "--channel", "sms", "--text", "Привет")
        assert refused.exit_code == 1 and "шаблон: в названии должно быть от 1 до 200 симв." in refused.stderr
        refused = ru.run("segment", "create", "--name", name, "--filter", kazan)
        assert refused.exit_code == 1 and "сегмент: в названии должно быть от 1 до 200 симв." in refused.stderr
    assert "a template name has 1 to 200 characters" in cli.fails("template", "create", "--name", "", "--channel", "sms", "--text", "x").stderr
    assert json.loads(cli.ok("template", "list", "--json")) == []
    assert json.loads(cli.ok("segment", "list", "--json")) == []
    cli.ok("segment", "create", "--name", "  Казань  ", "--filter", kazan)
    assert [s["name"] for s in json.loads(cli.ok("segment", "list", "--json"))] == ["Казань"]
    cli.ok("template", "create", "--name", " Акция ", "--channel", "sms", "--text", "Скидка 10 %")
    assert [(t["name"], t["channel"], t["version"]) for t in json.loads(cli.ok("template", "list", "--json"))] == [
        ("Акция", "sms", 1)
    ]
    listed = ru.ok("template", "list")
    assert "Акция" in listed and "название" in listed and "SMS" in listed
