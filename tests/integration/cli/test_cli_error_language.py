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
