"""A refused command says why in the language of its output: `--lang`, else the store's."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from hub.cli import cli


def test_an_error_line_speaks_the_commands_language(tmp_path: Path) -> None:
    base = ["--db", f"sqlite:///{tmp_path}/cli.db"]
    runner = CliRunner()
    said = {
        lang: runner.invoke(cli, [*(["--lang", lang] if lang else []), *base, "campaign", "status", "999"])
        for lang in ("ru", "en", None)
    }
    assert all(r.exit_code == 1 and "Traceback" not in r.output for r in said.values())
    last = {lang: r.output.strip().splitlines()[-1] for lang, r in said.items()}
    assert last["ru"] == "Ошибка: рассылки 999 нет"
    assert last["en"] == "Error: no campaign 999"
    assert last[None] == last["ru"]  # a store on Moscow time speaks Russian


def test_a_refusal_found_before_the_store_is_opened_is_translated_too(tmp_path: Path) -> None:
    base = ["--db", f"sqlite:///{tmp_path}/cli.db", "segment", "create", "--name", "x"]
    bad = '{"all": [{"field": "shoe", "op": "eq", "value": 1}]}'
    ru = CliRunner().invoke(cli, ["--lang", "ru", *base, "--filter", bad])
    assert ru.exit_code == 1
    assert ru.output.startswith("Ошибка: all[0].field: неизвестное поле 'shoe'"), ru.output
    en = CliRunner().invoke(cli, ["--lang", "en", *base, "--filter", bad])
    assert en.exit_code == 1
    assert en.output.startswith("Error: all[0].field: unknown field 'shoe'"), en.output
    # without --lang: the store's language (Moscow time), though the store was never opened
    default = CliRunner().invoke(cli, [*base, "--filter", bad])
    assert default.exit_code == 1
    assert default.output.startswith("Ошибка: all[0].field: неизвестное поле 'shoe'"), default.output


def test_a_command_line_click_refuses_is_refused_in_the_commands_language(tmp_path: Path) -> None:
    """Click's own refusals (a bad value, a missing or unknown option, a mistyped command)
    speak the store's language too, keep exit code 2 and show where help is."""
    base = ["--db", f"sqlite:///{tmp_path}/cli.db"]
    create = ["campaign", "create", "--name", "Весна", "--template", "1", "--sender", "sales"]
    cases = {
        "--local-hour 25": (
            [*create, "--local-hour", "25"],
            "Ошибка: неверное значение '--local-hour': '25' — не целое число от 0 до 23",
            "Error: Invalid value for '--local-hour': '25' is not a whole number from 0 to 23",
        ),
        "an id": (
            ["campaign", "status", "abc"],
            "Ошибка: неверное значение 'CAMPAIGN_ID': 'abc' — не целое число от 1 и больше",
            "Error: Invalid value for 'CAMPAIGN_ID': 'abc' is not a whole number of at least 1",
        ),
        "a choice": (
            [*create, "--channel", "fax"],
            "Ошибка: неверное значение '--channel': 'fax' — такого варианта нет (есть: 'email', 'sms')",
            "Error: Invalid value for '--channel': 'fax' is not one of 'email', 'sms'.",
        ),
        "missing": (
            ["campaign", "create", "--template", "1", "--sender", "sales"],
            "Ошибка: не указан параметр '--name'",
            "Error: Missing option '--name'.",
        ),
        "unknown option": (
            [*create, "--nam", "x"],
            "Ошибка: параметра '--nam' нет; может быть, один из: '--at', '--name'?",
            "Error: No such option '--nam'. (Did you mean one of: '--at', '--name'?)",
        ),
        "mistyped command": (
            ["campaign", "creat"],
            "Ошибка: команды 'creat' нет; может быть, 'create'?",
            "Error: No such command 'creat'. Did you mean 'create'?",
        ),
    }
    runner = CliRunner()
    for name, (args, russian, english) in cases.items():
        ru = runner.invoke(cli, [*base, *args])  # the store's language: Russian (Moscow time)
        assert ru.exit_code == 2, (name, ru.output)
        lines = ru.output.strip().splitlines()
        assert lines[-1] == russian, (name, ru.output)
        assert lines[0].startswith("Usage: ") and lines[1].endswith(" --help"), (name, ru.output)
        en = runner.invoke(cli, ["--lang", "en", *base, *args])
        assert en.exit_code == 2 and en.output.strip().splitlines()[-1] == english, (name, en.output)
    unknown_language = runner.invoke(cli, ["--lang", "xx", *base, "campaign", "list"])
    assert unknown_language.exit_code == 2
    assert unknown_language.output.strip().splitlines()[-1] == (
        "Ошибка: неверное значение '--lang': 'xx' — такого варианта нет (есть: 'ru', 'en')"
    )
