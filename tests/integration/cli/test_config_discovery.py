"""Commands find the config the way users expect, and never open a stray store quietly."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.config import CONFIG_ENV, load_settings
from hub.urls import sqlite_file
from tests.helpers.cli import Touchhub

#: `touchhub` with no --config and no --db: it must find its config by itself.
BARE = Touchhub()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project folder whose config keeps the store in ./data, as `touchhub init` writes it."""
    folder = tmp_path / "project"
    (folder / "reports" / "2026").mkdir(parents=True)
    (folder / "touchhub.toml").write_text(
        '[store]\nurl = "sqlite:///data/touchhub.db"\n', encoding="utf-8"
    )
    return folder


def test_a_command_in_a_subdirectory_uses_the_projects_store(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(CONFIG_ENV, raising=False)
    monkeypatch.chdir(project)
    first = BARE.run("employees", "add", "Petr", "--extension", "101")
    assert first.exit_code == 0, first.output
    assert f"created a new empty store {project / 'data' / 'touchhub.db'}" in first.stderr
    monkeypatch.chdir(project / "reports" / "2026")
    again = BARE.run("employees", "list", "--json")
    assert again.exit_code == 0, again.output
    assert '"Petr"' in again.stdout and "created" not in again.stderr
    assert not (project / "reports" / "2026" / "data").exists()


def test_touchhub_config_names_the_config_from_anywhere(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    env = {CONFIG_ENV: str(project / "touchhub.toml")}
    result = Touchhub(env=env).run("contacts", "list")
    assert result.exit_code == 0, result.output
    assert (project / "data" / "touchhub.db").exists() and not (elsewhere / "data").exists()
    missing = Touchhub(env={CONFIG_ENV: str(elsewhere / "none.toml")}).run("contacts", "list")
    assert missing.exit_code == 1 and CONFIG_ENV in missing.stderr


def test_without_any_config_the_new_store_is_named_loudly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(CONFIG_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    result = BARE.run("contacts", "list")
    assert result.exit_code == 0, result.output
    (line,) = [x for x in result.stderr.splitlines() if "created a new empty store" in x]
    assert str(tmp_path / "data" / "touchhub.db") in line and "touchhub.toml" in line
    quiet = BARE.run("contacts", "list")
    assert "created" not in quiet.stderr


def test_config_option_wins_and_paths_are_relative_to_the_file(
    project: Path, tmp_path: Path
) -> None:
    other = tmp_path / "other"
    other.mkdir()
    (other / "touchhub.toml").write_text("[store]\ndefault_region = 'KZ'\n", encoding="utf-8")
    settings = load_settings(
        other / "touchhub.toml", environ={CONFIG_ENV: str(project / "touchhub.toml")}, cwd=project
    )
    assert settings.store.default_region == "KZ"
    # no url given: the default ./data is taken from the config's folder too
    assert sqlite_file(settings.store_url) == other / "data" / "touchhub.db"
    found = load_settings(environ={}, cwd=project / "reports" / "2026")
    assert found.source_path == project / "touchhub.toml"
    assert sqlite_file(found.store_url) == project / "data" / "touchhub.db"
    typed = load_settings(environ={}, cwd=project, db_url="sqlite:///mine.db")
    assert sqlite_file(typed.store_url) == Path("mine.db")
    absolute = project / "abs.toml"
    absolute.write_text(f'[store]\nurl = "sqlite:///{tmp_path}/a.db"\n', encoding="utf-8")
    assert sqlite_file(load_settings(absolute, environ={}).store_url) == tmp_path / "a.db"
